"""The learning-rate range test (Smith 2017, "Cyclical learning rates"; the fastai finder).

Train the run's own network, from its own initial weights, for a few hundred steps while the
rate rises exponentially from `start` to `stop`, and take the rate where the (smoothed) loss
falls fastest. `scratchnet lr-find` runs it on its own; diagnose's rules call it for the rate
in a learning-rate fix. It trains a throw-away copy: the run itself is untouched.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..nn import SoftmaxCrossEntropy
from ..train.callbacks import Callback, TrainingState
from ..train.fit import fit

#: Exponential moving average of the batch losses (debiased), to stop the test once the
#: loss has blown up: a batch's loss is noisy, its trend is not.
SMOOTHING = 0.9
#: The conclusion reads a centred moving average instead (no lag: an average over the past
#: 50 steps, fastai's 0.98, would put the steepest fall almost two decades too late).
WINDOW = 1 / 15  # of the steps
#: Stop once the smoothed loss passes 4x its best: the rate has blown the network up.
BLOWUP = 4.0


@dataclasses.dataclass
class LRRange:
    """The test's rates and losses, and what it concludes.

    suggestion: the rate where the smoothed loss falls fastest (per decade of rate); minimum:
    the rate of the lowest smoothed loss; blowup: the first rate after it at which the loss
    passed 4x its best (None if it never did).
    """

    learning_rates: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    minimum: float | None
    blowup: float | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _RangeTest(Callback):
    def __init__(self, start: float, stop: float, steps: int) -> None:
        self.rates = np.geomspace(start, stop, steps)
        self.learning_rates: list[float] = []
        self.losses: list[float] = []
        self._average, self._best = 0.0, math.inf

    def on_batch_begin(self, state: TrainingState) -> None:
        step = min(state.global_step, len(self.rates) - 1)
        state.optimizer.learning_rate = float(self.rates[step])

    def needs_gradients(self, state: TrainingState) -> bool:
        return False  # it reads the loss only

    def on_batch_end(self, state: TrainingState) -> None:
        loss = float(state.batch_loss)
        self.learning_rates.append(float(state.optimizer.learning_rate))
        self.losses.append(loss)
        n = len(self.losses)
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * loss
        smooth = self._average / (1 - SMOOTHING**n)
        self._best = min(self._best, smooth)
        if n >= len(self.rates) or not math.isfinite(smooth) or smooth > BLOWUP * self._best:
            state.stop_training = True


def smooth(losses: list[float]) -> list[float]:
    """A centred moving average over about 1/15 of the steps (narrower at the ends)."""
    values = np.asarray(losses, dtype=np.float64)
    half = max(2, int(len(values) * WINDOW) // 2)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    out = []
    for i in range(len(values)):
        low, high = max(0, i - half), min(len(values), i + half + 1)
        out.append(float((sums[high] - sums[low]) / (high - low)))
    return out


def conclude(learning_rates: list[float], losses: list[float]) -> LRRange:
    """The suggestion, minimum and blow-up rates from a test's rates and batch losses."""
    finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
    rates = [learning_rates[i] for i in finite]
    values = smooth([losses[i] for i in finite])
    suggestion = minimum = blowup = None
    if len(values) >= 5:
        lowest = int(np.argmin(values))
        minimum = rates[lowest]
        # The slope per decade of rate, before the minimum and after the average's warm-up.
        skip = max(1, len(values) // 10)
        if lowest > skip + 1:
            slopes = np.gradient(np.asarray(values[: lowest + 1]), np.log10(rates[: lowest + 1]))
            steepest = skip + int(np.argmin(slopes[skip:]))
            suggestion = rates[steepest]
        else:
            suggestion = minimum / 10
        for rate, value in zip(rates[lowest:], values[lowest:], strict=True):
            if value > BLOWUP * values[lowest]:
                blowup = rate
                break
        if blowup is None and len(finite) < len(losses):
            blowup = learning_rates[len(finite)]
    return LRRange(list(learning_rates), list(losses), values, suggestion, minimum, blowup)


def lr_range_test(
    config,
    data: tuple | None = None,
    *,
    steps: int = 100,
    start: float = 1e-6,
    stop: float = 10.0,
) -> LRRange:
    """Run the range test for `config` (a TrainConfig) on its training split.

    The network, its initial weights, the optimiser (momentum, weight decay...) and the batch
    size are the run's: only the rate changes, from `start` to `stop` over `steps` steps (or
    until the loss blows up). `data` as train_classifier takes it (loaded if None).
    """
    if not (isinstance(steps, int) and steps >= 10):
        raise ValueError(f"steps must be an integer >= 10; received steps={steps!r}")
    if not (0 < start < stop and math.isfinite(stop)):
        raise ValueError(f"expected 0 < start < stop; received start={start!r}, stop={stop!r}")
    from ..runs.workflow import build_model, load_data, split

    data = load_data(config, data=data, progress=False)
    # The run's own split and initial weights: the same generator, drawn in the same order.
    rng = np.random.default_rng(config.seed)
    prepared = split(config, data, rng)
    model = build_model(config, prepared.x_fit.shape[1], prepared.n_classes, rng)
    needed = min(len(prepared.y_fit), steps * config.batch_size)
    x, labels = prepared.x_fit[:needed], prepared.y_fit[:needed]
    test = _RangeTest(start, stop, steps)
    epochs = math.ceil(steps / math.ceil(needed / config.batch_size))
    try:
        fit(
            model,
            SoftmaxCrossEntropy(label_smoothing=config.label_smoothing),
            config.make_optimizer(),
            (x, labels),
            epochs=epochs,
            batch_size=config.batch_size,
            rng=np.random.default_rng([config.seed, 2]),
            callbacks=[test],
            x_scale=prepared.x_scale,
        )
    except FloatingPointError:
        test.learning_rates.append(test.learning_rates[-1] if test.learning_rates else start)
        test.losses.append(math.inf)
    return conclude(test.learning_rates, test.losses)


def plot_lr_range(result: LRRange, path: str | os.PathLike) -> Path:
    """The loss against the rate (log scale), the suggestion marked; a PNG at `path`.
    Needs matplotlib (the `plot` extra), imported here only."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError('plots need matplotlib: pip install "scratchnet[plot]"') from exc
    from ..fileio import atomic_write

    figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rates = result.learning_rates[: len(result.smoothed)]
    pairs = zip(result.learning_rates, result.losses, strict=False)
    finite = [(r, v) for r, v in pairs if math.isfinite(v)]
    if finite:
        axes.plot(*zip(*finite, strict=True), color="0.75", linewidth=0.8, label="batch loss")
    axes.plot(rates, result.smoothed, color="C0", label="smoothed")
    if result.suggestion:
        axes.axvline(
            result.suggestion,
            color="C3",
            linestyle="--",
            label=f"steepest fall: {result.suggestion:.2g}",
        )
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    if result.smoothed:
        low = min(result.smoothed)
        high = min(max(result.smoothed), BLOWUP * low) if low > 0 else max(result.smoothed)
        if high > low:  # the blown-up end would flatten the interesting part
            margin = 0.05 * (high - low)
            axes.set_ylim(low - margin, high + margin)
    axes.legend()
    path = Path(path)
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=100, facecolor="white")
    return path
