"""Shared test settings: hypothesis profiles, the real-data fixture, and synthetic digits.

Real-data tests read MNIST from SCRATCHNET_DATA (CI points it at ../shared/data). They skip
only when no data can be found at all, and never in CI (CI=true), where a skip would hide a
broken setup.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """The tests' own BLAS calls run on one thread; tests about threads set their own count.

    Their matrices are small, and a second OpenBLAS thread that has to wait for a core another
    process holds turns each product into a scheduler tick: with one busy process on this 2-core
    machine, tests/experiments/test_ablation.py took 47 s on 2 threads and 1.6 s on one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the NumPy-only install: BLAS keeps its own default
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def real_data_dir() -> Path | None:
    """SCRATCHNET_DATA, else ../shared/data beside the checkout, if it holds MNIST."""
    candidates = [os.environ.get("SCRATCHNET_DATA"), str(REPO.parent / "shared" / "data")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding the real mnist/ and fashion-mnist/ (skips, or fails in CI, if none)."""
    found = real_data_dir()
    if found is None:
        message = "no real MNIST found: set SCRATCHNET_DATA to a folder holding mnist/"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the real-data tests)")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def mnist(data_dir):
    """The real MNIST: ((x_train, y_train), (x_test, y_test)), loaded once per session."""
    from scratchnet.data import load_dataset

    return load_dataset("mnist", data_dir, download=False)


def make_digits(n_train: int = 400, n_test: int = 120, seed: int = 0):
    """Three noisy 28x28 prototypes as uint8 images: ((x_train, y_train), (x_test, y_test))."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, (3, 28, 28))

    def draw(count: int):
        labels = rng.integers(0, 3, count)
        noise = rng.normal(0, 110, (count, 28, 28))
        images = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
        return images, labels.astype(np.uint8)

    return draw(n_train), draw(n_test)


@pytest.fixture(scope="session")
def synthetic_digits():
    """make_digits, for the conftests of tests/report and tests/experiments (with importlib
    imports, a conftest cannot import another's functions)."""
    return make_digits


@pytest.fixture
def ctrl_c_reaches_children():
    """Child processes take SIGINT as a terminal's Ctrl-C reaches them. Started from a
    background job, this process inherits SIGINT ignored, and so would its children (Python
    then never raises KeyboardInterrupt); with a Python handler here, they start with the
    default one."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def cli(capsys):
    """cli(*argv) -> (exit status, stdout, stderr) of main([...]); argparse's SystemExit
    becomes a status."""
    from scratchnet.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
