"""Optimisers by name, for configuration files and the command line: get_optimizer('adam', ...)."""

from __future__ import annotations

from typing import Any

from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """A new optimiser: OPTIMIZERS[name.lower()](**kwargs).

    get_optimizer("adamw", learning_rate=1e-3, weight_decay=5e-2, clip_norm=1.0)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}; received "
            f"optimizer={name!r}"
        )
    return OPTIMIZERS[key](**kwargs)
