"""Reused training buffers (nn/workspace.py): what is reused, what never is, and that reuse
changes no number: outputs returned for inference are the caller's own, a smaller last batch
works, copies of a layer do not share scratch, and the in-place arithmetic of ReLU's backward
and SGD's update is bitwise the plain formula."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from scratchnet.nn import Dense, ReLU, SoftmaxCrossEntropy, mlp
from scratchnet.nn.workspace import Workspace
from scratchnet.optim import SGD


def _x(batch: int, n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, n)).astype(np.float32)


def test_training_forward_reuses_its_output_buffer():
    layer = Dense(6, 4, "relu", seed=0)
    first = layer.forward(_x(5, seed=1), training=True)
    second = layer.forward(_x(5, seed=2), training=True)
    assert np.shares_memory(first, second)  # the same block, step after step


def test_inference_outputs_are_the_callers_own():
    layer = Dense(6, 4, "relu", seed=0)
    x1, x2 = _x(5, seed=1), _x(5, seed=2)
    first = layer.forward(x1)
    expected = first.copy()
    layer.forward(x2, training=True)
    second = layer.forward(x2)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, expected)


def test_predictions_do_not_alias_training_buffers():
    model = mlp(6, [5], 3, seed=0)
    x = _x(8)
    logits = model.forward(x, training=True)
    predicted = model.predict_logits(x)
    assert not np.shares_memory(predicted, logits)
    kept = predicted.copy()
    model.forward(_x(8, seed=3), training=True)
    np.testing.assert_array_equal(predicted, kept)


def test_a_smaller_last_batch_uses_leading_rows_and_gives_the_same_numbers():
    model = mlp(6, [5], 3, seed=0)
    loss = SoftmaxCrossEntropy()
    labels = np.array([0, 1, 2, 1, 0, 2, 1])
    model.forward(_x(7), training=True)  # fills the buffers at batch 7
    small = _x(3, seed=4)
    _, grad = loss(model.forward(small, training=True), labels[:3])
    model.backward(grad)
    got = [g.copy() for *_, g in model.parameters()]

    fresh = mlp(6, [5], 3, seed=0)
    _, grad = loss(fresh.forward(small, training=True), labels[:3])
    fresh.backward(grad)
    for a, (*_, b) in zip(got, fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_copies_of_a_layer_do_not_share_scratch():
    layer = Dense(6, 4, "relu", seed=0)
    layer.forward(_x(5), training=True)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        out_clone = clone.forward(_x(5, seed=1), training=True)
        out_layer = layer.forward(_x(5, seed=2), training=True)
        assert not np.shares_memory(out_clone, out_layer)


def test_workspace_grows_and_reuses():
    work = Workspace()
    big = work.get("a", 8, 3, np.dtype(np.float32))
    small = work.get("a", 5, 3, np.dtype(np.float32))
    assert small.shape == (5, 3) and small.flags.c_contiguous
    assert np.shares_memory(big, small)
    other = work.get("a", 5, 3, np.dtype(np.float64))
    assert other.dtype == np.float64 and not np.shares_memory(other, big)


def test_workspace_ones_are_ones_reused_and_sliced():
    work = Workspace()
    ones = work.ones("ones", 6, np.dtype(np.float32))
    np.testing.assert_array_equal(ones, np.ones(6, np.float32))
    fewer = work.ones("ones", 4, np.dtype(np.float32))
    assert fewer.shape == (4,) and np.shares_memory(fewer, ones)
    more = work.ones("ones", 9, np.dtype(np.float64))
    np.testing.assert_array_equal(more, np.ones(9))
    assert more.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_bias_gradient_is_the_batch_sum(dtype):
    layer = Dense(6, 4, "relu", seed=0, dtype=dtype)
    for batch in (5, 3, 5):  # a smaller last batch reuses the leading ones
        layer.forward(_x(batch).astype(dtype), training=True)
        grad_out = _x(batch, seed=batch).astype(dtype)[:, :4]
        layer.backward(grad_out)
        grad_z = grad_out * (layer.activation._out > 0)
        np.testing.assert_allclose(layer.grads["bias"], grad_z.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_bitwise_the_plain_formula(dtype):
    relu = ReLU()
    x = _x(7).astype(dtype)
    y = relu.forward(x, training=True)
    grad_out = _x(7, seed=5).astype(dtype)
    np.testing.assert_array_equal(relu.backward(grad_out), grad_out * (y > 0))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_is_bitwise_max_with_zero_in_either_layout(dtype, order):
    # ReLU compares with a reused row of zeros (NumPy's SIMD loop), never written to.
    special = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 2.5, -2.5]
    values = np.random.default_rng(3).choice(np.array(special, dtype=dtype), (9, 11))
    relu = ReLU()
    for _ in range(2):  # the second pass reuses the zeros
        x = np.array(values, order=order)
        y = relu.forward(x, training=True, inplace=True)
        assert y is x
        expected = np.maximum(values, 0)
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(np.signbit(y), np.signbit(expected))
    np.testing.assert_array_equal(relu.forward(values[:4]), np.maximum(values[:4], 0))


def test_workspace_zeros_are_zeros_reused_and_sliced():
    work = Workspace()
    zeros = work.zeros("z", 5, np.dtype(np.float32))
    assert zeros.shape == (5,) and not zeros.any()
    assert work.zeros("z", 3, np.dtype(np.float32)).base is zeros


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
        {"weight_decay": 1e-3},
    ],
)
def test_sgd_in_place_update_is_bitwise_the_formula(kwargs):
    rng = np.random.default_rng(0)
    param = rng.standard_normal((5, 4)).astype(np.float32)
    reference = param.copy()
    velocity = np.zeros_like(param)
    optimizer = SGD(0.05, **kwargs)
    lr, mu = 0.05, kwargs.get("momentum", 0.0)
    wd, nesterov = kwargs.get("weight_decay", 0.0), kwargs.get("nesterov", False)

    class Model:
        def parameters(self):
            yield 0, "weight", param, grad

    for _ in range(3):
        grad = rng.standard_normal((5, 4)).astype(np.float32)
        optimizer.step(Model())
        g = grad + wd * reference if wd else grad
        if mu == 0:
            reference -= lr * g
        else:
            velocity *= mu
            velocity += g
            reference -= lr * (g + mu * velocity) if nesterov else lr * velocity
        np.testing.assert_array_equal(param, reference)
