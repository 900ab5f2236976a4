"""The ablation of experiment (h): the baseline, each cause fixed alone, then cumulatively; the
learning rate of mean-gradient variants chosen on held-out training images, never the test set."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.experiments import ablation
from scratchnet.experiments.ablation import CAUSES, LR_GRID, run_ablation, train_variant


def test_rows_remove_each_cause_alone_then_cumulatively(digits):
    seen = []
    rows = run_ablation(digits, passes=1, validation_size=100, on_row=seen.append)
    assert seen == rows
    names = [name for name, _ in CAUSES]
    assert [row.fixes for row in rows] == [
        (),
        *[(name,) for name in names],
        tuple(names[:2]),
        tuple(names[:3]),
        tuple(names),
    ]
    assert rows[0].label == "as written"
    for row in rows:
        assert 0 <= row.accuracy <= 100 and row.seconds >= 0
        if "mean" in row.fixes:
            assert row.learning_rate in LR_GRID
        else:
            assert row.learning_rate == pytest.approx(1e-4)  # the notebook's own rate


def test_learning_rate_is_chosen_without_the_test_set(digits, monkeypatch):
    (x_train, y_train), _ = digits
    seen_test_sizes = []
    original = ablation.train_variant

    def spy(fixes, data, **kwargs):
        seen_test_sizes.append(len(data[1][0]))
        return original(fixes, data, **kwargs)

    monkeypatch.setattr(ablation, "train_variant", spy)
    lr = ablation._choose_lr({"mean"}, digits, seed=0, validation_size=100)
    assert lr in LR_GRID
    assert seen_test_sizes == [100] * len(LR_GRID)  # scored on the 100 held out, not the 77


def test_a_variant_is_reproducible_and_its_fixes_matter(digits):
    first = train_variant({"bias", "softmax", "init"}, digits, passes=2, learning_rate=1e-4)
    again = train_variant({"bias", "softmax", "init"}, digits, passes=2, learning_rate=1e-4)
    as_written = train_variant(set(), digits, passes=2, learning_rate=1e-4)
    assert first[:2] == again[:2]
    assert np.isfinite(first[1])
    assert (first[0], first[1]) != (as_written[0], as_written[1])
