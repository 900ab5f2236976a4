"""The learning-rate range test: its conclusion from a curve, and a run on tiny digits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.diagnose.lrfind import conclude, lr_range_test, plot_lr_range
from scratchnet.runs import TrainConfig


def curve(rates):
    """A loss that falls fastest at lr 1e-2 (per decade) and blows up above 1."""
    x = np.log10(rates)
    loss = 2.3 - 2.0 / (1 + np.exp(-3 * (x + 2)))
    return np.where(x > 0, loss + 50 * x**2, loss)


def test_the_suggestion_is_where_the_loss_falls_fastest():
    rates = np.geomspace(1e-6, 10, 200)
    found = conclude(list(rates), list(curve(rates)))
    assert found.suggestion == pytest.approx(1e-2, rel=0.5)
    assert 0.1 < found.minimum <= 1.5
    assert found.blowup is not None and found.blowup > found.minimum


def test_noise_does_not_move_the_suggestion_far():
    rates = np.geomspace(1e-6, 10, 200)
    noisy = curve(rates) + np.random.default_rng(0).normal(0, 0.05, 200)
    found = conclude(list(rates), list(noisy))
    assert 10**-2.7 < found.suggestion < 10**-1.3


def test_a_curve_that_goes_non_finite_blows_up_there():
    rates = list(np.geomspace(1e-4, 1, 60))
    losses = list(curve(np.asarray(rates[:50]))) + [math.inf]
    found = conclude(rates[:51], losses)
    assert found.blowup == pytest.approx(rates[50])


def test_too_short_a_curve_suggests_nothing():
    assert conclude([1e-3, 1e-2], [2.3, 2.2]).suggestion is None


def _digits(n=600, seed=0):
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, (3, 28, 28))
    labels = rng.integers(0, 3, n)
    images = np.clip(prototypes[labels] + rng.normal(0, 60, (n, 28, 28)), 0, 255)
    return images.astype(np.uint8), labels.astype(np.uint8)


def test_range_test_on_tiny_digits(tmp_path):
    data = (_digits(), _digits(60, seed=1))
    config = TrainConfig(hidden=(16,), epochs=1, validation_size=100, batch_size=32)
    found = lr_range_test(config, data, steps=60, start=1e-5, stop=10)
    assert len(found.losses) <= 60 and found.learning_rates[0] == pytest.approx(1e-5)
    assert found.suggestion is not None and 1e-5 <= found.suggestion <= 10
    assert found.learning_rates == sorted(found.learning_rates)
    pytest.importorskip("matplotlib")
    path = plot_lr_range(found, tmp_path / "lr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_range_test_checks_its_arguments():
    config = TrainConfig(hidden=(4,), epochs=1, validation_size=10)
    with pytest.raises(ValueError, match="steps"):
        lr_range_test(config, None, steps=3)
    with pytest.raises(ValueError, match="start < stop"):
        lr_range_test(config, None, start=1.0, stop=0.1)
