"""Hyperparameter sweeps: many training runs, compared honestly and resumable.

A trial is one TrainConfig (seed included); its id is a hash of that config, so a rerun of an
interrupted sweep recognises what is done and runs only the rest. Trials never touch the test
set: they are compared on the validation split, and only the winning setting's best trial is
scored on test. Results stream to OUT/sweep.jsonl (the record) and OUT/sweep.csv (a table) as
trials finish, one complete line each. It prints nothing; the CLI renders.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..fileio import atomic_write
from ..report.tables import format_value, summarise_settings
from ..runs.config import TrainConfig
from ..runs.rundir import SweepDir
from .executors import InlineExecutor, make_executor
from .space import coerce

METRIC = "val_accuracy"
# Not part of a trial's identity: where the data lies and which preset's name was used do not
# change what is trained.
IDENTITY_EXCLUDED = ("data_dir", "preset")
CSV_FIRST = ("trial", "setting", "repeat", "seed")
CSV_LAST = (
    "status",
    "val_accuracy",
    "val_loss",
    "accuracy",
    "loss",
    "epochs",
    "seconds",
    "worker",
    "error",
)


def config_id(config: TrainConfig | Mapping[str, Any], *, with_seed: bool = True) -> str:
    """12 hex digits of SHA-256 over the config's settings (JSON, sorted keys)."""
    settings = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    settings["hidden"] = list(settings["hidden"])
    for key in IDENTITY_EXCLUDED + (() if with_seed else ("seed",)):
        settings.pop(key, None)
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class Trial:
    """One training run of a sweep: setting number `index`, repeat `repeat` (seed + repeat)."""

    index: int
    repeat: int
    params: dict[str, Any]
    config: TrainConfig

    @property
    def id(self) -> str:
        return config_id(self.config)

    @property
    def setting(self) -> str:
        return config_id(self.config, with_seed=False)


def plan_trials(
    base: TrainConfig, settings: Sequence[Mapping[str, Any]], *, repeats: int = 1
) -> list[Trial]:
    """Each setting on top of `base`, `repeats` times with seeds seed, seed + 1, ...

    Every config is validated here (a bad value fails before anything runs); settings that
    come out identical (a random search drawing the same values twice) run once.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; received repeats={repeats!r}")
    if base.validation_size == 0:
        raise ValueError(
            "a sweep selects on the validation split; validation_size must be > 0 "
            "(received validation_size=0)"
        )
    trials, seen = [], set()
    for index, params in enumerate(settings):
        params = {name: coerce(name, value) for name, value in params.items()}
        config = dataclasses.replace(base, **params)
        for repeat in range(repeats):
            trial = Trial(
                index, repeat, params, dataclasses.replace(config, seed=config.seed + repeat)
            )
            if trial.id not in seen:
                seen.add(trial.id)
                trials.append(trial)
    return trials


# -- one trial, in whichever process runs it ----------------------------------------------
_DATA_CACHE: dict[tuple[str, str | None], Any] = {}


def _load(config: TrainConfig):
    from ..data import load_dataset

    if config.data:
        from ..data.own import load_own

        return load_own(config.data)  # kept by load_own for the next trial
    key = (config.dataset, config.data_dir)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one data set at a time: MNIST is 55 MB
        _DATA_CACHE[key] = load_dataset(config.dataset, config.data_dir, progress=False)
    return _DATA_CACHE[key]


def _clean(value: Any) -> Any:
    """NaN and infinities as None: the record is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_trial(task: Mapping[str, Any], data=None) -> dict[str, Any]:
    """Train one trial without touching the test set; -> its record (a JSON-able dict).

    task: trial, setting, index, repeat, params and config (TrainConfig.to_dict()), and
    model_path (where to save the trained model, or None). A diverging run is a result
    (status "diverged"), not an error.
    """
    from ..nn import save_model
    from ..runs.workflow import train_classifier

    config = TrainConfig(**task["config"])
    if data is None:
        data = _load(config)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "trial": task["trial"],
        "setting": task["setting"],
        "index": task["index"],
        "repeat": task["repeat"],
        "seed": config.seed,
        "params": task["params"],
        "status": "ok",
        "error": None,
    }
    rows: list[dict[str, Any]] = []
    try:
        result = train_classifier(config, data=data, progress=False, evaluate_test=False)
    except FloatingPointError as exc:
        record.update(status="diverged", error=str(exc))
    else:
        rows = [{k: _clean(v) for k, v in row.items()} for row in result.history.rows]
        if task.get("model_path"):
            save_model(result.model, task["model_path"])
    last = rows[-1] if rows else {}
    val = last.get("val_accuracy")
    if config.early_stopping and rows:
        # Early stopping restored the best epoch's weights: that epoch is the trial's result.
        best = max(rows, key=lambda row: row.get("val_accuracy") or -1.0)
        val, last = best.get("val_accuracy"), best
    record.update(
        val_accuracy=val,
        val_loss=last.get("val_loss"),
        accuracy=last.get("accuracy"),
        loss=last.get("loss"),
        epochs=len(rows),
        seconds=round(time.perf_counter() - started, 3),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        history=rows,
        config=task["config"],
    )
    return record


# -- the files ------------------------------------------------------------------------------
class SweepLog:
    """OUT/sweep.jsonl (every trial's full record, the source of truth) and OUT/sweep.csv
    (the same without histories, one row per trial), appended as trials finish.

    Each record is one write of one complete line to a file opened for appending, flushed to
    disk before the next; a line cut short by a crash is ignored on reading, and both files
    are rewritten cleanly from the complete lines when a sweep (re)starts.
    """

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.folder = SweepDir(out_dir)
        self.out_dir = self.folder.path
        self.jsonl = self.folder.log_path
        self.csv = self.folder.csv_path
        self.params: list[str] = []
        self._handles: list[int] = []

    @property
    def started(self) -> bool:
        return bool(self._handles)

    def read(self) -> list[dict[str, Any]]:
        """The complete records, in the order they were written (later duplicates dropped;
        a last line cut short by a kill is skipped: that trial simply runs again)."""
        return self.folder.read_trials(missing_ok=True)

    def start(self, records: Sequence[Mapping[str, Any]], params: Sequence[str]) -> None:
        """Rewrite both files from `records` and open them for appending."""
        self.close()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        names = list(params)
        for record in records:
            names += [p for p in record.get("params", {}) if p not in names]
        # A swept seed (or any name clashing with a fixed column) is shown once, as that column.
        self.params = [n for n in names if n not in CSV_FIRST + CSV_LAST]
        with atomic_write(self.jsonl, "w") as handle:
            handle.writelines(_json_line(record) for record in records)
        with atomic_write(self.csv, "w") as handle:
            handle.write(self._csv_line(None))
            handle.writelines(self._csv_line(record) for record in records)
        flags = os.O_WRONLY | os.O_APPEND
        self._handles = [os.open(self.jsonl, flags), os.open(self.csv, flags)]

    def append(self, record: Mapping[str, Any]) -> None:
        for handle, line in zip(
            self._handles, (_json_line(record), self._csv_line(record)), strict=True
        ):
            os.write(handle, line.encode("utf-8"))
            os.fsync(handle)

    def close(self) -> None:
        for handle in self._handles:
            os.close(handle)
        self._handles = []

    def _csv_line(self, record: Mapping[str, Any] | None) -> str:
        columns = [*CSV_FIRST, *self.params, *CSV_LAST]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if record is None:
            writer.writerow(columns)
        else:
            params = record.get("params", {})
            row = []
            for column in columns:
                if column in self.params:
                    row.append(format_value(params[column]) if column in params else "")
                else:
                    value = record.get(column)
                    row.append("" if value is None else value)
            writer.writerow(row)
        return buffer.getvalue()


def _json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"


# -- the sweep ------------------------------------------------------------------------------
@dataclasses.dataclass
class SweepResult:
    """What a sweep found: every trial's record (in plan order), the settings best first,
    the winner (its best trial's record) and the winner's test scores."""

    out_dir: Path
    trials: list[dict[str, Any]]
    settings: list[dict[str, Any]]
    winner: dict[str, Any] | None
    test: dict[str, float] | None
    ran: int
    reused: int
    wall_seconds: float
    command: str | None = None

    @property
    def winner_config(self) -> TrainConfig | None:
        return TrainConfig(**self.winner["config"]) if self.winner else None


def _task(trial: Trial, folder: SweepDir | None) -> dict[str, Any]:
    config = trial.config.to_dict()
    return {
        "trial": trial.id,
        "setting": trial.setting,
        "index": trial.index,
        "repeat": trial.repeat,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in trial.params.items()},
        "config": config,
        "model_path": str(folder.trial_model_path(trial.id)) if folder else None,
    }


def run_sweep(
    trials: Sequence[Trial],
    out_dir: str | os.PathLike,
    *,
    executor=None,
    data=None,
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
    keep_models: bool = False,
    describe: Mapping[str, Any] | None = None,
    command: Callable[[TrainConfig], str] | None = None,
    report: bool = True,
) -> SweepResult:
    """Run the trials not yet in OUT/sweep.jsonl, then select, score the winner and report.

    executor: from make_executor (default: local worker processes, one per core); data:
    ((x_train, y_train), (x_test, y_test)) to use instead of loading the data set (sent to
    each worker); on_result(record, finished, total) is called as each trial finishes;
    keep_models keeps every trial's model in OUT/trials (otherwise only the winner's stays);
    describe: extra facts stored in summary.json (the search space, the labels); command
    turns the winning config into the command that retrains it.

    The winner is the setting with the highest mean validation accuracy over its seeds; its
    best seed's model is the one scored on the test set, and OUT/best is its run folder.
    """
    started = time.perf_counter()
    folder = SweepDir(out_dir)
    out_dir = folder.path
    folder.preflight()
    if not trials:
        raise ValueError("a sweep needs at least one trial; received none")
    executor = executor or make_executor("local")
    local = not getattr(executor, "name", "") == "dask"
    model_dir = folder.trials_path if local else None
    log = SweepLog(out_dir)
    previous = {record["trial"]: record for record in log.read()}
    planned = {trial.id for trial in trials}
    params = list(dict.fromkeys(name for trial in trials for name in trial.params))
    done = {
        tid: record for tid, record in previous.items() if tid in planned and "config" in record
    }
    reused = len(done)
    pending = [_task(trial, folder if local else None) for trial in trials if trial.id not in done]

    def start_log() -> None:
        # A new sweep's folder appears with its first result: a sweep that cannot start (no
        # data, no scheduler) leaves nothing behind. A resumed one is rewritten cleanly now.
        if not log.started:
            log.start(list(previous.values()), params)

    def finished(record: dict[str, Any]) -> None:
        start_log()
        log.append(record)
        done[record["trial"]] = record
        if on_result is not None:
            on_result(record, len(done), len(trials))

    if out_dir.is_dir():
        start_log()
    try:
        executor.run(run_trial, pending, finished, data)
        start_log()
    finally:
        log.close()
    records = [done[trial.id] for trial in trials]
    settings = summarise_settings(records, metric=METRIC)
    winner, test = None, None
    best = settings[0] if settings and settings[0][METRIC]["mean"] is not None else None
    if best is not None:
        winner = done[best["best_trial"]]
        test = _finish_winner(winner, out_dir, model_dir, data)
        if model_dir is not None and not keep_models:
            for record in records:
                if record["trial"] != winner["trial"]:
                    folder.trial_model_path(record["trial"]).unlink(missing_ok=True)
    result = SweepResult(
        out_dir,
        records,
        settings,
        winner,
        test,
        ran=len(pending),
        reused=reused,
        wall_seconds=time.perf_counter() - started,
    )
    if winner is not None and command is not None:
        result.command = command(result.winner_config)
    _write_summary(result, params, executor, describe or {})
    if report:
        from ..report.run import build_run_report
        from ..report.sweep import build_sweep_report

        if winner is not None:
            test_data = data[1] if data is not None else None
            build_run_report(
                folder.best.path, test=test_data, title=f"sweep winner: {out_dir.name}"
            )
        build_sweep_report(out_dir)
    return result


def _finish_winner(winner: Mapping[str, Any], out_dir: Path, model_dir: Path | None, data):
    """Score the winning trial's model on the test set (the only test evaluation of the
    sweep) and make OUT/best its run folder. The model is the trial's own, or (when it was not
    kept, or ran on a Dask worker) retrained here from the same config and seed."""
    import numpy as np

    from ..data.features import images_to_features
    from ..nn import SoftmaxCrossEntropy, load_model, save_model
    from ..runs.workflow import train_classifier
    from ..train.fit import evaluate

    config = TrainConfig(**winner["config"])
    path = SweepDir(out_dir).trial_model_path(winner["trial"]) if model_dir is not None else None
    if data is None:
        data = _load(config)
    if path is not None and path.is_file():
        model = load_model(path)
    else:
        model = train_classifier(config, data=data, progress=False, evaluate_test=False).model
        if path is not None:
            save_model(model, path)
    _, (x_test, y_test) = data
    loss = SoftmaxCrossEntropy(label_smoothing=config.label_smoothing)
    test = evaluate(
        model, loss, images_to_features(x_test, model.dtype), np.asarray(y_test, dtype=np.int64)
    )
    best = SweepDir(out_dir).best
    best.create()
    model.metadata = dict(getattr(model, "metadata", {}) or {})
    model.metadata.update(test_accuracy=test["accuracy"], test_loss=test["loss"])
    best.save_model(model)
    best.write_history(winner.get("history", []))
    best.write_config(config.to_dict())
    return test


def _write_summary(result: SweepResult, params: list[str], executor, describe) -> None:
    winner = result.winner
    summary = {
        "metric": METRIC,
        "params": params,
        **describe,
        "executor": getattr(executor, "name", type(executor).__name__),
        "workers": getattr(executor, "workers", None),
        "trials": [record["trial"] for record in result.trials],
        "ran": result.ran,
        "reused": result.reused,
        "wall_seconds": round(result.wall_seconds, 3),
        "settings": result.settings,
        "winner": None
        if winner is None
        else {
            "trial": winner["trial"],
            "setting": winner["setting"],
            "params": winner["params"],
            "seed": winner["seed"],
            "config": winner["config"],
            "val_accuracy": winner["val_accuracy"],
            "test": result.test,
            "command": result.command,
            "run_dir": SweepDir(result.out_dir).best.name,
        },
    }
    SweepDir(result.out_dir).write_summary(summary)


__all__ = [
    "InlineExecutor",
    "SweepLog",
    "SweepResult",
    "Trial",
    "config_id",
    "make_executor",
    "plan_trials",
    "run_sweep",
    "run_trial",
]
