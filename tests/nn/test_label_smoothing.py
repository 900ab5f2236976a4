"""Label smoothing in SoftmaxCrossEntropy: a hand-worked case, agreement with the dense
(1 - s) one_hot + s / k formula, a float64 gradient check, s = 0 bit for bit the plain loss,
validation, config and repr."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.nn import SoftmaxCrossEntropy, log_softmax
from scratchnet.nn.gradcheck import check_loss


def _data(batch=7, k=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, k)) * 3).astype(dtype), rng.integers(0, k, batch)


def test_hand_worked_1x3_case():
    # logits log([1, 2, 1]) give probs [1/4, 1/2, 1/4]. Label 1, s = 0.3, k = 3:
    #   target = 0.7 * [0, 1, 0] + 0.3 / 3 = [0.1, 0.8, 0.1]
    #   loss   = -(0.1 ln 1/4 + 0.8 ln 1/2 + 0.1 ln 1/4) = 0.2 ln 4 + 0.8 ln 2 = 1.2 ln 2
    #          = 0.8317766166719343
    #   grad   = probs - target = [0.25 - 0.1, 0.5 - 0.8, 0.25 - 0.1] = [0.15, -0.3, 0.15]
    logits = np.log(np.array([[1.0, 2.0, 1.0]]))
    labels = np.array([1])
    loss = SoftmaxCrossEntropy(label_smoothing=0.3)
    value, grad = loss(logits.copy(), labels)
    assert value == pytest.approx(1.2 * math.log(2), rel=1e-14)
    np.testing.assert_allclose(grad, [[0.15, -0.3, 0.15]], rtol=1e-13, atol=1e-15)
    assert loss.value(logits, labels) == pytest.approx(value, rel=1e-15)
    # Against the plain loss, -ln 1/2 = ln 2: smoothing adds the cost of the spread-out share.
    assert SoftmaxCrossEntropy()(logits.copy(), labels)[0] == pytest.approx(math.log(2))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.05, 0.1, 0.5, 0.9])
def test_agrees_with_the_dense_target_formula(reduction, smoothing):
    logits, labels = _data()
    batch, k = logits.shape
    target = np.full((batch, k), smoothing / k)
    target[np.arange(batch), labels] += 1 - smoothing
    per_example = -(target * log_softmax(logits)).sum(axis=1)
    expected = per_example.mean() if reduction == "mean" else per_example.sum()
    probs = np.exp(log_softmax(logits))
    expected_grad = (probs - target) / (batch if reduction == "mean" else 1)
    loss = SoftmaxCrossEntropy(reduction, label_smoothing=smoothing)
    value, grad = loss(logits.copy(), labels)
    assert value == pytest.approx(expected, rel=1e-12)
    assert loss.value(logits, labels) == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    # Rows of the gradient sum to 0: probs and the smoothed target both sum to 1.
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.1, 0.4, 0.95])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_check_float64(reduction, smoothing, seed):
    logits, labels = _data(seed=seed)
    loss = SoftmaxCrossEntropy(reduction, label_smoothing=smoothing)
    assert check_loss(loss, logits, labels) < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_smoothing_is_the_plain_loss_bit_for_bit(dtype, reduction):
    logits, labels = _data(batch=33, k=10, seed=3, dtype=dtype)
    plain_value, plain_grad = SoftmaxCrossEntropy(reduction)(logits.copy(), labels)
    for smoothing in (0, 0.0):
        loss = SoftmaxCrossEntropy(reduction, label_smoothing=smoothing)
        value, grad = loss(logits.copy(), labels)
        assert value == plain_value
        assert grad.dtype == plain_grad.dtype == dtype
        np.testing.assert_array_equal(grad, plain_grad)
        assert loss.value(logits, labels) == SoftmaxCrossEntropy(reduction).value(logits, labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept_and_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dtype)
    labels = np.array([1, 1])
    value, grad = SoftmaxCrossEntropy(label_smoothing=0.1)(logits.copy(), labels)
    assert math.isfinite(value)
    assert grad.dtype == dtype and np.isfinite(grad).all()
    # log-probs are (to double precision) [0, -2e4, -1e4] and [-2e4, 0, -9995]; with label 1,
    # s = 0.1, k = 3: example 0 costs 0.9 * 2e4 + (0.1 / 3) * 3e4 = 19000, example 1 costs
    # 0.9 * 0 + (0.1 / 3) * 29995 = 999.8333...; the mean is 9999.91666...
    assert value == pytest.approx((19000 + 0.1 / 3 * 29995) / 2, rel=1e-6)


def test_smoothing_penalises_overconfidence():
    # Plain cross-entropy keeps falling as the correct logit grows; smoothed has a minimum.
    labels = np.array([0])
    plain, smooth = SoftmaxCrossEntropy(), SoftmaxCrossEntropy(label_smoothing=0.1)
    margins = [1.0, 3.0, 30.0]
    plain_values = [plain.value(np.array([[m, 0.0, 0.0]]), labels) for m in margins]
    smooth_values = [smooth.value(np.array([[m, 0.0, 0.0]]), labels) for m in margins]
    assert plain_values == sorted(plain_values, reverse=True)
    assert smooth_values[2] > smooth_values[1]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, float("nan"), float("inf"), True, "0.1", None])
def test_invalid_smoothing_raises(bad):
    with pytest.raises(
        ValueError,
        match=r"label_smoothing must be a number in \[0, 1\); received label_smoothing=",
    ):
        SoftmaxCrossEntropy(label_smoothing=bad)


def test_labels_are_still_validated():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        SoftmaxCrossEntropy(label_smoothing=0.1)(np.zeros((2, 3)), np.array([0, 3]))


def test_config_and_repr():
    loss = SoftmaxCrossEntropy("sum", label_smoothing=0.1)
    assert loss.label_smoothing == 0.1
    assert loss.get_config() == {"reduction": "sum", "label_smoothing": 0.1}
    assert repr(loss) == "SoftmaxCrossEntropy(reduction='sum', label_smoothing=0.1)"
    assert SoftmaxCrossEntropy(**loss.get_config()).get_config() == loss.get_config()
    # Zero is the default and stays out of the config and the repr (as before).
    plain = SoftmaxCrossEntropy()
    assert plain.label_smoothing == 0.0
    assert plain.get_config() == {"reduction": "mean"}
    assert repr(plain) == "SoftmaxCrossEntropy(reduction='mean')"
