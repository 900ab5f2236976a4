"""Fixtures for the reliability tests: a tiny synthetic MNIST-shaped data set, and the
command-line tool pointed at it (so that a whole `scratchnet train` takes a fraction of a
second). Tests that need the real data use the `data_dir` fixture of tests/conftest.py."""

from __future__ import annotations

import numpy as np
import pytest

N_TRAIN, N_TEST = 700, 60


def make_tiny_data(seed: int = 0):
    """((x_train, y_train), (x_test, y_test)): uint8 28x28 images whose class sets a bright
    square's position (learnable, so losses fall), plus noise."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[i, 4 + 10 * row : 12 + 10 * row, 2 + 5 * col : 6 + 5 * col] = 255
        return images, labels

    return split(N_TRAIN), split(N_TEST)


@pytest.fixture(scope="session")
def tiny_data():
    return make_tiny_data()


@pytest.fixture
def tiny_cli(tiny_data, monkeypatch):
    """`scratchnet train` (through main([...])) loads the tiny data set instead of MNIST."""
    import scratchnet.data

    def load(name, data_dir=None, **kwargs):
        return tiny_data

    monkeypatch.setattr(scratchnet.data, "load_dataset", load)
    return tiny_data
