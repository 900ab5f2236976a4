"""A training callback that keeps a run folder's live record, progress.json: who trains it, where
it stands, its settings and the History rows so far, so that a viewer such as `scratchnet serve`
can follow the run as it trains. The run's own files (config.json, history.*, model.npz) are
written only when it ends, so a run that fails leaves the folder's previous run as it was.
RunDir owns the file; this only says when to write it."""

from __future__ import annotations

import time

from ..train.callbacks import Callback, TrainingState
from .rundir import RunDir


class LiveRecord(Callback):
    """Write RUN/progress.json at the start, every `every_seconds` during an epoch and at each
    epoch's end. The caller removes it when the run ends (RunDir.clear_progress), whichever
    way it ends. `config` is the run's TrainConfig.to_dict()."""

    def __init__(self, run: RunDir, config: dict, *, every_seconds: float = 2.0) -> None:
        self.run = run
        self.config = config
        self.every_seconds = every_seconds
        self._last = 0.0

    def _write(self, state: TrainingState) -> None:
        self._last = time.monotonic()
        self.run.write_progress(
            epoch=int(state.epoch),
            epochs=int(state.epochs),
            step=int(state.step),
            steps=int(state.steps_per_epoch or 0),
            config=self.config,
            history=state.history.rows,
        )

    def on_train_begin(self, state: TrainingState) -> None:
        self._write(state)

    def needs_gradients(self, state: TrainingState) -> bool:
        return False  # it writes the progress so far

    def on_batch_end(self, state: TrainingState) -> None:
        if time.monotonic() - self._last >= self.every_seconds:
            self._write(state)

    def on_epoch_end(self, state: TrainingState) -> None:
        self._write(state)

    def __repr__(self) -> str:
        return f"LiveRecord({str(self.run.path)!r})"
