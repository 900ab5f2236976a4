"""The command-line tool: `scratchnet COMMAND ...`, one module per command.

Only this package parses argv, prints for the user and chooses exit codes. `main` is the one
error boundary: a ScratchnetError is a user's mistake, printed on one line with its exit code
(2 for arguments, 1 for data, files and models); a diverging run (FloatingPointError from fit)
exits 1 with its explanation; running out of memory is one line saying so; anything else is a
bug in scratchnet and is reported as one (exit 70; SCRATCHNET_DEBUG=1 shows the traceback).

Adding a command: one entry in COMMANDS naming its module in this package, the function there
that adds its arguments to the sub-parser it is given, and the function that runs it. A module
is imported only when its command is the one being run (or its help is asked for), so
`scratchnet --help` and argument errors answer without importing NumPy or the engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from ..errors import ScratchnetError
from .args import Parser

PROG = "scratchnet"
VERSION = "0.1.0"  # scratchnet.__version__; kept here so that --version imports nothing
EXIT_INTERNAL = 70  # EX_SOFTWARE in sysexits.h: an internal software error
DEBUG_VARIABLE = "SCRATCHNET_DEBUG"


@dataclasses.dataclass(frozen=True)
class Command:
    """Where a sub-command lives: `module` (in scratchnet.cli), its function `add(parser)` that
    adds the arguments (and description) to the sub-parser, and `run(args) -> int`."""

    module: str
    add: str
    run: str
    help: str

    def _function(self, name: str) -> Callable:
        return getattr(importlib.import_module(f".{self.module}", __package__), name)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        self._function(self.add)(parser)

    def __call__(self, args: argparse.Namespace) -> int:
        return self._function(self.run)(args)


COMMANDS: dict[str, Command] = {
    "train": Command("train", "add_train_arguments", "cmd_train", "train a network and save it"),
    "evaluate": Command(
        "models", "add_evaluate_arguments", "cmd_evaluate", "score a saved model on the test set"
    ),
    "predict": Command(
        "predict", "add_predict_arguments", "cmd_predict", "classify pictures of digits or clothes"
    ),
    "notebook": Command(
        "notebook",
        "add_notebook_arguments",
        "cmd_notebook",
        "rerun the user's notebook's experiments, as written and done right",
    ),
    "diagnose": Command(
        "diagnose",
        "add_diagnose_arguments",
        "cmd_diagnose",
        "train with probes and explain why a network is (not) learning",
    ),
    "lr-find": Command(
        "lrfind", "add_lrfind_arguments", "cmd_lrfind", "find a learning rate: the range test"
    ),
    "sweep": Command(
        "sweep",
        "add_sweep_arguments",
        "cmd_sweep",
        "compare settings: grid or random search, in parallel, resumable",
    ),
    "report": Command(
        "report",
        "add_report_arguments",
        "cmd_report",
        "build report.html for a run or sweep folder",
    ),
    "serve": Command(
        "serve",
        "add_serve_arguments",
        "cmd_serve",
        "the studio: draw digits, browse runs, watch training live (a local web page)",
    ),
}


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named in argv: its first word that does not start with '-'."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only` given, every other command's sub-parser is left empty (its
    name and help still listed), so that only `only`'s module is imported ("": none)."""
    parser = Parser(
        prog=PROG,
        description="Neural networks from scratch in NumPy: train, evaluate and use them on "
        "MNIST-style images.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        if only is None or name == only:
            command.add_arguments(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _available_memory() -> str:
    from ..resources import available_memory, gigabytes

    free = available_memory()
    return f"this machine has {gigabytes(free)} available" if free else "memory ran out"


def _report(command: str, exc: BaseException) -> int:
    """The one line (exit code) for an exception that escaped a command."""
    if isinstance(exc, ScratchnetError):
        text = _one_line(exc)
        if exc.exit_code == 2:
            text += f" (see '{PROG} {command} --help')"
        print(f"{PROG} {command}: error: {text}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, FloatingPointError):
        # fit's contract: a non-finite loss raises FloatingPointError naming the epoch and step.
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    if isinstance(exc, MemoryError):
        print(
            f"{PROG}: error: out of memory ({_available_memory()}); use a smaller network, "
            "batch or data set, or close other programs",
            file=sys.stderr,
        )
        return 1
    if isinstance(exc, OSError) and exc.errno is not None:
        # The system refused a file operation (no space, permission, quota, I/O error): the
        # environment, not a bug. Commands name the path they were given where they can.
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"{PROG}: error: {where}{exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 1
    print(
        f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} (please report it; "
        f"{DEBUG_VARIABLE}=1 shows the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    """Run the tool; returns the exit status (0 ok, 1 data/file/model problem, 2 bad
    arguments, 70 a bug in scratchnet, 128+N after signal N)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the chosen command's arguments ("" when none is named: --help, --version, a typo).
    args = build_parser(only=_chosen(argv) or "").parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was saved", file=sys.stderr)
        return 130
    except Exception as exc:  # the boundary: every escape becomes one line and an exit code
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        return _report(args.command, exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
