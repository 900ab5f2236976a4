"""Learning-rate schedules: callables from the global step (0-based) to a learning rate.

Use them through scratchnet.train.LearningRateSchedule, which sets the optimiser's rate
before every step. They hold no state, so resuming at step k gives the same rate as before.
Reduce-on-plateau depends on validation results, so it is a callback
(scratchnet.train.ReduceLROnPlateau), not a schedule.
"""

from __future__ import annotations

import math
from typing import Any

from .optimizer import check_number


class Schedule:
    """Base class: `schedule(step) -> learning_rate`."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr(step) = learning_rate."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = check_number("learning_rate", learning_rate, low=0.0, low_open=True)

    def __call__(self, step: int) -> float:
        return self.learning_rate

    def get_config(self):
        return {"learning_rate": self.learning_rate}


class CosineDecay(Schedule):
    """Linear warm-up to `learning_rate`, then half a cosine down to `final_fraction` of it.

    lr(t) = lr * (t + 1) / warmup for t < warmup (so step 0 already moves); afterwards, with
    p = (t - warmup) / (total - warmup) clipped to [0, 1]: lr * (f + (1 - f) * (1 + cos(pi p)) / 2).

    Parameters
    ----------
    learning_rate : float, > 0
    total_steps : int, >= 1
        Steps over which to decay (epochs * batches per epoch).
    warmup_steps : int, default 0
        0 <= warmup_steps < total_steps.
    final_fraction : float, default 0.0
        The end rate as a fraction of the peak, in [0, 1].
    """

    def __init__(
        self,
        learning_rate: float,
        total_steps: int,
        *,
        warmup_steps: int = 0,
        final_fraction: float = 0.0,
    ) -> None:
        self.learning_rate = check_number("learning_rate", learning_rate, low=0.0, low_open=True)
        self.total_steps = int(check_number("total_steps", total_steps, low=1))
        self.warmup_steps = int(
            check_number("warmup_steps", warmup_steps, low=0, high=self.total_steps, high_open=True)
        )
        self.final_fraction = check_number("final_fraction", final_fraction, low=0.0, high=1.0)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min(max((step - self.warmup_steps) / span, 0.0), 1.0)
        f = self.final_fraction
        return self.learning_rate * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * progress)))

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "final_fraction": self.final_fraction,
        }


class StepDecay(Schedule):
    """lr(t) = learning_rate * gamma ** floor(t / step_size): drop by gamma every step_size steps.

    Parameters
    ----------
    learning_rate : float, > 0
    step_size : int, >= 1
        Steps between drops.
    gamma : float, default 0.1
        Multiplier at each drop, in (0, 1].
    """

    def __init__(self, learning_rate: float, step_size: int, gamma: float = 0.1) -> None:
        self.learning_rate = check_number(
            "learning_rate", learning_rate, low=0.0, low_open=True, high_open=True
        )
        self.step_size = _check_steps("step_size", step_size)
        self.gamma = check_number("gamma", gamma, low=0.0, high=1.0, low_open=True)

    def __call__(self, step: int) -> float:
        return self.learning_rate * self.gamma ** (max(step, 0) // self.step_size)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "step_size": self.step_size,
            "gamma": self.gamma,
        }


class ExponentialDecay(Schedule):
    """lr(t) = learning_rate * decay_rate ** (t / decay_steps), smooth (no staircase).

    Parameters
    ----------
    learning_rate : float, > 0
    decay_rate : float
        The factor applied over each decay_steps steps, in (0, 1].
    decay_steps : int, >= 1
    """

    def __init__(self, learning_rate: float, decay_rate: float, decay_steps: int) -> None:
        self.learning_rate = check_number(
            "learning_rate", learning_rate, low=0.0, low_open=True, high_open=True
        )
        self.decay_rate = check_number("decay_rate", decay_rate, low=0.0, high=1.0, low_open=True)
        self.decay_steps = _check_steps("decay_steps", decay_steps)

    def __call__(self, step: int) -> float:
        return self.learning_rate * self.decay_rate ** (max(step, 0) / self.decay_steps)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }


class OneCycle(Schedule):
    """Smith's one-cycle policy, as torch.optim.lr_scheduler.OneCycleLR(anneal_strategy='cos').

    Two cosine phases: from initial = max_learning_rate / div_factor up to max_learning_rate,
    reached at step pct_start * total_steps - 1, then down to initial / final_div_factor at step
    total_steps - 1. Within a phase from a to b over steps [s, e]:
    lr(t) = b + (a - b) * (1 + cos(pi (t - s) / (e - s))) / 2. Steps past the end keep the final
    rate (OneCycleLR raises instead). Momentum cycling is not included.

    Parameters
    ----------
    max_learning_rate : float, > 0
    total_steps : int, >= 2
    pct_start : float, default 0.3
        Fraction of the steps spent rising, in (0, 1).
    div_factor : float, default 25
        initial = max_learning_rate / div_factor; >= 1.
    final_div_factor : float, default 1e4
        final = initial / final_div_factor; >= 1.
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        self.max_learning_rate = check_number(
            "max_learning_rate", max_learning_rate, low=0.0, low_open=True, high_open=True
        )
        self.total_steps = _check_steps("total_steps", total_steps, low=2)
        self.pct_start = check_number(
            "pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.div_factor = check_number("div_factor", div_factor, low=1.0, high_open=True)
        self.final_div_factor = check_number(
            "final_div_factor", final_div_factor, low=1.0, high_open=True
        )
        self.initial_learning_rate = self.max_learning_rate / self.div_factor
        self.final_learning_rate = self.initial_learning_rate / self.final_div_factor
        self.peak_step = self.pct_start * self.total_steps - 1  # a float, as in OneCycleLR

    def __call__(self, step: int) -> float:
        step = min(max(step, 0), self.total_steps - 1)
        if step <= self.peak_step:
            first, last = 0.0, self.peak_step
            rate_from, rate_to = self.initial_learning_rate, self.max_learning_rate
        else:
            first, last = self.peak_step, float(self.total_steps - 1)
            rate_from, rate_to = self.max_learning_rate, self.final_learning_rate
        # A one-step rising phase (pct_start * total_steps == 1) is already at its end.
        progress = (step - first) / (last - first) if last > first else 1.0
        return rate_to + (rate_from - rate_to) / 2.0 * (math.cos(math.pi * progress) + 1.0)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
        }


def _check_steps(name: str, value: Any, *, low: int = 1) -> int:
    """A whole number of steps >= low (True, 2.5 and inf are refused), else a ValueError."""
    number = check_number(name, value, low=low, high_open=True)
    if isinstance(value, bool) or number != int(number):
        raise ValueError(f"{name} must be an integer >= {low}; received {name}={value!r}")
    return int(number)


SCHEDULES = ("constant", "step", "exponential", "cosine", "onecycle")


def get_schedule(name: str, learning_rate: float, total_steps: int, **kwargs: Any) -> Schedule:
    """A schedule by name, peaking at `learning_rate`, for a run of `total_steps` steps.

    - "constant": Constant(learning_rate)
    - "step": StepDecay, step_size defaulting to total_steps // 3 (two drops of gamma)
    - "exponential": ExponentialDecay, by default decay_rate=0.01 over decay_steps=total_steps
      (the rate ends at 1% of the start)
    - "cosine": CosineDecay(learning_rate, total_steps, warmup_steps=..., final_fraction=...)
    - "onecycle": OneCycle(learning_rate, total_steps, pct_start=..., ...)

    Extra keyword arguments go to the schedule's constructor (a wrong one raises TypeError).
    """
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    total = _check_steps("total_steps", total_steps)
    if key == "constant":
        return Constant(learning_rate, **kwargs)
    if key == "step":
        kwargs.setdefault("step_size", max(total // 3, 1))
        return StepDecay(learning_rate, **kwargs)
    if key == "exponential":
        kwargs.setdefault("decay_rate", 0.01)
        kwargs.setdefault("decay_steps", total)
        return ExponentialDecay(learning_rate, **kwargs)
    if key == "cosine":
        return CosineDecay(learning_rate, total, **kwargs)
    if key == "onecycle":
        return OneCycle(learning_rate, total, **kwargs)
    raise ValueError(
        f"schedule must be one of {', '.join(map(repr, SCHEDULES))}; received schedule={name!r}"
    )
