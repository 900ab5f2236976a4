"""Argument types and shared option groups for the command-line tool.

Each type rejects bad input with argparse's one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..train.recipe import SCHEDULES, TrainConfig


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer; received {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; received {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; received {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; received {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; received {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number; received {text!r}")
    return value


def unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1); received {text!r}"
        ) from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); received {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; received {text!r}") from None
    if not (value >= 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0; received {text!r}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    """'512,256' -> (512, 256); '100x10' -> ten layers of 100; '' or 'none' -> ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes: tuple[int, ...] = ()
        for part in parts:
            width, _, count = part.lower().partition("x")
            sizes += (int(width),) * (int(count) if count else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 256,128 (or 100x10 for ten "
            f"layers of 100); received {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive; received {text!r}")
    return sizes


def activation_name(text: str) -> str:
    from ..nn import get_activation

    try:
        get_activation(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def initializer_name(text: str) -> str:
    from ..nn import get_initializer

    try:
        get_initializer(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# -- the parser -------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, with its error as one line (plus where to look) instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def data_options(parser: argparse.ArgumentParser, dataset_default: str | None = "mnist") -> None:
    parser.add_argument(
        "--dataset",
        choices=("mnist", "fashion-mnist"),
        default=dataset_default,
        help="the data set"
        + ("" if dataset_default else " [default: the one the model was trained on]"),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder holding mnist/ or fashion-mnist/ (the four IDX files) "
        "[default: $SCRATCHNET_DATA, then the cache, then a download]",
    )


def training_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe a training run (shared by train and diagnose)."""
    defaults = TrainConfig.__dataclass_fields__
    parser.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=defaults["hidden"].default,
        metavar="N,N,...",
        help="hidden layer widths, e.g. 256,128",
    )
    parser.add_argument(
        "--activation",
        type=activation_name,
        default="relu",
        help="hidden activation: relu, leaky_relu, sigmoid, tanh, identity",
    )
    parser.add_argument(
        "--init",
        type=initializer_name,
        default="he-normal",
        help="weight initialiser: he-normal, he-uniform, glorot-normal, "
        "glorot-uniform, lecun-normal, lecun-uniform, uniform:LOW:HIGH, normal:STD",
    )
    parser.add_argument(
        "--lr",
        "--learning-rate",
        dest="learning_rate",
        type=positive_float,
        default=0.05,
        help="(peak) learning rate",
    )
    parser.add_argument(
        "--momentum", type=unit_interval, default=0.9, help="SGD momentum, 0 = plain SGD"
    )
    parser.add_argument(
        "--no-nesterov",
        dest="nesterov",
        action="store_false",
        help="classical momentum instead of Nesterov's",
    )
    parser.add_argument("--weight-decay", type=non_negative_float, default=5e-4, help="L2 penalty")
    parser.add_argument(
        "--schedule", choices=SCHEDULES, default="cosine", help="learning-rate schedule"
    )
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument(
        "--validation-size",
        type=non_negative_int,
        default=5000,
        help="training examples held out for validation",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")


NOTEBOOK_LETTERS = "abcdefgh"


def letter(text: str) -> str:
    """One notebook experiment, a-h."""
    value = text.strip().lower()
    if len(value) != 1 or value not in NOTEBOOK_LETTERS:
        raise argparse.ArgumentTypeError(f"expected one letter from a to h; received {text!r}")
    return value


def letters(text: str) -> list[str]:
    """Notebook experiments 'a,c,h' -> ['a', 'c', 'h']."""
    return [letter(part) for part in text.split(",") if part.strip()] or [letter(text)]
