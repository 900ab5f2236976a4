"""`scratchnet notebook`: the user's notebook's experiments, as written and done right."""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

from ..fileio import atomic_write

INTRO = (
    "Each row trains the notebook's network twice: as written (weights U[0, 0.01), summed "
    "gradients, float64, its learning rate, no shuffling, all 60,000 training images) and done "
    "right (He init, mean gradients, stable softmax, shuffling, Adam with a cosine-decayed "
    "learning rate; trained at peak rates 0.001, 0.003 and 0.01 on 55,000 images, and "
    "the network with the best accuracy on the 5,000 held out is the one tested). Accuracies are "
    "on the 10,000 test images; rows that differ only in the notebook's own setting share one "
    "done-right run."
)


def markdown_table(cells: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in cells]
    return "\n".join(lines)


def add_notebook_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import existing_dir, letters, output_path, seed_int

    parser.description = (
        "Rerun the eight experiments of the notebook this project grew from, each as the "
        "notebook wrote it and done right, and print one table (also saved as Markdown and CSV)."
    )
    parser.add_argument("--list", action="store_true", help="list the experiments and stop")
    parser.add_argument(
        "--only",
        type=letters,
        default=None,
        metavar="A,B,...",
        help="run only these experiments (letters a-h)",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="instead: remove the causes of (h)'s failure one at a time",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer passes (under 10 minutes on 2 cores); the table says so",
    )
    parser.add_argument(
        "--out",
        type=output_path("--out"),
        default=Path("notebook-results"),
        metavar="DIR",
        help="where to save notebook.md and notebook.csv",
    )
    parser.add_argument("--data-dir", type=existing_dir, default=None, metavar="DIR")
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the final table")


def check_notebook_options(args: argparse.Namespace) -> None:
    """Options that the chosen mode would ignore are an error, not silently dropped."""
    from ..errors import ArgumentError

    if args.ablation and args.only is not None:
        raise ArgumentError(
            "--ablation runs its own variants of (h); --only chooses among the notebook's "
            "experiments: give one or the other"
        )
    if args.list and args.ablation:
        raise ArgumentError("--list lists the experiments and runs nothing; drop --ablation")


def cmd_notebook(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..experiments.notebook import COLUMNS, get_experiments, run_notebook, table_rows

    check_notebook_options(args)
    experiments = get_experiments(args.only)
    if args.list:
        for experiment in experiments:
            reported = ", ".join(
                f"{s.label}: {s.reported_accuracy}%"
                if s.reported_accuracy is not None
                else f"{s.label}: cost {s.reported_cost}"
                for s in experiment.settings
            )
            print(f"{experiment.name}  {experiment.title}  [notebook: {reported}]")
        return 0
    _preflight(Path(args.out), args.ablation)
    data = load_dataset("mnist", args.data_dir, progress=None if not args.quiet else False)
    if args.ablation:
        return _ablation(args, data)
    mode = "quick (reduced passes; see the passes column)" if args.quick else "full budgets"
    if not args.quiet:
        print(f"{INTRO}\nmode: {mode}\n", flush=True)
        print("| " + " | ".join(COLUMNS) + " |\n" + "|" + "---|" * len(COLUMNS), flush=True)

    def show(row) -> None:
        if not args.quiet:
            (cells,) = table_rows([row], quick=args.quick)
            print("| " + " | ".join(cells[c] for c in COLUMNS) + " |", flush=True)

    started = time.perf_counter()
    rows = run_notebook(
        data, only=[e.name for e in experiments], quick=args.quick, seed=args.seed, on_row=show
    )
    cells = table_rows(rows, quick=args.quick)
    table = markdown_table(cells, COLUMNS)
    out = Path(args.out)
    command = (
        "scratchnet notebook"
        + (" --quick" if args.quick else "")
        + (f" --only {','.join(e.name for e in experiments)}" if args.only else "")
    )
    with atomic_write(out / "notebook.md", "w") as handle:
        handle.write(
            f"# The notebook's experiments, rerun\n\n{INTRO}\n\nMode: {mode}. "
            f"Command: `{command}`.\n\n{table}\n"
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(cells)
    with atomic_write(out / "notebook.csv", "w") as handle:
        handle.write(buffer.getvalue())
    if args.quiet:
        print(table)
    print(
        f"\n{len(rows)} rows in {time.perf_counter() - started:.0f}s; table saved to "
        f"{out / 'notebook.md'} and {out / 'notebook.csv'}"
    )
    return 0


def _preflight(out: Path, ablation: bool) -> None:
    """The tables' folder and files must be writable before hours of experiments start."""
    from ..fileio import check_output_file, check_output_folder

    check_output_folder(out, option="--out")
    names = ("ablation.md",) if ablation else ("notebook.md", "notebook.csv")
    for name in names:
        check_output_file(out / name, option="--out")


ABLATION_COLUMNS = ("variant", "test accuracy", "final cost", "learning rate", "seconds")


def _ablation(args: argparse.Namespace, data) -> int:
    from ..experiments.ablation import run_ablation

    passes = 10 if args.quick else 101
    print(
        f"Experiment (h), 11 ReLU layers of 100, {passes} passes: each cause fixed alone, "
        "then one after another.\n",
        flush=True,
    )
    print(
        "| " + " | ".join(ABLATION_COLUMNS) + " |\n" + "|" + "---|" * len(ABLATION_COLUMNS),
        flush=True,
    )
    cells = []

    def show(row) -> None:
        cell = {
            "variant": row.label,
            "test accuracy": f"{row.accuracy:.2f}%",
            "final cost": f"{row.final_loss:.4f}",
            "learning rate": f"{row.learning_rate:g}",
            "seconds": f"{row.seconds:.1f}",
        }
        cells.append(cell)
        print("| " + " | ".join(cell[c] for c in ABLATION_COLUMNS) + " |", flush=True)

    run_ablation(data, passes=passes, seed=args.seed, on_row=show)
    table = markdown_table(cells, ABLATION_COLUMNS)
    out = Path(args.out)
    command = "scratchnet notebook --ablation" + (" --quick" if args.quick else "")
    with atomic_write(out / "ablation.md", "w") as handle:
        handle.write(
            f"# Why experiment (h) failed: an ablation\n\nCommand: `{command}`.\n\n{table}\n"
        )
    print(f"\ntable saved to {out / 'ablation.md'}")
    return 0
