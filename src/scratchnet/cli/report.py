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
    from ..report import build_run_report, build_sweep_report

    folder: Path = args.dir
    if not folder.is_dir():
        raise ScratchnetError(f"{folder}: no such folder")
    if (folder / "sweep.jsonl").is_file():
        path = build_sweep_report(folder)
    elif (folder / "model.npz").is_file():
        test = None
        if args.data_dir is not None:
            import json

            from ..data import load_dataset

            config_path = folder / "config.json"
            config = json.loads(config_path.read_text()) if config_path.is_file() else {}
            _, test = load_dataset(
                config.get("dataset") or "mnist", args.data_dir, download=False, progress=False
            )
        path = build_run_report(folder, test=test)
    else:
        raise ScratchnetError(
            f"{folder}: neither a run folder (model.npz) nor a sweep folder (sweep.jsonl)"
        )
    print(f"report written to {path}")
    return 0
