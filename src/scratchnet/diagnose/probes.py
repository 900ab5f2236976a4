"""Probes: a training callback that records what a network does while it learns.

Every few steps it reads, per Dense layer: the activations on a fixed probe batch (mean,
spread across examples, dead ReLUs, saturated sigmoid/tanh units), the weight gradient's norm
and the update-to-weight ratio; and for the network, the loss and the share of the most
predicted class. It only reads: the engine does not change for it. findings.py interprets.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..nn.activations import Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.dense import Dense
from ..train.callbacks import Callback, TrainingState

#: |tanh| above this, or sigmoid outside [1 - this, this] counts as saturated.
SATURATION = 0.99


def _activation_of(layers: list, index: int) -> Activation | None:
    """The nonlinearity applied to Dense layer `index`'s output: its own or the next layer's."""
    layer = layers[index]
    if isinstance(layer, Dense) and type(layer.activation).__name__ != "Identity":
        return layer.activation
    for following in layers[index + 1 :]:
        if isinstance(following, Dense):
            return None
        if isinstance(following, Activation):
            return following
    return None


def layer_statistics(model, x: np.ndarray, *, first: bool = True) -> list[dict[str, Any]]:
    """Per Dense layer, statistics of its (activated) output on the probe batch x.

    first=False leaves out what only the first record needs (whether the units are copies of
    one another): the probe is cheaper on every later record."""
    stats = []
    layers = list(model.layers)
    with np.errstate(all="ignore"):
        outputs = []
        h = model.check_input(x) if hasattr(model, "check_input") else x
        for layer in layers:
            h = layer.forward(h, training=False)
            outputs.append(h)
    for index, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            continue
        activation = _activation_of(layers, index)
        # The output after the activation: for a separate activation layer, its output.
        out = outputs[index]
        if activation is not None and not isinstance(layer.activation, type(activation)):
            out = outputs[min(index + 1 + _offset(layers, index, activation), len(layers) - 1)]
        out = np.asarray(out, dtype=np.float64)
        finite = bool(np.isfinite(out).all())
        mean_square = _norm(layer.weight) ** 2 / max(layer.weight.size, 1)
        entry: dict[str, Any] = {
            "index": index,
            "n_in": layer.n_in,
            "n_out": layer.n_out,
            "activation": getattr(activation, "name", "identity"),
            "act_mean": float(np.mean(out)) if finite else math.nan,
            # Spread across examples, averaged over units: the signal that tells inputs apart.
            "act_spread": float(np.mean(np.std(out, axis=0))) if finite else math.nan,
            "weight_rms": math.sqrt(mean_square),
            # sqrt(n_in * E[w^2] / 2): 1 for He initialisation, the scale that keeps a ReLU
            # network's signal constant from layer to layer.
            "he_gain": math.sqrt(layer.n_in * mean_square / 2),
            "nonfinite": int(np.size(out) - np.count_nonzero(np.isfinite(out))),
            # Every unit of the layer the same (constant or zero init): they stay the same.
            "symmetric": _symmetric(layer.weight) if first else None,
            # The spread that tells images apart (beyond their strongest common direction):
            # only the first record's vanishing test needs it.
            "distinct_spread": distinct_spread(out) if first and finite else None,
            "dead_share": None,
            "saturated_share": None,
        }
        if isinstance(activation, ReLU | LeakyReLU) and finite:
            entry["dead_share"] = float(np.mean(np.all(out <= 0, axis=0)))
        elif isinstance(activation, Sigmoid) and finite:
            entry["saturated_share"] = float(np.mean((out > SATURATION) | (out < 1 - SATURATION)))
        elif isinstance(activation, Tanh) and finite:
            entry["saturated_share"] = float(np.mean(np.abs(out) > SATURATION))
        stats.append(entry)
    stats_logits = outputs[-1]
    return stats, stats_logits


def _symmetric(weight: np.ndarray) -> bool:
    """Whether all columns (units) of `weight` are equal: no random draw makes them so."""
    if weight.ndim != 2 or weight.shape[1] < 2:
        return False
    return bool(np.all(weight == weight[:, :1]))


def _norm(array: np.ndarray) -> float:
    """The Frobenius norm, summed in float64 without BLAS (a BLAS dot of a long vector asks
    for threads that a loaded machine makes slow)."""
    flat = np.asarray(array, dtype=np.float64).ravel()
    return float(np.sqrt(np.sum(flat * flat)))


def distinct_spread(x: np.ndarray) -> float:
    """The rms spread across the batch left after removing its single strongest direction.

    x: (batch, features). Centred per feature (the part shared by every image goes), then the
    top principal component goes too: one direction can only order the images along one
    number (overall ink, say), not tell ten classes apart. A signal that keeps its size but
    collapses onto one direction (all-positive weights make every unit an average of the layer
    below) has no distinct spread left, though its plain spread survives.
    """
    with np.errstate(all="ignore"):
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if x.shape[0] < 3 or x.shape[1] < 2 or not np.isfinite(x).all():
            return math.nan if not np.isfinite(x).all() else 0.0
        centred = x - x.mean(axis=0)
        gram = centred @ centred.T if x.shape[0] < x.shape[1] else centred.T @ centred
        rest = float(np.trace(gram)) - _top_eigenvalue(gram)
        return math.sqrt(max(rest, 0.0) / x.size)


def _top_eigenvalue(gram: np.ndarray, steps: int = 40) -> float:
    """The largest eigenvalue of a symmetric positive semi-definite matrix, by power iteration
    (a full eigendecomposition asks LAPACK for threads a loaded machine makes seconds slow).
    The Rayleigh quotient approaches it from below, so the spread left is never understated;
    a collapsed signal (one direction far above the rest) converges in a few steps, and a
    healthy one needs no more precision than 40 steps give."""
    vector = gram[:, int(np.argmax(np.diag(gram)))].copy()
    value = 0.0
    for _ in range(steps):
        norm = float(np.sqrt(np.sum(vector * vector)))
        if norm == 0:
            return 0.0
        vector /= norm
        following = gram @ vector
        estimate = float(vector @ following)
        if abs(estimate - value) <= 1e-12 * abs(estimate):
            return estimate
        value, vector = estimate, following
    return value


def input_spread(x: np.ndarray) -> float:
    """The spread of the inputs across examples, averaged over features (as act_spread)."""
    with np.errstate(all="ignore"):
        value = float(np.mean(np.std(np.asarray(x, dtype=np.float64), axis=0)))
    return value


def _offset(layers: list, index: int, activation: Activation) -> int:
    for offset, following in enumerate(layers[index + 1 :]):
        if following is activation:
            return offset
    return 0


class TrainingProbe(Callback):
    """Record layer statistics at the start, every `every` steps, and at each epoch's end.

    Parameters
    ----------
    x, labels : arrays, optional
        The probe batch (features, integer labels). Default: the first `size` examples of the
        validation set that fit() was given.
    size : int, default 1000
    every : int, optional
        Steps between records; default about 5 records per epoch.
    """

    def __init__(
        self,
        x: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        size: int = 1000,
        every: int | None = None,
    ) -> None:
        self.x = x
        self.labels = labels
        self.size = int(size)
        self.every = every
        self.records: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []  # fit's per-epoch rows, as training went
        self.seconds = 0.0  # time spent probing (benchmarks/bench_diagnose.py measures it)
        self.n_classes: int | None = None
        self._before: dict[int, np.ndarray] = {}
        self._interval = 1

    def on_train_begin(self, state: TrainingState) -> None:
        if self.x is None:
            validation = getattr(state, "validation", None)
            if validation is None:
                raise ValueError(
                    "TrainingProbe needs probe data: pass x= and labels=, or give fit() a "
                    "validation set"
                )
            self.x, self.labels = validation
        self.x = np.asarray(self.x)[: self.size]
        self.labels = None if self.labels is None else np.asarray(self.labels)[: self.size]
        self.n_classes = state.model.n_out
        self._interval = self.every or max(1, state.steps_per_epoch // 5)
        self.records, self.history, self.seconds = [], [], 0.0
        self._record(state, step=0, batch_loss=math.nan, grads=False)
        self.records[0]["input_spread"] = input_spread(self.x)
        self.records[0]["input_distinct_spread"] = distinct_spread(self.x)

    def on_epoch_end(self, state: TrainingState) -> None:
        self.history.append(dict(state.logs))

    def _due(self, state: TrainingState) -> bool:
        return state.global_step % self._interval == 0 or state.step == state.steps_per_epoch

    def on_batch_begin(self, state: TrainingState) -> None:
        started = time.perf_counter()
        # global_step counts completed steps: this batch ends as step global_step + 1.
        upcoming = state.global_step + 1
        if upcoming % self._interval == 0 or state.step == state.steps_per_epoch:
            self._before = {
                i: layer.weight.copy()
                for i, layer in enumerate(state.model.layers)
                if isinstance(layer, Dense)
            }
        self.seconds += time.perf_counter() - started

    def needs_gradients(self, state: TrainingState) -> bool:
        return bool(self._before)  # set by on_batch_begin on the steps it records

    def on_batch_end(self, state: TrainingState) -> None:
        if self._due(state) and self._before:
            started = time.perf_counter()
            self._record(state, step=state.global_step, batch_loss=state.batch_loss, grads=True)
            self._before = {}
            self.seconds += time.perf_counter() - started

    def _record(self, state: TrainingState, *, step: int, batch_loss: float, grads: bool) -> None:
        model = state.model
        layers, logits = layer_statistics(model, self.x, first=not self.records)
        for entry in layers:
            layer = model.layers[entry["index"]]
            if grads:
                grad = layer.grads["weight"]
                entry["grad_norm"] = _norm(grad)
                before = self._before.get(entry["index"])
                if before is not None:
                    change = _norm(layer.weight - before)
                    size = _norm(before)
                    entry["update_ratio"] = float(change / size) if size > 0 else math.inf
                entry["nonfinite"] += int(np.size(grad) - np.count_nonzero(np.isfinite(grad)))
            else:
                entry["grad_norm"] = None
                entry["update_ratio"] = None
        weights = [layer.weight for layer in model.layers if isinstance(layer, Dense)]
        record: dict[str, Any] = {
            "positive_weights": all(bool(np.all(w >= 0)) for w in weights) if not self.records
            else None,
            "step": step,
            "epoch": state.epoch,
            "batch_loss": batch_loss,
            "layers": layers,
        }
        with np.errstate(all="ignore"):
            finite = np.isfinite(logits).all()
            predictions = logits.argmax(axis=1)
            counts = np.bincount(predictions, minlength=model.n_out)
            record["top_class"] = int(counts.argmax())
            record["top_class_share"] = float(counts.max() / max(len(predictions), 1))
            if self.labels is not None and finite:
                value = float(state.loss.value(logits, self.labels))
                # Always the mean per example, whatever the loss's reduction.
                record["probe_loss"] = (
                    value / len(self.labels) if (state.loss.reduction == "sum") else value
                )
                record["probe_accuracy"] = float(np.mean(predictions == self.labels))
            else:
                record["probe_loss"] = math.nan if not finite else None
                record["probe_accuracy"] = None
        self.records.append(record)
