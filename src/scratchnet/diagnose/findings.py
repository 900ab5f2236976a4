"""Findings: turn probe records into plain-words explanations, ranked, each with evidence
and a concrete fix. It reads records (probes.py) and the run's settings; it trains nothing.

Kinds: divergence, exploding updates, vanishing signal, vanishing gradients, learning rate too
small, dead ReLUs, saturated units, collapse onto one class, loss stuck at the uniform guess.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

# Thresholds, each with the reason for its value.
VANISH_RATIO = 1e-2  # last hidden layer's spread / first's: 100x less signal is no signal
VANISH_GRAD_RATIO = 1e-3  # first layer's weight-gradient norm / last layer's
SMALL_INIT_GAIN = 0.5  # below half He's scale, every ReLU layer at least halves the signal
TINY_UPDATE = 1e-5  # update/weight per step; healthy training sits around 1e-4..1e-2
HUGE_UPDATE = 0.1  # a step that moves the weights by 10% of their size is out of control
FLAT_LOSS = 0.05  # the loss moved by less than 5% of where it started
DEAD_SHARE = 0.5  # more than half a layer's ReLUs never fire on the probe batch
SATURATED_SHARE = 0.5  # more than half a layer's sigmoid/tanh outputs pinned at the rails
COLLAPSE_SHARE = 0.5  # one class gets more than half of all predictions (10 balanced classes)
CHANCE_MARGIN = 0.9  # loss above 90% of ln(k): hardly better than a uniform guess


@dataclasses.dataclass
class Finding:
    """One problem: what, how sure/serious (severity 0..1), the numbers behind it, the fix."""

    kind: str
    severity: float
    title: str
    evidence: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _hidden(layers: list[dict]) -> list[dict]:
    return layers[:-1]


def _fmt(x: float) -> str:
    return f"{x:.2g}" if (x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e4)) else f"{x:.3g}"


def _layer_range(numbers: list[int]) -> str:
    return f"layer {numbers[0]}" if len(numbers) == 1 else f"layers {numbers[0]}-{numbers[-1]}"


def _typical_max_ratio(records: list[dict[str, Any]]) -> float:
    """The median over records of the largest layer update ratio: one wild early step is
    common and harmless; steps that are wild all along are not."""
    peaks = []
    for record in records[1:]:
        ratios = [e.get("update_ratio") for e in record["layers"]]
        ratios = [x for x in ratios if x is not None and math.isfinite(x)]
        if ratios:
            peaks.append(max(ratios))
    return float(np.median(peaks)) if peaks else 0.0


def analyse(
    records: list[dict[str, Any]],
    *,
    n_classes: int,
    config: dict[str, Any] | None = None,
    diverged: str | None = None,
    flag_prefix: str = "--",
) -> list[Finding]:
    """Findings from probe records, most important first (an empty list: nothing wrong)."""
    config = config or {}
    findings: list[Finding] = []
    if not records:
        return findings
    first, last = records[0], records[-1]
    init_name = config.get("init")
    lr = config.get("learning_rate")
    chance = math.log(n_classes)
    lr_text = f" (now {lr:g})" if isinstance(lr, int | float) else ""

    # -- divergence and exploding updates --------------------------------------------------
    nonfinite = sum(entry.get("nonfinite", 0) for r in records for entry in r["layers"])
    ratios = [entry.get("update_ratio") for r in records[1:] for entry in r["layers"]]
    ratios = [x for x in ratios if x is not None]
    finite_ratios = [x for x in ratios if math.isfinite(x)]
    max_ratio = max(finite_ratios, default=0.0)
    if diverged or nonfinite:
        what = diverged or f"{nonfinite} NaN or infinite values in activations or gradients"
        findings.append(
            Finding(
                "divergence",
                1.0,
                "training diverged: the numbers blew up to NaN or infinity",
                f"{what}; the largest update moved the weights by {_fmt(max_ratio)} of their size "
                "in one step (healthy: about 1e-3)",
                f"lower the learning rate about 10x{lr_text} ({flag_prefix}lr), or clip gradients",
            )
        )
    elif _typical_max_ratio(records) > HUGE_UPDATE or max_ratio > 1.0:
        findings.append(
            Finding(
                "exploding_updates",
                0.9,
                "updates are far too large: the learning rate is too high",
                f"a typical step changes a layer's weights by {_fmt(_typical_max_ratio(records))}"
                f" of their size, at most {_fmt(max_ratio)} (healthy: about 1e-3)",
                f"lower the learning rate about 10x{lr_text} ({flag_prefix}lr)",
            )
        )

    # -- vanishing signal --------------------------------------------------------------------
    hidden = _hidden(first["layers"])
    spreads = [entry["act_spread"] for entry in hidden]
    if len(hidden) >= 2 and all(math.isfinite(s) for s in spreads) and spreads[0] > 0:
        ratio = spreads[-1] / spreads[0]
        if ratio < VANISH_RATIO:
            per_layer = ratio ** (1 / (len(hidden) - 1))
            # A spread of exactly 0 (it happens in float32 once the signal underflows) is no
            # signal at all: there is no finite shrink factor per layer to report.
            shrink = f"{_fmt(1 / per_layer)}x per layer" if per_layer > 0 else "to nothing"
            starved = [
                e["index"] + 1 for e, s in zip(hidden, spreads, strict=True) if s < spreads[0] * 0.1
            ]
            gains = [entry["he_gain"] for entry in first["layers"]]
            median_gain = float(np.median(gains))
            cause, fix = "", f"use He initialisation ({flag_prefix}init he-normal)"
            if median_gain < SMALL_INIT_GAIN:
                init = f" ({init_name})" if init_name else ""
                cause = (
                    f" because the weights start too small{init}: their scale is "
                    f"{_fmt(median_gain)}x what He initialisation gives"
                )
                if first.get("positive_weights"):
                    cause += (
                        ", and all positive, so every unit computes nearly the same "
                        "average of the layer below"
                    )
            elif any(e["activation"] in ("sigmoid", "tanh") for e in hidden):
                cause = " because sigmoid/tanh layers squash the signal"
                fix = (
                    f"use ReLU with He initialisation ({flag_prefix}activation relu "
                    f"{flag_prefix}init he-normal)"
                )
            findings.append(
                Finding(
                    "vanishing_signal",
                    0.95,
                    f"{_layer_range(starved)} pass on almost no signal: activations shrink "
                    f"{'about ' if per_layer > 0 else ''}{shrink}{cause}",
                    f"at the start, the spread of activations across examples falls from "
                    f"{_fmt(spreads[0])} after layer 1 to {_fmt(spreads[-1])} after layer "
                    f"{len(hidden)} ({_fmt(ratio)} of it); the output barely depends on the input",
                    fix,
                )
            )

    # -- vanishing gradients -----------------------------------------------------------------
    grad_records = [r for r in records[1:] if r["layers"][0].get("grad_norm") is not None]
    if grad_records and len(hidden) >= 2:
        ratios_g = []
        for r in grad_records:
            g_first, g_last = r["layers"][0]["grad_norm"], r["layers"][-1]["grad_norm"]
            if g_last and math.isfinite(g_first) and math.isfinite(g_last):
                ratios_g.append(g_first / g_last)
        if ratios_g and float(np.median(ratios_g)) < VANISH_GRAD_RATIO:
            findings.append(
                Finding(
                    "vanishing_gradients",
                    0.85,
                    "gradients vanish before they reach the first layers",
                    f"the first layer's weight gradient is {_fmt(float(np.median(ratios_g)))} "
                    "of the "
                    "last layer's (median over the run): the early layers hardly learn",
                    f"use He initialisation with ReLU ({flag_prefix}init he-normal), "
                    "or fewer layers",
                )
            )

    # -- learning rate too small -------------------------------------------------------------
    losses = [r.get("probe_loss") for r in records]
    losses = [x for x in losses if x is not None and math.isfinite(x)]
    med_ratio = float(np.median(finite_ratios)) if finite_ratios else None
    if len(losses) >= 2 and not diverged:
        start, end = losses[0], losses[-1]
        moved = (start - end) / start if start > 0 else 0.0
        if moved < FLAT_LOSS and med_ratio is not None and med_ratio < TINY_UPDATE:
            findings.append(
                Finding(
                    "learning_rate_too_small",
                    0.8,
                    "the learning rate is too small: the loss barely moves",
                    f"the loss went from {start:.4f} to {end:.4f} ({100 * moved:.1f}%) over "
                    f"{last['step']} steps; a step changes the weights by {_fmt(med_ratio)} "
                    "of their "
                    "size (healthy: about 1e-3)",
                    f"raise the learning rate 10-100x{lr_text} ({flag_prefix}lr)",
                )
            )

    # -- dead ReLUs ----------------------------------------------------------------------------
    dead = [
        (e["index"] + 1, e["dead_share"])
        for e in _hidden(last["layers"])
        if e.get("dead_share") is not None and e["dead_share"] > DEAD_SHARE
    ]
    if dead:
        worst = max(share for _, share in dead)
        findings.append(
            Finding(
                "dead_relus",
                0.7,
                f"{_layer_range([i for i, _ in dead])}: most ReLU units are dead "
                "(they output 0 for "
                "every input, so they never learn again)",
                "; ".join(f"layer {i}: {100 * s:.0f}% dead" for i, s in dead)
                + f" on {len(records) and 'the'} probe batch (worst {100 * worst:.0f}%)",
                f"lower the learning rate{lr_text}, use He initialisation, or leaky ReLU "
                f"({flag_prefix}activation leaky_relu)",
            )
        )

    # -- saturated units -----------------------------------------------------------------------
    saturated = [
        (e["index"] + 1, e["saturated_share"], e["activation"])
        for e in _hidden(last["layers"])
        if e.get("saturated_share") is not None and e["saturated_share"] > SATURATED_SHARE
    ]
    if saturated:
        findings.append(
            Finding(
                "saturated_units",
                0.7,
                f"{_layer_range([i for i, _, _ in saturated])}: most {saturated[0][2]} units are "
                "saturated (their gradient is almost 0)",
                "; ".join(
                    f"layer {i}: {100 * s:.0f}% of outputs beyond +-{0.99}"
                    if a == "tanh"
                    else f"layer {i}: {100 * s:.0f}% of outputs below 0.01 or above 0.99"
                    for i, s, a in saturated
                ),
                f"use Glorot initialisation for {saturated[0][2]} "
                f"({flag_prefix}init glorot-uniform), "
                f"a smaller learning rate, or ReLU with He initialisation",
            )
        )

    # -- collapse onto one class ---------------------------------------------------------------
    share = last.get("top_class_share")
    if share is not None and share > COLLAPSE_SHARE and n_classes > 2:
        findings.append(
            Finding(
                "collapse",
                0.75,
                f"predictions collapse onto one class: {100 * share:.0f}% of the probe images are "
                f"called class {last['top_class']}",
                f"on a probe batch with all {n_classes} classes, the most predicted class takes "
                f"{100 * share:.0f}% (healthy: about {100 / n_classes:.0f}%)",
                "the network ignores its input; see the findings above for why (often the signal "
                "vanishes or the learning rate is wrong)",
            )
        )

    # -- loss at the uniform guess --------------------------------------------------------------
    if losses and not diverged and losses[-1] > CHANCE_MARGIN * chance:
        findings.append(
            Finding(
                "no_learning",
                0.6,
                f"the loss stays near the uniform-guess level ln({n_classes}) = {chance:.3f}",
                f"the loss ends at {losses[-1]:.4f}: hardly better than giving every class "
                f"probability 1/{n_classes}",
                "fix the findings above; if there are none, train longer or raise the "
                "learning rate",
            )
        )

    findings.sort(key=lambda f: -f.severity)
    return findings
