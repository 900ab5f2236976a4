"""`scratchnet train` through main([...]) on a tiny synthetic data set (a fraction of a second)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_data():
    """700 training and 60 test 28x28 uint8 images whose class sets a bright square's place."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[i, 4 + 10 * row : 12 + 10 * row, 2 + 5 * col : 6 + 5 * col] = 255
        return images, labels

    return split(700), split(60)


@pytest.fixture
def tiny_cli(tiny_data, monkeypatch):
    import scratchnet.data

    monkeypatch.setattr(scratchnet.data, "load_dataset", lambda *args, **kwargs: tiny_data)
    return tiny_data
