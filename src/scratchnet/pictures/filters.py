"""Small image filters in NumPy: median, minimum/maximum (grey morphology) and a box blur.

All take a 2-D float array and return a new array of the same shape, with the edges padded by
repeating the border pixels. They exist so the picture steps need no SciPy.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["box_blur", "max_filter", "median_filter", "min_filter"]


def _check_size(size: int) -> int:
    if (
        isinstance(size, bool)
        or not isinstance(size, int | np.integer)
        or size < 1
        or size % 2 == 0
    ):
        raise ValueError(f"filter size must be a positive odd integer; received size={size!r}")
    return int(size)


def median_filter(x: np.ndarray, size: int = 3) -> np.ndarray:
    """Median of each size x size neighbourhood: (h, w) -> (h, w).

    Removes isolated specks (salt and pepper) and keeps edges; it also erases lines thinner than
    about size/2 pixels, which is why the picture steps test whether the strokes survive it.
    """
    size = _check_size(size)
    if size == 1:
        return x.copy()
    if size == 3:
        return _median9(x)
    half = size // 2
    padded = np.pad(x, half, mode="edge")
    windows = sliding_window_view(padded, (size, size)).reshape(*x.shape, size * size)
    middle = size * size // 2
    return np.partition(windows, middle, axis=-1)[..., middle].astype(x.dtype, copy=False)


# Devillard's 19 compare-exchanges that leave the median of 9 values in position 4.
_MEDIAN9 = (
    (1, 2),
    (4, 5),
    (7, 8),
    (0, 1),
    (3, 4),
    (6, 7),
    (1, 2),
    (4, 5),
    (7, 8),
    (0, 3),
    (5, 8),
    (4, 7),
    (3, 6),
    (1, 4),
    (2, 5),
    (4, 7),
    (4, 2),
    (6, 4),
    (4, 2),
)


def _median9(x: np.ndarray) -> np.ndarray:
    """3x3 median by a sorting network on the nine shifted copies (whole-array min/max)."""
    height, width = x.shape
    padded = np.empty((height + 2, width + 2), dtype=x.dtype)  # np.pad(x, 1, "edge"), faster
    padded[1:-1, 1:-1] = x
    padded[0, 1:-1], padded[-1, 1:-1] = x[0], x[-1]
    padded[:, 0], padded[:, -1] = padded[:, 1], padded[:, -2]
    p = [padded[r : r + height, c : c + width] for r in range(3) for c in range(3)]
    return median_of_nine(p).astype(x.dtype, copy=True)


def median_of_nine(arrays: list[np.ndarray]) -> np.ndarray:
    """The element-wise median of nine same-shaped arrays, by a sorting network."""
    p = list(arrays)
    for a, b in _MEDIAN9:
        p[a], p[b] = np.minimum(p[a], p[b]), np.maximum(p[a], p[b])
    return p[4]


def _running(x: np.ndarray, size: int, reduce) -> np.ndarray:
    """A separable running reduction (max or min) over size x size windows."""
    size = _check_size(size)
    if size == 1:
        return x.copy()
    if size == 3:
        return _running3(x, np.maximum if reduce is np.max else np.minimum)
    half = size // 2
    rows = reduce(sliding_window_view(np.pad(x, ((half, half), (0, 0)), mode="edge"), size, 0), -1)
    return reduce(
        sliding_window_view(np.pad(rows, ((0, 0), (half, half)), mode="edge"), size, 1), -1
    )


def _running3(x: np.ndarray, pairwise) -> np.ndarray:
    """The 3x3 case of _running with shifted slices: no window copies."""
    rows = x.copy()
    pairwise(rows[1:], x[:-1], out=rows[1:])
    pairwise(rows[:-1], x[1:], out=rows[:-1])
    out = rows.copy()
    pairwise(out[:, 1:], rows[:, :-1], out=out[:, 1:])
    pairwise(out[:, :-1], rows[:, 1:], out=out[:, :-1])
    return out


def max_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Grey dilation: the largest value in each size x size window. (h, w) -> (h, w)."""
    return _running(x, size, np.max)


def min_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Grey erosion: the smallest value in each size x size window. (h, w) -> (h, w)."""
    return _running(x, size, np.min)


def box_blur(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over each size x size window (cumulative sums, so any size costs the same)."""
    size = _check_size(size)
    if size == 1:
        return x.astype(np.float32, copy=True)
    half = size // 2
    padded = np.pad(x.astype(np.float64), half, mode="edge")
    sums = np.cumsum(np.cumsum(padded, axis=0), axis=1)
    sums = np.pad(sums, ((1, 0), (1, 0)))
    height, width = x.shape
    total = (
        sums[size : size + height, size : size + width]
        - sums[:height, size : size + width]
        - sums[size : size + height, :width]
        + sums[:height, :width]
    )
    return (total / (size * size)).astype(np.float32)
