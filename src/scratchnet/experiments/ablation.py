"""Why the notebook's deep network failed: remove its causes one at a time.

Starting from experiment (h) as written, each cause is fixed alone (to see what it costs on
its own) and cumulatively (to see the path to a working network), with the test accuracy of
each variant. Causes: the bias update that never reaches the bias, the min-max softmax, the
initialisation scale, and summed gradients with their learning rate. Prints nothing.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..data.features import images_to_features, validation_split
from ..nn import SoftmaxCrossEntropy, mlp
from ..nn.init import Uniform, Zeros
from ..threads import threads_for_network
from ..train import fit
from .legacy import MinMaxSoftmaxLoss, NotebookSGD
from .notebook import N_CLASSES, _test_accuracy, get_experiments

#: The causes, in the order the cumulative path removes them, with a line on each.
CAUSES = (
    ("bias", "the bias update reaches the bias (the notebook wrote it to `self.db`)"),
    ("softmax", "a true softmax cross-entropy instead of the min-max 'softmax_modified'"),
    ("init", "He initialisation instead of weights uniform on [0, 0.01)"),
    ("mean", "mean gradients with a learning rate chosen on validation, and shuffling"),
)
LR_GRID = (0.01, 0.03, 0.1, 0.3)
VALIDATION_SIZE = 5000


@dataclasses.dataclass
class AblationRow:
    label: str
    fixes: tuple[str, ...]
    accuracy: float  # percent, test set
    final_loss: float
    learning_rate: float
    seconds: float


def train_variant(
    fixes: set[str],
    data,
    *,
    passes: int,
    learning_rate: float,
    seed: int = 0,
    validation_size: int = VALIDATION_SIZE,
):
    """Experiment (h) with the given causes fixed; returns (test accuracy %, loss, seconds).

    With "mean" fixed, `validation_size` training images are held out (as when its learning
    rate was chosen) and the network trains on the rest."""
    (x_train, y_train), (x_test, y_test) = data
    (setting,) = get_experiments(["h"])[0].settings
    rng = np.random.default_rng(seed)
    mean = "mean" in fixes
    if mean:
        # The learning rate is chosen on held-out data, so train on the rest.
        (x, labels), _ = validation_split(
            images_to_features(x_train, np.float64),
            y_train.astype(np.int64),
            validation_size,
            rng=rng,
        )
    else:
        x, labels = images_to_features(x_train, np.float64), y_train.astype(np.int64)
    he = "init" in fixes
    model = mlp(
        784,
        setting.hidden,
        N_CLASSES,
        weight_init="he-normal" if he else Uniform(0.0, 0.01),
        bias_init=Zeros() if he else Uniform(0.0, 0.01),
        rng=rng,
        dtype=np.float64,
    )
    reduction = "mean" if mean else "sum"
    loss = (
        SoftmaxCrossEntropy(reduction=reduction)
        if "softmax" in fixes
        else MinMaxSoftmaxLoss(reduction=reduction)
    )
    # With mean gradients the bias gradient is already an average: no further division.
    optimizer = NotebookSGD(
        learning_rate, batch_size=1 if mean else setting.batch_size, update_bias="bias" in fixes
    )
    started = time.perf_counter()
    final_loss = float("nan")
    try:
        with threads_for_network([784, *setting.hidden, N_CLASSES], setting.batch_size):
            history = fit(
                model,
                loss,
                optimizer,
                (x, labels),
                epochs=passes,
                batch_size=setting.batch_size,
                shuffle=mean,
                rng=rng if mean else None,
            )
        final_loss = history.last("loss")
    except FloatingPointError:
        pass
    seconds = time.perf_counter() - started
    return (
        _test_accuracy(model, images_to_features(x_test, np.float64), y_test),
        final_loss,
        seconds,
    )


def _choose_lr(fixes: set[str], data, *, seed: int, validation_size: int) -> float:
    """The grid's best rate on the validation split after one pass (mean-gradient variants)."""
    (x_train, y_train), _ = data
    rng = np.random.default_rng(seed)
    (x_fit, y_fit), (x_val, y_val) = validation_split(x_train, y_train, validation_size, rng=rng)
    scores = {}
    for lr in LR_GRID:
        # Train on the 55,000 and score on the 5,000: the test set stays untouched.
        accuracy, _, _ = train_variant(
            fixes,
            ((x_fit, y_fit), (x_val, y_val)),
            passes=1,
            learning_rate=lr,
            seed=seed,
            validation_size=validation_size,
        )
        scores[lr] = accuracy
    return max(LR_GRID, key=lambda lr: (scores[lr], -lr))


def run_ablation(
    data, *, passes: int, seed: int = 0, on_row=None, validation_size: int = VALIDATION_SIZE
) -> list[AblationRow]:
    """The as-written baseline, each cause fixed alone, then fixed cumulatively.

    Rows whose fixes include "mean" choose their learning rate from LR_GRID on
    `validation_size` held-out training images; the test set scores each variant once."""
    (setting,) = get_experiments(["h"])[0].settings
    variants: list[tuple[str, tuple[str, ...]]] = [("as written", ())]
    variants += [(f"fix only: {text}", (name,)) for name, text in CAUSES]
    cumulative: tuple[str, ...] = ()
    for name, text in CAUSES:
        cumulative = (*cumulative, name)
        if len(cumulative) > 1:
            variants.append((f"fix {len(cumulative)} causes: + {text}", cumulative))
    rows = []
    for label, fixes in variants:
        lr = setting.learning_rate
        if "mean" in fixes:
            lr = _choose_lr(set(fixes), data, seed=seed, validation_size=validation_size)
        accuracy, final_loss, seconds = train_variant(
            set(fixes),
            data,
            passes=passes,
            learning_rate=lr,
            seed=seed,
            validation_size=validation_size,
        )
        row = AblationRow(label, fixes, accuracy, final_loss, lr, seconds)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
