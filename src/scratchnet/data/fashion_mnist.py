"""Fashion-MNIST (Zalando's clothing images), loaded like keras.datasets.fashion_mnist.load_data().

Where the files are looked for and how they are checked is in sources.py.
"""

from __future__ import annotations

import os

from scratchnet.data.catalog import FASHION_MNIST_CLASS_NAMES
from scratchnet.data.keras_path import load_with_path
from scratchnet.data.local import Splits

CLASS_NAMES: tuple[str, ...] = FASHION_MNIST_CLASS_NAMES


def load_data(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool | None = None,
) -> Splits:
    """Fashion-MNIST as ((x_train, y_train), (x_test, y_test)): uint8 (N, 28, 28) and (N,).

    60,000 training and 10,000 test examples; label i is CLASS_NAMES[i]. See
    scratchnet.data.sources.load_dataset for where it is looked for and the errors raised.
    `path` is keras' keyword: an .npz file with keras' arrays, or a data folder (a bare name
    such as keras' default "mnist.npz" that exists nowhere leaves the usual search in charge).
    """
    return load_with_path("fashion-mnist", data_dir, path, download=download, progress=progress)
