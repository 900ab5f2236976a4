"""Run folders and sweep folders: the only code that knows their file names and layout.

A run folder (`scratchnet train --out RUN`) holds:

    progress.json    while a process trains it: who (pid, host), where (epoch, step), the
                     settings and the History rows so far (rewritten every epoch and every
                     few seconds; removed when the run ends)
    checkpoint.npz   the whole run's state (scratchnet.train.checkpoint), every epoch
    config.json      the run's TrainConfig          } written when the run ends, so that
    history.json     the History rows               } a failed run leaves a previous run's
    history.csv      the same as a table            } files as they were
    model.npz        the trained network (scratchnet.nn.io)
    diagnosis.json   diagnose's findings on the run's probe (optional)
    report.html      the run's report (scratchnet.report)

A sweep folder (`scratchnet sweep --out SWEEP`) holds sweep.jsonl (one record per trial, the
source of truth), sweep.csv, summary.json (at the end), trials/TRIAL.npz (kept models), best/
(the winner's run folder) and report.html.

Reading (what `report`, `serve` and the API use):

    find_folders(path)      -> [RunDir | SweepDir], every run and sweep folder under path
    open_folder(path)       -> RunDir | SweepDir, or RunFileError if it is neither
    run = RunDir(path)
    run.read_config()       -> dict | None   (validated against TrainConfig; a live run's own)
    run.read_history()      -> list[dict]    (a live run's rows so far, else history.json,
                                              else history.csv; [] if none)
    run.read_diagnosis()    -> dict | None
    run.model_path          -> Path (check run.has_model() first); run.load_model()
    run.progress()          -> dict | None   (the live run's position, if one trains it now)
    run.is_live()           -> bool
    run.summary()           -> dict: the key figures of a run, for a table of runs
    sweep = SweepDir(path)
    sweep.read_trials(), sweep.read_summary(), sweep.best (a RunDir)

Every read refuses what is not a regular file (a FIFO is never opened) and checks the file
against its schema (scratchnet.runs.schemas): a bad file is a RunFileError naming it. Every
write is atomic (scratchnet.fileio). preflight() checks every output before any work starts.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import RunFileError, ScratchnetError
from ..fileio import (
    atomic_write,
    check_output_file,
    check_output_folder,
    read_text_file,
    remove_stale_parts,
)
from . import schemas

CONFIG = "config.json"
PROGRESS = "progress.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
CHECKPOINT = "checkpoint.npz"
MODEL = "model.npz"
DIAGNOSIS = "diagnosis.json"
REPORT = "report.html"
SWEEP_LOG = "sweep.jsonl"
SWEEP_CSV = "sweep.csv"
SUMMARY = "summary.json"
TRIALS = "trials"
BEST = "best"

_MAX_JSON = 256 << 20  # far above any run file scratchnet writes


def _read_json(path: Path, what: str) -> Any:
    text = read_text_file(path, what=what, error=RunFileError, max_bytes=_MAX_JSON)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RunFileError(f"{path}: not valid JSON ({exc}); delete or rewrite it") from None


def _write_json(path: Path, data: Any, *, indent: int | None = 1, allow_nan: bool = False) -> Path:
    with atomic_write(path, "w") as handle:
        json.dump(data, handle, indent=indent, allow_nan=allow_nan, default=_plain)
        handle.write("\n")
    remove_stale_parts(path)
    return path


def _plain(value: Any) -> Any:
    """NumPy scalars and tuples in JSON as plain numbers and lists."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {value!r}")


def _jsonable_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """History rows for strict JSON: NaN and infinities (a diverged epoch) become null."""
    import math

    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in rows
    ]


def history_paths(model_path: str | os.PathLike) -> tuple[Path, Path]:
    """Where `scratchnet train -o MODEL.npz` puts its history: MODEL.history.csv and .json."""
    stem = Path(model_path).with_suffix("")
    return Path(f"{stem}.history.csv"), Path(f"{stem}.history.json")


def read_history_file(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a history.json ({"epochs": [...]} or a bare list) or history.csv, checked."""
    path = Path(path)
    if path.suffix == ".csv":
        return _read_history_csv(path)
    data = _read_json(path, "history file")
    rows = data.get("epochs") if isinstance(data, dict) else data
    if isinstance(data, dict) and set(data) != {"epochs"}:
        raise RunFileError(
            f"{path}: expected an object with only 'epochs'; received {sorted(data)}"
        )
    return schemas.check_history_rows(rows, f"{path}: epochs")


def _read_history_csv(path: Path) -> list[dict[str, Any]]:
    text = read_text_file(path, what="history file", error=RunFileError, max_bytes=_MAX_JSON)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "epoch" not in reader.fieldnames:
        raise RunFileError(f"{path}: expected a header row naming 'epoch' and the metrics")
    rows = []
    try:
        for line, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise RunFileError(f"{path}: line {line} has a different number of fields")
            rows.append({k: _number(v, path, line, k) for k, v in row.items() if v != ""})
    except csv.Error as exc:
        raise RunFileError(f"{path}: not a valid CSV table ({exc})") from None
    return schemas.check_history_rows(rows, str(path))


def _number(text: str, path: Path, line: int, column: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise RunFileError(
            f"{path}: line {line}, column {column!r}: expected a number; received {text!r}"
        ) from None


def check_config(data: Any, path: str | os.PathLike) -> dict[str, Any]:
    """`data` if it is a valid TrainConfig as a dict (JSON), else RunFileError naming `path`."""
    schemas.validate(data, dict, f"{path}:")
    from .config import TrainConfig

    try:
        TrainConfig(**data)
    except (TypeError, ValueError) as exc:
        raise RunFileError(
            f"{path}: not a valid run configuration ({str(exc).splitlines()[0]}); delete or "
            "rewrite it"
        ) from None
    return data


class _Folder:
    """What a run folder and a sweep folder share: a path, a name, equality by kind and path."""

    kind = "folder"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.path == self.path

    def __hash__(self) -> int:
        return hash((self.kind, self.path))

    @property
    def name(self) -> str:
        return self.path.name


class RunDir(_Folder):
    """One run folder. Nothing is read or created until a method is called."""

    kind = "run"

    # -- the files -------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def progress_path(self) -> Path:
        return self.path / PROGRESS

    @property
    def history_json_path(self) -> Path:
        return self.path / HISTORY_JSON

    @property
    def history_csv_path(self) -> Path:
        return self.path / HISTORY_CSV

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def model_path(self) -> Path:
        return self.path / MODEL

    @property
    def diagnosis_path(self) -> Path:
        return self.path / DIAGNOSIS

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    def output_files(self) -> list[Path]:
        """Every file a training run writes here."""
        return [
            self.config_path,
            self.progress_path,
            self.history_json_path,
            self.history_csv_path,
            self.checkpoint_path,
            self.model_path,
            self.diagnosis_path,
            self.report_path,
        ]

    @classmethod
    def looks_like(cls, path: str | os.PathLike) -> bool:
        """Whether `path` is a folder holding a run's model, config, checkpoint, history or
        live progress."""
        path = Path(path)
        return path.is_dir() and any(
            (path / name).exists() for name in (MODEL, CONFIG, CHECKPOINT, HISTORY_JSON, PROGRESS)
        )

    def has_model(self) -> bool:
        return self.model_path.is_file()

    # -- reading ---------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any] | None:
        """config.json as a dict of TrainConfig's fields (checked by TrainConfig), or None."""
        live = self.progress()
        if live is not None and "config" in live:
            return check_config(live["config"], self.progress_path)
        if not self.config_path.exists():
            return None
        return check_config(_read_json(self.config_path, "run configuration"), self.config_path)

    def read_history(self) -> list[dict[str, Any]]:
        """The per-epoch rows: a live run's so far, else history.json, else history.csv; []
        when there are none."""
        live = self.progress()
        if live is not None and "history" in live:
            return schemas.check_history_rows(live["history"], f"{self.progress_path}: history")
        for path in (self.history_json_path, self.history_csv_path):
            if path.exists():
                return read_history_file(path)
        return []

    def read_diagnosis(self) -> dict[str, Any] | None:
        """diagnosis.json (diagnose's findings and per-layer records), checked; or None."""
        if not self.diagnosis_path.exists():
            return None
        data = _read_json(self.diagnosis_path, "diagnosis")
        return schemas.validate(data, schemas.DIAGNOSIS, f"{self.diagnosis_path}:")

    def read_checkpoint(self):
        """The SavedCheckpoint (scratchnet.train.checkpoint.load_checkpoint), or None."""
        if not self.checkpoint_path.exists():
            return None
        from ..train.checkpoint import load_checkpoint

        return load_checkpoint(self.checkpoint_path)

    def load_model(self):
        """The trained network (ModelFileError if model.npz is missing or damaged)."""
        from ..nn import load_model

        return load_model(self.model_path)

    def progress(self) -> dict[str, Any] | None:
        """Where the live training of this folder stands (pid, host, epoch, epochs, step,
        steps, updated), or None when no live process trains it."""
        if not self.progress_path.is_file():
            return None
        try:
            data = _read_json(self.progress_path, "progress file")
            schemas.validate(data, _PROGRESS, f"{self.progress_path}:")
        except RunFileError:
            return None  # a progress file is advisory: a bad one means "not live"
        if data["host"] != socket.gethostname():
            return data  # another machine's process: trust the file
        return data if _alive(data["pid"]) else None

    def is_live(self) -> bool:
        """Whether a process is training this run now (its progress.json names a live pid)."""
        return self.progress() is not None

    def summary(self) -> dict[str, Any]:
        """The key figures of the run, for a table of runs (values None where unknown):
        name, path, kind, live, dataset, hidden, epochs, epochs_trained, val_accuracy,
        test_accuracy, seconds, modified (a Unix time), has_model, problem (a bad file's
        message: the rest is filled in as far as it could be read)."""
        info: dict[str, Any] = {
            "name": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "live": self.is_live(),
            "has_model": self.has_model(),
            "problem": None,
        }
        config, history = {}, []
        try:
            config = self.read_config() or {}
            history = self.read_history()
        except ScratchnetError as exc:
            info["problem"] = str(exc)
        last = history[-1] if history else {}
        info.update(
            dataset=config.get("dataset"),
            hidden=config.get("hidden"),
            epochs=config.get("epochs"),
            epochs_trained=len(history),
            val_accuracy=last.get("val_accuracy"),
            accuracy=last.get("accuracy"),
            seconds=sum(float(row.get("seconds") or 0) for row in history) or None,
            test_accuracy=None,
            modified=_modified(self.path, self.output_files()),
        )
        if info["has_model"] and info["problem"] is None:
            try:
                info["test_accuracy"] = _model_metadata(self.model_path).get("test_accuracy")
            except ScratchnetError as exc:
                info["problem"] = str(exc)
        return info

    # -- writing ---------------------------------------------------------------------------
    def preflight(self, *, option: str = "--out") -> None:
        """Raise FileError unless this folder and every file a run writes in it can be
        written (a folder is not where a file goes, nothing unwritable). Creates nothing."""
        check_output_folder(self.path, option=option)
        for path in self.output_files():
            check_output_file(path, option=option)

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Create the folder and hold an exclusive lock on it while the block runs, so that
        two processes never train into one folder (flock on the folder itself: no lock file,
        and a killed process drops its lock). ScratchnetError if another process holds it."""
        self.create()
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, no protection
            yield
            return
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ScratchnetError(
                    f"{self.path} is in use by another scratchnet train; wait for it to finish"
                ) from None
            yield
        finally:
            os.close(descriptor)

    def write_config(self, config: Mapping[str, Any]) -> Path:
        return _write_json(self.config_path, dict(config))

    def write_history(self, history) -> tuple[Path, Path]:
        """history.csv and history.json from a History (or its rows)."""
        rows = getattr(history, "rows", history)
        return write_history_files(rows, self.history_csv_path, self.history_json_path)

    def write_diagnosis(self, diagnosis: Mapping[str, Any] | str) -> Path:
        """diagnosis.json from a Diagnosis.as_dict() (or its JSON text)."""
        data = json.loads(diagnosis) if isinstance(diagnosis, str) else dict(diagnosis)
        # Probe statistics may be NaN (a layer whose signal died): kept as NaN, as diagnose
        # --json prints them, so that the report draws them as gaps.
        return _write_json(self.diagnosis_path, data, allow_nan=True)

    def remove_diagnosis(self) -> None:
        self.diagnosis_path.unlink(missing_ok=True)

    def save_model(self, model) -> Path:
        from ..nn import save_model

        path = save_model(model, self.model_path)
        remove_stale_parts(path)
        return path

    def write_progress(self, **position: Any) -> None:
        """progress.json: this process trains the run, where it stands (epoch, epochs, step,
        steps), and optionally its config and history rows so far."""
        data = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "updated": time.time(),
            **position,
        }
        if "history" in data:
            data["history"] = _jsonable_rows(data["history"])
        _write_json(self.progress_path, data, indent=None)

    def clear_progress(self) -> None:
        self.progress_path.unlink(missing_ok=True)


_PROGRESS = schemas.Obj(
    {"pid": schemas.COUNT, "host": schemas.TEXT, "updated": schemas.NUMBER},
    optional={
        "epoch": schemas.WHOLE,
        "epochs": schemas.WHOLE,
        "step": schemas.WHOLE,
        "steps": schemas.WHOLE,
        "config": dict,
        "history": schemas.ListOf(dict),
    },
    extra=True,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # it exists (another user's): alive
    return True


def _modified(folder: Path, files: Sequence[Path]) -> float | None:
    times = []
    for path in files:
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    return max(times) if times else None


def _model_metadata(path: Path) -> dict[str, Any]:
    from ..nn.io import read_metadata

    return read_metadata(path)  # the header alone: a table of runs never reads weights


def write_history_files(rows, csv_path: str | os.PathLike, json_path: str | os.PathLike):
    """A History's rows as a CSV table and as JSON ({"epochs": rows}); -> both paths."""
    from ..train.history import History

    history = History()
    for row in rows:
        history.append(row)
    csv_path = history.save_csv(csv_path)
    json_path = Path(json_path)
    _write_json(json_path, {"epochs": _jsonable_rows(history.rows)})
    remove_stale_parts(csv_path)
    return csv_path, json_path


class SweepDir(_Folder):
    """One sweep folder (see the module's docstring for its files)."""

    kind = "sweep"

    @property
    def log_path(self) -> Path:
        return self.path / SWEEP_LOG

    @property
    def csv_path(self) -> Path:
        return self.path / SWEEP_CSV

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def trials_path(self) -> Path:
        return self.path / TRIALS

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    @property
    def best(self) -> RunDir:
        """The winner's run folder."""
        return RunDir(self.path / BEST)

    def trial_model_path(self, trial_id: str) -> Path:
        return self.trials_path / f"{trial_id}.npz"

    @classmethod
    def looks_like(cls, path: str | os.PathLike) -> bool:
        return (Path(path) / SWEEP_LOG).exists()  # a FIFO too: read_trials refuses it

    def read_trials(self, *, missing_ok: bool = False) -> list[dict[str, Any]]:
        """The records of sweep.jsonl in the order written, later duplicates dropped. A last
        line cut short (a killed sweep) is skipped; any other bad line is a RunFileError."""
        if not self.log_path.exists():
            if missing_ok:
                return []
            raise RunFileError(f"{self.path}: no {SWEEP_LOG} (is it a sweep folder?)")
        text = read_text_file(self.log_path, what="sweep log", error=RunFileError)
        lines = text.split("\n")
        records, seen = [], set()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                if number >= len(lines) - 1 and not text.endswith("\n"):
                    continue  # the last line, cut short by a kill: that trial runs again
                raise RunFileError(
                    f"{self.log_path}: line {number} is not valid JSON ({exc}); delete that "
                    "line to run its trial again"
                ) from None
            where = f"{self.log_path}: line {number}:"
            schemas.validate(record, schemas.TRIAL, where)
            schemas.check_history_rows(record.get("history", []), f"{where} history")
            if record["trial"] not in seen:
                seen.add(record["trial"])
                records.append(record)
        return records

    def read_summary(self) -> dict[str, Any] | None:
        """summary.json (written when a sweep finishes), checked; None if absent."""
        if not self.summary_path.exists():
            return None
        data = _read_json(self.summary_path, "sweep summary")
        return schemas.validate(data, schemas.SUMMARY, f"{self.summary_path}:")

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        return _write_json(self.summary_path, dict(summary))

    def summary(self) -> dict[str, Any]:
        """The key figures of the sweep, for a table: name, path, kind, trials, winner's
        validation and test accuracy, modified, problem."""
        info: dict[str, Any] = {"name": self.name, "path": str(self.path), "kind": self.kind}
        info.update(trials=None, val_accuracy=None, test_accuracy=None, problem=None)
        try:
            info["trials"] = len(self.read_trials())
            summary = self.read_summary() or {}
        except ScratchnetError as exc:
            info["problem"] = str(exc)
            summary = {}
        winner = summary.get("winner") or {}
        info["val_accuracy"] = winner.get("val_accuracy")
        info["test_accuracy"] = (winner.get("test") or {}).get("accuracy")
        info["modified"] = _modified(self.path, [self.log_path, self.summary_path])
        info["live"] = bool(info["trials"] is not None and not summary)
        return info

    def preflight(self, *, option: str = "--out") -> None:
        """Raise FileError unless the sweep can write its folder and files. Creates nothing."""
        check_output_folder(self.path, option=option)
        for path in (self.log_path, self.csv_path, self.summary_path, self.report_path):
            check_output_file(path, option=option)
        check_output_folder(self.trials_path, option=option)
        check_output_folder(self.best.path, option=option)
        for path in self.best.output_files():
            check_output_file(path, option=option)


def open_folder(path: str | os.PathLike) -> RunDir | SweepDir:
    """The run or sweep folder at `path`; RunFileError if it is neither."""
    path = Path(path)
    if not path.is_dir():
        raise RunFileError(f"{path}: no such folder")
    if SweepDir.looks_like(path):
        return SweepDir(path)
    if RunDir.looks_like(path):
        return RunDir(path)
    raise RunFileError(
        f"{path}: neither a run folder ({MODEL}, {CONFIG} or {CHECKPOINT}) nor a sweep folder "
        f"({SWEEP_LOG})"
    )


def find_folders(root: str | os.PathLike, *, max_depth: int = 3) -> list[RunDir | SweepDir]:
    """Every run and sweep folder at or under `root` (at most `max_depth` levels down), sorted
    by path. A sweep's best/ is listed as part of its sweep, not on its own; symbolic links to
    folders are not followed (nothing outside `root` is reached) and hidden folders skipped."""
    root = Path(root)
    found: list[RunDir | SweepDir] = []

    def visit(folder: Path, depth: int) -> None:
        if SweepDir.looks_like(folder):
            found.append(SweepDir(folder))
            return
        if RunDir.looks_like(folder):
            found.append(RunDir(folder))
        if depth >= max_depth:
            return
        try:
            children = sorted(folder.iterdir())
        except OSError:
            return
        for child in children:
            if child.name.startswith(".") or child.is_symlink() or not child.is_dir():
                continue
            visit(child, depth + 1)

    if root.is_dir():
        visit(root, 0)
    return sorted(found, key=lambda folder: str(folder.path))
