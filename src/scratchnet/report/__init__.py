"""scratchnet.report: tables, plots and self-contained HTML reports of runs and sweeps.

build_run_report(run_dir) writes RUN_DIR/report.html for a `scratchnet train --out` folder;
build_sweep_report(out_dir) the same for a sweep. The plots (scratchnet.report.plots) need
matplotlib, an optional extra imported only when a plot is drawn; without it the reports
still hold every table and finding.
"""

from .run import build_run_report, read_history
from .sweep import build_sweep_report, read_trials
from .tables import format_value, summarise_settings

__all__ = [
    "build_run_report",
    "build_sweep_report",
    "format_value",
    "read_history",
    "read_trials",
    "summarise_settings",
]
