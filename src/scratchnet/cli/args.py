"""Argument types and shared option groups for the command-line tool.

Each type rejects bad input with argparse's one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from ..runs.config import TrainConfig


def _checked(convert, accept, expected: str, name: str):
    """An argparse type: `convert` the text (int or float), then keep it only if `accept`s it;
    either failure is the one line 'expected EXPECTED; received TEXT'."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = name
    return parse


positive_int = _checked(int, lambda v: v >= 1, "a positive integer", "positive_int")
non_negative_int = _checked(int, lambda v: v >= 0, "an integer >= 0", "non_negative_int")
# NaN fails every comparison, so the float types refuse it as well as infinities.
positive_float = _checked(
    float, lambda v: v > 0 and np.isfinite(v), "a positive number", "positive_float"
)
unit_interval = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)", "unit_interval")
non_negative_float = _checked(
    float, lambda v: v >= 0 and np.isfinite(v), "a number >= 0", "non_negative_float"
)


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
        help="the data set [default: mnist, or the model's or preset's]",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder holding mnist/ or fashion-mnist/ (the four IDX files) "
        "[default: $SCRATCHNET_DATA, then the cache, then a download]",
    )


def optional_positive_float(text: str) -> float | None:
    """A positive number, or 'none' for off."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return positive_float(text)


def dropout_rate(text: str) -> float:
    return unit_interval(text)


def training_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe a training run (shared by train and diagnose).

    Each is left out of the namespace unless given (argparse.SUPPRESS), so that a --preset's
    settings apply first and only the options a user typed override them.
    """
    from ..optim import OPTIMIZERS, SCHEDULES
    from ..runs.config import AUGMENTATIONS
    from ..train.nonfinite import NONFINITE_POLICIES
    from ..train.presets import PRESETS

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}

    def add(*flags: str, help: str, **kwargs) -> None:
        dest = kwargs.get("dest") or flags[-1].lstrip("-").replace("-", "_")
        default = defaults.get(dest)
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        shown = "" if kwargs.get("action") == "store_false" else f" [default: {default}]"
        parser.add_argument(*flags, default=argparse.SUPPRESS, help=help + shown, **kwargs)

    parser.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default=argparse.SUPPRESS,
        help="start from a named recipe (fast, best, fashion); options given too override it",
    )
    add(
        "--hidden",
        type=hidden_sizes,
        metavar="N,N,...",
        help="hidden layer widths, e.g. 256,128 or 100x10",
    )
    add(
        "--activation",
        type=activation_name,
        help="hidden activation: relu, leaky_relu, sigmoid, tanh, identity",
    )
    add(
        "--init",
        type=initializer_name,
        help="weight initialiser: he-normal, he-uniform, glorot-normal, glorot-uniform, "
        "lecun-normal, lecun-uniform, uniform:LOW:HIGH, normal:STD",
    )
    add("--optimizer", choices=tuple(OPTIMIZERS), help="the optimiser")
    add(
        "--lr",
        "--learning-rate",
        dest="learning_rate",
        type=positive_float,
        help="(peak) learning rate",
    )
    add("--momentum", type=unit_interval, help="momentum (sgd, rmsprop); 0 = plain SGD")
    add(
        "--no-nesterov",
        dest="nesterov",
        action="store_false",
        help="classical momentum instead of Nesterov's",
    )
    add(
        "--weight-decay",
        type=non_negative_float,
        help="L2 penalty (decoupled weight decay with adamw)",
    )
    add("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    add("--batch-size", type=positive_int, help="examples per step")
    add("--epochs", type=positive_int, help="passes over the training set")
    add("--dropout", type=dropout_rate, help="share of hidden units dropped in training")
    add(
        "--batch-norm",
        dest="batch_norm",
        action="store_true",
        help="batch normalisation in every hidden layer",
    )
    add("--label-smoothing", type=unit_interval, help="label smoothing")
    add(
        "--clip-norm",
        type=optional_positive_float,
        metavar="NORM",
        help="clip the global gradient norm (none: off)",
    )
    add(
        "--max-norm",
        type=optional_positive_float,
        metavar="NORM",
        help="cap every unit's incoming weight norm (none: off)",
    )
    add(
        "--augment",
        choices=AUGMENTATIONS,
        help="augment training images: affine (shift, rotate, scale), elastic (affine and "
        "elastic distortions) or affine-flip (affine, and half mirrored: for clothes)",
    )
    add(
        "--early-stopping",
        type=non_negative_int,
        metavar="PATIENCE",
        help="stop after this many epochs without a better validation accuracy and keep the "
        "best weights (0: off)",
    )
    add(
        "--validation-size", type=non_negative_int, help="training examples held out for validation"
    )
    add("--seed", type=non_negative_int, help="the random seed")
    add("--dtype", choices=("float32", "float64"), help="floating-point precision")
    add(
        "--on-nonfinite",
        choices=NONFINITE_POLICIES,
        help="when the loss turns NaN or infinite: stop with an explanation; skip-batch: put "
        "back the weights from before the bad update and go on; halve-lr: also halve the "
        "learning rate (gives up after 3 in a row)",
    )


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
