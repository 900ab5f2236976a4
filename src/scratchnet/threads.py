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


# -- the cores free now -------------------------------------------------------------------------
# A share of a core counts as free from this much: a BLAS thread on a core shared with a busy
# process waits for its turn and the other threads wait for it; below it, idle noise is ignored.
_ROUND_UP = 0.5


def _proc_stat_ticks(cpus: set[int]) -> tuple[int, int] | None:
    """(busy, total) clock ticks summed over `cpus`, from /proc/stat; None off Linux."""
    busy = total = 0
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            for line in handle:
                if not line.startswith("cpu") or line.startswith("cpu "):
                    continue
                name, *fields = line.split()
                if int(name[3:]) not in cpus:
                    continue
                values = [
                    int(v) for v in fields[:8]
                ]  # user nice system idle iowait irq softirq steal
                total += sum(values)
                busy += sum(values) - values[3] - values[4]
    except (OSError, ValueError):
        return None
    return (busy, total) if total else None


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError):
        return 100


def _own_cpu_seconds() -> float:
    """CPU time of every thread of this process (BLAS threads included), user and system."""
    times = os.times()
    return times.user + times.system


def _cgroup_cpu_limit() -> float | None:
    """The cores a cgroup v2 quota allows (cpu.max 'quota period'); None without a quota."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


class LoadMeter:
    """How much of this process's CPUs other processes use, measured between two calls.

    `others()` returns the CPUs' worth of work that processes other than this one did on this
    process's CPUs (its affinity mask) since the previous call: /proc/stat's busy time on
    those CPUs minus this process's own CPU time (so that its own BLAS threads, spinning or
    working, never count against it). Off Linux it falls back to the one-minute load average.
    """

    def __init__(self) -> None:
        self.cpus = self._affinity()
        self._last = self._snapshot()

    @staticmethod
    def _affinity() -> set[int]:
        try:
            return set(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return set(range(os.cpu_count() or 1))

    def _snapshot(self):
        return _proc_stat_ticks(self.cpus), _own_cpu_seconds()

    def others(self, *, min_ticks_per_cpu: int = 5, wait: float = 0.1) -> float:
        """Busy CPUs' worth of other processes since the last call (waiting up to `wait`
        seconds when less than `min_ticks_per_cpu` clock ticks have passed, for a reading
        worth having)."""
        import time

        (before, own_before), now = self._last, self._snapshot()
        if before is None or now[0] is None:
            self._last = now
            try:
                return max(os.getloadavg()[0] - 1.0, 0.0)  # less this process itself
            except (AttributeError, OSError):
                return 0.0
        needed = min_ticks_per_cpu * len(self.cpus)
        if now[0][1] - before[1] < needed and wait > 0:
            time.sleep(wait)
            now = self._snapshot()
        self._last = now
        (busy, total), own = now[0], now[1]
        elapsed_ticks = total - before[1]
        if elapsed_ticks <= 0:
            return 0.0
        share = len(self.cpus) / elapsed_ticks  # ticks -> CPUs busy on average
        others_ticks = (busy - before[0]) - (own - own_before) * _clock_ticks()
        return max(others_ticks * share, 0.0)

    def free_cores(self) -> int:
        """This process's CPUs (affinity mask, cgroup quota) less those others keep busy, at
        least 1."""
        usable = float(len(self.cpus))
        limit = _cgroup_cpu_limit()
        if limit is not None:
            usable = min(usable, limit)
        free = usable - self.others()
        return max(int(free + (1 - _ROUND_UP)), 1)


def free_cores(meter: LoadMeter | None = None) -> int:
    """The cores free now: CPU affinity and cgroup quota less the load of other processes,
    measured over 0.1 s (or since `meter`'s last reading). At least 1."""
    return (meter or LoadMeter()).free_cores()


class ThreadChooser:
    """Picks the BLAS thread count for a network from the cores free now, again at each call.

    sizes, batch_size: as for choose_threads; products under SINGLE_THREAD_MAX_FLOPS always
    get 1 thread. cap: the most threads to use (default: the BLAS's own count when created,
    so that OPENBLAS_NUM_THREADS or a sweep worker's limit is never raised).
    """

    def __init__(self, sizes: Sequence[int], batch_size: int, *, cap: int | None = None) -> None:
        self.wide = choose_threads(sizes, batch_size, cores=2) > 1
        self.cap = max(int(cap or current_threads() or cpu_count()), 1)
        self.meter = LoadMeter()

    def choose(self) -> int:
        if not self.wide or self.cap == 1:
            return 1
        return min(self.cap, self.meter.free_cores())


@contextlib.contextmanager
def threads_for_network(sizes: Sequence[int], batch_size: int) -> Iterator[int | None]:
    """Run the block with BLAS threads chosen for this network from the cores free now
    (ThreadChooser: one thread for tiny products, never more than the current limit); yields
    the count, or None without threadpoolctl (BLAS keeps its own). On a busy machine a second
    OpenBLAS thread waiting for a core can make small products 30x slower, so code that trains
    without `train`'s own choice (the notebook and ablation experiments) runs inside this."""
    if not available():
        yield None
        return
    threads = ThreadChooser(sizes, batch_size).choose()
    with blas_threads(threads):
        yield threads


def set_threads(threads: int) -> None:
    """Limit NumPy's BLAS to `threads` from now on (without threadpoolctl: nothing). The caller
    restores the previous limits (a `with blas_threads(...)` around it does)."""
    module = _threadpoolctl()
    if module is not None:
        module.threadpool_limits(limits=check_threads(threads), user_api="blas")
