"""The user's notebook's eight experiments, each run twice: as written and done right.

As written: the notebook's choices expressed with scratchnet (weights uniform on [0, 0.01),
biases as each class drew them, summed weight gradients, float64, its learning rates and
epoch counts, no shuffling, all 60,000 training images). Done right: the same architecture and
epoch budget with He initialisation, mean gradients, the stable fused softmax, shuffling, SGD
Adam with a cosine-decayed learning rate: trained at three peak rates on
55,000 images, the network with the best accuracy on the 5,000 held out is scored on the test
set. It prints nothing; the CLI renders the table.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable

import numpy as np

from ..data.features import images_to_features, validation_split
from ..nn import SoftmaxCrossEntropy, mlp
from ..nn.init import Uniform
from ..optim import Adam, CosineDecay
from ..threads import threads_for_network
from ..train import LearningRateSchedule, fit
from .legacy import MinMaxSoftmaxLoss, NotebookSGD

#: Peak learning rates "done right" trains at; the best on the validation split is tested.
LR_GRID = (0.001, 0.003, 0.01)
N_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row: one network the notebook trained, and what it reported."""

    experiment: str  # "a".."h"
    label: str  # what varies in this row, e.g. "lr=0.1"
    hidden: tuple[int, ...]
    batch_size: int | None  # None: the whole training set at once
    learning_rate: float
    epochs: int  # the notebook's EPOCHS; its loops ran EPOCHS + 1 passes
    quick_epochs: int  # passes with --quick
    reported_accuracy: float | None = None  # percent
    reported_cost: float | None = None
    general: bool = False  # the notebook's general NeuralNetwork class (experiment h)

    def passes(self, quick: bool) -> int:
        return self.quick_epochs if quick else self.epochs + 1

    @property
    def architecture(self) -> str:
        return "-".join(map(str, (784, *self.hidden, N_CLASSES)))


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    settings: tuple[Setting, ...]


def _experiments() -> tuple[Experiment, ...]:
    s = Setting
    return (
        Experiment(
            "a",
            "2-layer 784-5-10, full batch, lr 0.001, 100 iterations",
            (s("a", "full batch", (5,), None, 1e-3, 100, 101, reported_cost=2.3496),),
        ),
        Experiment(
            "b",
            "2-layer 784-100-10, batch 100, lr 1e-4, 100 epochs",
            (s("b", "hidden=100", (100,), 100, 1e-4, 100, 10, 96.58),),
        ),
        Experiment(
            "c",
            "learning rate, 784-5-10, batch 50",
            tuple(
                s("c", f"lr={lr:g}", (5,), 50, lr, 100, 40, acc)
                for lr, acc in (
                    (0.1, 10.28),
                    (0.01, 86.41),
                    (1e-3, 88.73),
                    (1e-4, 89.45),
                    (1e-5, 86.42),
                    (1e-6, 12.19),
                )
            ),
        ),
        Experiment(
            "d",
            "batch size, 784-5-10, lr 1e-4",
            tuple(
                s("d", f"batch={bs}", (5,), bs, 1e-4, 100, 40, acc)
                for bs, acc in ((10, 89.53), (50, 89.52), (100, 89.71), (1000, 89.64))
            ),
        ),
        Experiment(
            "e",
            "hidden units, batch 100, lr 1e-4",
            tuple(
                s("e", f"hidden={h}", (h,), 100, 1e-4, 100, q, acc)
                for h, q, acc in (
                    (20, 30, 95.22),
                    (50, 20, 95.93),
                    (100, 15, 96.32),
                    (1000, 5, 95.48),
                )
            ),
        ),
        Experiment(
            "f",
            "epochs, 784-20-10, batch 100, lr 1e-4",
            tuple(
                s("f", f"epochs={e}", (20,), 100, 1e-4, e, q, acc)
                for e, q, acc in ((10, 11, 90.92), (100, 30, 94.80), (1000, 60, 95.88))
            ),
        ),
        Experiment(
            "g",
            "3-layer 784-100-100-10, batch 100, lr 1e-4",
            (s("g", "hidden=100,100", (100, 100), 100, 1e-4, 100, 10, 96.49),),
        ),
        Experiment(
            "h",
            "general NeuralNetwork, hiddenLayers=10 (11 ReLU layers of 100)",
            (s("h", "11x100 relu", (100,) * 11, 100, 1e-4, 100, 10, 17.71, general=True),),
        ),
    )


EXPERIMENTS: tuple[Experiment, ...] = _experiments()


def get_experiments(only: Iterable[str] | None = None) -> list[Experiment]:
    """The experiments named in `only` (letters a-h), or all of them."""
    if not only:
        return list(EXPERIMENTS)
    names = [name.strip().lower() for name in only]
    known = {e.name: e for e in EXPERIMENTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown notebook experiment {', '.join(unknown)}; expected some of {', '.join(known)}"
        )
    return [known[name] for name in names]


@dataclasses.dataclass
class VariantResult:
    accuracy: float  # percent
    final_loss: float  # mean training loss over the last pass
    seconds: float
    note: str = ""


@dataclasses.dataclass
class RowResult:
    setting: Setting
    passes: int
    as_written: VariantResult
    done_right: VariantResult
    chosen_lr: float


def _test_accuracy(model, x_test, y_test) -> float:
    with np.errstate(all="ignore"):
        logits = model.forward(x_test)
    # A diverged network's NaN logits make argmax return class 0, as np.argmax did in the
    # notebook; we report that accuracy rather than hide it.
    return 100.0 * float(np.mean(logits.argmax(axis=1) == y_test))


def _sizes(setting: Setting) -> list[int]:
    return [784, *setting.hidden, N_CLASSES]


def run_as_written(
    setting: Setting, data, *, quick: bool, seed: int = 0, callbacks=(), passes: int | None = None
) -> VariantResult:
    """Train the notebook's way on all 60,000 training images; score on the test set."""
    (x_train, y_train), (x_test, y_test) = data
    rng = np.random.default_rng(seed)
    x = images_to_features(x_train, np.float64)
    labels = y_train.astype(np.int64)
    batch = setting.batch_size or x.shape[0]
    model = mlp(
        784,
        setting.hidden,
        N_CLASSES,
        weight_init=Uniform(0.0, 0.01),  # np.random.rand(n_out, n_in) * 0.01
        # NeuralNetwork_2/_3 drew biases from rand(n) (U[0, 1)); the general class * 0.01.
        bias_init=Uniform(0.0, 0.01) if setting.general else Uniform(0.0, 1.0),
        rng=rng,
        dtype=np.float64,
    )
    if setting.general:
        loss = MinMaxSoftmaxLoss()
        optimizer = NotebookSGD(setting.learning_rate, batch_size=batch, update_bias=False)
    else:
        loss = SoftmaxCrossEntropy(reduction="sum")
        optimizer = NotebookSGD(setting.learning_rate, batch_size=batch)
    started = time.perf_counter()
    note = ""
    final_loss = math.nan
    try:
        with threads_for_network(_sizes(setting), batch):
            history = fit(
                model,
                loss,
                optimizer,
                (x, labels),
                epochs=passes or setting.passes(quick),
                batch_size=batch,
                shuffle=False,
                callbacks=callbacks,
            )
        final_loss = history.last("loss")
    except FloatingPointError as exc:
        note = "diverged: " + str(exc).split(":")[0]
    seconds = time.perf_counter() - started
    accuracy = _test_accuracy(model, images_to_features(x_test, np.float64), y_test)
    return VariantResult(accuracy, final_loss, seconds, note)


def _train_right(
    setting: Setting, fit_data, validation, learning_rate: float, epochs: int, seed: int
):
    rng = np.random.default_rng(seed)
    model = mlp(784, setting.hidden, N_CLASSES, weight_init="he-normal", rng=rng)
    batch = setting.batch_size or fit_data[0].shape[0]
    steps = epochs * math.ceil(fit_data[0].shape[0] / batch)
    schedule = CosineDecay(learning_rate, steps, warmup_steps=min(steps // 50, steps - 1))
    started = time.perf_counter()
    with threads_for_network(_sizes(setting), batch):
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            Adam(learning_rate),
            fit_data,
            epochs=epochs,
            batch_size=batch,
            validation=validation,
            rng=rng,
            callbacks=[LearningRateSchedule(schedule)],
        )
    return model, history, time.perf_counter() - started


def run_done_right(
    setting: Setting,
    data,
    split,
    *,
    quick: bool,
    seed: int = 0,
    grid: tuple[float, ...] = LR_GRID,
) -> tuple[VariantResult, float]:
    """Train at every rate of the grid on the 55,000-image part of the split; the network with
    the best validation accuracy is scored on the test set, once. Returns it and its rate."""
    (_, _), (x_test, y_test) = data
    fit_data, validation = split
    best = None
    total = 0.0
    for lr in grid:
        try:
            model, history, seconds = _train_right(
                setting, fit_data, validation, lr, setting.passes(quick), seed
            )
        except FloatingPointError:
            continue
        total += seconds
        score = history.last("val_accuracy")
        if best is None or score > best[0]:
            best = (score, lr, model, history.last("loss"))
    if best is None:
        raise FloatingPointError(f"every learning rate in {grid} diverged")
    _, lr, model, final_loss = best
    accuracy = _test_accuracy(model, images_to_features(x_test), y_test.astype(np.int64))
    return VariantResult(accuracy, final_loss, total), lr


def notebook_split(data, seed: int = 0):
    """The done-right runs' (fit, validation) split of the training set: 5,000 held out."""
    (x_train, y_train), _ = data
    return validation_split(
        images_to_features(x_train),
        y_train.astype(np.int64),
        5000,
        rng=np.random.default_rng(seed),
    )


def run_notebook(
    data,
    *,
    only: Iterable[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    on_row: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """Run the chosen experiments; `on_row` is called as each row finishes."""
    split = notebook_split(data, seed)
    # Rows that differ only in the notebook's own setting (its learning rate, say) share one
    # done-right run.
    done: dict[tuple, tuple[VariantResult, float]] = {}
    rows: list[RowResult] = []
    for experiment in get_experiments(only):
        for setting in experiment.settings:
            as_written = run_as_written(setting, data, quick=quick, seed=seed)
            key = (setting.hidden, setting.batch_size, setting.passes(quick))
            if key not in done:
                done[key] = run_done_right(setting, data, split, quick=quick, seed=seed)
            done_right, lr = done[key]
            row = RowResult(setting, setting.passes(quick), as_written, done_right, lr)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


COLUMNS = (
    "experiment",
    "setting",
    "network",
    "passes",
    "notebook reported",
    "as written",
    "done right",
    "done-right lr",
    "seconds",
)


def table_rows(rows: list[RowResult], *, quick: bool) -> list[dict[str, str]]:
    """The results as text cells, one dict per row, keyed by COLUMNS."""
    out = []
    for row in rows:
        s = row.setting
        if s.reported_accuracy is not None:
            reported = f"{s.reported_accuracy:.2f}%"
        else:
            reported = f"cost {s.reported_cost:.4f}"

        def cell(result: VariantResult) -> str:
            text = f"{result.accuracy:.2f}% (cost {result.final_loss:.4f})"
            return text + (f" [{result.note}]" if result.note else "")

        out.append(
            {
                "experiment": s.experiment,
                "setting": s.label,
                "network": s.architecture,
                "passes": f"{row.passes}"
                + (" (quick)" if quick and row.passes != s.epochs + 1 else ""),
                "notebook reported": reported,
                "as written": cell(row.as_written),
                "done right": cell(row.done_right),
                "done-right lr": f"{row.chosen_lr:g}",
                "seconds": f"{row.as_written.seconds + row.done_right.seconds:.1f}",
            }
        )
    return out


def diagnose_as_written(
    name: str, data, *, passes: int | None = None, seed: int = 0, probe_size: int = 1000
):
    """Run experiment `name`'s first setting as written, with probes; a Diagnosis."""
    from ..diagnose import TrainingProbe, analyse
    from ..diagnose.run import Diagnosis

    (experiment,) = get_experiments([name])
    setting = experiment.settings[0]
    (x_train, y_train), test = data
    # The probe watches held-out images only: `probe_size` training images are set aside
    # (never trained on), as diagnose's validation split is.
    (x_fit, y_fit), (x_probe, y_probe) = validation_split(
        np.asarray(x_train),
        np.asarray(y_train, dtype=np.int64),
        probe_size,
        rng=np.random.default_rng([seed, 9]),
    )
    probe = TrainingProbe(images_to_features(x_probe, np.float64), y_probe)
    passes = passes or setting.quick_epochs
    result = run_as_written(
        setting, ((x_fit, y_fit), test), quick=True, seed=seed, callbacks=[probe], passes=passes
    )
    init = "U[0, 0.01), the notebook's np.random.rand(...) * 0.01"
    config = {"init": init, "learning_rate": setting.learning_rate}
    findings = analyse(
        probe.records, n_classes=N_CLASSES, config=config, diverged=result.note or None
    )
    subject = (
        f"notebook experiment {name} as written: {setting.architecture}, weights "
        f"uniform [0, 0.01), summed gradients, lr {setting.learning_rate:g}, "
        f"{passes} passes, probed on {probe_size} held-out training images"
    )
    return Diagnosis(
        subject, probe.records, findings, N_CLASSES, result.note or None, result.accuracy / 100
    )
