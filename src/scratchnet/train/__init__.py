"""scratchnet.train: fit and evaluate, History, callbacks and metrics. Imports NumPy only."""

from .callbacks import (
    Callback,
    EarlyStopping,
    LearningRateSchedule,
    ProgressBar,
    ReduceLROnPlateau,
    TrainingState,
)
from .checkpoint import (
    Checkpoint,
    SavedCheckpoint,
    StopRequest,
    TrainingInterrupted,
    load_checkpoint,
    save_checkpoint,
)
from .fit import ResumePoint, evaluate, fit
from .history import History, Scores
from .metrics import accuracy, confusion_matrix, per_class_scores
from .nonfinite import NONFINITE_POLICIES, NonFinitePolicy


def __getattr__(name: str):
    # TrainConfig, TrainResult and train_classifier moved to scratchnet.runs (which comes after
    # the engine); resolved lazily so that the engine imports nothing from it.
    if name in ("TrainConfig", "TrainResult", "train_classifier"):
        from . import recipe

        return getattr(recipe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NONFINITE_POLICIES",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "LearningRateSchedule",
    "NonFinitePolicy",
    "ProgressBar",
    "ReduceLROnPlateau",
    "Scores",
    "ResumePoint",
    "SavedCheckpoint",
    "StopRequest",
    "TrainingInterrupted",
    "TrainingState",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load_checkpoint",
    "per_class_scores",
    "save_checkpoint",
]
