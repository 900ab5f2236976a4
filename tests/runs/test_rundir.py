"""RunDir and SweepDir: the one owner of a run folder's files, read against their schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scratchnet.errors import FileError, RunFileError
from scratchnet.nn import mlp
from scratchnet.runs import RunDir, SweepDir, TrainConfig, find_folders, open_folder

ROWS = [
    {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_accuracy": 0.81, "seconds": 1.5},
    {"epoch": 2, "loss": 0.3, "accuracy": 0.9, "val_accuracy": 0.88, "seconds": 1.25},
]


def _finished_run(path):
    run = RunDir(path)
    run.create()
    run.write_config(TrainConfig(hidden=(8,), epochs=2).to_dict())
    run.write_history(ROWS)
    model = mlp(784, [8], 10, seed=0)
    model.metadata = {"test_accuracy": 0.875, "dataset": "mnist"}
    run.save_model(model)
    return run


def test_a_finished_run_reads_back_what_was_written(tmp_path):
    run = _finished_run(tmp_path / "a")
    assert run.read_config()["hidden"] == [8]
    assert run.read_history() == ROWS
    run.history_json_path.unlink()
    assert run.read_history() == ROWS  # from history.csv
    assert run.read_diagnosis() is None and not run.is_live()
    info = run.summary()
    assert info["epochs_trained"] == 2 and info["val_accuracy"] == 0.88
    assert info["test_accuracy"] == 0.875 and info["problem"] is None
    assert info["seconds"] == pytest.approx(2.75)


def test_find_folders_lists_runs_and_sweeps_but_not_a_sweeps_best(tmp_path):
    _finished_run(tmp_path / "runs" / "a")
    _finished_run(tmp_path / "runs" / "b")
    sweep = SweepDir(tmp_path / "sweep")
    _finished_run(sweep.best.path)
    sweep.log_path.write_text(
        json.dumps({"trial": "t", "setting": "s", "params": {}, "status": "ok"}) + "\n"
    )
    (tmp_path / "empty").mkdir()
    found = find_folders(tmp_path)
    assert [(f.kind, f.name) for f in found] == [("run", "a"), ("run", "b"), ("sweep", "sweep")]
    assert isinstance(open_folder(tmp_path / "sweep"), SweepDir)
    with pytest.raises(RunFileError, match="neither a run folder"):
        open_folder(tmp_path / "empty")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("history.json", "[1, 2]", r"epochs\[0\]: expected an object"),
        ("history.json", '{"epochs": [{"epoch": 0}]}', r"epoch: expected an integer >= 1"),
        ("history.json", '{"epochs": [{"epoch": 1, "loss": "x"}]}', "loss: expected a number"),
        ("history.json", '{"rows": []}', "only 'epochs'"),
        ("history.json", "{", "not valid JSON"),
        ("history.csv", "epoch,loss\n1,abc\n", "expected a number; received 'abc'"),
        ("history.csv", "loss\n1\n", "naming 'epoch'"),
        ("config.json", "[]", "expected an object"),
        ("config.json", '{"hidden": "x"}', "not a valid run configuration"),
        ("config.json", '{"colour": 1}', "not a valid run configuration"),
        ("diagnosis.json", '{"findings": 3}', "findings: expected a list"),
        ("diagnosis.json", '{"findings": [{"title": 1}]}', "missing 'evidence', 'fix'"),
    ],
)
def test_a_malformed_file_is_one_run_file_error_naming_it(tmp_path, name, content, message):
    run = RunDir(tmp_path)
    (tmp_path / name).write_text(content)
    read = {
        "history.json": run.read_history,
        "history.csv": run.read_history,
        "config.json": run.read_config,
        "diagnosis.json": run.read_diagnosis,
    }[name]
    with pytest.raises(RunFileError, match=message) as caught:
        read()
    assert name in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1]", "expected an object"),
        ('{"trial": 1, "setting": "s", "params": {}, "status": "ok"}', "trial: expected a string"),
        (
            '{"trial": "t", "setting": "s", "params": {}, "status": "ok", "val_accuracy": 7}',
            "from 0 to 1",
        ),
        (
            '{"trial": "t", "setting": "s", "params": {}, "status": "ok", '
            '"history": [{"epoch": "x"}]}',
            "epoch",
        ),
        ("{not json", "line 1 is not valid JSON"),
    ],
)
def test_a_malformed_sweep_record_names_the_file_and_line(tmp_path, line, message):
    sweep = SweepDir(tmp_path)
    sweep.log_path.write_text(line + "\n" + line + "\n")
    with pytest.raises(RunFileError, match=message) as caught:
        sweep.read_trials()
    assert "sweep.jsonl" in str(caught.value)


def test_a_last_sweep_line_cut_short_is_skipped(tmp_path):
    sweep = SweepDir(tmp_path)
    good = json.dumps({"trial": "t", "setting": "s", "params": {}, "status": "ok"})
    sweep.log_path.write_text(good + "\n" + '{"trial": "u", "val')
    assert [r["trial"] for r in sweep.read_trials()] == ["t"]


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ([], "expected an object"),
        ({"winner": {"trial": "t"}}, "missing"),
        ({"metric": "colour"}, "a metric's name"),
        ({"trials": "abc"}, "expected a list"),
    ],
)
def test_a_malformed_summary_is_refused(tmp_path, summary, message):
    sweep = SweepDir(tmp_path)
    sweep.summary_path.write_text(json.dumps(summary))
    with pytest.raises(RunFileError, match=message):
        sweep.read_summary()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "history.json")
    with pytest.raises(RunFileError, match="not a regular file"):
        RunDir(tmp_path).read_history()  # would block forever if it opened the pipe


def test_a_live_run_shows_its_own_config_and_rows_until_it_ends(tmp_path):
    run = _finished_run(tmp_path)
    config = TrainConfig(hidden=(16,), epochs=5).to_dict()
    run.write_progress(epoch=2, epochs=5, step=3, steps=10, config=config, history=ROWS[:1])
    assert run.is_live() and run.progress()["step"] == 3
    assert run.read_config()["hidden"] == [16] and run.read_history() == ROWS[:1]
    run.clear_progress()
    assert not run.is_live() and run.read_history() == ROWS


def test_a_progress_file_of_a_dead_process_is_not_live(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    run = RunDir(tmp_path)
    run.write_progress(epoch=1, epochs=2)
    data = json.loads(run.progress_path.read_text())
    data["pid"] = int(child.stdout)
    run.progress_path.write_text(json.dumps(data))
    assert not run.is_live()


def test_preflight_refuses_outputs_that_cannot_be_written_and_creates_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FileError, match="is a file, not a folder"):
        RunDir(blocker).preflight()
    with pytest.raises(FileError, match="is a file, not a folder"):
        RunDir(blocker / "run").preflight()
    (tmp_path / "run" / "model.npz").mkdir(parents=True)
    with pytest.raises(FileError, match="model.npz: is a folder"):
        RunDir(tmp_path / "run").preflight()
    with pytest.raises(FileError, match="history.csv: is a folder"):
        (tmp_path / "s" / "best" / "history.csv").mkdir(parents=True)
        SweepDir(tmp_path / "s").preflight()
    RunDir(tmp_path / "new" / "run").preflight()
    assert not (tmp_path / "new").exists()


def test_a_runs_summary_reads_only_the_models_header(tmp_path, monkeypatch):
    import scratchnet.fileio as fileio
    from scratchnet.nn.io import read_metadata

    run = _finished_run(tmp_path / "a")
    read = []
    real = fileio._read_member
    monkeypatch.setattr(
        fileio,
        "_read_member",
        lambda archive, info, *a: read.append(info.filename) or real(archive, info, *a),
    )
    assert run.summary()["test_accuracy"] == 0.875
    assert read == ["__scratchnet__.npy"]
    assert read_metadata(run.model_path)["dataset"] == "mnist"
