"""Saving and loading networks: one .npz holding the weights and a JSON architecture.

The JSON (key `__scratchnet__`) names the format, its version, each layer's type and config,
and free-form metadata (data set, training settings). Files are written to a temporary name
and renamed, and loaded with allow_pickle=False: a model file can never run code.
"""

from __future__ import annotations

import json
import math
import os
import struct
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
_MAX_MEMBERS = 10_000  # far more arrays than any network has; bounds the work on a forged file
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than this (RFC 1951's best case)
_ARRAY_KINDS = "biufcU"  # booleans, integers, floats, complex and text: never objects

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
    arrays = read_npz(path)
    header = _read_header(path, arrays)
    try:
        return _build(path, header, arrays)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        detail = str(exc).replace("\n", "\\n")  # the file chose these names: keep one line
        raise ModelFileError(f"{path}: invalid architecture in the model file: {detail}") from exc


def read_npz(
    path: str | os.PathLike,
    *,
    error: type[Exception] = ModelFileError,
    what: str = "model file",
    fix: str = "save or download it again",
) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, read without pickle and without trusting its sizes.

    Each member's .npy header must describe exactly the bytes the member holds (so a forged
    shape cannot make this allocate more than the file could hold), object arrays are refused
    unread (they would be unpickled), and any damage raises `error` with one line naming the
    file. Used for model files and checkpoints.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such {what}")
    try:
        # Open the file ourselves: zipfile on a path leaks its handle when the zip is broken.
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:
                raise error(
                    f"{path}: not a scratchnet {what} (not a .npz archive); give a file "
                    "written by scratchnet"
                )
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
    model = Sequential(layers)
    metadata = header.get("metadata") or {}
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model
