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

pytestmark = pytest.mark.slow

SETTINGS = ["--hidden", "32", "--epochs", "3", "--validation-size", "1000", "--dropout", "0.2"]
SETTINGS += ["--threads", "1"]  # compared bitwise: the default follows the machine's load


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _scratchnet(*argv, cache=None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if cache is not None:
        # Separate processes time the matrix layouts afresh and may choose differently where two
        # are close (the last bits then differ): one shared cache makes them choose alike.
        env["SCRATCHNET_AUTOTUNE_CACHE"] = str(cache)
    return subprocess.Popen(
        [sys.executable, "-m", "scratchnet", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_sigint_at_a_random_moment_then_resume_gives_the_same_weights(data_dir, tmp_path):
    # The reference runs in a process of its own too: this one's BLAS thread count may have
    # been changed by other tests, and the thread count can change the last bits. It also
    # measures how long training takes, from the line printed when it starts to the end.
    reference = tmp_path / "reference"
    cache = tmp_path / "layouts.json"
    process = _scratchnet(
        "train", *SETTINGS, "--data-dir", data_dir, "--out", reference, cache=cache
    )
    assert process.stdout.readline().startswith("training mnist")
    started = time.perf_counter()
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    duration = time.perf_counter() - started

    delay = float(os.environ.get("SCRATCHNET_TEST_DELAY", random.uniform(0.0, 0.9 * duration)))
    context = f"SIGINT {delay:.2f} s into training (SCRATCHNET_TEST_DELAY={delay:.3f})"
    run = tmp_path / "run"
    process = _scratchnet("train", *SETTINGS, "--data-dir", data_dir, "--out", run, cache=cache)
    # The description is printed once the data are loaded, when a signal starts to save.
    first_line = process.stdout.readline()
    assert first_line.startswith("training mnist"), (first_line, process.stderr.read())
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    print(context, "exit status", process.returncode, err.strip())
    assert "Traceback" not in err, context
    if process.returncode == 0:  # it finished before the signal was sent
        assert err == "", (context, err)
    elif "resume with" in err:
        assert process.returncode == 130 and err.count("\n") == 1, (context, err)
        assert err.endswith(f"resume with: scratchnet train --resume {run}\n"), (context, err)
        assert not (run / "model.npz").exists(), context
        resumed = _scratchnet("train", "--resume", run, "-q")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, (context, err)
    else:  # the signal came after the last step: the run completed, and says so
        assert process.returncode == 130 and "the run is complete" in err, (context, err)

    expected, got = _arrays(reference / "model.npz"), _arrays(run / "model.npz")
    assert expected.keys() == got.keys(), context
    for key in sorted(expected, key=lambda k: k.startswith("__")):  # the weights first
        assert expected[key].tobytes() == got[key].tobytes(), (context, key)
    assert (reference / "model.npz").read_bytes() == (run / "model.npz").read_bytes(), context
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in reference.iterdir())
