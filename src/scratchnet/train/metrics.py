"""Classification metrics from integer labels: accuracy, confusion matrix, per-class scores."""

from __future__ import annotations

import numpy as np


def _check(labels: np.ndarray, predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(
            f"labels and predictions must be 1-D and of equal length; received {labels.shape} "
            f"and {predictions.shape}"
        )
    return labels, predictions


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Share of predictions equal to the labels, in [0, 1]; (n,), (n,) -> float."""
    labels, predictions = _check(labels, predictions)
    if labels.size == 0:
        raise ValueError("accuracy of an empty set is undefined (0 examples)")
    return float(np.mean(labels == predictions))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j] = number of examples of true class i predicted as j; -> (k, k) int64."""
    labels, predictions = _check(labels, predictions)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} must be in [0, {n_classes})")
    flat = labels.astype(np.int64) * n_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix (k, k).

    precision_j = C[j, j] / sum_i C[i, j]; recall_i = C[i, i] / sum_j C[i, j]; a class never
    predicted (or absent) gets 0 rather than a division by zero.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    correct = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros_like(correct), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}
