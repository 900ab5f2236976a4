"""Connected components of a binary mask (8-connectivity): SciPy's when it is installed,
else NumPy and a little Python, with the same labels.

Without SciPy the mask is cut into horizontal runs of ink (found with NumPy), runs that touch
across neighbouring rows are joined with a union-find, and each run is painted with its
component's number. A digit has a few runs per row, so the Python part stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Component", "count_pieces", "label_components"]

try:  # optional: the same labels, computed in C (the `pictures` extra)
    from scipy import ndimage as _ndimage
except ImportError:  # pragma: no cover - exercised by tests that hide SciPy
    _ndimage = None

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Component:
    """One connected piece of ink: its label in the label image, pixel count and bounding box."""

    label: int
    area: int
    top: int
    left: int
    bottom: int  # exclusive
    right: int  # exclusive

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, start, stop) of every horizontal run of True pixels, in row-major order."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    start_rows, starts = np.nonzero(steps == 1)
    stop_rows, stops = np.nonzero(steps == -1)
    assert np.array_equal(start_rows, stop_rows)
    return start_rows, starts, stops


def label_components(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    """Label the 8-connected pieces of `mask`.

    mask: (h, w) bool -> (labels (h, w) int32 with 0 for background and 1..n for the pieces,
    the n Components in order of their first pixel).
    """
    mask = np.asarray(mask, dtype=bool)
    if _ndimage is not None:
        return _label_scipy(mask)
    return _label_numpy(mask)


def _label_scipy(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    labels, n = _ndimage.label(mask, structure=_EIGHT)
    labels = labels.astype(np.int32, copy=False)
    if n == 0:
        return labels, []
    area = np.bincount(labels.ravel(), minlength=n + 1)
    boxes = _ndimage.find_objects(labels)
    return labels, [
        Component(k, int(area[k]), rows.start, cols.start, rows.stop, cols.stop)
        for k, (rows, cols) in enumerate(boxes, start=1)
    ]


def count_pieces(masks: np.ndarray, min_area: int = 1) -> np.ndarray:
    """(n, h, w) bool -> (n,) how many 8-connected pieces of at least `min_area` pixels each
    mask holds."""
    masks = np.asarray(masks, dtype=bool)
    if _ndimage is None:
        return np.array(
            [sum(c.area >= min_area for c in label_components(m)[1]) for m in masks],
            dtype=np.int64,
        )
    # One call for the whole stack; the structure joins no pixels across masks. Labels are
    # numbered in raster order, so each mask's labels follow the previous mask's.
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    labels, n = _ndimage.label(masks, structure=structure)
    if n == 0:
        return np.zeros(len(masks), dtype=np.int64)
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    last = np.maximum.accumulate(labels.reshape(len(masks), -1).max(axis=1))
    owner = np.searchsorted(last, np.arange(1, n + 1))
    return np.bincount(owner[area >= min_area], minlength=len(masks)).astype(np.int64)


def _label_numpy(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    rows, starts, stops = _runs(mask)
    n_runs = len(rows)
    parent = list(range(n_runs))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Runs of row r occupy indices row_first[r]:row_first[r + 1] (runs come in row-major order).
    row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    starts_list, stops_list = starts.tolist(), stops.tolist()
    for row in range(1, mask.shape[0]):
        above = range(row_first[row - 1], row_first[row])
        here = range(row_first[row], row_first[row + 1])
        if not above or not here:
            continue
        j0 = above.start
        for i in here:
            # 8-connectivity: [start, stop) touches the run above if they overlap after
            # widening by one pixel each side.
            while j0 < above.stop and stops_list[j0] < starts_list[i]:
                j0 += 1
            j = j0
            while j < above.stop and starts_list[j] <= stops_list[i]:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                j += 1
    roots = np.array([find(i) for i in range(n_runs)], dtype=np.int64)
    unique_roots, run_labels = np.unique(roots, return_inverse=True)
    run_labels = run_labels.astype(np.int32) + 1
    labels = np.zeros(mask.shape, dtype=np.int32)
    lengths = stops - starts
    flat_rows = np.repeat(rows, lengths)
    flat_cols = np.repeat(starts, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    labels[flat_rows, flat_cols] = np.repeat(run_labels, lengths)
    components = []
    n = len(unique_roots)
    if n:
        area = np.bincount(run_labels, weights=lengths, minlength=n + 1)[1:].astype(int)
        top = np.full(n + 1, mask.shape[0])
        bottom = np.zeros(n + 1, dtype=int)
        left = np.full(n + 1, mask.shape[1])
        right = np.zeros(n + 1, dtype=int)
        np.minimum.at(top, run_labels, rows)
        np.maximum.at(bottom, run_labels, rows + 1)
        np.minimum.at(left, run_labels, starts)
        np.maximum.at(right, run_labels, stops)
        components = [
            Component(k, int(area[k - 1]), int(top[k]), int(left[k]), int(bottom[k]), int(right[k]))
            for k in range(1, n + 1)
        ]
    return labels, components
