"""Dropout: inverted scaling (E[y] = x), the share of zeros, evaluation as the identity, the
explicit generator (same seed, same mask), a gradient check with a fixed mask, validation;
mlp(dropout=...)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.nn import Dense, Dropout, Sequential, SoftmaxCrossEntropy, mlp
from scratchnet.nn.gradcheck import check_layer, check_model


class FixedMaskDropout(Dropout):
    """Dropout whose generator is reset before every forward pass, so every pass draws the
    same (random, non-trivial) mask: finite differences then see one fixed function."""

    def __init__(self, rate, mask_seed):
        super().__init__(rate, seed=mask_seed)
        self.mask_seed = mask_seed

    def forward(self, x, *, training=False):
        self.rng = np.random.default_rng(self.mask_seed)
        return super().forward(x, training=training)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_check_with_a_fixed_mask(rate, seed):
    layer = FixedMaskDropout(rate, mask_seed=seed)
    x = np.random.default_rng(seed + 10).standard_normal((6, 5))
    y = layer.forward(x, training=True)
    dropped = y == 0
    # The check is meaningful: some entries are dropped, some kept (and scaled).
    assert dropped.any() and not dropped.all()
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - rate), rtol=1e-12)
    errors = check_layer(layer, x, rng=np.random.default_rng(seed))
    assert set(errors) == {"input"}
    assert errors["input"] < 1e-6


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, seed=3)
    x = np.random.default_rng(0).standard_normal((8, 6))
    y = layer.forward(x, training=True)
    grad_out = np.random.default_rng(1).standard_normal(y.shape)
    grad_in = layer.backward(grad_out)
    # y = x * m elementwise, so dL/dx = grad_out * m with m = y / x (x has no zeros here).
    np.testing.assert_allclose(grad_in, grad_out * (y / x), rtol=1e-12)
    assert layer.backward(grad_out, need_grad_in=False) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_evaluation_is_the_identity(dtype):
    layer = Dropout(0.5, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 7)).astype(dtype)
    y = layer.forward(x, training=False)
    np.testing.assert_array_equal(y, x)
    assert y.dtype == dtype
    assert not np.shares_memory(x, y)
    assert layer.forward(x) is not x  # training=False is the default


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_training_keeps_the_expectation_and_drops_a_share_of_rate(dtype, rate):
    layer = Dropout(rate, seed=42)
    x = np.full((1000, 200), 3.0, dtype=dtype)
    y = layer.forward(x, training=True)
    assert y.dtype == dtype and y.shape == x.shape
    # 200,000 Bernoulli draws: the standard error of the share is below 0.0012.
    assert np.mean(y == 0) == pytest.approx(rate, abs=0.01)
    assert np.mean(y, dtype=np.float64) == pytest.approx(3.0, rel=0.03)
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 3.0 / (1 - rate), rtol=1e-6)


def test_rate_zero_is_the_identity_in_training_too():
    layer = Dropout(0.0, seed=0)
    x = np.random.default_rng(0).standard_normal((3, 4))
    state = layer.rng.bit_generator.state
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, x)
    assert layer.rng.bit_generator.state == state  # nothing drawn
    grad = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(grad), grad)


def test_same_seed_same_mask_and_new_masks_each_step():
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    x = np.ones((16, 8))
    first_a, first_b = a.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(first_a, first_b)
    np.testing.assert_array_equal(
        first_a, Dropout(0.5, rng=np.random.default_rng(7)).forward(x, training=True)
    )
    second_a = a.forward(x, training=True)
    assert not np.array_equal(second_a, first_a)
    assert not np.array_equal(first_a, Dropout(0.5, seed=8).forward(x, training=True))


def test_input_is_not_mutated_and_batch_sizes_can_change():
    layer = Dropout(0.3, seed=0)
    x = np.random.default_rng(0).standard_normal((10, 4))
    before = x.copy()
    y_big = layer.forward(x, training=True)
    np.testing.assert_array_equal(x, before)
    kept_big = y_big.copy()
    # A smaller last batch reuses the mask buffer; the earlier output is not overwritten.
    y_small = layer.forward(x[:3], training=True)
    assert y_small.shape == (3, 4)
    np.testing.assert_array_equal(y_big, kept_big)
    grad = layer.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(grad == 0, y_small == 0)
    # And a larger batch afterwards gets a fresh, large enough buffer.
    assert layer.forward(np.ones((20, 4)), training=True).shape == (20, 4)
    with pytest.raises(ValueError, match="expected grad_out of shape"):
        layer.backward(np.ones((3, 4)))


def test_backward_before_forward_raises():
    layer = Dropout(0.5, seed=0)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)), training=False)
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(np.ones((2, 3)))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), float("inf"), True, "0.5", None])
def test_rate_validation(rate):
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\); received rate="):
        Dropout(rate, seed=0)


def test_needs_explicit_randomness():
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        Dropout(0.5, rng=np.random.RandomState(0))


def test_rejects_non_matrix_input():
    with pytest.raises(ValueError, match=r"shape \(batch, features\)"):
        Dropout(0.5, seed=0).forward(np.ones(4))


def test_config_and_repr():
    layer = Dropout(0.25, seed=0)
    assert layer.get_config() == {"rate": 0.25}
    assert json.loads(json.dumps(layer.get_config())) == layer.get_config()
    assert repr(layer) == "Dropout(rate=0.25)"
    assert layer.params == layer.grads == layer.buffers == {}
    assert layer.output_size(17) == 17


# -- in a network ------------------------------------------------------------------------------


def test_mlp_with_dropout_puts_one_after_each_hidden_activation():
    model = mlp(6, [5, 4], 3, dropout=0.5, seed=0)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense",
        "Dropout",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert [layer.activation.name for layer in model.layers[::2]] == ["relu", "relu", "identity"]
    assert all(layer.rate == 0.5 for layer in model.layers[1::2])
    # Each Dropout has its own generator (spawned from the model's), so masks differ by layer.
    assert model.layers[1].rng is not model.layers[3].rng
    x = np.ones((50, 5))
    assert not np.array_equal(
        model.layers[1].forward(x, training=True), model.layers[3].forward(x, training=True)
    )
    assert [type(layer) for layer in mlp(6, [], 3, dropout=0.5, seed=0).layers] == [Dense]


def test_mlp_with_dropout_is_reproducible_and_evaluates_deterministically():
    x = np.random.default_rng(0).standard_normal((20, 6))
    a = mlp(6, [8], 3, dropout=0.3, seed=11)
    b = mlp(6, [8], 3, rng=np.random.default_rng(11), dropout=0.3)
    np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))
    np.testing.assert_array_equal(a.predict_logits(x), a.predict_logits(x))
    # In evaluation the network is the one without dropout (same seed, same weights).
    plain = mlp(6, [8], 3, seed=11)
    np.testing.assert_array_equal(a.predict_logits(x), plain.predict_logits(x))
    assert not np.array_equal(a.forward(x, training=True), plain.forward(x, training=True))


@pytest.mark.parametrize("bad", [-0.5, 1.0, True, "0.2"])
def test_mlp_validates_the_dropout_rate(bad):
    with pytest.raises(
        ValueError, match=r"dropout must be a number in \[0, 1\); received dropout="
    ):
        mlp(6, [5], 3, dropout=bad, seed=0)


def test_gradient_check_of_a_network_with_a_fixed_mask_dropout():
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Dense(5, 6, "tanh", rng=rng, dtype=np.float64),
            FixedMaskDropout(0.4, mask_seed=2),
            Dense(6, 3, rng=rng, dtype=np.float64),
        ]
    )
    x = rng.standard_normal((4, 5))
    labels = np.array([0, 2, 1, 2])
    errors = check_model(model, SoftmaxCrossEntropy(), x, labels)
    assert max(errors.values()) < 1e-6
