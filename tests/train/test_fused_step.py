"""A plain SGD step folded into the backward products (nn/blas.py, Dense.backward_update)."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet
from scratchnet.nn import blas
from scratchnet.nn.autotune import Layout
from scratchnet.train import Callback, fit

pytestmark = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS has no CBLAS gemm here")

CODES = ["CCC", "FFC", "CFF", "FCF", "FFF"]


def _layer(code: str, dtype=np.float64) -> scratchnet.nn.Dense:
    layer = scratchnet.nn.Dense(6, 5, "relu", seed=3, dtype=dtype)
    layer.set_layout(Layout.parse(code))
    return layer


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_backward_update_is_backward_then_the_sgd_step(code, weight_decay):
    rng = np.random.default_rng(0)
    x, grad_out = rng.standard_normal((4, 6)), rng.standard_normal((4, 5))
    reference, fused = _layer(code), _layer(code)
    optimizer = scratchnet.optim.SGD(0.1, weight_decay=weight_decay)

    reference.forward(x, training=True)
    grad_in = reference.backward(grad_out).copy()
    for name in ("weight", "bias"):
        optimizer._update((0, name), reference.params[name], reference.grads[name], 1.0)

    fused.forward(x, training=True)
    sentinel = {name: np.full_like(g, 7.0) for name, g in fused.grads.items()}
    for name, grad in fused.grads.items():
        grad[...] = sentinel[name]
    alpha, beta = optimizer.fused_coefficients()
    fused_grad_in, names = fused.backward_update(grad_out, alpha=alpha, beta=beta)

    assert names == ("weight", "bias")
    assert np.array_equal(fused_grad_in, grad_in)  # from the weights before the update
    for name in ("weight", "bias"):
        np.testing.assert_allclose(fused.params[name], reference.params[name], rtol=1e-12)
    assert np.array_equal(fused.grads["weight"], sentinel["weight"])  # never written
    np.testing.assert_allclose(fused.grads["bias"], reference.grads["bias"], rtol=1e-12)


def test_backward_update_falls_back_when_blas_is_off():
    layer = _layer("CCC")
    x = np.ones((3, 6))
    layer.forward(x, training=True)
    before = layer.weight.copy()
    try:
        blas.set_enabled(False)
        _, names = layer.backward_update(np.ones((3, 5)), alpha=-0.1, beta=1.0)
    finally:
        blas.set_enabled(True)
    assert names == ()
    assert np.array_equal(layer.weight, before)
    assert np.any(layer.grads["weight"] != 0)


def test_optimizers_that_cannot_fuse_say_so():
    assert scratchnet.optim.SGD(0.1).fused_coefficients() == (-0.1, 1.0)
    alpha, beta = scratchnet.optim.SGD(0.1, weight_decay=0.5).fused_coefficients()
    assert (alpha, beta) == (-0.1, pytest.approx(0.95))
    assert scratchnet.optim.SGD(0.1, momentum=0.9).fused_coefficients() is None
    assert scratchnet.optim.SGD(0.1, clip_norm=1.0).fused_coefficients() is None
    assert scratchnet.optim.Adam(1e-3).fused_coefficients() is None


def test_sequential_backward_reports_what_it_updated_and_step_does_the_rest():
    model = scratchnet.nn.mlp(6, [5], 3, batch_norm=True, seed=0, dtype=np.float64)
    x, labels = np.random.default_rng(1).standard_normal((8, 6)), np.arange(8) % 3
    loss = scratchnet.nn.SoftmaxCrossEntropy()
    optimizer = scratchnet.optim.SGD(0.1)
    _, grad = loss(model.forward(x, training=True), labels)
    before = {(i, n): p.copy() for i, n, p, _ in model.parameters()}
    applied = model.backward(grad, update=optimizer.fused_coefficients())
    dense = {i for i, layer in enumerate(model.layers) if isinstance(layer, scratchnet.nn.Dense)}
    assert applied == {(i, n) for i in dense for n in ("weight", "bias")}
    optimizer.step(model, applied=applied)
    for index, name, param, _ in model.parameters():
        assert not np.array_equal(param, before[(index, name)]), (index, name)


def _train(callbacks=(), optimizer=None, fused=True):
    rng = np.random.default_rng(5)
    x = rng.random((300, 20), dtype=np.float32)
    labels = (x[:, :10].sum(axis=1) > x[:, 10:].sum(axis=1)).astype(np.int64)
    model = scratchnet.nn.mlp(20, [16, 16], 2, seed=1)
    optimizer = optimizer or scratchnet.optim.SGD(0.1, weight_decay=1e-3)
    blas.set_enabled(fused)
    try:
        fit(
            model,
            scratchnet.nn.SoftmaxCrossEntropy(),
            optimizer,
            (x, labels),
            epochs=2,
            batch_size=32,
            seed=0,
            callbacks=list(callbacks),
        )
    finally:
        blas.set_enabled(True)
    return [p.copy() for _, _, p, _ in model.parameters()]


def test_fit_with_plain_sgd_fuses_and_stays_deterministic(monkeypatch):
    calls = []
    original = scratchnet.nn.Dense.backward_update
    monkeypatch.setattr(
        scratchnet.nn.Dense,
        "backward_update",
        lambda self, *a, **k: calls.append(1) or original(self, *a, **k),
    )
    first, second, reference = _train(), _train(), _train(fused=False)
    assert len(calls) == 2 * 2 * 10 * 3  # runs, epochs, steps, dense layers
    for a, b, r in zip(first, second, reference, strict=True):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


def test_momentum_is_not_fused_and_is_bitwise_the_reference():
    fused = _train(optimizer=scratchnet.optim.SGD(0.05, momentum=0.9))
    reference = _train(optimizer=scratchnet.optim.SGD(0.05, momentum=0.9), fused=False)
    assert all(np.array_equal(a, b) for a, b in zip(fused, reference, strict=True))


class _ReadsGradients(Callback):
    def __init__(self):
        self.norms = []

    def on_batch_end(self, state):
        self.norms.append(float(np.abs(state.model.layers[0].grads["weight"]).sum()))


class _Quiet(_ReadsGradients):
    def needs_gradients(self, state):
        return False


def test_a_callback_that_reads_gradients_gets_them_fresh():
    watcher = _ReadsGradients()
    result = _train(callbacks=[watcher])
    reference = _train(fused=False)
    assert all(np.array_equal(a, b) for a, b in zip(result, reference, strict=True))
    assert len(set(watcher.norms)) == len(watcher.norms) > 1  # a new gradient every step


def test_a_callback_that_says_it_reads_none_lets_the_step_fuse():
    quiet = _Quiet()
    _train(callbacks=[quiet])
    assert len(set(quiet.norms)) == 1  # the gradients were never written after the first
