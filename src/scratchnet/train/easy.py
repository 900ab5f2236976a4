"""The keras-style conveniences behind `model.fit(x, y)` and `model.evaluate(x, y)`.

Thin wrappers over the explicit core (scratchnet.train.fit and evaluate, a Loss and an
Optimizer object): they only choose defaults, hold out a validation share and add a progress
bar. Everything they do can be written out with the core objects, which stay the documented way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.features import validation_split as split_off
from .callbacks import Callback, ProgressBar
from .fit import evaluate, fit
from .history import History, Scores

# SGD's own default (0.01) is slow for mean gradients on MNIST; 0.1 is the README's rate. Other
# optimisers keep their constructor's default (Adam, AdamW 1e-3, RMSprop 1e-3).
DEFAULT_RATES = {"sgd": 0.1}


def _loss(loss: Any):
    if loss is None:
        from ..nn import SoftmaxCrossEntropy

        return SoftmaxCrossEntropy()
    return loss


def _optimizer(optimizer: Any, learning_rate: float | None):
    if not isinstance(optimizer, str):
        if learning_rate is not None:
            raise ValueError(
                "learning_rate= is for an optimiser given by name; set it on the optimiser "
                f"object instead (received optimizer={optimizer!r})"
            )
        return optimizer
    from ..optim import get_optimizer

    if learning_rate is None:
        learning_rate = DEFAULT_RATES.get(optimizer.lower())
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    return get_optimizer(optimizer, **kwargs)


def _labels(y: Any, n: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"y must have shape ({n},) to match x; received shape {labels.shape}")
    return labels


def fit_model(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: Any = "sgd",
    learning_rate: float | None = None,
    loss: Any = None,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    callbacks: Sequence[Callback] = (),
    seed: int = 0,
    progress: bool = False,
) -> History:
    """What Sequential.fit does: see there. Returns the History of scratchnet.train.fit."""
    x = model.check_input(x)
    labels = _labels(y, x.shape[0])
    rng = np.random.default_rng(seed)
    if not (isinstance(validation_split, int | float) and 0 <= validation_split < 1):
        raise ValueError(
            f"validation_split must be a share in [0, 1); received {validation_split!r}"
        )
    if validation_split and validation_data is not None:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_split:
        size = int(round(validation_split * x.shape[0]))
        (x, labels), validation_data = split_off(x, labels, size, rng=rng)
    elif validation_data is not None:
        x_val, y_val = validation_data
        x_val = model.check_input(x_val)
        validation_data = (x_val, _labels(y_val, x_val.shape[0]))
    all_callbacks = [*callbacks, ProgressBar()] if progress else list(callbacks)
    return fit(
        model,
        _loss(loss),
        _optimizer(optimizer, learning_rate),
        (x, labels),
        epochs=epochs,
        batch_size=batch_size,
        validation=validation_data,
        callbacks=all_callbacks,
        rng=rng,
    )


def evaluate_model(model, x: np.ndarray, y: np.ndarray, *, loss: Any = None) -> Scores:
    """What Sequential.evaluate does: scratchnet.train.evaluate with a default loss."""
    x = model.check_input(x)
    return evaluate(model, _loss(loss), x, _labels(y, x.shape[0]))
