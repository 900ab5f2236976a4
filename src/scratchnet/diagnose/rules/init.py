"""Faults of the initialisation, read from the first forward pass (record 0, before any
update), so that they are told apart from a learning rate that breaks the network later.

The signal's gain through the stack is the spread of the logits over the spread of the
inputs: about 1 for a network initialised for its activation (He for ReLU, Glorot for
sigmoid/tanh). A layer's init gain is its weight rms over the one its fitting initialiser
draws (rules/common.py).
"""

from __future__ import annotations

import math

from ..findings import Finding
from ..numbers import fmt, is_number, layer_range, median, per_layer, ratio
from .common import (
    RECTIFIERS,
    SATURATING,
    activation_of,
    fitting_init,
    hidden,
    init_gain,
    layers,
    median_gain,
    probe_losses,
)

#: Weights below half (above twice) the fitting scale shrink (grow) the signal at every layer.
SMALL_GAIN, LARGE_GAIN = 0.5, 2.0
#: 100x less (more) signal at the logits than at the input: in float arithmetic the network
#: still computes, but the gradients of the early layers are off by the same factor, and no
#: single learning rate suits every layer.
VANISHED, EXPLODED = 1e-2, 1e2
#: More than half a layer's units dead (ReLU never positive) or saturated (sigmoid/tanh at
#: their rails, where the gradient is under 1%) on every probe image.
DEAD_SHARE = SATURATED_SHARE = 0.5
#: The first layer's update/weight ratio 100x below the last layer's: it hardly learns.
FROZEN_FIRST = 1e-2
#: From this many hidden sigmoid/tanh layers on, the textbook fix is ReLU with He init.
DEEP = 4


def signal_gain(record) -> float | None:
    """How much of the signal that tells images apart reaches the logits: the logits' distinct
    spread over the inputs' (probes.distinct_spread: the spread across the batch beyond its one
    strongest direction), or, for records without it, the plain spread across the batch (the
    first hidden layer's when the record has no input spread). None when undefined, 0 when the
    signal is gone."""
    entries = layers(record)
    if not entries:
        return None
    base, out = record.get("input_distinct_spread"), entries[-1].get("distinct_spread")
    if not (is_number(base) and base > 0 and is_number(out)):
        base, out = record.get("input_spread"), entries[-1].get("act_spread")
        if not is_number(base) or base == 0:
            base = entries[0].get("act_spread")
    if is_number(out) and out == 0 and is_number(base) and base > 0:
        return 0.0
    return ratio(out, base)


def _init_fix(activation: str, depth: int) -> dict:
    if activation in SATURATING and depth >= DEEP:
        return {"activation": "relu", "init": "he-normal"}
    return {"init": fitting_init(activation)}


def _fix_text(settings: dict, activation: str) -> str:
    flags = " ".join(f"--{k} {v}" for k, v in settings.items())
    if "activation" in settings:
        return (
            f"use ReLU with He initialisation ({flags}): a deep stack of {activation} "
            "layers loses the signal even at the right scale"
        )
    return f"use the initialiser made for {activation or 'this activation'} ({flags})"


def vanishing_signal(records, context) -> Finding | None:
    if context.first_pass_explained():
        return None
    first = records[0]
    entries = hidden(first)
    gain = median_gain(first)
    total = signal_gain(first)
    if not entries or gain is None or gain >= SMALL_GAIN or total is None or total >= VANISHED:
        return None
    if any(is_number(e.get("dead_share")) and e["dead_share"] > DEAD_SHARE for e in entries):
        return None  # a dead layer stops the signal outright: dead_at_init names that
    activation = activation_of(records, context)
    settings = _init_fix(activation, len(entries))
    name = context.config.get("init")
    shrink = per_layer(total, len(layers(first)))
    how = f"about {fmt(1 / shrink)}x per layer" if shrink else "to nothing (exactly 0)"
    positive = (
        ", and all positive, so every unit computes nearly the same average of the layer below"
        if first.get("positive_weights")
        else ""
    )
    return Finding(
        "vanishing_signal",
        0.95,
        f"the signal vanishes: activations shrink {how} because the weights start too "
        f"small{f' ({name})' if name else ''}: their scale is {fmt(gain)}x what "
        f"{'He' if activation not in SATURATING else 'Glorot'} initialisation gives"
        f"{positive}",
        f"in the first forward pass, before any update, the logits vary {fmt(total)} times "
        "as much as the inputs (healthy: about 1); the output barely depends on the input",
        _fix_text(settings, activation),
        settings=settings,
        stage=2,
    )


def init_too_large(records, context) -> Finding | None:
    if context.first_pass_explained():
        return None
    first = records[0]
    entries = hidden(first)
    gain = median(init_gain(e) for e in layers(first))
    total = signal_gain(first)
    activation = activation_of(records, context)
    if not entries or gain is None or gain <= LARGE_GAIN or activation in SATURATING:
        return None
    losses = probe_losses(records[:1])
    chance = math.log(max(context.n_classes, 2))
    blown = total is not None and total > EXPLODED
    huge_loss = bool(losses) and losses[0] > 3 * chance
    nonfinite = any(e.get("nonfinite") for e in layers(first))
    if not (blown or huge_loss or nonfinite):
        return None
    settings = {"init": fitting_init(activation)}
    loss_text = f"; the initial loss is {fmt(losses[0])} (a uniform guess: {chance:.3g})" if (
        losses) else ""
    return Finding(
        "init_too_large",
        0.95,
        f"the signal explodes from the first forward pass: the weights start "
        f"{fmt(gain)}x larger than {'He' if activation in RECTIFIERS else 'the fitting'} "
        "initialisation (not the learning rate: nothing has been updated yet)",
        f"before any update the logits vary {fmt(total)} times as much as the inputs "
        f"(healthy: about 1){loss_text}",
        _fix_text(settings, activation),
        settings=settings,
        stage=2,
    )


def saturated_at_init(records, context) -> Finding | None:
    if context.first_pass_explained():
        return None
    first = records[0]
    entries = hidden(first)
    saturated = [
        (e["index"] + 1, e["saturated_share"])
        for e in entries
        if is_number(e.get("saturated_share")) and e["saturated_share"] > SATURATED_SHARE
    ]
    if not saturated:
        return None
    activation = activation_of(records, context)
    settings = _init_fix(activation, len(entries))
    gain = median_gain(first)
    return Finding(
        "saturated_units",
        0.9,
        f"{layer_range([i for i, _ in saturated])}: most {activation} units are saturated "
        "from the start (their gradient is almost 0)",
        "before any update, "
        + "; ".join(f"layer {i}: {100 * s:.0f}% of outputs at the rails" for i, s in saturated)
        + f"; the weights are {fmt(gain)}x the Glorot scale",
        _fix_text(settings, activation),
        settings=settings,
        stage=2,
    )


def dead_at_init(records, context) -> Finding | None:
    if context.first_pass_explained():
        return None
    first = records[0]
    dead = [
        (e["index"] + 1, e["dead_share"])
        for e in hidden(first)
        if is_number(e.get("dead_share")) and e["dead_share"] > DEAD_SHARE
    ]
    if not dead:
        return None
    return Finding(
        "dead_relus",
        0.9,
        f"{layer_range([i for i, _ in dead])}: most ReLUs are dead from the initialisation "
        "(they output 0 for every input, so they never learn)",
        "before any update, "
        + "; ".join(f"layer {i}: {100 * s:.0f}% of units never fire" for i, s in dead),
        "draw zero-mean weights at He's scale (--init he-normal)",
        settings={"init": "he-normal"},
        stage=2,
    )


def vanishing_depth(records, context) -> Finding | None:
    """Sigmoid/tanh depth alone: the weights have the right scale, yet the signal or the
    gradient fades (sigmoid's slope is at most 1/4; Glorot & Bengio 2010)."""
    if context.first_pass_explained():
        return None
    first = records[0]
    entries = hidden(first)
    activation = activation_of(records, context)
    gain = median_gain(first)
    if activation not in SATURATING or len(entries) < 2 or gain is None or gain < SMALL_GAIN:
        return None
    total = signal_gain(first)
    frozen = []
    for record in records[1:]:
        rows = layers(record)
        if len(rows) >= 2:
            frozen.append(ratio(rows[0].get("update_ratio"), rows[-1].get("update_ratio")))
    first_vs_last = median(frozen)
    faded = total is not None and total < VANISHED
    stuck = first_vs_last is not None and first_vs_last < FROZEN_FIRST
    if not (faded or stuck):
        return None
    settings = {"activation": "relu", "init": "he-normal"}
    return Finding(
        "vanishing_depth",
        0.9,
        f"{len(entries)} {activation} layers are too deep to train: the gradient fades on "
        "its way back to the first layers",
        (f"before any update the logits vary {fmt(total)} times as much as the inputs; "
         if total is not None else "")
        + (f"the first layer's update/weight ratio is {fmt(first_vs_last)} of the last "
           "layer's (median over the run)" if first_vs_last is not None else ""),
        "use ReLU with He initialisation (--activation relu --init he-normal)",
        settings=settings,
        stage=2,
    )
