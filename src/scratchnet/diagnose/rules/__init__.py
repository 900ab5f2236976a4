"""The registry: one rule per fault, each `(records, context) -> Finding | None`.

`analyse` (findings.py) runs them in this order and ranks what they find; a new fault is a
new function here, nothing else changes. docs/diagnose.md describes every rule.
"""

from __future__ import annotations

from .data import class_imbalance, data_scale, label_noise
from .fit import capacity_too_small, dropout_too_strong, overfitting, weight_decay_too_strong
from .init import (
    dead_at_init,
    init_too_large,
    saturated_at_init,
    vanishing_depth,
    vanishing_signal,
)
from .optimisation import (
    batch_too_small_for_rate,
    learning_rate_too_large,
    learning_rate_too_small,
)
from .structure import no_nonlinearity, symmetric_weights
from .symptoms import collapse, no_learning

RULES = [
    # the data
    data_scale,
    class_imbalance,
    label_noise,
    # the structure (of the network that trains)
    symmetric_weights,
    no_nonlinearity,
    capacity_too_small,
    dropout_too_strong,
    # the first forward pass
    vanishing_signal,
    init_too_large,
    saturated_at_init,
    dead_at_init,
    vanishing_depth,
    # the optimisation
    learning_rate_too_large,
    batch_too_small_for_rate,
    learning_rate_too_small,
    weight_decay_too_strong,
    # the fit
    overfitting,
    # symptoms
    collapse,
    no_learning,
]

__all__ = ["RULES"]
