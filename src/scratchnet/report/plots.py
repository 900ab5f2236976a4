"""Plots as PNG bytes: learning curves, sweep results, confusion matrix, misclassified images,
first-layer weights and per-layer statistics from diagnose.

matplotlib is an optional extra (`pip install "scratchnet[plot]"`), imported inside each
function, never at module import. Figures are drawn on matplotlib's object API with the Agg
canvas: no pyplot, no global backend switch, nothing shown on screen. Each function returns the
PNG as bytes and, given `path`, also writes it there (atomically).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write

DPI = 100
PLOT_EXTRA = 'plots need matplotlib: pip install "scratchnet[plot]"'


def have_matplotlib() -> bool:
    """True when matplotlib can be imported (the `plot` extra is installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(PLOT_EXTRA) from exc
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(figure, path: str | os.PathLike | None) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    data = buffer.getvalue()
    if path is not None:
        with atomic_write(Path(path)) as handle:
            handle.write(data)
    return data


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    epochs, values = [], []
    for row in rows:
        value = row.get(key)
        if value is None or value == "":
            continue
        value = float(value)
        if math.isfinite(value):
            epochs.append(int(row.get("epoch", len(epochs) + 1)))
            values.append(value)
    return epochs, values


def learning_curves(
    rows: Sequence[Mapping[str, Any]], *, title: str | None = None, path=None
) -> bytes:
    """Training and validation loss (left) and accuracy (right) per epoch.

    rows: History.rows (or history.json's "epochs"): dicts with epoch, loss, accuracy and,
    when there was a validation set, val_loss and val_accuracy.
    """
    if not rows:
        raise ValueError("learning curves need at least one epoch; received an empty history")
    figure = _figure(9, 3.4)
    loss_axes, acc_axes = figure.subplots(1, 2)
    for axes, key, label in ((loss_axes, "loss", "loss"), (acc_axes, "accuracy", "accuracy %")):
        for prefix, name, style in (("", "training", "-"), ("val_", "validation", "--")):
            epochs, values = _series(rows, prefix + key)
            if key == "accuracy":
                values = [100 * v for v in values]
            if values:
                axes.plot(epochs, values, style, marker="o", markersize=3, label=name)
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    return _png(figure, path)


def _is_numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sweep_results(
    trials: Sequence[Mapping[str, Any]],
    params: Sequence[str],
    *,
    metric: str = "val_accuracy",
    labels: Mapping[str, str] | None = None,
    path=None,
) -> bytes:
    """The metric against each swept hyperparameter: one panel per parameter, every trial a
    dot, the mean over trials with that value a line. Numbers spanning a factor of 30 or
    more get a log axis; anything else (hidden sizes, names) is shown as categories in order.

    trials: records with "params" (name -> value) and the metric (None for failed trials).
    """
    params = list(params)
    if not params:
        raise ValueError("sweep_results needs at least one parameter; received none")
    scale = 100 if metric.endswith("accuracy") else 1
    figure = _figure(min(4.2 * len(params), 14), 3.6)
    axes_list = np.atleast_1d(figure.subplots(1, len(params)))
    for axes, name in zip(axes_list, params, strict=True):
        points = [
            (_hashable(trial["params"].get(name)), trial[metric] * scale)
            for trial in trials
            if trial.get(metric) is not None and name in trial.get("params", {})
        ]
        values = []
        for value, _ in points:
            if value not in values:
                values.append(value)
        numeric = _is_numeric(values) and values and min(values) > 0
        if numeric:
            values.sort()
            x_of = {v: v for v in values}
            if max(values) / min(values) >= 30:
                axes.set_xscale("log")
        else:
            x_of = {v: i for i, v in enumerate(_sort_mixed(values))}
            axes.set_xticks(list(x_of.values()), [_label(v) for v in x_of])
        axes.scatter(
            [x_of[v] for v, _ in points], [m for _, m in points], alpha=0.6, s=18, label="trial"
        )
        means = [np.mean([m for v2, m in points if v2 == v]) for v in x_of]
        axes.plot(list(x_of.values()), means, "-", color="C1", label="mean")
        axes.set_xlabel((labels or {}).get(name, name.replace("_", " ")))
        axes.set_ylabel(metric.replace("_", " ") + (" %" if scale == 100 else ""))
        axes.grid(alpha=0.3)
    axes_list[0].legend()
    return _png(figure, path)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _sort_mixed(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return values


def sweep_heatmap(
    trials: Sequence[Mapping[str, Any]],
    x_param: str,
    y_param: str,
    *,
    metric: str = "val_accuracy",
    labels: Mapping[str, str] | None = None,
    path=None,
) -> bytes:
    """The mean metric for every pair of values of two hyperparameters, as a coloured grid
    with the numbers written in (blank where no trial ran)."""
    scale = 100 if metric.endswith("accuracy") else 1
    groups: dict[tuple[str, str], list[float]] = {}
    xs: list[Any] = []
    ys: list[Any] = []
    for trial in trials:
        params = trial.get("params", {})
        if x_param not in params or y_param not in params:
            continue
        x, y = params[x_param], params[y_param]
        for value, seen in ((x, xs), (y, ys)):
            if value not in seen:
                seen.append(value)
        if trial.get(metric) is not None:
            groups.setdefault((_label(x), _label(y)), []).append(trial[metric] * scale)
    if not xs or not ys:
        raise ValueError(f"no trial varies both {x_param} and {y_param}")
    xs, ys = _sort_mixed(xs), _sort_mixed(ys)
    grid = np.full((len(ys), len(xs)), np.nan)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            found = groups.get((_label(x), _label(y)))
            if found:
                grid[i, j] = float(np.mean(found))
    figure = _figure(max(4.5, 0.9 * len(xs) + 2.5), max(3.2, 0.6 * len(ys) + 1.8))
    axes = figure.subplots()
    image = axes.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto", origin="lower")
    axes.set_xticks(range(len(xs)), [_label(x) for x in xs])
    axes.set_yticks(range(len(ys)), [_label(y) for y in ys])
    labels = labels or {}
    axes.set_xlabel(labels.get(x_param, x_param.replace("_", " ")))
    axes.set_ylabel(labels.get(y_param, y_param.replace("_", " ")))
    finite = grid[np.isfinite(grid)]
    middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(grid[i, j]):
                colour = "black" if grid[i, j] > middle else "white"
                axes.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", color=colour)
    figure.colorbar(image, ax=axes, label=metric.replace("_", " ") + (" %" if scale == 100 else ""))
    return _png(figure, path)


def confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str] | None = None, *, path=None
) -> bytes:
    """counts[i, j] (true class i predicted as j) as a heatmap with the counts written in."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square (k, k); received {matrix.shape}")
    k = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    figure = _figure(max(4.5, 0.55 * k + 2), max(4, 0.5 * k + 1.5))
    axes = figure.subplots()
    # Log colours: the diagonal's thousands would otherwise wash out the informative few.
    shown = np.log1p(matrix.astype(np.float64))
    axes.imshow(shown, cmap="Blues")
    axes.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    axes.set_yticks(range(k), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(k):
        for j in range(k):
            colour = "white" if shown[i, j] > threshold else "black"
            axes.text(
                j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7, color=colour
            )
    return _png(figure, path)


def _mosaic(tiles: Sequence[np.ndarray], columns: int, *, fill: float, pad: int = 2):
    """Square tiles laid out in rows of `columns`, `pad` pixels apart: one image, drawn with
    one imshow (a subplot per tile is many times slower)."""
    side = tiles[0].shape[0]
    rows = math.ceil(len(tiles) / columns)
    step = side + pad
    canvas = np.full((rows * step + pad, columns * step + pad), fill, dtype=np.float64)
    for number, tile in enumerate(tiles):
        row, column = divmod(number, columns)
        top, left = pad + row * step, pad + column * step
        canvas[top : top + side, left : left + side] = tile
    return canvas, rows, step


def misclassified_gallery(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    limit: int = 30,
    columns: int = 10,
    path=None,
) -> bytes:
    """The first `limit` misclassified images, each titled 'predicted (true)'.

    images: (n, 28, 28) or (n, 784), pixels in [0, 255] or [0, 1]; labels, predictions: (n,).
    """
    images = np.asarray(images)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"images, labels and predictions must have one entry per example; received "
            f"{images.shape}, {labels.shape} and {predictions.shape}"
        )
    wrong = np.flatnonzero(labels != predictions)[:limit]
    names = [str(n) for n in class_names] if class_names is not None else []

    def name(c: int) -> str:
        return names[c] if c < len(names) else str(c)

    if not len(wrong):
        figure = _figure(3, 1)
        axes = figure.subplots()
        axes.axis("off")
        axes.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return _png(figure, path)
    tiles = [_as_square(images[i]).astype(np.float64) for i in wrong]
    top = max(float(np.max(tile)) for tile in tiles) or 1.0
    columns = min(columns, len(tiles))
    canvas, rows, step = _mosaic([t / top for t in tiles], columns, fill=0.0, pad=12)
    figure = _figure(1.0 * columns + 0.3, 1.05 * rows + 0.4)
    axes = figure.subplots()
    axes.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    axes.axis("off")
    for number, index in enumerate(wrong):
        row, column = divmod(number, columns)
        axes.text(
            12 + column * step + (step - 12) / 2,
            12 + row * step - 2,
            f"{name(int(predictions[index]))} ({name(int(labels[index]))})",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    axes.set_title("misclassified: predicted (true)", fontsize=9)
    return _png(figure, path)


def _as_square(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 1:
        side = math.isqrt(image.size)
        if side * side != image.size:
            raise ValueError(f"cannot show {image.size} values as a square image")
        image = image.reshape(side, side)
    return image


def first_layer_weights(weight: np.ndarray, *, limit: int = 64, path=None) -> bytes:
    """Each first-layer unit's incoming weights as a 28x28 image (blue negative, red
    positive, each unit on its own symmetric scale); weight: (784, n_out)."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 2 or math.isqrt(weight.shape[0]) ** 2 != weight.shape[0]:
        raise ValueError(f"first-layer weights must be (side*side, n_out); received {weight.shape}")
    count = min(weight.shape[1], limit)
    tiles = []
    for unit in range(count):
        image = _as_square(weight[:, unit])
        tiles.append(image / (float(np.max(np.abs(image))) or 1.0))
    columns = min(count, 8)
    canvas, rows, _ = _mosaic(tiles, columns, fill=0.0, pad=3)
    figure = _figure(1.0 * columns + 0.3, 1.0 * rows + 0.5)
    axes = figure.subplots()
    axes.imshow(canvas, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    axes.axis("off")
    shown = f"first {count} of {weight.shape[1]}" if count < weight.shape[1] else "all"
    axes.set_title(f"first-layer weights ({shown} units, row by row)", fontsize=9)
    return _png(figure, path)


LAYER_STATISTICS = (
    ("act_spread", "activation spread", True),
    ("grad_norm", "weight-gradient norm", True),
    ("update_ratio", "update / weight", True),
    ("dead_share", "dead or saturated share", False),
)


def layer_statistics(records: Sequence[Mapping[str, Any]], *, path=None) -> bytes:
    """Per-layer statistics from diagnose's records (first and last record): activation
    spread, gradient norm, update-to-weight ratio and the share of dead or saturated units."""
    if not records or not records[0].get("layers"):
        raise ValueError("layer statistics need diagnose records with per-layer entries")
    first, last = records[0], records[-1]
    figure = _figure(11, 3.2)
    axes_list = figure.subplots(1, len(LAYER_STATISTICS))
    for axes, (key, title, log) in zip(axes_list, LAYER_STATISTICS, strict=True):
        drawn = False
        for record, name, style in ((first, "start", "--"), (last, "end", "-")):
            xs, ys = [], []
            for entry in record["layers"]:
                value = entry.get(key)
                if key == "dead_share" and value is None:
                    value = entry.get("saturated_share")
                if value is not None and math.isfinite(value) and (value > 0 or not log):
                    xs.append(int(entry["index"]) + 1)
                    ys.append(float(value))
            if ys:
                axes.plot(xs, ys, style, marker="o", markersize=3, label=name)
                drawn = True
        if drawn and log:
            axes.set_yscale("log")
        if not drawn:
            axes.text(0.5, 0.5, "not measured", ha="center", va="center", transform=axes.transAxes)
        axes.set_title(title, fontsize=9)
        axes.set_xticks([int(entry["index"]) + 1 for entry in first["layers"]])
        axes.set_xlabel("layer")
        axes.grid(alpha=0.3)
        if drawn:
            axes.legend(fontsize=7)
    return _png(figure, path)


def compare_curves(
    curves: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    *,
    key: str = "val_accuracy",
    path=None,
) -> bytes:
    """One line per run: `key` per epoch. curves: (label, history rows) pairs, drawn in order
    (pass the best first; at most 10 are drawn, so the legend stays readable)."""
    if not curves:
        raise ValueError("compare_curves needs at least one (label, rows) pair; received none")
    scale = 100 if key.endswith("accuracy") else 1
    figure = _figure(8, 3.8)
    axes = figure.subplots()
    for label, rows in list(curves)[:10]:
        epochs, values = _series(rows, key)
        if values:
            axes.plot(epochs, [scale * v for v in values], marker="o", markersize=3, label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel(key.replace("_", " ") + (" %" if scale == 100 else ""))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    return _png(figure, path)
