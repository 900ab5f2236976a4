"""`scratchnet sweep` and `scratchnet report`, called as main([...]): arguments read as train
reads them, bad ones exit 2 with one line, the printed winner command retrains exactly the
winner, and report.html is written for run and sweep folders."""

from __future__ import annotations

import csv
import json
import shlex

import pytest

from scratchnet.cli import build_parser
from scratchnet.cli.sweep import parse_grid, parse_random, read_value, resolve, train_command
from scratchnet.cli.train import config_from_args
from scratchnet.train.recipe import TrainConfig


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["sweep"], "one of the arguments --grid --random is required"),
        (["sweep", "--grid", "lr"], "expected NAME=VALUES"),
        (["sweep", "--grid", "colour=red"], "cannot sweep 'colour'"),
        (["sweep", "--grid", "lr=0.1,-1"], "expected a positive number; received '-1'"),
        (["sweep", "--grid", "batch-size=10,0"], "expected a positive integer"),
        (["sweep", "--grid", "lr=0.1", "lr=0.2"], "lr is given twice"),
        (["sweep", "--grid", "batch-norm=maybe"], "expected true or false"),
        (["sweep", "--random", "x", "lr=uniform:0:1"], "the number of settings first"),
        (["sweep", "--random", "3", "lr=normal:0:1"], "expected loguniform:LOW:HIGH"),
        (["sweep", "--random", "3"], "at least one NAME=DISTRIBUTION"),
        (["sweep", "--grid", "lr=0.1", "--random", "2", "lr=uniform:0:1"], "not allowed with"),
        (["sweep", "--grid", "lr=0.1", "--executor", "dask"], "needs --scheduler"),
        (["sweep", "--grid", "lr=0.1", "--validation-size", "0"], "validation_size must be > 0"),
        (["report"], "the following arguments are required: DIR"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path, monkeypatch, argv, fragment, run, one_error_line
):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*argv)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("scratchnet") and fragment in line
    assert list(tmp_path.iterdir()) == []


def test_values_are_read_as_train_reads_them():
    assert resolve("lr") == ("learning-rate", "learning_rate")
    assert resolve("batch_size") == ("batch-size", "batch_size")
    space, labels = parse_grid(["lr=0.1,1e-3", "hidden=256,128|512|100x2", "batch-norm=true,false"])
    assert space == {
        "learning_rate": [0.1, 0.001],
        "hidden": [(256, 128), (512,), (100, 100)],
        "batch_norm": [True, False],
    }
    assert labels == {"learning_rate": "lr", "hidden": "hidden", "batch_norm": "batch-norm"}
    assert read_value("no-nesterov", "true") is False and read_value("nesterov", "no") is False
    assert read_value("clip-norm", "none") is None
    count, dists, _ = parse_random(["5", "lr=loguniform:1e-4:1e-1", "optimizer=choice:sgd|adam"])
    assert count == 5 and dists["optimizer"].values == ("sgd", "adam")


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(hidden=(5,), learning_rate=0.1 / 3, batch_size=50, momentum=0.0, epochs=3),
        TrainConfig(
            hidden=(),
            nesterov=False,
            batch_norm=True,
            clip_norm=1.5,
            optimizer="adamw",
            schedule="onecycle",
            augment="affine",
            dataset="fashion-mnist",
            seed=7,
            dtype="float64",
        ),
    ],
)
def test_the_winner_command_reads_back_as_the_same_config(config, tmp_path):
    folder = tmp_path / "data dir"  # --data-dir must exist
    folder.mkdir()
    words = shlex.split(train_command(config, data_dir=str(folder)))
    assert words[:2] == ["scratchnet", "train"]
    args = build_parser().parse_args(words[1:])
    again = config_from_args(args)
    assert again.data_dir == str(folder)
    mine, theirs = config.to_dict(), again.to_dict()
    for key in ("data_dir", "preset"):
        mine.pop(key), theirs.pop(key)
    assert theirs == mine


@pytest.mark.slow
def test_grid_sweep_on_mnist_prints_a_command_that_retrains_the_winner(tmp_path, data_dir, run):
    out = tmp_path / "sweep"
    code, stdout, err = run(
        "sweep",
        "--grid",
        "lr=0.1,0.01",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "1000",
        "--workers",
        "1",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "sweep (grid): 2 trials (2 settings x 1 seed(s))" in stdout
    assert stdout.count("val_acc") == 2
    command = next(line for line in stdout.splitlines() if line.startswith("retrain it: "))
    words = shlex.split(command.removeprefix("retrain it: "))
    winner = config_from_args(build_parser().parse_args(words[1:]))
    assert winner.to_dict() == json.loads((out / "best" / "config.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["winner"]["test"]["accuracy"] > 0.85
    for name in ("sweep.csv", "sweep.jsonl", "report.html", "best/report.html", "best/model.npz"):
        assert (out / name).is_file(), name
    # The same command again runs nothing.
    code, stdout, _ = run(
        "sweep",
        "--grid",
        "lr=0.1,0.01",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "1000",
        "--workers",
        "1",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    )
    assert code == 0 and "2 trial(s) were already done" in stdout and "val_acc" not in stdout


@pytest.mark.slow
def test_random_sweep_with_repeats_in_worker_processes(tmp_path, data_dir, monkeypatch, run):
    monkeypatch.setenv("SCRATCHNET_DATA", str(data_dir))
    out = tmp_path / "random"
    code, stdout, err = run(
        "sweep",
        "--random",
        "2",
        "lr=loguniform:1e-2:3e-1",
        "--repeats",
        "2",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "1000",
        "--workers",
        "2",
        "-q",
        "--out",
        str(out),
    )
    assert code == 0, err
    with open(out / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and sorted(r["seed"] for r in rows) == ["0", "0", "1", "1"]
    assert len({r["worker"] for r in rows}) >= 1
    assert "(mean of 2 seeds)" in stdout


@pytest.mark.slow
def test_report_of_a_train_run_folder(tmp_path, data_dir, run):
    run_dir = tmp_path / "run"
    code, _, err = run(
        "train",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "1000",
        "--data-dir",
        str(data_dir),
        "--out",
        str(run_dir),
        "-q",
    )
    assert code == 0, err
    (run_dir / "report.html").unlink(missing_ok=True)
    code, stdout, err = run("report", str(run_dir))
    assert code == 0, err
    assert stdout.strip() == f"report written to {run_dir / 'report.html'}"
    page = (run_dir / "report.html").read_text()
    assert "test accuracy" in page and "the test set could not be read" not in page


def test_report_of_something_else_exits_1(tmp_path, run, one_error_line):
    code, _, err = run("report", str(tmp_path / "missing"))
    assert code == 1 and "no such folder" in one_error_line(err)
    code, _, err = run("report", str(tmp_path))
    assert code == 1 and "neither a run folder" in one_error_line(err)


def test_sweep_help_lists_the_distributions(run):
    code, out, _ = run("sweep", "--help")
    assert code == 0
    assert "loguniform:LOW:HIGH" in out and "--workers" in out and "--hidden" in out
