"""Where a sweep's trials run: in this process, in local worker processes, or on a Dask
cluster. Each executor calls fn(task, data) for every task and hands each result to
`on_result` as soon as it is ready (in finishing order); an interrupt or an error stops every
worker at once. Tasks and results are plain dicts, so they cross process boundaries as they are.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ScratchnetError

Task = dict[str, Any]
TrialFn = Callable[..., dict[str, Any]]
OnResult = Callable[[dict[str, Any]], None]

# Thread-count variables read by the BLAS libraries NumPy may be linked with, at import time.
BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def cpu_count() -> int:
    """The cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_threads(task: Task | None = None, data=None) -> dict[str, Any]:
    """What the process running it sees: its pid, the BLAS thread variables and, with
    threadpoolctl, each BLAS pool's size. A trial function's shape, to check where trials run
    and that workers x threads stays within the cores."""
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "env": {key: os.environ.get(key) for key in BLAS_ENV},
        "blas": None,
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return info
    import numpy  # noqa: F401  (load NumPy's BLAS: `import scratchnet` alone does not)

    info["blas"] = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return info


class InlineExecutor:
    """Runs the trials one after another in this process (what --workers 1 means)."""

    name = "inline"
    workers = 1

    def run(self, fn: TrialFn, tasks: Sequence[Task], on_result: OnResult, data=None) -> None:
        for task in tasks:
            on_result(fn(task, data))

    def __repr__(self) -> str:
        return "InlineExecutor()"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_WORKER_DATA: Any = None


def _init_worker(blas_threads: int, data) -> None:
    """In each worker: leave Ctrl-C to the parent (it stops the workers itself), cap the BLAS
    threads once more through threadpoolctl when it is installed, and keep the shared data."""
    global _WORKER_DATA
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        import numpy  # noqa: F401  (load NumPy's BLAS first, or there is no pool to limit)

        threadpool_limits(limits=blas_threads)
    _WORKER_DATA = data


def _call_in_worker(fn: TrialFn, task: Task) -> dict[str, Any]:
    return fn(task, _WORKER_DATA)


class ProcessExecutor:
    """Runs the trials in `workers` fresh local processes ("spawn": nothing inherited from
    this one but the environment), each with `blas_threads` BLAS threads, so that workers x
    threads does not exceed the cores.

    The thread variables (OMP_NUM_THREADS...) are set in the environment the workers start
    with, because a BLAS library reads them once, when NumPy is first imported, which in a
    spawned worker happens before any initializer could run. `data`, when given, is sent to
    each worker once; otherwise every worker loads the data set itself.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, *, blas_threads: int | None = None) -> None:
        self.workers = workers or cpu_count()
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer; received {workers!r}")
        self.blas_threads = blas_threads or max(1, cpu_count() // self.workers)

    def run(self, fn: TrialFn, tasks: Sequence[Task], on_result: OnResult, data=None) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        env = dict.fromkeys(BLAS_ENV, str(self.blas_threads))
        with _environment(env):
            pool = ProcessPoolExecutor(
                max_workers=min(self.workers, len(tasks)),
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.blas_threads, data),
            )
            pending = set()
            try:
                pending = {pool.submit(_call_in_worker, fn, task) for task in tasks}
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        on_result(future.result())
            except BrokenProcessPool as exc:
                _stop(pool, pending)
                raise ScratchnetError(
                    f"a sweep worker process died ({exc}); finished trials are saved: run the "
                    "same command again to do the rest (fewer --workers if memory ran out)"
                ) from None
            except BaseException:
                _stop(pool, pending)
                raise
            pool.shutdown(wait=True)

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers}, blas_threads={self.blas_threads})"


def _stop(pool, pending) -> None:
    """Stop at once: cancel what has not started and end the workers mid-trial (a trial's
    results are only written when it finishes, so nothing is left half-done)."""
    for future in pending:
        future.cancel()
    # ProcessPoolExecutor has no public way to end running workers before Python 3.14
    # (terminate_workers); without it, shutdown would wait for every running trial.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


class DaskExecutor:
    """Runs the trials on a Dask distributed cluster: `scheduler` is its address
    (tcp://host:8786) or a distributed.Client. Needs the `dask` extra on this machine and
    scratchnet (and the data set, unless `data` is sent along) on the workers."""

    name = "dask"
    # Seconds to wait for the scheduler to answer when no timeout is given.
    default_timeout = 20.0

    def __init__(self, scheduler, *, timeout: float | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                'the dask executor needs distributed: pip install "scratchnet[dask]"'
            ) from exc
        self.scheduler = scheduler
        self.timeout = self.default_timeout if timeout is None else timeout
        self.workers = None

    def run(self, fn: TrialFn, tasks: Sequence[Task], on_result: OnResult, data=None) -> None:
        from distributed import Client, as_completed

        if not tasks:
            return
        own = not isinstance(self.scheduler, Client)
        try:
            client = Client(self.scheduler, timeout=self.timeout) if own else self.scheduler
        except (OSError, TimeoutError) as exc:
            raise ScratchnetError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {exc}"
            ) from None
        futures = []
        try:
            self.workers = len(client.scheduler_info().get("workers", {})) or None
            shared = client.scatter(data, broadcast=True) if data is not None else None
            futures = [client.submit(fn, task, shared, pure=False) for task in tasks]
            for future in as_completed(futures):
                on_result(future.result())
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            if own:
                client.close()

    def __repr__(self) -> str:
        return f"DaskExecutor(scheduler={self.scheduler!r})"


def make_executor(
    kind: str = "local", *, workers: int | None = None, scheduler=None
) -> InlineExecutor | ProcessExecutor | DaskExecutor:
    """'local' (worker processes; one worker runs inline) or 'dask' (needs `scheduler`)."""
    if kind == "local":
        workers = workers or cpu_count()
        return InlineExecutor() if workers == 1 else ProcessExecutor(workers)
    if kind == "dask":
        if scheduler is None:
            raise ValueError("the dask executor needs a scheduler address (--scheduler)")
        return DaskExecutor(scheduler)
    raise ValueError(f"executor must be local or dask; received {kind!r}")
