"""One training run from a TrainConfig, in small steps: data set in, trained network and scores out.

    load_data      the data set (the seam for other sources: pass `data=`, or extend here)
    split          hold out the validation split; training images stay 8-bit
    build_model    the network the config describes
    build_training the loss, optimiser, schedule, augmentation and stateful callbacks
    run_threads    the BLAS threads to train with
    fit            (scratchnet.train.fit)
    test           one evaluation on the test set, at the end
    describe_model the metadata stored in the model file
    calibrate      its temperature and "not a digit" threshold, from the validation split

train_classifier chains them. It prints nothing and writes nothing but the checkpoint it is
asked for: the CLI, sweeps and diagnose use it, and RunDir stores what it returns.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import class_names, load_dataset
from ..data.augment import Augmenter
from ..data.features import PIXEL_SCALE, images_to_features, validation_split
from ..nn import SoftmaxCrossEntropy, mlp
from ..nn.layer import check_dtype
from ..threads import ThreadChooser, blas_threads, check_threads, choose_threads
from ..threads import available as threads_available
from ..train.callbacks import Callback, EarlyStopping, LearningRateSchedule
from ..train.fit import evaluate, fit
from ..train.history import History
from ..train.nonfinite import NonFinitePolicy
from .config import TrainConfig

if TYPE_CHECKING:
    from ..train.checkpoint import SavedCheckpoint, StopRequest

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


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


@dataclasses.dataclass
class Prepared:
    """The data, ready to fit: training features (or 8-bit images with x_scale), the
    validation split as features (or None), the test set as given, and the class count."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_scale: float | None
    validation: tuple[np.ndarray, np.ndarray] | None
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


@dataclasses.dataclass
class Training:
    """What fit needs beside the model and data: the loss, optimiser, callbacks (in order),
    the augmenter, and what a checkpoint must carry (generators, stateful callbacks)."""

    loss: SoftmaxCrossEntropy
    optimizer: Any
    callbacks: list[Callback]
    augmenter: Augmenter | None
    generators: dict[str, np.random.Generator]
    stateful: dict[str, Any]


# -- the steps ------------------------------------------------------------------------------
def load_data(config: TrainConfig, *, data=None, progress: bool | None = None) -> Splits:
    """((x_train, y_train), (x_test, y_test)): `data` as given (checked for its shape), else
    the data set config.dataset from config.data_dir / SCRATCHNET_DATA / the cache, or the
    user's own data config.data (data.own.load_own: the same test split for every run)."""
    if data is None and config.data:
        from ..data.own import load_own

        data = load_own(config.data)
    if data is None:
        data = load_dataset(config.dataset, config.data_dir, progress=progress)
    try:
        (x_train, y_train), (x_test, y_test) = data
    except (TypeError, ValueError):
        raise ValueError(
            "data must be ((x_train, y_train), (x_test, y_test)), as load_dataset returns; "
            f"received {type(data).__name__}"
        ) from None
    return (x_train, y_train), (x_test, y_test)


def split(
    config: TrainConfig, data: Splits, rng: np.random.Generator, validation=None
) -> Prepared:
    """Hold out config.validation_size training examples (drawn with `rng`); or, given
    `validation` (images, labels), train on every training example and validate on those."""
    (x_train, y_train), (x_test, y_test) = data
    dtype = check_dtype(config.dtype)
    labels = np.asarray(y_train, dtype=np.int64)
    if validation is not None:
        x_val, y_val = validation
        n_classes = int(max(labels.max(), np.max(y_test), np.max(y_val))) + 1
        x_fit, x_scale = np.asarray(x_train), None
        if np.issubdtype(x_fit.dtype, np.integer) and x_fit.ndim >= 2:
            x_fit, x_scale = x_fit.reshape(x_fit.shape[0], -1), PIXEL_SCALE
        else:
            x_fit = images_to_features(x_fit, dtype)
        held = (images_to_features(np.asarray(x_val), dtype), np.asarray(y_val, dtype=np.int64))
        return Prepared(x_fit, labels, x_scale, held, x_test, y_test, n_classes)
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
    return Prepared(x_fit, y_fit, x_scale, validation, x_test, y_test, n_classes)


def build_model(config: TrainConfig, n_in: int, n_classes: int, rng: np.random.Generator):
    """The MLP config describes: n_in -> config.hidden -> n_classes."""
    return mlp(
        n_in,
        config.hidden,
        n_classes,
        activation=config.activation,
        weight_init=config.init,
        dropout=config.dropout,
        batch_norm=config.batch_norm,
        rng=rng,
        dtype=check_dtype(config.dtype),
    )


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


def build_training(
    config: TrainConfig, n_fit: int, rng: np.random.Generator, callbacks: Sequence[Callback] = ()
) -> Training:
    """The loss, optimiser and callbacks: the schedule first, the caller's `callbacks`, then
    early stopping and the non-finite policy (stateful: a checkpoint carries them)."""
    all_callbacks = list(callbacks)
    steps = config.epochs * math.ceil(n_fit / config.batch_size)
    if config.schedule != "constant":
        from ..optim import get_schedule

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
    return Training(
        SoftmaxCrossEntropy(label_smoothing=config.label_smoothing),
        config.make_optimizer(),
        all_callbacks,
        augmenter,
        generators,
        stateful,
    )


def run_threads(
    config: TrainConfig,
    sizes: Sequence[int],
    threads: int | None,
    resume=None,
    *,
    adaptive: bool = False,
) -> tuple[int, Callback | None]:
    """(the BLAS threads to start with, the callback that re-chooses them or None).

    `threads` if given; a resumed run's own count (the count can change the last bits, so a
    resumed run keeps the one it started with, and its adaptive setting); else
    scratchnet.threads.choose_threads for the network (small networks train faster with one).
    adaptive=True re-chooses them at each epoch from the cores free now (adaptive_threads)."""
    if threads is None and resume is not None:
        threads = check_threads(resume.extra.get("blas_threads"))
        adaptive = resume.extra.get("adaptive_threads") is True
    tuner = None
    if adaptive and threads_available():
        from ..train.adaptive_threads import AdaptiveThreads

        chooser = ThreadChooser(sizes, config.batch_size)
        threads = threads or chooser.choose()
        tuner = AdaptiveThreads(chooser, threads)
    return threads or choose_threads(sizes, config.batch_size), tuner


def check_finite(model, history: History) -> None:
    """FloatingPointError if training ended with NaN or infinite weights."""
    for _, name, param, _ in model.parameters():
        if not np.isfinite(param).all():
            raise FloatingPointError(
                f"training ended with NaN or infinite values in {name} (after epoch "
                f"{history.epochs}): it diverged; lower the learning rate"
            )


def test(model, loss, x_test, y_test, dtype) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """(scores, predictions, labels) of `model` on the test set: its one evaluation."""
    features = images_to_features(x_test, dtype)
    labels = np.asarray(y_test, dtype=np.int64)
    return evaluate(model, loss, features, labels), model.predict(features), labels


def describe_model(
    config: TrainConfig, names: Sequence[str], input_shape, test_scores, epochs: int
) -> dict[str, Any]:
    """The metadata a trained model carries in its file."""
    return {
        "dataset": config.dataset if not config.data else "own",
        **({"data": config.data} if config.data else {}),
        "class_names": list(names),
        "input": {"shape": list(input_shape), "scale": "pixels / 255"},
        "config": config.to_dict(),
        "test_accuracy": test_scores.get("accuracy"),
        "test_loss": test_scores.get("loss"),
        "epochs_trained": epochs,
    }


def calibrate(model, config: TrainConfig, prepared: Prepared) -> dict[str, Any]:
    """Calibrated confidence and the "not a digit" threshold, for the model file's metadata
    (scratchnet.train.calibration.calibrate); nothing without a validation split or for inputs
    that are not 28x28 pictures."""
    if prepared.validation is None or prepared.x_fit.shape[1] != 784:
        return {}
    from ..train.calibration import calibrate as calibrate_on_validation

    return calibrate_on_validation(
        model,
        (prepared.x_fit, prepared.y_fit),
        prepared.validation,
        dataset=config.dataset,
        x_scale=prepared.x_scale,
        seed=config.seed,
    )


def check_resumable(resume: SavedCheckpoint, config: TrainConfig) -> None:
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


def check_resume_fits(resume: SavedCheckpoint, start, n_fit: int, config: TrainConfig) -> None:
    """The checkpoint's position must lie inside this run: its epoch within config.epochs + 1,
    its step and example order within this training set (CheckpointError otherwise)."""
    from ..errors import CheckpointError

    steps = math.ceil(n_fit / config.batch_size)
    saved_steps = resume.position.get("steps_per_epoch", steps)
    problem = None
    if start.epoch > config.epochs + 1:
        problem = f"it is at epoch {start.epoch} of a run of {config.epochs} epochs"
    elif saved_steps != steps or start.step > steps:
        problem = f"it counts {saved_steps} steps per epoch; this data set gives {steps}"
    elif len(start.history) != start.epoch - 1:
        problem = f"it holds {len(start.history)} history rows for {start.epoch - 1} epochs"
    elif start.order is not None and len(start.order) != n_fit:
        problem = f"its example order has {len(start.order)} examples; this data set has {n_fit}"
    if problem:
        raise CheckpointError(
            f"{resume.path}: the checkpoint does not fit this run ({problem}); give the data it "
            "was made with, or delete it to start afresh"
        )


def _class_names(config: TrainConfig, n_classes: int) -> tuple[str, ...]:
    if config.data:
        from ..data.own import load_own

        return tuple(load_own(config.data).class_names)  # the folder names, say (kept loaded)
    try:
        return tuple(class_names(config.dataset))
    except ValueError:
        return tuple(str(i) for i in range(n_classes))


# -- the whole run --------------------------------------------------------------------------
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
    threads: int | str | None = None,
    validation: tuple | None = None,
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
    pick from the network's size (the thread count can change the last bits of the weights);
    "auto" also takes the load of other processes into account and re-checks it at each epoch
    (scratchnet.train.adaptive_threads: fast on a busy machine, not bitwise reproducible).

    `validation` (images, labels) replaces the split drawn from the training data (which is
    then trained on whole): diagnose --repair judges every round on the same images.
    """
    adaptive = threads == "auto"
    threads = None if adaptive else check_threads(threads)
    if stop is not None and checkpoint is None:
        raise ValueError("stop= needs checkpoint= (a file to save the run to when it stops)")
    if resume is not None:
        check_resumable(resume, config)
    data = load_data(config, data=data, progress=progress)
    rng = np.random.default_rng(config.seed)
    prepared = split(config, data, rng, validation)
    del data
    n_in = prepared.x_fit.shape[1]
    model = build_model(config, n_in, prepared.n_classes, rng)
    training = build_training(config, prepared.x_fit.shape[0], rng, callbacks)
    sizes = [n_in, *config.hidden, prepared.n_classes]
    threads, tuner = run_threads(config, sizes, threads, resume, adaptive=adaptive)
    if tuner is not None:
        training.callbacks.insert(0, tuner)
    if checkpoint is not None:
        from ..train.checkpoint import Checkpoint

        training.callbacks.append(  # last: it saves what the others did at each epoch's end
            Checkpoint(
                checkpoint,
                every=checkpoint_every,
                generators=training.generators,
                stateful=training.stateful,
                config=config.to_dict(),
                extra={
                    "checkpoint_every": checkpoint_every,
                    "blas_threads": threads,
                    "adaptive_threads": tuner is not None,
                },
                stop=stop,
            )
        )
    start = None
    if resume is not None:
        start = resume.restore(
            model, training.optimizer, generators=training.generators, stateful=training.stateful
        )
        check_resume_fits(resume, start, prepared.x_fit.shape[0], config)
    started = time.perf_counter()
    with blas_threads(threads):
        history = fit(
            model,
            training.loss,
            training.optimizer,
            (prepared.x_fit, prepared.y_fit),
            epochs=config.epochs,
            batch_size=config.batch_size,
            validation=prepared.validation,
            callbacks=training.callbacks,
            rng=rng,
            augment=training.augmenter,
            start=start,
            x_scale=prepared.x_scale,
        )
    seconds = time.perf_counter() - started
    check_finite(model, history)
    scores: dict[str, float] = {}
    predictions = test_labels = None
    if evaluate_test:
        scores, predictions, test_labels = test(
            model, training.loss, prepared.x_test, prepared.y_test, model.dtype
        )
    names = _class_names(config, prepared.n_classes)
    model.metadata = describe_model(
        config, names, np.shape(prepared.x_test)[1:], scores, history.epochs
    )
    if evaluate_test:
        model.metadata.update(calibrate(model, config, prepared))
    return TrainResult(
        model,
        history,
        scores,
        config,
        seconds,
        names,
        predictions,
        test_labels,
        threads if threads_available() else None,
    )
