"""The schema of a checkpoint's header and arrays, checked before anything is restored.

A checkpoint is a file a user can edit or forge: every count must be a whole number in range,
every rate and scale finite and positive where it must be, every generator state one NumPy
accepts, the saved example order a permutation, the thread count within reason, and no array
may be there that nothing reads. A value that fails is one CheckpointError naming the file and
the entry; nothing is restored from a checkpoint that fails.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError

MAX_THREADS = 4096  # far above any machine's cores; a forged count must not size a thread pool
_FIX = "delete it to start the run afresh"
_STATE_BITS = {"PCG64": 128, "PCG64DXSM": 128}


def _whole(value: Any, low: int = 0, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, wants: str, value: Any) -> CheckpointError:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return CheckpointError(
            f"{self.path}: the checkpoint's {where} must be {wants}; received {shown}; {_FIX}"
        )

    def whole(self, where: str, value: Any, low: int = 0, high: float = math.inf) -> None:
        if not _whole(value, low, high):
            wants = f"an integer >= {low}" if high == math.inf else f"an integer {low}..{high}"
            raise self.fail(where, wants, value)

    def positive(self, where: str, value: Any) -> None:
        if not (_finite(value) and value > 0):
            raise self.fail(where, "a finite number > 0", value)

    def finite(self, where: str, value: Any, *, optional: bool = False) -> None:
        if not ((optional and value is None) or _finite(value)):
            raise self.fail(where, "a finite number", value)


def check_position(check: _Checker, position: dict[str, Any]) -> None:
    """epoch >= 1; step, global_step, correct, seen >= 0; loss_sum finite; lr_scale > 0."""
    check.whole("position 'epoch'", position.get("epoch"), 1)
    for key in ("step", "global_step", "correct", "seen"):
        check.whole(f"position {key!r}", position.get(key), 0)
    check.finite("position 'loss_sum'", position.get("loss_sum"))
    check.positive("position 'lr_scale'", position.get("lr_scale"))
    if not isinstance(position.get("finished"), bool):
        raise check.fail("position 'finished'", "true or false", position.get("finished"))
    for key in ("epochs", "steps_per_epoch"):
        if key in position:
            check.whole(f"position {key!r}", position[key], 1)
    epochs = position.get("epochs")
    if epochs is not None and position["epoch"] > epochs + 1:
        raise check.fail(
            "position 'epoch'", f"at most epochs + 1 ({epochs + 1})", position["epoch"]
        )
    if position.get("correct", 0) > position.get("seen", 0):
        raise check.fail("position 'correct'", "at most 'seen'", position.get("correct"))
    steps = position.get("steps_per_epoch")
    if steps is not None and position["step"] > steps:
        raise check.fail("position 'step'", f"at most steps_per_epoch ({steps})", position["step"])


def check_optimizer(check: _Checker, optimizer: dict[str, Any]) -> None:
    """type a string, learning_rate finite > 0, iterations a whole number."""
    if not isinstance(optimizer.get("type"), str):
        raise check.fail("optimizer 'type'", "an optimiser's name", optimizer.get("type"))
    check.positive("optimizer 'learning_rate'", optimizer.get("learning_rate"))
    check.whole("optimizer 'iterations'", optimizer.get("iterations"), 0)
    for key, value in optimizer.items():
        if key not in ("type", "learning_rate", "iterations"):
            raise check.fail(f"optimizer entry {key!r}", "absent (unknown)", value)


def check_generator(check: _Checker, name: str, state: Any) -> None:
    """A bit generator's state as NumPy writes it, which NumPy accepts back."""
    where = f"random generator {name!r}"
    if not isinstance(state, dict) or not isinstance(state.get("bit_generator"), str):
        raise check.fail(where, "a NumPy bit generator state", state)
    kind = state["bit_generator"]
    bit_generator = getattr(np.random, kind, None)
    if not isinstance(bit_generator, type) or not issubclass(bit_generator, np.random.BitGenerator):
        raise check.fail(f"{where} type", "a NumPy bit generator's name", kind)
    if kind in _STATE_BITS:
        inner = state.get("state")
        if not isinstance(inner, dict):
            raise check.fail(f"{where} state", "an object", inner)
        for key in ("state", "inc"):
            check.whole(f"{where} {key!r}", inner.get(key), 0, 2 ** _STATE_BITS[kind] - 1)
        check.whole(f"{where} 'has_uint32'", state.get("has_uint32"), 0, 1)
        check.whole(f"{where} 'uinteger'", state.get("uinteger"), 0, 2**32 - 1)
    try:
        bit_generator().state = state
    except (ValueError, TypeError, KeyError, OverflowError, IndexError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise check.fail(where, f"a state {kind} accepts ({detail})", state) from None


def check_extra(check: _Checker, extra: dict[str, Any]) -> None:
    """Run options: checkpoint_every >= 1, blas_threads 1..MAX_THREADS (or absent/None),
    adaptive_threads true or false."""
    if "checkpoint_every" in extra:
        check.whole("'checkpoint_every'", extra["checkpoint_every"], 1)
    if extra.get("blas_threads") is not None:
        check.whole("'blas_threads'", extra["blas_threads"], 1, MAX_THREADS)
    if "adaptive_threads" in extra and not isinstance(extra["adaptive_threads"], bool):
        raise check.fail("'adaptive_threads'", "true or false", extra["adaptive_threads"])


def check_callbacks(check: _Checker, callbacks: dict[str, Any]) -> None:
    """The scalar state of early stopping and the non-finite policy, in range."""
    for name, state in callbacks.items():
        if not isinstance(state, dict):
            raise check.fail(f"callback {name!r} state", "an object", state)
        for key in ("wait", "best_epoch", "stopped_epoch", "consecutive", "iterations"):
            if key in state:
                check.whole(f"callback {name!r} {key!r}", state[key], 0)
        if "best" in state:
            check.finite(f"callback {name!r} 'best'", state["best"], optional=True)
        if "events" in state and not isinstance(state["events"], list):
            raise check.fail(f"callback {name!r} 'events'", "a list", state["events"])


def check_history(check: _Checker, history: list[Any], epoch: int) -> None:
    """A row per finished epoch (at most epoch - 1 of them; a resumed run needs them all, which
    the run checks): epoch 1, 2, ... and numbers (null for a value not measured)."""
    if len(history) > epoch - 1:
        raise check.fail(
            "history", f"at most {epoch - 1} rows (one per finished epoch)", len(history)
        )
    for index, row in enumerate(history):
        if not isinstance(row, dict):
            raise check.fail(f"history row {index + 1}", "an object", row)
        if row.get("epoch") != index + 1:
            raise check.fail(f"history row {index + 1} 'epoch'", str(index + 1), row.get("epoch"))
        for key, value in row.items():
            if value is not None and not (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                raise check.fail(f"history row {index + 1} {key!r}", "a number", value)


def check_arrays(check: _Checker, arrays: dict[str, np.ndarray], callbacks: dict[str, Any]) -> None:
    """Known names only; finite floats; the example order a permutation of 0..n-1."""
    prefixes = ("model.layers.", "optimizer.state.") + tuple(
        f"callbacks.{name}." for name in callbacks
    )
    for name, value in arrays.items():
        if name != "position.order" and not name.startswith(prefixes):
            raise CheckpointError(
                f"{check.path}: the checkpoint holds an array nothing reads ({name!r}); it was "
                f"altered or is not a scratchnet checkpoint; {_FIX}"
            )
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise CheckpointError(f"{check.path}: array {name!r} holds NaN or infinite values")
        if value.dtype.kind not in "biuf":
            raise CheckpointError(
                f"{check.path}: array {name!r} has unsupported dtype {value.dtype}"
            )
    order = arrays.get("position.order")
    if order is not None:
        if order.ndim != 1 or order.dtype.kind not in "iu":
            raise CheckpointError(f"{check.path}: the saved example order is not a list of indices")
        if not np.array_equal(np.sort(order), np.arange(order.size)):
            raise CheckpointError(
                f"{check.path}: the saved example order is not a permutation of 0..{order.size - 1}"
                f"; {_FIX}"
            )


def check_checkpoint(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Every entry of a checkpoint's header and every array, against what save_checkpoint
    writes; CheckpointError at the first that does not fit."""
    check = _Checker(path)
    check_position(check, header["position"])
    check_optimizer(check, header["optimizer"])
    for name, state in header["generators"].items():
        check_generator(check, name, state)
    check_extra(check, header["extra"])
    check_callbacks(check, header["callbacks"])
    check_history(check, header["history"], header["position"]["epoch"])
    check_arrays(check, arrays, header["callbacks"])
