"""The shared layer harness: every layer keeps the Layer contract (DESIGN.md, "Contracts").

Each case below is run through the same checks: output shape and dtype, the caller's input left
untouched, determinism, a float64 central-difference gradient check for the input and every
parameter, backward-before-forward, grads overwritten (never accumulated), repr and get_config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from scratchnet.nn import Dense, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from scratchnet.nn.gradcheck import check_layer
from scratchnet.nn.layer import Layer

N_IN, N_OUT, BATCH = 4, 3, 5
KINK_MARGIN = 1e-3  # ReLU-like inputs closer than this to 0 are redrawn (gradcheck eps is 1e-6)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[np.dtype, int], Layer]  # (dtype, seed) -> a fresh layer
    repr: str
    has_kink: bool  # relu / leaky_relu: keep inputs off the kink for the gradient check


def _dense(activation, negative_slope=None):
    def build(dtype, seed):
        spec = activation
        if negative_slope is not None:
            spec = {"name": activation, "negative_slope": negative_slope}
        return Dense(N_IN, N_OUT, spec, seed=seed, dtype=dtype)

    return build


def _standalone(factory):
    return lambda dtype, seed: factory()


CASES = [
    Case("dense-relu", _dense("relu"), "Dense(n_in=4, n_out=3, activation='relu')", True),
    Case(
        "dense-leaky_relu",
        _dense("leaky_relu"),
        "Dense(n_in=4, n_out=3, activation={'name': 'leaky_relu', 'negative_slope': 0.01})",
        True,
    ),
    Case(
        "dense-leaky_relu-0.2",
        _dense("leaky_relu", 0.2),
        "Dense(n_in=4, n_out=3, activation={'name': 'leaky_relu', 'negative_slope': 0.2})",
        True,
    ),
    Case("dense-sigmoid", _dense("sigmoid"), "Dense(n_in=4, n_out=3, activation='sigmoid')", False),
    Case("dense-tanh", _dense("tanh"), "Dense(n_in=4, n_out=3, activation='tanh')", False),
    Case("dense-softmax", _dense("softmax"), "Dense(n_in=4, n_out=3, activation='softmax')", False),
    Case("dense-identity", _dense("identity"), "Dense(n_in=4, n_out=3)", False),
    Case("dense-none", _dense(None), "Dense(n_in=4, n_out=3)", False),
    Case("ReLU", _standalone(ReLU), "ReLU()", True),
    Case(
        "LeakyReLU-0.1",
        _standalone(lambda: LeakyReLU(0.1)),
        "LeakyReLU(negative_slope=0.1)",
        True,
    ),
    Case("Sigmoid", _standalone(Sigmoid), "Sigmoid()", False),
    Case("Tanh", _standalone(Tanh), "Tanh()", False),
    Case("Softmax", _standalone(Softmax), "Softmax()", False),
    Case("Identity", _standalone(Identity), "Identity()", False),
]
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request) -> Case:
    return request.param


def _n_in(layer: Layer) -> int:
    return layer.n_in if isinstance(layer, Dense) else N_IN


def _n_out(layer: Layer) -> int:
    return layer.n_out if isinstance(layer, Dense) else N_IN


def _pre_activation(layer: Layer, x: np.ndarray) -> np.ndarray:
    """What the (possibly built-in) activation sees: z = x @ weight + bias, or x itself."""
    if isinstance(layer, Dense):
        return x.astype(np.float64) @ layer.weight.astype(np.float64) + layer.bias
    return x


def make_input(layer: Layer, case: Case, dtype, seed: int = 0) -> np.ndarray:
    """A seeded (BATCH, n_in) input; for ReLU-like layers no pre-activation is within
    KINK_MARGIN of 0 (rows are redrawn until that holds), so finite differences are valid."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, _n_in(layer)))
    if case.has_kink:
        for _ in range(1000):
            near = np.abs(_pre_activation(layer, x)) < KINK_MARGIN
            if not near.any():
                break
            rows = near.any(axis=1)
            x[rows] = rng.standard_normal((int(rows.sum()), x.shape[1]))
        else:  # pragma: no cover - would mean the redraw loop is broken
            raise AssertionError("could not draw an input off the ReLU kink")
        assert np.abs(_pre_activation(layer, x)).min() >= KINK_MARGIN
    return x.astype(dtype)


# -- shape, dtype, purity, determinism -------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("training", [False, True], ids=["infer", "train"])
def test_output_shape_and_dtype(case, dtype, training):
    layer = case.build(dtype, 0)
    x = make_input(layer, case, dtype)
    y = layer.forward(x, training=training)
    assert y.shape == (BATCH, _n_out(layer))
    assert y.dtype == np.dtype(dtype)
    assert np.isfinite(y).all()


def test_dense_casts_input_to_its_own_dtype():
    layer = Dense(N_IN, N_OUT, "relu", seed=0, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((BATCH, N_IN))  # float64 input
    y = layer.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, np.maximum(x @ layer.weight + layer.bias, 0), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("training", [False, True], ids=["infer", "train"])
def test_forward_does_not_mutate_the_input(case, dtype, training):
    # Dense applies its activation in place on its own buffer: the caller's x must not change,
    # nor may later passes write into an output the caller still holds.
    layer = case.build(dtype, 0)
    x = make_input(layer, case, dtype)
    if not case.has_kink:
        x[0, 0] = -2.0  # a negative entry, which ReLU-like layers would clip if done in place
    before = x.copy()
    y = layer.forward(x, training=training)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(x, y)
    if training:
        layer.backward(np.ones_like(y))
        np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_same_seed_same_output(case, dtype):
    first, second = case.build(dtype, 7), case.build(dtype, 7)
    x = make_input(first, case, dtype, seed=3)
    np.testing.assert_array_equal(first.forward(x), second.forward(x))
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    # And a forward pass is a pure function of (params, x): repeating it changes nothing.
    np.testing.assert_array_equal(first.forward(x, training=True), second.forward(x))


def test_different_seeds_give_different_dense_weights():
    a = Dense(N_IN, N_OUT, seed=1)
    b = Dense(N_IN, N_OUT, seed=2)
    assert not np.array_equal(a.weight, b.weight)


# -- the gradient contract ---------------------------------------------------------------------


def test_params_and_grads_have_identical_keys_and_shapes(case):
    layer = case.build(np.float64, 0)
    assert layer.params.keys() == layer.grads.keys()
    for name, param in layer.params.items():
        assert layer.grads[name].shape == param.shape
        assert layer.grads[name].dtype == param.dtype
    if isinstance(layer, Dense):
        assert set(layer.params) == {"weight", "bias"}
        assert layer.weight.shape == (N_IN, N_OUT)
        assert layer.bias.shape == (N_OUT,)
    else:
        assert layer.params == {}


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_check_float64(case, seed):
    layer = case.build(np.float64, seed)
    if isinstance(layer, Dense):
        # A non-zero bias, so a wrong bias gradient cannot hide behind bias == 0.
        layer.params["bias"][...] = np.random.default_rng(seed + 100).normal(0, 0.5, N_OUT)
    x = make_input(layer, case, np.float64, seed=seed)
    errors = check_layer(layer, x, rng=np.random.default_rng(seed))
    assert set(errors) == {"input", *layer.params}
    for name, error in errors.items():
        assert error < 1e-6, f"{case.id}: relative error {error:.2e} for {name}"


def test_gradient_check_notices_a_wrong_gradient():
    # The harness itself must be able to fail: a Dense whose bias gradient is off by 2x.
    class BrokenDense(Dense):
        def backward(self, grad_out, *, need_grad_in=True):
            grad_in = super().backward(grad_out, need_grad_in=need_grad_in)
            self.grads["bias"] *= 2
            return grad_in

    layer = BrokenDense(N_IN, N_OUT, "tanh", seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((BATCH, N_IN))
    errors = check_layer(layer, x, rng=np.random.default_rng(0))
    assert errors["weight"] < 1e-6
    assert errors["bias"] > 0.1


def test_backward_before_forward_raises(case):
    layer = case.build(np.float64, 0)
    grad_out = np.ones((BATCH, _n_out(layer)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(grad_out)


def test_backward_after_inference_only_forward_raises(case):
    # forward(training=False) caches nothing, so backward has nothing to differentiate.
    layer = case.build(np.float64, 0)
    y = layer.forward(make_input(layer, case, np.float64), training=False)
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(np.ones_like(y))


def test_backward_overwrites_grads(case):
    layer = case.build(np.float64, 0)
    x = make_input(layer, case, np.float64)
    y = layer.forward(x, training=True)
    grad_out = np.random.default_rng(1).standard_normal(y.shape)
    first_in = layer.backward(grad_out.copy())
    first = {name: g.copy() for name, g in layer.grads.items()}
    second_in = layer.backward(grad_out.copy())
    np.testing.assert_array_equal(second_in, first_in)
    for name in first:
        np.testing.assert_array_equal(layer.grads[name], first[name])
    # A different upstream gradient replaces the old grads entirely (linear in grad_out).
    layer.backward(3 * grad_out)
    for name in first:
        np.testing.assert_allclose(layer.grads[name], 3 * first[name], rtol=1e-12)


def test_backward_without_grad_in_still_fills_grads(case):
    layer = case.build(np.float64, 0)
    x = make_input(layer, case, np.float64)
    y = layer.forward(x, training=True)
    grad_out = np.random.default_rng(2).standard_normal(y.shape)
    full = layer.backward(grad_out)
    assert full.shape == x.shape
    expected = {name: g.copy() for name, g in layer.grads.items()}
    for g in layer.grads.values():
        g[...] = np.nan
    assert layer.backward(grad_out, need_grad_in=False) is None
    for name in expected:
        np.testing.assert_array_equal(layer.grads[name], expected[name])


# -- description and configuration -------------------------------------------------------------


def test_repr_shows_the_configuration(case):
    assert repr(case.build(np.float32, 0)) == case.repr


def test_repr_of_the_design_doc_example():
    layer = Dense(784, 128, "relu", seed=0)
    assert repr(layer) == "Dense(n_in=784, n_out=128, activation='relu')"


def test_dense_repr_shows_the_leaky_slope():
    layer = Dense(4, 3, {"name": "leaky_relu", "negative_slope": 0.2}, seed=0)
    assert "0.2" in repr(layer)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_get_config_round_trip(case, dtype):
    layer = case.build(dtype, 5)
    config = layer.get_config()
    if isinstance(layer, Dense):
        rebuilt = type(layer)(**config, seed=5, dtype=dtype)
    else:
        rebuilt = type(layer)(**config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    if isinstance(layer, Dense):
        assert type(rebuilt.activation) is type(layer.activation)
        assert rebuilt.activation.get_config() == layer.activation.get_config()
    x = make_input(layer, case, dtype, seed=4)
    np.testing.assert_array_equal(rebuilt.forward(x), layer.forward(x))


def test_get_config_is_json_able(case):
    import json

    config = case.build(np.float32, 0).get_config()
    assert json.loads(json.dumps(config)) == config


def test_leaky_relu_slope_is_used_and_validated():
    x = np.array([[-2.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, 3.0]])
    layer = Dense(2, 2, {"name": "leaky_relu", "negative_slope": 0.25}, seed=0, dtype=np.float64)
    layer.params["weight"][...] = np.eye(2)
    np.testing.assert_allclose(layer.forward(x), [[-0.5, 3.0]])
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="negative_slope"):
            LeakyReLU(bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_in": 0, "n_out": 3}, "n_in must be a positive integer"),
        ({"n_in": 4, "n_out": -1}, "n_out must be a positive integer"),
        ({"n_in": 2.5, "n_out": 3}, "n_in"),
        ({"n_in": True, "n_out": 3}, "n_in"),
        ({"n_in": 4, "n_out": 3, "activation": "swish"}, "activation must be one of"),
        ({"n_in": 4, "n_out": 3, "dtype": np.float16}, "dtype must be float32 or float64"),
        ({"n_in": 4, "n_out": 3, "weight_init": "bogus"}, "unknown initialiser"),
    ],
)
def test_dense_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dense(**kwargs, seed=0)


def test_dense_needs_explicit_randomness():
    with pytest.raises(ValueError, match="seed"):
        Dense(4, 3)


def test_dense_rejects_wrong_input_shape():
    layer = Dense(4, 3, seed=0)
    for bad in (np.zeros((2, 5)), np.zeros(4), np.zeros((2, 4, 1))):
        with pytest.raises(ValueError, match=r"expected input of shape \(batch, 4\)"):
            layer.forward(bad)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_dense_computes_f_of_x_weight_plus_bias(activation):
    # The forward maths against a direct NumPy formula, batch-first: y = f(x @ W + b).
    layer = Dense(N_IN, N_OUT, activation, seed=0, dtype=np.float64)
    layer.params["bias"][...] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(0).standard_normal((BATCH, N_IN))
    z = x @ layer.weight + layer.bias
    expected = {
        "relu": np.maximum(z, 0),
        "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "sigmoid": 1 / (1 + np.exp(-z)),
        "tanh": np.tanh(z),
        "softmax": np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
    }[activation]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-15)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    for dtype in DTYPES:
        y = Sigmoid().forward(x.astype(dtype))
        assert y.dtype == dtype
        assert np.isfinite(y).all()
        np.testing.assert_allclose(y[0, [0, 2, 4]], [0.0, 0.5, 1.0])
