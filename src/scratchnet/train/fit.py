"""The training loop: shuffled mini-batches, forward, loss, backward, optimiser step.

fit() returns a History and never prints; progress, schedules and the like are callbacks.
A non-finite loss stops training with a FloatingPointError that names the epoch and step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from ..data.batches import MiniBatches
from .callbacks import Callback, TrainingState
from .history import History


def _check_epochs(epochs: object) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; received epochs={epochs!r}")
    return int(epochs)


def _check_pair(name: str, pair, model) -> tuple[np.ndarray, np.ndarray]:
    try:
        x, labels = pair
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (x, labels)") from exc
    x = model.check_input(x)
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
    return {"loss": total_loss / x.shape[0], "accuracy": correct / x.shape[0]}


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
) -> History:
    """Train `model` on `train` = (x, labels) with mini-batch gradient descent.

    x: (n, n_in) features; labels: (n,) integers in [0, n_out).
    Each epoch visits every example once in a new random order (from `rng`, or
    np.random.default_rng(seed)); shuffle=False keeps the data's order. After each epoch the
    History gets the running training loss and accuracy and, with `validation`, val_loss and
    val_accuracy.

    `augment`, if given, maps each training batch of features to a new one (for example a
    scratchnet.data.augment.Augmenter); validation data are never augmented.

    Raises FloatingPointError, naming epoch and step, when the loss becomes NaN or infinite.
    """
    epochs = _check_epochs(epochs)
    x, labels = _check_pair("train", train, model)
    if validation is not None:
        validation = _check_pair("validation", validation, model)
        if validation[0].shape[0] == 0:
            validation = None
    if shuffle and rng is None:
        if seed is None:
            raise ValueError("fit needs rng=np.random.default_rng(SEED) or seed=SEED to shuffle")
        rng = np.random.default_rng(seed)
    batches = MiniBatches(x, labels, batch_size, rng=rng if shuffle else None, transform=augment)
    history = History()
    state = TrainingState(
        model, loss, optimizer, epochs, len(batches), history, validation=validation
    )
    for callback in callbacks:
        callback.on_train_begin(state)
    # Overflow is caught by the finite-loss check below, with a better message than a warning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, epochs + 1):
            state.epoch, state.logs = epoch, {}
            for callback in callbacks:
                callback.on_epoch_begin(state)
            started = time.perf_counter()
            loss_sum, correct, seen = 0.0, 0, 0
            for step, (x_batch, label_batch) in enumerate(batches.epoch(), start=1):
                state.step = step
                for callback in callbacks:
                    callback.on_batch_begin(state)
                logits = model.forward(x_batch, training=True)
                correct += int(np.count_nonzero(logits.argmax(axis=1) == label_batch))
                value, grad = loss(logits, label_batch)
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch}, step {step}: training "
                        "diverged; lower the learning rate or check the input for NaN/Inf"
                    )
                model.backward(grad)
                optimizer.step(model)
                n = label_batch.shape[0]
                loss_sum += value * n if loss.reduction == "mean" else value
                seen += n
                state.global_step += 1
                state.batch_loss = value if loss.reduction == "mean" else value / n
                for callback in callbacks:
                    callback.on_batch_end(state)
                if state.stop_training:
                    break
            row = {
                "epoch": epoch,
                "loss": loss_sum / seen,
                "accuracy": correct / seen,
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
