"""Losses: softmax cross-entropy fused from logits, binary cross-entropy from logits, MSE.

A loss takes the network's raw outputs and the targets and returns the loss and its gradient
with respect to those outputs in one call. reduction="mean" (default) averages over the batch;
reduction="sum" sums, which is what the user's notebook's gradients did.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .activations import sigmoid

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


_UNSIGNED = {np.dtype(f"i{size}"): np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


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
    unsigned = _UNSIGNED.get(labels.dtype) or labels.dtype.str.replace("i", "u")  # any order
    if batch and labels.view(unsigned).max() >= n_classes:
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
        total = float(per_example.sum(dtype=np.float64))
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
    +-1e4 give a finite loss and gradient. The gradient is a new (batch, k) array, laid out
    class-major (Fortran order, a transposed view): the layer below reads either order, and
    working down columns takes 0.64-0.70x the time of a row-major log-softmax on batches of
    100-128 (benchmarks/results/kernels.md).

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
        # arange(batch), kept for the next call with the same batch size.
        self._rows: np.ndarray | None = None

    def __call__(self, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        exp, sums, flat_index, per_example = self._forward(logits, labels)
        batch, n_classes = logits.shape
        value = self._reduce(per_example)
        # d/dz_j [-log softmax(z)_y] = softmax(z)_j - [j == y], exactly: the softmax Jacobian and
        # the log's 1/p cancel. So the gradient is (probs - one_hot), divided by the batch size
        # for the mean. No division by a probability happens, so nothing can blow up.
        # With smoothing, -sum_j t_j log p_j has gradient p_i * sum_j t_j - t_i = p_i - t_i,
        # exactly, because the smoothed targets still sum to 1: (probs - target) / batch.
        # probs - target is written as probs - s / k, then - (1 - s) at the label: no dense
        # one-hot is built.
        scale = self._scale(batch)
        smoothing = self.label_smoothing
        np.multiply(exp, np.divide(scale, sums, out=sums), out=exp)
        if smoothing:
            exp -= scale * smoothing / n_classes
        exp.reshape(-1)[flat_index] -= scale * (1 - smoothing)
        # (k, batch) -> a (batch, k) view: the layer below reads it as is (BLAS takes either
        # order), so no copy back is needed.
        return value, exp.T

    def value(self, logits: np.ndarray, labels: np.ndarray) -> float:
        return self._reduce(self._forward(logits, labels)[3])

    def _forward(
        self, logits: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The shared first half: (exp, sums, flat_index, per-example loss).

        Works class-major, on a (k, batch) copy of the logits: the max and the sum per example
        are then reductions down contiguous columns, 2-3x faster than along each short row of
        k logits. exp[j, r] = exp(z_rj - max_j z_rj) and sums[r] = sum_j exp[j, r] (so
        softmax = exp / sums); flat_index locates each example's label in exp.reshape(-1).
        The max shift keeps exp finite (logits of +-1e4 give a finite loss and gradient).
        """
        batch, n_classes = check_outputs(logits)
        labels = check_labels(labels, n_classes, batch)
        shifted = np.array(logits.T, order="C")  # always a copy: logits are never modified
        shifted -= shifted.max(axis=0)
        # Example r's label sits at flat position label * batch + r: one flat gather (and
        # scatter in __call__) is cheaper than the two-array fancy index shifted[labels, rows].
        if self._rows is None or self._rows.shape[0] != batch:
            self._rows = np.arange(batch, dtype=np.intp)
        flat_index = np.multiply(labels, batch, dtype=np.intp)  # (uint8 labels would wrap)
        flat_index += self._rows
        picked = shifted.reshape(-1).take(flat_index)  # z_label - max
        smoothing = self.label_smoothing
        spread = shifted.sum(axis=0, dtype=np.float64) / n_classes if smoothing else None
        exp = np.exp(shifted, out=shifted)
        sums = exp.sum(axis=0)
        # -log p_label = log(sum_j exp(z_j - max)) - (z_label - max)
        log_sums = np.log(sums)
        per_example = np.subtract(log_sums, picked, out=log_sums)
        if smoothing:
            # -sum_j t_j log p_j = -(1 - s) log p_label - (s / k) sum_j log p_j, where
            # (1 / k) sum_j log p_j = mean_j (z_j - max) - log_sum: no one-hot matrix needed.
            per_example = (1 - smoothing) * per_example - smoothing * (spread - np.log(sums))
        return exp, sums, flat_index, per_example

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
