"""Tables of results: values as short text, sweep trials grouped into settings (mean and
spread over seeds), and those settings as plain-text or Markdown tables. Pure Python and NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def format_value(value: Any) -> str:
    """A setting as a person writes it: hidden (256, 128) -> '256,128', 1e-4 -> '0.0001'."""
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(array.mean()),
        # The sample standard deviation: the spread a new seed can be expected to show.
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "min": float(array.min()),
        "max": float(array.max()),
    }


def summarise_settings(
    trials: Sequence[Mapping[str, Any]], *, metric: str = "val_accuracy"
) -> list[dict[str, Any]]:
    """Group trials by their "setting" id; per setting: params, the seeds, how many trials
    failed, the metric's mean/std/min/max over the repeats, mean seconds and the best trial.

    Sorted best first (highest mean metric; failed settings last; ties keep the input order).
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for trial in trials:
        groups.setdefault(trial["setting"], []).append(trial)
    rows = []
    for order, (setting, members) in enumerate(groups.items()):
        scored = [t for t in members if _finite(t.get(metric))]
        stats = _stats([float(t[metric]) for t in scored])
        best = max(scored, key=lambda t: float(t[metric])) if scored else None
        rows.append(
            {
                "setting": setting,
                "params": dict(members[0].get("params", {})),
                "seeds": [t.get("seed") for t in members],
                "n": len(members),
                "failed": len(members) - len(scored),
                metric: stats,
                "seconds": float(np.mean([float(t.get("seconds") or 0) for t in members])),
                "best_trial": best["trial"] if best else None,
                "order": order,
            }
        )
    rows.sort(
        key=lambda r: (
            r[metric]["mean"] is None,
            -(r[metric]["mean"] or 0.0),
            r["failed"],
            r["order"],
        )
    )
    return rows


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def settings_table(
    summary: Sequence[Mapping[str, Any]],
    params: Sequence[str],
    *,
    metric: str = "val_accuracy",
    labels: Mapping[str, str] | None = None,
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) for the settings: one column per parameter, then the metric in percent
    as mean ± std over the seeds, the number of trials (failed ones noted) and mean seconds."""
    labels = labels or {}
    header = [labels.get(p, p) for p in params]
    header += [f"{metric.replace('_', ' ')} % (mean ± std)", "trials", "seconds"]
    rows = []
    for row in summary:
        stats = row[metric]
        if stats["mean"] is None:
            score = "failed"
        else:
            score = f"{100 * stats['mean']:.2f}"
            if row["n"] - row["failed"] > 1:
                score += f" ± {100 * stats['std']:.2f}"
        trials = str(row["n"]) + (f" ({row['failed']} failed)" if row["failed"] else "")
        rows.append(
            [format_value(row["params"].get(p)) for p in params]
            + [score, trials, f"{row['seconds']:.1f}"]
        )
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first row is the header."""
    cells = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
