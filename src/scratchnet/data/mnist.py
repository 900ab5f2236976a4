"""MNIST handwritten digits, loaded like keras.datasets.mnist.load_data().

Where the files are looked for and how they are checked is in sources.py.
"""

from __future__ import annotations

import os

from scratchnet.data.catalog import MNIST_CLASS_NAMES
from scratchnet.data.local import Splits
from scratchnet.data.sources import load_dataset

CLASS_NAMES: tuple[str, ...] = MNIST_CLASS_NAMES


def load_data(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
) -> Splits:
    """MNIST as ((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28), uint8 labels (N,).

    60,000 training and 10,000 test examples; labels 0..9 are the digits. See
    scratchnet.data.sources.load_dataset for where it is looked for and the errors raised.
    """
    return load_dataset("mnist", data_dir, download=download, progress=progress)
