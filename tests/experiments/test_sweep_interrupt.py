"""Acceptance: interrupt `scratchnet sweep` halfway with SIGINT (Ctrl-C), run the same command
again: only the missing trials run, and the results equal an uninterrupted sweep's. Real MNIST,
a tiny network, a real subprocess with worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GRID = "lr=0.2,0.1,0.05,0.02,0.01,0.005"


def sweep_command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scratchnet",
        "sweep",
        "--grid",
        GRID,
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "1000",
        "--workers",
        "2",
        "--out",
        str(out),
    ]


def records(out: Path) -> dict[str, dict]:
    lines = (out / "sweep.jsonl").read_text().splitlines()
    return {r["trial"]: r for r in map(json.loads, lines)}


def test_sigint_then_rerun_does_only_the_missing_trials(
    tmp_path, data_dir, ctrl_c_reaches_children
):
    env = dict(os.environ, SCRATCHNET_DATA=str(data_dir))
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run(sweep_command(whole), env=env, check=True, capture_output=True, timeout=300)
    expected = records(whole)
    assert len(expected) == 6

    process = subprocess.Popen(
        sweep_command(cut), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log = cut / "sweep.jsonl"
    deadline = time.monotonic() + 240
    while not (log.is_file() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sweep did not get going"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "interrupted" in err and "run the same command again" in err
    assert "Traceback" not in err
    done_before = records(cut)
    assert 2 <= len(done_before) < 6, "interrupted halfway, not at the end"

    rerun = subprocess.run(
        sweep_command(cut), env=env, check=True, capture_output=True, text=True, timeout=300
    )
    assert f"{len(done_before)} trial(s) were already done" in rerun.stdout
    ran_now = [line for line in rerun.stdout.splitlines() if line.startswith("[")]
    assert len(ran_now) == 6 - len(done_before)
    after = records(cut)
    assert set(after) == set(expected)
    for trial, record in expected.items():
        assert after[trial]["val_accuracy"] == record["val_accuracy"]
        assert after[trial]["history"] == [
            dict(row, seconds=after[trial]["history"][i]["seconds"])
            for i, row in enumerate(record["history"])
        ]
    whole_summary = json.loads((whole / "summary.json").read_text())
    cut_summary = json.loads((cut / "summary.json").read_text())
    assert cut_summary["winner"]["test"] == whole_summary["winner"]["test"]
    assert cut_summary["winner"]["command"] == whole_summary["winner"]["command"]
