"""Global gradient-norm clipping and the max-norm constraint, shared by every optimiser."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.nn import Dense, Sequential
from scratchnet.optim import SGD, Adam, AdamW, RMSprop, apply_max_norm, global_norm


def _model_with_grads(scale: float) -> Sequential:
    """Two float64 layers whose gradients are fixed numbers times `scale`."""
    model = Sequential(
        [Dense(3, 4, "relu", seed=0, dtype=np.float64), Dense(4, 2, seed=1, dtype=np.float64)]
    )
    rng = np.random.default_rng(7)
    for *_, grad in model.parameters():
        grad[...] = scale * rng.standard_normal(grad.shape)
    return model


def _norm_of_change(before, model) -> float:
    return math.sqrt(
        sum(
            float(np.sum((p - b) ** 2))
            for (*_, p, _), b in zip(model.parameters(), before, strict=True)
        )
    )


def test_global_norm_is_the_norm_of_all_gradients_as_one_vector():
    grads = [np.array([[3.0, 0.0]]), np.array([4.0]), np.zeros((2, 2))]
    assert global_norm(grads) == 5.0  # sqrt(9 + 16)
    assert global_norm([]) == 0.0


def test_global_norm_survives_float32_overflow():
    # 1e20 ** 2 = 1e40 overflows float32 (max 3.4e38): the sum is redone in float64.
    grads = [np.full(4, 1e20, dtype=np.float32)]
    assert global_norm(grads) == pytest.approx(2e20, rel=1e-6)


def test_clipping_scales_the_global_norm_down_to_clip_norm():
    model = _model_with_grads(10.0)
    norm = global_norm(grad for *_, grad in model.parameters())
    assert norm > 5.0
    before = [p.copy() for *_, p, _ in model.parameters()]
    grads = [g.copy() for *_, g in model.parameters()]
    optimizer = SGD(1.0, clip_norm=5.0)
    optimizer.step(model)
    # Plain SGD with lr = 1 moves the parameters by exactly the clipped gradients:
    # delta = -(5 / norm) * grad, so the change's global norm is 5.
    assert _norm_of_change(before, model) == pytest.approx(5.0, rel=1e-12)
    for (*_, p, _), b, g in zip(model.parameters(), before, grads, strict=True):
        np.testing.assert_allclose(p, b - (5.0 / norm) * g, rtol=1e-13)
    assert optimizer.last_grad_norm == pytest.approx(norm, rel=1e-12)
    # The layers' gradients themselves are not modified.
    for (*_, g), saved in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(g, saved)


def test_clipping_leaves_small_gradients_alone():
    model = _model_with_grads(0.01)
    norm = global_norm(grad for *_, grad in model.parameters())
    assert norm < 5.0
    clipped, plain = _model_with_grads(0.01), _model_with_grads(0.01)
    SGD(1.0, clip_norm=5.0).step(clipped)
    SGD(1.0).step(plain)
    before = [p.copy() for *_, p, _ in _model_with_grads(0.01).parameters()]
    assert _norm_of_change(before, clipped) == pytest.approx(norm, rel=1e-12)
    for (*_, a, _), (*_, b, _) in zip(clipped.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise: no scale applied at all


def test_weight_decay_is_added_after_clipping():
    model = _model_with_grads(10.0)
    norm = global_norm(grad for *_, grad in model.parameters())
    before = [p.copy() for *_, p, _ in model.parameters()]
    grads = [g.copy() for *_, g in model.parameters()]
    SGD(0.1, weight_decay=0.5, clip_norm=1.0).step(model)
    # update = clipped grad + wd * param (the decay is not clipped, as in PyTorch)
    for (*_, p, _), b, g in zip(model.parameters(), before, grads, strict=True):
        np.testing.assert_allclose(p, b - 0.1 * ((1.0 / norm) * g + 0.5 * b), rtol=1e-13)


@pytest.mark.parametrize(
    "make", [lambda: Adam(0.1, clip_norm=1.0), lambda: SGD(0.1, clip_norm=1.0)]
)
def test_non_finite_gradients_with_clipping_raise(make):
    model = _model_with_grads(1.0)
    model.layers[1].grads["bias"][0] = np.nan
    with pytest.raises(FloatingPointError, match="gradient norm is nan"):
        make().step(model)


def test_clipping_with_adam_uses_the_clipped_gradient_in_the_moments():
    clipped = _model_with_grads(10.0)
    norm = global_norm(grad for *_, grad in clipped.parameters())
    optimizer = Adam(0.1, clip_norm=2.0)
    optimizer.step(clipped)
    grad = clipped.layers[0].grads["weight"]
    # m = (1 - beta1) * (2 / norm) * g: the clipped gradient, not the raw one.
    np.testing.assert_allclose(
        optimizer.state[(0, "weight")]["first_moment"], 0.1 * (2.0 / norm) * grad, rtol=1e-13
    )


# -- max-norm -----------------------------------------------------------------------------------


def test_apply_max_norm_rescales_only_long_columns():
    weight = np.array([[3.0, 0.3, 0.0], [4.0, 0.4, 0.0]])  # column norms 5, 0.5, 0
    apply_max_norm(weight, 2.0)
    np.testing.assert_allclose(weight[:, 0], [1.2, 1.6])  # (3, 4) * 2 / 5
    np.testing.assert_array_equal(weight[:, 1], [0.3, 0.4])  # bitwise unchanged
    np.testing.assert_array_equal(weight[:, 2], [0.0, 0.0])  # a zero column stays zero
    np.testing.assert_allclose(np.linalg.norm(weight, axis=0), [2.0, 0.5, 0.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(5.0, max_norm=1.5),
        lambda: SGD(5.0, momentum=0.9, max_norm=1.5),
        lambda: RMSprop(0.5, max_norm=1.5),
        lambda: Adam(0.5, max_norm=1.5),
        lambda: AdamW(0.5, max_norm=1.5),
    ],
)
def test_max_norm_bounds_every_column_after_a_step(make):
    model = _model_with_grads(10.0)  # big steps make long columns
    optimizer = make()
    for _ in range(3):
        optimizer.step(model)
        for _, name, param, _ in model.parameters():
            if name == "weight":
                norms = np.linalg.norm(param, axis=0)
                assert norms.shape == (param.shape[1],)  # one norm per output unit
                assert norms.max() <= 1.5 * (1 + 1e-12)
    # Some column was at the bound (the constraint was active)...
    weights = [p for _, name, p, _ in model.parameters() if name == "weight"]
    assert max(np.linalg.norm(w, axis=0).max() for w in weights) == pytest.approx(1.5)
    # ... and biases are not constrained: with the same fixed gradients, they end exactly where
    # an unconstrained run puts them.
    free = _model_with_grads(10.0)
    unconstrained = make()
    unconstrained.max_norm = None
    for _ in range(3):
        unconstrained.step(free)
    for layer, free_layer in zip(model.layers, free.layers, strict=True):
        np.testing.assert_array_equal(layer.params["bias"], free_layer.params["bias"])
        assert not np.array_equal(layer.params["weight"], free_layer.params["weight"])


def test_max_norm_keeps_the_arrays_in_place_and_float32():
    model = Sequential([Dense(3, 4, seed=0)])
    weight = model.layers[0].params["weight"]
    for *_, grad in model.parameters():
        grad[...] = -100.0
    SGD(1.0, max_norm=0.5).step(model)
    assert model.layers[0].params["weight"] is weight
    assert weight.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(weight, axis=0), 0.5, rtol=1e-6)


def test_config_shows_the_constraints_only_when_set():
    assert "clip_norm" not in SGD(0.1).get_config()
    assert SGD(0.1, clip_norm=1.0, max_norm=3.0).get_config() == {
        "learning_rate": 0.1,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
        "clip_norm": 1.0,
        "max_norm": 3.0,
    }
    assert repr(SGD(0.1, max_norm=2.0)) == (
        "SGD(learning_rate=0.1, momentum=0.0, nesterov=False, weight_decay=0.0, max_norm=2.0)"
    )
