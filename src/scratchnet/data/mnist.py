"""MNIST handwritten digits, loaded like keras.datasets.mnist.load_data().

Where the files are looked for and how they are checked is in sources.py.
"""

from __future__ import annotations

import os

from scratchnet.data.catalog import MNIST_CLASS_NAMES
from scratchnet.data.keras_path import load_with_path
from scratchnet.data.local import Splits

CLASS_NAMES: tuple[str, ...] = MNIST_CLASS_NAMES


def load_data(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool | None = None,
) -> Splits:
    """MNIST as ((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28), uint8 labels (N,).

    60,000 training and 10,000 test examples; labels 0..9 are the digits. See
    scratchnet.data.sources.load_dataset for where it is looked for and the errors raised.
    `path` is keras' keyword: an .npz file with keras' arrays, or a data folder (a bare name
    such as keras' default "mnist.npz" that exists nowhere leaves the usual search in charge).
    """
    return load_with_path("mnist", data_dir, path, download=download, progress=progress)
