"""Symptoms: what a failing run shows without saying why. They rank below every cause; on
their own they say what to check, and name the options worth trying."""

from __future__ import annotations

import math

from ..findings import SYMPTOM, Finding
from ..numbers import fmt, is_number
from .common import probe_losses

#: One class taking more than half the predictions on a probe batch that holds every class.
COLLAPSE_SHARE = 0.5
#: A loss above 90% of ln(k): hardly better than a uniform guess.
CHANCE_MARGIN = 0.9

_CHECK = (
    "no cause was found: check the learning rate with `scratchnet lr-find` (same options), "
    "then the initialisation (--init he-normal for ReLU, glorot-uniform for sigmoid/tanh)"
)


def _what_to_do(context) -> str:
    if any(f.role != SYMPTOM for f in context.found):
        return "a symptom of the cause above: fix that first"
    return "a symptom; " + _CHECK


def collapse(records, context) -> Finding | None:
    if len(records) < 2:
        return None  # before training, a collapse says nothing about learning
    last = records[-1]
    share = last.get("top_class_share")
    if not is_number(share) or share <= COLLAPSE_SHARE or context.n_classes <= 2:
        return None
    return Finding(
        "collapse",
        0.75,
        f"predictions collapse onto one class: {100 * share:.0f}% of the probe images are "
        f"called class {last.get('top_class')}",
        f"on a probe batch of validation images, the most predicted class takes "
        f"{100 * share:.0f}% (balanced classes: about {100 / context.n_classes:.0f}%)",
        _what_to_do(context) + " (the network ignores its input)",
        role=SYMPTOM,
        stage=5,
    )


def no_learning(records, context) -> Finding | None:
    losses = probe_losses(records)
    chance = math.log(max(context.n_classes, 2))
    if len(losses) < 2 or context.diverged or losses[-1] <= CHANCE_MARGIN * chance:
        return None
    return Finding(
        "no_learning",
        0.6,
        f"the loss stays near the uniform-guess level ln({context.n_classes}) = {chance:.3f}",
        f"the loss on the probe batch ends at {fmt(losses[-1])}: hardly better than giving "
        f"every class probability 1/{context.n_classes}",
        _what_to_do(context),
        role=SYMPTOM,
        stage=5,
    )
