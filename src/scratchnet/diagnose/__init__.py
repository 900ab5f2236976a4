"""scratchnet.diagnose: why a network is (not) learning, in plain words.

TrainingProbe (a callback) records activation and gradient statistics while training;
analyse() turns the records into ranked Findings with evidence and a fix; diagnose_model()
looks at a saved network (and its history) without training. Imports NumPy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .findings import CAUSE, SYMPTOM, Context, Finding, analyse, settings_to_args
from .lrfind import LRRange, lr_range_test
from .probes import TrainingProbe, distinct_spread, input_spread, layer_statistics


def diagnose_model(
    model,
    x: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    history: list[dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
    loss=None,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Records and findings for a trained network, from its activations on `x` alone.

    Without training there are no gradients or update sizes; a saved history's per-epoch loss
    stands in for the probe loss (first and last epoch).
    """
    layers, logits = layer_statistics(model, x)
    for entry in layers:
        entry["grad_norm"] = entry["update_ratio"] = None
    with np.errstate(all="ignore"):
        predictions = logits.argmax(axis=1)
    counts = np.bincount(predictions, minlength=model.n_out)
    record: dict[str, Any] = {
        "step": None,
        "epoch": len(history) if history else None,
        "layers": layers,
        "top_class": int(counts.argmax()),
        "top_class_share": float(counts.max() / max(len(predictions), 1)),
        "probe_loss": None,
        "probe_accuracy": None,
        # what the first-pass rules compare the logits with (as a probe's first record has)
        "input_spread": input_spread(x),
        "input_distinct_spread": distinct_spread(x),
    }
    if labels is not None and loss is not None and np.isfinite(logits).all():
        record["probe_loss"] = float(loss.value(logits, labels))
        record["probe_accuracy"] = float(np.mean(predictions == labels))
    records = [record]
    if history:
        losses = [row.get("loss") for row in history if row.get("loss") is not None]
        if len(losses) >= 2 and all(math.isfinite(v) for v in losses):
            start = dict(record, probe_loss=losses[0])
            end = dict(record, probe_loss=losses[-1])
            records = [start, end]
    return records, analyse(records, n_classes=model.n_out, config=config)


__all__ = [
    "CAUSE",
    "SYMPTOM",
    "Context",
    "Finding",
    "LRRange",
    "TrainingProbe",
    "analyse",
    "diagnose_model",
    "layer_statistics",
    "lr_range_test",
    "settings_to_args",
]
