"""scratchnet.optim: optimisers that update parameters in place, and learning-rate schedules.
Imports NumPy only."""

from .optimizer import Optimizer
from .schedules import Constant, CosineDecay, Schedule
from .sgd import SGD

__all__ = ["SGD", "Constant", "CosineDecay", "Optimizer", "Schedule"]
