"""`diagnose --repair`: apply the top cause's fix, retrain with the same budget, diagnose again.

Each round changes what one finding says (its settings, or its data fix applied to the arrays
in memory) and keeps the epochs, the data and the seed. It stops when no cause is left, when a
fix would change nothing, or after `rounds` fixes. The result keeps the round with the best
score on one validation split drawn once from the data as given, before any fix: a data fix
(dropping mislabelled examples, oversampling a class) changes the training part only, so every
round is judged on the same images and labels. The score is the mean per-class accuracy (a
dominant class cannot decide it); the test set is read only to report, never to choose.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import numpy as np

from ..data.features import images_to_features, validation_split
from ..runs import TrainConfig
from ..runs.config import command_augment
from ..runs.workflow import load_data
from .datacheck import apply_data_fix, rescale
from .findings import Finding, settings_to_args


@dataclasses.dataclass
class Round:
    config: TrainConfig
    diagnosis: Any  # a Diagnosis
    fix: Finding | None = None  # the finding whose fix made the next round
    data_fixes: list[str] = dataclasses.field(default_factory=list)  # applied before it
    score: float = 0.0  # mean per-class accuracy on the repair's fixed validation split


@dataclasses.dataclass
class Repair:
    rounds: list[Round]
    best: int  # index of the round kept

    @property
    def data_fixes(self) -> list[str]:
        """The data fixes the kept round trained with."""
        return self.rounds[self.best].data_fixes

    @property
    def config(self) -> TrainConfig:
        return self.rounds[self.best].config

    @property
    def diagnosis(self):
        return self.rounds[self.best].diagnosis

    def command(self) -> str:
        """The `scratchnet train` command for the kept round's settings."""
        return train_command(self.config)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rounds": [
                {
                    "settings": r.config.to_dict(),
                    "findings": [f.kind for f in r.diagnosis.findings],
                    "val_accuracy": r.diagnosis.val_accuracy,
                    "score": r.score,
                    "test_accuracy": r.diagnosis.test_accuracy,
                    "fix": r.fix.as_dict() if r.fix else None,
                }
                for r in self.rounds
            ],
            "best": self.best,
            "data_fixes": self.data_fixes,
            "command": self.command(),
        }


def train_command(config: TrainConfig) -> str:
    """`scratchnet train` with every setting that differs from the defaults (or the preset)."""
    if config.preset:
        base = TrainConfig.from_preset(config.preset).to_dict()
    else:
        base = TrainConfig().to_dict()
        base["augment"] = command_augment(config.dataset, config.data)  # train's own default
    wanted = config.to_dict()
    changed = {
        k: v for k, v in wanted.items()
        if k not in ("preset", "data_dir") and v != base.get(k)
    }
    args = ["scratchnet", "train"]
    if config.preset:
        args += ["--preset", config.preset]
    if config.data_dir:
        args += ["--data-dir", config.data_dir]
    if "nesterov" in changed and not changed.pop("nesterov"):
        args.append("--no-nesterov")
    return shlex.join(args + settings_to_args(changed))


def _next_fix(diagnosis) -> Finding | None:
    for finding in diagnosis.causes:
        if finding.settings or finding.data_fix:
            return finding
    return None


def repair_training(
    config: TrainConfig, *, data=None, rounds: int = 3, probe_size: int = 500, on_round=None
) -> Repair:
    """Diagnose, fix, retrain, up to `rounds` fixes; `on_round(round)` sees each round."""
    from .run import diagnose_training

    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer; received rounds={rounds!r}")
    if config.validation_size < 1:
        raise ValueError("repair judges each round on a validation split; use validation_size > 0")
    if data is None:
        data = load_data(config, progress=False)
    data, validation = _hold_out(config, data)
    history: list[Round] = []
    data_fixes: list[str] = []
    seen = {_key(config, data_fixes)}
    while True:
        held = (rescale(validation[0]), validation[1]) if "rescale" in data_fixes else validation
        diagnosis = diagnose_training(config, data=data, probe_size=probe_size, validation=held)
        current = Round(config, diagnosis, data_fixes=list(data_fixes))
        current.score = _score(diagnosis, held)
        history.append(current)
        fix = _next_fix(diagnosis)
        if fix is None or len(history) > rounds:
            break
        new_config, new_fixes = config, list(data_fixes)
        if fix.settings:
            new_config = dataclasses.replace(config, **fix.settings)
        if fix.data_fix and fix.data_fix not in data_fixes:
            new_fixes.append(fix.data_fix)
        if _key(new_config, new_fixes) in seen:
            break  # the fix would change nothing (or go back to a round already tried)
        current.fix = fix
        if on_round is not None:
            on_round(current)
        if len(new_fixes) > len(data_fixes):
            data = apply_data_fix(new_fixes[-1], data, seed=config.seed)
        config, data_fixes = new_config, new_fixes
        seen.add(_key(config, data_fixes))
    if on_round is not None and history[-1].fix is None:
        on_round(history[-1])
    best = max(range(len(history)), key=lambda i: (history[i].score, -i))
    return Repair(history, best)


def _hold_out(config: TrainConfig, data) -> tuple:
    """(the data without its validation split, the split): drawn as train_classifier draws
    it (config.seed, config.validation_size), once, before any data fix."""
    (x_train, y_train), test = data
    (x_fit, y_fit), validation = validation_split(
        np.asarray(x_train), np.asarray(y_train, dtype=np.int64), config.validation_size,
        rng=np.random.default_rng(config.seed),
    )
    return ((x_fit, y_fit), test), validation


def balanced_accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the classes present in `labels` of the share of their examples predicted
    right (the per-class recall): a model that calls everything the dominant class scores 1/k."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes.size == 0:
        return 0.0
    return float(np.mean([np.mean(predictions[labels == c] == c) for c in classes]))


def _score(diagnosis, validation) -> float:
    """The round's mean per-class accuracy on the validation split (0 if it diverged)."""
    model = diagnosis.model
    if model is None or diagnosis.diverged:
        return 0.0
    features = images_to_features(np.asarray(validation[0]), model.dtype)
    with np.errstate(all="ignore"):
        predictions = model.predict(features)
    return balanced_accuracy(predictions, validation[1])


def _key(config: TrainConfig, data_fixes: list[str]) -> str:
    return repr(sorted(config.to_dict().items())) + repr(data_fixes)
