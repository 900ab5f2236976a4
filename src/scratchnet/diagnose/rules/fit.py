"""Faults of the fit: regularisation so strong that the network cannot fit its training
data, a network too narrow for the classes (underfitting), and overfitting (training far above
validation while the validation loss rises). They read fit's per-epoch history besides the
probe records."""

from __future__ import annotations

from ..findings import Finding
from ..numbers import fmt, is_number, layer_range, median, ratio
from .common import hidden, layers, setting

#: Weights that end below half their initial size: the decay, not the data, shapes them
#: (learning adds structure to random weights; it does not erase it).
SHRUNK = 0.5
#: Dropout holds training back when the error with dropout on is more than twice the
#: validation error without it and at least 5 points above it.
DROPOUT_ERROR_FACTOR, DROPOUT_GAP = 2.0, 0.05
#: Overfitting: the validation loss 10% above its best, a training loss under half of it, and
#: training accuracy at least 2 points above validation.
VAL_RISE, TRAIN_UNDER, ACC_GAP = 1.1, 0.5, 0.02
#: A sensible width for a repaired bottleneck layer.
WIDTH = 128


def _last(history, key):
    values = [row.get(key) for row in history if is_number(row.get(key))]
    return values[-1] if values else None


def weight_decay_too_strong(records, context) -> Finding | None:
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
    shrink = median(ratio(b.get("weight_rms"), a.get("weight_rms")) for a, b in zip(start, end))
    if shrink is None or shrink >= SHRUNK:
        return None
    new = min(5e-4, decay / 100)
    return Finding(
        "regularisation_too_strong",
        0.95,
        f"the weight decay ({fmt(decay)}) is too strong: it pulls the weights to zero faster "
        "than the data can shape them",
        f"the weights ended at {fmt(shrink)} of their initial size (median over layers; "
        "healthy training keeps or grows them)",
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
    if context.explained(3):
        return None
    history = context.history
    val_losses = [row.get("val_loss") for row in history if is_number(row.get("val_loss"))]
    if len(val_losses) < 3:
        return None
    best, last = min(val_losses), val_losses[-1]
    train_loss = _last(history, "loss")
    train_acc, val_acc = _last(history, "accuracy"), _last(history, "val_accuracy")
    if None in (train_loss, train_acc, val_acc):
        return None
    if not (last > VAL_RISE * best and train_loss < TRAIN_UNDER * last
            and train_acc - val_acc > ACC_GAP):
        return None
    settings = {"early_stopping": 2}
    dropout = setting(context, "dropout", 0.0)
    if is_number(dropout) and dropout < 0.2:
        settings["dropout"] = 0.2
    return Finding(
        "overfitting",
        0.8,
        "the network overfits: it learns the training images, not the digits",
        f"the validation loss rose from its best {fmt(best)} to {fmt(last)} while the training "
        f"loss fell to {fmt(train_loss)}; training accuracy {100 * train_acc:.1f}% against "
        f"{100 * val_acc:.1f}% on validation",
        "stop at the best validation accuracy and add dropout ("
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings.items()) + ")",
        settings=settings,
        stage=4,
    )
