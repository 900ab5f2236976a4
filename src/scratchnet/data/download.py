"""Fetch one URL into one file with urllib: streamed, time-limited, checksummed, atomic.

A file appears under its final name only when complete and verified; any failure removes the
temporary file and raises DownloadError with the reason. It does not pick mirrors: sources.py does.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import Any, BinaryIO

from scratchnet.errors import DownloadError
from scratchnet.fileio import atomic_write

TIMEOUT_S = 30.0  # per socket operation (connect, each read), not for the whole file
_CHUNK = 1 << 16
_USER_AGENT = "scratchnet (+https://pypi.org/project/scratchnet/)"


def _expected_magic(dest: Path) -> bytes:
    if dest.name.endswith(".gz"):
        return b"\x1f\x8b"
    if dest.name.endswith(".npz"):
        return b"PK"  # a zip archive
    return b"\x00\x00"  # raw IDX


def _progress_bar(total: int | None, desc: str, progress: bool | None) -> Any:
    """A tqdm bar if asked for (progress None: if stderr is a terminal) and installed."""
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not progress:
        return None
    try:
        from tqdm import tqdm  # optional: the data package must work with NumPy alone
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def _check_first_bytes(chunk: bytes, content_type: str, dest: Path) -> None:
    # Captive portals and some mirrors answer 200 with an HTML page; say so rather than "bad hash".
    if content_type.startswith("text/html") or chunk.lstrip()[:1] == b"<":
        raise DownloadError("the server sent an HTML page, not the data file")
    magic = _expected_magic(dest)
    if not chunk.startswith(magic):
        raise DownloadError(f"not a {dest.suffix or 'IDX'} file (starts with {chunk[:4].hex()})")


def _stream(url: str, out: BinaryIO, dest: Path, timeout: float, progress: bool | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        content_type = response.headers.get("Content-Type", "")
        bar = _progress_bar(length, dest.name, progress)
        received = 0
        try:
            while chunk := response.read(_CHUNK):
                if received == 0:
                    _check_first_bytes(chunk, content_type, dest)
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    # http.client returns a short body silently when the server closes early; compare ourselves.
    if length is not None and received != length:
        raise DownloadError(f"connection closed after {received} of {length} bytes")
    if received == 0:
        raise DownloadError("the server sent an empty file")


def file_sha256(path: Path, *, decompress: bool) -> str:
    """SHA-256 of a file's bytes, or of its gzip-decompressed content when `decompress`."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        with gzip.GzipFile(fileobj=raw) if decompress else nullcontext(raw) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, sha256: str, *, decompress: bool) -> None:
    try:
        received = file_sha256(path, decompress=decompress)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DownloadError(f"corrupt gzip data ({exc})") from None
    if received != sha256:
        raise DownloadError(
            f"wrong SHA-256{' of the content' if decompress else ''}: "
            f"expected {sha256[:12]}..., received {received[:12]}..."
        )


def _reason(exc: BaseException, timeout: float) -> str:
    """One line saying why a download failed, for the list of places tried."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, BaseException):
            return " ".join(str(exc.reason).split())
        exc = exc.reason  # the socket error inside: refused, timed out, name not resolved
    if isinstance(exc, TimeoutError):
        return f"timed out (no data for {timeout:g} s)"
    if isinstance(exc, http.client.HTTPException):
        return f"connection broken ({type(exc).__name__}: {exc})"
    return " ".join(str(exc).split()) or type(exc).__name__


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str,
    timeout: float | None = None,
    progress: bool | None = None,
) -> Path:
    """Download `url` to `dest`, checking `sha256` before the file takes its final name.

    For a ".gz" destination `sha256` is that of the decompressed content (gzip bytes differ
    between mirrors); otherwise that of the file. `timeout` (default TIMEOUT_S) limits each
    socket operation. `progress`: True shows a tqdm bar, False none, None one only if stderr is a
    terminal (silently none without tqdm). Raises DownloadError("<url>: <reason>") on HTTP
    errors, refused, cut or stalled connections, HTML pages, short bodies and wrong checksums;
    the destination folder then holds no new file. Returns `dest` as a Path.
    """
    dest = Path(dest)
    timeout = TIMEOUT_S if timeout is None else timeout
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(dest) as out:
            _stream(url, out, dest, timeout, progress)
            out.close()
            _verify(Path(out.name), sha256, decompress=dest.name.endswith(".gz"))
    except DownloadError as exc:
        raise DownloadError(f"{url}: {exc}") from None
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response's socket
        raise DownloadError(f"{url}: {_reason(exc, timeout)}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # OSError covers URLError, timeouts, refused and reset connections, an unwritable folder;
        # ValueError a malformed URL.
        raise DownloadError(f"{url}: {_reason(exc, timeout)}") from None
    return dest
