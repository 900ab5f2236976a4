"""Fixtures for the sweep tests: tiny synthetic 28x28 data (three noisy prototypes)."""

from __future__ import annotations

import numpy as np
import pytest


def make_digits(n_train: int = 400, n_test: int = 77, seed: int = 0):
    """((x_train, y_train), (x_test, y_test)) as uint8; 77 test images, a size nothing else has."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, (3, 28, 28))

    def draw(count: int):
        labels = rng.integers(0, 3, count)
        noise = rng.normal(0, 110, (count, 28, 28))
        images = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
        return images, labels.astype(np.uint8)

    return draw(n_train), draw(n_test)


@pytest.fixture(scope="session")
def digits():
    return make_digits()
