"""BatchNorm: normalised training output, the running statistics' momentum rule (unbiased
variance), evaluation from the running statistics, float64 gradient checks for the input, gamma
and beta, dtypes, a batch of one, validation, config; and in a network: Sequential, fit,
save/load, and mlp(batch_norm=..., dropout=...)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.nn import (
    BatchNorm,
    Dense,
    Dropout,
    LeakyReLU,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    load_model,
    mlp,
    save_model,
)
from scratchnet.nn.gradcheck import check_layer, check_model
from scratchnet.optim import SGD
from scratchnet.train import fit


def _x(batch=8, n=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    # Features with different means and scales, so normalising has something to do.
    return (rng.standard_normal((batch, n)) * [1.0, 3.0, 0.5, 10.0, 2.0][:n] + 4.0).astype(dtype)


# -- gradients ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("batch", [3, 4, 8])
def test_gradient_check_float64(seed, batch):
    # Not batch 2: there x_hat = +-1 per feature whatever x is, so the input gradient is
    # (nearly) zero and a relative error compares rounding noise with rounding noise.
    layer = BatchNorm(5, dtype=np.float64)
    # Non-trivial gamma and beta, so a wrong gradient cannot hide behind gamma = 1, beta = 0.
    rng = np.random.default_rng(seed + 100)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, 5)
    layer.params["beta"][...] = rng.normal(0, 0.5, 5)
    # check_layer's forward passes in training mode also move the running statistics; the
    # gradient uses the batch statistics only, so that does not disturb it. The upstream
    # gradient must come from another seed than x: drawn from the same stream it would be an
    # affine function of x, which batch normalisation's input gradient maps to (almost) zero.
    x = _x(batch=batch, seed=seed)
    errors = check_layer(layer, x, rng=np.random.default_rng(seed + 50))
    assert set(errors) == {"input", "gamma", "beta"}
    for name, error in errors.items():
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def test_backward_matches_the_explicit_formula():
    layer = BatchNorm(3, dtype=np.float64)
    layer.params["gamma"][...] = [0.5, 2.0, -1.0]
    x = _x(batch=6, n=3, seed=4)
    layer.forward(x, training=True)
    grad_out = np.random.default_rng(5).standard_normal((6, 3))
    grad_in = layer.backward(grad_out)
    n = x.shape[0]
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    expected = (
        (layer.gamma / np.sqrt(x.var(0) + 1e-5))
        / n
        * (n * grad_out - grad_out.sum(0) - x_hat * (grad_out * x_hat).sum(0))
    )
    np.testing.assert_allclose(grad_in, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["gamma"], (grad_out * x_hat).sum(0), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], grad_out.sum(0), rtol=1e-12)


def test_batch_of_two_has_an_almost_zero_input_gradient():
    # Two examples normalise to -1 and +1 (up to eps, when var >> eps) whatever their values:
    # the output barely depends on x, and the analytic input gradient says so. Here the
    # half-differences are d = 0.5, 1, 1.5, so dx_hat/dx ~ eps / d^3 <= 1e-5 / 0.125 = 8e-5.
    layer = BatchNorm(3, dtype=np.float64)
    y = layer.forward(np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), training=True)
    np.testing.assert_allclose(y, [[-1.0] * 3, [1.0] * 3], atol=1e-4)
    grad_in = layer.backward(np.random.default_rng(1).standard_normal((2, 3)))
    np.testing.assert_allclose(grad_in, 0.0, atol=1e-3)


def test_backward_overwrites_grads_and_can_skip_grad_in():
    layer = BatchNorm(4, dtype=np.float64)
    y = layer.forward(_x(n=4), training=True)
    grad_out = np.random.default_rng(1).standard_normal(y.shape)
    full = layer.backward(grad_out)
    first = {name: g.copy() for name, g in layer.grads.items()}
    layer.backward(3 * grad_out)
    for name in first:
        np.testing.assert_allclose(layer.grads[name], 3 * first[name], rtol=1e-12)
    assert layer.backward(grad_out, need_grad_in=False) is None
    for name in first:
        np.testing.assert_array_equal(layer.grads[name], first[name])
    np.testing.assert_array_equal(layer.backward(grad_out), full)


def test_backward_before_forward_raises():
    layer = BatchNorm(3)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((4, 3)))
    layer.forward(np.ones((4, 3)), training=False)
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(np.ones((4, 3)))


# -- forward maths -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_output_is_normalised_per_feature(dtype):
    layer = BatchNorm(5, dtype=dtype)
    y = layer.forward(_x(batch=64, dtype=dtype), training=True)
    assert y.dtype == dtype and y.shape == (64, 5)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.mean(axis=0, dtype=np.float64), 0.0, atol=tol)
    # Variance var / (var + eps), within eps / var of 1 (the smallest feature var is ~0.25).
    np.testing.assert_allclose(y.var(axis=0, dtype=np.float64), 1.0, atol=1e-4)


def test_gamma_and_beta_scale_and_shift():
    layer = BatchNorm(2, dtype=np.float64)
    layer.params["gamma"][...] = [2.0, 0.5]
    layer.params["beta"][...] = [1.0, -3.0]
    y = layer.forward(_x(batch=32, n=2), training=True)
    np.testing.assert_allclose(y.mean(axis=0), [1.0, -3.0], atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), [2.0, 0.5], rtol=1e-4)


def test_running_statistics_follow_the_momentum_rule():
    layer = BatchNorm(5, momentum=0.8, dtype=np.float64)
    running_mean, running_var = np.zeros(5), np.ones(5)
    for seed in range(3):
        x = _x(batch=10, seed=seed)
        layer.forward(x, training=True)
        # running = momentum * running + (1 - momentum) * batch statistic, with the unbiased
        # (ddof=1) variance for running_var.
        running_mean = 0.8 * running_mean + 0.2 * x.mean(axis=0)
        running_var = 0.8 * running_var + 0.2 * x.var(axis=0, ddof=1)
        np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, running_var, rtol=1e-12)
    # The buffers are the very arrays listed in layer.buffers (saved with the model).
    assert layer.buffers["running_mean"] is layer.running_mean


def test_running_statistics_converge_to_the_data_statistics():
    layer = BatchNorm(5, dtype=np.float64)
    data = _x(batch=4000, seed=9)
    for start in range(0, 4000, 50):
        layer.forward(data[start : start + 50], training=True)
    assert np.all(np.abs(layer.running_mean - data.mean(axis=0)) < 0.15 * data.std(axis=0))
    np.testing.assert_allclose(layer.running_var, data.var(axis=0), rtol=0.25)


def test_evaluation_uses_the_running_statistics():
    layer = BatchNorm(3, momentum=0.5, dtype=np.float64)
    layer.params["gamma"][...] = [1.5, 1.0, 0.5]
    layer.params["beta"][...] = [0.1, 0.2, 0.3]
    layer.buffers["running_mean"][...] = [1.0, -2.0, 0.5]
    layer.buffers["running_var"][...] = [4.0, 0.25, 9.0]
    x = _x(batch=4, n=3, seed=2)
    before = (layer.running_mean.copy(), layer.running_var.copy())
    y = layer.forward(x, training=False)
    expected = (x - [1.0, -2.0, 0.5]) / np.sqrt(np.array([4.0, 0.25, 9.0]) + 1e-5)
    expected = expected * [1.5, 1.0, 0.5] + [0.1, 0.2, 0.3]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    # Evaluation leaves the running statistics alone, and each row is independent of the rest.
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])
    np.testing.assert_allclose(layer.forward(x[:1]), y[:1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
def test_dtype_is_preserved_and_input_not_mutated(dtype, training):
    layer = BatchNorm(5, dtype=dtype)
    for array in (*layer.params.values(), *layer.grads.values(), *layer.buffers.values()):
        assert array.dtype == dtype
    x = _x(dtype=dtype)
    before = x.copy()
    y = layer.forward(x, training=training)
    assert y.dtype == dtype
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(x, y)
    assert layer.running_mean.dtype == dtype and layer.running_var.dtype == dtype
    if training:
        grad = layer.backward(np.ones_like(y))
        assert grad.dtype == dtype
        assert layer.grads["gamma"].dtype == dtype
    # Another dtype of input is cast to the layer's own.
    other = np.float64 if dtype == np.float32 else np.float32
    assert layer.forward(x.astype(other), training=training).dtype == dtype


def test_a_batch_of_one_raises_in_training_only():
    layer = BatchNorm(3)
    with pytest.raises(ValueError, match="at least 2 examples .* received a batch of 1"):
        layer.forward(np.ones((1, 3)), training=True)
    np.testing.assert_array_equal(layer.running_mean, 0.0)  # nothing was updated
    assert layer.forward(np.ones((1, 3)), training=False).shape == (1, 3)


def test_a_constant_feature_stays_finite():
    # var = 0 for a constant feature: eps keeps 1 / sqrt(var + eps) finite.
    layer = BatchNorm(2, dtype=np.float64)
    x = np.column_stack([np.full(6, 5.0), np.arange(6.0)])
    y = layer.forward(x, training=True)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, 0], 0.0)
    assert np.isfinite(layer.backward(np.ones_like(y))).all()


def test_rejects_wrong_input_shape():
    layer = BatchNorm(4)
    for bad in (np.zeros((3, 5)), np.zeros(4), np.zeros((3, 4, 1))):
        with pytest.raises(ValueError, match=r"expected input of shape \(batch, 4\)"):
            layer.forward(bad, training=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_features": 0}, "n_features must be a positive integer; received n_features=0"),
        ({"n_features": 2.5}, "n_features must be a positive integer"),
        ({"n_features": True}, "n_features must be a positive integer"),
        ({"n_features": 3, "momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
        ({"n_features": 3, "momentum": -0.1}, "momentum must be"),
        ({"n_features": 3, "momentum": float("nan")}, "momentum must be"),
        ({"n_features": 3, "eps": 0.0}, "eps must be a positive number; received eps=0.0"),
        ({"n_features": 3, "eps": "1e-5"}, "eps must be a positive number"),
        ({"n_features": 3, "dtype": np.float16}, "dtype must be float32 or float64"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm(**kwargs)


def test_config_repr_and_sizes():
    layer = BatchNorm(6, momentum=0.95, eps=1e-3)
    assert layer.get_config() == {"n_features": 6, "momentum": 0.95, "eps": 1e-3}
    assert json.loads(json.dumps(layer.get_config())) == layer.get_config()
    assert repr(layer) == "BatchNorm(n_features=6, momentum=0.95, eps=0.001)"
    assert (layer.n_in, layer.n_out, layer.output_size(6)) == (6, 6, 6)
    assert layer.params.keys() == layer.grads.keys() == {"gamma", "beta"}
    assert set(layer.buffers) == {"running_mean", "running_var"}
    np.testing.assert_array_equal(layer.gamma, 1.0)
    np.testing.assert_array_equal(layer.beta, 0.0)
    np.testing.assert_array_equal(layer.running_mean, 0.0)
    np.testing.assert_array_equal(layer.running_var, 1.0)
    rebuilt = BatchNorm(**layer.get_config(), dtype=np.float64)
    assert rebuilt.get_config() == layer.get_config()


# -- in a network: Sequential, mlp, fit, save/load ----------------------------------------------


def _classification(n=96, n_in=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (k, n_in))
    labels = rng.integers(0, k, n)
    return (centres[labels] + rng.normal(0, 1, (n, n_in))).astype(np.float32), labels


def _bn_dropout_network(n_in=12, hidden=16, k=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return Sequential(
        [
            Dense(n_in, hidden, rng=rng, dtype=dtype),
            BatchNorm(hidden, dtype=dtype),
            ReLU(),
            Dropout(0.2, rng=rng),
            Dense(hidden, k, rng=rng, dtype=dtype),
        ]
    )


def test_sequential_accepts_batchnorm_and_dropout():
    model = _bn_dropout_network()
    assert (model.n_in, model.n_out, model.dtype) == (12, 3, np.float32)
    assert model.num_params == (12 * 16 + 16) + (16 + 16) + (16 * 3 + 3)
    listed = [(index, name) for index, name, _, _ in model.parameters()]
    assert listed == [
        (0, "weight"),
        (0, "bias"),
        (1, "gamma"),
        (1, "beta"),
        (4, "weight"),
        (4, "bias"),
    ]
    lines = model.summary_text().splitlines()
    assert "BatchNorm(n_features=16, momentum=0.9, eps=1e-05)" in lines[2]
    assert lines[2].split()[-3:] == ["(None,", "16)", "32"]
    assert "Dropout(rate=0.2)" in lines[4]


def test_sequential_checks_sizes_and_dtypes_through_batchnorm():
    with pytest.raises(ValueError, match=r"layer 1 \(BatchNorm\(n_features=5.*expects 5 inputs"):
        Sequential([Dense(4, 3, seed=0), BatchNorm(5), Dense(5, 2, seed=0)])
    with pytest.raises(ValueError, match="share one dtype"):
        Sequential([Dense(4, 3, seed=0), BatchNorm(3, dtype=np.float64)])
    model = Sequential([BatchNorm(4), Dropout(0.5, seed=0), Dense(4, 2, seed=0)])
    assert (model.n_in, model.n_out) == (4, 2)


def test_check_model_through_batchnorm_float64():
    x, labels = _classification(n=6, n_in=5)
    rng = np.random.default_rng(1)
    model = Sequential(
        [
            Dense(5, 4, rng=rng, dtype=np.float64),
            BatchNorm(4, dtype=np.float64),
            Tanh(),
            Dense(4, 3, rng=rng, dtype=np.float64),
        ]
    )
    model.layers[1].params["gamma"][...] = [0.5, 1.5, 2.0, 0.8]
    model.layers[1].params["beta"][...] = [0.1, -0.2, 0.3, 0.0]
    errors = check_model(model, SoftmaxCrossEntropy(label_smoothing=0.1), x, labels)
    assert set(errors) >= {"1.gamma", "1.beta", "0.weight"}
    for name, error in errors.items():
        # 0.bias: batch normalisation cancels a bias before it, so its gradient is ~0 and a
        # relative error compares rounding noise; its absolute size is checked instead.
        if name != "0.bias":
            assert error < 1e-6, f"{name}: {error:.2e}"
    assert np.abs(model.layers[0].grads["bias"]).max() < 1e-12


def test_fit_save_load_round_trip(tmp_path):
    x, labels = _classification()
    model = _bn_dropout_network()
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(0.1, momentum=0.9),
        (x, labels),
        epochs=5,
        batch_size=32,
        seed=0,
    )
    assert history.last("accuracy") > 0.8
    batchnorm = model.layers[1]
    # Training moved the running statistics away from their initial zeros and ones.
    assert not np.allclose(batchnorm.running_mean, 0.0)
    assert not np.allclose(batchnorm.running_var, 1.0)
    loaded = load_model(save_model(model, tmp_path / "bn.npz"))
    assert repr(loaded) == repr(model)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.layers[1].running_mean, batchnorm.running_mean)
    np.testing.assert_array_equal(loaded.layers[1].running_var, batchnorm.running_var)
    assert loaded.layers[1].running_mean.dtype == np.float32
    assert loaded.layers[3].rate == 0.2
    # Evaluation uses the running statistics and skips dropout: identical predictions.
    np.testing.assert_array_equal(loaded.predict_logits(x), model.predict_logits(x))
    np.testing.assert_array_equal(loaded.predict(x[:1]), model.predict(x[:1]))
    # And the loaded model trains on (Dropout got a generator from the loader).
    fit(loaded, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=1, batch_size=32, seed=1)


def test_a_last_batch_of_one_is_reported(tmp_path):
    x, labels = _classification(n=33)
    with pytest.raises(ValueError, match="received a batch of 1"):
        fit(
            _bn_dropout_network(),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            (x, labels),
            epochs=1,
            batch_size=32,
            seed=0,
        )


def test_mlp_with_batch_norm_builds_dense_batchnorm_activation():
    model = mlp(6, [5, 4], 3, activation="tanh", batch_norm=True, seed=0, dtype=np.float64)
    assert [type(layer) for layer in model.layers] == [
        Dense,
        BatchNorm,
        Tanh,
        Dense,
        BatchNorm,
        Tanh,
        Dense,
    ]
    assert [layer.n_features for layer in model.layers if isinstance(layer, BatchNorm)] == [5, 4]
    # The Dense layers before BatchNorm have no activation of their own, nor has the output.
    assert all(layer.activation.name == "identity" for layer in model.layers[::3])
    assert model.dtype == np.float64
    assert all(layer.dtype == np.float64 for layer in model.layers[1::3])
    # Each activation layer is its own object, even when given as an instance.
    shared = LeakyReLU(0.3)
    leaky = mlp(6, [5, 4], 3, activation=shared, batch_norm=True, seed=0)
    assert leaky.layers[2] is not leaky.layers[5]
    assert leaky.layers[2].negative_slope == leaky.layers[5].negative_slope == 0.3


def test_mlp_with_batch_norm_and_dropout():
    model = mlp(6, [5, 4], 3, batch_norm=True, dropout=0.25, seed=0)
    assert [type(layer) for layer in model.layers] == [
        Dense,
        BatchNorm,
        ReLU,
        Dropout,
        Dense,
        BatchNorm,
        ReLU,
        Dropout,
        Dense,
    ]
    assert mlp(6, [], 3, batch_norm=True, dropout=0.5, seed=0).layers[0].n_out == 3
    with pytest.raises(ValueError, match="batch_norm must be True or False"):
        mlp(6, [5], 3, batch_norm="yes", seed=0)


def _explicit_mlp(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [
        Dense(784, 32, "relu", rng=rng, dtype=dtype),
        Dense(32, 16, "relu", rng=rng, dtype=dtype),
        Dense(16, 10, rng=rng, dtype=dtype),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_defaults_are_bitwise_unchanged(dtype):
    explicit = _explicit_mlp(5, dtype)
    for model in (
        mlp(784, [32, 16], 10, seed=5, dtype=dtype),
        mlp(784, [32, 16], 10, dropout=0.0, batch_norm=False, seed=5, dtype=dtype),
    ):
        assert repr(model) == repr(Sequential(explicit))
        for layer, reference in zip(model.layers, explicit, strict=True):
            for name in ("weight", "bias"):
                np.testing.assert_array_equal(layer.params[name], reference.params[name])
    # The options draw nothing from the weights' generator: the same initial Dense weights.
    dense = [
        layer
        for layer in mlp(784, [32, 16], 10, dropout=0.3, batch_norm=True, seed=5, dtype=dtype)
        if isinstance(layer, Dense)
    ]
    for layer, reference in zip(dense, explicit, strict=True):
        np.testing.assert_array_equal(layer.weight, reference.weight)
