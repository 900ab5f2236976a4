"""Weight initialisers: He, Glorot/Xavier and LeCun (normal and uniform), and plain ones.

An initialiser is a small object: `init(shape, rng, dtype)` draws an array from the explicit
`np.random.Generator` it is given (never the global np.random). `Uniform(0, 0.01)` writes down
the user's notebook's `np.random.rand(...) * 0.01`. Shapes are (n_in, n_out), as Dense stores.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class Initializer:
    """Base class. `name` is the CLI spelling; `get_config()` the constructor arguments."""

    name = "initializer"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"initialisers expect a 2-D (n_in, n_out) shape; received {shape}")
    return int(shape[0]), int(shape[1])


class _ScaledNormal(Initializer):
    """Normal(0, std^2) with std = sqrt(gain / fan), fan chosen by the subclass."""

    gain = 1.0

    def _fan(self, n_in: int, n_out: int) -> float:
        raise NotImplementedError

    def __call__(self, shape, rng, dtype=np.float32):
        std = math.sqrt(self.gain / self._fan(*_fans(shape)))
        return (rng.standard_normal(shape) * std).astype(dtype)


class _ScaledUniform(Initializer):
    """Uniform(-limit, limit) with limit = sqrt(3 gain / fan): the same variance as the normal."""

    gain = 1.0

    def _fan(self, n_in: int, n_out: int) -> float:
        raise NotImplementedError

    def __call__(self, shape, rng, dtype=np.float32):
        limit = math.sqrt(3.0 * self.gain / self._fan(*_fans(shape)))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


class HeNormal(_ScaledNormal):
    """He et al. 2015: N(0, 2 / n_in). Keeps the signal's scale through ReLU layers."""

    name = "he-normal"
    gain = 2.0

    def _fan(self, n_in, n_out):
        return n_in


class HeUniform(_ScaledUniform):
    """He et al. 2015, uniform: U(-sqrt(6 / n_in), sqrt(6 / n_in))."""

    name = "he-uniform"
    gain = 2.0

    def _fan(self, n_in, n_out):
        return n_in


class GlorotNormal(_ScaledNormal):
    """Glorot & Bengio 2010 (Xavier): N(0, 2 / (n_in + n_out)). Suits tanh and sigmoid."""

    name = "glorot-normal"
    gain = 2.0

    def _fan(self, n_in, n_out):
        return n_in + n_out


class GlorotUniform(_ScaledUniform):
    """Glorot & Bengio 2010 (Xavier), uniform: U(-sqrt(6 / (n_in + n_out)), +...)."""

    name = "glorot-uniform"
    gain = 2.0

    def _fan(self, n_in, n_out):
        return n_in + n_out


class LeCunNormal(_ScaledNormal):
    """LeCun et al. 1998: N(0, 1 / n_in)."""

    name = "lecun-normal"

    def _fan(self, n_in, n_out):
        return n_in


class LeCunUniform(_ScaledUniform):
    """LeCun et al. 1998, uniform: U(-sqrt(3 / n_in), sqrt(3 / n_in))."""

    name = "lecun-uniform"

    def _fan(self, n_in, n_out):
        return n_in


class Uniform(Initializer):
    """U[low, high). `Uniform(0.0, 0.01)` is the notebook's `np.random.rand(n_out, n_in) * 0.01`.

    Parameters
    ----------
    low, high : float, default 0.0 and 0.01
        The interval; low < high.
    """

    name = "uniform"

    def __init__(self, low: float = 0.0, high: float = 0.01) -> None:
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(
                f"uniform initialiser needs finite low < high; received low={low}, high={high}"
            )
        self.low, self.high = low, high

    def __call__(self, shape, rng, dtype=np.float32):
        return rng.uniform(self.low, self.high, size=shape).astype(dtype)

    def get_config(self):
        return {"low": self.low, "high": self.high}


class Normal(Initializer):
    """N(mean, std^2).

    Parameters
    ----------
    std : float, default 0.01
        Standard deviation, > 0.
    mean : float, default 0.0
    """

    name = "normal"

    def __init__(self, std: float = 0.01, mean: float = 0.0) -> None:
        std, mean = float(std), float(mean)
        if not (math.isfinite(std) and std > 0 and math.isfinite(mean)):
            raise ValueError(f"normal initialiser needs a finite std > 0; received std={std}")
        self.std, self.mean = std, mean

    def __call__(self, shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape) * self.std + self.mean).astype(dtype)

    def get_config(self):
        return {"std": self.std, "mean": self.mean}


class Constant(Initializer):
    """Every entry equal to `value` (0 by default: the usual bias initialisation)."""

    name = "constant"

    def __init__(self, value: float = 0.0) -> None:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"constant initialiser needs a finite value; received {value}")
        self.value = value

    def __call__(self, shape, rng, dtype=np.float32):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    """All zeros."""

    name = "zeros"

    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self):
        return {}


INITIALIZERS: dict[str, type[Initializer]] = {
    cls.name: cls
    for cls in (
        HeNormal,
        HeUniform,
        GlorotNormal,
        GlorotUniform,
        LeCunNormal,
        LeCunUniform,
        Uniform,
        Normal,
        Constant,
        Zeros,
    )
}
_ALIASES = {
    "he": "he-normal",
    "kaiming": "he-normal",
    "kaiming-normal": "he-normal",
    "kaiming-uniform": "he-uniform",
    "xavier": "glorot-uniform",
    "glorot": "glorot-uniform",
    "xavier-normal": "glorot-normal",
    "xavier-uniform": "glorot-uniform",
    "lecun": "lecun-normal",
}


def get_initializer(spec: str | Initializer) -> Initializer:
    """An Initializer from a name or a spec with arguments.

    Names: he-normal, he-uniform, glorot-normal, glorot-uniform (xavier-*), lecun-normal,
    lecun-uniform, zeros; with arguments: 'uniform:LOW:HIGH' (e.g. 'uniform:0:0.01'),
    'normal:STD', 'constant:VALUE'. An Initializer instance is returned unchanged.
    """
    if isinstance(spec, Initializer):
        return spec
    text = str(spec).strip().lower().replace("_", "-")
    name, *args = text.split(":")
    name = _ALIASES.get(name, name)
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown initialiser {spec!r}; expected one of {', '.join(sorted(INITIALIZERS))} "
            "(uniform:LOW:HIGH, normal:STD and constant:VALUE take arguments)"
        )
    try:
        values = [float(a) for a in args]
    except ValueError as exc:
        raise ValueError(f"initialiser {spec!r}: arguments must be numbers") from exc
    cls = INITIALIZERS[name]
    try:
        return cls(*values)
    except TypeError as exc:
        raise ValueError(f"initialiser {spec!r}: wrong number of arguments") from exc


def initializer_from_config(name: str, config: dict[str, Any]) -> Initializer:
    """Rebuild an initialiser from its `name` and `get_config()`."""
    return INITIALIZERS[name](**config)
