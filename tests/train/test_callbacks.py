"""Callbacks beyond fit's own tests: the no-op base class and the tqdm ProgressBar."""

from __future__ import annotations

import io

import numpy as np
import pytest

from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD
from scratchnet.train import Callback, ProgressBar, fit


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 3, 30)


def test_the_base_callback_changes_nothing():
    x, labels = _data()
    with_callback, without = mlp(4, [5], 3, seed=0), mlp(4, [5], 3, seed=0)
    fit(
        with_callback,
        SoftmaxCrossEntropy(),
        SGD(0.1),
        (x, labels),
        epochs=2,
        batch_size=8,
        seed=0,
        callbacks=[Callback()],
    )
    fit(without, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=2, batch_size=8, seed=0)
    for (*_, a, _), (*_, b, _) in zip(
        with_callback.parameters(), without.parameters(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_writes_to_its_file_and_closes():
    pytest.importorskip("tqdm")
    x, labels = _data()
    stream = io.StringIO()
    bar = ProgressBar(file=stream)
    history = fit(
        mlp(4, [5], 3, seed=0),
        SoftmaxCrossEntropy(),
        SGD(0.1),
        (x, labels),
        epochs=2,
        batch_size=8,
        seed=0,
        callbacks=[bar],
    )
    assert history.epochs == 2
    text = stream.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert bar._bar is None  # closed at the end of each epoch
    bar.close()  # closing twice is harmless
