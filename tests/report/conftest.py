"""Fixtures for the report tests: tiny synthetic 28x28 data and a trained run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest


def make_digits(n_train: int = 400, n_test: int = 120, seed: int = 0):
    """Three noisy 28x28 prototypes as uint8 images: ((x_train, y_train), (x_test, y_test))."""
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


@pytest.fixture
def run_dir(tmp_path, digits):
    """A run folder as `scratchnet train --out` writes it, trained on the synthetic digits."""
    from scratchnet import TrainConfig, save_model, train_classifier

    config = TrainConfig(hidden=(16,), epochs=3, validation_size=80, batch_size=32)
    result = train_classifier(config, data=digits, progress=False)
    folder = tmp_path / "run"
    folder.mkdir()
    save_model(result.model, folder / "model.npz")
    result.history.save_csv(folder / "history.csv")
    result.history.save_json(folder / "history.json")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    return folder
