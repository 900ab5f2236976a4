"""History in Jupyter: a table with a small plot, and plot() returning a matplotlib figure."""

from __future__ import annotations

import pytest

from scratchnet.train import History


def make_history(epochs: int = 3, validation: bool = True) -> History:
    history = History()
    for epoch in range(1, epochs + 1):
        row = {"epoch": epoch, "loss": 1 / epoch, "accuracy": 1 - 0.5 / epoch}
        if validation:
            row.update(val_loss=1.2 / epoch, val_accuracy=1 - 0.6 / epoch)
        history.append(row)
    return history


def test_plot_returns_a_figure_with_training_and_validation_curves():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figure = make_history().plot()
    assert isinstance(figure, Figure)
    loss_axes, acc_axes = figure.axes
    assert [line.get_label() for line in loss_axes.get_lines()] == ["training", "validation"]
    assert list(acc_axes.get_lines()[1].get_ydata()) == pytest.approx([0.4, 0.7, 0.8])


def test_plot_without_validation_has_one_curve_per_panel():
    pytest.importorskip("matplotlib")
    figure = make_history(validation=False).plot(keys=("loss",))
    assert len(figure.axes) == 1 and len(figure.axes[0].get_lines()) == 1


def test_plot_of_an_empty_history_says_so():
    with pytest.raises(ValueError, match="at least one epoch"):
        History().plot()


def test_html_holds_the_table_and_an_inline_png():
    pytest.importorskip("matplotlib")
    page = make_history()._repr_html_()
    assert page.count("<tr>") == 1 + 3
    assert "val_accuracy" in page and "data:image/png;base64," in page


def test_html_of_an_empty_history_is_a_table_only():
    page = History()._repr_html_()
    assert "<table" in page and "<img" not in page


def test_the_figure_shows_itself_in_jupyter_without_pyplot():
    pytest.importorskip("matplotlib")
    png = make_history().plot()._repr_png_()  # what IPython calls for a cell's value
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
