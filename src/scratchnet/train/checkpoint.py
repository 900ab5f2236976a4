"""Checkpoints: everything a training run needs to continue exactly where it stopped.

One .npz, written atomically (a temporary name, then a rename) and read back without pickle:
the model's parameters and buffers, the optimiser's state, every random generator's state
(shuffling, augmentation, each Dropout layer's), the loop's position (epoch, step, the epoch's
example order and running sums), the History so far, the state of the callbacks that keep some
(early stopping, the non-finite policy) and the run's configuration. Generator states are JSON
text (numpy's bit_generator.state), never pickled objects.

It does not hold the data (the configuration names them) nor decide when to stop: a StopRequest,
set from outside (the command line's signal handler), asks the Checkpoint callback to save and
raise TrainingInterrupted at the next step boundary.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..fileio import atomic_write, remove_stale_parts
from ..nn import autotune
from ..nn.io import read_npz
from .callbacks import Callback, TrainingState
from .checkpoint_check import check_checkpoint
from .fit import ResumePoint

FORMAT_NAME = "scratchnet-checkpoint"
FORMAT_VERSION = 1
_HEADER_KEY = "__checkpoint__"
_FIX = "delete it to start the run afresh"


class StopRequest:
    """A flag that asks a running fit() to save a checkpoint and stop at the next step's end.

    Setting it is safe from a signal handler (one attribute assignment). `reason` says why
    (a signal's name, say), and is None until request() is called.
    """

    def __init__(self) -> None:
        self.reason: str | None = None

    def request(self, reason: str = "stop requested") -> None:
        self.reason = reason

    def __bool__(self) -> bool:
        return self.reason is not None

    def __repr__(self) -> str:
        return f"StopRequest(reason={self.reason!r})"


class TrainingInterrupted(Exception):
    """Training stopped on a StopRequest after its state was saved to `path`."""

    def __init__(self, path: Path, reason: str, epoch: int, step: int) -> None:
        where = f"epoch {epoch}, step {step}" if step else f"the start of epoch {epoch}"
        super().__init__(f"training stopped ({reason}) at {where}; checkpoint saved to {path}")
        self.path, self.reason, self.epoch, self.step = path, reason, epoch, step


def _generators(model, generators: Mapping[str, np.random.Generator]) -> dict[str, Any]:
    """The given generators and every layer's own one ("layers.<index>"), by name."""
    found = dict(generators)
    for index, layer in enumerate(model.layers):
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator):
            found[f"layers.{index}"] = rng
    return found


def _model_arrays(model) -> dict[str, np.ndarray]:
    return {
        f"layers.{index}.{name}": array
        for index, layer in enumerate(model.layers)
        for name, array in (*layer.params.items(), *layer.buffers.items())
    }


def _layer_array(model, index: int, kind: str, name: str) -> np.ndarray | None:
    """Layer `index`'s parameter or buffer `name` (kind 'params' or 'buffers'), or None."""
    if index >= len(model.layers) or kind not in ("params", "buffers"):
        return None
    return getattr(model.layers[index], kind).get(name)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {value!r}")


def _split(prefix: str, state: Mapping[str, Any], arrays: dict[str, np.ndarray]) -> dict:
    """Arrays of a state dict go to `arrays` under prefix + key; the rest is returned (JSON)."""
    plain = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            arrays[prefix + key] = value
        else:
            plain[key] = value
    return plain


def save_checkpoint(
    path: str | os.PathLike,
    state: TrainingState,
    *,
    at_epoch_end: bool,
    generators: Mapping[str, np.random.Generator] = {},  # noqa: B006 - read only
    stateful: Mapping[str, Any] = {},  # noqa: B006 - read only
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the run's state as it stands in `state` to `path`, atomically.

    at_epoch_end: the epoch state.epoch has finished (its History row is in); otherwise the
    checkpoint is taken after step state.step of it. `generators` names the generators beyond
    the layers' own (shuffling, augmentation); `stateful` the objects with state_dict() to carry
    (callbacks). Raises FloatingPointError, writing nothing, if the parameters or optimiser
    state hold NaN or infinite values: a previous, good checkpoint is never overwritten.
    """
    path = Path(path)
    model, optimizer = state.model, state.optimizer
    arrays: dict[str, np.ndarray] = {}
    for key, array in _model_arrays(model).items():
        arrays["model." + key] = array
    optimizer_state = _split("optimizer.", optimizer.state_dict(), arrays)
    for key, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise FloatingPointError(
                f"{key} holds NaN or infinite values at epoch {state.epoch}, step {state.step}: "
                f"training diverged; the checkpoint {path} was not overwritten"
            )
    if at_epoch_end:
        finished = state.stop_training or state.epoch >= state.epochs
        position = {"epoch": state.epoch + 1, "step": 0, "loss_sum": 0.0, "correct": 0, "seen": 0}
    else:
        finished = False
        position = {
            "epoch": state.epoch,
            "step": state.step,
            "loss_sum": state.loss_sum,
            "correct": state.correct,
            "seen": state.seen,
        }
        if state.order is not None:
            arrays["position.order"] = np.asarray(state.order, dtype=np.int64)
    position.update(
        global_step=state.global_step,
        lr_scale=state.lr_scale,
        finished=bool(finished),
        epochs=state.epochs,
        steps_per_epoch=state.steps_per_epoch,
    )
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": dict(config or {}),
        "extra": dict(extra or {}),
        "position": position,
        "history": state.history.rows,
        # The matrix layouts the layers chose (nn/autotune.py): a resumed run keeps them, so
        # that its products sum in the same order and the weights stay bitwise.
        "layouts": autotune.layouts(model),
        "optimizer": {"type": type(optimizer).__name__, **optimizer_state},
        "generators": {
            name: rng.bit_generator.state for name, rng in _generators(model, generators).items()
        },
        "callbacks": {
            name: _split(f"callbacks.{name}.", obj.state_dict(), arrays)
            for name, obj in stateful.items()
        },
    }
    arrays[_HEADER_KEY] = np.array(json.dumps(header, default=_json_default))
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)
    remove_stale_parts(path)
    return path


@dataclasses.dataclass
class SavedCheckpoint:
    """A checkpoint read back by load_checkpoint: restore() puts it into a rebuilt run."""

    path: Path
    config: dict[str, Any]
    extra: dict[str, Any]
    position: dict[str, Any]
    history: list[dict[str, Any]]
    optimizer: dict[str, Any]
    generators: dict[str, Any]
    callbacks: dict[str, dict[str, Any]]
    arrays: dict[str, np.ndarray] = dataclasses.field(repr=False)
    layouts: list | None = None  # each layer's matrix layout (nn/autotune.py); None: not saved

    @property
    def epoch(self) -> int:
        return int(self.position["epoch"])

    @property
    def step(self) -> int:
        return int(self.position["step"])

    @property
    def finished(self) -> bool:
        return bool(self.position["finished"])

    def describe(self) -> str:
        """Where the run stood, in words: 'after epoch 2 of 5', 'epoch 3, step 40 of 430'."""
        epochs = self.position.get("epochs", "?")
        if self.finished:
            return f"finished, after epoch {self.epoch - 1} of {epochs}"
        if self.step:
            steps = self.position.get("steps_per_epoch", "?")
            return f"epoch {self.epoch} of {epochs}, step {self.step} of {steps}"
        return f"after epoch {self.epoch - 1} of {epochs}"

    def _fail(self, message: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {message}")

    def _check_callback_arrays(self, model, shapes) -> None:
        """The callbacks' saved copies of weights (early stopping's best, the non-finite
        policy's snapshot) must fit this network, or they would fail mid-training."""
        for key, value in self.arrays.items():
            if not key.startswith("callbacks."):
                continue
            parts = key.split(".")[2:]  # callbacks.<name>.<what...>
            wanted = None
            if len(parts) >= 4 and parts[0] == "weights" and parts[1].isdigit():
                wanted = _layer_array(model, int(parts[1]), parts[2], ".".join(parts[3:]))
            elif len(parts) >= 5 and parts[:2] == ["snapshot", "model"] and parts[2].isdigit():
                wanted = _layer_array(model, int(parts[2]), parts[3], ".".join(parts[4:]))
            elif len(parts) >= 5 and parts[:2] == ["snapshot", "optimizer"] and parts[2].isdigit():
                shape = shapes.get((int(parts[2]), ".".join(parts[3:-1])))
                wanted = None if shape is None else np.empty(shape)
            if wanted is None or wanted.shape != value.shape:
                raise self._fail(f"the callback state {key!r} does not fit the network; {_FIX}")

    def resume_point(self) -> ResumePoint:
        order = self.arrays.get("position.order")
        return ResumePoint(
            epoch=self.epoch,
            step=self.step,
            global_step=int(self.position["global_step"]),
            history=[dict(row) for row in self.history],
            order=None if order is None else order.astype(np.intp),
            loss_sum=float(self.position["loss_sum"]),
            correct=int(self.position["correct"]),
            seen=int(self.position["seen"]),
            lr_scale=float(self.position["lr_scale"]),
            finished=self.finished,
        )

    def restore(
        self,
        model,
        optimizer,
        *,
        generators: Mapping[str, np.random.Generator] = {},  # noqa: B006 - read only
        stateful: Mapping[str, Any] = {},  # noqa: B006 - read only
    ) -> ResumePoint:
        """Put the saved state into a freshly built run and return where fit() resumes.

        The model, optimiser, generators and stateful objects must be those the run was built
        with (same architecture, optimiser type and names); anything that does not fit raises
        CheckpointError before fit() starts.
        """
        saved = {k[len("model.") :]: v for k, v in self.arrays.items() if k.startswith("model.")}
        if self.layouts is not None and len(self.layouts) == len(model.layers):
            autotune.apply(model, self.layouts)
        current = _model_arrays(model)
        if set(saved) != set(current):
            missing = sorted(set(current) - set(saved))
            unexpected = sorted(set(saved) - set(current))
            raise self._fail(
                f"the checkpoint's network does not match this run's (missing {missing}, "
                f"unexpected {unexpected})"
            )
        for key, array in current.items():
            value = saved[key]
            if value.shape != array.shape or value.dtype != array.dtype:
                raise self._fail(
                    f"array {key!r} is {value.dtype}{list(value.shape)}; this run's network "
                    f"needs {array.dtype}{list(array.shape)}"
                )
        shapes = {(index, name): param.shape for index, name, param, _ in model.parameters()}
        state_dict: dict[str, Any] = dict(self.optimizer)
        kind = state_dict.pop("type", None)
        if kind != type(optimizer).__name__:
            raise self._fail(
                f"the checkpoint holds {kind} state; this run uses {type(optimizer).__name__}"
            )
        for key, value in self.arrays.items():
            if key.startswith("optimizer."):
                name = key[len("optimizer.") :]
                parts = name.split(".")
                ok = len(parts) >= 4 and parts[1].isdigit()
                where = (int(parts[1]), ".".join(parts[2:-1])) if ok else None
                if shapes.get(where) != value.shape:
                    raise self._fail(f"optimiser state {name!r} does not fit the network")
                state_dict[name] = value
        self._check_callback_arrays(model, shapes)
        wanted = _generators(model, generators)
        if set(wanted) != set(self.generators):
            raise self._fail(
                f"the checkpoint has random generators {sorted(self.generators)}; this run has "
                f"{sorted(wanted)}"
            )
        if set(stateful) - set(self.callbacks):
            raise self._fail(f"the checkpoint holds no state for {sorted(stateful)}")
        try:
            optimizer.load_state_dict(state_dict)
            for name, rng in wanted.items():
                rng.bit_generator.state = self.generators[name]
            for name, obj in stateful.items():
                prefix = f"callbacks.{name}."
                obj_state = dict(self.callbacks[name])
                for key, value in self.arrays.items():
                    if key.startswith(prefix):
                        obj_state[key[len(prefix) :]] = value
                obj.load_state_dict(obj_state)
        except (ValueError, TypeError, KeyError) as exc:
            detail = str(exc).replace("\n", "\\n")
            raise self._fail(f"cannot restore the run ({detail})") from exc
        for key, array in current.items():
            np.copyto(array, saved[key])
        return self.resume_point()


_HEADER_TYPES = {
    "config": dict,
    "extra": dict,
    "position": dict,
    "history": list,
    "optimizer": dict,
    "generators": dict,
    "callbacks": dict,
}


def load_checkpoint(path: str | os.PathLike) -> SavedCheckpoint:
    """Read a checkpoint written by save_checkpoint (or the Checkpoint callback).

    Raises CheckpointError (one line naming the file) for a missing, corrupt, truncated,
    wrong-version or pickle-bearing file. Stale `.part` files beside it are ignored.
    """
    path = Path(path)
    arrays = read_npz(
        path, error=CheckpointError, what="checkpoint", fix=_FIX, title="scratchnet checkpoint"
    )
    raw = arrays.pop(_HEADER_KEY, None)
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise CheckpointError(f"{path}: not a scratchnet checkpoint (no {_HEADER_KEY} entry)")
    try:
        header = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path}: the checkpoint's header is corrupt ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a scratchnet checkpoint (format is not {FORMAT_NAME})")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} is not supported (this scratchnet "
            f"reads version {FORMAT_VERSION}); {_FIX}"
        )
    for key, kind in _HEADER_TYPES.items():
        if not isinstance(header.get(key), kind):
            raise CheckpointError(f"{path}: the checkpoint's {key!r} entry is missing or invalid")
    check_checkpoint(path, header, arrays)
    position = header["position"]
    return SavedCheckpoint(
        path=path,
        config=header["config"],
        extra=header["extra"],
        position=position,
        history=header["history"],
        optimizer=header["optimizer"],
        generators=header["generators"],
        callbacks=header["callbacks"],
        arrays=arrays,
        layouts=_layouts(path, header.get("layouts")),
    )


def _layouts(path: Path, codes: Any) -> list | None:
    """The header's layouts entry, checked: None (an older checkpoint) or codes like 'CCC'."""
    if codes is None:
        return None
    try:
        return [None if code is None else autotune.Layout.parse(code).code for code in codes]
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the checkpoint's 'layouts' entry is invalid ({exc})"
        ) from exc


class Checkpoint(Callback):
    """Save the run every `every` epochs (and after the last), and stop when asked to.

    Put it last among the callbacks, so that the state it saves includes what the others did
    at the epoch's end. With a `stop` request set, the next step's end writes a checkpoint
    there (mid-epoch: the example order and running sums go with it) and raises
    TrainingInterrupted; fit(start=...) later continues bitwise where it stopped.

    Parameters
    ----------
    path : str or PathLike
        The checkpoint file (.npz), replaced atomically each time.
    every : int, default 1
        Epochs between checkpoints, >= 1. The last epoch is always saved.
    generators : dict of name -> np.random.Generator
        The generators beyond the layers' own (found by themselves): the shuffling one, the
        augmenter's...
    stateful : dict of name -> object with state_dict() and load_state_dict()
        Callbacks whose state must survive (EarlyStopping, NonFinitePolicy).
    config, extra : JSON-able dicts saved alongside (the run's TrainConfig, run options).
    stop : StopRequest, optional
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        every: int = 1,
        generators: Mapping[str, np.random.Generator] | None = None,
        stateful: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
            raise ValueError(f"every must be a positive integer; received every={every!r}")
        self.path = Path(path)
        self.every = int(every)
        self.generators = dict(generators or {})
        self.stateful = dict(stateful or {})
        self.config = config
        self.extra = extra
        self.stop = stop
        self.saved: list[tuple[int, int]] = []  # (epoch, step) of each checkpoint written

    def _save(self, state: TrainingState, *, at_epoch_end: bool) -> None:
        save_checkpoint(
            self.path,
            state,
            at_epoch_end=at_epoch_end,
            generators=self.generators,
            stateful=self.stateful,
            config=self.config,
            extra=self.extra,
        )
        self.saved.append((state.epoch, 0 if at_epoch_end else state.step))

    def _interrupt(self, epoch: int, step: int) -> TrainingInterrupted:
        return TrainingInterrupted(self.path, self.stop.reason or "stop requested", epoch, step)

    def on_train_begin(self, state: TrainingState) -> None:
        if self.stop:  # asked before the first step: save the starting point
            if not state.resumed:
                self._save(state, at_epoch_end=True)
            raise self._interrupt(max(state.epoch, 1), 0)

    def needs_gradients(self, state: TrainingState) -> bool:
        return False  # a checkpoint holds parameters and optimiser state

    def on_batch_end(self, state: TrainingState) -> None:
        if self.stop:
            self._save(state, at_epoch_end=False)
            raise self._interrupt(state.epoch, state.step)

    def on_epoch_end(self, state: TrainingState) -> None:
        finished = state.stop_training or state.epoch >= state.epochs
        if finished or self.stop or state.epoch % self.every == 0:
            self._save(state, at_epoch_end=True)
        if self.stop and not finished:
            raise self._interrupt(state.epoch + 1, 0)

    def __repr__(self) -> str:
        return f"Checkpoint(path={str(self.path)!r}, every={self.every})"
