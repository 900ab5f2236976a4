"""IDX reader and writer: round trips, and every malformation raising IDXError naming the file."""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc

import numpy as np
import pytest

from scratchnet.data import parse_idx, read_idx, write_idx
from scratchnet.errors import DataError, IDXError
from scratchnet.fileio import atomic_write

DTYPES = ["uint8", "int8", ">i2", "<i2", ">i4", "<i4", ">f4", "<f4", ">f8", "<f8"]


def header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (0, 7)])
def test_round_trip(tmp_path, dtype, suffix, shape):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    assert back.dtype.isnative and back.flags.c_contiguous and back.flags.writeable
    assert back.shape == shape
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_non_contiguous_input_is_written_in_c_order(tmp_path):
    array = np.arange(12, dtype=np.int32).reshape(3, 4).T
    write_idx(tmp_path / "t", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "t"), array)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "x.gz", array)
    (tmp_path / "x.gz").rename(tmp_path / "compressed-but-no-suffix")
    write_idx(tmp_path / "raw", array)
    (tmp_path / "raw").rename(tmp_path / "raw-but-named.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-but-no-suffix"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-but-named.gz"), array)


def test_big_endian_on_disk(tmp_path):
    write_idx(tmp_path / "i", np.array([1, 256], dtype=np.int16))
    assert (tmp_path / "i").read_bytes() == header(0x0B, 2) + b"\x00\x01\x01\x00"


def test_write_overwrites_atomically(tmp_path):
    path = tmp_path / "a"
    write_idx(path, np.zeros(3, np.uint8))
    write_idx(path, np.ones(4, np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.ones(4, np.uint8))


def test_atomic_writer_removes_temp_and_keeps_old_file_on_failure(tmp_path):
    dest = tmp_path / "dest"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(dest) as file:
        file.write(b"new, half written")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros(3, dtype=np.uint16), "cannot store dtype uint16"),
        (np.zeros(3, dtype=bool), "cannot store dtype bool"),
        (np.zeros(3, dtype=np.complex64), "cannot store dtype complex64"),
        (np.array(5, dtype=np.uint8), "1 to 8 dimensions; received 0"),
        (np.zeros((1,) * 9, dtype=np.uint8), "received 9"),
    ],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path, array, match):
    with pytest.raises(ValueError, match=match):
        write_idx(tmp_path / "x", array)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "truncated IDX file: 0 bytes, shorter than the 4-byte header"),
        (b"\x00\x00\x08", "truncated IDX file: 3 bytes"),
        (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"x", "not an IDX file: expected the magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01x", "unknown IDX type code 0x07; expected one of 0x08"),
        (b"\x00\x00\x08\x00", "claims 0 dimensions; expected 1 to 8"),
        (b"\x00\x00\x08\x09" + b"\x00" * 36, "claims 9 dimensions"),
        (
            b"\x00\x00\x08\x03\x00\x00\x00\x02",
            "the header needs 16 bytes but the file ends after 8",
        ),
        (
            header(0x08, 2, 3) + b"abcd",
            "truncated IDX file: header says 2x3 uint8 .6 bytes of data. but only 4 bytes follow",
        ),
        (
            header(0x08, 2, 3) + b"abcdefgh",
            "header says 2x3 uint8 .6 bytes of data. but 8 bytes follow .2 extra.",
        ),
        (header(0x0C, 2) + b"\x00" * 7, "2 int32 .8 bytes of data. but only 7"),
        # Found by the fuzzer: zero items, but other sizes whose product NumPy cannot index.
        (header(0x08, 2**32 - 1, 2**32 - 1, 0), "sizes 4294967295x4294967295x0 are too large"),
    ],
)
def test_malformed_bytes_raise_idx_error_naming_the_file(tmp_path, data, match):
    with pytest.raises(IDXError, match=match) as info:
        parse_idx(data, "some-file-idx")
    assert str(info.value).startswith("some-file-idx: ") and "\n" not in str(info.value)
    for name, content in (("raw-idx", data), ("zipped-idx.gz", gzip.compress(data))):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IDXError, match=match) as info:
            read_idx(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)


def test_truncation_message_says_how_to_fix(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header(0x08, 60000, 28, 28) + bytes(1024)))
    with pytest.raises(IDXError) as info:
        read_idx(path)
    assert str(info.value) == (
        f"{path}: truncated IDX file: header says 60000x28x28 uint8 (47040000 bytes of data) "
        "but only 1024 bytes follow; download it again or delete it"
    )


def test_truncated_gzip_stream(tmp_path):
    content = header(0x08, 1000) + bytes(range(256)) * 4
    zipped = gzip.compress(content[:1004])
    path = tmp_path / "cut.gz"
    path.write_bytes(zipped[: len(zipped) // 2])
    with pytest.raises(IDXError, match=r"cut.gz: corrupt or truncated gzip stream"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    rng = np.random.default_rng(0)
    zipped = bytearray(gzip.compress(header(0x08, 4000) + rng.bytes(4000)))
    zipped[len(zipped) // 2] ^= 0xFF  # a flipped byte: a zlib error or a CRC mismatch
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(zipped))
    with pytest.raises(IDXError, match="flipped.gz: "):
        read_idx(path)


def test_gzip_crc_is_checked(tmp_path):
    zipped = bytearray(gzip.compress(header(0x08, 4) + b"abcd"))
    zipped[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(zipped))
    with pytest.raises(
        IDXError, match="crc.gz: corrupt or truncated gzip stream .CRC check failed"
    ):
        read_idx(path)


def test_missing_file_raises_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="nope-idx: no such IDX file"):
        read_idx(tmp_path / "nope-idx")
    with pytest.raises(DataError, match="is a folder; give an IDX file"):
        read_idx(tmp_path)  # a folder


@pytest.mark.parametrize("form", ["bytes", "raw", "gz"])
def test_huge_claimed_size_fails_fast_without_allocating(tmp_path, form):
    data = header(0x0E, 65536, 65536, 65536) + bytes(8)  # claims 2^51 bytes, holds 8
    path = tmp_path / "huge"
    path.write_bytes(gzip.compress(data) if form == "gz" else data)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(
            IDXError, match="truncated IDX file: header says 65536x65536x65536 float64"
        ):
            parse_idx(data, "huge") if form == "bytes" else read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 4 << 20


def test_parse_idx_accepts_any_buffer():
    data = header(0x0D, 2) + np.array([1.5, -2.0], dtype=">f4").tobytes()
    for buffer in (data, bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(parse_idx(buffer), [1.5, -2.0])
    array = parse_idx(data)
    array[0] = 3.0  # writeable, and a copy: the input is untouched
    assert parse_idx(data)[0] == 1.5
