"""How many threads NumPy's BLAS (OpenBLAS, MKL...) uses for matrix products, per problem size.

With threadpoolctl installed (the `cli` extra), `blas_threads(n)` limits the BLAS pools for the
duration of a `with` block and `choose_threads(...)` picks a count for a network. Without it
every function here quietly does nothing and BLAS keeps its own default: the engine never
requires it. It does not touch NumPy's element-wise code, which is single-threaded anyway.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

# Below this many floating-point operations per matrix product, a second BLAS thread costs as
# much (waking it, splitting the work, waiting for it) as it saves. Measured on a 2-core AMD EPYC
# with NumPy 2.4's OpenBLAS (benchmarks/bench_threads.py, results/threads.md), seconds per MNIST
# epoch with 1 thread against 2: 784-16-10 at batch 4 (0.1 MFLOP for the largest product) and
# 784-30-10 at batch 10 (0.47 MFLOP) the same within 1%; 784-50-10 at batch 32 (2.5 MFLOP) 5%
# slower, 784-100-10 at batch 100 (15.7 MFLOP) 20% slower, 784-512-256-10 at batch 128 (103
# MFLOP) 61% slower.
SINGLE_THREAD_MAX_FLOPS = 1e6


def _threadpoolctl() -> Any | None:
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def available() -> bool:
    """Whether BLAS threads can be controlled here (threadpoolctl is installed)."""
    return _threadpoolctl() is not None


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def blas_info() -> list[dict[str, Any]]:
    """One dict per BLAS library loaded: 'internal_api' (openblas, mkl...), 'version',
    'architecture' (the kernel OpenBLAS chose, e.g. 'SkylakeX' or 'Haswell'), 'num_threads'.
    Empty without threadpoolctl."""
    module = _threadpoolctl()
    if module is None:
        return []
    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [
        {key: info.get(key) for key in keys}
        for info in module.threadpool_info()
        if info.get("user_api") == "blas"
    ]


def current_threads() -> int | None:
    """The largest thread count among the loaded BLAS libraries (None without threadpoolctl)."""
    counts = [info["num_threads"] for info in blas_info() if info.get("num_threads")]
    return max(counts) if counts else None


def check_threads(threads: Any) -> int | None:
    """None (leave BLAS alone) or a positive int, else a ValueError naming what was received."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(
            f"threads must be a positive integer or None; received threads={threads!r}"
        )
    return threads


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Run the `with` block with NumPy's BLAS limited to `threads` threads (None: unchanged).

    Without threadpoolctl this does nothing. The previous limits come back on exit, also when
    the block raises.
    """
    threads = check_threads(threads)
    module = _threadpoolctl()
    if threads is None or module is None:
        yield
        return
    with module.threadpool_limits(limits=threads, user_api="blas"):
        yield


def choose_threads(sizes: Sequence[int], batch_size: int, *, cores: int | None = None) -> int:
    """A BLAS thread count for training an MLP with layer widths `sizes` at `batch_size`.

    sizes: [n_in, hidden..., n_out], e.g. [784, 100, 10]. The largest matrix product of a step
    is batch_size x n_in x n_out for the widest pair of adjacent layers; if it is under
    SINGLE_THREAD_MAX_FLOPS, one thread is used (the products are too small for a second to
    pay), otherwise `cores` threads. `cores` defaults to the BLAS's current
    thread count (so a limit set from outside, OPENBLAS_NUM_THREADS=1 or a sweep's worker
    processes, is never raised), or to the CPUs this process may use.
    """
    sizes = [int(size) for size in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive widths; received {sizes!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; received {batch_size!r}")
    if cores is None:
        available_cores = current_threads() or cpu_count()
    else:
        available_cores = max(int(cores), 1)
    largest = max(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    flops = 2.0 * batch_size * largest
    if flops < SINGLE_THREAD_MAX_FLOPS:
        return 1
    return available_cores
