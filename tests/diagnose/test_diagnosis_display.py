"""A Diagnosis in Jupyter: the verdict, the findings and per-layer numbers as HTML."""

from __future__ import annotations

from scratchnet.diagnose.findings import Finding
from scratchnet.diagnose.run import Diagnosis


def layer(index):
    return {"index": index, "act_spread": 0.5 / (index + 1), "grad_norm": 0.1, "notes": [1]}


def test_html_lists_findings_and_the_last_records_layers():
    finding = Finding("vanishing", 0.9, "signal <shrinks>", "spread 2x per layer", "use He init")
    records = [{"step": 1, "layers": [layer(0)]}, {"step": 7, "layers": [layer(0), layer(1)]}]
    page = Diagnosis("mnist 784-100-10", records, [finding], 10)._repr_html_()
    assert "signal &lt;shrinks&gt;" in page  # escaped
    assert "use He init" in page and "at step 7" in page
    assert "act_spread" in page and "notes" not in page  # lists are left out of the table
    assert page.count("<tr>") == 2 + 3  # findings: header + 1; layers: header + 2


def test_html_of_a_healthy_run_says_so():
    page = Diagnosis("mnist 784-100-10", [], [], 10, test_accuracy=0.97)._repr_html_()
    assert "no problem found" in page and "<table" not in page
