"""StepDecay, ExponentialDecay and OneCycle at hand-computed steps, validation, get_schedule."""

from __future__ import annotations

import math

import pytest

from scratchnet.optim import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    OneCycle,
    StepDecay,
    get_schedule,
)


def test_step_decay():
    schedule = StepDecay(0.1, step_size=10, gamma=0.5)
    # lr * 0.5 ** floor(t / 10)
    assert [schedule(t) for t in (0, 9)] == [0.1, 0.1]
    assert schedule(10) == pytest.approx(0.05)
    assert schedule(19) == pytest.approx(0.05)
    assert schedule(25) == pytest.approx(0.025)
    assert StepDecay(1.0, step_size=3)(6) == pytest.approx(0.01)  # default gamma 0.1, two drops


def test_exponential_decay():
    schedule = ExponentialDecay(0.1, decay_rate=0.5, decay_steps=10)
    # lr * 0.5 ** (t / 10): smooth, halving every 10 steps
    assert schedule(0) == 0.1
    assert schedule(5) == pytest.approx(0.1 / math.sqrt(2))  # 0.0707107
    assert schedule(10) == pytest.approx(0.05)
    assert schedule(20) == pytest.approx(0.025)
    rates = [schedule(t) for t in range(30)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))


def test_one_cycle_start_peak_and_end():
    schedule = OneCycle(1.0, total_steps=100, pct_start=0.21, div_factor=25, final_div_factor=1e4)
    # initial = 1 / 25 = 0.04; final = 0.04 / 1e4 = 4e-6; the peak is at step
    # pct_start * total - 1 = 20 (OneCycleLR's convention: the last of the 21 rising steps).
    assert schedule(0) == pytest.approx(0.04)
    assert schedule(20) == pytest.approx(1.0)
    assert schedule(99) == pytest.approx(4e-6)
    assert max(schedule(t) for t in range(100)) == schedule(20)
    # Rising phase midpoint (t = 10 of 0..20): cos(pi / 2) = 0, halfway: (0.04 + 1) / 2 = 0.52.
    assert schedule(10) == pytest.approx(0.52)
    # Falling phase, t = 60 of 20..99: p = 40 / 79;
    # lr = 4e-6 + (1 - 4e-6) / 2 * (cos(pi p) + 1) = 0.4900609459
    assert schedule(60) == pytest.approx(0.4900609459, rel=1e-9)
    rising = [schedule(t) for t in range(21)]
    falling = [schedule(t) for t in range(20, 100)]
    assert rising == sorted(rising)
    assert falling == sorted(falling, reverse=True)
    assert schedule(500) == schedule(99)  # past the end it stays at the final rate


def test_one_cycle_defaults():
    schedule = OneCycle(0.5, total_steps=1000)
    # pct_start 0.3 -> peak at step 299; start 0.5 / 25 = 0.02; end 0.02 / 1e4 = 2e-6
    assert schedule(0) == pytest.approx(0.02)
    assert schedule(299) == pytest.approx(0.5)
    assert schedule(999) == pytest.approx(2e-6)
    assert schedule.initial_learning_rate == pytest.approx(0.02)
    assert schedule.final_learning_rate == pytest.approx(2e-6)


def test_one_cycle_with_a_single_rising_step():
    # pct_start * total_steps = 1: the peak is step 0 (OneCycleLR would divide by zero here).
    schedule = OneCycle(1.0, total_steps=10, pct_start=0.1)
    assert schedule(0) == pytest.approx(1.0)
    assert schedule(9) == pytest.approx(1.0 / 25 / 1e4)


def test_schedules_are_stateless_and_repr():
    for schedule in (
        StepDecay(0.1, 5),
        ExponentialDecay(0.1, 0.9, 7),
        OneCycle(0.1, 50),
    ):
        forward = [schedule(t) for t in range(50)]
        assert [schedule(t) for t in reversed(range(50))] == forward[::-1]
    assert repr(StepDecay(0.1, 5)) == "StepDecay(learning_rate=0.1, step_size=5, gamma=0.1)"
    assert repr(OneCycle(0.1, 50)) == (
        "OneCycle(max_learning_rate=0.1, total_steps=50, pct_start=0.3, div_factor=25.0, "
        "final_div_factor=10000.0)"
    )


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: StepDecay(0.0, 10), "learning_rate"),
        (lambda: StepDecay(float("inf"), 10), "learning_rate"),
        (lambda: StepDecay(0.1, 0), "step_size"),
        (lambda: StepDecay(0.1, 2.5), "step_size"),
        (lambda: StepDecay(0.1, True), "step_size"),
        (lambda: StepDecay(0.1, 10, gamma=0.0), "gamma"),
        (lambda: StepDecay(0.1, 10, gamma=1.5), "gamma"),
        (lambda: ExponentialDecay(-0.1, 0.5, 10), "learning_rate"),
        (lambda: ExponentialDecay(0.1, 0.0, 10), "decay_rate"),
        (lambda: ExponentialDecay(0.1, 2.0, 10), "decay_rate"),
        (lambda: ExponentialDecay(0.1, float("nan"), 10), "decay_rate"),
        (lambda: ExponentialDecay(0.1, 0.5, 0), "decay_steps"),
        (lambda: OneCycle(0.0, 100), "max_learning_rate"),
        (lambda: OneCycle(0.1, 1), "total_steps"),
        (lambda: OneCycle(0.1, float("inf")), "total_steps"),
        (lambda: OneCycle(0.1, 100, pct_start=0.0), "pct_start"),
        (lambda: OneCycle(0.1, 100, pct_start=1.0), "pct_start"),
        (lambda: OneCycle(0.1, 100, div_factor=0.5), "div_factor"),
        (lambda: OneCycle(0.1, 100, final_div_factor=0.0), "final_div_factor"),
    ],
)
def test_invalid_arguments_raise(make, name):
    with pytest.raises(ValueError, match=rf"{name} must be .*; received {name}="):
        make()


def test_get_schedule():
    assert isinstance(get_schedule("constant", 0.1, 100), Constant)
    step = get_schedule("step", 0.1, 90)
    assert isinstance(step, StepDecay) and step.step_size == 30  # total // 3 by default
    assert get_schedule("step", 0.1, 90, step_size=7, gamma=0.5).get_config() == {
        "learning_rate": 0.1,
        "step_size": 7,
        "gamma": 0.5,
    }
    exponential = get_schedule("exponential", 0.1, 200)
    assert exponential(200) == pytest.approx(0.001)  # ends at 1% of the start by default
    cosine = get_schedule("cosine", 0.1, 100, warmup_steps=10)
    assert isinstance(cosine, CosineDecay) and cosine.warmup_steps == 10
    one_cycle = get_schedule("one-cycle", 0.1, 100, pct_start=0.25)
    assert isinstance(one_cycle, OneCycle) and one_cycle(24) == pytest.approx(0.1)
    assert isinstance(get_schedule("OneCycle", 0.1, 100), OneCycle)


def test_get_schedule_errors():
    with pytest.raises(ValueError, match=r"'constant', 'step'.*received schedule='linear'"):
        get_schedule("linear", 0.1, 100)
    with pytest.raises(ValueError, match="total_steps must be"):
        get_schedule("cosine", 0.1, 0)
    with pytest.raises(TypeError):
        get_schedule("step", 0.1, 100, decay=0.5)
