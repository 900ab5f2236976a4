"""Callbacks: what happens around training without changing it (progress, schedules, early
stopping, reducing the rate on a plateau...).

fit() calls each hook with a TrainingState; a callback may read anything in it and may set
`state.stop_training` or `state.optimizer.learning_rate`. A callback that keeps state across
epochs offers state_dict()/load_state_dict(), so that a checkpoint can carry it. Nothing here
imports more than NumPy at import time: tqdm is imported only when a ProgressBar is created.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from .history import History


@dataclass
class TrainingState:
    """What a callback can see: the objects being trained and where the loop is."""

    model: Any
    loss: Any
    optimizer: Any
    epochs: int
    steps_per_epoch: int
    history: History
    epoch: int = 0  # 1-based, the epoch running now
    step: int = 0  # 1-based within the epoch
    global_step: int = 0  # steps completed since the start
    batch_loss: float = math.nan
    stop_training: bool = False
    logs: dict[str, Any] = field(default_factory=dict)  # the row being built for this epoch
    validation: tuple[Any, Any] | None = None  # (x, labels) given to fit(), if any
    resumed: bool = False  # fit(start=...) continues a checkpointed run
    lr_scale: float = 1.0  # a factor on a schedule's rates (a non-finite policy halves it)
    # Where the epoch stands, for a checkpoint taken part-way through it: the example order
    # (None without shuffling) and the running sums behind the epoch's loss and accuracy.
    order: np.ndarray | None = None
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0


class Callback:
    """Base class: override the hooks you need; each receives the TrainingState."""

    def on_train_begin(self, state: TrainingState) -> None: ...
    def on_epoch_begin(self, state: TrainingState) -> None: ...
    def on_batch_begin(self, state: TrainingState) -> None: ...
    def on_batch_end(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...

    def needs_gradients(self, state: TrainingState) -> bool:
        """Whether this callback reads the layers' gradients (layer.grads) at the end of this
        step, `state.step`.

        When no callback does, fit() may let the optimiser apply a plain SGD step inside the
        backward pass (Optimizer.fused_coefficients): the update is the same up to float
        rounding, but the gradients are not kept. The default is cautious: yes for a callback
        that overrides on_batch_end, no otherwise. Override it to say no when yours does not
        read gradients.
        """
        return type(self).on_batch_end is not Callback.on_batch_end

    def on_nonfinite(self, state: TrainingState, error: FloatingPointError) -> bool:
        """The loss (or the gradient norm) of step `state.step` is NaN or infinite.

        Return True to have fit() skip the batch and go on (the callback has repaired the
        model), False to let `error` stop training. The first callback returning True wins.
        """
        return False


class LearningRateSchedule(Callback):
    """Set the optimiser's learning rate before each step from `schedule(global_step)`.

    `schedule` is any callable step -> learning rate, e.g. scratchnet.optim.CosineDecay. The
    rate is multiplied by state.lr_scale (1 unless a non-finite policy has halved it).
    """

    def __init__(self, schedule) -> None:
        self.schedule = schedule

    def on_batch_begin(self, state: TrainingState) -> None:
        state.optimizer.learning_rate = state.lr_scale * float(self.schedule(state.global_step))


class ProgressBar(Callback):
    """A tqdm bar per epoch showing the running loss; needs tqdm (the cli extra).

    Parameters
    ----------
    file : text stream, default sys.stderr
    """

    def __init__(self, file: IO[str] | None = None) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "ProgressBar needs tqdm: pip install tqdm (or scratchnet[cli])"
            ) from exc
        self._tqdm = tqdm
        self.file = file if file is not None else sys.stderr
        self._bar = None

    def on_epoch_begin(self, state: TrainingState) -> None:
        self._bar = self._tqdm(
            total=state.steps_per_epoch,
            desc=f"epoch {state.epoch}/{state.epochs}",
            unit="batch",
            leave=False,
            file=self.file,
            dynamic_ncols=True,
        )

    def needs_gradients(self, state: TrainingState) -> bool:
        return False  # it reads the loss and the step only

    def on_batch_end(self, state: TrainingState) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if state.step % 20 == 0:
                self._bar.set_postfix(loss=f"{state.batch_loss:.4f}", refresh=False)

    def on_epoch_end(self, state: TrainingState) -> None:
        self.close()

    def on_train_end(self, state: TrainingState) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _monitor_mode(monitor: str, mode: str | None, owner: str) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"{owner}: monitor must be a log name; received monitor={monitor!r}")
    if mode is None:
        return "min" if monitor.endswith("loss") else "max"
    if mode not in ("min", "max"):
        raise ValueError(f"{owner}: mode must be 'min', 'max' or None; received mode={mode!r}")
    return mode


def _check_count(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(
            f"{owner}: {name} must be a non-negative integer; received {name}={value!r}"
        )
    return int(value)


def _check_real(
    owner: str, name: str, value: object, ok: Callable[[float], bool], expected: str
) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and ok(number)):
        raise ValueError(f"{owner}: {name} must be {expected}; received {name}={value!r}")
    return number


def _monitored(owner: str, monitor: str, state: TrainingState) -> float:
    """The monitored value from this epoch's logs, or a ValueError saying how to get it."""
    if monitor not in state.logs:
        if monitor.startswith("val_"):
            raise ValueError(
                f"{owner} monitors {monitor!r}, which needs a validation set; pass "
                f"validation=... to fit or monitor={monitor[4:]!r}"
            )
        raise ValueError(
            f"{owner} monitors {monitor!r}, which is not in the epoch's logs "
            f"(available: {', '.join(sorted(state.logs))})"
        )
    return float(state.logs[monitor])


class _Plateau:
    """Is a new value better than the best so far by more than min_delta? (NaN never is.)"""

    def __init__(self, mode: str, min_delta: float) -> None:
        self.mode, self.min_delta = mode, min_delta
        self.best: float | None = None

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; restore the best weights.

    An epoch improves when its value beats the best so far by more than min_delta (higher for
    mode "max", lower for "min"). After `patience` epochs in a row without improvement training
    stops (state.stop_training). With restore_best, a copy of every parameter and buffer is
    kept at the best epoch and copied back, in place, when training ends (stopped or not).
    Afterwards `best`, `best_epoch` (1-based) and `stopped_epoch` (0 if it never stopped) say
    what happened.

    Parameters
    ----------
    monitor : str, default "val_accuracy"
        A key of the epoch's logs; "val_*" keys need fit(..., validation=...).
    mode : "min", "max" or None, default None
        None infers it from the name: names ending in "loss" are minimised, others maximised.
    patience : int, default 5
        Epochs without improvement to tolerate, >= 0.
    min_delta : float, default 0.0
        The smallest change that counts as an improvement, >= 0.
    restore_best : bool, default True
    """

    def __init__(
        self,
        monitor: str = "val_accuracy",
        mode: str | None = None,
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        owner = "EarlyStopping"
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, owner)
        self.patience = _check_count(owner, "patience", patience)
        self.min_delta = _check_real(owner, "min_delta", min_delta, lambda v: v >= 0, ">= 0")
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self._plateau = _Plateau(self.mode, self.min_delta)
        self.wait = 0
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.restored = False
        self._best_weights: dict[tuple[int, str, str], np.ndarray] | None = None

    @property
    def best(self) -> float | None:
        return self._plateau.best

    def on_train_begin(self, state: TrainingState) -> None:
        if not state.resumed:  # a resumed run keeps what load_state_dict restored
            self._reset()

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers and copies of the best weights ("weights.<layer>.<kind>.<name>")."""
        out: dict[str, Any] = {
            "best": self.best,
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
        }
        for (index, kind, name), array in (self._best_weights or {}).items():
            out[f"weights.{index}.{kind}.{name}"] = array.copy()
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._reset()
        best = state_dict.get("best")
        self._plateau.best = None if best is None else float(best)
        self.wait = int(state_dict.get("wait", 0))
        self.best_epoch = int(state_dict.get("best_epoch", 0))
        self.stopped_epoch = int(state_dict.get("stopped_epoch", 0))
        weights = {}
        for key, value in state_dict.items():
            if key.startswith("weights."):
                index, kind, name = key.split(".", 3)[1:]
                weights[(int(index), kind, name)] = np.array(value, copy=True)
        self._best_weights = weights or None

    def on_epoch_end(self, state: TrainingState) -> None:
        value = _monitored("EarlyStopping", self.monitor, state)
        if self._plateau.improved(value):
            self._plateau.best = value
            self.best_epoch = state.epoch
            self.wait = 0
            if self.restore_best:
                self._snapshot(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch

    def on_train_end(self, state: TrainingState) -> None:
        if self.restore_best and self._best_weights is not None:
            for (index, kind, name), saved in self._best_weights.items():
                np.copyto(getattr(state.model.layers[index], kind)[name], saved)
            self.restored = True

    def _snapshot(self, model) -> None:
        # Copied into the same arrays each time: one allocation per run, not per improvement.
        saved = self._best_weights if self._best_weights is not None else {}
        for index, layer in enumerate(model.layers):
            for kind in ("params", "buffers"):
                for name, array in getattr(layer, kind, {}).items():
                    key = (index, kind, name)
                    kept = saved.get(key)
                    if kept is None or kept.shape != array.shape or kept.dtype != array.dtype:
                        saved[key] = np.array(array, copy=True)
                    else:
                        np.copyto(kept, array)
        self._best_weights = saved

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, "
            f"patience={self.patience}, min_delta={self.min_delta!r}, "
            f"restore_best={self.restore_best})"
        )


class ReduceLROnPlateau(Callback):
    """Multiply the optimiser's learning rate by `factor` when `monitor` stalls.

    At each epoch end: if the value beat the best by more than min_delta, reset the count;
    otherwise count the epoch, and after `patience` such epochs set
    learning_rate = max(learning_rate * factor, min_lr) and start counting again. Each change
    is recorded in `reductions` as (epoch, new learning rate); the History's learning_rate
    column shows the rate each epoch ran with.

    This is an alternative to LearningRateSchedule, not a companion: a schedule sets the rate
    before every step and would silently overwrite the reduction. (A callback cannot see the
    others in fit's list, so this is documented rather than checked.)

    Parameters
    ----------
    monitor : str, default "val_loss"
    mode : "min", "max" or None, default None (inferred: "*loss" is minimised)
    factor : float, default 0.5
        In (0, 1).
    patience : int, default 2
        Epochs without improvement before a reduction, >= 0.
    min_lr : float, default 1e-6
        The floor, >= 0.
    min_delta : float, default 1e-4
        The smallest change that counts as an improvement (absolute), >= 0.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.5,
        patience: int = 2,
        min_lr: float = 1e-6,
        min_delta: float = 1e-4,
        mode: str | None = None,
    ) -> None:
        owner = "ReduceLROnPlateau"
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, owner)
        self.factor = _check_real(owner, "factor", factor, lambda v: 0 < v < 1, "in (0, 1)")
        self.patience = _check_count(owner, "patience", patience)
        self.min_lr = _check_real(owner, "min_lr", min_lr, lambda v: v >= 0, ">= 0")
        self.min_delta = _check_real(owner, "min_delta", min_delta, lambda v: v >= 0, ">= 0")
        self._reset()

    def _reset(self) -> None:
        self._plateau = _Plateau(self.mode, self.min_delta)
        self.wait = 0
        self.reductions: list[tuple[int, float]] = []

    @property
    def best(self) -> float | None:
        return self._plateau.best

    def on_train_begin(self, state: TrainingState) -> None:
        if not state.resumed:  # a resumed run keeps what load_state_dict restored
            self._reset()

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "reductions": list(self.reductions)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._reset()
        best = state_dict.get("best")
        self._plateau.best = None if best is None else float(best)
        self.wait = int(state_dict.get("wait", 0))
        self.reductions = [(int(e), float(lr)) for e, lr in state_dict.get("reductions", [])]

    def on_epoch_end(self, state: TrainingState) -> None:
        value = _monitored("ReduceLROnPlateau", self.monitor, state)
        if self._plateau.improved(value):
            self._plateau.best = value
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            current = float(state.optimizer.learning_rate)
            reduced = max(current * self.factor, self.min_lr)
            if reduced < current:
                state.optimizer.learning_rate = reduced
                self.reductions.append((state.epoch, reduced))

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor!r}, "
            f"patience={self.patience}, min_lr={self.min_lr!r}, min_delta={self.min_delta!r}, "
            f"mode={self.mode!r})"
        )
