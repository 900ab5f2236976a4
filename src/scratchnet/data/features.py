"""From images to the network's input: uint8 (n, 28, 28) -> float (n, 784) in [0, 1].

It also holds the validation split, drawn from the training set with an explicit generator,
so that the test set is touched only by the final evaluation. No augmentation here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Integer pixels 0..255 -> floats 0..1.
PIXEL_SCALE = 1 / 255


def scale_pixels(raw: np.ndarray, scale: float, out: np.ndarray) -> np.ndarray:
    """out = raw * scale in out's float dtype: each integer is converted, then multiplied by
    `scale` rounded to that dtype (one rounding per step, so every caller gets the same bits).

    images_to_features and scaled mini-batches (MiniBatches(scale=...)) both go through here.
    """
    return np.multiply(raw, np.asarray(scale, dtype=out.dtype), out=out, dtype=out.dtype)


def images_to_features(images: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """x = images / 255, flattened; (n, h, w) or (n, h*w) uint8 -> (n, h*w) float, C-contiguous.

    Floating-point images are taken to be in [0, 1] already and are only reshaped and cast.
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(
            f"expected images of shape (n, height, width) or (n, features); received {images.shape}"
        )
    flat = images.reshape(images.shape[0], -1)
    if np.issubdtype(flat.dtype, np.integer):
        return scale_pixels(flat, PIXEL_SCALE, np.empty(flat.shape, dtype=dtype))
    if np.issubdtype(flat.dtype, np.floating):
        if not np.isfinite(flat).all():
            raise ValueError("images contain NaN or infinite values")
        return np.ascontiguousarray(flat, dtype=dtype)
    raise ValueError(f"expected integer or float images; received dtype {images.dtype}")


def validation_split(
    x: np.ndarray, labels: np.ndarray, size: int, *, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold `size` random examples out of (x, labels): ((x_train, y_train), (x_val, y_val)).

    size=0 gives an empty validation set. Needs 0 <= size < n.
    """
    n = x.shape[0]
    if x.shape[0] != labels.shape[0]:
        raise ValueError(
            f"x and labels must have the same length; received {x.shape[0]} and {labels.shape[0]}"
        )
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 0 <= size < n:
        raise ValueError(
            f"validation size must be an integer in [0, {n}) (the training set has {n} "
            f"examples); received {size!r}"
        )
    order = rng.permutation(n)
    # Sorting each part keeps the original order within it: memory access stays sequential.
    held, kept = np.sort(order[:size]), np.sort(order[size:])
    return (x[kept], labels[kept]), (x[held], labels[held])
