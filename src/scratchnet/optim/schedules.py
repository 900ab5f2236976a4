"""Learning-rate schedules: callables from the global step (0-based) to a learning rate.

Use them through scratchnet.train.LearningRateSchedule, which sets the optimiser's rate
before every step. They hold no state, so resuming at step k gives the same rate as before.
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

    lr(t) = lr * t / warmup for t < warmup; afterwards, with p = (t - warmup) / (total - warmup)
    clipped to [0, 1]: lr * (f + (1 - f) * (1 + cos(pi p)) / 2).

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
