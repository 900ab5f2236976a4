"""The notebook's question, answered on the real MNIST: its deep network as written does not
learn, diagnose says why, and the same network done right trains (the slow part of the suite)."""

from __future__ import annotations

import json

import pytest

from scratchnet.cli import main
from scratchnet.experiments.notebook import (
    get_experiments,
    notebook_split,
    run_as_written,
    run_done_right,
)

pytestmark = pytest.mark.slow


def test_experiment_a_as_written_stays_at_the_notebooks_cost(mnist):
    (setting,) = get_experiments(["a"])[0].settings
    result = run_as_written(setting, mnist, quick=True)
    assert result.final_loss == pytest.approx(2.35, abs=0.03)  # the notebook printed 2.3496


def test_experiment_h_as_written_fails_and_done_right_trains(mnist):
    # The rows as `scratchnet notebook --only h --quick` makes them, with the done-right
    # learning rate that its grid (LR_GRID, 3 rates) picks: the grid itself is covered by the
    # CLI tests on small data, and here it would triple the slowest test of the suite.
    (setting,) = get_experiments(["h"])[0].settings
    # As written it is stuck from the start (20% after 3 passes and after the quick run's 10).
    as_written = run_as_written(setting, mnist, quick=True, passes=3)
    assert as_written.accuracy < 30.0  # the notebook: 17.71%, chance is about 10%
    split = notebook_split(mnist)
    done_right, lr = run_done_right(setting, mnist, split, quick=True, grid=(0.003,))
    assert lr == 0.003 and done_right.accuracy >= 97.0


def test_diagnose_names_vanishing_signal_and_the_initialisation(capsys, data_dir):
    code = main(
        ["diagnose", "--notebook", "h", "--epochs", "1", "--data-dir", str(data_dir), "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    first = report["findings"][0]
    assert first["kind"] == "vanishing_signal"
    assert "too small" in first["title"] and "He initialisation" in first["title"]
    assert "he-normal" in first["fix"]
    assert not report["healthy"]


def test_diagnose_finds_nothing_wrong_with_the_default_settings(capsys, data_dir):
    code = main(["diagnose", "--epochs", "2", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "no problem found" in out and "finding(s)" not in out


def test_diagnose_reads_a_saved_model(capsys, data_dir, tmp_path):
    model = tmp_path / "m.npz"
    assert (
        main(
            [
                "train",
                "--hidden",
                "32",
                "--epochs",
                "1",
                "--data-dir",
                str(data_dir),
                "-q",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["diagnose", "--model", str(model), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"saved model {model}" in out and "no problem found" in out
