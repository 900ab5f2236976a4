"""`scratchnet report DIR`: (re)build DIR/report.html for a run folder or a sweep folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ScratchnetError


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    from .args import existing_dir

    report.description = (
        "Write DIR/report.html: one self-contained page (images embedded) with the summary, the "
        "plots and diagnose's findings. DIR is a run folder (scratchnet train --out DIR: "
        "model.npz, history, config.json and, if present, diagnosis.json) or a sweep folder "
        "(scratchnet sweep --out DIR)."
    )
    report.add_argument("dir", type=Path, metavar="DIR", help="a run or sweep folder")
    report.add_argument(
        "--data-dir",
        type=existing_dir,
        default=None,
        metavar="DIR",
        help="where the test set is, for the confusion matrix [the run's, $SCRATCHNET_DATA...]",
    )


def cmd_report(args: argparse.Namespace) -> int:
    from ..fileio import check_output_file
    from ..report import build_run_report, build_sweep_report
    from ..runs import SweepDir, open_folder

    folder = open_folder(args.dir)
    check_output_file(folder.report_path, option="report")
    if isinstance(folder, SweepDir):
        path = build_sweep_report(folder.path)
    else:
        if not folder.model_path.exists():
            raise ScratchnetError(
                f"{folder.path}: the run has no {folder.model_path.name} yet (is it still "
                "training?); report it when it has finished"
            )
        test = None
        if args.data_dir is not None:
            from ..data import load_dataset

            config = folder.read_config() or {}
            _, test = load_dataset(
                config.get("dataset") or "mnist", args.data_dir, download=False, progress=False
            )
        path = build_run_report(folder.path, test=test)
    print(f"report written to {path}")
    return 0
