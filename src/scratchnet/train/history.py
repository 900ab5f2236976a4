"""History: what training measured, one row per epoch, and its CSV/JSON files.

In Jupyter a History shows itself as a table with a small plot of its curves (`_repr_html_`);
`plot()` returns the curves as a matplotlib figure. matplotlib is imported only there.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from ..fileio import atomic_write


class History:
    """Per-epoch metrics: `history.history["val_accuracy"]` is a list, one value per epoch.

    Rows hold: epoch (1-based), loss, accuracy (running over the epoch's batches), val_loss,
    val_accuracy (when a validation set was given), learning_rate and seconds.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))

    @property
    def history(self) -> dict[str, list[Any]]:
        keys: list[str] = []
        for row in self.rows:
            keys.extend(k for k in row if k not in keys)
        return {key: [row.get(key) for row in self.rows] for key in keys}

    @property
    def epochs(self) -> int:
        return len(self.rows)

    def last(self, key: str) -> Any:
        """The latest value of `key`, or None."""
        return self.rows[-1].get(key) if self.rows else None

    def to_csv_text(self) -> str:
        buffer = io.StringIO()
        columns = list(self.history)
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()

    def save_csv(self, path: str | os.PathLike) -> Path:
        with atomic_write(path, "w") as handle:
            handle.write(self.to_csv_text())
        return Path(path)

    def save_json(self, path: str | os.PathLike) -> Path:
        with atomic_write(path, "w") as handle:
            json.dump({"epochs": self.rows}, handle, indent=1)
            handle.write("\n")
        return Path(path)

    def plot(self, *, keys: tuple[str, ...] = ("loss", "accuracy"), width: float = 8.0):
        """The learning curves as a matplotlib Figure: one panel per key, training solid and
        validation dashed (val_KEY, when there was a validation set), per epoch.

        Needs matplotlib (`pip install "scratchnet[plot]"`). The figure is not shown or kept
        by pyplot: Jupyter displays the returned object; elsewhere call fig.savefig(path).
        """
        if not self.rows:
            raise ValueError("History.plot needs at least one epoch; this History is empty")
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                'History.plot needs matplotlib: pip install "scratchnet[plot]"'
            ) from exc
        from ..display import figure as new_figure

        figure = new_figure(figsize=(width, width * 0.36), dpi=100, layout="constrained")
        columns = self.history
        epochs = columns.get("epoch", list(range(1, self.epochs + 1)))
        for axes, key in zip(figure.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
            for prefix, label, style in (("", "training", "-"), ("val_", "validation", "--")):
                points = [
                    (e, float(v))
                    for e, v in zip(epochs, columns.get(prefix + key, []), strict=False)
                    if isinstance(v, int | float) and v == v
                ]
                if points:
                    axes.plot(
                        *zip(*points, strict=True), style, marker="o", markersize=3, label=label
                    )
            axes.set_xlabel("epoch")
            axes.set_ylabel(key)
            axes.grid(alpha=0.3)
            if axes.get_legend_handles_labels()[0]:
                axes.legend()
        return figure

    def _repr_html_(self) -> str:
        """Jupyter's view: the per-epoch table and, with matplotlib, the curves beside it."""
        from ..display import have_matplotlib, html_table, png_tag

        columns = list(self.history)
        table = html_table(
            columns,
            [[row.get(c) for c in columns] for row in self.rows],
            caption=f"History: {self.epochs} epochs",
        )
        if not self.rows or not have_matplotlib():
            return table
        import io

        buffer = io.BytesIO()
        self.plot(width=6.0).savefig(buffer, format="png", facecolor="white")
        picture = png_tag(buffer.getvalue(), alt="learning curves")
        return (
            '<div style="display:flex;gap:16px;align-items:flex-start">'
            f"<div>{table}</div><div>{picture}</div></div>"
        )

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={list(self.history)})"


class Scores(dict):
    """Evaluation results, {'loss': ..., 'accuracy': ...}: a plain dict, shown as a table in
    Jupyter (what train.evaluate and model.evaluate return)."""

    def _repr_html_(self) -> str:
        from ..display import html_table

        return html_table(["metric", "value"], [[k, v] for k, v in self.items()])
