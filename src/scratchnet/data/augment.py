"""Data augmentation for MNIST-style images: random shifts, rotations, scalings and elastic
distortions (Simard, Steinkraus and Platt 2003), applied to a whole batch at once.

Each image gets one affine warp composed with an optional elastic displacement field, sampled
in a single bilinear pass (no Python loop over images, no SciPy). The background is taken to be
0, so augment raw [0, 1] pixels, before any standardisation. Labels are never touched.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# Coordinates: x is the column (pointing right), y the row (pointing down), pixel centres at
# integers; the image centre is ((w - 1) / 2, (h - 1) / 2). A positive rotation turns the
# picture counterclockwise as displayed, like np.rot90 and scipy.ndimage.rotate.

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Flat gather indices are built in the coordinate dtype; float32 holds integers exactly below 2**24.
_FLOAT32_EXACT = 2**24


# ---------------------------------------------------------------------------------------------
# Validation


def _number(name: str, value: object, *, low: float = 0.0, strict: bool = False) -> float:
    """`value` as a finite float >= low (> low when strict), or a ValueError naming it."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}; received {name}={value!r}")
    return value


def _image_shape(image_shape: object) -> tuple[int, int]:
    try:
        height, width = image_shape  # type: ignore[misc]
        ok = all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1
            for v in (height, width)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "image_shape must be a pair of positive integers (height, width); "
            f"received image_shape={image_shape!r}"
        )
    return int(height), int(width)


def _scale_range(scale_range: object) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in scale_range)  # type: ignore[union-attr]
        ok = math.isfinite(low) and math.isfinite(high) and 0 < low <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "scale_range must be a pair (low, high) with 0 < low <= high; "
            f"received scale_range={scale_range!r}"
        )
    return low, high


def _check_images(
    x: object, image_shape: tuple[int, int] | None
) -> tuple[np.ndarray, tuple[int, int], float, float]:
    """x as an array of (batch, h*w) or (batch, h, w) finite floats, (h, w), its min and max.

    With image_shape None a 2-D x must hold square images (h = w = sqrt(features)).
    """
    x = np.asarray(x)
    if x.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"x must hold float32 or float64 images; received dtype {x.dtype}")
    if image_shape is None:
        if x.ndim == 3:
            image_shape = x.shape[1:]
        elif x.ndim == 2 and math.isqrt(x.shape[1]) ** 2 == x.shape[1] and x.shape[1] > 0:
            image_shape = (math.isqrt(x.shape[1]),) * 2
    if image_shape is None or x.shape[1:] not in (tuple(image_shape), (math.prod(image_shape),)):
        expected = "(batch, h*w) or (batch, h, w)"
        if image_shape is not None:
            h, w = image_shape
            expected = f"(batch, {h * w}) or (batch, {h}, {w})"
        raise ValueError(f"x must have shape {expected}; received x.shape={x.shape}")
    height, width = image_shape
    if x.shape[0] == 0:
        return x, (height, width), 0.0, 0.0
    # min and max propagate NaN and reach +-inf: two cheap reductions check every value.
    low, high = float(x.min()), float(x.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("x contains NaN or infinite values")
    return x, (height, width), low, high


# ---------------------------------------------------------------------------------------------
# Precomputed, read-only pieces shared by every call


@functools.lru_cache(maxsize=16)
def _base_grid(height: int, width: int, dtype: np.dtype) -> np.ndarray:
    """Homogeneous output-pixel coordinates [x; y; 1]: (3, h*w)."""
    y, x = np.mgrid[0:height, 0:width]
    grid = np.stack([x.ravel(), y.ravel(), np.ones(height * width)]).astype(dtype)
    grid.flags.writeable = False
    return grid


@functools.lru_cache(maxsize=16)
def _cached_blur_matrix(size: int, sigma: float, dtype: np.dtype) -> np.ndarray:
    blur = gaussian_blur_matrix(size, sigma).astype(dtype)
    blur.flags.writeable = False
    return blur


def gaussian_blur_matrix(size: int, sigma: float) -> np.ndarray:
    """G with (G @ v)[i] = sum_j k(i - j) v[j], k a unit-sum Gaussian of std sigma.

    size -> (size, size) float64. The kernel is cut at 4 sigma and values beyond the edges
    count as 0 (scipy.ndimage.gaussian_filter with mode='constant'); blur an image with
    G_h @ image @ G_w.T.
    """
    sigma = _number("sigma", sigma, strict=True)
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    distance = np.arange(size)[:, None] - np.arange(size)[None, :]
    return np.where(
        np.abs(distance) <= radius, kernel[np.clip(distance + radius, 0, 2 * radius)], 0.0
    )


# ---------------------------------------------------------------------------------------------
# Building blocks: matrices, fields, one resampling


def affine_matrices(
    rotation: Any = 0.0,
    scale: Any = 1.0,
    shift: Any = (0.0, 0.0),
    *,
    flip: Any = False,
    image_shape: Sequence[int] = (28, 28),
) -> np.ndarray:
    """Forward maps p_out = c + shift + scale * R(rotation) M (p_in - c), c the image centre,
    M = diag(-1, 1) (a left-right mirror) where flip is true, else the identity.

    rotation (degrees, counterclockwise as displayed), scale, flip: (batch,) or scalars; shift:
    (batch, 2) or (2,) as (dx right, dy down) pixels -> (batch, 2, 3) float64 matrices [L | t]
    acting on (x, y, 1), ready for warp(); (2, 3) when every argument is a scalar.
    """
    height, width = _image_shape(image_shape)
    rotation = np.asarray(rotation, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    shift = np.asarray(shift, dtype=np.float64)
    mirror = np.where(np.asarray(flip, dtype=bool), -1.0, 1.0)
    if shift.shape[-1:] != (2,):
        raise ValueError(f"shift must have shape (batch, 2) or (2,); received {shift.shape}")
    batch = np.broadcast_shapes(rotation.shape, scale.shape, shift.shape[:-1], mirror.shape)
    theta = np.deg2rad(rotation)
    cos, sin = scale * np.cos(theta), scale * np.sin(theta)
    # y points down, so [[cos, sin], [-sin, cos]] turns the picture counterclockwise.
    linear = np.empty((*batch, 2, 2))
    # The mirror acts first, on x: it negates the first column of the rotation.
    linear[..., 0, 0], linear[..., 0, 1] = cos * mirror, sin
    linear[..., 1, 0], linear[..., 1, 1] = -sin * mirror, cos
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    matrices = np.empty((*batch, 2, 3))
    matrices[..., :2] = linear
    matrices[..., 2] = centre + shift - linear @ centre
    return matrices


def _invert(matrices: np.ndarray) -> np.ndarray:
    """Inverse affine maps: [L | t] -> [L^-1 | -L^-1 t], (batch, 2, 3) -> (batch, 2, 3)."""
    a, b = matrices[:, 0, 0], matrices[:, 0, 1]
    c, d = matrices[:, 1, 0], matrices[:, 1, 1]
    det = a * d - b * c
    inverse = np.empty_like(matrices)
    inverse[:, 0, 0], inverse[:, 0, 1] = d / det, -b / det
    inverse[:, 1, 0], inverse[:, 1, 1] = -c / det, a / det
    inverse[:, :, 2] = -np.einsum("bij,bj->bi", inverse[:, :, :2], matrices[:, :, 2])
    return inverse


def elastic_field(
    batch: int,
    *,
    image_shape: Sequence[int] = (28, 28),
    alpha: float,
    sigma: float,
    rng: np.random.Generator,
    dtype: Any = np.float32,
) -> np.ndarray:
    """d = alpha * G_h U G_w^T per image and component, U uniform in [-1, 1] (Simard et al.).

    -> (batch, 2, h, w) displacements in pixels, [:, 0] along x (columns), [:, 1] along y (rows).
    """
    height, width = _image_shape(image_shape)
    alpha = _number("elastic_alpha", alpha)
    sigma = _number("elastic_sigma", sigma, strict=True)
    work = _Workspace(batch, height, width, np.dtype(dtype))
    return _elastic_field(work, batch, alpha, sigma, rng).reshape(batch, 2, height, width)


class _Workspace:
    """Scratch arrays for up to `capacity` images, reused from call to call.

    Freeing a few megabytes of temporaries after every batch lets the allocator hand them back
    to the system, and the next batch then pays a page fault per 4 KiB: that doubled the cost
    of a warp. Slices [:batch] of these C-contiguous buffers are contiguous too.
    """

    def __init__(self, capacity: int, height: int, width: int, dtype: np.dtype) -> None:
        size = height * width
        self.capacity, self.height, self.width, self.dtype = capacity, height, width, dtype
        self.coord_dtype = (
            dtype if capacity * (height + 2) * (width + 2) < _FLOAT32_EXACT else np.dtype("f8")
        )
        self.coords = np.empty((capacity, 2, size), dtype=self.coord_dtype)
        self.corner = np.empty((capacity, 2, size), dtype=self.coord_dtype)
        self.index = np.empty((capacity, size), dtype=np.intp)
        self.index_next = np.empty((capacity, size), dtype=np.intp)
        self.values = np.empty((3, capacity, size), dtype=dtype)
        # The border stays 0 for ever: only the interior is written.
        self.padded = np.zeros((capacity, height + 2, width + 2), dtype=dtype)
        self.noise = np.empty((capacity, 2, size), dtype=dtype)
        self.blurred = np.empty((capacity, 2, size), dtype=dtype)

    def fits(self, batch: int, height: int, width: int, dtype: np.dtype) -> bool:
        return (
            batch <= self.capacity
            and (height, width) == (self.height, self.width)
            and dtype == self.dtype
        )


# A workspace is kept between calls only up to this many images (about 5 MB at 28x28).
_KEEP_WORKSPACE = 1024


def _elastic_field(
    work: _Workspace, batch: int, alpha: float, sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """alpha * G_h U G_w^T for 2 * batch fields U ~ U[-1, 1]^(h, w) -> (batch, 2, h*w)."""
    height, width, dtype = work.height, work.width, work.dtype
    blur_h = _cached_blur_matrix(height, sigma, dtype)
    blur_w = _cached_blur_matrix(width, sigma, dtype)
    noise, blurred = work.noise[:batch], work.blurred[:batch]
    # The noise is i.i.d., so drawing it as (w, h) and reading it transposed is just as random:
    # both blurs become one flat GEMM each, with a single transposing copy between them.
    rng.random(dtype=dtype, out=noise.reshape(-1))
    noise *= 2 * alpha
    noise -= alpha
    np.matmul(noise.reshape(-1, height), blur_h.T, out=blurred.reshape(-1, height))
    # blurred[k] is (U_k G_h^T) as (w, h); its transpose G_h U_k^T is a row-blurred (h, w) field.
    transposed = noise.reshape(2 * batch, height, width)
    np.copyto(transposed, blurred.reshape(2 * batch, width, height).transpose(0, 2, 1))
    np.matmul(transposed.reshape(-1, width), blur_w.T, out=blurred.reshape(-1, width))
    return blurred


def _resample(
    work: _Workspace,
    images: np.ndarray,
    inverse: np.ndarray,
    displacement: np.ndarray | None,
    low: float,
    high: float,
) -> np.ndarray:
    """out[b, p] = bilinear(images[b], L_b^-1 p + t_b + displacement[b, :, p]), 0 outside.

    images: (batch, h, w); inverse: (batch, 2, 3); displacement: (batch, 2, h*w) or None
    -> a new (batch, h*w) array in images' dtype, clipped to [min(0, low), max(0, high)].
    """
    batch, height, width = images.shape
    padded_w = width + 2
    dtype, coord_dtype = images.dtype, work.coord_dtype

    coords = work.coords[:batch]
    # coords = inverse @ [x; y; 1] per image, written out: a GEMM with an inner size of 3 gains
    # little, and a threaded BLAS call stalls for a whole time slice on a busy machine.
    columns, rows, _ = _base_grid(height, width, coord_dtype)
    matrices = inverse.reshape(2 * batch, 3, 1).astype(coord_dtype)
    flat_coords, scratch = coords.reshape(2 * batch, -1), work.corner[:batch].reshape(2 * batch, -1)
    np.multiply(matrices[:, 0], columns, out=flat_coords)
    np.multiply(matrices[:, 1], rows, out=scratch)
    flat_coords += scratch
    flat_coords += matrices[:, 2]
    if displacement is not None:
        coords += displacement
    x, y = coords[:, 0], coords[:, 1]
    # Beyond one pixel outside, every sample is background: clipping there keeps the corners'
    # indices inside a one-pixel zero border; floor is capped so x = w reads the border at x0 + 1.
    np.clip(x, -1, width, out=x)
    np.clip(y, -1, height, out=y)
    corner = work.corner[:batch]
    np.floor(coords, out=corner)
    x0, y0 = corner[:, 0], corner[:, 1]
    np.minimum(x0, width - 1, out=x0)
    np.minimum(y0, height - 1, out=y0)
    coords -= corner  # now the fractional parts
    # Flat index of the top-left corner in the padded batch (+1 row, +1 column for the border).
    offsets = np.arange(batch, dtype=coord_dtype) * ((height + 2) * padded_w) + (padded_w + 1)
    y0 *= padded_w
    y0 += x0
    y0 += offsets[:, None]
    index, index_next = work.index[:batch], work.index_next[:batch]
    np.copyto(index, y0, casting="unsafe")

    padded = work.padded[:batch]
    padded[:, 1:-1, 1:-1] = images
    flat = padded.reshape(-1)
    out = np.empty((batch, height * width), dtype=dtype)
    top_right, bottom_left, bottom_right = work.values[:, :batch]
    flat.take(index, out=out)
    np.add(index, 1, out=index_next)
    flat.take(index_next, out=top_right)
    index += padded_w
    index_next += padded_w
    flat.take(index, out=bottom_left)
    flat.take(index_next, out=bottom_right)

    fx, fy = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    top_right -= out
    top_right *= fx
    out += top_right  # the top edge, interpolated along x
    bottom_right -= bottom_left
    bottom_right *= fx
    bottom_left += bottom_right
    bottom_left -= out
    bottom_left *= fy
    out += bottom_left
    # A convex combination stays in range; the clip only removes last-bit rounding.
    np.clip(out, min(low, 0.0), max(high, 0.0), out=out)
    return out


def warp(
    x: np.ndarray,
    matrices: np.ndarray,
    displacement: np.ndarray | None = None,
    *,
    image_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """out_b(p) = bilinear(x_b, A_b^-1 p + displacement_b(p)), 0 outside the image.

    x: (batch, h*w) or (batch, h, w) floats; matrices: (batch, 2, 3) or (2, 3) forward affine
    maps [L | t] from input to output (x, y) pixel coordinates (see affine_matrices);
    displacement: (batch, 2, h, w) pixels added to the sampling point ([:, 0] x, [:, 1] y)
    -> same shape and dtype as x, a new array.

    image_shape is needed only for flattened, non-square images.
    """
    shape = None if image_shape is None else _image_shape(image_shape)
    x, (height, width), low, high = _check_images(x, shape)
    batch = x.shape[0]
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.shape == (2, 3):
        matrices = np.broadcast_to(matrices, (batch, 2, 3))
    if matrices.shape != (batch, 2, 3):
        raise ValueError(
            f"matrices must have shape ({batch}, 2, 3) or (2, 3); received {matrices.shape}"
        )
    if not np.isfinite(matrices).all():
        raise ValueError("matrices contain NaN or infinite values")
    det = matrices[:, 0, 0] * matrices[:, 1, 1] - matrices[:, 0, 1] * matrices[:, 1, 0]
    if batch and np.abs(det).min() < 1e-12:
        raise ValueError("matrices must be invertible; received one with determinant ~0")
    flat_displacement = None
    if displacement is not None:
        displacement = np.asarray(displacement)
        if displacement.shape != (batch, 2, height, width):
            raise ValueError(
                f"displacement must have shape ({batch}, 2, {height}, {width}); "
                f"received {displacement.shape}"
            )
        if not np.isfinite(displacement).all():
            raise ValueError("displacement contains NaN or infinite values")
        flat_displacement = displacement.reshape(batch, 2, height * width)
    if batch == 0:
        return x.copy()
    work = _Workspace(batch, height, width, x.dtype)
    images = x.reshape(batch, height, width)
    out = _resample(work, images, _invert(matrices), flat_displacement, low, high)
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# The augmenter


class Augmenter:
    """out_b(p) = bilinear(x_b, A_b^-1 p + d_b(p)): a random affine A_b and elastic field d_b each.

    x: (batch, h*w) or (batch, h, w) float32/float64 in [0, 1] -> a new array, same shape and dtype.
    Per image: shift uniform in [-max_shift, max_shift] pixels along x and y, rotation uniform in
    [-max_rotation, max_rotation] degrees, scale uniform in scale_range, all about the image centre;
    then, if elastic_alpha > 0, an elastic field alpha * Gaussian_sigma * U[-1, 1] (Simard et al.
    2003; alpha=34, sigma=4 is their MNIST setting) added to the sampling points. Outside is 0.
    The elastic field has mean zero, but at alpha=34, sigma=4 it stretches or squeezes single
    images by up to ~30% of their ink; alpha around 10 keeps that within ~10%. With
    flip=True, each image is first mirrored left-right with probability 1/2 (for clothes, say,
    which look the same mirrored; digits do not).
    Scratch buffers are reused from call to call (results are always new arrays), so an
    Augmenter is not thread-safe: give each thread its own.

    Parameters
    ----------
    image_shape : (height, width), default (28, 28)
    max_shift : float >= 0, default 2.0 (pixels)
    max_rotation : float in [0, 180], default 10.0 (degrees)
    scale_range : (low, high) with 0 < low <= high, default (0.9, 1.1)
    elastic_alpha : float >= 0, default 0.0 (0 turns the elastic distortion off)
    elastic_sigma : float > 0, default 4.0 (pixels; the smoothness of the elastic field)
    flip : bool, default False (mirror half of the images left-right)
    rng : np.random.Generator
        The source of the random warps. Required unless `seed` is given.
    seed : int, optional
        Shorthand for rng=np.random.default_rng(seed).
    """

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (28, 28),
        max_shift: float = 2.0,
        max_rotation: float = 10.0,
        scale_range: Sequence[float] = (0.9, 1.1),
        elastic_alpha: float = 0.0,
        elastic_sigma: float = 4.0,
        flip: bool = False,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        self.image_shape = _image_shape(image_shape)
        if not isinstance(flip, bool | np.bool_):
            raise ValueError(f"flip must be True or False; received flip={flip!r}")
        self.flip = bool(flip)
        self.max_shift = _number("max_shift", max_shift)
        self.max_rotation = _number("max_rotation", max_rotation)
        if self.max_rotation > 180:
            raise ValueError(
                "max_rotation must be a number in [0, 180] degrees; "
                f"received max_rotation={max_rotation!r}"
            )
        self.scale_range = _scale_range(scale_range)
        self.elastic_alpha = _number("elastic_alpha", elastic_alpha)
        self.elastic_sigma = _number("elastic_sigma", elastic_sigma, strict=True)
        if rng is None:
            if seed is None:
                raise ValueError(
                    "Augmenter needs an explicit random generator: pass "
                    "rng=np.random.default_rng(SEED) or seed=SEED"
                )
            rng = np.random.default_rng(seed)
        elif not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator; received rng={rng!r}")
        self.rng = rng
        self._work: _Workspace | None = None
        # Warm the shared caches now, so that the first training step is not the slow one.
        height, width = self.image_shape
        for dtype in _FLOAT_DTYPES:
            _base_grid(height, width, dtype)
            if self.elastic_alpha > 0:
                _cached_blur_matrix(height, self.elastic_sigma, dtype)
                _cached_blur_matrix(width, self.elastic_sigma, dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """A randomly warped copy of x: (batch, h*w) or (batch, h, w) -> same shape and dtype."""
        x, (height, width), low, high = _check_images(x, self.image_shape)
        batch = x.shape[0]
        if batch == 0:
            return x.copy()
        rng = self.rng
        rotation = rng.uniform(-self.max_rotation, self.max_rotation, batch)
        scale = rng.uniform(*self.scale_range, batch)
        shift = rng.uniform(-self.max_shift, self.max_shift, (batch, 2))
        # Drawn only when asked for, so that the warps without it stay those of earlier versions.
        flip = rng.random(batch) < 0.5 if self.flip else False
        inverse = _invert(
            affine_matrices(rotation, scale, shift, flip=flip, image_shape=self.image_shape)
        )
        work = self._workspace(batch, x.dtype)
        displacement = None
        if self.elastic_alpha > 0:
            displacement = _elastic_field(work, batch, self.elastic_alpha, self.elastic_sigma, rng)
        out = _resample(work, x.reshape(batch, height, width), inverse, displacement, low, high)
        return out.reshape(x.shape)

    def _workspace(self, batch: int, dtype: np.dtype) -> _Workspace:
        """Scratch buffers for `batch` images: kept for the next call unless the batch is huge."""
        work = self._work
        if work is not None and work.fits(batch, *self.image_shape, dtype):
            return work
        work = _Workspace(batch, *self.image_shape, dtype)
        if batch <= _KEEP_WORKSPACE:
            self._work = work
        return work

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (without the generator): Augmenter(**config, seed=...)."""
        return {
            "image_shape": self.image_shape,
            "max_shift": self.max_shift,
            "max_rotation": self.max_rotation,
            "scale_range": self.scale_range,
            "elastic_alpha": self.elastic_alpha,
            "elastic_sigma": self.elastic_sigma,
            "flip": self.flip,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items())
        return f"Augmenter({args})"


def augment_batch(x: np.ndarray, rng: np.random.Generator, **kwargs: Any) -> np.ndarray:
    """Augmenter(rng=rng, **kwargs)(x): one batch, the same warps a fresh Augmenter would draw.

    x: (batch, h*w) or (batch, h, w) -> same shape and dtype. For a training loop, create one
    Augmenter and call it on every batch instead.
    """
    return Augmenter(rng=rng, **kwargs)(x)


__all__ = [
    "Augmenter",
    "affine_matrices",
    "augment_batch",
    "elastic_field",
    "gaussian_blur_matrix",
    "warp",
]
