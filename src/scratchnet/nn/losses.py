"""Losses: softmax cross-entropy fused from logits, binary cross-entropy from logits, MSE.

A loss takes the network's raw outputs and the targets and returns the loss and its gradient
with respect to those outputs in one call. reduction="mean" (default) averages over the batch;
reduction="sum" sums, which is what the user's notebook's gradients did.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .activations import log_softmax, sigmoid

REDUCTIONS = ("mean", "sum")


def check_outputs(outputs: Any, name: str = "logits") -> tuple[int, int]:
    """(batch, k) of a float array of network outputs, or a ValueError saying what is wrong.

    NaN and infinity are let through: a non-finite loss is how training notices divergence.
    """
    if not isinstance(outputs, np.ndarray) or outputs.ndim != 2 or outputs.dtype.kind != "f":
        kind = getattr(outputs, "dtype", type(outputs).__name__)
        raise ValueError(
            f"{name} must be a float array of shape (batch, classes); received shape "
            f"{np.shape(outputs)} of {kind}"
        )
    if 0 in outputs.shape:
        raise ValueError(
            f"{name} must hold at least one example and one class; received shape {outputs.shape}"
        )
    return outputs.shape


def check_labels(labels: np.ndarray, n_classes: int, batch: int) -> np.ndarray:
    """Integer class labels (batch,) within [0, n_classes), or a ValueError saying what is wrong."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != batch:
        raise ValueError(
            f"labels must have shape ({batch},) to match the logits; received shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu":  # signed or unsigned integers (not bool)
        raise ValueError(f"labels must be integers; received dtype {labels.dtype}")
    # One reduction instead of two in the common case: seen as unsigned, a negative label is
    # huge, so max < n_classes holds exactly when every label is in [0, n_classes).
    if batch and labels.view(labels.dtype.str.replace("i", "u")).max() >= n_classes:
        raise ValueError(
            f"labels must be in [0, {n_classes}); received values from {labels.min()} "
            f"to {labels.max()}"
        )
    return labels


class Loss:
    """Base class: `loss(outputs, targets) -> (value, grad)`; `value()` skips the gradient."""

    name = "loss"

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be 'mean' or 'sum'; received reduction={reduction!r}")
        self.reduction = reduction

    def __call__(self, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def value(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The loss alone (no gradient); same reduction."""
        return self(outputs, targets)[0]

    def _reduce(self, per_example: np.ndarray) -> float:
        total = float(np.sum(per_example, dtype=np.float64))
        return total / per_example.shape[0] if self.reduction == "mean" else total

    def _scale(self, batch: int) -> float:
        return 1.0 / batch if self.reduction == "mean" else 1.0

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class SoftmaxCrossEntropy(Loss):
    """L = -sum_j target_j log softmax(logits)_j, averaged (or summed) over the batch, where
    target = (1 - s) one_hot(label) + s / k (label smoothing s; s = 0 gives -log p[label]).

    logits: (batch, k) floats; labels: (batch,) integers in [0, k) -> (float, (batch, k)).
    Fused and stable: log-softmax is computed with the max-shifted log-sum-exp, so logits of
    +-1e4 give a finite loss and gradient.

    Parameters
    ----------
    reduction : 'mean' (default) or 'sum'
    label_smoothing : float, default 0.0
        s in [0, 1): the share of each target spread evenly over all k classes (Szegedy et
        al. 2016), which keeps the network from pushing its logits ever further apart.
    """

    name = "softmax_cross_entropy"

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        # Row offsets into the flat logits, kept for the next call with the same shape.
        self._offsets: np.ndarray | None = None
        self._offsets_key: tuple[int, int] | None = None

    def __call__(self, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        batch, n_classes = check_outputs(logits)
        labels = check_labels(labels, n_classes, batch)
        log_probs = log_softmax(logits)
        # Row r's label sits at flat position r * k + label: one flat gather (and scatter
        # below) is cheaper than the two-array fancy index log_probs[rows, labels].
        flat_index = self._flat_index(labels, n_classes)
        flat = log_probs.reshape(-1)
        value = self._reduce(self._per_example(log_probs, flat.take(flat_index)))
        # d/dz_j [-log softmax(z)_y] = softmax(z)_j - [j == y], exactly: the softmax Jacobian and
        # the log's 1/p cancel. So the gradient is (probs - one_hot), divided by the batch size
        # for the mean. No division by a probability happens, so nothing can blow up.
        # With smoothing, -sum_j t_j log p_j has gradient p_i * sum_j t_j - t_i = p_i - t_i,
        # exactly, because the smoothed targets still sum to 1: (probs - target) / batch.
        # probs - target is written as probs - s / k, then - (1 - s) at the label: no dense
        # one-hot is built.
        grad = np.exp(log_probs, out=log_probs)
        smoothing = self.label_smoothing
        if smoothing:
            grad -= smoothing / n_classes
        flat[flat_index] -= 1 - smoothing
        grad *= self._scale(batch)
        return value, grad

    def value(self, logits: np.ndarray, labels: np.ndarray) -> float:
        batch, n_classes = check_outputs(logits)
        labels = check_labels(labels, n_classes, batch)
        log_probs = log_softmax(logits)
        picked = log_probs.reshape(-1).take(self._flat_index(labels, n_classes))
        return self._reduce(self._per_example(log_probs, picked))

    def _flat_index(self, labels: np.ndarray, n_classes: int) -> np.ndarray:
        """r * n_classes + labels[r] for each row r: the labels' positions in the flat logits."""
        key = (labels.shape[0], n_classes)
        if self._offsets_key != key:
            self._offsets = np.arange(0, key[0] * n_classes, n_classes, dtype=np.intp)
            self._offsets_key = key
        return self._offsets + labels

    def _per_example(self, log_probs: np.ndarray, picked: np.ndarray) -> np.ndarray:
        """-sum_j target_j log p_j per example: (batch,), from picked = log p[label].

        = -(1 - s) log p[label] - (s / k) sum_j log p_j, which needs no one-hot matrix.
        """
        smoothing = self.label_smoothing
        if not smoothing:
            return -picked
        spread = log_probs.sum(axis=1, dtype=np.float64) / log_probs.shape[1]
        return (1 - smoothing) * -picked - smoothing * spread

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.label_smoothing:
            config["label_smoothing"] = self.label_smoothing
        return config

    def __repr__(self) -> str:
        text = f"{type(self).__name__}(reduction={self.reduction!r}"
        if self.label_smoothing:
            text += f", label_smoothing={self.label_smoothing!r}"
        return text + ")"


def _check_label_smoothing(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1); received label_smoothing={value!r}"
        )
    smoothing = float(value)
    if not (math.isfinite(smoothing) and 0.0 <= smoothing < 1.0):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1); received label_smoothing={value!r}"
        )
    return smoothing


class BinaryCrossEntropy(Loss):
    """L = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], from logits z, summed over outputs.

    logits: (batch, k); targets: same shape (or (batch,) when k == 1), values in [0, 1].
    Stable form: max(z, 0) - z y + log(1 + exp(-|z|)); gradient sigmoid(z) - y.
    """

    name = "binary_cross_entropy"

    def __call__(self, logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        check_outputs(logits)
        targets = self._targets(logits, targets)
        per_element = np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
        value = self._reduce(per_element.reshape(logits.shape[0], -1).sum(axis=1))
        grad = (sigmoid(logits) - targets) * self._scale(logits.shape[0])
        return value, grad.astype(logits.dtype, copy=False)

    @staticmethod
    def _targets(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
        targets = np.asarray(targets)
        if targets.ndim == 1 and logits.ndim == 2 and logits.shape[1] == 1:
            targets = targets.reshape(-1, 1)
        if targets.shape != logits.shape:
            raise ValueError(
                f"targets must have the logits' shape {logits.shape}; received {targets.shape}"
            )
        if not np.isfinite(targets).all():
            raise ValueError("binary cross-entropy targets contain NaN or infinite values")
        if targets.size and (targets.min() < 0 or targets.max() > 1):
            raise ValueError("binary cross-entropy targets must lie in [0, 1]")
        return targets.astype(logits.dtype, copy=False)


class MeanSquaredError(Loss):
    """L = sum_j (outputs_j - targets_j)^2 / 2 per example, averaged (or summed) over the batch.

    outputs: (batch, k); targets: same shape, or integer labels (batch,) taken as one-hot.
    The 1/2 makes the gradient plainly (outputs - targets).
    """

    name = "mse"

    def __call__(self, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        check_outputs(outputs, "outputs")
        targets = np.asarray(targets)
        if targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer):
            labels = check_labels(targets, outputs.shape[1], outputs.shape[0])
            targets = np.zeros_like(outputs)
            targets[np.arange(outputs.shape[0]), labels] = 1
        if targets.shape != outputs.shape:
            raise ValueError(
                f"targets must have the outputs' shape {outputs.shape} or be integer labels; "
                f"received shape {targets.shape}"
            )
        diff = outputs - targets.astype(outputs.dtype, copy=False)
        value = self._reduce(0.5 * np.square(diff).reshape(outputs.shape[0], -1).sum(axis=1))
        return value, diff * self._scale(outputs.shape[0])


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (SoftmaxCrossEntropy, BinaryCrossEntropy, MeanSquaredError)
}


def get_loss(spec: str | Loss, reduction: str = "mean") -> Loss:
    """A Loss from its name ('softmax_cross_entropy' or 'cross_entropy', 'binary_cross_entropy',
    'mse') or a Loss instance (returned as is)."""
    if isinstance(spec, Loss):
        return spec
    key = str(spec).lower().replace("-", "_")
    key = {
        "cross_entropy": "softmax_cross_entropy",
        "ce": "softmax_cross_entropy",
        "bce": "binary_cross_entropy",
    }.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(sorted(LOSSES))}; received {spec!r}")
    return LOSSES[key](reduction=reduction)
