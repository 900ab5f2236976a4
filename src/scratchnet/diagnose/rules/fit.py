"""Faults of the fit: regularisation so strong that the network cannot fit its training
data, a network too narrow for the classes (underfitting), and overfitting (training far above
validation while the validation loss rises). They read fit's per-epoch history besides the
probe records."""

from __future__ import annotations

import math

from ..findings import Finding, settings_to_args
from ..numbers import fmt, is_number, layer_range, median, ratio
from .common import hidden, layers, setting

#: Weights that end below half their initial size: the decay, not the data, shapes them
#: (learning adds structure to random weights; it does not erase it).
SHRUNK = 0.5
#: An L2 pull at least a quarter of the data gradient (healthy L2 on MNIST: 0.01-0.03, 10x
#: below), while the training accuracy stays under 95%: the penalty decides the weights.
PULL, FITTED = 0.25, 0.95
#: Dropout holds training back when the error with dropout on is more than twice the
#: validation error without it and at least 5 points above it.
DROPOUT_ERROR_FACTOR, DROPOUT_GAP = 2.0, 0.05
#: Overfitting: a generalisation gap, training accuracy at least 5 points above validation (a
#: healthy run on MNIST keeps them within 1-3 points), while the validation loss has risen
#: from its minimum (by more than 1%) and the training loss still falls.
VAL_RISE, ACC_GAP = 1.01, 0.05
#: The fix: patience in epochs, and the usual L2 for SGD on MNIST.
PATIENCE, L2 = 3, 5e-4
#: A sensible width for a repaired bottleneck layer.
WIDTH = 128


def _last(history, key):
    values = [row.get(key) for row in history if is_number(row.get(key))]
    return values[-1] if values else None


def decay_pull(records, decay: float) -> float | None:
    """How hard an L2 penalty pulls against the data: lambda * ||w|| over the data gradient's
    norm ||g|| per layer (median over layers), median over the second half of the run.

    L2 adds lambda * w to the gradient whatever the optimiser does with it, so training settles
    where the data gradient balances it (g = -lambda * w): a pull near 1 means the weights sit
    where the penalty stops them, not where the data would take them."""
    pulls = []
    for record in records[1:]:
        values = []
        for entry in layers(record):
            rms, grad = entry.get("weight_rms"), entry.get("grad_norm")
            size = entry.get("n_in", 0) * entry.get("n_out", 0) if is_number(
                entry.get("n_in")) and is_number(entry.get("n_out")) else None
            if is_number(rms) and size:
                values.append(ratio(decay * rms * math.sqrt(size), grad))
        pulls.append(median(values))
    late = [p for p in pulls[len(pulls) // 2:] if is_number(p)]
    return median(late)


def weight_decay_too_strong(records, context) -> Finding | None:
    """Regularisation too strong: the network is held below what it can fit. Seen as weights
    the decay shrank below half their initial size (any optimiser), or, for L2 folded into the
    gradient (SGD, RMSprop, Adam: an adaptive step rescales the shrink test away), a penalty
    that pulls as hard as the data while the training accuracy stays short of fitted."""
    if context.explained(3):
        return None
    decay = setting(context, "weight_decay", 0.0)
    if not is_number(decay) or decay <= 0 or len(records) < 2:
        return None
    if any(f.kind == "batch_lr_mismatch" for f in context.found):
        return None  # a tiny batch multiplies the decay's steps: that finding names the batch
    start, end = layers(records[0]), layers(records[-1])
    if len(start) != len(end):
        return None
    shrink = median(
        ratio(b.get("weight_rms"), a.get("weight_rms"))
        for a, b in zip(start, end, strict=True)
    )
    coupled = setting(context, "optimizer", "sgd") != "adamw"
    pull = decay_pull(records, decay) if coupled else None
    train_acc = _last(context.history, "accuracy")
    held = (pull is not None and pull >= PULL
            and (train_acc is None or train_acc < FITTED))
    if not ((shrink is not None and shrink < SHRUNK) or held):
        return None
    new = min(5e-4, decay / 100)
    evidence = []
    if shrink is not None and shrink < SHRUNK:
        evidence.append(f"the weights ended at {fmt(shrink)} of their initial size (median over "
                        "layers; healthy training keeps or grows them)")
    if held:
        evidence.append(
            f"the penalty's pull on the weights (decay x weight norm) is {fmt(pull)} of the "
            "data's gradient at the end of the run (healthy L2: about 0.01-0.03), so the "
            "weights sit where the penalty holds them"
            + (f", and the training accuracy is held at {100 * train_acc:.1f}%"
               if train_acc is not None else ""))
    return Finding(
        "regularisation_too_strong",
        0.95,
        f"the weight decay ({fmt(decay)}) is too strong: it pulls the weights to zero harder "
        "than the data can shape them",
        "; ".join(evidence),
        f"lower the weight decay to {fmt(new)} (--weight-decay {fmt(new)})",
        settings={"weight_decay": new},
        stage=3,
    )


def dropout_too_strong(records, context) -> Finding | None:
    """Dropout p keeps (1 - p) of a layer's units at each step: fewer kept units than classes
    is the capacity bottleneck below, at training time; or, measured, the training error with
    dropout on far above the validation error without it."""
    rate = setting(context, "dropout", 0.0)
    if not is_number(rate) or rate <= 0:
        return None
    widths = [e["n_out"] for e in hidden(records[0]) if is_number(e.get("n_out"))]
    new = 0.2 if rate > 0.2 else 0.0
    kept = (1 - rate) * min(widths) if widths else None
    if kept is not None and kept < context.n_classes:
        evidence = (
            f"dropout {fmt(rate)} keeps about {fmt(kept)} of the narrowest hidden layer's "
            f"{min(widths)} units at each step, fewer than the {context.n_classes} classes"
        )
    else:
        history = context.history
        train_acc, val_acc = _last(history, "accuracy"), _last(history, "val_accuracy")
        if train_acc is None or val_acc is None:
            return None
        train_err, val_err = 1 - train_acc, 1 - val_acc
        if not (train_err > DROPOUT_ERROR_FACTOR * val_err and val_acc - train_acc > DROPOUT_GAP):
            return None
        evidence = (
            f"the last epoch's training accuracy, with dropout, is {100 * train_acc:.1f}%, far "
            f"below the {100 * val_acc:.1f}% the same weights reach on validation without it"
        )
    return Finding(
        "regularisation_too_strong",
        0.9,
        f"dropout {fmt(rate)} is too strong: with it, the network cannot fit its training data",
        evidence,
        f"use dropout {fmt(new)} (--dropout {fmt(new)})",
        settings={"dropout": new},
        stage=1,
    )


def capacity_too_small(records, context) -> Finding | None:
    if context.explained(1):
        return None
    entries = hidden(records[0])
    narrow = [e for e in entries if is_number(e.get("n_out")) and e["n_out"] < context.n_classes]
    if not narrow or context.n_classes < 3:
        return None
    widths = [int(e["n_out"]) for e in entries]
    fixed = [max(w, WIDTH) if w < context.n_classes else w for w in widths]
    narrowest = min(int(e["n_out"]) for e in narrow)
    return Finding(
        "capacity_too_small",
        0.85,
        f"the network is too narrow: {layer_range([e['index'] + 1 for e in narrow])} "
        f"{'has' if len(narrow) == 1 else 'have'} fewer units than there are classes "
        "(it underfits)",
        f"a hidden layer of {narrowest} units squeezes every image into {narrowest} numbers, "
        f"fewer than the {context.n_classes - 1} a {context.n_classes}-class linear read-out "
        "needs to tell every class from every other",
        f"widen it (--hidden {','.join(map(str, fixed))})",
        settings={"hidden": fixed},
        stage=1,
    )


def overfitting(records, context) -> Finding | None:
    """The textbook definition: a generalisation gap (training accuracy well above
    validation) while the validation loss rises from its minimum as the training loss keeps
    falling: training past that minimum fits the training images' noise, not the digits."""
    if context.explained(3):
        return None
    if is_number(setting(context, "early_stopping", 0)) and setting(context, "early_stopping", 0):
        return None  # the run already keeps its best validation epoch
    rows = [row for row in context.history
            if all(is_number(row.get(k)) for k in ("loss", "val_loss", "accuracy",
                                                   "val_accuracy"))]
    if len(rows) < 3:
        return None
    best_at = min(range(len(rows)), key=lambda i: rows[i]["val_loss"])
    best, last = rows[best_at]["val_loss"], rows[-1]["val_loss"]
    train_loss, train_acc = rows[-1]["loss"], rows[-1]["accuracy"]
    val_acc = rows[-1]["val_accuracy"]
    rising = best_at < len(rows) - 1 and last > VAL_RISE * best
    still_fitting = train_loss < rows[best_at]["loss"]
    if not (rising and still_fitting and train_acc - val_acc > ACC_GAP):
        return None
    settings = _regularise(context)
    flags = " ".join(settings_to_args(settings))
    return Finding(
        "overfitting",
        0.8,
        "the network overfits: it learns the training images, not the digits",
        f"training accuracy {100 * train_acc:.1f}% against {100 * val_acc:.1f}% on "
        f"validation (a gap of {100 * (train_acc - val_acc):.1f} points); the validation loss "
        f"rose from its best {fmt(best)} (epoch {best_at + 1}) to {fmt(last)} while the "
        f"training loss fell from {fmt(rows[best_at]['loss'])} to {fmt(train_loss)}",
        f"stop at the best validation epoch and regularise ({flags}); more training data or "
        "augmentation (--augment affine) narrows the gap further",
        settings=settings,
        stage=4,
    )


def _regularise(context) -> dict:
    """Early stopping, dropout 0.2 and L2 5e-4, each where the run has less of it."""
    settings: dict = {"early_stopping": PATIENCE}
    dropout = setting(context, "dropout", 0.0)
    if is_number(dropout) and dropout < 0.2:
        settings["dropout"] = 0.2
    decay = setting(context, "weight_decay", 0.0)
    if is_number(decay) and decay < L2 and setting(context, "optimizer", "sgd") != "adamw":
        settings["weight_decay"] = L2
    return settings
