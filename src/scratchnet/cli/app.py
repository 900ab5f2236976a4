"""The command-line tool: `scratchnet train | evaluate | predict | notebook | diagnose | sweep |
report | serve`.

Only this package parses argv, prints for the user and chooses exit codes: 0 on success, 2 for
bad arguments (argparse's message), 1 for a data or model problem (one line on stderr, no
traceback). Everything it runs lives in the library; this is presentation.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import ScratchnetError
from .args import (
    Parser,
    data_options,
    letter,
    letters,
    non_negative_int,
    positive_int,
    training_options,
)
from .diagnose import cmd_diagnose
from .models import cmd_evaluate, cmd_predict
from .notebook import cmd_notebook
from .report import add_report_parser, cmd_report
from .serve import add_serve_parser, cmd_serve
from .sweep import add_sweep_parser, cmd_sweep
from .train import cmd_train

PROG = "scratchnet"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Neural networks from scratch in NumPy: train, evaluate and use them on "
        "MNIST-style images.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train a network and save it",
        description="Train a fully-connected network on MNIST or Fashion-MNIST, evaluate it once "
        "on the test set and save it with its training history.",
    )
    data_options(train, dataset_default=None)
    training_options(train)
    where = train.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to save the model (.npz); the history goes beside it "
        "[default: scratchnet-DATASET.npz]",
    )
    where.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="a run folder instead: model.npz, history.csv, history.json and config.json, and "
        "checkpoint.npz after every epoch; SIGINT or SIGTERM saves it mid-epoch and stops",
    )
    where.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue the run saved in RUN_DIR/checkpoint.npz with its own settings (only "
        "--quiet, --data-dir and --checkpoint-every may be given too); the final weights are "
        "bitwise those of a run that never stopped",
    )
    train.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --out: save the checkpoint every N epochs (and after the last) [default: 1]",
    )
    train.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="BLAS threads for training, recorded in the checkpoint [default: every core, or "
        "1 when a step's largest matrix product is under 1 MFLOP (tiny networks or batches), "
        "where a second thread does not pay]",
    )
    train.add_argument("-q", "--quiet", action="store_true", help="print only the summary")

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on the test set",
        description="Accuracy, per-class precision and recall, and the confusion matrix of a "
        "saved model on its data set's test set.",
    )
    evaluate.add_argument("model", type=Path, help="a model file written by scratchnet train")
    data_options(evaluate, dataset_default=None)
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of tables")

    predict = commands.add_parser(
        "predict",
        help="classify image files",
        description="Classify PNG or JPEG images of digits (or clothes): each is brought to "
        "MNIST form (grayscale, inverted if dark on light, cropped, fitted in 20x20, centred by "
        "mass in 28x28) and run through the model.",
    )
    predict.add_argument("model", type=Path, help="a model file written by scratchnet train")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.add_argument("--top", type=positive_int, default=3, help="how many classes to show")
    predict.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="yes: dark ink on light paper; no: light ink on dark; auto: guess",
    )
    predict.add_argument("--json", action="store_true", help="print JSON")

    notebook = commands.add_parser(
        "notebook",
        help="rerun the user's notebook's experiments, as written and done right",
        description="Rerun the eight experiments of the notebook this project grew from, each "
        "as the notebook wrote it and done right, and print one table (also saved as Markdown "
        "and CSV).",
    )
    notebook.add_argument("--list", action="store_true", help="list the experiments and stop")
    notebook.add_argument(
        "--only",
        type=letters,
        default=None,
        metavar="A,B,...",
        help="run only these experiments (letters a-h)",
    )
    notebook.add_argument(
        "--ablation",
        action="store_true",
        help="instead: remove the causes of (h)'s failure one at a time",
    )
    notebook.add_argument(
        "--quick",
        action="store_true",
        help="fewer passes (under 10 minutes on 2 cores); the table says so",
    )
    notebook.add_argument(
        "--out",
        type=Path,
        default=Path("notebook-results"),
        metavar="DIR",
        help="where to save notebook.md and notebook.csv",
    )
    notebook.add_argument("--data-dir", type=Path, default=None, metavar="DIR")
    notebook.add_argument("--seed", type=non_negative_int, default=0)
    notebook.add_argument("-q", "--quiet", action="store_true", help="print only the final table")

    diagnose = commands.add_parser(
        "diagnose",
        help="train with probes and explain why a network is (not) learning",
        description="Train with probes (the same options as train), or look at a saved model "
        "(--model), or at one of the notebook's experiments as written (--notebook h), and "
        "report per layer: activation spread, dead or saturated units, gradient norms, "
        "update-to-weight ratios, the loss against a uniform guess and prediction collapse; "
        "then findings in plain words, each with its evidence and a fix.",
    )
    data_options(diagnose, dataset_default=None)
    training_options(diagnose)
    diagnose.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="PATH",
        help="diagnose this saved model instead of training",
    )
    diagnose.add_argument(
        "--notebook",
        type=letter,
        default=None,
        metavar="A-H",
        help="diagnose this notebook experiment as written",
    )
    diagnose.add_argument("--json", action="store_true", help="print JSON")

    add_sweep_parser(commands)
    add_report_parser(commands)
    add_serve_parser(commands)
    return parser


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "notebook": cmd_notebook,
    "diagnose": cmd_diagnose,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    """Run the tool; returns the exit status (0 ok, 1 data/model problem, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ScratchnetError, ValueError, FloatingPointError, OSError) as exc:
        message = str(exc).replace("\n", " ") or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
