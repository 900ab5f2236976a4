"""Callbacks: what happens around training without changing it (progress, schedules...).

fit() calls each hook with a TrainingState; a callback may read anything in it and may set
`state.stop_training` or `state.optimizer.learning_rate`. Nothing here imports more than NumPy
at import time: tqdm is imported only when a ProgressBar is created.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import IO, Any

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


class Callback:
    """Base class: override the hooks you need; each receives the TrainingState."""

    def on_train_begin(self, state: TrainingState) -> None: ...
    def on_epoch_begin(self, state: TrainingState) -> None: ...
    def on_batch_begin(self, state: TrainingState) -> None: ...
    def on_batch_end(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...


class LearningRateSchedule(Callback):
    """Set the optimiser's learning rate before each step from `schedule(global_step)`.

    `schedule` is any callable step -> learning rate, e.g. scratchnet.optim.CosineDecay.
    """

    def __init__(self, schedule) -> None:
        self.schedule = schedule

    def on_batch_begin(self, state: TrainingState) -> None:
        state.optimizer.learning_rate = float(self.schedule(state.global_step))


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
