"""Compatibility: TrainConfig, train_classifier and friends moved to scratchnet.runs.

The engine (scratchnet.train) imports nothing from runs, which sits after it; these names are
resolved lazily, on first use, for code written against the old location.
"""

from __future__ import annotations

from typing import Any

_MOVED = {
    "AUGMENTATIONS": "scratchnet.runs.config",
    "TrainConfig": "scratchnet.runs.config",
    "TrainResult": "scratchnet.runs.workflow",
    "make_augmenter": "scratchnet.runs.workflow",
    "train_classifier": "scratchnet.runs.workflow",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_MOVED)
