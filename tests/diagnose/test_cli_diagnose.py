"""`scratchnet diagnose` (--json, --repair) and `scratchnet lr-find` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diagnose", "--repair", "--model", "m.npz"], "drop --repair"),
        (["diagnose", "--validation-size", "0"], "--validation-size is 0"),
        (["lr-find", "--start", "1", "--stop", "0.1"], "--start must be below --stop"),
        (["lr-find", "--plot", "curve.txt"], "name it *.png"),
        (["diagnose", "--rounds", "0"], "expected a positive integer"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(cli, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*argv)
    assert code == 2 and message in _one_line(err)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_lr_find_is_listed_in_the_help(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "lr-find" in out



@pytest.mark.slow
def test_diagnose_json_names_the_cause_role_and_fix_args(cli, data_dir):
    code, out, _ = cli("diagnose", "--hidden", "32,32", "--init", "zeros", "--epochs", "1",
                       "--data-dir", data_dir, "--json")
    assert code == 0
    first = json.loads(out)["findings"][0]
    assert first["kind"] == "symmetric_weights" and first["role"] == "cause"
    assert first["fix_args"] == ["--init", "he-normal"]


@pytest.mark.slow
def test_diagnose_repair_prints_the_table_and_the_train_command(cli, data_dir):
    code, out, _ = cli("diagnose", "--hidden", "32", "--init", "zeros", "--epochs", "1",
                       "--data-dir", data_dir, "--repair", "--rounds", "1")
    assert code == 0
    assert "round 1: " in out and "val acc" in out and "fix applied" in out
    table, command = out.split("train it with:")
    assert "--init he-normal" in table  # the fix applied
    assert "zeros" not in command and "--hidden 32" in command  # he-normal is the default


@pytest.mark.slow
def test_diagnose_repair_json_gives_every_round_and_the_command(cli, data_dir):
    code, out, _ = cli("diagnose", "--hidden", "32", "--init", "zeros", "--epochs", "1",
                       "--data-dir", data_dir, "--repair", "--rounds", "1", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["rounds"][0]["fix"]["kind"] == "symmetric_weights"
    assert report["rounds"][report["best"]]["score"] > 0.5
    assert report["command"].startswith("scratchnet train")


@pytest.mark.slow
def test_lr_find_suggests_a_rate_and_plots_it(cli, data_dir, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "lr.png"
    code, out, _ = cli("lr-find", "--hidden", "32", "--steps", "60", "--data-dir", data_dir,
                       "--plot", plot)
    assert code == 0 and "train with: --lr" in out
    rate = float(out.split("train with: --lr")[1].split()[0])
    assert 1e-4 < rate < 10
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_a_users_own_mnist_npz_on_the_wrong_scale_is_diagnosed(cli, mnist, tmp_path):
    """keras' mnist.npz form holding the user's own arrays: binary 0/1 pixels."""
    (x, y), (x_test, y_test) = mnist
    np.savez(tmp_path / "mnist.npz", x_train=(x > 127).astype(np.uint8), y_train=y,
             x_test=(x_test > 127).astype(np.uint8), y_test=y_test)
    code, out, _ = cli("diagnose", "--hidden", "32", "--epochs", "1", "--data-dir", tmp_path,
                       "--json")
    assert code == 0
    first = json.loads(out)["findings"][0]
    assert first["kind"] == "data_scale" and first["fix_args"] == []
    assert first["data_fix"] == "rescale" and "no setting" in first["fix"]
