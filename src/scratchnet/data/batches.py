"""Mini-batches for training: a fresh shuffle every epoch, gathered into reused buffers.

Gathering with np.take(..., out=buffer) copies a chunk of batches at a time into the same
contiguous block, so the hot loop allocates nothing per step; on request (gather="ahead") a
background thread gathers one chunk ahead while the caller trains. 8-bit images can stay 8-bit:
with scale=1/255 each gathered chunk is converted to floats on the way (features.py holds the
conversion). It does not augment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .features import scale_pixels

GATHER_MODES = ("serial", "ahead")
# About this many bytes of examples per gathered chunk: enough batches per hand-over that its
# cost (tens of microseconds) vanishes, small enough that two chunks stay in the L3 cache.
CHUNK_BYTES = 2 << 20


def check_batch_size(batch_size: object, name: str = "batch_size") -> int:
    """`batch_size` as a positive int, or a ValueError naming what was received."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(f"{name} must be a positive integer; received {name}={batch_size!r}")
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
        the same shape, in the caller's thread. The data themselves are never modified.
    gather : 'serial' (default) or 'ahead'
        How shuffled batches are copied out of x, chunk_batches batches at a time: in the
        caller's thread, or 'ahead' in a background thread, one chunk ahead of training
        (np.take releases the GIL), so that the copying overlaps the training step. 'ahead'
        needs a core that BLAS leaves idle, and even then it depends on the step: on a 2-core
        machine with 1 BLAS thread it made 784-50-10 at batch 32 and 784-100-10 at batch 100
        5-6% faster, but 784-16-10 at batch 4 17% slower, and with 2 BLAS threads it was 2-17%
        slower on every network tried (a thread competing with BLAS for a core, or taking the
        GIL from a step of many tiny calls, costs more than the copy saves;
        benchmarks/results/threads.md). The batches are the same in both modes, bit for bit.
    chunk_batches : int or None
        Batches per gathered chunk (None: about CHUNK_BYTES of examples).
    scale : float > 0, optional
        x holds integers (8-bit pixels, say), kept as they are: each gathered chunk is
        converted to `dtype` and multiplied by `scale`, bit for bit what
        scratchnet.data.features.images_to_features gives for scale=1/255. Shuffled batches
        are then copied out of a quarter of the bytes (uint8 against float32): an epoch of
        MNIST-sized batches takes 0.75-0.80x the time and a 784-100-10 training epoch at batch
        100 0.94-0.97x (three runs of benchmarks/bench_kernels.py; results/kernels.md), and
        the float copy of the training set (188 MB) is never made.
    dtype : float32 (default) or float64
        The batches' dtype when `scale` is given (otherwise they keep x's dtype).
    """

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        rng: np.random.Generator | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        gather: str = "serial",
        chunk_batches: int | None = None,
        scale: float | None = None,
        dtype: object = np.float32,
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
        self.scale = check_scale(scale, self.x.dtype)
        self.dtype = self.x.dtype if scale is None else _float_dtype(dtype)
        self.batch_size = min(check_batch_size(batch_size), x.shape[0])
        self.rng = rng
        self.transform = transform
        if gather not in GATHER_MODES:
            raise ValueError(
                f"gather must be one of {', '.join(GATHER_MODES)}; received gather={gather!r}"
            )
        self.gather = gather
        if chunk_batches is None:
            row_bytes = max(1, self.x[:1].nbytes + self.labels[:1].nbytes)
            if self.scale is not None:
                row_bytes += self.x[0].size * self.dtype.itemsize
            chunk_batches = max(1, CHUNK_BYTES // (row_bytes * self.batch_size))
        self.chunk_batches = check_batch_size(chunk_batches, "chunk_batches")
        # Chunk buffers, (chunk_batches * batch_size, ...), made on first use: one for
        # gathering in the caller's thread, two for gathering ahead.
        self._buffers: dict[str, np.ndarray] = {}

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
        if order is None and self.rng is None and self.scale is None:
            # In order: slices are already contiguous views; no copy needed.
            for start in range(first * size, n, size):
                yield self.x[start : start + size], self.labels[start : start + size]
            return
        if order is None:
            order = self.order()
        if self.gather == "ahead":
            yield from self._draw_ahead(order, first * size)
            return
        rows = self.chunk_batches * size
        buffers = self._buffers_for(0, rows)
        for lo in range(first * size, n, rows):
            index = order[lo : lo + rows]
            x_chunk, label_chunk = self._gather(index, *buffers)
            yield from self._batches_of(index.size, x_chunk, label_chunk)

    def _batches_of(
        self, rows: int, x_chunk: np.ndarray, label_chunk: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches in the first `rows` rows of a gathered chunk (views)."""
        size = self.batch_size
        for start in range(0, rows, size):
            stop = min(start + size, rows)
            yield x_chunk[start:stop], label_chunk[start:stop]

    def _draw_ahead(self, order: np.ndarray, first: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches from example `first` on, each chunk gathered while the last is used.

        Chunk k is gathered into buffer k % 2 while the caller trains on chunk k - 1 from the
        other buffer; buffer k % 2 is only refilled once the caller has asked for the batch
        after chunk k's last one, so every yielded view holds until the next batch is drawn.
        """
        n, size = self.x.shape[0], self.batch_size
        rows = self.chunk_batches * size
        buffers = [self._buffers_for(k, rows) for k in (0, 1)]
        with ThreadPoolExecutor(1, thread_name_prefix="scratchnet-batches") as pool:
            pending = pool.submit(self._gather, order[first : first + rows], *buffers[0])
            for k, lo in enumerate(range(first, n, rows)):
                x_chunk, label_chunk = pending.result()
                hi = lo + rows
                if hi < n:
                    pending = pool.submit(self._gather, order[hi : hi + rows], *buffers[1 - k % 2])
                yield from self._batches_of(x_chunk.shape[0], x_chunk, label_chunk)

    def _buffer(self, name: str, like: np.ndarray, rows: int, dtype=None) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape[0] < rows:
            shape = (rows, *like.shape[1:])
            buffer = self._buffers[name] = np.empty(
                shape, dtype=like.dtype if dtype is None else dtype
            )
        return buffer

    def _buffers_for(self, k: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Chunk buffer set k: (x in the batches' dtype, labels, x's raw rows when scaling)."""
        return (
            self._buffer(f"x{k}", self.x, rows, self.dtype),
            self._buffer(f"labels{k}", self.labels, rows),
            self._buffer(f"raw{k}", self.x, rows) if self.scale is not None else None,
        )

    def _gather(
        self,
        index: np.ndarray,
        x_buffer: np.ndarray,
        label_buffer: np.ndarray,
        raw_buffer: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows `index` of x and labels, copied into the leading rows of the buffers."""
        x_batch = x_buffer[: index.size]
        label_batch = label_buffer[: index.size]
        # mode="clip": the indices come from a permutation, so they are always in range,
        # and with out= the default mode="raise" gathers through a temporary buffer
        # (4x slower: 25 us against 6 us for 128 MNIST rows).
        if self.scale is None:
            np.take(self.x, index, axis=0, out=x_batch, mode="clip")
        else:
            raw = raw_buffer[: index.size]
            np.take(self.x, index, axis=0, out=raw, mode="clip")
            scale_pixels(raw, self.scale, x_batch)
        np.take(self.labels, index, axis=0, out=label_batch, mode="clip")
        return x_batch, label_batch


def check_scale(scale: object, x_dtype: np.dtype) -> float | None:
    """None, or `scale` as a finite float > 0 for integer x; else a ValueError naming the fix."""
    if scale is None:
        return None
    try:
        value = float(scale)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(scale, bool) or not (0 < value < float("inf")):
        raise ValueError(f"scale must be a finite number > 0; received scale={scale!r}")
    if not np.issubdtype(x_dtype, np.integer):
        raise ValueError(
            f"scale is for integer x (8-bit pixels, say); received x of dtype {x_dtype}, "
            "which is used as it is: leave scale out"
        )
    return value


def _float_dtype(dtype: object) -> np.dtype:
    try:
        ok = np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))
    except TypeError:
        ok = False
    if not ok or dtype is None:
        raise ValueError(f"dtype must be float32 or float64; received dtype={dtype!r}")
    return np.dtype(dtype)
