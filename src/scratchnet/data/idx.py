"""Read and write the IDX format of the MNIST files (gzip-compressed or raw), validating every byte.

A malformed file raises IDXError naming the file, the problem and the fix, before any large
allocation. It does not know about data sets: file names, counts and checksums live elsewhere.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchnet.errors import DataError, IDXError
from scratchnet.fileio import atomic_write, check_input_file

# Type code -> element type; IDX stores multi-byte numbers big-endian.
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
MAX_NDIM = 8  # MNIST uses 1 and 3; more than 8 is far likelier a corrupt header than real data
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_FIX = "download it again or delete it"


def _dtype_name(dtype: np.dtype) -> str:
    return dtype.newbyteorder("=").name


def _parse_prefix(prefix: bytes, name: str) -> tuple[np.dtype, int]:
    """Check the 4-byte magic number; return the element type and the number of dimensions."""
    if len(prefix) < 4:
        raise IDXError(
            f"{name}: truncated IDX file: {len(prefix)} bytes, "
            f"shorter than the 4-byte header; {_FIX}"
        )
    if prefix[:2] != b"\x00\x00":
        raise IDXError(
            f"{name}: not an IDX file: expected the magic number to start with two zero bytes, "
            f"received {prefix[:4].hex()}; {_FIX}"
        )
    code, ndim = prefix[2], prefix[3]
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X} {_dtype_name(d)}" for c, d in DTYPES.items())
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02X}; expected one of {known}")
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXError(
            f"{name}: IDX header claims {ndim} dimensions; expected 1 to {MAX_NDIM}; {_FIX}"
        )
    return DTYPES[code], ndim


def _parse_dims(raw: bytes, ndim: int, name: str) -> tuple[int, ...]:
    if len(raw) < 4 * ndim:
        raise IDXError(
            f"{name}: truncated IDX file: the header needs {4 + 4 * ndim} bytes "
            f"but the file ends after {4 + len(raw)}; {_FIX}"
        )
    return struct.unpack(f">{ndim}I", raw[: 4 * ndim])


def _check_length(dtype: np.dtype, dims: tuple[int, ...], received: int, name: str) -> None:
    # Python ints cannot overflow, so a header claiming 2^32 x 2^32 items is simply "too long".
    expected = math.prod(dims) * dtype.itemsize
    if received == expected:
        # An empty array may still claim other sizes too large for NumPy to index.
        if math.prod(max(size, 1) for size in dims) * dtype.itemsize > np.iinfo(np.intp).max:
            raise IDXError(
                f"{name}: malformed IDX file: sizes {'x'.join(map(str, dims))} are too large "
                f"to index; {_FIX}"
            )
        return
    claim = (
        f"header says {'x'.join(map(str, dims))} {_dtype_name(dtype)} ({expected} bytes of data)"
    )
    if received < expected:
        raise IDXError(
            f"{name}: truncated IDX file: {claim} but only {received} bytes follow; {_FIX}"
        )
    raise IDXError(
        f"{name}: malformed IDX file: {claim} but {received} bytes follow "
        f"({received - expected} extra); {_FIX}"
    )


def _to_array(
    buffer: bytes | bytearray | memoryview, dtype: np.dtype, dims: tuple[int, ...]
) -> np.ndarray:
    array = np.frombuffer(buffer, dtype=dtype).reshape(dims)
    # astype copies: the result is native-endian, C-contiguous, writeable and owns its memory.
    return array.astype(dtype.newbyteorder("="), order="C", copy=True)


def parse_idx(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes already in memory (not gzip-compressed) into a native-endian array.

    `name` is used in error messages. Raises IDXError on any malformation; the declared size is
    checked against len(data) before the array is built, so the result never exceeds the input.
    """
    data = memoryview(data).cast("B")
    dtype, ndim = _parse_prefix(bytes(data[:4]), name)
    dims = _parse_dims(bytes(data[4 : 4 + 4 * ndim]), ndim, name)
    offset = 4 + 4 * ndim
    _check_length(dtype, dims, len(data) - offset, name)
    return _to_array(data[offset:], dtype, dims)


def _read_exactly_or_less(stream: BinaryIO, size: int) -> bytearray:
    """Read up to `size` bytes in chunks, so memory grows with the bytes that really exist."""
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(_CHUNK, size - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _read_stream(stream: BinaryIO, name: str) -> np.ndarray:
    dtype, ndim = _parse_prefix(stream.read(4), name)
    dims = _parse_dims(stream.read(4 * ndim), ndim, name)
    expected = math.prod(dims) * dtype.itemsize
    # Buffer at most one byte more than declared: enough to tell that trailing data exists.
    data = _read_exactly_or_less(stream, expected + 1)
    received = len(data)
    if received > expected:
        # Count the trailing bytes for the message, discarding them: memory stays bounded.
        while chunk := stream.read(_CHUNK):
            received += len(chunk)
    _check_length(dtype, dims, received, name)
    return _to_array(data, dtype, dims)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (told apart by content, not by name).

    Returns a native-endian, C-contiguous, writeable array with the file's shape and type.
    Raises DataError if the file cannot be opened, IDXError if it is malformed or its gzip
    stream is corrupt or truncated.
    """
    name = str(path)
    check_input_file(path, what="IDX file", error=DataError)  # a FIFO is never opened
    try:
        file = open(path, "rb")  # closed by the with below
    except FileNotFoundError:
        raise DataError(f"{name}: no such IDX file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot open IDX file: {exc.strerror or exc}") from None
    with file:
        try:
            if file.read(2) == GZIP_MAGIC:
                file.seek(0)
                with gzip.GzipFile(fileobj=file, mode="rb") as stream:
                    return _read_stream(stream, name)
            file.seek(0)
            return _read_stream(file, name)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise IDXError(f"{name}: corrupt or truncated gzip stream ({exc}); {_FIX}") from None
        except OSError as exc:
            raise IDXError(f"{name}: cannot read IDX file: {exc}; {_FIX}") from None


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header (magic number, sizes) for `array`; ValueError if IDX cannot hold it."""
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(_dtype_name(d) for d in DTYPES.values())
        raise ValueError(f"IDX cannot store dtype {array.dtype}; expected one of {names}")
    if not 1 <= array.ndim <= MAX_NDIM:
        raise ValueError(f"IDX arrays have 1 to {MAX_NDIM} dimensions; received {array.ndim}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"IDX sizes must fit in 32 bits; received shape {array.shape}")
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)


def idx_data(array: np.ndarray) -> np.ndarray:
    """`array` as IDX stores it: big-endian, C-ordered (a view when it already is)."""
    code = _CODES[array.dtype.newbyteorder("=")]
    return np.ascontiguousarray(array, dtype=DTYPES[code])


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed when `path` ends in ".gz".

    The file appears atomically (temporary name, then rename) and gzip output is reproducible
    (no timestamp). Raises ValueError for a dtype or shape IDX cannot hold.
    """
    array = np.asarray(array)
    header = idx_header(array)
    data = idx_data(array)
    path = Path(path)
    with atomic_write(path) as file:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=file, mode="wb", mtime=0, filename="") as stream:
                stream.write(header)
                stream.write(data.data)
        else:
            file.write(header)
            file.write(data.data)
