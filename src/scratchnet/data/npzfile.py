"""An .npz of the user's arrays: `x` (n, 28, 28) or (n, 784) and `y` (n,), a test split held
out; or keras' layout x_train, y_train, x_test, y_test. An optional `class_names` array names
the labels. Loaded with allow_pickle=False: an archive holding Python objects is refused.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .own import OwnData, check_pixels, encode_labels, hold_out_test


def _arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                raise ValueError("not a zip archive")
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{path}: not a valid NumPy .npz archive ({exc}); save it with "
            "np.savez(path, x=images, y=labels)"
        ) from None


def _names(arrays: dict[str, np.ndarray], path: Path) -> list[str] | None:
    names = arrays.get("class_names")
    if names is None:
        return None
    if names.ndim != 1:
        raise DataError(f"{path}: class_names must be a 1-D array of names")
    return [str(n) for n in names.tolist()]


def _labels(values: np.ndarray, names: list[str] | None, where: str):
    values = np.asarray(values)
    if values.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D (n,); received shape {values.shape}")
    if names is not None and np.issubdtype(values.dtype, np.integer):
        if values.size and (values.min() < 0 or values.max() >= len(names)):
            raise DataError(
                f"{where}: labels must be in 0..{len(names) - 1} for {len(names)} class_names"
            )
        return values.astype(np.int64), tuple(names)
    return encode_labels(values, names)


def load_npz(
    path: str | os.PathLike[str], *, test_size: int | None = None, seed: int = 0
) -> OwnData:
    """x/y arrays (a test split held out with `seed`) or keras' four arrays -> OwnData."""
    path = Path(path).expanduser()
    arrays = _arrays(path)
    names = _names(arrays, path)
    if {"x_train", "y_train", "x_test", "y_test"} <= set(arrays):
        x_train = check_pixels(arrays["x_train"], f"{path} x_train")
        x_test = check_pixels(arrays["x_test"], f"{path} x_test")
        y_train, classes = _labels(arrays["y_train"], names, f"{path} y_train")
        y_test, _ = _labels(arrays["y_test"], list(classes), f"{path} y_test")
        _same_length(path, x_train, y_train, "train")
        _same_length(path, x_test, y_test, "test")
        return OwnData((x_train, y_train), (x_test, y_test), classes, str(path), "x_test")
    if not {"x", "y"} <= set(arrays):
        raise DataError(
            f"{path}: expected arrays x and y (or x_train, y_train, x_test, y_test); the archive "
            f"holds {', '.join(sorted(arrays)) or 'nothing'}"
        )
    images = check_pixels(arrays["x"], f"{path} x")
    labels, classes = _labels(arrays["y"], names, f"{path} y")
    _same_length(path, images, labels, "")
    train, test = hold_out_test(images, labels, test_size=test_size, seed=seed, where=str(path))
    return OwnData(train, test, classes, str(path))


def _same_length(path: Path, images: np.ndarray, labels: np.ndarray, split: str) -> None:
    if images.shape[0] != labels.shape[0]:
        which = f" {split}" if split else ""
        raise DataError(
            f"{path}: {images.shape[0]}{which} images but {labels.shape[0]} labels; "
            "expected one label per image"
        )
    if images.shape[0] == 0:
        raise DataError(f"{path}: no examples{' in ' + split if split else ''}")
