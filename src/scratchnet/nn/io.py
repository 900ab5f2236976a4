"""Saving and loading networks: one .npz holding the weights and a JSON architecture.

The JSON (key `__scratchnet__`) names the format, its version, each layer's type and config,
and free-form metadata (data set, training settings). Files are written to a temporary name
and renamed, and loaded with allow_pickle=False: a model file can never run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..fileio import atomic_write
from . import activations
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .layer import Layer
from .model import Sequential

FORMAT_NAME = "scratchnet-model"
FORMAT_VERSION = 1
_HEADER_KEY = "__scratchnet__"
_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive

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
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        # Open the file ourselves: np.load(path) leaks its handle when the zip is broken.
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:
                raise ModelFileError(
                    f"{path}: not a scratchnet model file (not a .npz archive); "
                    "give a file written by scratchnet train or scratchnet.save_model"
                )
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelFileError(
                f"{path}: the file holds pickled Python objects, which scratchnet never loads "
                "(they can run code); save the model with scratchnet.save_model"
            ) from exc
        raise ModelFileError(f"{path}: not a scratchnet model file ({exc})") from exc
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ModelFileError(
            f"{path}: corrupt or truncated model file ({type(exc).__name__}: {exc}); "
            "save or download it again"
        ) from exc
    header = _read_header(path, arrays)
    try:
        return _build(path, header, arrays)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: invalid architecture in the model file: {exc}") from exc


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
    except json.JSONDecodeError as exc:
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


def _construct(cls: type[Layer], config: dict[str, Any], rng, dtype) -> Layer:
    """A layer from its saved config, passing rng/dtype to the constructors that take them."""
    import inspect

    accepted = inspect.signature(cls).parameters
    extra = {key: value for key, value in (("rng", rng), ("dtype", dtype)) if key in accepted}
    return cls(**config, **extra)


def _build(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Sequential:
    dtype = np.dtype(header.get("dtype", "float32"))
    specs = header.get("layers")
    if not isinstance(specs, list) or not specs:
        raise ModelFileError(f"{path}: the model file lists no layers")
    rng = np.random.default_rng(0)  # only to construct; every parameter is overwritten below
    layers: list[Layer] = []
    for index, spec in enumerate(specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in LAYER_TYPES:
            raise ModelFileError(f"{path}: layer {index} has unknown type {kind!r}")
        config = dict(spec.get("config", {}))
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
    model = Sequential(layers)
    metadata = header.get("metadata") or {}
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model
