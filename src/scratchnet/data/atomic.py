"""Write a file so that readers see either the old file or the complete new one, never a part.

Used by the IDX writer and the downloader. It does not fsync: a power cut may lose the new file,
but it cannot leave a half-written one under the final name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def temp_name(dest: Path) -> Path:
    """A fresh hidden name next to `dest` (same directory, so `os.replace` is atomic)."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")


@contextmanager
def atomic_writer(dest: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file opened on a temporary name; rename it to `dest` if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary file is removed and the
    exception propagates; `dest` is left as it was. The block may close the file itself
    (for example to re-read it for verification) before the rename.
    """
    dest = Path(dest)
    tmp = temp_name(dest)
    # "xb" creates the file with O_EXCL and the usual 0o666 & ~umask permissions.
    file = open(tmp, "xb")  # closed by the with below, on every path
    try:
        with file:
            yield file
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
