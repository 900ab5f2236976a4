"""Every plot returns a PNG (and writes it when given a path); matplotlib is imported only when
a plot is drawn; bad input is refused with a ValueError saying what was expected."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")

from scratchnet.report import plots  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(data: bytes, min_width: int = 200) -> None:
    from PIL import Image

    assert data.startswith(PNG)
    image = Image.open(io.BytesIO(data))
    assert image.width >= min_width and image.height >= 100
    # Not blank: a drawn figure has many colours.
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 3


HISTORY = [
    {"epoch": 1, "loss": 0.9, "accuracy": 0.7, "val_loss": 0.8, "val_accuracy": 0.75},
    {"epoch": 2, "loss": 0.5, "accuracy": 0.85, "val_loss": 0.6, "val_accuracy": 0.8},
    {"epoch": 3, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.5, "val_accuracy": 0.82},
]

TRIALS = [
    {"params": {"learning_rate": lr, "hidden": [h]}, "val_accuracy": acc, "seed": s}
    for lr, h, acc, s in [
        (0.1, 16, 0.9, 0),
        (0.1, 16, 0.91, 1),
        (0.01, 16, 0.8, 0),
        (0.1, 32, 0.93, 0),
        (0.01, 32, 0.85, 0),
        (0.001, 32, None, 0),  # a failed trial: left out, not drawn as zero
    ]
]


def test_learning_curves_png_and_path(tmp_path):
    path = tmp_path / "curves.png"
    data = plots.learning_curves(HISTORY, title="run", path=path)
    assert_png(data)
    assert path.read_bytes() == data


def test_learning_curves_without_validation():
    rows = [{k: v for k, v in row.items() if not k.startswith("val_")} for row in HISTORY]
    assert_png(plots.learning_curves(rows))


def test_sweep_results_and_heatmap():
    assert_png(
        plots.sweep_results(TRIALS, ["learning_rate", "hidden"], labels={"learning_rate": "lr"})
    )
    assert_png(plots.sweep_heatmap(TRIALS, "learning_rate", "hidden"))


def test_compare_curves():
    assert_png(plots.compare_curves([("a", HISTORY), ("b", HISTORY[:2])]))


def test_confusion_matrix_and_gallery():
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 50, (10, 10)) + np.diag(np.full(10, 900))
    assert_png(plots.confusion_matrix(matrix, [str(i) for i in range(10)]))
    images = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 40)
    predictions = np.where(np.arange(40) % 3 == 0, (labels + 1) % 10, labels)
    assert_png(plots.misclassified_gallery(images, labels, predictions, limit=12))
    # Flat (n, 784) images work too, and no mistakes is a picture that says so.
    assert_png(plots.misclassified_gallery(images.reshape(40, -1), labels, labels), min_width=50)


def test_first_layer_weights_and_layer_statistics():
    rng = np.random.default_rng(1)
    assert_png(plots.first_layer_weights(rng.normal(size=(784, 20))))
    records = [
        {
            "layers": [
                {"index": i, "act_spread": s, "grad_norm": g, "update_ratio": 1e-3, "dead_share": d}
                for i, (s, g, d) in enumerate(
                    [(1.0, 0.1, 0.1), (0.5, 0.05, 0.3), (0.2, None, None)]
                )
            ]
        }
    ] * 2
    assert_png(plots.layer_statistics(records))


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: plots.learning_curves([]), "at least one epoch"),
        (lambda: plots.sweep_results(TRIALS, []), "at least one parameter"),
        (lambda: plots.sweep_heatmap(TRIALS, "learning_rate", "dropout"), "no trial varies"),
        (lambda: plots.confusion_matrix(np.zeros((2, 3))), "must be square"),
        (lambda: plots.first_layer_weights(np.zeros((10, 3))), "(side*side, n_out)"),
        (lambda: plots.layer_statistics([]), "per-layer entries"),
        (
            lambda: plots.misclassified_gallery(np.zeros((3, 28, 28)), np.zeros(3), np.zeros(2)),
            "one entry per example",
        ),
    ],
)
def test_bad_input_is_refused(call, fragment):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert fragment in str(info.value)


@pytest.mark.slow  # a fresh interpreter importing the report package: about a second
def test_matplotlib_is_imported_only_when_drawing():
    code = (
        "import sys, scratchnet, scratchnet.report, scratchnet.report.plots, "
        "scratchnet.experiments.sweep, scratchnet.cli\n"
        "assert 'matplotlib' not in sys.modules, 'imported early'\n"
        "scratchnet.report.plots.learning_curves([{'epoch': 1, 'loss': 1.0}])\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot changes global state'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
