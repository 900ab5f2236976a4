"""Sequential and mlp: construction checks, whole-network gradient check, batched inference,
input validation, seeding and the summary table."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.nn import (
    Dense,
    LeakyReLU,
    MeanSquaredError,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    mlp,
    softmax,
)
from scratchnet.nn.gradcheck import check_model


def _data(n=6, n_in=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)), rng.integers(0, k, n)


# -- construction ------------------------------------------------------------------------------


def test_size_mismatch_between_layers_raises():
    with pytest.raises(ValueError, match=r"layer 1 \(Dense\(n_in=5, n_out=2\)\) expects 5 inputs "):
        Sequential([Dense(4, 3, seed=0), Dense(5, 2, seed=0)])


def test_size_mismatch_is_found_across_activation_layers():
    with pytest.raises(ValueError, match="layer 2 .* but the layer before it gives 3"):
        Sequential([Dense(4, 3, seed=0), ReLU(), Dense(4, 2, seed=0)])


def test_matching_sizes_through_activation_layers():
    model = Sequential([Dense(4, 3, seed=0), Tanh(), Dense(3, 2, seed=0)])
    assert (model.n_in, model.n_out) == (4, 2)
    assert len(model) == 3
    assert isinstance(model[1], Tanh)


@pytest.mark.parametrize(
    ("layers", "error", "match"),
    [
        ([], ValueError, "at least one layer"),
        ([ReLU()], ValueError, "at least one Dense"),
        (["dense"], TypeError, "layer 0 is not a scratchnet Layer"),
    ],
)
def test_bad_layer_lists_raise(layers, error, match):
    with pytest.raises(error, match=match):
        Sequential(layers)


def test_mixed_dtypes_raise():
    with pytest.raises(ValueError, match="share one dtype"):
        Sequential([Dense(4, 3, seed=0, dtype=np.float32), Dense(3, 2, seed=0, dtype=np.float64)])


def test_mlp_builds_the_requested_architecture():
    model = mlp(5, [4, 3], 2, activation="tanh", output_activation="softmax", seed=0)
    assert [(layer.n_in, layer.n_out) for layer in model.layers] == [(5, 4), (4, 3), (3, 2)]
    assert [layer.activation.name for layer in model.layers] == ["tanh", "tanh", "softmax"]
    assert model.dtype == np.float32
    assert mlp(5, [], 2, seed=0).layers[0].activation.name == "identity"


def test_mlp_needs_explicit_randomness():
    with pytest.raises(ValueError, match="seed"):
        mlp(5, [4], 3)


def test_mlp_same_seed_same_weights():
    a = mlp(5, [4, 3], 2, seed=42)
    b = mlp(5, [4, 3], 2, seed=42)
    c = mlp(5, [4, 3], 2, seed=43)
    pairs = list(zip(a.parameters(), b.parameters(), strict=True))
    assert len(pairs) == 6
    for (_, _, pa, _), (_, _, pb, _) in pairs:
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.layers[0].weight, c.layers[0].weight)
    # One shared generator: the layers are not copies of each other.
    assert not np.array_equal(a.layers[1].weight[:3], a.layers[0].weight[:3, :3])


def test_mlp_with_rng_is_the_same_as_with_seed():
    a = mlp(5, [4], 2, seed=9)
    b = mlp(5, [4], 2, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.layers[0].weight, b.layers[0].weight)


def test_parameters_lists_every_parameter_in_layer_order():
    model = Sequential([Dense(4, 3, seed=0), ReLU(), Dense(3, 2, seed=0)])
    listed = [
        (index, name, param.shape, grad.shape) for index, name, param, grad in model.parameters()
    ]
    assert listed == [
        (0, "weight", (4, 3), (4, 3)),
        (0, "bias", (3,), (3,)),
        (2, "weight", (3, 2), (3, 2)),
        (2, "bias", (2,), (2,)),
    ]
    assert model.num_params == 12 + 3 + 6 + 2
    # The very arrays the layers hold (an optimiser updates them in place).
    (_, _, weight, grad), *_ = model.parameters()
    assert weight is model.layers[0].params["weight"]
    assert grad is model.layers[0].grads["weight"]


# -- gradients ---------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_check_model_on_a_3_layer_float64_mlp(activation):
    x, labels = _data()
    model = mlp(5, [4, 4], 3, activation=activation, seed=1, dtype=np.float64)
    for layer in model.layers:  # non-zero biases, so their gradients are exercised
        layer.params["bias"][...] = np.random.default_rng(3).normal(0, 0.1, layer.n_out)
    errors = check_model(model, SoftmaxCrossEntropy(), x, labels)
    assert set(errors) == {f"{i}.{name}" for i in range(3) for name in ("weight", "bias")}
    for name, error in errors.items():
        assert error < 1e-6, f"{name}: {error:.2e}"


def test_check_model_with_mse_and_standalone_activation_layers():
    x, labels = _data(seed=2)
    model = Sequential(
        [
            Dense(5, 4, seed=0, dtype=np.float64),
            Tanh(),
            Dense(4, 4, seed=1, dtype=np.float64),
            LeakyReLU(0.2),
            Dense(4, 3, seed=2, dtype=np.float64),
        ]
    )
    errors = check_model(model, MeanSquaredError(reduction="sum"), x, labels)
    assert max(errors.values()) < 1e-6


def test_backward_overwrites_every_layer_grad():
    x, labels = _data()
    model = mlp(5, [4], 3, seed=0, dtype=np.float64)
    loss = SoftmaxCrossEntropy()
    _, grad = loss(model.forward(x, training=True), labels)
    model.backward(grad)
    first = [g.copy() for *_, g in model.parameters()]
    model.forward(x, training=True)
    model.backward(grad)
    for before, (*_, after) in zip(first, model.parameters(), strict=True):
        np.testing.assert_array_equal(after, before)


def test_mlp_with_an_activation_instance_has_correct_gradients():
    x, labels = _data()
    model = mlp(5, [4, 4], 3, activation=LeakyReLU(0.2), seed=1, dtype=np.float64)
    errors = check_model(model, SoftmaxCrossEntropy(), x, labels)
    assert max(errors.values()) < 1e-6


def test_mlp_with_an_activation_spec_dict_has_correct_gradients():
    # The same network spelled as a dict: every layer gets its own activation object.
    x, labels = _data()
    spec = {"name": "leaky_relu", "negative_slope": 0.2}
    model = mlp(5, [4, 4], 3, activation=spec, seed=1, dtype=np.float64)
    assert model.layers[0].activation is not model.layers[1].activation
    assert model.layers[0].activation.negative_slope == 0.2
    errors = check_model(model, SoftmaxCrossEntropy(), x, labels)
    assert max(errors.values()) < 1e-6


# -- inference ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size", [1, 4, 7, 23, 100])
def test_batched_prediction_agrees_with_one_forward(dtype, batch_size):
    x, _ = _data(n=23, seed=4)
    model = mlp(5, [8], 3, seed=0, dtype=dtype)
    logits = model.forward(x.astype(dtype))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    got = model.predict_logits(x, batch_size=batch_size)
    assert got.shape == (23, 3) and got.dtype == dtype
    np.testing.assert_allclose(got, logits, rtol=tol, atol=tol)
    probs = model.predict_proba(x, batch_size=batch_size)
    np.testing.assert_allclose(probs, softmax(logits.astype(np.float64)), rtol=tol, atol=tol)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=tol)
    predicted = model.predict(x, batch_size=batch_size)
    assert predicted.shape == (23,) and np.issubdtype(predicted.dtype, np.integer)
    np.testing.assert_array_equal(predicted, logits.argmax(axis=1))


def test_prediction_does_not_disturb_training_caches():
    # predict between forward(training=True) and backward must not change the gradients.
    x, labels = _data()
    model = mlp(5, [4], 3, seed=0, dtype=np.float64)
    loss = SoftmaxCrossEntropy()
    _, grad = loss(model.forward(x, training=True), labels)
    model.backward(grad)
    expected = [g.copy() for *_, g in model.parameters()]
    _, grad = loss(model.forward(x, training=True), labels)
    model.predict(np.random.default_rng(9).standard_normal((11, 5)))
    model.backward(grad)
    for before, (*_, after) in zip(expected, model.parameters(), strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.zeros((3, 4)), r"expected features of shape \(batch, 5\); received shape \(3, 4\)"),
        (np.zeros(5), r"received shape \(5,\)"),
        (np.zeros((2, 5, 2)), r"received shape \(2, 5, 2\)"),
        (np.array([[0.0, 1.0, np.nan, 0.0, 0.0]]), "NaN or infinite"),
        (np.array([[0.0, 1.0, np.inf, 0.0, 0.0]]), "NaN or infinite"),
        (np.array([["a", "b", "c", "d", "e"]]), "numeric features"),
        (np.zeros((2, 5), dtype=bool), "numeric features"),
    ],
)
def test_check_input_rejects_bad_features(x, match):
    model = mlp(5, [4], 3, seed=0)
    with pytest.raises(ValueError, match=match):
        model.check_input(x)
    with pytest.raises(ValueError, match=match):
        model.predict(x)


def test_check_input_casts_to_the_network_dtype():
    model = mlp(5, [4], 3, seed=0)
    checked = model.check_input(np.arange(10).reshape(2, 5))
    assert checked.dtype == np.float32
    np.testing.assert_array_equal(checked, np.arange(10).reshape(2, 5))
    as_list = model.check_input([[0, 1, 2, 3, 4]])
    assert as_list.shape == (1, 5)


# -- description -------------------------------------------------------------------------------


def test_summary_lists_every_layer_and_the_total():
    model = mlp(784, [128], 10, seed=0)
    text = model.summary_text()
    lines = text.splitlines()
    assert len(lines) == 1 + len(model.layers) + 1
    assert "Dense(n_in=784, n_out=128, activation='relu')" in lines[1]
    assert "Dense(n_in=128, n_out=10)" in lines[2]
    # 784*128 + 128 = 100,480 and 128*10 + 10 = 1,290; total 101,770
    assert "100,480" in lines[1] and "1,290" in lines[2]
    assert lines[-1] == "total parameters: 101,770 (float32)"
    assert model.num_params == 101_770


def test_summary_shows_output_sizes_through_activation_layers():
    model = Sequential([Dense(4, 6, seed=0), ReLU(), Dense(6, 2, seed=0)])
    lines = model.summary_text().splitlines()
    assert "ReLU()" in lines[2]
    assert lines[2].split()[-3:] == ["(None,", "6)", "0"]  # output shape, params
    assert lines[3].split()[-3:] == ["(None,", "2)", "14"]


def test_repr_lists_the_layers():
    model = Sequential([Dense(4, 3, "relu", seed=0), Dense(3, 2, seed=0)])
    assert repr(model) == (
        "Sequential([\n"
        "    Dense(n_in=4, n_out=3, activation='relu'),\n"
        "    Dense(n_in=3, n_out=2)\n"
        "])"
    )
