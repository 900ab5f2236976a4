"""Atomic file writing: write to a temporary name beside the target, then rename.

A reader sees either the old file or the complete new one, never a part. On any error (a full
disk, an interrupt, a failed check) the temporary file is removed and the target left as it was.
Only a process killed outright (SIGKILL, a power cut) leaves its hidden `.NAME.XXXXXXXX.part`
behind; readers never look at those, and remove_stale_parts() clears them.
"""

from __future__ import annotations

import os
import re
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


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers of `path` left beside it; returns them.

    Only call it when no other process may be writing `path` at the same moment (a run folder
    that one training process owns, say): a live writer's temporary file would go too.
    """
    target = Path(path)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{8}}\.part")
    removed = []
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        if pattern.fullmatch(candidate.name):
            try:
                candidate.unlink()
            except OSError:
                continue
            removed.append(candidate)
    return removed
