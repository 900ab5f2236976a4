"""Property tests: the IDX reader never crashes or over-allocates on arbitrary or mutated bytes."""

from __future__ import annotations

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnet.data import parse_idx, read_idx
from scratchnet.errors import IDXError

FAST = settings(derandomize=True, database=None, deadline=None, max_examples=300)
CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
DTYPES = ["u1", "i1", ">i2", ">i4", ">f4", ">f8"]


@st.composite
def valid_idx(draw) -> bytes:
    index = draw(st.integers(0, len(CODES) - 1))
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    count = int(np.prod(shape))
    data = draw(
        st.binary(
            min_size=count * np.dtype(DTYPES[index]).itemsize,
            max_size=count * np.dtype(DTYPES[index]).itemsize,
        )
    )
    head = bytes([0, 0, CODES[index], len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return head + data


@st.composite
def mutated_idx(draw) -> bytes:
    data = bytearray(draw(valid_idx()))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "append", "big-dim"]))
        if kind == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "append":
            data += draw(st.binary(min_size=1, max_size=8))
        elif kind == "big-dim" and len(data) >= 8:
            data[4:8] = struct.pack(">I", draw(st.integers(0, 2**32 - 1)))
    return bytes(data)


def check(data: bytes) -> None:
    try:
        array = parse_idx(data, "fuzz")
    except IDXError as exc:
        assert str(exc).startswith("fuzz: ")
        return
    assert array.nbytes <= len(data)
    assert array.dtype.isnative and array.flags.c_contiguous and array.flags.writeable


@FAST
@given(st.binary(max_size=64))
def test_arbitrary_bytes(data):
    check(data)


@FAST
@given(st.binary(max_size=40).map(lambda tail: b"\x00\x00" + tail))
def test_arbitrary_bytes_after_a_valid_magic_start(data):
    check(data)


@FAST
@given(mutated_idx())
def test_mutated_valid_files(data):
    check(data)


@FAST
@given(valid_idx())
def test_valid_files_parse(data):
    array = parse_idx(data)
    assert array.nbytes == len(data) - 4 - 4 * array.ndim


@settings(derandomize=True, database=None, deadline=None, max_examples=60)
@given(mutated_idx(), st.booleans())
def test_read_idx_on_mutated_files(data, compress):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz-idx"
        path.write_bytes(gzip.compress(data) if compress else data)
        try:
            array = read_idx(path)
        except IDXError:
            return
        assert array.nbytes <= len(data)
