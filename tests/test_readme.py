"""The README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_a_python_example():
    assert python_blocks()


def test_readme_python_example_runs(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCRATCHNET_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out.splitlines()
    assert float(out[0]) > 0.95  # validation accuracy
    assert "'accuracy'" in out[1]
    assert (tmp_path / "mine.npz").is_file()
    # notebook-style: the summary table, then evaluate's scores
    assert any("total parameters: 79,510" in line for line in out)
    scores = [line for line in out[2:] if line.startswith("{'loss'")]
    assert scores and float(scores[0].split("'accuracy': ")[1].rstrip("}")) > 0.95
    # scikit-learn-style: the grid search's choice and its test score
    best = [line for line in out if line.startswith("{'mlpclassifier__hidden'")]
    assert best and float(best[0].split()[-1]) > 0.9
