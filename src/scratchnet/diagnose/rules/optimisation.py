"""Faults of the optimisation: a learning rate too large (divergence, ReLUs killed in the
first steps, a loss that rises), too small (the loss hardly moves), and a batch too small for
its rate. The rate in the fix comes from the learning-rate range test (lrfind.py) when the
context can run it, else from the evidence (10x down, 30x up)."""

from __future__ import annotations

import math

from ..findings import Finding
from ..numbers import fmt, is_number, median, ratio
from .common import (
    hidden,
    layers,
    nonfinite_count,
    probe_losses,
    setting,
    update_ratios,
)

#: A step that moves a layer's weights by more than 10% of their size, typically (the median
#: over the run), is out of control; healthy SGD moves them 1e-4 to 1e-2 per step.
HUGE_UPDATE = 0.1
#: A typical step below 1e-4 of the weights' size: thousands of steps to change them at all.
TINY_UPDATE = 1e-4
#: More than half a layer's ReLUs dead (or sigmoid/tanh saturated) at the end but not before
#: the first update: the steps did it.
DEAD_SHARE = 0.5
#: The range test's rate 10x above the run's: an order of magnitude of speed left unused.
SLOW_FACTOR = 10.0
#: A loss above a quarter of ln(k) at the end (10 classes: 0.58, an accuracy near 85%) has not
#: been trained down; with tiny steps, the rate is the reason.
UNTRAINED = 0.25
#: Batches below 16 examples make the gradient noise ~ rate / batch 8x that of the batch of
#: 128 most rates are chosen for (Goyal et al. 2017: scale the rate with the batch).
SMALL_BATCH = 16
REFERENCE_BATCH = 128


def _weight_shrink(records) -> float | None:
    """Median over layers of the final weight rms over the first one."""
    if len(records) < 2:
        return None
    start, end = layers(records[0]), layers(records[-1])
    if len(start) != len(end):
        return None
    return median(
        ratio(b.get("weight_rms"), a.get("weight_rms"))
        for a, b in zip(start, end, strict=True)
    )


def _died(records, key: str) -> list[int]:
    start, end = hidden(records[0]), hidden(records[-1])
    out = []
    for a, b in zip(start, end, strict=False):
        before, after = a.get(key), b.get(key)
        if is_number(after) and after > DEAD_SHARE and (not is_number(before) or before <= 0.5):
            out.append(b["index"] + 1)
    return out


def instability(records, context) -> str | None:
    """Evidence that the steps are too large (None if there is none)."""
    if len(records) < 2 and not context.diverged:
        return None
    typical = median(update_ratios(records))
    shrink = _weight_shrink(records)
    if context.diverged or nonfinite_count(records):
        what = context.diverged or "NaN or infinite values in the activations or gradients"
        return f"training diverged ({what.rstrip('.')})"
    if shrink is not None and shrink < 0.5:
        return None  # the weights collapsed: a decay does that, not a large step
    dead = _died(records, "dead_share")
    if dead:
        return (f"ReLUs of layer(s) {', '.join(map(str, dead))} died during training (alive "
                f"before the first update); a typical step moved the weights by {fmt(typical)}"
                " of their size")
    saturated = _died(records, "saturated_share")
    if saturated:
        return (f"units of layer(s) {', '.join(map(str, saturated))} saturated during "
                f"training; a typical step moved the weights by {fmt(typical)} of their size")
    losses = probe_losses(records)
    if typical is not None and typical > HUGE_UPDATE and losses and len(losses) >= 2:
        chance = math.log(max(context.n_classes, 2))
        if losses[-1] > min(losses[0], 0.9 * chance) or losses[-1] > 0.5 * chance:
            return (f"the loss went from {fmt(losses[0])} to {fmt(losses[-1])} while a "
                    f"typical step moved the weights by {fmt(typical)} of their size "
                    "(healthy: 1e-4 to 1e-2)")
    return None


def _rate_fix(context, *, lower: bool) -> tuple[float | None, str]:
    """The new rate and where it comes from."""
    found = context.suggested_lr()
    lr = context.lr
    if found is not None and is_number(getattr(found, "suggestion", None)):
        new = float(found.suggestion)
        if lr is None or (new < lr if lower else new > lr):
            return new, (f"the learning-rate range test's rate, where the loss falls fastest "
                         f"({fmt(new)})")
    if lr is None:
        return None, ""
    new = lr / 10 if lower else lr * 30
    return new, f"{'10x lower' if lower else '30x higher'}: {fmt(new)}"


def _small_batch(context) -> bool:
    batch = setting(context, "batch_size")
    return is_number(batch) and batch < SMALL_BATCH


def learning_rate_too_large(records, context) -> Finding | None:
    if context.explained(3):
        return None
    if _small_batch(context):
        return None
    evidence = instability(records, context)
    if evidence is None:
        return None
    found = context.suggested_lr()
    lr = context.lr
    if found is not None and lr is not None and is_number(getattr(found, "suggestion", None)):
        if lr <= found.suggestion and not context.diverged:
            return None  # the range test says this rate is not too large
        evidence += (f"; the range test's loss falls fastest at {fmt(found.suggestion)} "
                     f"and blows up from {fmt(found.blowup)}")
    new, source = _rate_fix(context, lower=True)
    settings = {"learning_rate": new} if new else {}
    diverged = "diverged" in evidence
    return Finding(
        "learning_rate_too_large",
        1.0 if diverged else 0.9,
        "training diverged: the learning rate is too large" if diverged
        else "the learning rate is too large: the steps break the network",
        evidence,
        f"lower the learning rate{context.lr_text()} to {source} (--lr {fmt(new)})" if new
        else "lower the learning rate (--lr)",
        settings=settings,
        stage=3,
    )


def batch_too_small_for_rate(records, context) -> Finding | None:
    if context.explained(3):
        return None
    if not _small_batch(context):
        return None
    evidence = instability(records, context)
    shrink = _weight_shrink(records)
    losses = probe_losses(records)
    chance = math.log(max(context.n_classes, 2))
    if evidence is None and shrink is not None and shrink < 0.5:
        # A decay applied at every one of a tiny batch's many steps is 128 / batch times as
        # strong per epoch as the same setting at batch 128: the batch is the setting to fix.
        evidence = f"the weights shrank to {fmt(shrink)} of their size over the run"
    elif evidence is None and losses and losses[-1] > UNTRAINED * chance:
        evidence = f"the loss ends at {fmt(losses[-1])}"
    if evidence is None:
        return None
    batch = setting(context, "batch_size")
    return Finding(
        "batch_lr_mismatch",
        0.95,
        f"a batch of {batch} is too small for this learning rate{context.lr_text()}: each "
        "step follows the noise of a few examples",
        evidence + f"; the rate's noise grows as rate / batch, {fmt(REFERENCE_BATCH / batch)}x "
        f"that of a batch of {REFERENCE_BATCH}",
        f"use batches of {REFERENCE_BATCH} (--batch-size {REFERENCE_BATCH}), the size such rates "
        f"are meant for, or scale the rate down by {fmt(REFERENCE_BATCH / batch)}x "
        "(the linear scaling rule)",
        settings={"batch_size": REFERENCE_BATCH},
        stage=3,
    )


def learning_rate_too_small(records, context) -> Finding | None:
    if context.explained(3):
        return None
    losses = probe_losses(records)
    if len(losses) < 2 or context.diverged:
        return None
    chance = math.log(max(context.n_classes, 2))
    typical = median(update_ratios(records))
    if typical is None or losses[-1] <= UNTRAINED * chance:
        return None
    shrink = _weight_shrink(records)
    if shrink is not None and shrink < 0.5:
        return None  # the weights collapsed: a decay holds them, not a small rate
    moved = ratio(losses[0] - losses[-1], losses[0]) if losses[0] > 0 else None
    found = context.suggested_lr()
    lr = context.lr
    if found is not None and lr is not None and is_number(getattr(found, "suggestion", None)):
        if lr * SLOW_FACTOR > found.suggestion or typical > 1e-2:
            return None
        why = (f"the range test's loss falls fastest at {fmt(found.suggestion)}, "
               f"{fmt(found.suggestion / lr)}x this rate")
    elif typical < TINY_UPDATE:
        why = "steps this small need thousands of updates to change the weights"
    else:
        return None
    new, source = _rate_fix(context, lower=False)
    moved_text = f" ({fmt(100 * moved)}%)" if moved is not None else ""
    return Finding(
        "learning_rate_too_small",
        0.85,
        "the learning rate is too small: the loss falls far too slowly",
        f"the loss went from {fmt(losses[0])} to {fmt(losses[-1])}{moved_text} over "
        f"{records[-1].get('step')} steps; a typical step moves the weights by {fmt(typical)}"
        f" of their size (healthy: 1e-4 to 1e-2); {why}",
        f"raise the learning rate{context.lr_text()} to {source} (--lr {fmt(new)})" if new
        else "raise the learning rate (--lr)",
        settings={"learning_rate": new} if new else {},
        stage=3,
    )
