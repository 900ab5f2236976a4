"""Losses: gradient checks, hand-computed values, stability for huge logits, input validation,
and hypothesis properties of softmax and cross-entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchnet.nn import (
    BinaryCrossEntropy,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    get_loss,
    log_softmax,
    softmax,
)
from scratchnet.nn.gradcheck import check_loss

PROPERTY = settings(derandomize=True, database=None, max_examples=50, deadline=None)
REDUCTIONS = ["mean", "sum"]
BATCH, K = 4, 5


def _logits(seed=0, shape=(BATCH, K)):
    return np.random.default_rng(seed).normal(0, 2, shape)


def _labels(seed=0, batch=BATCH, k=K):
    return np.random.default_rng(seed + 50).integers(0, k, batch)


def _probabilities(seed=0, shape=(BATCH, K)):
    return np.random.default_rng(seed + 90).uniform(0, 1, shape)


# (id, loss class, targets factory)
GRADIENT_CASES = [
    ("softmax_ce-int", SoftmaxCrossEntropy, lambda s: _labels(s)),
    ("bce-float", BinaryCrossEntropy, lambda s: _probabilities(s)),
    ("bce-binary", BinaryCrossEntropy, lambda s: (_probabilities(s) > 0.5).astype(np.float64)),
    ("mse-int", MeanSquaredError, lambda s: _labels(s)),
    ("mse-float", MeanSquaredError, lambda s: np.random.default_rng(s).normal(size=(BATCH, K))),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("loss_cls", "targets"),
    [case[1:] for case in GRADIENT_CASES],
    ids=[case[0] for case in GRADIENT_CASES],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_check(loss_cls, targets, reduction, seed):
    error = check_loss(loss_cls(reduction=reduction), _logits(seed), targets(seed))
    assert error < 1e-6


@pytest.mark.parametrize(
    ("loss_cls", "targets"),
    [case[1:] for case in GRADIENT_CASES],
    ids=[case[0] for case in GRADIENT_CASES],
)
def test_sum_reduction_is_batch_times_mean(loss_cls, targets):
    logits, target = _logits(3), targets(3)
    mean_value, mean_grad = loss_cls("mean")(logits.copy(), target)
    sum_value, sum_grad = loss_cls("sum")(logits.copy(), target)
    assert sum_value == pytest.approx(BATCH * mean_value, rel=1e-12)
    np.testing.assert_allclose(sum_grad, BATCH * mean_grad, rtol=1e-12)
    # value() skips the gradient but agrees with __call__.
    assert loss_cls("mean").value(logits.copy(), target) == pytest.approx(mean_value, rel=1e-12)
    assert loss_cls("sum").value(logits.copy(), target) == pytest.approx(sum_value, rel=1e-12)


def test_gradient_check_notices_a_wrong_gradient():
    class Broken(MeanSquaredError):
        def __call__(self, outputs, targets):
            value, grad = super().__call__(outputs, targets)
            return value, 2 * grad

    assert check_loss(Broken(), _logits(), _labels()) > 0.1


# -- hand-computed values on a 2x3 example -----------------------------------------------------

LOGITS_2X3 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
LABELS_2 = np.array([2, 0])


def test_softmax_cross_entropy_by_hand():
    # Row 0, label 2: -log(e^3 / (e^1 + e^2 + e^3)) = log(1 + e^-1 + e^-2)
    #   = log(1 + 0.36787944 + 0.13533528) = log(1.50321472) = 0.40760596
    # Row 1, label 0: all logits equal, so p = 1/3 and the loss is log 3 = 1.09861229
    # sum = 0.40760596 + 1.09861229 = 1.50621825; mean = 1.50621825 / 2 = 0.75310913
    row0 = math.log(1 + math.exp(-1) + math.exp(-2))
    row1 = math.log(3)
    assert row0 == pytest.approx(0.40760596, abs=1e-8)
    value, grad = SoftmaxCrossEntropy()(LOGITS_2X3.copy(), LABELS_2)
    assert value == pytest.approx((row0 + row1) / 2, rel=1e-12)
    assert value == pytest.approx(0.75310913, abs=1e-8)
    assert SoftmaxCrossEntropy("sum")(LOGITS_2X3.copy(), LABELS_2)[0] == pytest.approx(
        1.50621825, abs=1e-8
    )
    # Gradient (softmax - one_hot) / batch:
    # row 0: softmax = [e^-2, e^-1, 1] / 1.50321472 = [0.09003057, 0.24472847, 0.66524096];
    #        minus one_hot(2) -> [0.09003057, 0.24472847, -0.33475904]; / 2
    # row 1: [1/3 - 1, 1/3, 1/3] / 2 = [-1/3, 1/6, 1/6]
    expected = np.array(
        [
            [0.09003057 / 2, 0.24472847 / 2, -0.33475904 / 2],
            [-1 / 3, 1 / 6, 1 / 6],
        ]
    )
    np.testing.assert_allclose(grad, expected, atol=1e-8)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-15)


def test_binary_cross_entropy_by_hand():
    # logits [[0, 0, 0], [ln 3, -ln 3, 0]] -> sigmoid [[1/2, 1/2, 1/2], [3/4, 1/4, 1/2]]
    # targets [[1, 0, 1], [1, 1, 0]]
    # row 0: -log(1/2) - log(1 - 1/2) - log(1/2) = 3 ln 2 = 2.07944154
    # row 1: -log(3/4) - log(1/4) - log(1 - 1/2) = ln(4/3) + ln 4 + ln 2 = 2.36712361
    # mean = (2.07944154 + 2.36712361) / 2 = 2.22328258
    # gradient (sigmoid - target) / 2: row 0 [-1/2, 1/2, -1/2] / 2; row 1 [-1/4, -3/4, 1/2] / 2
    ln3 = math.log(3)
    logits = np.array([[0.0, 0.0, 0.0], [ln3, -ln3, 0.0]])
    targets = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    value, grad = BinaryCrossEntropy()(logits, targets)
    assert value == pytest.approx((3 * math.log(2) + math.log(4 / 3) + math.log(4) * 1.5) / 2)
    assert value == pytest.approx(2.22328258, abs=1e-8)
    np.testing.assert_allclose(grad, [[-0.25, 0.25, -0.25], [-0.125, -0.375, 0.25]], atol=1e-15)


def test_binary_cross_entropy_accepts_flat_targets_for_one_output():
    logits = np.array([[0.0], [math.log(3)]])
    value, grad = BinaryCrossEntropy()(logits, np.array([1.0, 0.0]))
    # (log 2 + (-log(1 - 3/4))) / 2 = (ln 2 + ln 4) / 2 = 1.5 ln 2
    assert value == pytest.approx(1.5 * math.log(2))
    assert grad.shape == (2, 1)
    np.testing.assert_allclose(grad, [[-0.25], [0.375]])


def test_mean_squared_error_by_hand():
    # outputs [[1, 2, 3], [0, 0, 0]], integer labels [2, 0] -> one-hot [[0, 0, 1], [1, 0, 0]]
    # diff [[1, 2, 2], [-1, 0, 0]]; per example (1 + 4 + 4) / 2 = 4.5 and 1 / 2 = 0.5
    # mean = (4.5 + 0.5) / 2 = 2.5, sum = 5; gradient (mean) = diff / 2
    value, grad = MeanSquaredError()(LOGITS_2X3.copy(), LABELS_2)
    assert value == 2.5
    np.testing.assert_array_equal(grad, [[0.5, 1.0, 1.0], [-0.5, 0.0, 0.0]])
    value_sum, grad_sum = MeanSquaredError("sum")(LOGITS_2X3.copy(), LABELS_2)
    assert value_sum == 5.0
    np.testing.assert_array_equal(grad_sum, [[1.0, 2.0, 2.0], [-1.0, 0.0, 0.0]])
    # The same with the one-hot targets given as floats.
    one_hot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert MeanSquaredError()(LOGITS_2X3.copy(), one_hot)[0] == 2.5


# -- stability ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_huge_logits_is_exact(dtype):
    # logits [1e4, -1e4, 0], label 1: log-sum-exp = 1e4 + log(1 + e^-2e4 + e^-1e4) = 1e4, so
    # the loss is 1e4 - (-1e4) = 2e4 exactly; softmax = [1, 0, 0] and the gradient [1, -1, 0].
    logits = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    value, grad = SoftmaxCrossEntropy()(logits, np.array([1]))
    assert value == 2e4
    np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0]])
    assert grad.dtype == dtype
    # The label that is already right costs nothing.
    assert SoftmaxCrossEntropy().value(logits, np.array([0])) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, BinaryCrossEntropy, MeanSquaredError])
def test_losses_are_finite_for_logits_of_1e4(loss_cls, dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype)
    if loss_cls is BinaryCrossEntropy:
        targets = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])
    else:
        targets = np.array([1, 0])
    value, grad = loss_cls()(logits, targets)
    assert math.isfinite(value)
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_of_huge_logits_is_exact():
    # max(z, 0) - z y + log(1 + e^-|z|): z = 1e4, y = 0 -> 1e4; z = -1e4, y = 1 -> 1e4
    value, grad = BinaryCrossEntropy()(np.array([[1e4, -1e4]]), np.array([[0.0, 1.0]]))
    assert value == 2e4
    np.testing.assert_array_equal(grad, [[1.0, -1.0]])


def test_log_softmax_matches_the_naive_formula_on_small_logits():
    logits = _logits(4)
    naive = np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(logits), naive, rtol=1e-12)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, MeanSquaredError])
@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0, 3]), r"labels must be in \[0, 3\).*from 0 to 3"),
        (np.array([-1, 2]), r"labels must be in \[0, 3\).*from -1 to 2"),
        (np.array([0, 1, 2]), r"labels must have shape \(2,\).*received shape \(3,\)"),
        (np.array([[0], [1]]), r"labels must have shape \(2,\).*received shape \(2, 1\)"),
    ],
    ids=["too-big", "negative", "too-long", "2-d"],
)
def test_bad_integer_labels_raise(loss_cls, labels, match):
    logits = np.zeros((2, 3))
    if loss_cls is MeanSquaredError and labels.ndim == 2:
        match = r"targets must have the outputs' shape \(2, 3\)"
    with pytest.raises(ValueError, match=match):
        loss_cls()(logits, labels)


@pytest.mark.parametrize("dtype", ["uint8", "int8", ">i8", "<u2", "int32"])
def test_cross_entropy_takes_every_integer_label_dtype(dtype):
    # 250 examples of uint8 labels: label * batch overflows uint8 unless widened first.
    logits, labels = _logits(shape=(250, K)), _labels(batch=250)
    expected = SoftmaxCrossEntropy()(logits, labels)
    value, grad = SoftmaxCrossEntropy()(logits, labels.astype(dtype))
    assert value == expected[0]
    np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("dtype", ["int8", ">i8", "int16"])
def test_negative_labels_raise_in_every_signed_dtype(dtype):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 5\).*from -1"):
        SoftmaxCrossEntropy()(_logits(), np.array([0, -1, 2, 3], dtype=dtype))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_value_and_gradient_match_the_textbook_formula(smoothing, reduction):
    logits, labels = _logits(shape=(7, K)), _labels(batch=7)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    target = np.full((7, K), smoothing / K)
    target[np.arange(7), labels] += 1 - smoothing
    per_example = -(target * np.log(p)).sum(axis=1)
    scale = 1 / 7 if reduction == "mean" else 1.0
    loss = SoftmaxCrossEntropy(reduction, label_smoothing=smoothing)
    value, grad = loss(logits, labels)
    assert value == pytest.approx(per_example.sum() * scale, rel=1e-12)
    assert loss.value(logits, labels) == value
    np.testing.assert_allclose(grad, (p - target) * scale, rtol=1e-10, atol=1e-15)


def test_float_labels_raise_for_cross_entropy():
    with pytest.raises(ValueError, match="labels must be integers; received dtype float64"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels must be integers"):
        SoftmaxCrossEntropy().value(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_mse_float_targets_of_the_wrong_shape_raise():
    with pytest.raises(ValueError, match=r"targets must have the outputs' shape \(2, 3\)"):
        MeanSquaredError()(np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.zeros((2, 2)), r"targets must have the logits' shape \(2, 3\); received \(2, 2\)"),
        (np.full((2, 3), 1.5), r"targets must lie in \[0, 1\]"),
        (np.full((2, 3), -0.5), r"targets must lie in \[0, 1\]"),
    ],
)
def test_bad_binary_targets_raise(targets, match):
    with pytest.raises(ValueError, match=match):
        BinaryCrossEntropy()(np.zeros((2, 3)), targets)


def test_nan_binary_targets_raise():
    with pytest.raises(ValueError, match="targets"):
        BinaryCrossEntropy()(np.zeros((1, 2)), np.array([[np.nan, 0.5]]))


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, BinaryCrossEntropy, MeanSquaredError])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_do_not_modify_their_inputs_and_keep_the_dtype(loss_cls, dtype):
    logits = _logits(6).astype(dtype)
    targets = _probabilities(6) if loss_cls is BinaryCrossEntropy else _labels(6)
    before, targets_before = logits.copy(), targets.copy()
    value, grad = loss_cls()(logits, targets)
    np.testing.assert_array_equal(logits, before)
    np.testing.assert_array_equal(targets, targets_before)
    assert isinstance(value, float)
    assert grad.shape == logits.shape and grad.dtype == dtype
    assert not np.shares_memory(grad, logits)


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, BinaryCrossEntropy, MeanSquaredError])
@pytest.mark.parametrize("reduction", ["none", "avg", "", None, "MEAN"])
def test_bad_reduction_raises(loss_cls, reduction):
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        loss_cls(reduction=reduction)


def test_get_loss_by_name():
    assert isinstance(get_loss("cross_entropy"), SoftmaxCrossEntropy)
    assert isinstance(get_loss("softmax-cross-entropy"), SoftmaxCrossEntropy)
    assert isinstance(get_loss("bce"), BinaryCrossEntropy)
    assert get_loss("mse", reduction="sum").reduction == "sum"
    loss = MeanSquaredError()
    assert get_loss(loss) is loss
    with pytest.raises(ValueError, match="loss must be one of"):
        get_loss("hinge")
    assert repr(SoftmaxCrossEntropy("sum")) == "SoftmaxCrossEntropy(reduction='sum')"
    assert SoftmaxCrossEntropy().get_config() == {"reduction": "mean"}


# -- properties --------------------------------------------------------------------------------

logit_matrices = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 8)),
    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
)


@PROPERTY
@given(logits=logit_matrices, shift=st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_rows_sum_to_one_and_ignore_a_row_shift(logits, shift):
    probs = softmax(logits.copy())
    assert np.isfinite(probs).all()
    assert (probs >= 0).all() and (probs <= 1).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    # A different constant for each row: softmax(x + c) = softmax(x).
    shifts = shift * np.linspace(-1, 1, logits.shape[0])[:, None]
    np.testing.assert_allclose(softmax(logits + shifts), probs, atol=1e-8)


@PROPERTY
@given(logits=logit_matrices, data=st.data())
def test_cross_entropy_is_finite_for_logits_up_to_1e4(logits, data):
    batch, k = logits.shape
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=batch, max_size=batch)))
    value, grad = SoftmaxCrossEntropy()(logits.copy(), labels)
    assert math.isfinite(value) and value >= 0
    assert np.isfinite(grad).all()
    # Each row of (softmax - one_hot) / batch sums to 0 and lies in [-1/batch, 1/batch].
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)
    assert np.abs(grad).max() <= 1 / batch + 1e-12
    # The largest possible loss from logits in [-1e4, 1e4]: 2e4 plus log(k) from the sum.
    assert value <= 2e4 + math.log(k) + 1e-6
