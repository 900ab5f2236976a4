"""scratchnet.runs: one owner for a training run.

config.py (TrainConfig: every setting), workflow.py (train_classifier, in small steps: data,
split, model, training callbacks, threads, test) and rundir.py (RunDir and SweepDir: the only
code that knows a run or sweep folder's file names, reading them against the schemas of
schemas.py and writing them atomically). It sits after the engine (data, nn, optim, train) and
before diagnose, report, experiments, cli and serve, which use it.
"""

from .config import AUGMENTATIONS, TrainConfig
from .rundir import (
    RunDir,
    SweepDir,
    check_config,
    find_folders,
    history_paths,
    open_folder,
    read_history_file,
    write_history_files,
)
from .workflow import TrainResult, make_augmenter, train_classifier

__all__ = [
    "AUGMENTATIONS",
    "RunDir",
    "SweepDir",
    "TrainConfig",
    "TrainResult",
    "check_config",
    "find_folders",
    "history_paths",
    "make_augmenter",
    "open_folder",
    "read_history_file",
    "train_classifier",
    "write_history_files",
]
