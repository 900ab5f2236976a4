"""Fixtures for the report tests: tiny synthetic 28x28 data and a trained run folder."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def digits(synthetic_digits):
    """Three noisy prototypes (tests/conftest.py's make_digits); 120 test images."""
    return synthetic_digits(n_test=120)


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
