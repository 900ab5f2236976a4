"""Data faults read from the data itself, and the repairs --repair makes to the arrays."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.diagnose.datacheck import apply_data_fix, balance, clean_labels, read_data, rescale


@pytest.fixture(scope="module")
def digits():
    """600 images of 3 well-separated noisy prototypes (uint8) and their labels."""
    rng = np.random.default_rng(0)
    prototypes = rng.integers(0, 256, (3, 28, 28))
    labels = rng.integers(0, 3, 600)
    images = np.clip(prototypes[labels] + rng.normal(0, 40, (600, 28, 28)), 0, 255)
    return images.astype(np.uint8), labels


def test_clean_data_reads_clean(digits):
    images, labels = digits
    report = read_data(images, labels)
    assert 0.3 < report.feature_rms < 0.8 and report.feature_max <= 1.0
    assert sum(report.class_counts) == 600 and len(report.class_counts) == 3
    assert report.neighbour_disagreement < 0.05


def test_the_scale_the_network_sees(digits):
    images, labels = digits
    assert read_data(images.astype(np.float32), labels).feature_rms > 30  # floats 0..255
    assert read_data(images // 128, labels).feature_rms < 1 / 30  # uint8 0..1


def test_noisy_labels_disagree_with_their_neighbours(digits):
    images, labels = digits
    rng = np.random.default_rng(1)
    noisy = labels.copy()
    flip = rng.random(len(labels)) < 0.5
    noisy[flip] = (labels[flip] + rng.integers(1, 3, flip.sum())) % 3
    assert read_data(images, noisy).neighbour_disagreement > 0.3


def test_rescale_brings_features_to_unit_range(digits):
    images, labels = digits
    assert rescale(images.astype(np.float32)).max() == pytest.approx(1.0)
    binary = (images > 127).astype(np.uint8)
    assert rescale(binary).max() == 255 and rescale(binary).dtype == np.uint8
    assert read_data(rescale(binary), labels).feature_rms > 1 / 30


def test_balance_oversamples_every_class_to_the_largest(digits):
    images, labels = digits
    keep = (labels == 0) | (np.arange(len(labels)) % 10 == 0)
    x, y = balance(images[keep], labels[keep])
    counts = np.bincount(y)
    assert counts.min() == counts.max() == np.bincount(labels[keep]).max()
    assert x.shape[0] == y.shape[0]


def test_clean_labels_drops_the_disagreeing_ones(digits):
    images, labels = digits
    noisy = labels.copy()
    noisy[:60] = (labels[:60] + 1) % 3
    x, y = clean_labels(images, noisy)
    assert len(y) < len(noisy) - 40 and len(y) > 450  # the flipped labels go, the rest stay
    assert x.shape[0] == y.shape[0]
    data = apply_data_fix("clean-labels", ((images, noisy), (images[:5], labels[:5])))
    assert data[1][0].shape[0] == 5  # the test set is never touched
    with pytest.raises(ValueError, match="data fix must be one of"):
        apply_data_fix("shuffle", data)
