"""Property tests: the model and checkpoint loaders on arbitrary or mutated bytes raise only
their own error (ModelFileError, CheckpointError), never allocate much more than the file
holds, and never hang. The IDX reader has the same tests in tests/data/test_idx_fuzz.py."""

from __future__ import annotations

import io
import json
import re
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchnet.errors import CheckpointError, ModelFileError
from scratchnet.nn import BatchNorm, Dense, Dropout, ReLU, Sequential, load_model, mlp, save_model
from scratchnet.optim import SGD
from scratchnet.train import History, TrainingState, load_checkpoint, save_checkpoint

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
SECONDS = 5.0  # far more than any load of these few-kB files takes: anything slower hangs


def _models():
    rng = np.random.default_rng(0)
    yield mlp(6, [5], 3, seed=0)
    yield mlp(6, [5, 4], 3, dropout=0.5, batch_norm=True, seed=1, dtype=np.float64)
    yield Sequential([Dense(4, 3, rng=rng), BatchNorm(3), ReLU(), Dropout(0.1, rng=rng)])


def _bytes_of(write) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.npz"
        write(path)
        return path.read_bytes()


VALID_MODELS = [_bytes_of(lambda p, m=m: save_model(m, p)) for m in _models()]
VALID_CHECKPOINT = _bytes_of(
    lambda p: save_checkpoint(
        p,
        TrainingState(mlp(6, [5], 3, seed=0), None, SGD(0.1, momentum=0.9), 2, 3, History()),
        at_epoch_end=True,
    )
)


@st.composite
def mutated(draw, kind: str) -> bytes:
    """A valid model file ("model") or checkpoint ("checkpoint"), damaged 1 to 4 times."""
    valid = VALID_MODELS if kind == "model" else [VALID_CHECKPOINT]
    data = bytearray(draw(st.sampled_from(valid)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "shape", "size", "zero"]))
        if kind == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "shape":
            # Forge a .npy header's shape: a huge claimed array must not be allocated.
            shapes = list(re.finditer(rb"'shape': \((\d+)", bytes(data)))
            if shapes:
                match = draw(st.sampled_from(shapes))
                huge = str(draw(st.integers(10**6, 10**15))).encode()
                data[match.start(1) : match.end(1)] = huge
        elif kind == "size" and len(data) > 30:
            # Forge the sizes in a zip header (local header offsets 18..26).
            starts = [m.start() for m in re.finditer(rb"PK\x03\x04", bytes(data))]
            if starts:
                at = draw(st.sampled_from(starts)) + 18 + 4 * draw(st.integers(0, 1))
                data[at : at + 4] = draw(st.binary(min_size=4, max_size=4))
        elif kind == "zero" and data:
            at = draw(st.integers(0, len(data) - 1))
            data[at : at + draw(st.integers(1, 64))] = bytes(64)[: len(data[at : at + 64])]
    return bytes(data)


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "file.npz"


def check(path, data: bytes, loader, error) -> None:
    """Load `data` from `path`: only `error`, bounded memory and time."""
    path.write_bytes(data)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loader(path)
    except error as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message, message
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - started < SECONDS
    # The arrays themselves, a network built from them (with gradients), and a little slack.
    assert peak <= 40 * len(data) + 2_000_000, (peak, len(data))


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(path, data):
    check(path, data, load_model, ModelFileError)


@FUZZ
@given(data=st.binary(max_size=300).map(lambda tail: b"PK\x03\x04" + tail))
def test_arbitrary_bytes_behind_a_zip_signature(path, data):
    check(path, data, load_model, ModelFileError)


@FUZZ
@given(data=mutated("model"))
def test_mutated_model_files(path, data):
    check(path, data, load_model, ModelFileError)


@FUZZ
@given(data=mutated("checkpoint"))
def test_mutated_checkpoints(path, data):
    check(path, data, load_checkpoint, CheckpointError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def forged_headers(draw) -> bytes:
    """A well-formed archive whose architecture JSON has random parts replaced."""
    header = json.loads(str(np.load(io.BytesIO(VALID_MODELS[0]))["__scratchnet__"]))
    edits = draw(
        st.lists(st.sampled_from(["top", "layer", "config", "value"]), min_size=1, max_size=3)
    )
    for edit in edits:
        if edit == "top":
            header[draw(st.sampled_from(["format", "format_version", "dtype", "layers"]))] = draw(
                JSON
            )
        elif edit == "layer" and isinstance(header.get("layers"), list) and header["layers"]:
            header["layers"][draw(st.integers(0, len(header["layers"]) - 1))] = draw(JSON)
        elif edit == "config" and isinstance(header.get("layers"), list) and header["layers"]:
            layer = header["layers"][0]
            if isinstance(layer, dict):
                layer["config"] = draw(JSON)
        elif edit == "value" and isinstance(header.get("layers"), list) and header["layers"]:
            layer = header["layers"][0]
            if isinstance(layer, dict) and isinstance(layer.get("config"), dict):
                key = draw(st.sampled_from(["n_in", "n_out", "activation", "rate", "other"]))
                layer["config"][key] = draw(JSON | st.integers(10**5, 10**12))
    with np.load(io.BytesIO(VALID_MODELS[0])) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["__scratchnet__"] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.slow  # hundreds of forged files: seconds
@FUZZ
@given(data=forged_headers())
def test_forged_architectures(path, data):
    check(path, data, load_model, ModelFileError)


def test_a_deeply_nested_header_is_a_model_file_error(path):
    buffer = io.BytesIO()
    np.savez(buffer, __scratchnet__=np.array("[" * 100_000 + "]" * 100_000))
    check(path, buffer.getvalue(), load_model, ModelFileError)


def test_a_header_claiming_four_terabytes_is_refused_before_reading(path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with np.load(io.BytesIO(VALID_MODELS[0])) as valid:
            for key in valid.files:
                member = io.BytesIO()
                np.lib.format.write_array(member, valid[key])
                if key == "layers.0.weight":  # the same bytes, under a forged header
                    member = io.BytesIO()
                    header = {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
                    np.lib.format.write_array_header_1_0(member, header)
                    member.write(valid[key].tobytes())
                archive.writestr(key + ".npy", member.getvalue())
    with pytest.raises(ModelFileError, match=r"claims shape \(1000000, 1000000\) of float32"):
        check(path, buffer.getvalue(), load_model, ())


def test_compressed_archives_are_read_within_bounds(path):
    buffer = io.BytesIO()
    with np.load(io.BytesIO(VALID_MODELS[0])) as archive:
        np.savez_compressed(buffer, **{key: archive[key] for key in archive.files})
    check(path, buffer.getvalue(), load_model, ())  # loads fine
    assert zipfile.ZipFile(buffer).infolist()[0].compress_type == zipfile.ZIP_DEFLATED
