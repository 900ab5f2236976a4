"""One training run from a plain configuration: data set in, trained network and scores out.

TrainConfig holds every setting (validated, JSON-able); train_classifier loads the data, holds
out the validation split, builds the network, optimiser, schedule and augmentation, fits, and
evaluates on the test set once at the end. It prints nothing: the CLI and experiments use it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import DATASETS, class_names, load_dataset
from ..data.augment import Augmenter
from ..data.batches import check_batch_size
from ..data.features import PIXEL_SCALE, images_to_features, validation_split
from ..nn import SoftmaxCrossEntropy, get_activation, get_initializer, mlp
from ..nn.layer import check_dtype
from ..optim import OPTIMIZERS, SCHEDULES, get_optimizer, get_schedule
from ..optim.optimizer import Optimizer
from ..threads import available as threads_available
from ..threads import blas_threads, check_threads, choose_threads
from .callbacks import Callback, EarlyStopping, LearningRateSchedule
from .fit import evaluate, fit
from .history import History
from .nonfinite import NONFINITE_POLICIES, NonFinitePolicy

if TYPE_CHECKING:
    from .checkpoint import SavedCheckpoint, StopRequest

AUGMENTATIONS = ("none", "affine", "elastic", "affine-flip")


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. The defaults reach >= 98% on MNIST in about 20 s on 2 cores.

    hidden: widths of the hidden layers; optimizer: sgd (with momentum/nesterov), rmsprop,
    adam or adamw; learning_rate: the peak rate; schedule: constant, step, exponential, cosine
    (warm-up over the first 2% of steps, then decay to 0) or onecycle; weight_decay: L2 for
    sgd/rmsprop/adam, decoupled for adamw; dropout: the share of hidden units dropped in
    training; batch_norm: normalise each hidden layer; label_smoothing; clip_norm: clip the
    global gradient norm; max_norm: cap each unit's incoming weight norm; augment: none, affine
    (shifts, rotations, scalings), elastic (affine plus Simard's elastic distortions) or
    affine-flip (affine, and half the images mirrored left-right: for clothes, not digits);
    early_stopping: patience in epochs on validation accuracy (0: off), restoring the best
    weights; validation_size: examples held out of the training set; on_nonfinite: what a NaN
    or infinite loss does: stop (the default), skip-batch or halve-lr (see NonFinitePolicy).
    """

    dataset: str = "mnist"
    data_dir: str | None = None
    hidden: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    init: str = "he-normal"
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 20
    dropout: float = 0.0
    batch_norm: bool = False
    label_smoothing: float = 0.0
    clip_norm: float | None = None
    max_norm: float | None = None
    augment: str = "none"
    early_stopping: int = 0
    validation_size: int = 5000
    seed: int = 0
    dtype: str = "float32"
    on_nonfinite: str = "stop"
    preset: str | None = None

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        for width in self.hidden:
            if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(
                    f"hidden sizes must be positive integers; received hidden={self.hidden!r}"
                )
        _choice("dataset", self.dataset, DATASETS)
        if self.data_dir is not None:
            if not isinstance(self.data_dir, str | os.PathLike):
                raise ValueError(
                    f"data_dir must be a folder name or None; received data_dir={self.data_dir!r}"
                )
            self.data_dir = os.fspath(self.data_dir)
        for name in ("nesterov", "batch_norm"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(
                    f"{name} must be True or False; received {name}={getattr(self, name)!r}"
                )
        if self.preset is not None:
            from .presets import PRESETS

            _choice("preset", self.preset, tuple(PRESETS))
        get_activation(self.activation)
        get_initializer(self.init)
        check_batch_size(self.batch_size)
        _whole("epochs", self.epochs, low=1)
        _whole("validation_size", self.validation_size, low=0)
        _whole("early_stopping", self.early_stopping, low=0)
        _whole("seed", self.seed, low=0)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
        _choice("augment", self.augment, AUGMENTATIONS)
        _choice("on_nonfinite", self.on_nonfinite, NONFINITE_POLICIES)
        if not (isinstance(self.dropout, int | float) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1); received dropout={self.dropout!r}")
        if self.early_stopping and not self.validation_size:
            raise ValueError(
                "early_stopping needs a validation set; set validation_size > 0 or early_stopping=0"
            )
        check_dtype(self.dtype)
        # The optimiser and loss validate their own numbers; build them now to fail early.
        self.make_optimizer()
        SoftmaxCrossEntropy(label_smoothing=self.label_smoothing)

    def make_optimizer(self) -> Optimizer:
        kwargs: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
            "max_norm": self.max_norm,
        }
        if self.optimizer == "sgd":
            kwargs.update(momentum=self.momentum, nesterov=self.nesterov and self.momentum > 0)
        elif self.optimizer == "rmsprop":
            kwargs.update(momentum=self.momentum)
        return get_optimizer(self.optimizer, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A preset's settings (see PRESETS), with `overrides` on top."""
        from .presets import PRESETS

        if name not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}; received {name!r}")
        settings = {**PRESETS[name].settings, **overrides, "preset": name}
        return cls(**settings)


def _check_resumable(resume: SavedCheckpoint, config: TrainConfig) -> None:
    """The checkpoint must come from a run with the same settings (the data may have moved)."""
    from ..errors import CheckpointError

    ignored = ("data_dir", "preset")
    saved = {k: v for k, v in resume.config.items() if k not in ignored}
    wanted = {k: v for k, v in config.to_dict().items() if k not in ignored}
    if saved != wanted:
        changed = sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))
        details = ", ".join(f"{k}={saved.get(k)!r} (now {wanted.get(k)!r})" for k in changed)
        raise CheckpointError(
            f"{resume.path}: the checkpoint was made with other settings: {details}"
        )


def _whole(name: str, value: Any, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        kind = "a positive integer" if low == 1 else "a non-negative integer"
        raise ValueError(f"{name} must be {kind}; received {name}={value!r}")


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; received {value!r}")


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
    threads: int | None = None  # the BLAS threads it trained with (None: not controllable)


def make_augmenter(config: TrainConfig, rng: np.random.Generator) -> Augmenter | None:
    """The Augmenter that config.augment names, drawing from `rng` (None for 'none')."""
    if config.augment == "none":
        return None
    elastic = config.augment == "elastic"
    return Augmenter(
        flip=config.augment == "affine-flip",
        max_shift=2.0,
        max_rotation=10.0 if elastic else 8.0,
        scale_range=(0.9, 1.1),
        elastic_alpha=8.0 if elastic else 0.0,
        elastic_sigma=4.0,
        rng=rng,
    )


def train_classifier(
    config: TrainConfig,
    *,
    callbacks: Sequence[Callback] = (),
    data: tuple | None = None,
    progress: bool | None = None,
    evaluate_test: bool = True,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: SavedCheckpoint | None = None,
    stop: StopRequest | None = None,
    threads: int | None = None,
) -> TrainResult:
    """Train an MLP as `config` says and evaluate it once on the test set.

    `data` may pass ((x_train, y_train), (x_test, y_test)) already loaded (uint8 images);
    otherwise the data set is loaded from config.data_dir / SCRATCHNET_DATA / the cache.
    evaluate_test=False leaves the test set untouched (result.test is empty, no predictions):
    what a hyperparameter search needs, so that only its winner is ever scored on test.

    `checkpoint` names a file to save the whole run to every `checkpoint_every` epochs (see
    scratchnet.train.checkpoint); `stop`, a StopRequest, then makes training save and raise
    TrainingInterrupted at the next step. `resume` (from load_checkpoint, made with this same
    config) continues that run: the weights come out bitwise as if it had never stopped.

    `threads` sets the BLAS threads for training; None lets scratchnet.threads.choose_threads
    pick from the network's size (the thread count can change the last bits of the weights).
    """
    threads = check_threads(threads)
    if stop is not None and checkpoint is None:
        raise ValueError("stop= needs checkpoint= (a file to save the run to when it stops)")
    if resume is not None:
        _check_resumable(resume, config)
    if data is None:
        data = load_dataset(config.dataset, config.data_dir, progress=progress)
    try:
        (x_train, y_train), (x_test, y_test) = data
    except (TypeError, ValueError):
        raise ValueError(
            "data must be ((x_train, y_train), (x_test, y_test)), as load_dataset returns; "
            f"received {type(data).__name__}"
        ) from None
    dtype = check_dtype(config.dtype)
    rng = np.random.default_rng(config.seed)
    labels = np.asarray(y_train, dtype=np.int64)
    # Split the images, then convert each part: the whole set's float features are never held
    # beside the split's copies. 8-bit training images stay 8-bit: fit scales each batch as it
    # gathers it (x_scale), bit for bit images_to_features, so the float copy of the training
    # set (188 MB on MNIST) is never made and shuffled batches copy a quarter of the bytes.
    (images_fit, y_fit), (images_val, y_val) = validation_split(
        np.asarray(x_train), labels, config.validation_size, rng=rng
    )
    x_scale = None
    if np.issubdtype(images_fit.dtype, np.integer) and images_fit.ndim >= 2:
        x_fit, x_scale = images_fit.reshape(images_fit.shape[0], -1), PIXEL_SCALE
    else:
        x_fit = images_to_features(images_fit, dtype)
    del images_fit
    validation = (images_to_features(images_val, dtype), y_val) if config.validation_size else None
    n_classes = int(max(labels.max(), np.max(y_test))) + 1
    model = mlp(
        x_fit.shape[1],
        config.hidden,
        n_classes,
        activation=config.activation,
        weight_init=config.init,
        dropout=config.dropout,
        batch_norm=config.batch_norm,
        rng=rng,
        dtype=dtype,
    )
    loss = SoftmaxCrossEntropy(label_smoothing=config.label_smoothing)
    optimizer = config.make_optimizer()
    all_callbacks = list(callbacks)
    steps = config.epochs * math.ceil(x_fit.shape[0] / config.batch_size)
    if config.schedule != "constant":
        extra = {"warmup_steps": min(steps // 50, steps - 1)} if config.schedule == "cosine" else {}
        schedule = get_schedule(config.schedule, config.learning_rate, steps, **extra)
        all_callbacks.insert(0, LearningRateSchedule(schedule))
    stateful: dict[str, Any] = {}
    if config.early_stopping:
        stateful["early_stopping"] = EarlyStopping("val_accuracy", patience=config.early_stopping)
        all_callbacks.append(stateful["early_stopping"])
    if config.on_nonfinite != "stop":
        stateful["nonfinite"] = NonFinitePolicy(config.on_nonfinite)
        all_callbacks.append(stateful["nonfinite"])
    # Augmentation draws from its own stream, so turning it on leaves the shuffling unchanged.
    augmenter = make_augmenter(config, np.random.default_rng([config.seed, 1]))
    generators = {"shuffle": rng}
    if augmenter is not None:
        generators["augment"] = augmenter.rng
    # Small networks train faster with one BLAS thread than with two (the products are too
    # small to split); wide ones use every core the BLAS may use (scratchnet.threads). The
    # count can change the last bits, so a resumed run keeps the one it started with.
    sizes = [x_fit.shape[1], *config.hidden, n_classes]
    if threads is None and resume is not None:
        threads = check_threads(resume.extra.get("blas_threads"))
    threads = threads or choose_threads(sizes, config.batch_size)
    if checkpoint is not None:
        from .checkpoint import Checkpoint

        all_callbacks.append(  # last: it saves what the others did at each epoch's end
            Checkpoint(
                checkpoint,
                every=checkpoint_every,
                generators=generators,
                stateful=stateful,
                config=config.to_dict(),
                extra={"checkpoint_every": checkpoint_every, "blas_threads": threads},
                stop=stop,
            )
        )
    start = None
    if resume is not None:
        start = resume.restore(model, optimizer, generators=generators, stateful=stateful)
    started = time.perf_counter()
    with blas_threads(threads):
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
            augment=augmenter,
            start=start,
            x_scale=x_scale,
        )
    seconds = time.perf_counter() - started
    for _, name, param, _ in model.parameters():
        if not np.isfinite(param).all():
            raise FloatingPointError(
                f"training ended with NaN or infinite values in {name} (after epoch "
                f"{history.epochs}): it diverged; lower the learning rate"
            )
    test: dict[str, float] = {}
    predictions = test_labels = None
    if evaluate_test:
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
        "test_accuracy": test.get("accuracy"),
        "test_loss": test.get("loss"),
        "epochs_trained": history.epochs,
    }
    if evaluate_test and validation is not None and x_fit.shape[1] == 784:
        # Calibrated confidence and the "not a digit" threshold (scratchnet.train.calibration).
        from .calibration import calibrate

        model.metadata.update(
            calibrate(
                model,
                (x_fit, y_fit),
                validation,
                dataset=config.dataset,
                x_scale=x_scale,
                seed=config.seed,
            )
        )
    return TrainResult(
        model,
        history,
        test,
        config,
        seconds,
        names,
        predictions,
        test_labels,
        threads if threads_available() else None,
    )
