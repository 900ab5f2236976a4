"""Search spaces: the settings a sweep tries. A grid is every combination of listed values; a
random search draws each parameter from a distribution (loguniform:LOW:HIGH, uniform:LOW:HIGH,
int:LOW:HIGH, logint:LOW:HIGH, choice:A|B|C) with a seeded generator, so the same command
always draws the same settings. Values are coerced to the TrainConfig field's type here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..runs.config import TrainConfig

FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _significant(value: float, digits: int = 3) -> float:
    """Round to `digits` significant digits: a drawn 0.0123456 becomes 0.0123, readable in a
    table and in the printed command, and a cleaner key for identical draws."""
    return float(f"{value:.{digits}g}")


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """exp(uniform(log low, log high)), rounded to 3 significant digits; 0 < low < high."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (0 < self.low < self.high and math.isfinite(self.high)):
            raise ValueError(
                f"loguniform needs 0 < LOW < HIGH; received {self.low!r}:{self.high!r}"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return _significant(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclasses.dataclass(frozen=True)
class Uniform:
    """uniform(low, high), rounded to 3 significant digits; low < high."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (self.low < self.high and math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"uniform needs LOW < HIGH; received {self.low!r}:{self.high!r}")

    def sample(self, rng: np.random.Generator) -> float:
        return _significant(rng.uniform(self.low, self.high))


@dataclasses.dataclass(frozen=True)
class IntRange:
    """An integer from low to high inclusive; log=True draws it log-uniformly (1 <= low)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high or (self.log and self.low < 1):
            kind = "logint needs 1 <= LOW <= HIGH" if self.log else "int needs LOW <= HIGH"
            raise ValueError(f"{kind}; received {self.low!r}:{self.high!r}")

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            drawn = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(int(drawn), self.high)
        return int(rng.integers(self.low, self.high, endpoint=True))


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of the values, each equally likely."""

    values: tuple

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("choice needs at least one value; received none")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


Distribution = LogUniform | Uniform | IntRange | Choice


def parse_distribution(text: str, convert: Callable[[str], Any] = str) -> Distribution:
    """'loguniform:1e-4:1e-1', 'uniform:0:0.5', 'int:16:256', 'logint:16:1024' or
    'choice:a|b|c' (each choice converted with `convert`) -> a Distribution."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind == "choice":
        return Choice(tuple(convert(part.strip()) for part in rest.split("|") if part.strip()))
    parts = rest.split(":")
    kinds = {"loguniform": LogUniform, "uniform": Uniform, "int": IntRange, "logint": IntRange}
    if kind not in kinds or len(parts) != 2:
        raise ValueError(
            "expected loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH, logint:LOW:HIGH or "
            f"choice:A|B|...; received {text!r}"
        )
    try:
        if kind in ("int", "logint"):
            return IntRange(int(parts[0]), int(parts[1]), log=kind == "logint")
        return kinds[kind](float(parts[0]), float(parts[1]))
    except ValueError as exc:
        if "needs" in str(exc):
            raise
        raise ValueError(f"expected numbers in {text!r}") from None


def coerce(field: str, value: Any) -> Any:
    """`value` in the type of TrainConfig.`field`: hidden 100 -> (100,), an int field's 31.6
    -> 32, a float field's 1 -> 1.0. Raises ValueError for a field TrainConfig lacks."""
    if field not in FIELD_DEFAULTS or field in ("preset", "data_dir"):
        raise ValueError(f"cannot sweep {field!r}: it is not a training setting")
    default = FIELD_DEFAULTS[field]
    if field == "hidden":
        if isinstance(value, int | np.integer):
            return (int(value),)
        return tuple(int(v) for v in value)
    if isinstance(default, bool) or isinstance(value, bool):
        return value
    if isinstance(default, int) and isinstance(value, float | np.floating):
        return int(round(float(value)))
    if isinstance(default, float) and isinstance(value, int | np.integer):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination, the last parameter varying fastest (as nested loops would)."""
    names = list(space)
    for name in names:
        if not space[name]:
            raise ValueError(f"grid parameter {name!r} has no values")
    values = [[coerce(name, v) for v in space[name]] for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def sample(space: Mapping[str, Distribution], n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """`n` settings drawn independently; the same seed draws the same settings."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"a random search needs n >= 1 settings; received n={n!r}")
    rng = np.random.default_rng([seed, 0x5EED])
    return [
        {name: coerce(name, dist.sample(rng)) for name, dist in space.items()} for _ in range(n)
    ]
