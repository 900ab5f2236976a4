"""Arithmetic that never raises on the numbers a broken run produces.

A ratio of two spreads is undefined when either is NaN or infinite, infinite when only the
denominator is 0, and "no signal at all" (reported as such by the rules) when both are 0.
Rules use these helpers instead of `/`, so no record can crash a diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def is_number(value: Any) -> bool:
    """A finite real number (not a bool, not None, not NaN or infinite)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def ratio(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator for non-negative sizes: None when undefined (a non-number,
    or 0 / 0), inf for x / 0 with x > 0."""
    if not (is_number(numerator) and is_number(denominator)):
        return None
    numerator, denominator = float(numerator), float(denominator)
    if denominator == 0:
        return None if numerator == 0 else math.inf
    return numerator / denominator


def median(values: Iterable[Any]) -> float | None:
    """The median of the finite numbers among `values` (None if there are none)."""
    numbers = sorted(float(v) for v in values if is_number(v))
    if not numbers:
        return None
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return (numbers[middle - 1] + numbers[middle]) / 2


def per_layer(total: float | None, layers: int) -> float | None:
    """The factor per layer that compounds to `total` over `layers` layers (geometric mean)."""
    if total is None or layers < 1 or not math.isfinite(total) or total < 0:
        return None
    return total ** (1 / layers) if total > 0 else 0.0


def fmt(x: Any) -> str:
    """A short number for a sentence: 3 significant digits, 'inf', 'NaN' or '-'."""
    if x is None:
        return "-"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.2g}" if (x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e4)) else f"{x:.3g}"


def layer_range(numbers: list[int]) -> str:
    if not numbers:
        return "no layer"
    return f"layer {numbers[0]}" if len(numbers) == 1 else f"layers {numbers[0]}-{numbers[-1]}"
