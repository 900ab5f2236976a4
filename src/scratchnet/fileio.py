"""Files in and out: atomic writes, input paths checked before they are opened, output paths
checked before any work starts, and .npz archives read without trusting them.

Atomic writing: write to a temporary name beside the target, then rename. A reader sees either
the old file or the complete new one, never a part. On any error (a full disk, an interrupt, a
failed check) the temporary file is removed and the target left as it was. Only a process killed
outright (SIGKILL, a power cut) leaves its hidden `.NAME.XXXXXXXX.part` behind; readers never
look at those, and remove_stale_parts() clears them. A failed write names the path asked for,
never the temporary one.

Inputs: check_input_file refuses what is not a regular file (a folder, a FIFO, a device) from
its stat alone, so a named pipe can never make a reader wait. Outputs: check_output_file and
check_output_folder say, before anything is created, whether a path can be written.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import secrets
import stat
import struct
import tempfile
import tokenize
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from .errors import DataError, FileError

_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive
_MAX_MEMBERS = 10_000  # far more arrays than any network has; bounds the work on a forged file
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than this (RFC 1951's best case)
_ARRAY_KINDS = "biufcU"  # booleans, integers, floats, complex and text: never objects


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
    tmp = temp_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x" creates the file exclusively, with the usual 0o666 & ~umask permissions.
        handle = open(tmp, mode.replace("w", "x"), encoding=None if "b" in mode else "utf-8")
    except OSError as exc:
        raise _write_error(target, exc) from exc
    try:
        with handle:
            yield handle
            if not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if not _about_writing(exc, tmp, target):
            raise  # not about this file (the block read another one, a download timed out...)
        raise _write_error(target, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# The errors a write, flush, fsync or rename can raise about the file being written.
_WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EXDEV,
    errno.EBUSY,
}


def _about_writing(exc: OSError, tmp: Path, target: Path) -> bool:
    if isinstance(exc, FileError):
        return False
    if exc.filename is not None:
        return exc.filename in (str(tmp), str(target))
    return exc.errno in _WRITE_ERRNOS


def _write_error(target: Path, exc: OSError) -> FileError:
    """The write of `target` failed: say so naming `target` (not the temporary name)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, IsADirectoryError) or target.is_dir():
        reason = "it is a folder; give a file name"
    elif isinstance(exc, FileExistsError | NotADirectoryError):
        reason = f"a file stands where a folder is needed ({_file_in_the_way(target)})"
    return FileError(f"{target}: cannot write it: {reason}")


def _file_in_the_way(target: Path) -> Path:
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            return parent
    return target.parent


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


# -- input paths ------------------------------------------------------------------------
def _a(what: str) -> str:
    """'a model file', 'an IDX file': the article as it is said."""
    first = what.split()[0] if what.split() else what
    vowel_sound = first[:1] in "aeiou" or (first.isupper() and first[:1] in "AEFHILMNORSX")
    return f"{'an' if vowel_sound else 'a'} {what}"


def check_input_file(
    path: str | os.PathLike, *, what: str = "file", error: type[Exception] = DataError
) -> Path:
    """`path` as a Path if it is a regular file (a symlink to one is fine); else `error` with
    one line. Decided from stat alone: a FIFO or a device is never opened, so never waited on."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise error(f"{path}: is a folder; give {_a(what)}")
    if not stat.S_ISREG(mode):
        raise error(f"{path}: not a regular file (a pipe, device or socket); give {_a(what)}")
    return path


def read_text_file(
    path: str | os.PathLike,
    *,
    what: str = "file",
    error: type[Exception] = DataError,
    max_bytes: int = 1 << 30,
) -> str:
    """The UTF-8 text of a regular file, refusing folders, FIFOs, devices and files over
    `max_bytes`; any failure is `error` naming the file."""
    path = check_input_file(path, what=what, error=error)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(
                f"{path}: {size} bytes is more than {_a(what)} holds; is it the right file?"
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


# -- output paths -----------------------------------------------------------------------
def _named(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def _unwritable(folder: Path) -> str | None:
    """Why no file can be created in `folder` ("not writable", or the system's reason), or
    None when one can. Permissions alone do not tell (root passes every check, and /proc or a
    read-only mount refuse anyway), so a temporary file is created there and removed at once."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".scratchnet-check-")
    except OSError as exc:
        return str(exc.strerror or exc)
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def _check_creatable(path: Path, option: str | None) -> None:
    """`path` does not exist: its nearest existing ancestor must be a writable folder."""
    for parent in path.parents:
        if not parent.exists() and not parent.is_symlink():
            continue
        if not parent.is_dir():
            raise FileError(
                f"{_named(path, option)}: {parent} is a file, not a folder; choose another path"
            )
        reason = _unwritable(parent)
        if reason:
            raise FileError(
                f"{_named(path, option)}: cannot create it in {parent} ({reason}); "
                "choose another place"
            )
        return


def check_output_file(path: str | os.PathLike, *, option: str | None = None) -> Path:
    """Raise FileError unless a file can be written at `path` (atomically: a temporary file
    beside it, then a rename): not a folder there, a writable folder above. Leaves nothing
    behind (a probe file is created and removed). `option` ('--output') goes in the message."""
    path = Path(path)
    if str(path) in ("", "."):
        raise FileError(f"{_named(path, option)}: an empty name; give a file name")
    if path.is_dir():
        raise FileError(f"{_named(path, option)}: is a folder; give a file name")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise FileError(f"{_named(path, option)}: not a regular file; give a file name")
        reason = _unwritable(path.parent)
        if reason:
            raise FileError(
                f"{_named(path, option)}: cannot replace it in {path.parent} ({reason}); "
                "choose another place"
            )
        return path
    _check_creatable(path, option)
    return path


def check_output_folder(path: str | os.PathLike, *, option: str | None = None) -> Path:
    """Raise FileError unless `path` is, or can become, a writable folder. Leaves nothing behind
    (a probe file is created and removed)."""
    path = Path(path)
    if str(path) == "":
        raise FileError(f"{_named(path, option)}: an empty name; give a folder name")
    if path.exists():
        if not path.is_dir():
            raise FileError(f"{_named(path, option)}: is a file, not a folder; choose a folder")
        reason = _unwritable(path)
        if reason:
            raise FileError(
                f"{_named(path, option)}: cannot write in this folder ({reason}); choose another"
            )
        return path
    _check_creatable(path, option)
    return path


# -- .npz archives ----------------------------------------------------------------------
def read_npz(
    path: str | os.PathLike,
    *,
    error: type[Exception] = DataError,
    what: str = "NumPy archive",
    fix: str = "write or download it again",
    title: str | None = None,
    only: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, read without pickle and without trusting its sizes.

    Each member's .npy header must describe exactly the bytes the member holds (so a forged
    shape cannot make this allocate more than the file could hold), object arrays are refused
    unread (they would be unpickled), and any damage raises `error` with one line naming the
    file. Used for model files, checkpoints and keras' archive. `only` names the arrays to read
    (the others are skipped unread: a model's header alone, say).
    """
    path = check_input_file(path, what=what, error=error)
    try:
        # Open the file ourselves: zipfile on a path leaks its handle when the zip is broken.
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:
                raise error(f"{path}: not {_a(title or what)} (not a zip archive); {fix}")
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                infos = archive.infolist()
                if len(infos) > _MAX_MEMBERS:
                    raise error(f"{path}: {len(infos)} arrays is more than any {what} holds")
                arrays: dict[str, np.ndarray] = {}
                for info in infos:
                    key = info.filename.removesuffix(".npy")
                    if key in arrays:
                        raise error(f"{path}: the array {key!r} appears twice")
                    if only is None or key in only:
                        arrays[key] = _read_member(archive, info, size, path, error, what)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        KeyError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        struct.error,
        OverflowError,
        MemoryError,
        SyntaxError,  # a .npy header that does not parse as a Python literal
        tokenize.TokenError,
        TypeError,
    ) as exc:
        if isinstance(exc, error):
            raise
        detail = str(exc).replace("\n", "\\n")
        raise error(
            f"{path}: corrupt or truncated {what} ({type(exc).__name__}: {detail}); {fix}"
        ) from exc
    return arrays


def _read_member(archive, info, size: int, path: Path, error, what: str) -> np.ndarray:
    """One member as an array, after checking its header against the bytes it holds."""
    if info.compress_type == zipfile.ZIP_STORED:
        limit = size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        limit = info.compress_size * _DEFLATE_MAX_RATIO
    else:
        raise error(f"{path}: {info.filename!r} uses an unsupported compression method")
    if info.file_size > limit:
        raise error(
            f"{path}: {info.filename!r} claims {info.file_size} bytes, more than the file can "
            "hold; it is corrupt"
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise error(f"{path}: {info.filename!r} uses .npy version {version}, not 1.0 or 2.0")
        if dtype.hasobject:
            raise error(
                f"{path}: the file holds pickled Python objects, which scratchnet never loads "
                f"(they can run code); write the {what} with scratchnet"
            )
        if dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0 or dtype.fields is not None:
            raise error(f"{path}: {info.filename!r} holds unsupported dtype {dtype}")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        held = info.file_size - member.tell()
        if nbytes != held:
            raise error(
                f"{path}: {info.filename!r} claims shape {shape} of {dtype} ({nbytes} bytes) "
                f"but holds {held} bytes; the file is corrupt or truncated"
            )
        buffer = bytearray(nbytes)
        if member.readinto(buffer) != nbytes or member.read(1):
            raise EOFError(f"{info.filename!r} ends early")  # the read also checks the CRC
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)
