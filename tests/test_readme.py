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
