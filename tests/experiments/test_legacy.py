"""The notebook-only pieces behave as the notebook's code did (checked against a direct port)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.experiments.legacy import MinMaxSoftmaxLoss, NotebookSGD, minmax_softmax
from scratchnet.experiments.notebook import EXPERIMENTS, get_experiments
from scratchnet.nn import Dense, Sequential, SoftmaxCrossEntropy


def notebook_softmax_modified(z_columns: np.ndarray) -> np.ndarray:
    """The notebook's Func.softmax_modified, verbatim, on its (classes, batch) layout."""
    z = (z_columns - z_columns.min()) / (z_columns.max() - z_columns.min())
    return np.exp(z) / np.exp(z).sum(axis=0)


def test_minmax_softmax_matches_the_notebook():
    logits = np.random.default_rng(0).normal(0, 3, (5, 10))
    np.testing.assert_allclose(minmax_softmax(logits), notebook_softmax_modified(logits.T).T)


def test_minmax_softmax_caps_the_top_probability():
    # Scaled logits lie in [0, 1], so p_max <= e / (e + 9) ~ 0.232 for 10 classes.
    logits = np.array([[1000.0] + [0.0] * 9, [0.0] * 10])
    assert minmax_softmax(logits).max() == pytest.approx(np.e / (np.e + 9))


def test_minmax_loss_uses_the_notebooks_gradient_not_the_true_one():
    logits = np.random.default_rng(1).normal(0, 1, (4, 10))
    labels = np.array([0, 3, 9, 2])
    value, grad = MinMaxSoftmaxLoss()(logits.copy(), labels)
    expected = minmax_softmax(logits)
    expected[np.arange(4), labels] -= 1
    np.testing.assert_allclose(grad, expected)  # probs - one_hot, summed (no 1/batch)
    assert value == pytest.approx(-np.log(minmax_softmax(logits)[np.arange(4), labels]).sum())


def _two_layer(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(
        [Dense(3, 4, "relu", rng=rng, dtype=np.float64), Dense(4, 2, rng=rng, dtype=np.float64)]
    )


def test_notebook_sgd_sums_weight_gradients_and_averages_bias_gradients():
    model = _two_layer()
    x = np.random.default_rng(2).normal(size=(5, 3))
    labels = np.array([0, 1, 1, 0, 1])
    _, grad = SoftmaxCrossEntropy(reduction="sum")(model.forward(x, training=True), labels)
    model.backward(grad)
    before = {(i, n): p.copy() for i, n, p, _ in model.parameters()}
    grads = {(i, n): g.copy() for i, n, _, g in model.parameters()}
    NotebookSGD(0.1, batch_size=5).step(model)
    for i, name, param, _ in model.parameters():
        scale = 0.1 / 5 if name == "bias" else 0.1  # db = np.average(dz), dW = dz @ x.T
        np.testing.assert_allclose(param, before[i, name] - scale * grads[i, name])


def test_notebook_sgd_can_leave_biases_untouched_as_the_general_class_did():
    model = _two_layer()
    x = np.random.default_rng(3).normal(size=(5, 3))
    _, grad = MinMaxSoftmaxLoss()(model.forward(x, training=True), np.array([0, 1, 0, 1, 1]))
    model.backward(grad)
    biases = [layer.bias.copy() for layer in model.layers]
    weights = [layer.weight.copy() for layer in model.layers]
    NotebookSGD(0.1, batch_size=5, update_bias=False).step(model)
    for layer, bias, weight in zip(model.layers, biases, weights, strict=True):
        np.testing.assert_array_equal(layer.bias, bias)
        assert not np.array_equal(layer.weight, weight)


def test_the_eight_experiments_and_what_the_notebook_reported():
    assert [e.name for e in EXPERIMENTS] == list("abcdefgh")
    reported = [s.reported_accuracy for e in EXPERIMENTS for s in e.settings]
    assert reported.count(None) == 1  # (a) reported only its cost
    assert 96.58 in reported and 17.71 in reported
    (h,) = get_experiments(["h"])[0].settings
    assert h.hidden == (100,) * 11 and h.general  # hiddenLayers=10 builds 11 hidden layers
    assert h.passes(quick=False) == 101  # range(EPOCHS + 1)


def test_unknown_experiment_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown notebook experiment z"):
        get_experiments(["z"])
