"""The NumPy filters and connected components, against plain reference implementations."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from scratchnet.pictures import (
    box_blur,
    count_pieces,
    label_components,
    max_filter,
    median_filter,
    min_filter,
)
from scratchnet.pictures import components as components_module


def reference(x: np.ndarray, size: int, reduce) -> np.ndarray:
    half = size // 2
    windows = sliding_window_view(np.pad(x, half, mode="edge"), (size, size))
    return reduce(windows.reshape(*x.shape, size * size), axis=-1)


@pytest.mark.parametrize("size", [1, 3, 5])
@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (13, 9)])
def test_filters_match_their_definitions(size, shape):
    x = np.random.default_rng(size).random(shape).astype(np.float32)
    np.testing.assert_allclose(median_filter(x, size), reference(x, size, np.median), atol=1e-7)
    np.testing.assert_array_equal(max_filter(x, size), reference(x, size, np.max))
    np.testing.assert_array_equal(min_filter(x, size), reference(x, size, np.min))
    np.testing.assert_allclose(box_blur(x, size), reference(x, size, np.mean), atol=1e-6)


@pytest.mark.parametrize("size", [0, 2, -3, 2.0])
def test_filter_sizes_must_be_odd_positive_integers(size):
    with pytest.raises(ValueError, match="positive odd integer"):
        median_filter(np.zeros((4, 4)), size)


def test_median_removes_specks_but_keeps_a_thick_stroke():
    x = np.zeros((30, 30), dtype=np.float32)
    x[5:25, 12:17] = 1.0  # a stroke 5 pixels wide
    x[2, 2] = x[27, 27] = x[3, 25] = 1.0  # specks
    out = median_filter(x, 3)
    assert out[2, 2] == out[27, 27] == out[3, 25] == 0.0
    assert out[6:24, 13:16].min() == 1.0


def flood_fill_labels(mask: np.ndarray) -> np.ndarray:
    """Breadth-first 8-connected labelling, the slow obvious way."""
    labels = np.zeros(mask.shape, dtype=int)
    current = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        current += 1
        labels[start] = current
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    inside = 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1]
                    if inside and mask[rr, cc] and not labels[rr, cc]:
                        labels[rr, cc] = current
                        queue.append((rr, cc))
    return labels


@pytest.fixture(params=["scipy", "numpy"])
def labelling(request, monkeypatch):
    """Run a test with SciPy's labelling and again with the NumPy fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(components_module, "_ndimage", None)
    elif components_module._ndimage is None:
        pytest.skip("SciPy is not installed")
    return request.param


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("density", [0.2, 0.45, 0.6])
def test_components_partition_like_a_flood_fill(seed, density, labelling):
    mask = np.random.default_rng(seed).random((17, 23)) < density
    labels, components = label_components(mask)
    expected = flood_fill_labels(mask)
    assert len(components) == expected.max()
    # Numbered in the order of each piece's first pixel (row by row), as the flood fill does.
    np.testing.assert_array_equal(labels, expected)
    # The same partition: each of our labels maps to exactly one reference label and back.
    pairs = set(zip(labels[mask].tolist(), expected[mask].tolist(), strict=True))
    assert len(pairs) == len(components)
    assert (labels[~mask] == 0).all()
    for comp in components:
        rows, cols = np.nonzero(labels == comp.label)
        assert comp.area == rows.size
        assert (comp.top, comp.bottom) == (rows.min(), rows.max() + 1)
        assert (comp.left, comp.right) == (cols.min(), cols.max() + 1)


def test_diagonal_neighbours_are_connected_and_gaps_are_not(labelling):
    mask = np.zeros((5, 6), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal line: one piece
    mask[4, 5] = True  # a separate dot
    _, components = label_components(mask)
    assert sorted(c.area for c in components) == [1, 3]
    assert label_components(np.zeros((3, 3), dtype=bool))[1] == []


def test_count_pieces_counts_each_mask_on_its_own(labelling):
    rng = np.random.default_rng(3)
    masks = rng.random((9, 12, 12)) < 0.35
    masks[4] = False  # an empty mask between full ones
    masks[5] = True  # one piece touching every edge: must not join its neighbours' pieces
    expected = [sum(c.area >= 3 for c in label_components(m)[1]) for m in masks]
    np.testing.assert_array_equal(count_pieces(masks, 3), expected)
    assert count_pieces(masks, 3)[4] == 0 and count_pieces(masks, 3)[5] == 1
    assert count_pieces(np.zeros((2, 5, 5), dtype=bool)).tolist() == [0, 0]
