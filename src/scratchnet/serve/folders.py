"""What the studio reads from run and sweep folders: runs.RunDir and runs.SweepDir, read
tolerantly.

RunDir and SweepDir own the folders' layout (every file name, the schemas); this adapter only
turns their errors into "absent", since the studio reads folders while `scratchnet train` and
`scratchnet sweep` write them, and shows what it can of a folder with a damaged file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..errors import ScratchnetError
from ..runs import RunDir, SweepDir


def is_run(folder: Path) -> bool:
    """A run folder: RunDir's files, or only the progress note of a run in its first epoch."""
    run = RunDir(folder)
    return RunDir.looks_like(folder) or run.progress_path.is_file()


def is_sweep(folder: Path) -> bool:
    return SweepDir.looks_like(folder)


def signature(folder: Path) -> tuple:
    """(size, mtime) of every file a run writes: equal signatures, same state."""
    marks = []
    for path in RunDir(folder).output_files():
        try:
            stat = os.stat(path)
        except OSError:
            marks.append(None)
        else:
            marks.append((stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


def _quietly(read, default):
    try:
        return read()
    except (ScratchnetError, OSError, ValueError):
        return default


class RunFolder:
    """One `scratchnet train --out` folder (a RunDir), every read tolerant."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = RunDir(path)

    @property
    def model_path(self) -> Path | None:
        return self.run.model_path if self.run.has_model() else None

    @property
    def report_path(self) -> Path | None:
        return self.run.report_path if self.run.report_path.is_file() else None

    def config(self) -> dict[str, Any]:
        return _quietly(self.run.read_config, None) or {}

    def progress(self) -> dict[str, Any] | None:
        """The live run's note (epoch, epochs, step, steps, updated...), None when not live."""
        return _quietly(self.run.progress, None)

    def history(self) -> list[dict[str, Any]]:
        """The per-epoch rows (a live run's so far)."""
        return _quietly(self.run.read_history, [])

    def training(self) -> bool:
        return self.progress() is not None

    def modified(self) -> float:
        times = [0.0]
        for path in self.run.output_files():
            with contextlib.suppress(OSError):
                times.append(os.stat(path).st_mtime)
        return max(times)


class SweepFolder:
    """One `scratchnet sweep --out` folder (a SweepDir): its trials, each with its history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sweep = SweepDir(path)

    def trials(self) -> list[dict[str, Any]]:
        return _quietly(lambda: self.sweep.read_trials(missing_ok=True), [])

    def summary(self) -> dict[str, Any]:
        return _quietly(self.sweep.read_summary, None) or {}

    @property
    def report_path(self) -> Path | None:
        return self.sweep.report_path if self.sweep.report_path.is_file() else None

    def modified(self) -> float:
        try:
            return os.stat(self.sweep.log_path).st_mtime
        except OSError:
            return 0.0
