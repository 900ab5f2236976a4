"""Saving and loading networks: one .npz holding the weights and a JSON architecture.

The JSON (key `__scratchnet__`) names the format, its version, each layer's type and config,
and free-form metadata (data set, training settings). Files are written to a temporary name
and renamed, and loaded with allow_pickle=False: a model file can never run code.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..fileio import atomic_write, read_npz
from . import activations
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .layer import Layer
from .model import Sequential

FORMAT_NAME = "scratchnet-model"
FORMAT_VERSION = 1
_HEADER_KEY = "__scratchnet__"
_FIX = "save or download it again"
_FLOAT_DTYPES = ("float32", "float64")

#: Every layer a model file may name. A new layer type registers itself here.
LAYER_TYPES: dict[str, type[Layer]] = {
    "Dense": Dense,
    "BatchNorm": BatchNorm,
    "Dropout": Dropout,
    **{cls.__name__: cls for cls in activations.ACTIVATIONS.values()},
}


def save_model(
    model: Sequential, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None
) -> Path:
    """Write `model` (and JSON-able `metadata`) to `path` atomically; returns the path."""
    path = Path(path)
    meta = {**model.metadata, **(metadata or {})}
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "dtype": model.dtype.name,
        "layers": [
            {
                "type": type(layer).__name__,
                "config": layer.get_config(),
                "params": list(layer.params),
            }
            for layer in model.layers
        ],
        "metadata": meta,
    }
    try:
        header_text = json.dumps(header)
    except TypeError as exc:
        raise ValueError(f"model metadata must be JSON-serialisable: {exc}") from exc
    arrays = {_HEADER_KEY: np.array(header_text)}
    for index, layer in enumerate(model.layers):
        for name, array in (*layer.params.items(), *layer.buffers.items()):
            arrays[f"layers.{index}.{name}"] = array
    with atomic_write(path, "wb") as handle:
        _write_npz(handle, arrays)
    model.metadata = meta
    return path


def _write_npz(handle, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's format, but with fixed timestamps: the same weights give the same bytes."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def load_model(path: str | os.PathLike) -> Sequential:
    """Read a model written by save_model; `model.metadata` holds its metadata.

    Raises ModelFileError (one line, naming the file) for a missing, corrupt, truncated,
    wrong-version or pickle-bearing file, or one whose arrays do not fit its architecture.
    """
    path = Path(path)
    arrays = read_npz(
        path, error=ModelFileError, what="model file", fix=_FIX, title="scratchnet model file"
    )
    header = _read_header(path, arrays)
    try:
        return _build(path, header, arrays)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        detail = str(exc).replace("\n", "\\n")  # the file chose these names: keep one line
        raise ModelFileError(f"{path}: invalid architecture in the model file: {detail}") from exc


def _read_header(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if _HEADER_KEY not in arrays:
        raise ModelFileError(
            f"{path}: not a scratchnet model file (no {_HEADER_KEY} entry); "
            "was it written by scratchnet.save_model?"
        )
    raw = arrays[_HEADER_KEY]
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: the {_HEADER_KEY} entry is not a JSON string")
    try:
        header = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the architecture JSON is corrupt ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a scratchnet model file (format is not {FORMAT_NAME})")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version!r} is not supported (this scratchnet reads "
            f"version {FORMAT_VERSION}); upgrade scratchnet or re-save the model"
        )
    return header


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """A model file's metadata (data set, settings, test accuracy...) from its header alone,
    without reading the weights; checked as load_model checks it (ModelFileError)."""
    path = Path(path)
    arrays = read_npz(
        path,
        error=ModelFileError,
        what="model file",
        fix=_FIX,
        title="scratchnet model file",
        only=(_HEADER_KEY,),
    )
    metadata = _read_header(path, arrays).get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the model's metadata is not a JSON object; {_FIX}")
    _check_metadata(path, metadata)
    return metadata


def _construct(cls: type[Layer], config: dict[str, Any], rng, dtype) -> Layer:
    """A layer from its saved config, passing rng/dtype to the constructors that take them."""
    import inspect

    accepted = inspect.signature(cls).parameters
    extra = {key: value for key, value in (("rng", rng), ("dtype", dtype)) if key in accepted}
    return cls(**config, **extra)


def _build(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Sequential:
    dtype_name = header.get("dtype", "float32")
    if dtype_name not in _FLOAT_DTYPES:
        raise ModelFileError(
            f"{path}: the model's dtype {dtype_name!r} is not one of {', '.join(_FLOAT_DTYPES)}"
        )
    dtype = np.dtype(dtype_name)
    specs = header.get("layers")
    if not isinstance(specs, list) or not specs:
        raise ModelFileError(f"{path}: the model file lists no layers")
    rng = np.random.default_rng(0)  # only to construct; every parameter is overwritten below
    # A forged architecture must not make the loader allocate more than the file holds.
    budget = sum(array.size for array in arrays.values()) + 1
    layers: list[Layer] = []
    for index, spec in enumerate(specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in LAYER_TYPES:
            raise ModelFileError(f"{path}: layer {index} has unknown type {kind!r}")
        config = dict(spec.get("config", {}))
        sizes = [v for v in config.values() if isinstance(v, int) and not isinstance(v, bool)]
        if sizes and math.prod(sizes) > budget:
            raise ModelFileError(
                f"{path}: layer {index}'s configuration {config} needs more numbers than the "
                "file holds; the file is corrupt"
            )
        cls = LAYER_TYPES[kind]
        layer = _construct(cls, config, rng, dtype)
        for name, current in (*layer.params.items(), *layer.buffers.items()):
            key = f"layers.{index}.{name}"
            if key not in arrays:
                raise ModelFileError(
                    f"{path}: the array {key!r} is missing; the file is incomplete or damaged"
                )
            value = arrays[key]
            if value.shape != current.shape:
                raise ModelFileError(
                    f"{path}: array {key!r} has shape {value.shape}, but {layer!r} needs "
                    f"{current.shape}"
                )
            if value.dtype != current.dtype:
                raise ModelFileError(
                    f"{path}: array {key!r} has dtype {value.dtype}; expected {current.dtype}"
                )
            if not np.isfinite(value).all():
                raise ModelFileError(f"{path}: array {key!r} holds NaN or infinite values")
            current[...] = value
        layers.append(layer)
    used = {_HEADER_KEY} | {
        f"layers.{index}.{name}"
        for index, layer in enumerate(layers)
        for name in (*layer.params, *layer.buffers)
    }
    unknown = sorted(set(arrays) - used)
    if unknown:
        shown = ", ".join(map(repr, unknown[:3])) + (" ..." if len(unknown) > 3 else "")
        raise ModelFileError(
            f"{path}: the file holds arrays its architecture does not use ({shown}); it was "
            f"altered or is not a scratchnet model; {_FIX}"
        )
    model = Sequential(layers)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the model's metadata is not a JSON object; {_FIX}")
    _check_metadata(path, metadata)
    model.metadata = metadata
    return model


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# The metadata keys scratchnet writes and reads back, with what each must be; others are free.
_METADATA_CHECKS = {
    "dataset": (lambda v: isinstance(v, str), "a string"),
    "class_names": (
        lambda v: isinstance(v, list) and all(isinstance(n, str | int) for n in v),
        "a list of names",
    ),
    "input": (lambda v: isinstance(v, dict), "an object"),
    "config": (lambda v: isinstance(v, dict), "an object"),
    "test_accuracy": (lambda v: v is None or (_is_number(v) and 0 <= v <= 1), "from 0 to 1"),
    "test_loss": (lambda v: v is None or (_is_number(v) and v >= 0), "a number >= 0"),
    "epochs_trained": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0",
    ),
}


def _check_metadata(path: Path, metadata: dict[str, Any]) -> None:
    for key, (test, wants) in _METADATA_CHECKS.items():
        if key in metadata and not test(metadata[key]):
            shown = repr(metadata[key])[:60]
            raise ModelFileError(
                f"{path}: the model's metadata {key!r} must be {wants}; received {shown}; {_FIX}"
            )
