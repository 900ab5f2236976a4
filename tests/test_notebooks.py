"""The tutorials in notebooks/: stored without outputs, and each runs top to bottom.

They run with SCRATCHNET_QUICK=1 (subsets of the data, fewer epochs) in a kernel on this very
Python (a kernel spec written for the test, so a system-wide `python3` kernel is never used),
with one BLAS thread: on a busy machine OpenBLAS's spinning threads slow small products by 10x
or more. All five take about a minute on an idle 2-core machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TOPICS = ("done-right", "deep-networks-fail", "own-layer", "own-data", "network-learned")


def test_the_tutorials_are_there():
    names = [path.stem for path in NOTEBOOKS]
    for topic in TOPICS:
        assert any(topic in name for name in names), f"no notebook on {topic}: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {index} has outputs: clear them"
            assert cell["execution_count"] is None, f"{path.name} cell {index} was run"
    assert "widgets" not in notebook["metadata"], f"{path.name} keeps widget state: clear it"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec for this interpreter (the tests' venv), found through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "scratchnet-tests"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "scratchnet tests", "language": "python"})
    )
    return str(root), "scratchnet-tests"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, kernel_name, data_dir, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    jupyter_path, name = kernel_name
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    monkeypatch.setenv("SCRATCHNET_QUICK", "1")
    monkeypatch.setenv("SCRATCHNET_DATA", str(data_dir))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=name,
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [
        o
        for o in outputs
        if "image/png" in o.get("data", {})
        or "data:image/png" in o.get("data", {}).get("text/html", "")  # History's table + plot
    ]
    assert pictures, "no plot was shown"
