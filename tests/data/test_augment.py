"""Tests for scratchnet.data.augment: exact warps on known patterns, then the random Augmenter."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.data.augment import (
    Augmenter,
    affine_matrices,
    augment_batch,
    elastic_field,
    gaussian_blur_matrix,
    warp,
)

IDENTITY = {"max_shift": 0.0, "max_rotation": 0.0, "scale_range": (1.0, 1.0)}


def digits(n: int, seed: int = 0, dtype=np.float32) -> np.ndarray:
    """(n, 784) digit-like images: a thick, randomly placed ring of ink near the centre."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.empty((n, 28, 28), dtype=dtype)
    for i in range(n):
        cy, cx = 13.5 + rng.uniform(-2, 2, 2)
        radius = np.hypot(rows - cy, cols - cx)
        images[i] = np.clip(3.0 - np.abs(radius - 6.0), 0.0, 1.0)
    return images.reshape(n, 784)


def asymmetric_pattern() -> np.ndarray:
    """A 28x28 'F': no rotation or flip maps it onto itself."""
    image = np.zeros((28, 28))
    image[6:22, 8:11] = 1.0  # the stem
    image[6:9, 8:20] = 0.8  # the top bar
    image[12:15, 8:16] = 0.5  # the middle bar
    return image


# --- warp: explicit matrices and fields ------------------------------------------------------


def test_integer_shift_moves_a_pixel_exactly():
    x = np.zeros((2, 28, 28), dtype=np.float32)
    x[:, 5, 3] = 1.0
    shifted = warp(x, affine_matrices(shift=[[2.0, 0.0], [0.0, -3.0]]))
    assert np.argwhere(shifted[0]).tolist() == [[5, 5]]  # 2 columns right
    assert np.argwhere(shifted[1]).tolist() == [[2, 3]]  # 3 rows up
    assert shifted[0, 5, 5] == 1.0 and shifted[1, 2, 3] == 1.0


def test_half_pixel_shift_interpolates_bilinearly():
    x = np.zeros((1, 784))
    x[0, 5 * 28 + 3] = 1.0
    out = warp(x, [[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]).reshape(28, 28)
    np.testing.assert_allclose(out[5, 3:5], [0.5, 0.5])
    assert out.sum() == pytest.approx(1.0)


def test_rotation_by_90_degrees_is_counterclockwise_like_rot90():
    image = asymmetric_pattern()
    x = np.stack([image, image])
    out = warp(x, affine_matrices([90.0, -90.0]))
    np.testing.assert_allclose(out[0], np.rot90(image), atol=1e-9)
    np.testing.assert_allclose(out[1], np.rot90(image, -1), atol=1e-9)
    assert not np.allclose(out[0], out[1])


def test_scaling_is_about_the_centre():
    x = np.zeros((1, 5, 5))
    x[0, 2, 3] = 1.0  # one pixel right of the centre (2, 2)
    out = warp(x, affine_matrices(scale=2.0, image_shape=(5, 5)))
    assert out[0, 2, 4] == pytest.approx(1.0)  # now two pixels right
    assert out[0, 2, 2] == 0.0


def test_flip_mirrors_left_right_like_fliplr():
    image = asymmetric_pattern()
    x = np.stack([image, image])
    out = warp(x, affine_matrices(flip=[True, False]))
    np.testing.assert_allclose(out[0], np.fliplr(image), atol=1e-9)
    np.testing.assert_allclose(out[1], image, atol=1e-9)


def test_flip_comes_before_the_rotation():
    image = asymmetric_pattern()
    out = warp(image[None], affine_matrices(90.0, flip=True))
    np.testing.assert_allclose(out[0], np.rot90(np.fliplr(image)), atol=1e-9)


def test_augmenter_flips_about_half_the_images_and_nothing_else():
    image = asymmetric_pattern()
    x = np.repeat(image[None], 400, axis=0)
    out = Augmenter(**IDENTITY, flip=True, seed=0)(x)
    mirrored = np.all(np.isclose(out, np.fliplr(image), atol=1e-6), axis=(1, 2))
    kept = np.all(np.isclose(out, image, atol=1e-6), axis=(1, 2))
    assert np.all(mirrored ^ kept)
    assert 160 < mirrored.sum() < 240


def test_flip_off_draws_the_same_warps_as_before():
    # Without flip no extra numbers are drawn, so earlier seeds give the same warps.
    x = digits(16)
    plain = Augmenter(seed=3)(x)
    also_plain = Augmenter(flip=False, seed=3)(x)
    np.testing.assert_array_equal(plain, also_plain)
    assert not np.array_equal(plain, Augmenter(flip=True, seed=3)(x))


def test_samples_outside_the_image_are_background():
    x = np.ones((1, 784), dtype=np.float32)
    assert not warp(x, affine_matrices(shift=(30.0, 0.0))).any()
    half = warp(x, affine_matrices(shift=(14.0, 0.0))).reshape(28, 28)
    assert not half[:, :14].any() and (half[:, 14:] == 1.0).all()


def test_warp_of_a_batch_matches_warping_each_image_alone():
    x = digits(5, dtype=np.float64)
    rng = np.random.default_rng(1)
    matrices = affine_matrices(
        rng.uniform(-30, 30, 5), rng.uniform(0.8, 1.2, 5), rng.normal(size=(5, 2))
    )
    field = rng.normal(size=(5, 2, 28, 28))
    together = warp(x, matrices, field)
    for i in range(5):
        np.testing.assert_array_equal(
            together[i], warp(x[i : i + 1], matrices[i], field[i : i + 1])[0]
        )


def test_displacement_adds_to_the_sampling_point():
    x = np.zeros((1, 28, 28))
    x[0, 10, 10] = 1.0
    field = np.zeros((1, 2, 28, 28))
    field[0, 0] = -1.0  # every output pixel samples one column to its left: a shift right
    field[0, 1] = 2.0  # and two rows below: a shift up
    out = warp(x, affine_matrices(), field)
    assert np.argwhere(out[0]).tolist() == [[8, 11]]


def test_warp_rejects_bad_matrices_and_fields():
    x = np.zeros((2, 784))
    with pytest.raises(ValueError, match="matrices must have shape"):
        warp(x, np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="invertible"):
        warp(x, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="matrices contain NaN"):
        warp(x, [[np.nan, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="displacement must have shape"):
        warp(x, affine_matrices(), np.zeros((2, 2, 28, 27)))
    with pytest.raises(ValueError, match="x must have shape"):
        warp(np.zeros((2, 783)), affine_matrices())


# --- building blocks -------------------------------------------------------------------------


def test_blur_matrix_is_a_normalised_symmetric_gaussian():
    blur = gaussian_blur_matrix(28, 2.0)
    np.testing.assert_allclose(blur, blur.T)
    assert blur[14].sum() == pytest.approx(1.0)  # far enough from the edges: nothing cut
    assert blur[0].sum() < 0.7  # beyond the edge counts as zero
    assert blur[14, 14] == pytest.approx(blur.max())
    assert blur[14, 15] / blur[14, 14] == pytest.approx(np.exp(-1 / 8))
    with pytest.raises(ValueError, match="sigma must be"):
        gaussian_blur_matrix(28, 0.0)


def test_elastic_field_is_smooth_seeded_and_linear_in_alpha():
    def field(alpha, seed=0):
        rng = np.random.default_rng(seed)
        return elastic_field(8, alpha=alpha, sigma=4.0, rng=rng, dtype=np.float64)

    one = field(1.0)
    assert one.shape == (8, 2, 28, 28) and one.dtype == np.float64
    np.testing.assert_allclose(field(34.0), 34.0 * one, rtol=1e-12, atol=1e-14)
    assert not np.allclose(field(1.0, seed=1), one)
    # Smooth: neighbours differ far less than the field itself varies.
    step = np.abs(np.diff(one, axis=-1)).mean()
    assert step < 0.2 * np.abs(one).mean()


# --- Augmenter -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 784), (6, 28, 28)])
def test_identity_parameters_return_the_input(dtype, shape):
    x = np.random.default_rng(0).random(shape).astype(dtype)
    out = Augmenter(**IDENTITY, seed=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype and out is not x
    np.testing.assert_allclose(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 784), (16, 28, 28)])
def test_output_shape_dtype_range_and_input_untouched(dtype, shape):
    x = digits(16).reshape(shape).astype(dtype)
    before = x.copy()
    augmenter = Augmenter(max_shift=3.0, max_rotation=20.0, elastic_alpha=34.0, seed=0)
    out = augmenter(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(x, before)
    assert not np.allclose(out, x)


def test_flat_and_square_inputs_get_the_same_warps():
    x = digits(4)
    flat = Augmenter(elastic_alpha=34.0, seed=3)(x)
    square = Augmenter(elastic_alpha=34.0, seed=3)(x.reshape(4, 28, 28))
    np.testing.assert_array_equal(flat, square.reshape(4, 784))


def test_same_seed_same_output_different_seed_different_output():
    x = digits(8)
    first = Augmenter(elastic_alpha=34.0, seed=7)(x)
    again = Augmenter(elastic_alpha=34.0, rng=np.random.default_rng(7))(x)
    other = Augmenter(elastic_alpha=34.0, seed=8)(x)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_successive_batches_get_new_warps():
    augmenter = Augmenter(seed=0)
    x = digits(4)
    assert not np.allclose(augmenter(x), augmenter(x))


@pytest.mark.parametrize("elastic_alpha", [0.0, 34.0])
def test_each_image_in_a_batch_gets_its_own_warp(elastic_alpha):
    image = digits(1)
    out = Augmenter(elastic_alpha=elastic_alpha, seed=0)(np.repeat(image, 2, axis=0))
    assert np.abs(out[0] - out[1]).max() > 0.1


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) -> (n, 2) ink-weighted mean (row, column)."""
    rows, cols = np.mgrid[0:28, 0:28]
    mass = images.sum(axis=(1, 2))
    return (
        np.stack([(images * rows).sum(axis=(1, 2)), (images * cols).sum(axis=(1, 2))], 1)
        / mass[:, None]
    )


def test_elastic_distortion_keeps_mass_and_centre():
    x = digits(32, dtype=np.float64).reshape(32, 28, 28)
    out = Augmenter(**IDENTITY, elastic_alpha=10.0, elastic_sigma=4.0, seed=0)(x)
    assert np.abs(out - x).max(axis=(1, 2)).min() > 0.1  # every image changed
    np.testing.assert_allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)), rtol=0.10)
    assert np.abs(centre_of_mass(out) - centre_of_mass(x)).max() < 2.0


def test_simard_elastic_setting_keeps_mass_and_centre_on_average():
    # alpha=34, sigma=4 stretches or squeezes single images by up to ~30% of their ink, but
    # the field has mean zero: on average nothing is gained, lost or moved.
    x = digits(64, dtype=np.float64).reshape(64, 28, 28)
    out = Augmenter(**IDENTITY, elastic_alpha=34.0, elastic_sigma=4.0, seed=0)(x)
    ratio = out.sum(axis=(1, 2)) / x.sum(axis=(1, 2))
    assert abs(ratio.mean() - 1.0) < 0.03 and ratio.std() > 0.03
    moved = np.linalg.norm(centre_of_mass(out) - centre_of_mass(x), axis=1)
    assert np.median(moved) < 2.0


def test_default_warps_are_moderate():
    # Shifts of 2 px, 10 degrees and +-10% keep the ink mostly where it was.
    x = digits(64)
    out = Augmenter(seed=0)(x)
    overlap = (out * x).sum(axis=1) / np.sqrt((out**2).sum(axis=1) * (x**2).sum(axis=1))
    assert overlap.min() > 0.2 and overlap.mean() < 0.99


def test_reused_buffers_never_leak_between_calls():
    # The augmenter keeps scratch buffers between calls: results must not share or reuse them.
    augmenter = Augmenter(**IDENTITY, elastic_alpha=0.0, seed=0)
    rng = np.random.default_rng(0)
    big, small, other = rng.random((8, 784)), rng.random((3, 784)), rng.random((8, 28, 28))
    first = augmenter(big)
    np.testing.assert_array_equal(augmenter(small), small)  # a smaller last batch
    np.testing.assert_array_equal(augmenter(other), other)
    np.testing.assert_array_equal(augmenter(big.astype(np.float32)), big.astype(np.float32))
    np.testing.assert_array_equal(first, big)  # the first result was not overwritten
    assert augmenter(big) is not augmenter(big)


def test_huge_batches_are_not_kept_around():
    augmenter = Augmenter(seed=0)
    augmenter(np.zeros((1025, 784)))
    assert augmenter._work is None
    augmenter(np.zeros((4, 784)))
    assert augmenter._work is not None and augmenter._work.capacity == 4


def test_augment_batch_matches_an_augmenter_with_the_same_generator():
    x = digits(4)
    kwargs = {"max_rotation": 15.0, "elastic_alpha": 20.0}
    out = augment_batch(x, np.random.default_rng(5), **kwargs)
    np.testing.assert_array_equal(out, Augmenter(**kwargs, seed=5)(x))


def test_config_round_trip_and_repr():
    augmenter = Augmenter(max_shift=1.5, scale_range=(0.8, 1.2), elastic_alpha=34.0, seed=0)
    config = augmenter.get_config()
    assert config["max_shift"] == 1.5 and config["scale_range"] == (0.8, 1.2)
    assert Augmenter(**config, seed=0).get_config() == config
    assert repr(augmenter).startswith("Augmenter(image_shape=(28, 28), max_shift=1.5")
    assert "elastic_alpha=34.0" in repr(augmenter)


def test_other_image_shapes():
    x = np.random.default_rng(0).random((3, 20 * 12))
    out = Augmenter(image_shape=(20, 12), elastic_alpha=10.0, seed=0)(x)
    assert out.shape == (3, 240)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 240\)"):
        Augmenter(image_shape=(20, 12), seed=0)(np.zeros((3, 784)))


def test_empty_batch():
    out = Augmenter(seed=0)(np.zeros((0, 784), dtype=np.float32))
    assert out.shape == (0, 784) and out.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_shift": -1.0}, "max_shift"),
        ({"max_shift": float("nan")}, "max_shift"),
        ({"max_rotation": -5.0}, "max_rotation"),
        ({"max_rotation": 200.0}, "max_rotation"),
        ({"scale_range": (1.1, 0.9)}, "scale_range"),
        ({"scale_range": (0.0, 1.0)}, "scale_range"),
        ({"scale_range": (-1.0, 1.0)}, "scale_range"),
        ({"scale_range": 1.0}, "scale_range"),
        ({"elastic_alpha": -1.0}, "elastic_alpha"),
        ({"elastic_sigma": 0.0}, "elastic_sigma"),
        ({"elastic_sigma": -2.0}, "elastic_sigma"),
        ({"image_shape": (28, 0)}, "image_shape"),
        ({"image_shape": 784}, "image_shape"),
        ({"rng": 0}, "rng"),
        ({"flip": "yes"}, "flip"),
        ({"flip": 1}, "flip"),
    ],
)
def test_invalid_arguments_are_named(kwargs, name):
    kwargs.setdefault("seed", 0)
    with pytest.raises(ValueError, match=f"{name} must be .*received {name}="):
        Augmenter(**kwargs)


def test_a_generator_is_required():
    with pytest.raises(ValueError, match="rng=np.random.default_rng"):
        Augmenter()


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((4, 783), dtype=np.float32), r"x must have shape \(batch, 784\).*\(4, 783\)"),
        (np.zeros((4, 28, 27), dtype=np.float32), "x must have shape"),
        (np.zeros(784, dtype=np.float32), "x must have shape"),
        (np.zeros((4, 784), dtype=np.uint8), "float32 or float64"),
    ],
)
def test_invalid_inputs(x, message):
    with pytest.raises(ValueError, match=message):
        Augmenter(seed=0)(x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected(bad):
    x = digits(2)
    x[1, 300] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        Augmenter(seed=0)(x)
