"""Argument types and shared option groups for the command-line tool.

Each type rejects bad input with argparse's one-line message and exit status 2, including
values beyond an upper bound where a larger one can only be a typo (the bound and its reason
are in the message). This module imports neither NumPy nor the engine at import time: the
parser for `scratchnet --help` and for argument errors is built without them.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

# Upper bounds: far above anything useful on one machine, low enough that a value past them is
# refused before it is used to size an array, a loop or a thread pool.
MAX_WIDTH = 100_000  # one hidden layer: 784 x 100,000 float32 weights are 314 MB already
MAX_LAYERS = 1_000  # hidden layers; the notebook's deepest network has 10
MAX_COUNT = 1_000_000  # epochs, patience, checkpoint intervals: a million passes over a set
MAX_EXAMPLES = 100_000_000  # batch and validation sizes: examples of one data set
MAX_SEED = 2**63 - 1  # seeds are stored as 64-bit integers in checkpoints and JSON


def _checked(convert, accept, expected: str, name: str):
    """An argparse type: `convert` the text (int or float), then keep it only if `accept`s it;
    either failure is the one line 'expected EXPECTED; received TEXT'."""

    def parse(text: str):
        try:
            value = convert(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = name
    return parse


def bounded_int(low: int, high: int, name: str, reason: str):
    """An int type accepting low..high: below, 'expected a positive integer' (or >= low);
    above, 'expected at most HIGH (REASON)'."""
    expected = "a positive integer" if low == 1 else f"an integer >= {low}"
    at_least = _checked(int, lambda v: v >= low, expected, name)

    def parse(text: str) -> int:
        value = at_least(text)
        if value > high:
            raise argparse.ArgumentTypeError(
                f"expected at most {high:_}; received {text!r} ({reason})"
            )
        return value

    parse.__name__ = parse.__qualname__ = name
    return parse


positive_int = bounded_int(
    1, MAX_COUNT, "positive_int", f"more than {MAX_COUNT:_} is surely a typo"
)
non_negative_int = bounded_int(
    0, MAX_COUNT, "non_negative_int", f"more than {MAX_COUNT:_} is surely a typo"
)
example_count = bounded_int(
    1, MAX_EXAMPLES, "example_count", f"no data set here has more than {MAX_EXAMPLES:_} examples"
)
non_negative_example_count = bounded_int(
    0, MAX_EXAMPLES, "example_count", f"no data set here has more than {MAX_EXAMPLES:_} examples"
)
seed_int = bounded_int(0, MAX_SEED, "seed", "seeds are stored as 64-bit integers")
# NaN fails every comparison, so the float types refuse it as well as infinities.
positive_float = _checked(
    float, lambda v: v > 0 and math.isfinite(v), "a positive number", "positive_float"
)
unit_interval = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)", "unit_interval")
non_negative_float = _checked(
    float, lambda v: v >= 0 and math.isfinite(v), "a number >= 0", "non_negative_float"
)


def hidden_sizes(text: str) -> tuple[int, ...]:
    """'512,256' -> (512, 256); '100x10' -> ten layers of 100; 'none' -> ().

    Every width and every repeat count must be positive (8x0 and 100x-1 are errors, not "no
    layer"), widths at most MAX_WIDTH and MAX_LAYERS layers in all."""
    if text.strip().lower() == "none":
        return ()
    expected = (
        "expected comma-separated positive integers such as 256,128 (or 100x10 for ten layers "
        f"of 100; none for no hidden layer); received {text!r}"
    )
    sizes: list[int] = []
    for part in text.split(","):
        width_text, times, count_text = part.strip().lower().partition("x")
        try:
            width = int(width_text)
            count = int(count_text) if times else 1
        except ValueError:
            raise argparse.ArgumentTypeError(expected) from None
        if width < 1 or count < 1:
            raise argparse.ArgumentTypeError(
                f"hidden sizes must be positive (widths and repeat counts); received {text!r}"
            )
        if width > MAX_WIDTH:
            raise argparse.ArgumentTypeError(
                f"a hidden layer has at most {MAX_WIDTH:_} units (784 x {MAX_WIDTH:_} weights "
                f"are 314 MB already); received {text!r}"
            )
        if count > MAX_LAYERS or len(sizes) + count > MAX_LAYERS:
            raise argparse.ArgumentTypeError(
                f"at most {MAX_LAYERS} hidden layers (gradients do not reach the first of more);"
                f" received {text!r}"
            )
        sizes += [width] * count
    return tuple(sizes)


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


MAX_THREADS = 1024  # BLAS thread pools; more than the cores are capped at use, with a note
thread_count = bounded_int(
    1, MAX_THREADS, "thread_count", f"no machine here has more than {MAX_THREADS} cores"
)


def output_path(option: str):
    """A path type for an output option: the empty string (which would mean the working
    folder itself) is refused, naming the option."""

    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(
                f"expected a path for {option}; received an empty string"
            )
        return Path(text)

    parse.__name__ = parse.__qualname__ = "path"
    return parse


def existing_dir(text: str) -> Path:
    """--data-dir: a folder (or keras' mnist.npz itself) that must exist; a missing one is an
    error, never skipped for another copy of the data."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder; received an empty string")
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(
            f"{text} does not exist; give the folder that holds mnist/ or fashion-mnist/"
        )
    return path


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
        type=existing_dir,
        default=None,
        metavar="DIR",
        help="a folder holding mnist/ or fashion-mnist/ (the four IDX files) "
        "[default: $SCRATCHNET_DATA, then the cache, then a download]",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="your own data instead of --dataset: a folder of class folders of pictures (with "
        "train/ and test/ inside, or a test split held out), a CSV with a label column and 784 "
        "pixel columns, or an .npz with x and y arrays",
    )


def optional_positive_float(text: str) -> float | None:
    """A positive number, or 'none' for off."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return positive_float(text)


def dropout_rate(text: str) -> float:
    return unit_interval(text)


def training_options(
    parser: argparse.ArgumentParser, shown_defaults: dict[str, str] | None = None
) -> None:
    """The options that describe a training run (shared by train and diagnose).

    Each is left out of the namespace unless given (argparse.SUPPRESS), so that a --preset's
    settings apply first and only the options a user typed override them.
    """
    from ..optim import OPTIMIZERS, SCHEDULES
    from ..runs.config import AUGMENTATIONS, TrainConfig
    from ..train.nonfinite import NONFINITE_POLICIES
    from ..train.presets import PRESETS

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    defaults.update(shown_defaults or {})  # a command whose defaults differ says so

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
    add("--batch-size", type=example_count, help="examples per step")
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
        "--validation-size",
        type=non_negative_example_count,
        help="training examples held out for validation",
    )
    add("--seed", type=seed_int, help="the random seed")
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
