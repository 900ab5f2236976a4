"""How `scratchnet notebook` builds its rows: the done-right grid and the shared runs (the rows
themselves, on the real MNIST, are in tests/integration)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scratchnet.data.features import images_to_features, validation_split
from scratchnet.experiments import notebook
from scratchnet.experiments.notebook import VariantResult, get_experiments, run_done_right


@pytest.fixture(scope="module")
def small(synthetic_digits):
    data = synthetic_digits(n_train=600, n_test=90)
    (x_train, y_train), _ = data
    split = validation_split(
        images_to_features(x_train),
        y_train.astype(np.int64),
        150,
        rng=np.random.default_rng(0),
    )
    return data, split


def test_done_right_keeps_the_rate_with_the_best_validation_accuracy(small):
    data, split = small
    (setting,) = get_experiments(["b"])[0].settings
    setting = dataclasses.replace(setting, hidden=(16,), quick_epochs=2)
    result, lr = run_done_right(setting, data, split, quick=True, grid=(1e-9, 0.003))
    assert lr == 0.003  # 1e-9 leaves the network at chance
    assert result.accuracy > 60.0 and result.seconds > 0


def test_rows_differing_only_in_the_notebooks_own_setting_share_one_done_right_run(
    monkeypatch, small
):
    data, _ = small
    written, right = [], []

    def as_written(setting, data, *, quick, seed=0):
        written.append(setting.label)
        return VariantResult(10.0, 2.3, 0.1)

    def done_right(setting, data, split, *, quick, seed=0):
        right.append(setting.label)
        return VariantResult(90.0, 0.3, 0.2), 0.003

    monkeypatch.setattr(notebook, "run_as_written", as_written)
    monkeypatch.setattr(notebook, "run_done_right", done_right)
    monkeypatch.setattr(notebook, "notebook_split", lambda data, seed=0: None)
    seen = []
    rows = notebook.run_notebook(data, only=["c", "e"], quick=True, on_row=seen.append)
    assert [row.setting.label for row in rows] == written == [row.setting.label for row in seen]
    # c: six learning rates of one network and batch -> one run; e: four widths -> four runs.
    assert right == ["lr=0.1", "hidden=20", "hidden=50", "hidden=100", "hidden=1000"]
    assert {row.chosen_lr for row in rows} == {0.003}
