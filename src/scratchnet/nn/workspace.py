"""Scratch arrays a layer reuses from one training step to the next.

Allocating a fresh (batch, n) array for every output and gradient costs page faults and cache
misses on wide layers; writing into the same block each step does not. The arrays here are
training-time scratch only: they are not parameters or saved buffers, and an array handed out
is valid until the same name is asked for again. An array can be batch-major (C order, the
default) or feature-major (F order: a (rows, cols) view of a (cols, rows) C block), as the
layer's chosen layout (nn/autotune.py) asks.
"""

from __future__ import annotations

import numpy as np


def order_of(array: np.ndarray) -> str:
    """'F' for a feature-major 2-D array (unit stride down its columns, not along its rows, as
    an F-ordered array and its leading-rows slices have), else 'C'."""
    if array.ndim != 2 or min(array.shape) <= 1:
        return "C"  # one row or one column: both orders are the same memory
    return "F" if array.strides[0] == array.itemsize != array.strides[1] else "C"


class Workspace:
    """Named 2-D arrays, grown when a bigger batch arrives and otherwise reused.

    A smaller batch (the last one of an epoch) gets the leading rows of the bigger array: a
    leading-rows slice of a C-contiguous array is itself contiguous, and one of an F-ordered
    array keeps unit stride down its columns, so BLAS (np.matmul(out=...)) writes either as is.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        # What a layer learnt about its buffers' layouts (say, whether BLAS takes them as
        # they are), keyed by shapes and strides: scratch too, dropped with the arrays.
        self.facts: dict[tuple, bool] = {}

    def get(self, name: str, rows: int, cols: int, dtype: np.dtype, order: str = "C") -> np.ndarray:
        """A (rows, cols) array of `dtype` (uninitialised), the same memory as last time.

        order: 'C' (batch-major, the default) or 'F' (feature-major).
        """
        array = self._arrays.get(name)
        if (
            array is None
            or array.dtype != dtype
            or array.shape[1] != cols
            or array.shape[0] < rows
            or (order_of(array) != order and min(rows, cols) > 1)
        ):
            if order == "F":
                array = np.empty((cols, rows), dtype=dtype).T
            else:
                array = np.empty((rows, cols), dtype=dtype)
            self._arrays[name] = array
        return array if array.shape[0] == rows else array[:rows]

    def ones(self, name: str, n: int, dtype: np.dtype) -> np.ndarray:
        """A (n,) array of ones of `dtype`, the same memory as last time (do not write to it)."""
        return self._constant(name, n, dtype, np.ones)

    def zeros(self, name: str, n: int, dtype: np.dtype) -> np.ndarray:
        """A (n,) array of zeros of `dtype`, the same memory as last time (do not write to it)."""
        return self._constant(name, n, dtype, np.zeros)

    def _constant(self, name: str, n: int, dtype: np.dtype, make) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.dtype != dtype or array.shape[0] < n:
            array = self._arrays[name] = make(n, dtype=dtype)
        return array if array.shape[0] == n else array[:n]

    def clear(self) -> None:
        """Drop every array (the memory is freed once no caller holds a view)."""
        self._arrays.clear()
        self.facts.clear()

    def __deepcopy__(self, memo: dict) -> Workspace:
        # Scratch is not state: a copied layer starts with an empty workspace of its own.
        return Workspace()

    def __getstate__(self) -> dict:
        return {"_arrays": {}, "facts": {}}
