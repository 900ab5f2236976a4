"""The typicality statistics: the training images' subspace and its saved form."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.pictures.pipeline import prepare_digit
from scratchnet.pictures.synthetic import DIGIT_STROKES, LETTER_STROKES, draw_strokes
from scratchnet.pictures.typical import FEATURES, OutlierScore, Typicality, pooled_ink


def drawn(strokes: dict, keys, rng) -> np.ndarray:
    """Each key drawn with a jittered pen, in MNIST form: (n, 28, 28)."""
    return np.stack(
        [
            prepare_digit(1.0 - draw_strokes(strokes[k], 56, width=0.1, rng=rng, jitter=0.02)).image
            for k in keys
        ]
    )


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    digits = drawn(DIGIT_STROKES, [str(i % 10) for i in range(100)], rng)
    labels = np.arange(100) % 10
    features = np.zeros((100, len(FEATURES)))  # the subspace does not need them
    features += rng.normal(0, 1, features.shape)
    return Typicality.fit(features, labels, images=digits, components=10), rng


def test_pooled_ink_averages_2x2_cells():
    image = np.zeros((28, 28))
    image[0, 0] = 1.0
    pooled = pooled_ink(image[None])
    assert pooled.shape == (1, 196) and pooled[0, 0] == 0.25 and pooled[0, 1:].sum() == 0


def test_the_subspace_residual_is_larger_for_letters_than_for_digits(fitted):
    typical, rng = fitted
    digits = drawn(DIGIT_STROKES, [str(i % 10) for i in range(30)], rng)
    letters = drawn(LETTER_STROKES, ["H", "K", "M", "W", "X", "N"] * 5, rng)
    assert np.median(typical.residual(letters)) > 2 * np.median(typical.residual(digits))


def test_the_subspace_is_saved_and_an_old_file_reads_without_it(fitted):
    typical, _ = fitted
    again = Typicality.from_json(typical.to_json())
    assert again is not None and again.basis is not None and again.basis.shape == (10, 196)
    image = np.zeros((1, 28, 28))
    image[0, 8:20, 12:15] = 1.0
    assert again.residual(image) == pytest.approx(typical.residual(image), rel=1e-4)
    old = {k: v for k, v in typical.to_json().items() if not k.startswith("subspace")}
    plain = Typicality.from_json(old)
    assert plain is not None and plain.basis is None and plain.residual(image) is None
    # The outlier score has one input more with the subspace, and checks it.
    width = len(FEATURES) + 3
    OutlierScore(typical, np.zeros(width), np.ones(width), np.zeros(width), 0.0)
    with pytest.raises(ValueError, match="shape"):
        OutlierScore(plain, np.zeros(width), np.ones(width), np.zeros(width), 0.0)
