"""Run and sweep reports: one self-contained page (images as data URIs, nothing fetched),
with the summary, the plots and diagnose's findings; without matplotlib, the tables and a
note instead of plots; a folder that is not a run is refused with one clear error."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from scratchnet.errors import ScratchnetError
from scratchnet.report import build_run_report, build_sweep_report, read_history
from scratchnet.report import run as run_report
from scratchnet.report import sweep as sweep_report

HAVE_MPL = run_report.have_matplotlib()


def images(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]*)"', page)


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    for source in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert source.startswith("data:"), f"fetches {source}"


@pytest.mark.skipif(not HAVE_MPL, reason="the plot extra (matplotlib) is not installed")
def test_run_report_has_summary_plots_and_findings(run_dir, digits):
    from scratchnet.diagnose.run import diagnose_training
    from scratchnet.train.recipe import TrainConfig

    config = TrainConfig(hidden=(16, 16), epochs=2, validation_size=80, batch_size=32)
    diagnosis = diagnose_training(config, data=digits, probe_size=50)
    (run_dir / "diagnosis.json").write_text(json.dumps(diagnosis.as_dict()))
    path = build_run_report(run_dir, test=digits[1])
    assert path == run_dir / "report.html"
    page = path.read_text()
    assert_self_contained(page)
    for alt in (
        "learning curves",
        "confusion matrix",
        "misclassified test images",
        "first-layer weights",
        "per-layer statistics",
    ):
        assert f'alt="{alt}"' in page
    assert all(source.startswith("data:image/png;base64,") for source in images(page))
    assert "test accuracy" in page and "Diagnosis" in page and "precision %" in page


def test_run_report_reads_the_test_set_itself_or_says_why_not(run_dir, monkeypatch, tmp_path):
    config = json.loads((run_dir / "config.json").read_text())
    config["data_dir"] = str(tmp_path / "nowhere")
    (run_dir / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    page = build_run_report(run_dir).read_text()
    assert "the test set could not be read" in page
    assert "no diagnosis.json" in page


def test_run_report_without_matplotlib_keeps_the_tables(run_dir, digits, monkeypatch):
    monkeypatch.setattr(run_report, "have_matplotlib", lambda: False)
    page = build_run_report(run_dir, test=digits[1]).read_text()
    assert_self_contained(page)
    assert images(page) == []
    assert 'pip install "scratchnet[plot]"' in page.replace("&quot;", '"')
    assert "precision %" in page


def test_history_from_csv_when_json_is_missing(run_dir):
    from_json = read_history(run_dir)
    (run_dir / "history.json").unlink()
    from_csv = read_history(run_dir)
    assert [row["epoch"] for row in from_csv] == [row["epoch"] for row in from_json]
    assert np.allclose(
        [row["val_accuracy"] for row in from_csv], [row["val_accuracy"] for row in from_json]
    )


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ScratchnetError, match="no such run folder"):
        build_run_report(tmp_path / "missing")
    with pytest.raises(Exception, match="model"):
        build_run_report(tmp_path)
    with pytest.raises(ScratchnetError, match="no sweep.jsonl"):
        build_sweep_report(tmp_path)


def test_report_escapes_text(run_dir, digits):
    (run_dir / "diagnosis.json").write_text(
        json.dumps(
            {
                "subject": "<script>alert(1)</script>",
                "findings": [{"title": "a < b & c", "evidence": "<b>", "fix": '"x"'}],
                "records": [],
            }
        )
    )
    page = build_run_report(run_dir, test=digits[1]).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt; b &amp; c" in page


def test_unfinished_sweep_report_shows_the_trials_so_far(tmp_path):
    records = [
        {
            "trial": f"t{i}",
            "setting": f"s{i}",
            "seed": 0,
            "params": {"learning_rate": lr},
            "val_accuracy": acc,
            "status": "ok",
            "epochs": 1,
            "seconds": 1.0,
            "history": [{"epoch": 1, "loss": 1.0, "val_accuracy": acc}],
        }
        for i, (lr, acc) in enumerate([(0.1, 0.9), (0.01, 0.8)])
    ]
    lines = "".join(json.dumps(r) + "\n" for r in records) + '{"trial": "cut sho'
    (tmp_path / "sweep.jsonl").write_text(lines)
    page = build_sweep_report(tmp_path).read_text()
    assert_self_contained(page)
    assert "has not finished" in page
    assert page.count("<tr>") >= 2 + 2  # settings table and trials table
    if sweep_report.have_matplotlib():
        assert 'alt="metric against each parameter"' in page


def test_without_matplotlib_installed(run_dir, tmp_path):
    """With matplotlib absent, plots raise ImportError naming the extra; reports still build."""
    import os
    import subprocess
    import sys

    code = f"""
import sys
sys.modules["matplotlib"] = None  # as if it were not installed
from scratchnet.report import build_run_report, plots
assert not plots.have_matplotlib()
try:
    plots.learning_curves([{{"epoch": 1, "loss": 1.0}}])
except ImportError as exc:
    assert 'pip install "scratchnet[plot]"' in str(exc), exc
else:
    raise AssertionError("no ImportError")
page = build_run_report({str(run_dir)!r}).read_text()
assert "<img" not in page and "No plots in this report" in page
"""
    env = dict(
        os.environ,
        SCRATCHNET_NO_DOWNLOAD="1",
        SCRATCHNET_DATA=str(tmp_path / "nowhere"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def _train_cli(monkeypatch, cli, digits, *argv):
    """`scratchnet train ...` on the synthetic digits: (exit status, stdout, stderr)."""
    import scratchnet.data

    monkeypatch.setattr(scratchnet.data, "load_dataset", lambda *a, **k: digits)
    return cli("train", "--hidden", "16", "--epochs", "2", "--validation-size", "80", *argv)


@pytest.mark.slow  # a CLI training with its report: seconds
def test_train_out_writes_report_with_diagnosis(tmp_path, digits, monkeypatch, cli):
    run = tmp_path / "run"
    code, out, err = _train_cli(monkeypatch, cli, digits, "--out", str(run), "-q")
    assert code == 0, err
    assert f"report saved to {run / 'report.html'}" in out
    diagnosis = json.loads((run / "diagnosis.json").read_text())
    assert diagnosis["records"] and "probed during scratchnet train" in diagnosis["subject"]
    assert isinstance(diagnosis["healthy"], bool)
    page = (run / "report.html").read_text()
    assert_self_contained(page)
    assert "no diagnosis.json in this folder" not in page
    assert "16" in page and "Diagnosis" in page
    if HAVE_MPL:
        assert len(images(page)) >= 4
    assert not list(run.glob("*.part"))


def test_train_out_keeps_the_run_when_the_report_fails(tmp_path, digits, monkeypatch, cli):
    import scratchnet.report

    def broken(*args, **kwargs):
        raise ScratchnetError("plots exploded")

    monkeypatch.setattr(scratchnet.report, "build_run_report", broken)
    run = tmp_path / "run"
    code, out, err = _train_cli(monkeypatch, cli, digits, "--out", str(run), "-q")
    assert code == 0
    assert "warning: report.html not written (plots exploded)" in err
    assert f"scratchnet report {run}" in err
    assert (run / "model.npz").is_file() and not (run / "report.html").exists()
    assert "report saved" not in out


@pytest.mark.slow  # two CLI trainings: seconds
def test_train_out_without_validation_drops_an_old_diagnosis(tmp_path, digits, monkeypatch, cli):
    run = tmp_path / "run"
    assert _train_cli(monkeypatch, cli, digits, "--out", str(run), "-q")[0] == 0
    assert (run / "diagnosis.json").is_file()
    code, out, err = _train_cli(
        monkeypatch, cli, digits, "--out", str(run), "-q", "--validation-size", "0"
    )
    assert code == 0, err
    assert not (run / "diagnosis.json").exists()
    assert "no diagnosis.json in this folder" in (run / "report.html").read_text()
