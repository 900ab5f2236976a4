"""Learning-rate schedules: CosineDecay's warm-up and decay values, Constant, validation."""

from __future__ import annotations

import math

import pytest

from scratchnet.optim import Constant, CosineDecay


def test_cosine_warmup_start_and_end():
    schedule = CosineDecay(1.0, total_steps=110, warmup_steps=10)
    # Warm-up is linear and already non-zero at step 0 (no step is wasted at rate 0):
    # lr(t) = lr * (t + 1) / warmup for t < warmup.
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(4) == pytest.approx(0.5)
    assert schedule(9) == pytest.approx(1.0)  # the last warm-up step reaches the peak
    assert schedule(10) == pytest.approx(1.0)  # the decay starts at the peak
    rates = [schedule(t) for t in range(10)]
    assert rates == sorted(rates)


def test_cosine_midpoint_and_end():
    schedule = CosineDecay(0.2, total_steps=110, warmup_steps=10)
    # p = (t - 10) / 100; lr = 0.2 * (1 + cos(pi p)) / 2
    assert schedule(60) == pytest.approx(0.1)  # p = 1/2: cos(pi/2) = 0 -> half the peak
    assert schedule(35) == pytest.approx(0.2 * (1 + math.cos(math.pi / 4)) / 2)  # p = 1/4
    assert schedule(110) == pytest.approx(0.0, abs=1e-15)  # p = 1: cos(pi) = -1
    assert schedule(10_000) == pytest.approx(0.0, abs=1e-15)  # clipped past the end
    decay = [schedule(t) for t in range(10, 111)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


def test_cosine_final_fraction():
    schedule = CosineDecay(0.5, total_steps=100, final_fraction=0.1)
    # No warm-up: lr(0) = peak; the end is 0.1 of the peak; the midpoint (0.1 + 0.9 / 2) of it.
    assert schedule(0) == pytest.approx(0.5)
    assert schedule(50) == pytest.approx(0.5 * (0.1 + 0.45))
    assert schedule(100) == pytest.approx(0.05)
    assert min(schedule(t) for t in range(200)) == pytest.approx(0.05)


def test_cosine_is_stateless():
    schedule = CosineDecay(0.1, total_steps=50, warmup_steps=5)
    forward = [schedule(t) for t in range(50)]
    assert [schedule(t) for t in reversed(range(50))] == forward[::-1]


def test_constant():
    schedule = Constant(0.05)
    assert [schedule(t) for t in (0, 1, 10**6)] == [0.05, 0.05, 0.05]
    assert repr(schedule) == "Constant(learning_rate=0.05)"


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((0.0, 10), {}, "learning_rate"),
        ((-1.0, 10), {}, "learning_rate"),
        ((float("nan"), 10), {}, "learning_rate"),
        ((0.1, 0), {}, "total_steps"),
        ((0.1, -5), {}, "total_steps"),
        ((0.1, 10), {"warmup_steps": 10}, "warmup_steps"),
        ((0.1, 10), {"warmup_steps": -1}, "warmup_steps"),
        ((0.1, 10), {"final_fraction": 1.5}, "final_fraction"),
        ((0.1, 10), {"final_fraction": -0.1}, "final_fraction"),
    ],
)
def test_cosine_rejects_invalid_arguments(args, kwargs, name):
    with pytest.raises(ValueError, match=f"{name} must be in"):
        CosineDecay(*args, **kwargs)


def test_cosine_rejects_infinite_total_steps():
    with pytest.raises(ValueError, match="total_steps"):
        CosineDecay(0.1, math.inf)


@pytest.mark.parametrize("value", [0.0, -0.5, float("nan"), "x"])
def test_constant_rejects_invalid_rates(value):
    with pytest.raises(ValueError, match="learning_rate"):
        Constant(value)


def test_cosine_config_round_trip():
    schedule = CosineDecay(0.1, 100, warmup_steps=3, final_fraction=0.2)
    config = schedule.get_config()
    assert config == {
        "learning_rate": 0.1,
        "total_steps": 100,
        "warmup_steps": 3,
        "final_fraction": 0.2,
    }
    rebuilt = CosineDecay(**config)
    assert [rebuilt(t) for t in range(101)] == [schedule(t) for t in range(101)]
    assert repr(rebuilt) == repr(schedule)
