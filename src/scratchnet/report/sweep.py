"""The report of a sweep folder (`scratchnet sweep --out DIR`): DIR/report.html comparing its
trials. Reads summary.json and sweep.jsonl; for a sweep that never finished (no summary.json)
it shows the trials recorded so far. It trains nothing and reads no data set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..runs.rundir import REPORT, SweepDir
from .html import Page
from .plots import PLOT_EXTRA, have_matplotlib
from .tables import format_value, settings_table, summarise_settings

REPORT_NAME = REPORT


def read_trials(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The complete records of OUT/sweep.jsonl (a last line cut short is skipped)."""
    return SweepDir(out_dir).read_trials()


def _label(params: dict[str, Any], labels: dict[str, str]) -> str:
    return " ".join(f"{labels.get(k, k)}={format_value(v)}" for k, v in params.items()) or "base"


def _mostly_filled(trials: list[dict[str, Any]], x: str, y: str) -> bool:
    """Whether the trials cover at least half the cells of the x-by-y grid of their values."""
    pairs = {(format_value(t["params"].get(x)), format_value(t["params"].get(y))) for t in trials}
    xs, ys = {a for a, _ in pairs}, {b for _, b in pairs}
    return len(xs) > 1 and len(ys) > 1 and len(pairs) >= 0.5 * len(xs) * len(ys)


def build_sweep_report(out_dir: str | os.PathLike) -> Path:
    """Write OUT/report.html: the winner and its command, the settings table, the metric
    against each swept parameter (a heatmap per pair when two or three vary), validation
    curves per setting, the winner's learning curves and every trial; return its path."""
    sweep = SweepDir(out_dir)
    out_dir = sweep.path
    records = sweep.read_trials()
    summary: dict[str, Any] = sweep.read_summary() or {}
    if summary:
        wanted = set(summary.get("trials", []))
        records = [r for r in records if r["trial"] in wanted] or records
    metric = summary.get("metric", "val_accuracy")
    settings = summarise_settings(records, metric=metric)
    params = summary.get("params") or list(
        dict.fromkeys(k for r in records for k in r.get("params", {}))
    )
    labels = summary.get("labels", {})
    plots = have_matplotlib()
    n_settings = len(settings)
    seeds = max((row["n"] for row in settings), default=0)
    subtitle = f"{len(records)} trials: {n_settings} settings x {seeds} seed(s)"
    if summary:
        subtitle += (
            f"; executor {summary.get('executor')}, workers {summary.get('workers') or '?'}, "
            f"{summary.get('wall_seconds', 0):.1f} s ({summary.get('ran', 0)} run now, "
            f"{summary.get('reused', 0)} reused)"
        )
    page = Page(f"scratchnet sweep: {out_dir.name}", subtitle)

    page.heading("Winner")
    winner = summary.get("winner")
    if not summary:
        page.note("this sweep has not finished (no summary.json): the trials recorded so far")
    elif winner is None:
        page.paragraph("No trial produced a validation accuracy (every trial failed).")
    else:
        stats = settings[0][metric] if settings else {}
        rows = [
            ["setting", _label(winner["params"], labels)],
            ["validation accuracy (mean over seeds)", f"{100 * stats.get('mean', 0):.2f}%"],
            ["validation accuracy (best seed)", f"{100 * winner['val_accuracy']:.2f}%"],
            ["best seed", winner["seed"]],
        ]
        if winner.get("test"):
            rows.append(
                ["test accuracy (this model only)", f"{100 * winner['test']['accuracy']:.2f}%"]
            )
        page.table(["", "value"], rows, text_columns=1)
        page.paragraph(
            "Settings were compared on the validation split only; the test set was used once, "
            f"for this model. Its run folder is {out_dir / winner.get('run_dir', 'best')}."
        )
        if winner.get("command"):
            page.code(winner["command"])

    page.heading("Settings, best first")
    header, rows = settings_table(settings, params, metric=metric, labels=labels)
    page.table(header, rows, text_columns=len(params), highlight=0 if winner else None)

    if not plots:
        page.note(f"No plots in this report: {PLOT_EXTRA}")
    elif records and params:
        from . import plots as draw

        scored = [r for r in records if r.get(metric) is not None]
        if scored:
            page.heading("Validation accuracy against each parameter")
            page.image(
                draw.sweep_results(scored, params, metric=metric, labels=labels),
                "metric against each parameter",
                "dots: trials; line: mean over the trials with that value",
            )
            if 2 <= len(params) <= 3:
                for i, x in enumerate(params):
                    for y in params[i + 1 :]:
                        if not _mostly_filled(scored, x, y):
                            continue  # scattered draws of a random search: no grid to show
                        page.image(
                            draw.sweep_heatmap(scored, x, y, metric=metric, labels=labels),
                            f"heatmap of {labels.get(x, x)} and {labels.get(y, y)}",
                            f"mean {metric.replace('_', ' ')} for each pair of "
                            f"{labels.get(x, x)} and {labels.get(y, y)}",
                        )
        by_setting = {r["setting"]: r for r in records if r.get("history")}
        curves = [
            (_label(row["params"], labels), by_setting[row["setting"]]["history"])
            for row in settings
            if row["setting"] in by_setting
        ]
        if curves and any(r.get("history") and "val_accuracy" in r["history"][0] for r in records):
            page.heading("Validation accuracy per epoch")
            page.image(
                draw.compare_curves(curves),
                "validation accuracy per epoch, per setting",
                "one trial per setting (its first seed), best setting first; at most 10",
            )
        if winner is not None:
            history = next(
                (r.get("history") for r in records if r["trial"] == winner["trial"]), None
            )
            if history:
                page.heading("The winner's learning curves")
                page.image(draw.learning_curves(history), "the winner's learning curves")

    page.heading("Every trial")
    trial_header = [labels.get(p, p) for p in params] + [
        "seed",
        f"{metric.replace('_', ' ')} %",
        "epochs",
        "seconds",
        "status",
        "worker",
    ]
    trial_rows = [
        [format_value(r.get("params", {}).get(p)) for p in params]
        + [
            r.get("seed"),
            "-" if r.get(metric) is None else f"{100 * r[metric]:.2f}",
            r.get("epochs"),
            f"{r.get('seconds') or 0:.1f}",
            r.get("status"),
            r.get("worker", ""),
        ]
        for r in records
    ]
    page.table(trial_header, trial_rows, text_columns=len(params))

    base = summary.get("base")
    if base:
        page.heading("Base settings (before each setting's changes)")
        page.table(
            ["setting", "value"],
            [[k, format_value(v)] for k, v in base.items()],
            text_columns=2,
        )
    return page.save(sweep.report_path)
