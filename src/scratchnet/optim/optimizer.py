"""The optimiser contract: update a network's parameters in place from its gradients.

State (velocities, moments, the step count) is keyed by (layer index, parameter name), so an
optimiser follows one network. In-place updates (`param -= ...`) keep every reference valid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` as a float within [low, high] (or open ends), else a ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    ok = math.isfinite(number) or (number == math.inf and high == math.inf and not high_open)
    ok = ok and (number > low if low_open else number >= low)
    ok = ok and (number < high if high_open else number <= high)
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open or high == math.inf else "]"
        raise ValueError(
            f"{name} must be in {left}{low:g}, {high:g}{right}; received {name}={value!r}"
        )
    return number


class Optimizer:
    """Base class. `step(model)` applies one update from the gradients the last backward left."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = check_number("learning_rate", learning_rate, low=0.0, low_open=True)
        self.state: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        self.iterations = 0

    def step(self, model) -> None:
        """Update every parameter of `model` in place."""
        for index, name, param, grad in model.parameters():
            self._update((index, name), param, grad)
        self.iterations += 1

    def _update(self, key: tuple[int, str], param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
