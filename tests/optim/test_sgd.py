"""SGD: a hand-worked golden step through a tiny network, closed-form steps for momentum,
Nesterov and weight decay, in-place updates, and hyperparameter validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.nn import Dense, Sequential, SoftmaxCrossEntropy
from scratchnet.optim import SGD


def _golden_network() -> Sequential:
    first = Dense(2, 2, "relu", seed=0, dtype=np.float64)
    first.params["weight"][...] = [[0.5, -1.0], [0.25, 0.5]]
    first.params["bias"][...] = [0.0, -0.5]
    second = Dense(2, 2, seed=0, dtype=np.float64)
    second.params["weight"][...] = [[1.0, -1.0], [2.0, 0.5]]
    second.params["bias"][...] = [0.0, 0.0]
    return Sequential([first, second])


def test_golden_sgd_step_by_hand():
    model = _golden_network()
    x = np.array([[1.0, 2.0]])
    label = np.array([0])
    # Forward:
    #   z1 = x @ W1 + b1 = [1*0.5 + 2*0.25, 1*(-1) + 2*0.5] + [0, -0.5] = [1.0, -0.5]
    #   h  = relu(z1) = [1.0, 0.0]
    #   logits = h @ W2 + b2 = [1*1 + 0*2, 1*(-1) + 0*0.5] = [1.0, -1.0]
    #   softmax = [e/(e + 1/e), (1/e)/(e + 1/e)] = [sigmoid(2), sigmoid(-2)]
    #           = [0.88079708, 0.11920292];  write a = sigmoid(-2) = 1 / (1 + e^2)
    #   loss = -log(1 - a) = log(1 + e^-2) = 0.12692801
    a = 1 / (1 + math.exp(2))
    assert a == pytest.approx(0.11920292, abs=1e-8)
    loss = SoftmaxCrossEntropy()
    logits = model.forward(x, training=True)
    np.testing.assert_allclose(logits, [[1.0, -1.0]])
    value, grad = loss(logits, label)
    assert value == pytest.approx(0.12692801, abs=1e-8)
    # Backward (batch of 1, so the mean is the example itself):
    #   dlogits = softmax - one_hot(0) = [-a, a]
    #   dW2 = h^T @ dlogits = [[1*(-a), 1*a], [0*(-a), 0*a]] = [[-a, a], [0, 0]];  db2 = [-a, a]
    #   dh  = dlogits @ W2^T = [-a*1 + a*(-1), -a*2 + a*0.5] = [-2a, -1.5a]
    #   dz1 = dh * relu'(z1) = [-2a * 1, -1.5a * 0] = [-2a, 0]
    #   dW1 = x^T @ dz1 = [[1*(-2a), 0], [2*(-2a), 0]] = [[-2a, 0], [-4a, 0]];  db1 = [-2a, 0]
    model.backward(grad)
    np.testing.assert_allclose(model.layers[1].grads["weight"], [[-a, a], [0, 0]], atol=1e-15)
    np.testing.assert_allclose(model.layers[0].grads["weight"], [[-2 * a, 0], [-4 * a, 0]])
    # One SGD step, learning rate 0.1: param -= 0.1 * grad
    #   W1 = [[0.5 + 0.2a, -1.0], [0.25 + 0.4a, 0.5]] = [[0.52384058, -1], [0.29768117, 0.5]]
    #   b1 = [0 + 0.2a, -0.5]                          = [0.02384058, -0.5]
    #   W2 = [[1 + 0.1a, -1 - 0.1a], [2, 0.5]]         = [[1.01192029, -1.01192029], [2, 0.5]]
    #   b2 = [0 + 0.1a, 0 - 0.1a]                      = [0.01192029, -0.01192029]
    SGD(learning_rate=0.1).step(model)
    first, second = model.layers
    np.testing.assert_allclose(
        first.weight, [[0.52384058, -1.0], [0.29768117, 0.5]], rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(first.bias, [0.02384058, -0.5], rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        second.weight, [[1.01192029, -1.01192029], [2.0, 0.5]], rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(second.bias, [0.01192029, -0.01192029], rtol=0, atol=1e-8)
    # The exact values, from a, to full precision:
    np.testing.assert_allclose(first.weight, [[0.5 + 0.2 * a, -1.0], [0.25 + 0.4 * a, 0.5]])
    # And the step helped: the loss went down.
    assert loss.value(model.forward(x), label) < value


# -- closed-form steps on a single parameter ---------------------------------------------------


def _one_param_model(param, grad) -> Sequential:
    """A 1x2 Dense whose bias is 0 with zero gradient; weight and grad set by hand."""
    layer = Dense(1, 2, seed=0, dtype=np.float64)
    layer.params["weight"][...] = param
    layer.params["bias"][...] = 0.0
    layer.grads["weight"][...] = grad
    layer.grads["bias"][...] = 0.0
    return Sequential([layer])


P0 = np.array([[1.0, -2.0]])
G = np.array([[0.5, 0.25]])


def test_plain_sgd_step():
    model = _one_param_model(P0, G)
    optimizer = SGD(0.1)
    optimizer.step(model)
    # p1 = p0 - 0.1 g = [1 - 0.05, -2 - 0.025]
    np.testing.assert_allclose(model.layers[0].weight, [[0.95, -2.025]])
    assert optimizer.iterations == 1
    assert optimizer.state == {}  # plain SGD keeps no state


def test_momentum_velocity_accumulates_over_two_steps():
    model = _one_param_model(P0, G)
    optimizer = SGD(0.1, momentum=0.9)
    optimizer.step(model)
    # v1 = 0.9 * 0 + g = g;  p1 = p0 - 0.1 v1 = [0.95, -2.025]
    np.testing.assert_allclose(model.layers[0].weight, [[0.95, -2.025]])
    np.testing.assert_allclose(optimizer.state[(0, "weight")]["velocity"], G)
    optimizer.step(model)  # the same gradient again
    # v2 = 0.9 g + g = 1.9 g = [0.95, 0.475];  p2 = p1 - 0.1 v2 = [0.95 - 0.095, -2.025 - 0.0475]
    np.testing.assert_allclose(optimizer.state[(0, "weight")]["velocity"], [[0.95, 0.475]])
    np.testing.assert_allclose(model.layers[0].weight, [[0.855, -2.0725]])
    assert optimizer.iterations == 2


def test_nesterov_steps():
    model = _one_param_model(P0, G)
    optimizer = SGD(0.1, momentum=0.9, nesterov=True)
    optimizer.step(model)
    # v1 = g;  p1 = p0 - 0.1 (g + 0.9 v1) = p0 - 0.19 g = [1 - 0.095, -2 - 0.0475]
    np.testing.assert_allclose(model.layers[0].weight, [[0.905, -2.0475]])
    optimizer.step(model)
    # v2 = 1.9 g;  p2 = p1 - 0.1 (g + 0.9 * 1.9 g) = p1 - 0.271 g
    #             = [0.905 - 0.1355, -2.0475 - 0.06775]
    np.testing.assert_allclose(model.layers[0].weight, [[0.7695, -2.11525]])


def test_weight_decay_adds_decay_times_param_to_the_gradient():
    model = _one_param_model(P0, G)
    SGD(0.1, weight_decay=0.01).step(model)
    # g' = g + 0.01 p0 = [0.5 + 0.01, 0.25 - 0.02] = [0.51, 0.23];  p1 = p0 - 0.1 g'
    np.testing.assert_allclose(model.layers[0].weight, [[0.949, -2.023]])
    # The bias (0, with zero gradient) stays 0: decay of 0 is 0.
    np.testing.assert_array_equal(model.layers[0].bias, [0.0, 0.0])


def test_weight_decay_with_momentum():
    model = _one_param_model(P0, G)
    SGD(0.1, momentum=0.5, weight_decay=0.01).step(model)
    # v1 = g' = [0.51, 0.23];  p1 = p0 - 0.1 v1
    np.testing.assert_allclose(model.layers[0].weight, [[0.949, -2.023]])


def test_the_gradient_is_not_modified_by_weight_decay():
    model = _one_param_model(P0, G)
    SGD(0.1, weight_decay=0.5).step(model)
    np.testing.assert_array_equal(model.layers[0].grads["weight"], G)


def test_update_is_in_place():
    model = _one_param_model(P0, G)
    param = model.layers[0].params["weight"]
    for optimizer in (SGD(0.1), SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9, nesterov=True)):
        before = param.copy()
        optimizer.step(model)
        assert param is model.layers[0].params["weight"]
        assert model.layers[0].weight is param  # the property sees the very same array
        assert not np.array_equal(param, before)
        np.testing.assert_array_equal(model.layers[0].weight, param)


def test_state_is_keyed_by_layer_and_parameter():
    model = Sequential([Dense(2, 3, seed=0), Dense(3, 2, seed=1)])
    for *_, grad in model.parameters():
        grad[...] = 1.0
    optimizer = SGD(0.1, momentum=0.9)
    optimizer.step(model)
    assert set(optimizer.state) == {(0, "weight"), (0, "bias"), (1, "weight"), (1, "bias")}
    assert optimizer.state[(1, "weight")]["velocity"].shape == (3, 2)
    assert optimizer.state[(0, "bias")]["velocity"].dtype == np.float32


def test_float32_parameters_stay_float32():
    model = Sequential([Dense(2, 3, seed=0)])
    for *_, grad in model.parameters():
        grad[...] = 0.5
    SGD(0.1, momentum=0.9, weight_decay=1e-3).step(model)
    assert model.layers[0].weight.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"learning_rate": None}, "learning_rate"),
        ({"learning_rate": 0.1, "momentum": 1.0}, "momentum"),
        ({"learning_rate": 0.1, "momentum": 1.5}, "momentum"),
        ({"learning_rate": 0.1, "momentum": -0.1}, "momentum"),
        ({"learning_rate": 0.1, "momentum": float("nan")}, "momentum"),
        ({"learning_rate": 0.1, "weight_decay": -1e-4}, "weight_decay"),
        ({"learning_rate": 0.1, "weight_decay": float("nan")}, "weight_decay"),
        ({"learning_rate": 0.1, "nesterov": True}, "nesterov"),
        ({"learning_rate": 0.1, "momentum": 0.0, "nesterov": True}, "nesterov"),
    ],
)
def test_invalid_hyperparameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SGD(**kwargs)


def test_invalid_hyperparameter_message_says_expected_and_received():
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\); received momentum=1.0"):
        SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0, inf\); received"):
        SGD(0.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"learning_rate": math.inf}, {"learning_rate": 0.1, "weight_decay": math.inf}],
    ids=["learning_rate", "weight_decay"],
)
def test_infinite_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError):
        SGD(**kwargs)


def test_valid_edge_values_are_accepted():
    assert SGD(1e-12).learning_rate == 1e-12
    assert SGD(0.1, momentum=0.0).momentum == 0.0
    assert SGD(0.1, momentum=0.999, nesterov=True).nesterov is True
    assert SGD(0.1, weight_decay=0.0).weight_decay == 0.0


def test_repr_and_config():
    optimizer = SGD(0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    assert optimizer.get_config() == {
        "learning_rate": 0.05,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-4,
    }
    assert repr(optimizer) == (
        "SGD(learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.0005)"
    )
