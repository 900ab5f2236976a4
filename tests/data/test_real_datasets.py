"""The real MNIST and Fashion-MNIST, from SCRATCHNET_DATA (CI: /work/shared/data).

Locally: SCRATCHNET_DATA=/work/shared/data .venv/bin/python -m pytest -m slow tests/data
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from scratchnet.data import load_dataset
from scratchnet.data.idx import idx_data, idx_header
from scratchnet.errors import DatasetNotFoundError

# Written out again here (from the data README) so that the test checks the catalog, not itself.
SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
COUNTS = {
    "mnist": (
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    ),
    "fashion-mnist": ([6000] * 10, [1000] * 10),
}


def content_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(idx_header(array) + idx_data(array).tobytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_dataset(name):
    try:
        (x_train, y_train), (x_test, y_test) = load_dataset(name, download=False)
    except DatasetNotFoundError:
        if not os.environ.get("SCRATCHNET_DATA"):
            pytest.skip(
                f"{name} not found and SCRATCHNET_DATA unset (CI sets it to /work/shared/data)"
            )
        raise
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8 and array.flags.c_contiguous and array.flags.writeable
    train_counts, test_counts = COUNTS[name]
    assert np.bincount(y_train, minlength=10).tolist() == train_counts
    assert np.bincount(y_test, minlength=10).tolist() == test_counts
    arrays = {
        "train_images": x_train,
        "train_labels": y_train,
        "test_images": x_test,
        "test_labels": y_test,
    }
    for key, array in arrays.items():
        assert content_sha256(array) == SHA256[name][key], key
