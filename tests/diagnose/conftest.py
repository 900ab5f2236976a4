"""Hand-made probe records: each rule's evidence, exactly as the probe writes it."""

from __future__ import annotations

import math

import pytest


def layer(index, *, n_in=64, n_out=64, activation="relu", spread=1.0, gain=1.0, **extra):
    """One Dense layer's entry; `gain` is the weight rms over the fitting initialiser's."""
    if activation in ("sigmoid", "tanh"):
        rms = gain * math.sqrt(2 / (n_in + n_out))
    else:
        rms = gain * math.sqrt(2 / n_in)
    entry = {
        "index": index,
        "n_in": n_in,
        "n_out": n_out,
        "activation": activation,
        "act_mean": 0.5,
        "act_spread": spread,
        "weight_rms": rms,
        "he_gain": gain,
        "nonfinite": 0,
        "symmetric": False,
        "dead_share": 0.1 if activation == "relu" else None,
        "saturated_share": 0.05 if activation in ("sigmoid", "tanh") else None,
        "grad_norm": None,
        "update_ratio": None,
    }
    entry.update(extra)
    return entry


def network(depth=3, *, activation="relu", n_classes=10, **extra):
    """Entries for `depth` hidden layers and the output layer (identity)."""
    sizes = [784] + [64] * depth + [n_classes]
    return [
        layer(i, n_in=sizes[i], n_out=sizes[i + 1],
              activation=activation if i < depth else "identity", **extra)
        for i in range(depth + 1)
    ]


def record(layers, *, step=0, loss=2.3, accuracy=0.1, top_share=0.12, update=None,
           input_spread=1.0):
    layers = [dict(e) for e in layers]
    if update is not None:
        for e in layers:
            e["update_ratio"] = update
            e["grad_norm"] = 0.1
    return {
        "step": step,
        "epoch": 1,
        "layers": layers,
        "top_class": 3,
        "top_class_share": top_share,
        "probe_loss": loss,
        "probe_accuracy": accuracy,
        "positive_weights": False,
        "input_spread": input_spread,
    }


def healthy_run(depth=3, activation="relu", steps=10):
    """A run whose loss falls from ln 10 to 0.1 with steps of 1e-3 of the weights."""
    records = [record(network(depth, activation=activation))]
    for k in range(1, steps + 1):
        loss = 2.3 * (0.1 / 2.3) ** (k / steps)
        records.append(record(network(depth, activation=activation), step=10 * k, loss=loss,
                              accuracy=0.95, update=1e-3))
    return records


@pytest.fixture
def make():
    """The builders, as a namespace: make.layer, make.network, make.record, make.healthy_run."""

    class Builders:
        pass

    builders = Builders()
    builders.layer, builders.network, builders.record = layer, network, record
    builders.healthy_run = healthy_run
    return builders
