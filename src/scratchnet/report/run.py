"""The report of one run folder (`scratchnet train --out RUN_DIR`): RUN_DIR/report.html.

Reads model.npz, history.json (or history.csv), config.json and, when present, diagnosis.json
(`scratchnet diagnose --json` output); it trains nothing. The test set is read again only to
draw the confusion matrix and the misclassified images of the model the run already scored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScratchnetError
from ..runs.rundir import REPORT, RunDir, check_config
from .html import Page
from .plots import PLOT_EXTRA, have_matplotlib
from .tables import format_value

REPORT_NAME = REPORT


def read_history(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch rows of a run folder: history.json, else history.csv; [] if neither."""
    return RunDir(run_dir).read_history()


def build_run_report(
    run_dir: str | os.PathLike,
    *,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    title: str | None = None,
) -> Path:
    """Write RUN_DIR/report.html (summary, learning curves, confusion matrix, misclassified
    test images, first-layer weights, diagnose's findings) and return its path.

    `test` may pass (x_test, y_test) already loaded; otherwise the test set of the run's
    data set is read from disk (never downloaded). Parts that cannot be drawn (no matplotlib,
    no data) are replaced by a note saying why; a missing model.npz is an error.
    """
    run = RunDir(run_dir)
    run_dir = run.path
    if not run_dir.is_dir():
        raise ScratchnetError(f"{run_dir}: no such run folder")
    model = run.load_model()
    metadata = getattr(model, "metadata", {}) or {}
    config = run.read_config()
    if config is None:
        saved = metadata.get("config")
        config = dict(check_config(saved, run.model_path)) if saved is not None else {}
    history = run.read_history()
    diagnosis = run.read_diagnosis()
    dataset = config.get("dataset") or metadata.get("dataset") or "mnist"
    names = [str(n) for n in metadata.get("class_names", range(model.n_out))]
    plots = have_matplotlib()

    widths = [model.n_in, *config.get("hidden", []), model.n_out]
    page = Page(
        title or f"scratchnet run: {run_dir.name}",
        f"{dataset}, {'-'.join(map(str, widths))} network, {len(history)} epochs",
    )
    test_problem = None
    if test is None:
        test, test_problem = _load_test(dataset, config.get("data_dir"))
    predictions = None
    if test is not None:
        from ..data.features import images_to_features

        x_test, y_test = test
        predictions = model.predict(images_to_features(np.asarray(x_test), model.dtype))
        y_test = np.asarray(y_test, dtype=np.int64)

    page.heading("Summary")
    page.table(
        ["", "value"], _summary_rows(config, metadata, history, predictions, test), text_columns=1
    )
    if not plots:
        page.note(f"No plots in this report: {PLOT_EXTRA}")

    from . import plots as draw

    page.heading("Learning curves")
    if not history:
        page.note("no history.json or history.csv in this folder")
    elif plots:
        page.image(draw.learning_curves(history), "learning curves", "loss and accuracy per epoch")

    page.heading("Test set")
    if test is None:
        page.note(f"the test set could not be read, so no confusion matrix: {test_problem}")
    else:
        from ..train.metrics import confusion_matrix, per_class_scores

        k = max(model.n_out, int(y_test.max()) + 1)
        names = (names + [str(i) for i in range(len(names), k)])[:k]
        matrix = confusion_matrix(y_test, predictions, k)
        if plots:
            page.image(draw.confusion_matrix(matrix, names), "confusion matrix", "rows: true class")
        scores = per_class_scores(matrix)
        page.table(
            ["class", "precision %", "recall %", "F1 %", "support"],
            [
                [
                    names[i],
                    f"{100 * scores['precision'][i]:.2f}",
                    f"{100 * scores['recall'][i]:.2f}",
                    f"{100 * scores['f1'][i]:.2f}",
                    int(scores["support"][i]),
                ]
                for i in range(k)
            ],
            text_columns=1,
        )
        if plots:
            page.image(
                draw.misclassified_gallery(test[0], y_test, predictions, names),
                "misclassified test images",
                "the first misclassified test images, titled predicted (true)",
            )

    first = _first_dense_weight(model)
    if plots and first is not None:
        page.heading("First-layer weights")
        page.image(
            draw.first_layer_weights(first),
            "first-layer weights",
            "each hidden unit's incoming weights as an image: red positive, blue negative",
        )

    page.heading("Diagnosis")
    if diagnosis is None:
        page.note(
            f"no {run.diagnosis_path.name} in this folder (scratchnet diagnose --json > "
            f"{run.diagnosis_path} adds one)"
        )
    else:
        _diagnosis_section(page, diagnosis, plots)

    page.heading("Settings")
    page.table(
        ["setting", "value"],
        [[key, format_value(value)] for key, value in config.items()],
        text_columns=2,
    )
    return page.save(run.report_path)


def _load_test(dataset: str, data_dir: str | None):
    from ..data import load_dataset

    try:
        _, test = load_dataset(dataset, data_dir, download=False, progress=False)
    except (ScratchnetError, OSError, ValueError) as exc:
        return None, str(exc).splitlines()[0]
    return test, None


def _summary_rows(
    config: Mapping[str, Any],
    metadata: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    predictions: np.ndarray | None,
    test,
) -> list[list[Any]]:
    rows: list[list[Any]] = []
    last = history[-1] if history else {}
    test_accuracy = metadata.get("test_accuracy")
    if test_accuracy is None and predictions is not None:
        test_accuracy = float(np.mean(predictions == np.asarray(test[1])))
    for label, value in (
        ("test accuracy", test_accuracy),
        ("validation accuracy (last epoch)", last.get("val_accuracy")),
        ("training accuracy (last epoch)", last.get("accuracy")),
    ):
        if value is not None:
            rows.append([label, f"{100 * float(value):.2f}%"])
    if last.get("val_loss") is not None:
        rows.append(["validation loss (last epoch)", f"{float(last['val_loss']):.4f}"])
    if history:
        rows.append(["epochs trained", len(history)])
        seconds = sum(float(row.get("seconds", 0) or 0) for row in history)
        rows.append(["training time", f"{seconds:.1f} s"])
    for key in ("optimizer", "learning_rate", "schedule", "batch_size", "seed"):
        if key in config:
            rows.append([key.replace("_", " "), format_value(config[key])])
    return rows


def _first_dense_weight(model) -> np.ndarray | None:
    for layer in getattr(model, "layers", []):
        weight = getattr(layer, "params", {}).get("weight")
        if weight is not None and np.ndim(weight) == 2:
            side = int(np.sqrt(weight.shape[0]))
            return weight if side * side == weight.shape[0] and weight.shape[1] > 0 else None
    return None


def _diagnosis_section(page: Page, diagnosis: Mapping[str, Any], plots: bool) -> None:
    findings = diagnosis.get("findings") or []
    if diagnosis.get("subject"):
        page.paragraph(str(diagnosis["subject"]))
    if diagnosis.get("diverged"):
        page.paragraph(f"training diverged: {diagnosis['diverged']}")
    if not findings:
        page.paragraph(
            "No problem found: the signal reaches every layer, gradients and updates are in a "
            "healthy range, and the loss falls."
        )
    for finding in findings:
        page.finding(
            str(finding.get("title", finding.get("kind", "finding"))),
            str(finding.get("evidence", "")),
            str(finding.get("fix", "")),
        )
    records = diagnosis.get("records") or []
    if plots and records and records[0].get("layers"):
        from . import plots as draw

        page.image(
            draw.layer_statistics(records),
            "per-layer statistics",
            "per layer, at the first and last probe: activation spread, gradient norm, "
            "update-to-weight ratio, dead or saturated share",
        )
