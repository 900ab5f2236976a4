"""The configuration of a training run: every setting, validated, JSON-able (TrainConfig).

It describes a run; scratchnet.runs.workflow carries it out and RunDir stores it as config.json.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import DATASETS
from ..data.batches import check_batch_size
from ..nn import SoftmaxCrossEntropy, get_activation, get_initializer
from ..nn.layer import check_dtype
from ..optim import OPTIMIZERS, SCHEDULES, get_optimizer
from ..optim.optimizer import Optimizer
from ..train.nonfinite import NONFINITE_POLICIES

AUGMENTATIONS = ("none", "affine", "elastic", "affine-flip")


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. The defaults reach >= 98% on MNIST in about 20 s on 2 cores.

    hidden: widths of the hidden layers; optimizer: sgd (with momentum/nesterov), rmsprop,
    adam or adamw; learning_rate: the peak rate; schedule: constant, step, exponential, cosine
    (warm-up over the first 2% of steps, then decay to 0) or onecycle; weight_decay: L2 for
    sgd/rmsprop/adam, decoupled for adamw; dropout: the share of hidden units dropped in
    training; batch_norm: normalise each hidden layer; label_smoothing; clip_norm: clip the
    global gradient norm; max_norm: cap each unit's incoming weight norm; augment: none, affine
    (shifts, rotations, scalings), elastic (affine plus Simard's elastic distortions) or
    affine-flip (affine, and half the images mirrored left-right: for clothes, not digits);
    early_stopping: patience in epochs on validation accuracy (0: off), restoring the best
    weights; validation_size: examples held out of the training set; on_nonfinite: what a NaN
    or infinite loss does: stop (the default), skip-batch or halve-lr (see NonFinitePolicy).
    """

    dataset: str = "mnist"
    data_dir: str | None = None
    data: str | None = None  # the user's own data (folder, .csv, .npz): data.own.load_own
    hidden: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    init: str = "he-normal"
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 20
    dropout: float = 0.0
    batch_norm: bool = False
    label_smoothing: float = 0.0
    clip_norm: float | None = None
    max_norm: float | None = None
    augment: str = "none"
    early_stopping: int = 0
    validation_size: int = 5000
    seed: int = 0
    dtype: str = "float32"
    on_nonfinite: str = "stop"
    preset: str | None = None

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        for width in self.hidden:
            if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(
                    f"hidden sizes must be positive integers; received hidden={self.hidden!r}"
                )
        _choice("dataset", self.dataset, DATASETS)
        if self.data_dir is not None:
            if not isinstance(self.data_dir, str | os.PathLike):
                raise ValueError(
                    f"data_dir must be a folder name or None; received data_dir={self.data_dir!r}"
                )
            self.data_dir = os.fspath(self.data_dir)
        if self.data is not None:
            if not isinstance(self.data, str | os.PathLike):
                raise ValueError(f"data must be a path or None; received data={self.data!r}")
            self.data = os.fspath(self.data)
        for name in ("nesterov", "batch_norm"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(
                    f"{name} must be True or False; received {name}={getattr(self, name)!r}"
                )
        if self.preset is not None:
            from ..train.presets import PRESETS

            _choice("preset", self.preset, tuple(PRESETS))
        get_activation(self.activation)
        get_initializer(self.init)
        check_batch_size(self.batch_size)
        _whole("epochs", self.epochs, low=1)
        _whole("validation_size", self.validation_size, low=0)
        _whole("early_stopping", self.early_stopping, low=0)
        _whole("seed", self.seed, low=0)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
        _choice("augment", self.augment, AUGMENTATIONS)
        _choice("on_nonfinite", self.on_nonfinite, NONFINITE_POLICIES)
        if not (isinstance(self.dropout, int | float) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1); received dropout={self.dropout!r}")
        if self.early_stopping and not self.validation_size:
            raise ValueError(
                "early_stopping needs a validation set; set validation_size > 0 or early_stopping=0"
            )
        check_dtype(self.dtype)
        # The optimiser and loss validate their own numbers; build them now to fail early.
        self.make_optimizer()
        SoftmaxCrossEntropy(label_smoothing=self.label_smoothing)

    def make_optimizer(self) -> Optimizer:
        kwargs: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
            "max_norm": self.max_norm,
        }
        if self.optimizer == "sgd":
            kwargs.update(momentum=self.momentum, nesterov=self.nesterov and self.momentum > 0)
        elif self.optimizer == "rmsprop":
            kwargs.update(momentum=self.momentum)
        return get_optimizer(self.optimizer, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A preset's settings (see PRESETS), with `overrides` on top."""
        from ..train.presets import PRESETS

        if name not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}; received {name!r}")
        settings = {**PRESETS[name].settings, **overrides, "preset": name}
        return cls(**settings)


# `scratchnet train` augments MNIST when no option or preset says otherwise: a model trained on
# digits shifted, turned and scaled a little reads people's pictures far better and MNIST's test
# set a little better (benchmarks/results/predict.md). TrainConfig's own default stays "none".
COMMAND_AUGMENT = "affine"


def command_augment(dataset: str = "mnist", data: str | None = None, preset: str | None = None):
    """The augmentation `scratchnet train` uses when --augment is not given."""
    if preset not in (None, "default"):
        return TrainConfig.from_preset(preset).augment
    return COMMAND_AUGMENT if dataset == "mnist" and data is None else "none"


def _whole(name: str, value: Any, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        kind = "a positive integer" if low == 1 else "a non-negative integer"
        raise ValueError(f"{name} must be {kind}; received {name}={value!r}")


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; received {value!r}")
