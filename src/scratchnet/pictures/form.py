"""The last step: ink of one glyph -> the 28x28 form a data set's images were made in.

MNIST (digits): the glyph is fitted into a 20x20 box (aspect kept) and centred by mass on 28x28.
Fashion-MNIST (whole objects): the longest side is fitted to 28 and the object centred by its
box. Resizing is a triangle filter widened when shrinking (anti-aliased), in NumPy.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["centre_by_mass", "fit_box", "fit_object", "mnist_form"]

CANVAS = 28  # MNIST images are 28x28 ...
BOX = 20  # ... with the digit fitted into a 20x20 box, aspect ratio kept


@functools.lru_cache(maxsize=512)
def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Linear (triangle-filter) resampling weights, widened when shrinking so it anti-aliases.

    (n_out, n_in), rows summing to 1: resized = weights @ signal. Same filter as Pillow's BILINEAR.
    Cached (pictures come in a few sizes) and so read-only.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale  # output pixel centres, in input pixel units
    distance = (np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    # Every output centre lies within half a pixel of an input centre, so no row sums to 0.
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False
    return weights


def fit_box(crop: np.ndarray, box: int = BOX, *, renormalise: bool = True) -> np.ndarray:
    """Resize so the longer side is `box` pixels, keeping the aspect ratio.

    crop: (h, w) -> (round(h * s), round(w * s)) with s = box / max(h, w), each side at least 1.
    With renormalise, the peak is rescaled to 1: shrinking a thin stroke spreads it thin, and
    MNIST's strokes are full-strength ink.
    """
    height, width = crop.shape
    longest = max(height, width)
    # Round half up in integers, so the longer side is exactly `box`.
    new_height = max(1, (2 * height * box + longest) // (2 * longest))
    new_width = max(1, (2 * width * box + longest) // (2 * longest))
    resized = _resample_matrix(height, new_height) @ crop @ _resample_matrix(width, new_width).T
    peak = float(resized.max())
    if renormalise and peak > 0:
        resized = resized / peak
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def centre_by_mass(glyph: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """Paste the glyph on a size x size canvas so its centre of mass lands at (size/2, size/2).

    glyph: (h, w), h and w <= size -> (size, size). Centre of mass in pixel-index coordinates,
    sum(i * v) / sum(v); the shift is rounded to whole pixels and limited so no ink leaves
    the canvas.
    """
    height, width = glyph.shape
    total = float(glyph.sum())
    if total <= 0:
        return centre_by_box(glyph, size)
    centre_row = float(np.arange(height) @ glyph.sum(axis=1)) / total
    centre_col = float(np.arange(width) @ glyph.sum(axis=0)) / total
    top = int(np.clip(np.floor(size / 2 - centre_row + 0.5), 0, size - height))
    left = int(np.clip(np.floor(size / 2 - centre_col + 0.5), 0, size - width))
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + height, left : left + width] = glyph
    return canvas


def centre_by_box(glyph: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """Paste the glyph in the middle of a size x size canvas. (h, w) -> (size, size)."""
    height, width = glyph.shape
    top, left = (size - height) // 2, (size - width) // 2
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + height, left : left + width] = glyph
    return canvas


def bounding_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The rows and columns spanned by the True pixels of a 2-D mask (None if there are none)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def mnist_form(ink: np.ndarray) -> np.ndarray:
    """Digit ink (h, w) in [0, 1] with nothing else in it -> (28, 28) float32 the way MNIST was
    made: cropped to the ink, fitted into 20x20, centred by mass."""
    box = bounding_box(ink > 0)
    if box is None:
        return np.zeros((CANVAS, CANVAS), dtype=np.float32)
    return centre_by_mass(fit_box(ink[box], BOX), CANVAS)


def fit_object(ink: np.ndarray, *, level: float = 0.05) -> np.ndarray:
    """A whole object (h, w) in [0, 1] -> (28, 28) float32 the way Fashion-MNIST was made:
    trimmed to the object (pixels above `level`), longest side resized to 28, centred.

    A picture that is already 28x28 is kept as it is: that is the data set's own form.
    """
    if ink.shape == (CANVAS, CANVAS):
        return ink.astype(np.float32, copy=True)
    box = bounding_box(ink > level)
    if box is None:
        return np.zeros((CANVAS, CANVAS), dtype=np.float32)
    return centre_by_box(fit_box(ink[box], CANVAS, renormalise=False), CANVAS)
