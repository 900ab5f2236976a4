"""RMSprop, Adam and AdamW: closed-form first and second steps, bias correction, decoupled
versus L2 weight decay, agreement with a plain reference implementation, in-place updates,
validation, the get_optimizer factory, state_dict round trips and subnormal flushing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.nn import Dense, Sequential, SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD, Adam, AdamW, Optimizer, RMSprop, get_optimizer
from scratchnet.optim.subnormal import FLUSH_THRESHOLD, flush_interval
from scratchnet.train import fit

P0 = np.array([[1.0, -2.0]])
G = np.array([[0.5, 0.25]])


def _one_param_model(param, grad) -> Sequential:
    """A 1x2 float64 Dense whose bias is 0 with zero gradient; weight and grad set by hand."""
    layer = Dense(1, 2, seed=0, dtype=np.float64)
    layer.params["weight"][...] = param
    layer.params["bias"][...] = 0.0
    layer.grads["weight"][...] = grad
    layer.grads["bias"][...] = 0.0
    return Sequential([layer])


def _weight(model) -> np.ndarray:
    return model.layers[0].params["weight"]


# -- Adam ---------------------------------------------------------------------------------------


def test_adam_first_step_is_learning_rate_times_the_sign():
    model = _one_param_model(P0, G)
    optimizer = Adam(0.1)
    optimizer.step(model)
    # m = 0.1 g, v = 0.001 g^2; bias correction at t = 1 divides by 1 - 0.9 = 0.1 and
    # 1 - 0.999 = 0.001, so m_hat = g, v_hat = g^2 and the update is 0.1 * g / (|g| + eps):
    # 0.1 * (1 - 2e-8) for g = 0.5 and 0.1 * (1 - 4e-8) for g = 0.25.
    expected = P0 - 0.1 * G / (np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(model), expected, rtol=1e-14)
    np.testing.assert_allclose(_weight(model), [[0.9, -2.1]], rtol=0, atol=1e-8)
    state = optimizer.state[(0, "weight")]
    np.testing.assert_allclose(state["first_moment"], 0.1 * G)
    np.testing.assert_allclose(state["second_moment"], 0.001 * G**2)
    # The bias's gradient is 0: m = v = 0, update 0 / (0 + eps) = 0.
    np.testing.assert_array_equal(model.layers[0].bias, [0.0, 0.0])


def test_adam_bias_correction_is_exact_for_a_constant_gradient():
    model = _one_param_model(P0, G)
    optimizer = Adam(0.1)
    optimizer.step(model)
    optimizer.step(model)
    # t = 2: m = (0.9 * 0.1 + 0.1) g = 0.19 g and 1 - 0.9^2 = 0.19, so m_hat = g again;
    # v = (0.999 * 0.001 + 0.001) g^2 = 0.001999 g^2 and 1 - 0.999^2 = 0.001999: v_hat = g^2.
    # So the second step equals the first. (Without correction it would be
    # 0.1 * 0.19 g / sqrt(0.001999 g^2) = 0.425 per entry, over four times larger.)
    step = 0.1 * G / (np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(model), P0 - 2 * step, rtol=1e-14)
    assert optimizer.iterations == 2


def test_adam_second_step_with_a_new_gradient():
    model = _one_param_model(P0, G)
    optimizer = Adam(0.1)
    optimizer.step(model)
    after_one = _weight(model).copy()
    model.layers[0].grads["weight"][...] = [[0.1, -0.25]]
    optimizer.step(model)
    # g1 = [0.5, 0.25], g2 = [0.1, -0.25]
    # m2 = 0.9 * 0.1 g1 + 0.1 g2 = [0.055, -0.0025];  m_hat = m2 / 0.19 = [0.2894737, -0.0131579]
    # v2 = 0.999 * 0.001 g1^2 + 0.001 g2^2 = [0.00025975, 0.0001249375]
    # v_hat = v2 / 0.001999 = [0.1299400, 0.0625];  sqrt = [0.3604719, 0.25]
    # update = 0.1 m_hat / (sqrt(v_hat) + eps) = [0.08030410, -0.00526316]
    np.testing.assert_allclose(
        after_one - _weight(model), [[0.0803040956, -0.0052631576842]], rtol=1e-9
    )


def test_adam_l2_weight_decay_goes_through_the_adaptive_step():
    model = _one_param_model(P0, G)
    Adam(0.1, weight_decay=0.1).step(model)
    # g' = g + 0.1 p0 = [0.5 + 0.1, 0.25 - 0.2] = [0.6, 0.05]: same signs as g, and Adam's first
    # step only sees the sign, so the L2 term changes nothing here: p1 = p0 - 0.1 sign(g').
    expected = P0 - 0.1 * np.array([[0.6 / (0.6 + 1e-8), 0.05 / (0.05 + 1e-8)]])
    np.testing.assert_allclose(_weight(model), expected, rtol=1e-14)


def test_adamw_decoupled_decay_differs_from_adam_l2():
    adamw, adam = _one_param_model(P0, G), _one_param_model(P0, G)
    AdamW(0.1, weight_decay=0.1).step(adamw)
    Adam(0.1, weight_decay=0.1).step(adam)
    # AdamW: p <- p (1 - 0.1 * 0.1) = [0.99, -1.98], then the Adam step 0.1 g / (|g| + eps)
    # computed from g alone: p1 = [0.99 - 0.1, -1.98 - 0.1] = [0.89, -2.08] (to 1e-8).
    expected = P0 * (1 - 0.1 * 0.1) - 0.1 * G / (np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(adamw), expected, rtol=1e-14)
    np.testing.assert_allclose(_weight(adamw), [[0.89, -2.08]], atol=1e-8)
    # Adam's L2 gives [0.9, -2.1]: a difference of lr * wd * p0 = 0.01 p0 (up to eps / |g|).
    np.testing.assert_allclose(_weight(adamw) - _weight(adam), -0.01 * P0, rtol=0, atol=1e-7)


def test_adamw_two_steps_and_zero_decay_is_adam():
    model = _one_param_model(P0, G)
    AdamW(0.1, weight_decay=0.0).step(model)
    reference = _one_param_model(P0, G)
    Adam(0.1).step(reference)
    np.testing.assert_array_equal(_weight(model), _weight(reference))
    model = _one_param_model(P0, G)
    optimizer = AdamW(0.1, weight_decay=0.5)
    optimizer.step(model)
    optimizer.step(model)
    # Each step: p <- 0.95 p - 0.1 g / (|g| + eps) (constant g: m_hat = g, v_hat = g^2).
    step = 0.1 * G / (np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(model), (P0 * 0.95 - step) * 0.95 - step, rtol=1e-14)
    # The bias is 0, so decaying it leaves it 0.
    np.testing.assert_array_equal(model.layers[0].bias, [0.0, 0.0])


def test_adamw_default_weight_decay():
    assert AdamW().weight_decay == 1e-2
    assert Adam().weight_decay == 0.0


# -- RMSprop ------------------------------------------------------------------------------------


def test_rmsprop_first_and_second_step():
    model = _one_param_model(P0, G)
    optimizer = RMSprop(0.01, rho=0.9)
    optimizer.step(model)
    # mean_square = 0.1 g^2, rms = sqrt(0.1) |g|, so the update is 0.01 / sqrt(0.1) = 0.0316228
    # per entry (no bias correction: RMSprop's first steps are about 3x the learning rate).
    step1 = 0.01 * G / (math.sqrt(0.1) * np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(model), P0 - step1, rtol=1e-14)
    np.testing.assert_allclose(step1, 0.0316227766 * np.ones((1, 2)), rtol=1e-6)  # eps aside
    optimizer.step(model)
    # mean_square = 0.9 * 0.1 g^2 + 0.1 g^2 = 0.19 g^2: the update is 0.01 / sqrt(0.19) = 0.0229416
    step2 = 0.01 * G / (math.sqrt(0.19) * np.abs(G) + 1e-8)
    np.testing.assert_allclose(_weight(model), P0 - step1 - step2, rtol=1e-14)
    np.testing.assert_allclose(
        optimizer.state[(0, "weight")]["mean_square"], 0.19 * G**2, rtol=1e-14
    )
    assert "velocity" not in optimizer.state[(0, "weight")]  # no momentum, no velocity


def test_rmsprop_with_momentum():
    model = _one_param_model(P0, G)
    optimizer = RMSprop(0.01, rho=0.9, momentum=0.9)
    optimizer.step(model)
    # velocity1 = g / rms1 = 1 / sqrt(0.1) = 3.16227766 per entry (eps aside);
    # p1 = p0 - 0.01 velocity1
    velocity1 = G / (math.sqrt(0.1) * np.abs(G) + 1e-8)
    np.testing.assert_allclose(velocity1, 3.16227766 * np.ones((1, 2)), rtol=1e-6)
    np.testing.assert_allclose(_weight(model), P0 - 0.01 * velocity1, rtol=1e-14)
    optimizer.step(model)
    # velocity2 = 0.9 * 3.16227766 + 1 / sqrt(0.19) = 2.84604989 + 2.29415734 = 5.14020723
    velocity2 = 0.9 * velocity1 + G / (math.sqrt(0.19) * np.abs(G) + 1e-8)
    np.testing.assert_allclose(velocity2, 5.14020723 * np.ones((1, 2)), rtol=1e-6)
    np.testing.assert_allclose(optimizer.state[(0, "weight")]["velocity"], velocity2, rtol=1e-14)
    np.testing.assert_allclose(_weight(model), P0 - 0.01 * velocity1 - 0.01 * velocity2)


def test_rmsprop_weight_decay_adds_to_the_gradient():
    model = _one_param_model(P0, G)
    RMSprop(0.01, rho=0.5, weight_decay=0.1).step(model)
    # g' = [0.6, 0.05]; mean_square = 0.5 g'^2; update = 0.01 g' / (sqrt(0.5) |g'| + eps)
    g = np.array([[0.6, 0.05]])
    np.testing.assert_allclose(
        _weight(model), P0 - 0.01 * g / (math.sqrt(0.5) * np.abs(g) + 1e-8), rtol=1e-14
    )
    np.testing.assert_array_equal(model.layers[0].grads["weight"], G)  # grads untouched


# -- agreement with a plain (allocating) reference over several steps --------------------------


def _reference(kind, hyper, params, grads_per_step, scales):
    """The textbook formulas, one array at a time, with every temporary allocated."""
    params = [p.copy() for p in params]
    state = [dict() for _ in params]
    for t, (grads, scale) in enumerate(zip(grads_per_step, scales, strict=True), start=1):
        for p, g, s in zip(params, grads, state, strict=True):
            g = scale * g
            lr, wd = hyper["learning_rate"], hyper.get("weight_decay", 0.0)
            if kind == "adamw":
                p -= lr * wd * p
            elif wd:
                g = g + wd * p
            if kind in ("adam", "adamw"):
                b1, b2, eps = hyper["beta1"], hyper["beta2"], hyper["eps"]
                s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
                m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)
            else:
                rho, eps, mu = hyper["rho"], hyper["eps"], hyper["momentum"]
                s["ms"] = rho * s.get("ms", 0) + (1 - rho) * g * g
                update = g / (np.sqrt(s["ms"]) + eps)
                if mu:
                    s["vel"] = mu * s.get("vel", 0) + update
                    update = s["vel"]
                p -= lr * update
    return params


@pytest.mark.parametrize(
    ("kind", "hyper"),
    [
        ("adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}),
        (
            "adam",
            {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.3},
        ),
        (
            "adamw",
            {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.3},
        ),
        ("rmsprop", {"learning_rate": 0.02, "rho": 0.7, "eps": 1e-4, "momentum": 0.0}),
        (
            "rmsprop",
            {"learning_rate": 0.02, "rho": 0.7, "eps": 1e-4, "momentum": 0.5, "weight_decay": 0.2},
        ),
    ],
    ids=["adam", "adam-l2", "adamw", "rmsprop", "rmsprop-momentum-l2"],
)
@pytest.mark.parametrize("clip_norm", [None, 0.7], ids=["unclipped", "clipped"])
def test_matches_the_textbook_formulas_over_several_steps(kind, hyper, clip_norm):
    rng = np.random.default_rng(3)
    model = Sequential(
        [Dense(3, 4, "relu", seed=1, dtype=np.float64), Dense(4, 2, seed=2, dtype=np.float64)]
    )
    params = [p.copy() for *_, p, _ in model.parameters()]
    optimizer = get_optimizer(kind, clip_norm=clip_norm, **hyper)
    grads_per_step, scales = [], []
    for _ in range(5):
        grads = [rng.standard_normal(p.shape) for p in params]
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        scales.append(min(1.0, clip_norm / norm) if clip_norm else 1.0)
        grads_per_step.append(grads)
        for (*_, grad), g in zip(model.parameters(), grads, strict=True):
            grad[...] = g
        optimizer.step(model)
    if clip_norm:
        assert min(scales) < 1.0  # the clipping really happened
    expected = _reference(kind, hyper, params, grads_per_step, scales)
    for (*_, param, _), want in zip(model.parameters(), expected, strict=True):
        np.testing.assert_allclose(param, want, rtol=1e-12, atol=1e-14)


# -- in place, dtype, state keys ----------------------------------------------------------------

ALL = [
    lambda: RMSprop(0.01),
    lambda: RMSprop(0.01, momentum=0.9, weight_decay=0.1),
    lambda: Adam(0.01),
    lambda: Adam(0.01, weight_decay=0.1),
    lambda: AdamW(0.01),
]


@pytest.mark.parametrize("make", ALL)
def test_updates_are_in_place_and_keep_float32(make):
    model = Sequential([Dense(2, 3, seed=0), Dense(3, 2, seed=1)])
    for *_, grad in model.parameters():
        grad[...] = 0.5
    arrays = [param for *_, param, _ in model.parameters()]
    before = [a.copy() for a in arrays]
    optimizer = make()
    optimizer.step(model)
    optimizer.step(model)
    for (*_, param, _), array, old in zip(model.parameters(), arrays, before, strict=True):
        assert param is array
        assert param.dtype == np.float32
        assert not np.array_equal(param, old)
    assert set(optimizer.state) == {(0, "weight"), (0, "bias"), (1, "weight"), (1, "bias")}
    for slots in optimizer.state.values():
        assert all(a.dtype == np.float32 for a in slots.values())


# -- validation ----------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop])
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"learning_rate": NAN}, "learning_rate"),
        ({"learning_rate": INF}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"eps": 0.0}, "eps"),
        ({"eps": -1e-8}, "eps"),
        ({"eps": NAN}, "eps"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"weight_decay": NAN}, "weight_decay"),
        ({"weight_decay": INF}, "weight_decay"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"clip_norm": NAN}, "clip_norm"),
        ({"max_norm": 0.0}, "max_norm"),
        ({"max_norm": -2.0}, "max_norm"),
        ({"max_norm": INF}, "max_norm"),
    ],
)
def test_invalid_common_hyperparameters_raise(cls, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must be .*; received {name}="):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"beta1": 1.0}, "beta1"),
        ({"beta1": 1.5}, "beta1"),
        ({"beta1": -0.1}, "beta1"),
        ({"beta1": NAN}, "beta1"),
        ({"beta2": 1.0}, "beta2"),
        ({"beta2": -0.5}, "beta2"),
        ({"beta2": NAN}, "beta2"),
    ],
)
def test_invalid_betas_raise(cls, kwargs, name):
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\); received {name}="):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"rho": 1.0}, "rho"), ({"rho": -0.1}, "rho"), ({"momentum": 1.0}, "momentum")],
)
def test_invalid_rmsprop_hyperparameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RMSprop(**kwargs)


def test_sgd_accepts_the_new_keywords_and_validates_them():
    optimizer = SGD(0.1, 0.9, nesterov=True, weight_decay=1e-4, clip_norm=5.0, max_norm=3.0)
    assert (optimizer.clip_norm, optimizer.max_norm) == (5.0, 3.0)
    with pytest.raises(ValueError, match="clip_norm must be"):
        SGD(0.1, clip_norm=0)
    with pytest.raises(ValueError, match="max_norm must be"):
        SGD(0.1, max_norm=-1)


def test_repr_and_config():
    assert repr(Adam()) == (
        "Adam(learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0)"
    )
    assert repr(AdamW(clip_norm=1.0)) == (
        "AdamW(learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01, "
        "clip_norm=1.0)"
    )
    config = RMSprop(0.01, momentum=0.9, max_norm=3.0).get_config()
    assert config == {
        "learning_rate": 0.01,
        "rho": 0.9,
        "eps": 1e-8,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "max_norm": 3.0,
    }
    # get_config rebuilds the same optimiser.
    assert repr(RMSprop(**config)) == repr(RMSprop(0.01, momentum=0.9, max_norm=3.0))


# -- factory --------------------------------------------------------------------------------------


def test_get_optimizer_by_name():
    assert isinstance(get_optimizer("sgd", learning_rate=0.1, momentum=0.9), SGD)
    assert isinstance(get_optimizer("RMSprop"), RMSprop)
    adam = get_optimizer("adam", learning_rate=3e-4)
    assert type(adam) is Adam and adam.learning_rate == 3e-4
    assert type(get_optimizer("AdamW", weight_decay=0.05)) is AdamW


def test_get_optimizer_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'sgd', 'rmsprop', 'adam', 'adamw'.*'lbfgs'"):
        get_optimizer("lbfgs")
    with pytest.raises(TypeError):
        get_optimizer("adam", betas=(0.9, 0.99))  # a constructor's own error for a wrong keyword


# -- state_dict -----------------------------------------------------------------------------------


def _random_grads(model, rng):
    for *_, grad in model.parameters():
        grad[...] = rng.standard_normal(grad.shape).astype(grad.dtype)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0.05, momentum=0.9, nesterov=True, clip_norm=2.0),
        lambda: RMSprop(0.01, momentum=0.5, weight_decay=1e-3, max_norm=2.0),
        lambda: Adam(0.01, weight_decay=1e-3),
        lambda: AdamW(0.01, beta1=0.5, clip_norm=1.0),  # beta1 = 0.5 flushes every 86 steps
    ],
    ids=["sgd", "rmsprop", "adam", "adamw"],
)
def test_state_dict_round_trip_mid_training_is_bitwise(make, tmp_path):
    rng = np.random.default_rng(0)
    model = mlp(5, [7], 3, seed=0)
    first = make()
    for _ in range(60):
        _random_grads(model, rng)
        first.step(model)
    first.learning_rate *= 0.5  # as a schedule or ReduceLROnPlateau would
    # Through an .npz file, as a checkpoint would store it (no pickles).
    np.savez(tmp_path / "optimizer.npz", **first.state_dict())
    with np.load(tmp_path / "optimizer.npz", allow_pickle=False) as stored:
        saved = dict(stored)
    twin_model = mlp(5, [7], 3, seed=99)
    for (*_, mine, _), (*_, theirs, _) in zip(
        model.parameters(), twin_model.parameters(), strict=True
    ):
        theirs[...] = mine
    second = make()
    second.load_state_dict(saved)
    assert second.iterations == 60 and second.learning_rate == first.learning_rate
    for _ in range(40):  # both continue on the same gradients, past a subnormal flush
        _random_grads(model, rng)
        for (*_, grad, _), (*_, twin_grad) in zip(
            ((g, None) for *_, g in model.parameters()), twin_model.parameters(), strict=True
        ):
            twin_grad[...] = grad
        first.step(model)
        second.step(twin_model)
    for (*_, a, _), (*_, b, _) in zip(model.parameters(), twin_model.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.state_dict().keys() == second.state_dict().keys()


def test_state_dict_keys_and_copies():
    model = Sequential([Dense(2, 3, seed=0)])
    for *_, grad in model.parameters():
        grad[...] = 1.0
    optimizer = Adam(0.01)
    optimizer.step(model)
    state = optimizer.state_dict()
    assert set(state) == {
        "learning_rate",
        "iterations",
        "state.0.weight.first_moment",
        "state.0.weight.second_moment",
        "state.0.bias.first_moment",
        "state.0.bias.second_moment",
    }
    assert state["iterations"] == 1 and state["learning_rate"] == 0.01
    state["state.0.weight.first_moment"][...] = 123.0  # a copy: the optimiser is unaffected
    assert not (optimizer.state[(0, "weight")]["first_moment"] == 123.0).any()
    fresh = Adam(0.01)
    fresh.load_state_dict(state)
    state["state.0.bias.first_moment"][...] = 7.0  # and loading copies too
    assert not (fresh.state[(0, "bias")]["first_moment"] == 7.0).any()


def test_load_state_dict_rejects_foreign_or_broken_state():
    model = Sequential([Dense(2, 3, seed=0)])
    for *_, grad in model.parameters():
        grad[...] = 1.0
    sgd = SGD(0.1, momentum=0.9)
    sgd.step(model)
    with pytest.raises(ValueError, match="'velocity', which Adam does not keep"):
        Adam().load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="no 'iterations'"):
        Adam().load_state_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="unexpected state_dict key 'momentum'"):
        SGD(0.1).load_state_dict({"learning_rate": 0.1, "iterations": 0, "momentum": 0.9})
    with pytest.raises(ValueError, match="iterations must be a non-negative integer"):
        SGD(0.1).load_state_dict({"learning_rate": 0.1, "iterations": -1})
    with pytest.raises(ValueError, match="learning_rate must be"):
        SGD(0.1).load_state_dict({"learning_rate": 0.0, "iterations": 3})


# -- subnormal flushing ---------------------------------------------------------------------------


def test_flush_interval_keeps_decaying_state_normal():
    # From the threshold 1e-30 to float32's smallest normal 1.18e-38 at 0.9 per step: 173 steps.
    assert flush_interval(0.9, 0.999) == 173
    assert 1e-30 * 0.9**173 >= np.finfo(np.float32).tiny > 1e-30 * 0.9**174
    assert flush_interval(0.0) == 10_000  # nothing decays: flush rarely


def test_adam_flushes_tiny_moments_to_exact_zero():
    layer = Dense(4, 3, seed=0)  # float32
    model = Sequential([layer])
    for *_, grad in model.parameters():
        grad[...] = 0.0  # a dead unit: nothing but decay
    optimizer = Adam(1e-3)
    optimizer.step(model)
    state = optimizer.state[(0, "weight")]
    state["first_moment"][...] = 1e-35  # would be subnormal after ~ 25 more steps at 0.9
    state["first_moment"][0, 0] = -1e-20  # big enough to keep
    state["second_moment"][...] = 1e-37
    optimizer.iterations = optimizer._flush_every - 1  # the next step flushes
    optimizer.step(model)
    m, v = state["first_moment"], state["second_moment"]
    assert m[0, 0] == np.float32(-1e-20) * np.float32(0.9)
    assert np.count_nonzero(m) == 1
    assert not v.any()
    tiny = np.finfo(np.float32).tiny
    assert np.all((m == 0) | (np.abs(m) >= tiny)) and FLUSH_THRESHOLD == 1e-30


def test_without_flushing_the_moments_would_be_subnormal():
    # The premise of the flush: 200 steps of decay at 0.9 take 1e-30 into subnormal float32.
    value = np.float32(1e-30) * np.float32(0.9) ** 200
    assert 0 < value < np.finfo(np.float32).tiny


# -- integration ----------------------------------------------------------------------------------


def _blobs(rng, per_class=20):
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = np.concatenate([c + 0.7 * rng.standard_normal((per_class, 2)) for c in centres])
    labels = np.repeat(np.arange(3), per_class)
    return x.astype(np.float32), labels


@pytest.mark.parametrize(
    "optimizer",
    [Adam(0.02), AdamW(0.02, weight_decay=1e-3), RMSprop(0.01, momentum=0.5)],
    ids=["adam", "adamw", "rmsprop"],
)
def test_trains_three_blobs_to_full_train_accuracy(optimizer):
    rng = np.random.default_rng(0)
    x, labels = _blobs(rng)
    model = mlp(2, [16], 3, seed=0)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        (x, labels),
        epochs=40,
        batch_size=10,
        seed=0,
    )
    assert (model.predict(x) == labels).all()
    assert history.rows[-1]["loss"] < 0.1 * history.rows[0]["loss"]
    assert isinstance(optimizer, Optimizer)
