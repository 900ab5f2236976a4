"""scratchnet.train: fit and evaluate, History, callbacks and metrics. Imports NumPy only."""

from .callbacks import (
    Callback,
    EarlyStopping,
    LearningRateSchedule,
    ProgressBar,
    ReduceLROnPlateau,
    TrainingState,
)
from .fit import evaluate, fit
from .history import History
from .metrics import accuracy, confusion_matrix, per_class_scores
from .recipe import TrainConfig, TrainResult, train_classifier

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "LearningRateSchedule",
    "ProgressBar",
    "ReduceLROnPlateau",
    "TrainConfig",
    "TrainResult",
    "TrainingState",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "per_class_scores",
    "train_classifier",
]
