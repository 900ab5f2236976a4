"""History: what training measured, one row per epoch, and its CSV/JSON files."""

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

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={list(self.history)})"
