"""out = alpha * (a @ b) + beta * out in one BLAS call, through the BLAS NumPy itself links.

np.matmul always overwrites its output. BLAS's gemm can also scale and add to it, which lets a
plain SGD step fold into the weight gradient's product: W <- (1 - lr * wd) * W - lr * (x^T @ dz)
is one gemm, with no gradient array written and no separate pass over the weights (on an Intel
Xeon with 2 threads, that pass was 15% of a 784-1024-1024-10 epoch).

NumPy's own wheels ship OpenBLAS (as libscipy_openblas64_, or libopenblas64_ in NumPy 1.x),
already loaded by `import numpy`; this module finds its CBLAS gemm with ctypes and checks it on
a small product before use. Where NumPy links another BLAS (MKL, Accelerate) or none is found,
`available()` is False and callers keep np.matmul. ctypes releases the GIL during the call, as
np.matmul does. SCRATCHNET_FUSED_BLAS=0 turns it off.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from typing import Any

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol, integer type): NumPy 2's scipy-openblas64, NumPy 1's openblas64_, then a LP64 build.
_SYMBOLS = (
    ("scipy_cblas_{}gemm64_", ctypes.c_int64),
    ("cblas_{}gemm64_", ctypes.c_int64),
    ("scipy_cblas_{}gemm", ctypes.c_int32),
)


def _library_paths() -> list[str]:
    """Shared libraries of this process whose name says OpenBLAS (Linux), then NumPy's own."""
    paths = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    paths += [
        path for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))) if path not in paths
    ]
    return paths


def _bind(library: ctypes.CDLL, template: str, int_type: Any, kind: str, real: Any) -> Any | None:
    try:
        function = getattr(library, template.format(kind))
    except AttributeError:
        return None
    pointer = ctypes.c_void_p
    function.restype = None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        int_type,
        int_type,
        int_type,
        real,
        pointer,
        int_type,
        pointer,
        int_type,
        real,
        pointer,
        int_type,
    ]
    return function


@functools.cache
def _functions() -> dict[np.dtype, Any] | None:
    for path in _library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for template, int_type in _SYMBOLS:
            single = _bind(library, template, int_type, "s", ctypes.c_float)
            double = _bind(library, template, int_type, "d", ctypes.c_double)
            if single is not None and double is not None:
                functions = {np.dtype(np.float32): single, np.dtype(np.float64): double}
                if _self_test(functions):
                    return functions
    return None


_OFF = ("0", "false", "no")
_state = {"enabled": os.environ.get("SCRATCHNET_FUSED_BLAS", "1").strip().lower() not in _OFF}


def available() -> bool:
    """Whether gemm() can run here: turned on (set_enabled) and NumPy's BLAS found and checked."""
    return _state["enabled"] and _functions() is not None


def set_enabled(flag: bool) -> None:
    """Turn fused products on or off for this process (off: training steps are the reference
    arithmetic, np.matmul then the optimiser's own pass; SCRATCHNET_FUSED_BLAS=0 at start)."""
    _state["enabled"] = bool(flag)


def _operand(array: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) of a row-major view of `array`, or None."""
    item = array.itemsize
    rows, cols = array.shape
    rows_step, cols_step = array.strides
    # A dimension of length 1 is never stepped along: give it the stride that fits.
    if rows == 1:
        rows_step = item * cols if cols_step == item else item
    if cols == 1:
        cols_step = item * rows if rows_step == item and rows > 1 else item
    if rows_step % item or cols_step % item:
        return None
    if cols_step == item and rows_step >= item * cols:
        return _NO_TRANS, max(rows_step // item, 1)
    if rows_step == item and cols_step >= item * rows:
        return _TRANS, max(cols_step // item, 1)
    return None


def supported(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """Whether gemm(a, b, out) can be handed to BLAS as is: same float dtype, strided 2-D, and
    out's memory apart from a's and b's (BLAS reads its operands while it writes out)."""
    if not available() or out.dtype not in (np.float32, np.float64):
        return False
    if a.dtype != out.dtype or b.dtype != out.dtype or not out.flags.writeable:
        return False
    if a.ndim != 2 or b.ndim != 2 or out.shape != (a.shape[0], b.shape[1]):
        return False
    if a.shape[1] != b.shape[0] or 0 in out.shape or a.shape[1] == 0:
        return False
    if np.may_share_memory(out, a) or np.may_share_memory(out, b):
        return False
    return all(_operand(array) is not None for array in (a, b, out))


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """out = alpha * (a @ b) + beta * out, in place; `supported(a, b, out)` must hold.

    beta = 0 ignores out's old values (NaN included), as BLAS specifies.
    """
    _call(_functions()[out.dtype], a, b, out, alpha, beta)
    return out


def _self_test(functions: dict[np.dtype, Any]) -> bool:
    """A small product in every transpose combination, against np.matmul."""
    rng = np.random.default_rng(0)
    for dtype, function in functions.items():
        a = rng.standard_normal((5, 3)).astype(dtype)
        b = rng.standard_normal((3, 4)).astype(dtype)
        for a_view in (a, np.asfortranarray(a)):
            for b_view in (b, np.asfortranarray(b)):
                for order in ("C", "F"):
                    out = np.ones((5, 4), dtype=dtype, order=order)
                    expected = 2.0 * (a_view @ b_view) + 0.5 * out
                    try:
                        _call(function, a_view, b_view, out, 2.0, 0.5)
                    except (ctypes.ArgumentError, OSError):
                        return False
                    if not np.allclose(out, expected, rtol=1e-4, atol=1e-5):
                        return False
    return True


def _call(
    function: Any, a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float, beta: float
) -> None:
    out_mode, out_ld = _operand(out)
    if out_mode == _TRANS:  # a column-major out: compute out.T = b.T @ a.T, row-major
        a, b = b.T, a.T
        rows, cols = out.shape[1], out.shape[0]
    else:
        rows, cols = out.shape
    a_mode, a_ld = _operand(a)
    b_mode, b_ld = _operand(b)
    function(
        _ROW_MAJOR,
        a_mode,
        b_mode,
        rows,
        cols,
        a.shape[1],
        alpha,
        a.ctypes.data,
        a_ld,
        b.ctypes.data,
        b_ld,
        beta,
        out.ctypes.data,
        out_ld,
    )
