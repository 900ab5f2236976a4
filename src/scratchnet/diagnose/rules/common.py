"""What several rules read from the records: hidden layers, the initialiser that fits an
activation, a layer's weight scale against it, the loss and accuracy curves."""

from __future__ import annotations

import math
from typing import Any

from ..numbers import is_number, median, ratio

SATURATING = ("sigmoid", "tanh")
RECTIFIERS = ("relu", "leaky_relu")


def layers(record: dict[str, Any]) -> list[dict[str, Any]]:
    value = record.get("layers") if isinstance(record, dict) else None
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def hidden(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The hidden Dense layers' entries (every one but the output layer)."""
    return layers(record)[:-1]


def activation_of(records: list[dict[str, Any]], context) -> str:
    """The hidden activation: the config's, else the first hidden layer's ('' if none)."""
    name = context.config.get("activation")
    if isinstance(name, str):
        return name.lower().replace("-", "_")
    entries = hidden(records[0])
    return str(entries[0].get("activation", "")) if entries else ""


def fitting_init(activation: str) -> str:
    """He for rectifiers (He et al. 2015), Glorot for sigmoid/tanh (Glorot & Bengio 2010)."""
    return "glorot-uniform" if activation in SATURATING else "he-normal"


def init_gain(entry: dict[str, Any]) -> float | None:
    """The layer's weight rms over the rms its fitting initialiser gives (1: right scale).

    He: Var = 2 / n_in; Glorot: Var = 2 / (n_in + n_out)."""
    rms, n_in, n_out = entry.get("weight_rms"), entry.get("n_in"), entry.get("n_out")
    if not (is_number(rms) and is_number(n_in) and is_number(n_out)) or n_in <= 0:
        return None
    if entry.get("activation") in SATURATING:
        expected = math.sqrt(2 / (n_in + n_out))
    else:
        expected = math.sqrt(2 / n_in)
    return ratio(rms, expected)


def median_gain(record: dict[str, Any]) -> float | None:
    return median(init_gain(e) for e in hidden(record))


def probe_losses(records: list[dict[str, Any]]) -> list[float]:
    return [float(r["probe_loss"]) for r in records if is_number(r.get("probe_loss"))]


def probe_accuracies(records: list[dict[str, Any]]) -> list[float]:
    return [float(r["probe_accuracy"]) for r in records if is_number(r.get("probe_accuracy"))]


def nonfinite_count(records: list[dict[str, Any]]) -> int:
    total = 0
    for record in records:
        for entry in layers(record):
            value = entry.get("nonfinite")
            total += int(value) if is_number(value) else 0
        if record.get("probe_loss") is not None and not is_number(record.get("probe_loss")):
            total += 1
    return total


def update_ratios(records: list[dict[str, Any]], *, first: int = 0) -> list[float]:
    """The largest layer update/weight ratio of each record after the first `first` ones."""
    peaks = []
    for record in records[1:][first:]:
        values = [e.get("update_ratio") for e in layers(record)]
        values = [float(v) for v in values if is_number(v)]
        if values:
            peaks.append(max(values))
    return peaks


def setting(context, name: str, default: Any = None) -> Any:
    value = context.config.get(name, default)
    return default if value is None else value
