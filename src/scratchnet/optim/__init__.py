"""scratchnet.optim: optimisers that update parameters in place, and learning-rate schedules.
Imports NumPy only."""

from .adam import Adam
from .adamw import AdamW
from .factory import OPTIMIZERS, get_optimizer
from .optimizer import Optimizer, apply_max_norm, global_norm
from .rmsprop import RMSprop
from .schedules import (
    SCHEDULES,
    Constant,
    CosineDecay,
    ExponentialDecay,
    OneCycle,
    Schedule,
    StepDecay,
    get_schedule,
)
from .sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "OneCycle",
    "Optimizer",
    "RMSprop",
    "Schedule",
    "StepDecay",
    "apply_max_norm",
    "get_optimizer",
    "get_schedule",
    "global_norm",
]
