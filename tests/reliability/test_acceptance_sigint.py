"""Acceptance: `scratchnet train` killed with SIGINT at a random moment and then resumed ends
with the same weights as a run that never stopped. Real processes, real MNIST, tiny settings.

The moment is random (drawn afresh each run and printed on failure); to replay one, set
SCRATCHNET_TEST_DELAY to the delay in seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from scratchnet.cli import main

pytestmark = pytest.mark.slow

SETTINGS = ["--hidden", "32", "--epochs", "2", "--validation-size", "1000", "--dropout", "0.2"]


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _scratchnet(*argv, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "scratchnet", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_sigint_at_a_random_moment_then_resume_gives_the_same_weights(data_dir, tmp_path):
    reference = tmp_path / "reference"
    started = time.perf_counter()
    assert (
        main(["train", *SETTINGS, "--data-dir", str(data_dir), "-q", "--out", str(reference)]) == 0
    )
    duration = time.perf_counter() - started

    delay = float(os.environ.get("SCRATCHNET_TEST_DELAY", random.uniform(0.0, 0.9 * duration)))
    context = f"SIGINT {delay:.2f} s into training (SCRATCHNET_TEST_DELAY={delay:.3f})"
    run = tmp_path / "run"
    process = _scratchnet("train", *SETTINGS, "--data-dir", data_dir, "--out", run)
    # The description is printed once the data are loaded, when a signal starts to save.
    first_line = process.stdout.readline()
    assert first_line.startswith("training mnist"), (first_line, process.stderr.read())
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err, context
    if process.returncode == 130:
        assert err.count("\n") == 1, (context, err)
        assert f"resume with: scratchnet train --resume {run}" in err, (context, err)
        assert not (run / "model.npz").exists(), context
        resumed = _scratchnet("train", "--resume", run, "-q")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, (context, err)
    else:  # the signal came after the last step: the run completed, and says so
        assert process.returncode in (0, 130), (context, process.returncode, err)

    expected, got = _arrays(reference / "model.npz"), _arrays(run / "model.npz")
    assert expected.keys() == got.keys(), context
    for key in expected:
        assert expected[key].tobytes() == got[key].tobytes(), (context, key)
    assert (reference / "model.npz").read_bytes() == (run / "model.npz").read_bytes(), context
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in reference.iterdir())
