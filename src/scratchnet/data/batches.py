"""Mini-batches for training: a fresh shuffle every epoch, gathered into reused buffers.

Gathering with np.take(..., out=buffer) copies each batch into the same contiguous block, so
the hot loop allocates nothing per step. It does not augment or preprocess (see features.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


def check_batch_size(batch_size: object) -> int:
    """`batch_size` as a positive int, or a ValueError naming what was received."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(
            f"batch_size must be a positive integer; received batch_size={batch_size!r}"
        )
    return int(batch_size)


class MiniBatches:
    """Iterate over (x_batch, labels_batch) pairs covering every example once per epoch.

    x: (n, features) -> batches of (batch_size, features), the last one possibly smaller.
    The yielded arrays are views of internal buffers, valid until the next batch is drawn.

    Parameters
    ----------
    x, labels : arrays with the same first dimension n >= 1
    batch_size : int, >= 1 (capped at n)
    rng : np.random.Generator, optional
        Used to shuffle each epoch; None means the fixed order 0..n-1 (no shuffling).
    transform : callable, optional
        Applied to each x batch after it is drawn (augmentation): x_batch -> new x_batch of
        the same shape. The data themselves are never modified.
    """

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        rng: np.random.Generator | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if x.shape[0] != labels.shape[0]:
            raise ValueError(
                f"x and labels must have the same length; received {x.shape[0]} and "
                f"{labels.shape[0]}"
            )
        if x.shape[0] == 0:
            raise ValueError("cannot train on an empty data set (0 examples)")
        self.x = np.ascontiguousarray(x)
        self.labels = np.ascontiguousarray(labels)
        self.batch_size = min(check_batch_size(batch_size), x.shape[0])
        self.rng = rng
        self.transform = transform
        self._x_buffer = np.empty((self.batch_size, *x.shape[1:]), dtype=x.dtype)
        self._label_buffer = np.empty((self.batch_size, *labels.shape[1:]), dtype=labels.dtype)

    def __len__(self) -> int:
        """Batches per epoch: ceil(n / batch_size)."""
        return -(-self.x.shape[0] // self.batch_size)

    def order(self) -> np.ndarray:
        """The example order for one epoch (a permutation when shuffling)."""
        n = self.x.shape[0]
        return self.rng.permutation(n) if self.rng is not None else np.arange(n)

    def epoch(
        self, order: np.ndarray | None = None, *, start: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass over the data in a new order (transformed, when a transform is set).

        `order` replays a given epoch order (from order(), say, saved in a checkpoint) instead
        of drawing one; `start` skips that many batches first (to resume an epoch part-way).
        """
        if order is not None:
            order = self._check_order(order)
        if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
            raise ValueError(f"start must be an integer >= 0; received start={start!r}")
        if self.transform is None:
            yield from self._draw(order, int(start))
            return
        for x_batch, label_batch in self._draw(order, int(start)):
            yield self.transform(x_batch), label_batch

    def _check_order(self, order: np.ndarray) -> np.ndarray:
        """`order` as an intp array, if it is a permutation of 0..n-1; else a ValueError."""
        order = np.asarray(order)
        n = self.x.shape[0]
        ok = order.shape == (n,) and np.issubdtype(order.dtype, np.integer)
        ok = ok and order.min() >= 0 and order.max() < n
        if not (ok and np.all(np.bincount(order, minlength=n) == 1)):
            raise ValueError(
                f"order must be a permutation of 0..{n - 1}; received an array of shape "
                f"{order.shape} and dtype {order.dtype} that is not one"
            )
        return order.astype(np.intp, copy=False)

    def _draw(
        self, order: np.ndarray | None, first: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, size = self.x.shape[0], self.batch_size
        if order is None and self.rng is None:
            # In order: slices are already contiguous views; no copy needed.
            for start in range(first * size, n, size):
                yield self.x[start : start + size], self.labels[start : start + size]
            return
        if order is None:
            order = self.order()
        for start in range(first * size, n, size):
            index = order[start : start + size]
            x_batch = self._x_buffer[: index.size]
            label_batch = self._label_buffer[: index.size]
            # mode="clip": the indices come from a permutation, so they are always in range,
            # and with out= the default mode="raise" gathers through a temporary buffer
            # (4x slower: 25 us against 6 us for 128 MNIST rows).
            np.take(self.x, index, axis=0, out=x_batch, mode="clip")
            np.take(self.labels, index, axis=0, out=label_batch, mode="clip")
            yield x_batch, label_batch
