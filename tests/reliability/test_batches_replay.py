"""MiniBatches.epoch(order, start=k): replaying a saved epoch order from batch k gives exactly
the batches the uninterrupted epoch gave from there (what a mid-epoch resume relies on)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.data.batches import MiniBatches


def _batches(x, labels, *, seed, **kwargs):
    return MiniBatches(x, labels, 4, rng=np.random.default_rng(seed), **kwargs)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_replaying_an_order_from_any_batch(start):
    x = np.arange(22, dtype=np.float32).reshape(11, 2)
    labels = np.arange(11)
    batches = _batches(x, labels, seed=0)
    order = batches.order()
    full = [(a.copy(), b.copy()) for a, b in batches.epoch(order)]
    assert len(full) == 3
    replayed = [
        (a.copy(), b.copy()) for a, b in _batches(x, labels, seed=9).epoch(order, start=start)
    ]
    assert len(replayed) == 3 - start
    for (a, b), (c, d) in zip(full[start:], replayed, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_an_epoch_drawn_by_itself_equals_one_drawn_from_order():
    x = np.random.default_rng(1).normal(size=(10, 3))
    labels = np.arange(10)
    drawn = [b.copy() for _, b in _batches(x, labels, seed=5).epoch()]
    batches = _batches(x, labels, seed=5)
    given = [b.copy() for _, b in batches.epoch(batches.order())]
    assert [list(b) for b in drawn] == [list(b) for b in given]


def test_without_shuffling_start_skips_batches():
    x = np.arange(10, dtype=np.float32)[:, None]
    batches = MiniBatches(x, np.arange(10), 4)
    assert [list(b) for _, b in batches.epoch(start=1)] == [[4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize(
    "order, start, match",
    [
        (np.arange(9), 0, "order must be a permutation of 0..9"),
        (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 8]), 0, "order must be a permutation"),
        (np.arange(10) + 1, 0, "order must be a permutation"),
        (np.linspace(0, 9, 10), 0, "order must be a permutation"),
        (None, -1, "start must be an integer >= 0"),
        (None, 1.5, "start must be an integer >= 0"),
    ],
)
def test_bad_orders_and_starts_are_refused(order, start, match):
    batches = MiniBatches(np.zeros((10, 2)), np.arange(10), 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        next(batches.epoch(order, start=start))
