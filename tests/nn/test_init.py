"""Initialisers: sample statistics against theory, spec parsing, seeding and dtype."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnet.nn import init
from scratchnet.nn.init import get_initializer, initializer_from_config

N_IN, N_OUT = 1000, 500
SHAPE = (N_IN, N_OUT)


def _draw(initializer, dtype=np.float64, seed=0):
    return initializer(SHAPE, np.random.default_rng(seed), dtype)


# name, initializer, theoretical std, uniform limit (None for normal) -- zero-mean ones only
SCALED = [
    ("he-normal", init.HeNormal(), math.sqrt(2 / N_IN), None),
    ("he-uniform", init.HeUniform(), math.sqrt(2 / N_IN), math.sqrt(6 / N_IN)),
    ("glorot-normal", init.GlorotNormal(), math.sqrt(2 / (N_IN + N_OUT)), None),
    (
        "glorot-uniform",
        init.GlorotUniform(),
        math.sqrt(2 / (N_IN + N_OUT)),
        math.sqrt(6 / (N_IN + N_OUT)),
    ),
    ("lecun-normal", init.LeCunNormal(), math.sqrt(1 / N_IN), None),
    ("lecun-uniform", init.LeCunUniform(), math.sqrt(1 / N_IN), math.sqrt(3 / N_IN)),
    ("normal-0.1", init.Normal(0.1), 0.1, None),
]


@pytest.mark.parametrize(
    ("initializer", "std", "limit"), [c[1:] for c in SCALED], ids=[c[0] for c in SCALED]
)
def test_sample_statistics_match_theory(initializer, std, limit):
    w = _draw(initializer)
    assert w.shape == SHAPE
    # 500,000 draws: the standard error of the mean is std / 707, of the std about 0.1%.
    assert abs(w.mean()) < 0.01 * std
    assert w.std() == pytest.approx(std, rel=0.02)
    if limit is not None:
        assert w.min() >= -limit and w.max() <= limit
        # ... and the whole interval is used (a wrong limit would leave a gap at the edges).
        assert w.min() < -0.99 * limit and w.max() > 0.99 * limit
    else:
        # A normal has tails: some draws lie beyond 4 std (about 32 expected of 500,000).
        assert np.abs(w).max() > 4 * std


def test_glorot_uniform_limit_is_sqrt_6_over_fan_sum():
    # Written out for the (1000, 500) draw: limit = sqrt(6 / 1500) = sqrt(0.004) = 0.0632456
    w = _draw(init.GlorotUniform())
    assert math.sqrt(6 / 1500) == pytest.approx(0.0632456, abs=1e-7)
    assert np.abs(w).max() <= 0.0632456
    assert np.abs(w).max() > 0.0632


def test_he_normal_std_is_sqrt_2_over_n_in():
    # sqrt(2 / 1000) = 0.0447214; n_out does not enter.
    wide = init.HeNormal()((N_IN, 50), np.random.default_rng(0), np.float64)
    assert wide.std() == pytest.approx(0.0447214, rel=0.03)


def test_uniform_0_001_is_the_notebook_initialisation():
    # U[0, 0.01): mean 0.005, std 0.01 / sqrt(12) = 0.00288675, all entries in [0, 0.01).
    w = _draw(init.Uniform(0.0, 0.01))
    assert w.min() >= 0.0 and w.max() < 0.01
    assert w.mean() == pytest.approx(0.005, rel=0.01)
    assert w.std() == pytest.approx(0.01 / math.sqrt(12), rel=0.02)


def test_normal_with_mean():
    w = _draw(init.Normal(std=0.5, mean=2.0))
    assert w.mean() == pytest.approx(2.0, abs=0.01)
    assert w.std() == pytest.approx(0.5, rel=0.02)


def test_constant_and_zeros():
    np.testing.assert_array_equal(_draw(init.Constant(0.25)), np.full(SHAPE, 0.25))
    np.testing.assert_array_equal(_draw(init.Zeros()), np.zeros(SHAPE))


ALL = [cls() for cls in init.INITIALIZERS.values()]


@pytest.mark.parametrize("initializer", ALL, ids=[i.name for i in ALL])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_respected(initializer, dtype):
    w = initializer((6, 4), np.random.default_rng(0), dtype)
    assert w.dtype == dtype
    assert w.shape == (6, 4)


@pytest.mark.parametrize("initializer", ALL, ids=[i.name for i in ALL])
def test_same_seed_same_array_and_the_generator_advances(initializer):
    a = initializer((6, 4), np.random.default_rng(11))
    b = initializer((6, 4), np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    if not isinstance(initializer, init.Constant):
        rng = np.random.default_rng(11)
        first, second = initializer((6, 4), rng), initializer((6, 4), rng)
        assert not np.array_equal(first, second)


def test_the_global_numpy_random_state_is_not_used():
    # The legacy global API, on purpose: drawing weights must leave its state alone.
    np.random.seed(0)  # noqa: NPY002
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    _draw(init.HeNormal())
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize("initializer", [init.HeNormal(), init.GlorotUniform(), init.LeCunNormal()])
def test_scaled_initialisers_need_a_2d_shape(initializer):
    with pytest.raises(ValueError, match=r"2-D \(n_in, n_out\) shape"):
        initializer((3, 4, 5), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("he", init.HeNormal()),
        ("kaiming", init.HeNormal()),
        ("He_Normal", init.HeNormal()),
        ("he-uniform", init.HeUniform()),
        ("xavier", init.GlorotUniform()),
        ("glorot", init.GlorotUniform()),
        ("xavier-normal", init.GlorotNormal()),
        ("lecun", init.LeCunNormal()),
        ("lecun-uniform", init.LeCunUniform()),
        ("zeros", init.Zeros()),
        ("uniform:0:0.01", init.Uniform(0.0, 0.01)),
        ("uniform:-0.5:0.5", init.Uniform(-0.5, 0.5)),
        ("normal:0.1", init.Normal(0.1)),
        ("constant:0.5", init.Constant(0.5)),
        (" he-normal ", init.HeNormal()),
    ],
)
def test_get_initializer_parses_names_and_arguments(spec, expected):
    got = get_initializer(spec)
    assert got == expected
    assert type(got) is type(expected)


def test_get_initializer_parsed_arguments_take_effect():
    uniform = get_initializer("uniform:0:0.01")
    assert (uniform.low, uniform.high) == (0.0, 0.01)
    assert get_initializer("normal:0.1").std == 0.1
    assert get_initializer("uniform:0:0.02") != uniform


def test_get_initializer_returns_an_instance_unchanged():
    instance = init.Normal(0.3)
    assert get_initializer(instance) is instance


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("bogus", "unknown initialiser 'bogus'"),
        ("", "unknown initialiser"),
        ("he-gaussian", "unknown initialiser"),
        ("uniform:a:b", "arguments must be numbers"),
        ("normal:x", "arguments must be numbers"),
        ("uniform:1:0", "finite low < high"),
        ("uniform:0:0", "finite low < high"),
        ("uniform:0:inf", "finite low < high"),
        ("normal:-1", "std > 0"),
        ("normal:0", "std > 0"),
        ("normal:nan", "std > 0"),
        ("constant:inf", "finite value"),
        ("he:3", "wrong number of arguments"),
        ("uniform:1:2:3", "wrong number of arguments"),
        ("zeros:1", "wrong number of arguments"),
    ],
)
def test_get_initializer_rejects_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        get_initializer(spec)


@pytest.mark.parametrize("initializer", ALL + [init.Uniform(-1, 2), init.Normal(0.3, 1.0)])
def test_config_round_trip(initializer):
    rebuilt = initializer_from_config(initializer.name, initializer.get_config())
    assert rebuilt == initializer
    assert repr(rebuilt) == repr(initializer)
    assert hash(rebuilt) == hash(initializer)


def test_repr_shows_arguments():
    assert repr(init.Uniform(0.0, 0.01)) == "Uniform(low=0.0, high=0.01)"
    assert repr(init.HeNormal()) == "HeNormal()"
