"""The user's notebook's own training choices, ported faithfully: NOT library features.

These reproduce what the notebook did so that its results can be rerun and explained:
its plain SGD step (weight gradients summed over the batch, bias gradients averaged, or for its
general `NeuralNetwork` a bias update that never reaches the bias) and its min-max
"softmax_modified". Use them to study the notebook; build new networks with scratchnet.nn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.activations import softmax
from ..nn.losses import Loss, check_labels
from ..optim.optimizer import Optimizer


class NotebookSGD(Optimizer):
    """The notebook's update: weight -= lr * dW with dW summed over the batch.

    Its NeuralNetwork_2/_3 averaged the bias gradient (`db = np.average(dz, axis=1)`) while
    summing the weight gradient; its general `NeuralNetwork` wrote the new bias to `self.db`,
    so the bias never changed (update_bias=False). Pair with a loss of reduction="sum".

    Parameters
    ----------
    learning_rate : float
    batch_size : int
        To turn the summed bias gradient back into the notebook's average.
    update_bias : bool, default True
    """

    def __init__(self, learning_rate: float, *, batch_size: int, update_bias: bool = True):
        super().__init__(learning_rate)
        self.batch_size = int(batch_size)
        self.update_bias = bool(update_bias)

    def _update(self, key, param, grad, grad_scale: float = 1.0) -> None:
        step = self.learning_rate * grad_scale
        if key[1] == "bias":
            if self.update_bias:
                param -= (step / self.batch_size) * grad
            return
        param -= step * grad

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "update_bias": self.update_bias,
        }


def minmax_softmax(logits: np.ndarray) -> np.ndarray:
    """The notebook's softmax_modified: z -> (z - min z) / (max z - min z), then softmax.

    min and max are taken over the whole batch matrix, not per example, so every logit is
    squeezed into [0, 1]: the largest probability can never exceed e / (e + k - 1), about 0.23
    for k = 10 classes, and the loss can never fall much below 1.5.
    """
    low, high = logits.min(), logits.max()
    spread = high - low
    scaled = (logits - low) / spread if spread > 0 else np.zeros_like(logits)
    return softmax(scaled)


class MinMaxSoftmaxLoss(Loss):
    """The notebook's general network's output: cross-entropy of minmax_softmax, with the
    gradient it used, probs - one_hot (summed), which is NOT the gradient of this loss: it
    ignores the min-max scaling. Kept only to reproduce the notebook."""

    name = "notebook_minmax_softmax"

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction=reduction)

    def __call__(self, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        batch, n_classes = logits.shape
        labels = check_labels(labels, n_classes, batch)
        probs = minmax_softmax(logits)
        rows = np.arange(batch)
        value = self._reduce(-np.log(probs[rows, labels]))
        grad = probs
        grad[rows, labels] -= 1
        grad *= self._scale(batch)
        return value, grad

    def value(self, logits: np.ndarray, labels: np.ndarray) -> float:
        batch, n_classes = logits.shape
        labels = check_labels(labels, n_classes, batch)
        return self._reduce(-np.log(minmax_softmax(logits)[np.arange(batch), labels]))
