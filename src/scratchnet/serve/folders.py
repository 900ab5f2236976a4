"""What the studio reads from one run or sweep folder, in one place.

A thin view over the files `scratchnet train --out` and `scratchnet sweep --out` write. It is the
only module of serve/ that names those files, so that it can be swapped for runs.RunDir (the
project's owner of a run folder's layout) without touching the rest. Every read is tolerant: a
file being written, missing or malformed reads as absent, since a live run is read while it grows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MODEL = "model.npz"
CHECKPOINT = "checkpoint.npz"
HISTORY = "history.json"
CONFIG = "config.json"
PROGRESS = "progress.json"
REPORT = "report.html"
SWEEP = "sweep.jsonl"
SWEEP_SUMMARY = "summary.json"

#: The files whose change means a run moved on (a new epoch, a new progress note, its end).
RUN_MARKERS = (MODEL, CHECKPOINT, HISTORY, PROGRESS, CONFIG)


def is_run(folder: Path, names: set[str]) -> bool:
    """A run folder holds a model, a checkpoint, a history or a progress note."""
    return bool(names & {MODEL, CHECKPOINT, HISTORY, PROGRESS})


def is_sweep(folder: Path, names: set[str]) -> bool:
    return SWEEP in names


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing, being written or malformed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def signature(folder: Path, names: tuple[str, ...] = RUN_MARKERS) -> tuple:
    """(size, mtime) of the files that change as a run goes on: equal signatures, same state."""
    marks = []
    for name in names:
        try:
            stat = os.stat(folder / name)
        except OSError:
            marks.append(None)
        else:
            marks.append((stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


class RunFolder:
    """One `scratchnet train --out` folder, read without trusting it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def model_path(self) -> Path | None:
        path = self.path / MODEL
        return path if path.is_file() else None

    @property
    def report_path(self) -> Path | None:
        path = self.path / REPORT
        return path if path.is_file() else None

    def config(self) -> dict[str, Any]:
        config = read_json(self.path / CONFIG)
        return config if isinstance(config, dict) else {}

    def progress(self) -> dict[str, Any] | None:
        """The note a running `scratchnet train --out` keeps: pid, epoch, epochs, step, steps."""
        progress = read_json(self.path / PROGRESS)
        return progress if isinstance(progress, dict) else None

    def history(self) -> list[dict[str, Any]]:
        """The per-epoch rows of history.json (rewritten after every epoch of a live run)."""
        data = read_json(self.path / HISTORY)
        if isinstance(data, dict):
            data = data.get("epochs")
        if not isinstance(data, list):
            return []
        return [row for row in data if isinstance(row, dict)]

    def diagnosis(self) -> dict[str, Any] | None:
        data = read_json(self.path / "diagnosis.json")
        return data if isinstance(data, dict) else None

    def training(self) -> bool:
        """True while a `scratchnet train` writes here (it removes its progress note at the end)."""
        return self.progress() is not None

    def modified(self) -> float:
        """The newest modification time (seconds since the epoch) among the run's files."""
        times = [0.0]
        for name in RUN_MARKERS:
            try:
                times.append(os.stat(self.path / name).st_mtime)
            except OSError:
                pass
        return max(times)


class SweepFolder:
    """One `scratchnet sweep --out` folder: its trials, each with its history."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def trials(self) -> list[dict[str, Any]]:
        try:
            lines = (self.path / SWEEP).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        trials = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line being appended
            if isinstance(record, dict):
                trials.append(record)
        return trials

    def summary(self) -> dict[str, Any]:
        data = read_json(self.path / SWEEP_SUMMARY)
        return data if isinstance(data, dict) else {}

    @property
    def report_path(self) -> Path | None:
        path = self.path / REPORT
        return path if path.is_file() else None

    def modified(self) -> float:
        try:
            return os.stat(self.path / SWEEP).st_mtime
        except OSError:
            return 0.0
