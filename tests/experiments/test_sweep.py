"""Sweeps: search spaces, trial identity, selection on validation with the test set used once,
streamed and resumable results, and the same results from every executor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.experiments import sweep as sweep_module
from scratchnet.experiments.executors import (
    InlineExecutor,
    ProcessExecutor,
    make_executor,
    worker_threads,
)
from scratchnet.experiments.space import (
    Choice,
    IntRange,
    LogUniform,
    Uniform,
    coerce,
    grid,
    parse_distribution,
    sample,
)
from scratchnet.experiments.sweep import SweepLog, config_id, plan_trials, run_sweep
from scratchnet.train.recipe import TrainConfig, train_classifier

BASE = TrainConfig(hidden=(8,), epochs=2, validation_size=80, batch_size=32, schedule="constant")
SPACE = {"learning_rate": [0.3, 0.03], "hidden": [4, 8]}


# -- spaces ---------------------------------------------------------------------------------
def test_grid_is_every_combination_last_fastest():
    assert grid({"learning_rate": [0.1, 0.01], "batch_size": [10, 50]}) == [
        {"learning_rate": 0.1, "batch_size": 10},
        {"learning_rate": 0.1, "batch_size": 50},
        {"learning_rate": 0.01, "batch_size": 10},
        {"learning_rate": 0.01, "batch_size": 50},
    ]
    with pytest.raises(ValueError, match="has no values"):
        grid({"learning_rate": []})


def test_distributions_parse_sample_in_range_and_repeat():
    space = {
        "learning_rate": parse_distribution("loguniform:1e-4:1e-1"),
        "dropout": parse_distribution("uniform:0:0.5"),
        "batch_size": parse_distribution("int:10:100"),
        "hidden": parse_distribution("logint:16:1024"),
        "optimizer": parse_distribution("choice:sgd|adam"),
    }
    assert space["learning_rate"] == LogUniform(1e-4, 1e-1)
    assert space["dropout"] == Uniform(0.0, 0.5)
    assert space["batch_size"] == IntRange(10, 100)
    assert space["optimizer"] == Choice(("sgd", "adam"))
    drawn = sample(space, 50, seed=3)
    assert drawn == sample(space, 50, seed=3) != sample(space, 50, seed=4)
    for setting in drawn:
        assert 1e-4 <= setting["learning_rate"] <= 1e-1
        assert float(f"{setting['learning_rate']:.3g}") == setting["learning_rate"]
        assert 0 <= setting["dropout"] <= 0.5
        assert 10 <= setting["batch_size"] <= 100 and isinstance(setting["batch_size"], int)
        assert len(setting["hidden"]) == 1 and 16 <= setting["hidden"][0] <= 1024
    assert {s["optimizer"] for s in drawn} == {"sgd", "adam"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("loguniform:0:1", "0 < LOW < HIGH"),
        ("uniform:1:0", "LOW < HIGH"),
        ("int:5:1", "LOW <= HIGH"),
        ("normal:0:1", "expected loguniform:LOW:HIGH"),
        ("uniform:a:b", "expected numbers"),
        ("choice:", "at least one value"),
    ],
)
def test_bad_distributions(text, fragment):
    with pytest.raises(ValueError) as info:
        parse_distribution(text)
    assert fragment in str(info.value)


def test_coerce_to_the_field_type():
    assert coerce("hidden", 100) == (100,)
    assert coerce("hidden", [256, 128]) == (256, 128)
    assert coerce("batch_size", 31.6) == 32
    assert coerce("learning_rate", 1) == 1.0 and isinstance(coerce("learning_rate", 1), float)
    with pytest.raises(ValueError, match="not a training setting"):
        coerce("colour", 1)


# -- trials ---------------------------------------------------------------------------------
def test_trial_identity_is_the_full_config_with_seed():
    a = TrainConfig(learning_rate=0.1)
    assert config_id(a) == config_id(TrainConfig(learning_rate=0.1, data_dir="/elsewhere"))
    assert config_id(a) != config_id(TrainConfig(learning_rate=0.1, seed=1))
    assert config_id(a, with_seed=False) == config_id(
        TrainConfig(learning_rate=0.1, seed=1), with_seed=False
    )
    assert config_id(a) != config_id(TrainConfig(learning_rate=0.1, epochs=3))


def test_plan_repeats_seeds_and_validates():
    trials = plan_trials(BASE, grid(SPACE), repeats=3)
    assert len(trials) == 12
    assert [t.config.seed for t in trials[:3]] == [0, 1, 2]
    assert len({t.id for t in trials}) == 12 and len({t.setting for t in trials}) == 4
    # Identical settings (a random search drawing the same values) run once.
    assert len(plan_trials(BASE, [{"learning_rate": 0.1}] * 3)) == 1
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        plan_trials(BASE, [{"batch_size": 0}])
    with pytest.raises(ValueError, match="validation_size must be > 0"):
        plan_trials(TrainConfig(validation_size=0), [{}])
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        plan_trials(BASE, [{}], repeats=0)


def test_train_without_test_evaluation(digits):
    result = train_classifier(BASE, data=digits, progress=False, evaluate_test=False)
    assert result.test == {} and result.test_predictions is None
    assert result.model.metadata["test_accuracy"] is None
    assert result.history.last("val_accuracy") is not None


# -- the sweep ------------------------------------------------------------------------------
def count_test_evaluations(monkeypatch, n_test: int) -> list[int]:
    """Record the size of every set scored by evaluate(); the test set has n_test rows."""
    import importlib

    # scratchnet.train re-exports the function fit, which hides the module of the same name.
    fit_module = importlib.import_module("scratchnet.train.fit")
    recipe_module = importlib.import_module("scratchnet.runs.workflow")

    sizes: list[int] = []
    original = fit_module.evaluate

    def spy(model, loss, x, labels, **kwargs):
        sizes.append(int(np.shape(x)[0]))
        return original(model, loss, x, labels, **kwargs)

    monkeypatch.setattr(fit_module, "evaluate", spy)
    monkeypatch.setattr(recipe_module, "evaluate", spy)
    return sizes


def test_selects_on_validation_and_scores_only_the_winner_on_test(tmp_path, digits, monkeypatch):
    sizes = count_test_evaluations(monkeypatch, n_test=77)
    trials = plan_trials(BASE, grid(SPACE), repeats=2)
    seen = []
    result = run_sweep(
        trials,
        tmp_path,
        executor=InlineExecutor(),
        data=digits,
        on_result=lambda record, done, total: seen.append((done, total)),
        command=lambda config: f"train --lr {config.learning_rate}",
        report=False,
    )
    assert sizes.count(77) == 1, "the test set must be scored once, for the winner only"
    assert seen == [(i, 8) for i in range(1, 9)]
    assert result.ran == 8 and result.reused == 0
    best = result.settings[0]
    means = [row["val_accuracy"]["mean"] for row in result.settings]
    assert means == sorted(means, reverse=True)
    assert result.winner["setting"] == best["setting"]
    assert result.winner["val_accuracy"] == best["val_accuracy"]["max"]
    assert best["n"] == 2 and best["val_accuracy"]["std"] >= 0
    assert result.command == f"train --lr {result.winner_config.learning_rate}"
    # The winner's run folder: its model scored on test, its history and config.
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["winner"]["test"]["accuracy"] == result.test["accuracy"]
    assert summary["winner"]["command"] == result.command
    best_dir = tmp_path / "best"
    assert {p.name for p in best_dir.iterdir()} >= {
        "model.npz",
        "history.csv",
        "history.json",
        "config.json",
    }
    from scratchnet import load_model

    assert load_model(best_dir / "model.npz").metadata["test_accuracy"] == result.test["accuracy"]
    # Only the winner's trial model is kept.
    assert [p.stem for p in (tmp_path / "trials").iterdir()] == [result.winner["trial"]]


def test_results_stream_to_csv_and_jsonl(tmp_path, digits):
    trials = plan_trials(BASE, grid(SPACE))
    lines_seen = []

    def on_result(record, done, total):
        lines_seen.append(len((tmp_path / "sweep.jsonl").read_text().splitlines()))

    run_sweep(
        trials, tmp_path, executor=InlineExecutor(), data=digits, on_result=on_result, report=False
    )
    assert lines_seen == [1, 2, 3, 4], "each trial is on disk before the next one starts"
    records = [json.loads(line) for line in (tmp_path / "sweep.jsonl").read_text().splitlines()]
    assert [r["trial"] for r in records] == [t.id for t in trials]
    for record in records:
        assert record["status"] == "ok" and record["epochs"] == 2 and len(record["history"]) == 2
        assert TrainConfig(**record["config"]).seed == record["seed"] == 0
    import csv

    with open(tmp_path / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["trial"] for r in rows] == [t.id for t in trials]
    assert rows[0]["learning_rate"] == "0.3" and rows[0]["hidden"] == "4"
    assert float(rows[0]["val_accuracy"]) == records[0]["val_accuracy"]


class InterruptAfter(InlineExecutor):
    """Runs `n` trials, then raises KeyboardInterrupt as Ctrl-C would."""

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, fn, tasks, on_result, data=None):
        for number, task in enumerate(tasks):
            if number == self.n:
                raise KeyboardInterrupt
            on_result(fn(task, data))


def test_resume_runs_only_the_missing_trials_and_equals_an_uninterrupted_sweep(tmp_path, digits):
    trials = plan_trials(BASE, grid(SPACE), repeats=2)
    whole = run_sweep(
        trials, tmp_path / "whole", executor=InlineExecutor(), data=digits, report=False
    )
    with pytest.raises(KeyboardInterrupt):
        run_sweep(trials, tmp_path / "cut", executor=InterruptAfter(3), data=digits, report=False)
    assert len((tmp_path / "cut" / "sweep.jsonl").read_text().splitlines()) == 3
    # A kill in the middle of a write leaves a partial line: it is dropped, that trial reruns.
    with open(tmp_path / "cut" / "sweep.jsonl", "a") as handle:
        handle.write('{"trial": "' + trials[3].id + '", "val_acc')
    ran = []
    resumed = run_sweep(
        trials,
        tmp_path / "cut",
        executor=InlineExecutor(),
        data=digits,
        on_result=lambda record, done, total: ran.append(record["trial"]),
        report=False,
    )
    assert ran == [t.id for t in trials[3:]]
    assert resumed.ran == 5 and resumed.reused == 3
    assert len((tmp_path / "cut" / "sweep.jsonl").read_text().splitlines()) == 8

    def essence(result):
        return [
            (r["trial"], r["val_accuracy"], r["val_loss"], [row["loss"] for row in r["history"]])
            for r in result.trials
        ]

    assert essence(resumed) == essence(whole)
    assert resumed.test == whole.test and resumed.winner["trial"] == whole.winner["trial"]
    # A third run finds everything done.
    again = run_sweep(
        trials, tmp_path / "cut", executor=InlineExecutor(), data=digits, report=False
    )
    assert again.ran == 0 and again.reused == 8 and again.test == whole.test


def test_winner_model_not_kept_is_retrained_identically(tmp_path, digits):
    trials = plan_trials(BASE, [{"learning_rate": 0.03}, {"learning_rate": 0.001}])
    first = run_sweep(trials, tmp_path, executor=InlineExecutor(), data=digits, report=False)
    # As when an earlier sweep in this folder had deleted it as a loser's.
    (tmp_path / "trials" / f"{first.winner['trial']}.npz").unlink()
    again = run_sweep(trials, tmp_path, executor=InlineExecutor(), data=digits, report=False)
    assert again.ran == 0 and again.test == first.test


def test_a_diverging_trial_is_a_result_not_a_crash(tmp_path, digits):
    base = TrainConfig(
        hidden=(8,), epochs=2, validation_size=80, batch_size=32, schedule="constant", momentum=0.0
    )
    trials = plan_trials(base, [{"learning_rate": 1e6}, {"learning_rate": 0.03}])
    result = run_sweep(trials, tmp_path, executor=InlineExecutor(), data=digits, report=False)
    statuses = {r["params"]["learning_rate"]: r["status"] for r in result.trials}
    assert statuses[1e6] == "diverged"
    assert result.winner["params"]["learning_rate"] == 0.03
    assert result.settings[-1]["failed"] == 1


def test_sweep_log_ignores_partial_lines_and_rewrites_cleanly(tmp_path):
    log = SweepLog(tmp_path)
    record = {
        "trial": "a",
        "setting": "s",
        "params": {"hidden": [4]},
        "status": "ok",
        "val_accuracy": 0.5,
    }
    (tmp_path / "sweep.jsonl").write_text(json.dumps(record) + "\n" + '{"trial": "b", "val')
    assert [r["trial"] for r in log.read()] == ["a"]
    log.start(log.read(), ["hidden"])
    log.append(dict(record, trial="c"))
    log.close()
    assert [
        json.loads(x)["trial"] for x in (tmp_path / "sweep.jsonl").read_text().splitlines()
    ] == [
        "a",
        "c",
    ]
    assert (tmp_path / "sweep.csv").read_text().splitlines()[0].startswith("trial,setting")


# -- executors ------------------------------------------------------------------------------
@pytest.mark.slow  # a pool of worker processes: a second or more
def test_process_workers_match_inline_and_limit_blas_threads(tmp_path, digits):
    trials = plan_trials(BASE, grid(SPACE))
    inline = run_sweep(trials, tmp_path / "a", executor=InlineExecutor(), data=digits, report=False)
    parallel = run_sweep(
        trials, tmp_path / "b", executor=ProcessExecutor(2), data=digits, report=False
    )
    for a, b in zip(inline.trials, parallel.trials, strict=True):
        assert a["trial"] == b["trial"]
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=1e-12)
        assert [r["loss"] for r in a["history"]] == pytest.approx([r["loss"] for r in b["history"]])
    assert parallel.test == pytest.approx(inline.test)
    seen = []
    ProcessExecutor(2, blas_threads=1).run(worker_threads, [{}, {}], seen.append)
    for info in seen:
        assert info["env"]["OPENBLAS_NUM_THREADS"] == "1" and info["env"]["OMP_NUM_THREADS"] == "1"
        if info["blas"] is not None:
            assert info["blas"] and all(n == 1 for n in info["blas"])
    # The parent's environment is left as it was.
    import os

    assert os.environ.get("OPENBLAS_NUM_THREADS") == worker_threads()["env"]["OPENBLAS_NUM_THREADS"]


def test_make_executor():
    assert isinstance(make_executor("local", workers=1), InlineExecutor)
    executor = make_executor("local", workers=2)
    assert isinstance(executor, ProcessExecutor) and executor.workers == 2
    with pytest.raises(ValueError, match="needs a scheduler"):
        make_executor("dask")
    with pytest.raises(ValueError, match="local or dask"):
        make_executor("mpi")
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        ProcessExecutor(0.5)


def test_a_trial_error_stops_the_workers(tmp_path, digits):
    bad = [{"trial": "x", "config": {"hidden": "not a config"}}] * 3
    with pytest.raises(Exception) as info:
        ProcessExecutor(2).run(sweep_module.run_trial, bad, lambda record: None, digits)
    assert not isinstance(info.value, KeyboardInterrupt)
