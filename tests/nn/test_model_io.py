"""Model files (nn/io.py): round trips, atomic writes, and one clear ModelFileError for every
kind of bad file -- without ever unpickling anything."""

from __future__ import annotations

import gc
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from scratchnet.errors import ModelFileError
from scratchnet.nn import (
    Dense,
    LeakyReLU,
    Sequential,
    Sigmoid,
    load_model,
    mlp,
    save_model,
)
from scratchnet.nn.io import FORMAT_VERSION, LAYER_TYPES
from scratchnet.nn.layer import Layer

HEADER = "__scratchnet__"
LEAKY = {"name": "leaky_relu", "negative_slope": 0.2}


def _model(dtype=np.float32, seed=0):
    return mlp(6, [5, 4], 3, activation=LEAKY, seed=seed, dtype=dtype)


def _x(n=9, seed=1):
    # Mostly negative inputs, so the leaky slope matters for the predictions.
    return np.random.default_rng(seed).normal(-0.5, 1.0, (n, 6))


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _saved(tmp_path, name="model.npz", **kwargs) -> Path:
    return save_model(_model(**kwargs), tmp_path / name)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _rewrite(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _load_error(path: Path) -> ModelFileError:
    """The ModelFileError load_model raises. np.load leaks its file handle when the zip is
    broken (see test_a_truncated_file_leaks_no_file_handle); collect it here, so that the
    ResourceWarning does not surface in whichever test happens to run the garbage collector."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                load_model(path)
            finally:
                gc.collect()
    except ModelFileError as exc:
        exc.__traceback__ = None
        return exc
    pytest.fail(f"load_model({path}) did not raise ModelFileError")


def _expect_error(path: Path, match: str | None = None) -> ModelFileError:
    error = _load_error(path)
    message = str(error)
    assert str(path) in message
    assert "\n" not in message
    if match is not None:
        assert re.search(match, message), message
    return error


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    model = _model(dtype)
    metadata = {"dataset": "mnist", "class_names": ["a", "b", "c"], "nested": {"epochs": [1, 2]}}
    returned = save_model(model, tmp_path / "model.npz", metadata=metadata)
    assert returned == tmp_path / "model.npz"
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.dtype == dtype
    assert repr(loaded) == repr(model)
    x = _x()
    np.testing.assert_array_equal(loaded.predict_logits(x), model.predict_logits(x))
    for (i, name, a, _), (j, other, b, _) in zip(
        model.parameters(), loaded.parameters(), strict=True
    ):
        assert (i, name) == (j, other)
        assert b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.metadata == metadata
    assert model.metadata == metadata  # save_model records what it wrote


def test_leaky_relu_slope_survives_the_round_trip(tmp_path):
    model = _model(np.float64)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    for layer in loaded.layers[:-1]:
        assert layer.activation.name == "leaky_relu"
        assert layer.activation.negative_slope == 0.2
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]


def test_round_trip_with_standalone_activation_layers(tmp_path):
    model = Sequential(
        [
            Dense(6, 5, seed=0, dtype=np.float64),
            LeakyReLU(0.3),
            Dense(5, 3, "tanh", seed=1, dtype=np.float64),
            Sigmoid(),
        ]
    )
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    assert repr(loaded) == repr(model)
    assert loaded.layers[1].negative_slope == 0.3
    np.testing.assert_array_equal(loaded.predict_logits(_x()), model.predict_logits(_x()))


def test_metadata_merges_with_the_models_own(tmp_path):
    model = _model()
    model.metadata = {"dataset": "mnist", "note": "old"}
    save_model(model, tmp_path / "m.npz", metadata={"note": "new"})
    assert load_model(tmp_path / "m.npz").metadata == {"dataset": "mnist", "note": "new"}


class _Scale(Layer):
    """A parameter-free layer with a saved buffer, as batch normalisation's statistics are."""

    def __init__(self, dtype=np.float32):
        super().__init__()
        self.buffers = {"factor": np.ones(1, dtype=dtype)}

    def forward(self, x, *, training=False):
        return x * self.buffers["factor"]


def test_buffers_are_saved_and_loaded(tmp_path, monkeypatch):
    monkeypatch.setitem(LAYER_TYPES, "_Scale", _Scale)
    scale = _Scale(np.float64)
    scale.buffers["factor"][...] = 3.0
    model = Sequential([Dense(6, 3, seed=0, dtype=np.float64), scale])
    path = save_model(model, tmp_path / "m.npz")
    assert "layers.1.factor" in _arrays(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.layers[1].buffers["factor"], [3.0])
    np.testing.assert_array_equal(loaded.predict_logits(_x()), model.predict_logits(_x()))
    arrays = _arrays(path)
    del arrays["layers.1.factor"]
    _rewrite(path, arrays)
    _expect_error(path, "'layers.1.factor' is missing")


def test_the_file_is_an_npz_with_a_json_header(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    header = json.loads(str(arrays[HEADER]))
    assert header["format"] == "scratchnet-model"
    assert header["format_version"] == FORMAT_VERSION
    assert header["dtype"] == "float32"
    assert [spec["type"] for spec in header["layers"]] == ["Dense", "Dense", "Dense"]
    assert sorted(k for k in arrays if k != HEADER) == sorted(
        f"layers.{i}.{name}" for i in range(3) for name in ("weight", "bias")
    )


def test_save_accepts_a_string_path_and_overwrites(tmp_path):
    path = str(tmp_path / "m.npz")
    save_model(_model(seed=0), path)
    save_model(_model(seed=1), path)
    np.testing.assert_array_equal(
        load_model(path).layers[0].weight, _model(seed=1).layers[0].weight
    )


# -- atomic writing ----------------------------------------------------------------------------


def test_no_temporary_file_is_left_after_saving(tmp_path):
    _saved(tmp_path)
    assert _listing(tmp_path) == ["model.npz"]


def test_metadata_that_is_not_json_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="metadata must be JSON-serialisable"):
        save_model(_model(), tmp_path / "m.npz", metadata={"when": object()})
    assert _listing(tmp_path) == []


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = _saved(tmp_path, "m.npz", seed=0)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="JSON"):
        save_model(_model(seed=1), path, metadata={"bad": {1, 2}})
    # A failure half-way through writing the arrays: an object array cannot be written without
    # pickling, which a model file never holds.
    broken = _model(seed=1)
    broken.layers[2].params["bias"] = np.array([None, None, None], dtype=object)
    with pytest.raises(ValueError, match="pickle"):
        save_model(broken, path)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(
        load_model(path).layers[0].weight, _model(seed=0).layers[0].weight
    )


def test_the_same_model_gives_the_same_bytes(tmp_path):
    first = save_model(_model(seed=3), tmp_path / "a.npz", metadata={"k": 1})
    second = save_model(_model(seed=3), tmp_path / "b.npz", metadata={"k": 1})
    assert first.read_bytes() == second.read_bytes()
    third = save_model(_model(seed=4), tmp_path / "c.npz", metadata={"k": 1})
    assert third.read_bytes() != first.read_bytes()


# -- bad files ---------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.npz", "no such model file")


def test_a_directory_is_not_a_model_file(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    _expect_error(tmp_path / "dir.npz")


def test_random_bytes(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    _expect_error(path)


def test_random_bytes_are_not_reported_as_a_pickle(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    error = _expect_error(path)
    assert "pickle" not in str(error)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    _expect_error(path)


def test_truncated_file(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect_error(path, "corrupt or truncated")


def test_a_file_cut_just_before_its_end(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    _expect_error(path)


def test_missing_array(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    del arrays["layers.1.bias"]
    _rewrite(path, arrays)
    _expect_error(path, "'layers.1.bias' is missing")


def test_wrong_shape(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays["layers.0.weight"] = arrays["layers.0.weight"].T.copy()
    _rewrite(path, arrays)
    _expect_error(path, r"'layers.0.weight' has shape \(5, 6\).*needs \(6, 5\)")


def test_wrong_dtype(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays["layers.2.weight"] = arrays["layers.2.weight"].astype(np.float64)
    _rewrite(path, arrays)
    _expect_error(path, "'layers.2.weight' has dtype float64; expected float32")


def test_non_finite_weights(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays["layers.0.bias"][2] = np.nan
    _rewrite(path, arrays)
    _expect_error(path, "NaN or infinite")


def _edit_header(path: Path, edit) -> None:
    arrays = _arrays(path)
    header = json.loads(str(arrays[HEADER]))
    edit(header)
    arrays[HEADER] = np.array(json.dumps(header))
    _rewrite(path, arrays)


def test_future_format_version(tmp_path):
    path = _saved(tmp_path)
    _edit_header(path, lambda h: h.update(format_version=FORMAT_VERSION + 1))
    _expect_error(path, f"format version {FORMAT_VERSION + 1} is not supported")


def test_wrong_format_name(tmp_path):
    path = _saved(tmp_path)
    _edit_header(path, lambda h: h.update(format="someone-elses-model"))
    _expect_error(path, "not a scratchnet model file")


def test_unknown_layer_type(tmp_path):
    path = _saved(tmp_path)
    _edit_header(path, lambda h: h["layers"][1].update(type="Conv2D"))
    _expect_error(path, "layer 1 has unknown type 'Conv2D'")


def test_invalid_layer_config(tmp_path):
    path = _saved(tmp_path)
    _edit_header(path, lambda h: h["layers"][0]["config"].update(n_in=-3))
    _expect_error(path, "invalid architecture")


def test_architecture_inconsistent_with_itself(tmp_path):
    # Layer configs whose sizes do not chain: Sequential refuses, the loader says why.
    path = _saved(tmp_path)
    arrays = _arrays(path)
    header = json.loads(str(arrays[HEADER]))
    header["layers"][1]["config"]["n_in"] = 7
    arrays[HEADER] = np.array(json.dumps(header))
    arrays["layers.1.weight"] = np.zeros((7, 4), np.float32)
    _rewrite(path, arrays)
    _expect_error(path, "invalid architecture")


def test_header_that_is_not_json(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays[HEADER] = np.array("{not json")
    _rewrite(path, arrays)
    _expect_error(path, "architecture JSON is corrupt")


def test_header_that_is_not_a_string(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays[HEADER] = np.arange(3)
    _rewrite(path, arrays)
    _expect_error(path, "is not a JSON string")


def test_not_a_scratchnet_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros((3, 3)))
    _expect_error(path, "not a scratchnet model file")


UNPICKLED: list[str] = []


def _record_unpickling(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class _Booby:
    """Unpickling this object runs _record_unpickling: the test sees any unpickling."""

    def __reduce__(self):
        return (_record_unpickling, ("unpickled!",))


def test_pickled_object_array_is_refused_and_never_unpickled(tmp_path):
    path = _saved(tmp_path)
    arrays = _arrays(path)
    arrays["layers.0.bias"] = np.array([{"a": 1}], dtype=object)
    arrays["extra"] = np.array([_Booby()], dtype=object)
    _rewrite(path, arrays)  # np.savez pickles object arrays
    UNPICKLED.clear()
    _expect_error(path, "pickled Python objects")
    assert UNPICKLED == []


def test_pickled_header_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{HEADER: np.array([_Booby()], dtype=object)})
    UNPICKLED.clear()
    _expect_error(path, "pickle")
    assert UNPICKLED == []


def test_a_plain_pickle_file_is_refused(tmp_path):
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_Booby()))
    UNPICKLED.clear()
    _expect_error(path)
    assert UNPICKLED == []


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_a_npy_file_is_refused_with_model_file_error(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros((3, 3)))
    _expect_error(path, "not a scratchnet model file")


def test_a_truncated_file_leaks_no_file_handle(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            load_model(path)
        except ModelFileError:
            pass
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
