"""What to do when a step's loss or gradients turn NaN or infinite, other than stopping.

By default fit() stops with a FloatingPointError naming the epoch and step. NonFinitePolicy
instead puts back the network and optimiser state from before the update that went wrong and
skips the batch ("skip-batch"), or also halves the learning rate ("halve-lr"), and gives up after
a few failures in a row. It does not look for the cause: scratchnet.diagnose does that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .callbacks import Callback, TrainingState

#: The choices of TrainConfig.on_nonfinite and `scratchnet train --on-nonfinite`.
NONFINITE_POLICIES = ("stop", "skip-batch", "halve-lr")


def _state_arrays(model, optimizer):
    """Every array a step changes: parameters, buffers and the optimiser's slots, by key."""
    for index, layer in enumerate(model.layers):
        for kind in ("params", "buffers"):
            for name, array in getattr(layer, kind).items():
                yield ("model", index, kind, name), array
    for (index, name), slots in optimizer.state.items():
        for slot, array in slots.items():
            yield ("optimizer", index, name, slot), array


def _all_finite(model) -> bool:
    return all(
        np.isfinite(array).all()
        for layer in model.layers
        for array in (*layer.params.values(), *layer.buffers.values())
    )


class _Snapshot:
    """A copy of the trainable state, kept in arrays reused from one step to the next."""

    def __init__(self) -> None:
        self.arrays: dict[tuple, np.ndarray] = {}
        self.iterations = 0
        self.valid = False

    def take(self, model, optimizer) -> None:
        seen = set()
        for key, array in _state_arrays(model, optimizer):
            kept = self.arrays.get(key)
            if kept is None or kept.shape != array.shape or kept.dtype != array.dtype:
                self.arrays[key] = array.copy()
            else:
                np.copyto(kept, array)
            seen.add(key)
        for key in set(self.arrays) - seen:
            del self.arrays[key]
        self.iterations = optimizer.iterations
        self.valid = True

    def put_back(self, model, optimizer) -> None:
        created = []
        for key, array in _state_arrays(model, optimizer):
            kept = self.arrays.get(key)
            if kept is None:
                created.append(key)  # an optimiser slot born since: it starts again at zero
            else:
                np.copyto(array, kept)
        for _, index, name, slot in created:
            del optimizer.state[(index, name)][slot]
        optimizer.iterations = self.iterations


class NonFinitePolicy(Callback):
    """Recover from a non-finite step instead of stopping: restore, skip, maybe halve the rate.

    When a step's loss (or, with clipping, its gradient norm) is NaN or infinite, the
    parameters, buffers and optimiser state from before the previous update (the one that
    produced the non-finite numbers; before this step if it is the first) are put back and
    the batch is skipped. "halve-lr" also halves the learning rate, a schedule's included
    (through state.lr_scale). After `patience` non-finite steps in a row it gives up with a
    FloatingPointError. Parameters that are non-finite at an epoch's end are repaired the same
    way (that epoch's validation scores are then NaN). Costs one copy of the trainable state
    per step (two are kept). `events` lists what happened: dicts of epoch, step, error, action.

    Parameters
    ----------
    policy : "skip-batch" or "halve-lr"
    patience : int, default 3
        Non-finite steps in a row to tolerate, >= 1.
    """

    def __init__(self, policy: str = "skip-batch", patience: int = 3) -> None:
        if policy not in NONFINITE_POLICIES[1:]:
            raise ValueError(
                f"policy must be 'skip-batch' or 'halve-lr'; received policy={policy!r} "
                "('stop' needs no callback: it is what fit() does)"
            )
        if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 1:
            raise ValueError(f"patience must be a positive integer; received patience={patience!r}")
        self.policy = policy
        self.patience = int(patience)
        self.consecutive = 0
        self.events: list[dict[str, Any]] = []
        self._previous, self._current = _Snapshot(), _Snapshot()

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The failure count, the events and the state before the last update (for resuming)."""
        out: dict[str, Any] = {"consecutive": self.consecutive, "events": list(self.events)}
        if self._current.valid:
            out["iterations"] = self._current.iterations
            for key, array in self._current.arrays.items():
                out["snapshot." + ".".join(map(str, key))] = array.copy()
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.consecutive = int(state_dict.get("consecutive", 0))
        self.events = list(state_dict.get("events", []))
        self._previous, self._current = _Snapshot(), _Snapshot()
        arrays = {}
        for name, value in state_dict.items():
            if name.startswith("snapshot."):
                source, index, *middle, last = name.split(".")[1:]
                arrays[(source, int(index), ".".join(middle), last)] = np.array(value, copy=True)
        if arrays:
            # Saved after a step: what was current then is the "previous" of the next step.
            self._current.arrays = arrays
            self._current.iterations = int(state_dict.get("iterations", 0))
            self._current.valid = True

    # -- hooks ---------------------------------------------------------------------------------
    def on_train_begin(self, state: TrainingState) -> None:
        if not state.resumed:
            self.consecutive, self.events = 0, []
            self._previous, self._current = _Snapshot(), _Snapshot()

    def on_batch_begin(self, state: TrainingState) -> None:
        self._previous, self._current = self._current, self._previous
        self._current.take(state.model, state.optimizer)

    def needs_gradients(self, state: TrainingState) -> bool:
        return False  # it counts steps; its snapshots hold parameters

    def on_batch_end(self, state: TrainingState) -> None:
        self.consecutive = 0

    def on_nonfinite(self, state: TrainingState, error: FloatingPointError) -> bool:
        self.consecutive += 1
        optimizer = state.optimizer
        if self.consecutive > self.patience:
            raise FloatingPointError(
                f"{error}; gave up after {self.consecutive} non-finite steps in a row "
                f"(policy {self.policy}, learning rate {optimizer.learning_rate:.3g})"
            ) from error
        good = self._previous if self._previous.valid else self._current
        good.put_back(state.model, optimizer)
        if good is self._previous:
            # The restored state is now the newest good one: keep it as the next "previous".
            self._previous, self._current = self._current, self._previous
        action = "restored the state from before the last update and skipped the batch"
        if self.policy == "halve-lr":
            state.lr_scale *= 0.5
            optimizer.learning_rate *= 0.5
            action += f"; halved the learning rate to {optimizer.learning_rate:.3g}"
        self.events.append(
            {"epoch": state.epoch, "step": state.step, "error": str(error), "action": action}
        )
        return True

    def on_epoch_end(self, state: TrainingState) -> None:
        if not _all_finite(state.model):
            message = f"the parameters became NaN or infinite by the end of epoch {state.epoch}"
            self.on_nonfinite(state, FloatingPointError(message))

    def __repr__(self) -> str:
        return f"NonFinitePolicy(policy={self.policy!r}, patience={self.patience})"
