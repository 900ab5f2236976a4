"""images_to_features (uint8 images -> float features in [0, 1]) and validation_split."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.data.features import images_to_features, validation_split


def _images(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uint8_images_become_scaled_flat_features(dtype):
    images = _images()
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    features = images_to_features(images, dtype)
    assert features.shape == (5, 784)
    assert features.dtype == dtype
    assert features.flags.c_contiguous
    assert features.min() >= 0.0 and features.max() <= 1.0
    assert features[0, 0] == 0.0 and features[0, 1] == 1.0
    np.testing.assert_allclose(features, images.reshape(5, 784) / 255.0, rtol=1e-6)
    # Row-major flattening: pixel (r, c) is feature 28 r + c.
    assert features[2, 28 * 3 + 7] == pytest.approx(images[2, 3, 7] / 255, rel=1e-6)


def test_default_dtype_is_float32():
    assert images_to_features(_images()).dtype == np.float32


def test_images_are_not_modified():
    images = _images()
    before = images.copy()
    images_to_features(images)
    np.testing.assert_array_equal(images, before)


def test_already_flat_images_are_accepted():
    flat = _images().reshape(5, 784)
    np.testing.assert_array_equal(images_to_features(flat), images_to_features(_images()))


def test_float_images_are_only_reshaped_and_cast():
    images = np.random.default_rng(1).uniform(0, 1, (3, 28, 28))
    features = images_to_features(images, np.float64)
    np.testing.assert_array_equal(features, images.reshape(3, 784))
    features32 = images_to_features(images)
    assert features32.dtype == np.float32
    assert not np.shares_memory(features32, images)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_images_are_rejected(bad):
    images = np.zeros((2, 28, 28))
    images[1, 5, 5] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        images_to_features(images)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros(784, np.uint8), "expected images of shape"),
        (np.array(3), "expected images of shape"),
        (np.zeros((2, 28, 28), dtype=bool), "integer or float images"),
        (np.array([["a"] * 4]), "integer or float images"),
    ],
)
def test_bad_images_are_rejected(images, match):
    with pytest.raises(ValueError, match=match):
        images_to_features(images)


# -- validation_split --------------------------------------------------------------------------


def _set(n=50):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    labels = np.arange(n) % 10
    return x, labels


@pytest.mark.parametrize("size", [0, 1, 10, 49])
def test_validation_split_sizes_disjoint_and_complete(size):
    x, labels = _set()
    (x_train, y_train), (x_val, y_val) = validation_split(
        x, labels, size, rng=np.random.default_rng(0)
    )
    assert x_val.shape == (size, 2) and y_val.shape == (size,)
    assert x_train.shape == (50 - size, 2) and y_train.shape == (50 - size,)
    train_ids = x_train[:, 0] // 2
    val_ids = x_val[:, 0] // 2
    assert set(train_ids).isdisjoint(val_ids)
    np.testing.assert_array_equal(np.sort(np.concatenate([train_ids, val_ids])), np.arange(50))
    # Labels travel with their rows.
    np.testing.assert_array_equal(y_train, train_ids.astype(int) % 10)
    np.testing.assert_array_equal(y_val, val_ids.astype(int) % 10)
    # Each part keeps the original order.
    assert list(train_ids) == sorted(train_ids) and list(val_ids) == sorted(val_ids)


def test_validation_split_is_random_but_seeded():
    x, labels = _set()
    split = [validation_split(x, labels, 10, rng=np.random.default_rng(s))[1][0] for s in (0, 0, 1)]
    np.testing.assert_array_equal(split[0], split[1])
    assert not np.array_equal(split[0], split[2])
    assert not np.array_equal(split[0], x[:10])  # not simply the first rows


@pytest.mark.parametrize("size", [-1, 50, 51, 2.5, True, "10"])
def test_validation_split_rejects_bad_sizes(size):
    x, labels = _set()
    with pytest.raises(ValueError, match=r"validation size must be an integer in \[0, 50\)"):
        validation_split(x, labels, size, rng=np.random.default_rng(0))


def test_validation_split_rejects_mismatched_lengths():
    x, labels = _set()
    with pytest.raises(ValueError, match="same length"):
        validation_split(x, labels[:-1], 5, rng=np.random.default_rng(0))
