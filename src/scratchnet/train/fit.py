"""The training loop: shuffled mini-batches, forward, loss, backward, optimiser step.

fit() returns a History and never prints; progress, schedules and the like are callbacks.
A non-finite loss stops training with a FloatingPointError that names the epoch and step,
unless a callback repairs the model (on_nonfinite). fit(start=ResumePoint(...)) continues a
checkpointed run exactly where it stopped, even part-way through an epoch (checkpoint.py saves
and restores everything else).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..data.batches import MiniBatches, check_batch_size, check_scale
from ..nn import blas
from .callbacks import Callback, TrainingState
from .history import History, Scores


@dataclasses.dataclass
class ResumePoint:
    """Where a run stood when it was checkpointed; fit(start=...) continues from there.

    The caller restores the model's parameters and buffers, the optimiser's state and every
    random generator (shuffling, augmentation, dropout) before calling fit: this holds only
    the loop's own position.

    epoch: the epoch to run next or to finish (1-based); step: batches of it already done
    (0: it starts afresh); global_step: steps completed since the start; history: the rows of
    the epochs already finished; order: the epoch's example order (needed when step > 0 and
    shuffling); loss_sum, correct, seen: the epoch's running sums so far; lr_scale: the factor
    on the schedule's rates; finished: the run had ended (all epochs, or stopped early).
    """

    epoch: int = 1
    step: int = 0
    global_step: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    order: np.ndarray | None = None
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    lr_scale: float = 1.0
    finished: bool = False


def _check_start(start: ResumePoint, epochs: int, steps_per_epoch: int, shuffle: bool) -> None:
    if not isinstance(start, ResumePoint):
        raise ValueError(f"start must be a ResumePoint; received start={start!r}")
    if not 1 <= start.epoch <= epochs + 1:
        raise ValueError(
            f"start.epoch must be in [1, {epochs + 1}] for a run of {epochs} epochs; received "
            f"{start.epoch!r}"
        )
    if not 0 <= start.step <= steps_per_epoch:
        raise ValueError(
            f"start.step must be in [0, {steps_per_epoch}] (batches per epoch); received "
            f"{start.step!r}; was the checkpoint made with another data set or batch size?"
        )
    if len(start.history) != start.epoch - 1:
        raise ValueError(
            f"start.history must hold the {start.epoch - 1} finished epochs; received "
            f"{len(start.history)} rows"
        )
    if start.step and shuffle and start.order is None:
        raise ValueError("start.order is needed to resume a shuffled epoch part-way")


def _nonfinite(
    callbacks: Sequence[Callback], state: TrainingState, error: FloatingPointError
) -> None:
    """Let a callback repair a non-finite step (the batch is then skipped), or raise `error`."""
    for callback in callbacks:
        if callback.on_nonfinite(state, error):
            return
    raise error


def _stepped(model, optimizer, grad, callbacks, state: TrainingState) -> bool:
    """Backward and update; False if the update was refused for non-finite gradients.

    A plain SGD step is folded into the backward products (Optimizer.fused_coefficients) unless
    a callback reads this step's gradients; nothing else changes but float rounding.
    """
    update = _fused_update(optimizer, callbacks, state)
    if update is None:
        model.backward(grad)
        step = functools.partial(optimizer.step, model)
    else:
        step = functools.partial(optimizer.step, model, applied=model.backward(grad, update=update))
    try:
        step()
    except FloatingPointError as exc:
        error = FloatingPointError(f"epoch {state.epoch}, step {state.step}: {exc}")
        error.__cause__ = exc
        _nonfinite(callbacks, state, error)
        return False
    return True


def _fused_update(optimizer, callbacks, state: TrainingState) -> tuple[float, float] | None:
    """The optimiser's fused (alpha, beta) for this step, or None: not a plain SGD step, fusing
    turned off (nn/blas.py), or a callback reads this step's gradients."""
    coefficients = getattr(optimizer, "fused_coefficients", None)
    if coefficients is None or not blas.available():
        return None
    update = coefficients()
    if update is None or any(callback.needs_gradients(state) for callback in callbacks):
        return None
    return update


def _check_epochs(epochs: object) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; received epochs={epochs!r}")
    return int(epochs)


_UNUSED = object()  # evaluate() has no optimiser to check


def _check_parts(model, loss, optimizer=_UNUSED, callbacks: Sequence = ()) -> None:
    """The objects fit() is given must be what it expects: a clear TypeError at the call."""
    for name, value, needs, expected in (
        ("model", model, ("forward", "backward", "check_input", "parameters"), "a Sequential"),
        ("loss", loss, ("value", "reduction"), "a Loss such as SoftmaxCrossEntropy()"),
        ("optimizer", optimizer, ("step", "learning_rate"), "an Optimizer such as SGD(0.1)"),
    ):
        if value is _UNUSED:
            continue
        if not all(hasattr(value, attribute) for attribute in needs):
            raise TypeError(f"{name} must be {expected}; received {value!r}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks must be scratchnet.train.Callback instances; received {callback!r}"
            )


def _check_pair(
    name: str, pair, model, scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    try:
        x, labels = pair
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (x, labels)") from exc
    try:
        if scale is None:
            x = model.check_input(x)
        else:
            # Integer pixels, scaled batch by batch: the shape is checked here, the dtype by
            # check_scale (integers are always finite).
            x = np.asarray(x)
            if x.ndim != 2 or x.shape[1] != model.n_in:
                raise ValueError(
                    f"expected features of shape (batch, {model.n_in}); received shape {x.shape}"
                )
            check_scale(scale, x.dtype)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != x.shape[0]:
        raise ValueError(
            f"{name}: labels must have shape ({x.shape[0]},) to match x; received {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name}: labels must be integers; received dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= model.n_out):
        raise ValueError(
            f"{name}: labels must be in [0, {model.n_out}) for a network with {model.n_out} "
            f"outputs; received values from {labels.min()} to {labels.max()}"
        )
    return x, labels.astype(np.int64, copy=False)


def evaluate(model, loss, x: np.ndarray, labels: np.ndarray, *, batch_size: int = 2048) -> dict:
    """Mean loss and accuracy of `model` on (x, labels), computed in large batches."""
    _check_parts(model, loss)
    batch_size = check_batch_size(batch_size)
    x, labels = _check_pair("evaluate", (x, labels), model)
    if x.shape[0] == 0:
        raise ValueError("cannot evaluate on an empty set (0 examples)")
    total_loss, correct = 0.0, 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, x.shape[0], batch_size):
            logits = model.forward(x[start : start + batch_size])
            batch_labels = labels[start : start + batch_size]
            value = loss.value(logits, batch_labels)
            total_loss += value if loss.reduction == "sum" else value * batch_labels.shape[0]
            correct += int(np.count_nonzero(logits.argmax(axis=1) == batch_labels))
    return Scores(loss=total_loss / x.shape[0], accuracy=correct / x.shape[0])


def fit(
    model,
    loss,
    optimizer,
    train: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[Callback] = (),
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    shuffle: bool = True,
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
    start: ResumePoint | None = None,
    gather: str = "serial",
    x_scale: float | None = None,
) -> History:
    """Train `model` on `train` = (x, labels) with mini-batch gradient descent.

    x: (n, n_in) features; labels: (n,) integers in [0, n_out).
    Each epoch visits every example once in a new random order (from `rng`, or
    np.random.default_rng(seed)); shuffle=False keeps the data's order. After each epoch the
    History gets the running training loss and accuracy and, with `validation`, val_loss and
    val_accuracy.

    `augment`, if given, maps each training batch of features to a new one (for example a
    scratchnet.data.augment.Augmenter); validation data are never augmented.

    `gather`: 'serial' (default) copies each chunk of shuffled batches in this thread; 'ahead'
    copies the next chunk in a background thread while training (see
    scratchnet.data.batches.MiniBatches for when that pays). The results are the same.

    `x_scale`: the training x holds integers (8-bit images flattened to (n, 784), say) that are
    kept as they are; each batch is x_rows * x_scale in the model's dtype, bit for bit
    images_to_features(images) for x_scale=1/255, so the run is the same as on the float
    features, with 4x less memory for the training set and faster shuffled batches. The
    validation pair is given as floats, as always.

    `start` continues a checkpointed run (see ResumePoint and scratchnet.train.checkpoint):
    with the same data, settings and restored state, the weights come out bitwise the same as
    if the run had never stopped.

    Raises FloatingPointError, naming epoch and step, when the loss becomes NaN or infinite,
    unless a callback's on_nonfinite repairs the model (the batch is then skipped).
    """
    epochs = _check_epochs(epochs)
    callbacks = list(callbacks)
    _check_parts(model, loss, optimizer, callbacks)
    x, labels = _check_pair("train", train, model, x_scale)
    if validation is not None:
        validation = _check_pair("validation", validation, model)
        if validation[0].shape[0] == 0:
            validation = None
    if shuffle and rng is None:
        if seed is None:
            raise ValueError("fit needs rng=np.random.default_rng(SEED) or seed=SEED to shuffle")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0; received seed={seed!r}")
        rng = np.random.default_rng(seed)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; received rng={rng!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a callable x_batch -> x_batch; received {augment!r}")
    batches = MiniBatches(
        x,
        labels,
        batch_size,
        rng=rng if shuffle else None,
        transform=augment,
        gather=gather,
        scale=x_scale,
        dtype=model.dtype,
    )
    history = History()
    state = TrainingState(
        model, loss, optimizer, epochs, len(batches), history, validation=validation
    )
    first_epoch = 1
    if start is not None:
        _check_start(start, epochs, len(batches), shuffle)
        for row in start.history:
            history.append(row)
        first_epoch = epochs + 1 if start.finished else start.epoch
        state.resumed, state.global_step, state.lr_scale = True, start.global_step, start.lr_scale
    for callback in callbacks:
        callback.on_train_begin(state)
    # Overflow is caught by the finite-loss check below, with a better message than a warning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(first_epoch, epochs + 1):
            state.epoch, state.logs = epoch, {}
            for callback in callbacks:
                callback.on_epoch_begin(state)
            started = time.perf_counter()
            first_step = 0
            if start is not None and epoch == start.epoch and start.step:
                first_step = start.step  # part-way through: the saved order and sums
                state.order = start.order if shuffle else None
                state.loss_sum, state.correct, state.seen = (
                    start.loss_sum,
                    start.correct,
                    start.seen,
                )
            else:
                state.order = batches.order() if shuffle else None
                state.loss_sum, state.correct, state.seen = 0.0, 0, 0
            steps = batches.epoch(state.order, start=first_step)
            for step, (x_batch, label_batch) in enumerate(steps, start=first_step + 1):
                state.step = step
                for callback in callbacks:
                    callback.on_batch_begin(state)
                logits = model.forward(x_batch, training=True)
                correct = int(np.count_nonzero(logits.argmax(axis=1) == label_batch))
                value, grad = loss(logits, label_batch)
                if not math.isfinite(value):
                    message = (
                        f"the loss became {value} at epoch {epoch}, step {step}: training "
                        "diverged; lower the learning rate or check the input for NaN/Inf"
                    )
                    _nonfinite(callbacks, state, FloatingPointError(message))
                elif _stepped(model, optimizer, grad, callbacks, state):
                    n = label_batch.shape[0]
                    state.loss_sum += value * n if loss.reduction == "mean" else value
                    state.correct += correct
                    state.seen += n
                    state.global_step += 1
                    state.batch_loss = value if loss.reduction == "mean" else value / n
                    for callback in callbacks:
                        callback.on_batch_end(state)
                if state.stop_training:
                    break
            seen = state.seen
            row = {
                "epoch": epoch,
                "loss": state.loss_sum / seen if seen else math.nan,
                "accuracy": state.correct / seen if seen else math.nan,
            }
            if validation is not None:
                scores = evaluate(model, loss, *validation)
                row["val_loss"], row["val_accuracy"] = scores["loss"], scores["accuracy"]
            row["learning_rate"] = optimizer.learning_rate
            row["seconds"] = time.perf_counter() - started
            state.logs = row
            history.append(row)
            for callback in callbacks:
                callback.on_epoch_end(state)
            if state.stop_training:
                break
    for callback in callbacks:
        callback.on_train_end(state)
    return history
