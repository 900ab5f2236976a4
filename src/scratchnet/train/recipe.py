"""One training run from a plain configuration: data set in, trained network and scores out.

TrainConfig holds every setting (validated, JSON-able); train_classifier loads the data, holds
out the validation split, builds the network and optimiser, fits, and evaluates on the test
set once at the end. It prints nothing: the CLI and the experiments are built on it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import class_names, load_dataset
from ..data.batches import check_batch_size
from ..data.features import images_to_features, validation_split
from ..nn import SoftmaxCrossEntropy, get_activation, get_initializer, mlp
from ..nn.layer import check_dtype
from ..optim import SGD, CosineDecay
from .callbacks import Callback, LearningRateSchedule
from .fit import evaluate, fit
from .history import History

SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. The defaults reach >= 98% on MNIST in about 20 s.

    hidden: widths of the hidden layers; learning_rate: the peak rate (SGD); schedule: 'cosine'
    (warm up over the first 2% of steps, then decay to 0) or 'constant'; weight_decay: L2;
    validation_size: examples held out of the training set to measure generalisation.
    """

    dataset: str = "mnist"
    data_dir: str | None = None
    hidden: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    init: str = "he-normal"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 20
    validation_size: int = 5000
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        for width in self.hidden:
            if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(
                    f"hidden sizes must be positive integers; received hidden={self.hidden!r}"
                )
        get_activation(self.activation)
        get_initializer(self.init)
        check_batch_size(self.batch_size)
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer; received epochs={self.epochs!r}")
        if not isinstance(self.validation_size, int) or self.validation_size < 0:
            raise ValueError(
                "validation_size must be a non-negative integer; "
                f"received validation_size={self.validation_size!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {', '.join(SCHEDULES)}; received {self.schedule!r}"
            )
        check_dtype(self.dtype)
        # The optimiser validates its own numbers; build one now so a bad setting fails early.
        self.make_optimizer()

    def make_optimizer(self) -> SGD:
        return SGD(
            self.learning_rate,
            self.momentum,
            nesterov=self.nesterov and self.momentum > 0,
            weight_decay=self.weight_decay,
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data


@dataclasses.dataclass
class TrainResult:
    """What a run produced: the model, its History, test scores and timings."""

    model: Any
    history: History
    test: dict[str, float]
    config: TrainConfig
    train_seconds: float
    class_names: tuple[str, ...]
    test_predictions: np.ndarray = dataclasses.field(repr=False, default=None)
    test_labels: np.ndarray = dataclasses.field(repr=False, default=None)


def train_classifier(
    config: TrainConfig,
    *,
    callbacks: Sequence[Callback] = (),
    data: tuple | None = None,
    progress: bool | None = None,
) -> TrainResult:
    """Train an MLP as `config` says and evaluate it once on the test set.

    `data` may pass ((x_train, y_train), (x_test, y_test)) already loaded (uint8 images);
    otherwise the data set is loaded from config.data_dir / SCRATCHNET_DATA / the cache.
    """
    if data is None:
        data = load_dataset(config.dataset, config.data_dir, progress=progress)
    (x_train, y_train), (x_test, y_test) = data
    dtype = check_dtype(config.dtype)
    rng = np.random.default_rng(config.seed)
    features = images_to_features(x_train, dtype)
    labels = np.asarray(y_train, dtype=np.int64)
    (x_fit, y_fit), validation = validation_split(features, labels, config.validation_size, rng=rng)
    n_classes = int(max(labels.max(), np.max(y_test))) + 1
    model = mlp(
        features.shape[1],
        config.hidden,
        n_classes,
        activation=config.activation,
        weight_init=config.init,
        rng=rng,
        dtype=dtype,
    )
    loss = SoftmaxCrossEntropy()
    optimizer = config.make_optimizer()
    all_callbacks = list(callbacks)
    if config.schedule == "cosine":
        steps = config.epochs * math.ceil(x_fit.shape[0] / config.batch_size)
        warmup = min(steps // 50, steps - 1)
        schedule = CosineDecay(config.learning_rate, steps, warmup_steps=warmup)
        all_callbacks.insert(0, LearningRateSchedule(schedule))
    started = time.perf_counter()
    history = fit(
        model,
        loss,
        optimizer,
        (x_fit, y_fit),
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation=validation if config.validation_size else None,
        callbacks=all_callbacks,
        rng=rng,
    )
    seconds = time.perf_counter() - started
    test_features = images_to_features(x_test, dtype)
    test_labels = np.asarray(y_test, dtype=np.int64)
    test = evaluate(model, loss, test_features, test_labels)
    predictions = model.predict(test_features)
    try:
        names = class_names(config.dataset)
    except ValueError:
        names = tuple(str(i) for i in range(n_classes))
    model.metadata = {
        "dataset": config.dataset,
        "class_names": list(names),
        "input": {"shape": list(np.shape(x_test)[1:]), "scale": "pixels / 255"},
        "config": config.to_dict(),
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "epochs_trained": history.epochs,
    }
    return TrainResult(model, history, test, config, seconds, names, predictions, test_labels)
