"""scikit-learn's face of scratchnet: MLPClassifier, an estimator over the same engine.

    from scratchnet.sklearn import MLPClassifier
    clf = MLPClassifier(hidden=(100,), epochs=10).fit(X_train, y_train)
    clf.predict(X_test)          # class labels, as scikit-learn's predict
    clf.predict_proba(X_test)    # probabilities, columns in the order of clf.classes_

It needs scikit-learn (`pip install "scratchnet[sklearn]"`); `import scratchnet` does not
import this module. The settings are TrainConfig's, as constructor parameters; they are
checked in fit, as scikit-learn asks. The network is scratchnet.nn.mlp and the training
scratchnet.train.fit: nothing here trains differently from the rest of the library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .data.features import validation_split
from .nn import SoftmaxCrossEntropy, mlp
from .optim import get_schedule
from .runs.config import TrainConfig
from .train import EarlyStopping, LearningRateSchedule
from .train import fit as train_fit

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A fully-connected network trained with mini-batch gradient descent (scratchnet's engine).

    X: (n_samples, n_features) numbers, used as given (scale them: X / 255 for pixels, or a
    StandardScaler in a Pipeline); 8-bit images (uint8) are scaled by 1/255 as everywhere in
    scratchnet. y: any labels scikit-learn can classify; `classes_` holds them sorted.

    Parameters (scratchnet train's options; see scratchnet.train.TrainConfig)
    ----------
    hidden : tuple of int, default (100,)
        Widths of the hidden layers; () is softmax regression.
    activation : str, default "relu"
    init : str, default "he-normal"
    optimizer : "sgd", "rmsprop", "adam" or "adamw", default "sgd"
    learning_rate : float, default 0.05
    momentum : float, default 0.9 (sgd, rmsprop)
    nesterov : bool, default True (sgd)
    weight_decay : float, default 0.0
    schedule : "constant", "step", "exponential", "cosine" or "onecycle", default "constant"
        Over the `epochs` of fit; partial_fit always uses the constant rate.
    batch_size : int, default 32
    epochs : int, default 20
    dropout, label_smoothing : float in [0, 1), default 0.0
    batch_norm : bool, default False
    clip_norm, max_norm : float or None, default None
    early_stopping : int, default 0
        Patience in epochs on the accuracy of a held-out `validation_fraction` (0: off).
    validation_fraction : float, default 0.1
    seed : int, default 0
        The initial weights, the shuffling and the held-out split.
    dtype : "float32" or "float64", default "float64"

    Attributes
    ----------
    classes_ : array of the class labels; n_features_in_ : int; model_ : the trained
    scratchnet Sequential; history_ : the History of the last fit (rows appended by
    partial_fit).
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (100,),
        *,
        activation: str = "relu",
        init: str = "he-normal",
        optimizer: str = "sgd",
        learning_rate: float = 0.05,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        schedule: str = "constant",
        batch_size: int = 32,
        epochs: int = 20,
        dropout: float = 0.0,
        batch_norm: bool = False,
        label_smoothing: float = 0.0,
        clip_norm: float | None = None,
        max_norm: float | None = None,
        early_stopping: int = 0,
        validation_fraction: float = 0.1,
        seed: int = 0,
        dtype: str = "float64",
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.label_smoothing = label_smoothing
        self.clip_norm = clip_norm
        self.max_norm = max_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.dtype = dtype

    # -- scikit-learn's API ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train a new network on (X, y) for `epochs` epochs; returns self."""
        X, y = self._validate(X, y, reset=True)
        self.classes_, labels = np.unique(y, return_inverse=True)
        config = self._config()
        self._start(config, X.shape[1])
        x_fit, y_fit, validation = self._split(X, labels)
        callbacks: list[Any] = []
        steps = config.epochs * math.ceil(x_fit.shape[0] / config.batch_size)
        if config.schedule != "constant":
            schedule = get_schedule(config.schedule, config.learning_rate, max(steps, 1))
            callbacks.append(LearningRateSchedule(schedule))
        if self.early_stopping and validation is not None:
            callbacks.append(EarlyStopping("val_accuracy", patience=self.early_stopping))
        self.history_ = train_fit(
            self.model_,
            self._loss,
            self._optimizer,
            (x_fit, y_fit),
            epochs=config.epochs,
            batch_size=config.batch_size,
            validation=validation,
            callbacks=callbacks,
            rng=self._rng,
        )
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing the network (and optimiser state) of earlier calls.

        The first call needs `classes`, every label that will ever be seen (as in scikit-learn).
        """
        first = not hasattr(self, "model_")
        X, y = self._validate(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes=, every label")
            self.classes_ = np.unique(np.asarray(classes))
            self._start(self._config(), X.shape[1])
            self.history_ = None
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} differs from the classes of the first call, {self.classes_}"
            )
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels not in classes_: {unknown[:5].tolist()}")
        labels = np.searchsorted(self.classes_, y)
        history = train_fit(
            self.model_,
            self._loss,
            self._optimizer,
            (X, labels),
            epochs=1,
            batch_size=self.batch_size,
            rng=self._rng,
        )
        if self.history_ is None:
            self.history_ = history
        else:
            for row in history.rows:
                self.history_.append({**row, "epoch": self.history_.epochs + 1})
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n_samples, n_classes) probabilities, columns in the order of classes_."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        return self.model_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each sample, from classes_."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        return self.classes_[self.model_.predict(X)]

    # -- steps -----------------------------------------------------------------------------------
    def _validate(self, X: Any, y: Any = None, *, reset: bool):
        dtype = (np.float64, np.float32, np.uint8)
        if y is None and not reset:
            return validate_data(self, X, reset=False, dtype=dtype)
        X, y = validate_data(self, X, y, reset=reset, dtype=dtype)
        check_classification_targets(y)
        return X, y

    def _config(self) -> TrainConfig:
        """The settings, checked by TrainConfig (a clear ValueError for a bad one)."""
        return TrainConfig(
            hidden=tuple(self.hidden),
            activation=self.activation,
            init=self.init,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            batch_size=self.batch_size,
            epochs=self.epochs,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            label_smoothing=self.label_smoothing,
            clip_norm=self.clip_norm,
            max_norm=self.max_norm,
            early_stopping=self.early_stopping,
            validation_size=1 if self.early_stopping else 0,  # the split is made here
            seed=self.seed,
            dtype=self.dtype,
        )

    def _start(self, config: TrainConfig, n_features: int) -> None:
        """A fresh network, loss, optimiser and generator, all from the seed."""
        self._rng = np.random.default_rng(config.seed)
        self.model_ = mlp(
            n_features,
            config.hidden,
            len(self.classes_),
            activation=config.activation,
            weight_init=config.init,
            dropout=config.dropout,
            batch_norm=config.batch_norm,
            rng=self._rng,
            dtype=config.dtype,
        )
        self._loss = SoftmaxCrossEntropy(label_smoothing=config.label_smoothing)
        self._optimizer = config.make_optimizer()

    def _split(self, X: np.ndarray, labels: np.ndarray):
        """(x_fit, y_fit, validation or None): a held-out share only for early stopping."""
        if not self.early_stopping:
            return X, labels, None
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be in (0, 1) with early_stopping; received "
                f"{self.validation_fraction!r}"
            )
        size = int(round(self.validation_fraction * X.shape[0]))
        if not 0 < size < X.shape[0]:
            return X, labels, None  # too few samples to hold any out
        (x_fit, y_fit), (x_val, y_val) = validation_split(X, labels, size, rng=self._rng)
        return x_fit, y_fit, (self.model_.check_input(x_val), y_val)
