"""Atomic file writing: write to a temporary name beside the target, then rename.

A reader sees either the old file or the complete new one, never a part. On any error (a full
disk, an interrupt, a failed check) the temporary file is removed and the target left as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temp_name(dest: Path) -> Path:
    """A fresh hidden name next to `dest` (same folder, so that os.replace is atomic)."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Yield a file opened for writing on a temporary name; rename it to `path` on success.

    mode is "wb" (default) or "w" (UTF-8 text). The block may close the file itself (to re-read
    it for verification, say) before the rename. On any exception, KeyboardInterrupt included,
    the temporary file is removed and the exception propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w'; received mode={mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target)
    # "x" creates the file exclusively, with the usual 0o666 & ~umask permissions.
    handle = open(tmp, mode.replace("w", "x"), encoding=None if "b" in mode else "utf-8")
    try:
        with handle:
            yield handle
            if not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
