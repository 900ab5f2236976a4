"""Faults of the network's structure: symmetric weights (every unit of a layer the same) and
no nonlinearity (a stack of identity layers is one linear map)."""

from __future__ import annotations

from ..findings import Finding
from ..numbers import layer_range
from .common import activation_of, fitting_init, hidden


def symmetric_weights(records, context) -> Finding | None:
    """Units that start equal get equal gradients and stay equal: a layer of n units then
    computes one feature n times (the reason weights are drawn at random)."""
    entries = hidden(records[0])
    same = [e["index"] + 1 for e in entries if e.get("symmetric") or e.get("weight_rms") == 0]
    if not same:
        return None
    activation = activation_of(records, context) or "relu"
    init = fitting_init(activation)
    name = context.config.get("init")
    return Finding(
        "symmetric_weights",
        1.0,
        f"{layer_range(same)} start with every unit the same"
        + (f" ({name})" if name else "")
        + ": they get the same gradient and stay copies of one unit",
        "; ".join(f"layer {i}: all {e} columns of the weight matrix are equal" for i, e in
                  ((e["index"] + 1, e.get("n_out")) for e in entries if e["index"] + 1 in same)),
        f"draw the weights at random: the initialiser for {activation} (--init {init})",
        settings={"init": init},
        stage=1,
    )


def no_nonlinearity(records, context) -> Finding | None:
    entries = hidden(records[0])
    if not entries:
        return None
    if activation_of(records, context) != "identity" and any(
        e.get("activation") != "identity" for e in entries
    ):
        return None
    depth = len(entries)
    return Finding(
        "no_nonlinearity",
        1.0,
        f"the {depth} hidden layer{'s' if depth > 1 else ''} have no nonlinearity: the "
        "whole network is one linear map",
        f"every hidden layer's activation is identity, so the {depth + 1} weight matrices "
        "multiply into one: the network can only draw straight class boundaries, like "
        "softmax regression",
        "use ReLU with He initialisation (--activation relu --init he-normal)",
        settings={"activation": "relu", "init": "he-normal"},
        stage=1,
    )
