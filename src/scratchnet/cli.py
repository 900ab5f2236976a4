"""The command-line tool: `scratchnet train | evaluate | predict`.

Only this module parses argv, prints for the user and chooses exit codes: 0 on success, 2 for
bad arguments (argparse's message), 1 for a data or model problem (one line on stderr, no
traceback). Everything it runs lives in the library; this is presentation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import ScratchnetError
from .train.callbacks import Callback, TrainingState
from .train.recipe import SCHEDULES, TrainConfig

PROG = "scratchnet"


# -- argument types: each rejects bad input with argparse's usage message and exit 2 -----------
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
    """'512,256' -> (512, 256); '' or 'none' -> () (softmax regression)."""
    if text.strip().lower() in ("", "none"):
        return ()
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 256,128; received {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive; received {text!r}")
    return sizes


def activation_name(text: str) -> str:
    from .nn import get_activation

    try:
        get_activation(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def initializer_name(text: str) -> str:
    from .nn import get_initializer

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


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Neural networks from scratch in NumPy: train, evaluate and use them on "
        "MNIST-style images.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    defaults = TrainConfig.__dataclass_fields__

    train = commands.add_parser(
        "train",
        help="train a network and save it",
        description="Train a fully-connected network on MNIST or Fashion-MNIST, evaluate it once "
        "on the test set and save it with its training history.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data_options(train)
    train.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=defaults["hidden"].default,
        metavar="N,N,...",
        help="hidden layer widths, e.g. 256,128",
    )
    train.add_argument(
        "--activation",
        type=activation_name,
        default="relu",
        help="hidden activation: relu, leaky_relu, sigmoid, tanh, identity",
    )
    train.add_argument(
        "--init",
        type=initializer_name,
        default="he-normal",
        help="weight initialiser: he-normal, he-uniform, glorot-normal, "
        "glorot-uniform, lecun-normal, lecun-uniform, uniform:LOW:HIGH, normal:STD",
    )
    train.add_argument(
        "--lr",
        "--learning-rate",
        dest="learning_rate",
        type=positive_float,
        default=0.05,
        help="(peak) learning rate",
    )
    train.add_argument(
        "--momentum", type=unit_interval, default=0.9, help="SGD momentum, 0 = plain SGD"
    )
    train.add_argument(
        "--no-nesterov",
        dest="nesterov",
        action="store_false",
        help="classical momentum instead of Nesterov's",
    )
    train.add_argument("--weight-decay", type=non_negative_float, default=5e-4, help="L2 penalty")
    train.add_argument(
        "--schedule", choices=SCHEDULES, default="cosine", help="learning-rate schedule"
    )
    train.add_argument("--batch-size", type=positive_int, default=128)
    train.add_argument("--epochs", type=positive_int, default=20)
    train.add_argument(
        "--validation-size",
        type=non_negative_int,
        default=5000,
        help="training examples held out for validation",
    )
    train.add_argument("--seed", type=non_negative_int, default=0)
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to save the model (.npz); the history goes beside it "
        "[default: scratchnet-DATASET.npz]",
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
    return parser


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


# -- commands ---------------------------------------------------------------------------------
class EpochPrinter(Callback):
    """One line per epoch on `stream`."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def on_epoch_end(self, state: TrainingState) -> None:
        row = state.logs
        text = (
            f"epoch {row['epoch']:>3}/{state.epochs}  loss {row['loss']:.4f}  "
            f"acc {100 * row['accuracy']:6.2f}%"
        )
        if "val_loss" in row:
            text += f"  val_loss {row['val_loss']:.4f}  val_acc {100 * row['val_accuracy']:6.2f}%"
        text += f"  lr {row['learning_rate']:.3g}  {row['seconds']:.1f}s"
        print(text, file=self.stream, flush=True)


def _interactive(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def cmd_train(args: argparse.Namespace) -> int:
    from .nn import save_model
    from .train.callbacks import ProgressBar
    from .train.recipe import train_classifier

    config = TrainConfig(
        dataset=args.dataset,
        data_dir=str(args.data_dir) if args.data_dir else None,
        hidden=args.hidden,
        activation=args.activation,
        init=args.init,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_size=args.validation_size,
        seed=args.seed,
        dtype=args.dtype,
    )
    output = args.output or Path(f"scratchnet-{args.dataset}.npz")
    if output.exists() and output.is_dir():
        raise ScratchnetError(f"--output {output} is a directory; give a file name ending in .npz")
    callbacks: list[Callback] = []
    if not args.quiet:
        if _interactive(sys.stderr):
            callbacks.append(ProgressBar(sys.stderr))
        callbacks.append(EpochPrinter(sys.stdout))
        hidden = ",".join(map(str, config.hidden)) or "none"
        print(
            f"training {args.dataset}: 784-{hidden}-10 {config.activation}, SGD lr "
            f"{config.learning_rate:g} momentum {config.momentum:g}, batch {config.batch_size}, "
            f"{config.epochs} epochs, seed {config.seed}",
            flush=True,
        )
    started = time.perf_counter()
    result = train_classifier(
        config, callbacks=callbacks, progress=None if not args.quiet else False
    )
    save_model(result.model, output)
    stem = output.with_suffix("")
    csv_path = result.history.save_csv(f"{stem}.history.csv")
    json_path = result.history.save_json(f"{stem}.history.json")
    elapsed = time.perf_counter() - started
    val = result.history.last("val_accuracy")
    print(
        f"test accuracy {100 * result.test['accuracy']:.2f}%  (test loss "
        f"{result.test['loss']:.4f}"
        + (f", validation {100 * val:.2f}%" if val is not None else "")
        + f")\ntime {result.train_seconds:.1f}s training, {elapsed:.1f}s in all\n"
        f"model saved to {output}\nhistory saved to {csv_path} and {json_path}"
    )
    return 0


def _load_for_eval(path: Path):
    from .nn import load_model

    model = load_model(path)
    if model.n_in != 784:
        raise ScratchnetError(f"{path}: the model takes {model.n_in} inputs; 28x28 images need 784")
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .data.features import images_to_features
    from .train.metrics import confusion_matrix, per_class_scores

    model = _load_for_eval(args.model)
    dataset = args.dataset or model.metadata.get("dataset") or "mnist"
    _, (x_test, y_test) = load_dataset(dataset, args.data_dir, progress=not args.json and None)
    labels = y_test.astype(np.int64)
    if labels.max() >= model.n_out:
        raise ScratchnetError(
            f"{args.model}: the model has {model.n_out} outputs but {dataset} has "
            f"{labels.max() + 1} classes"
        )
    predictions = model.predict(images_to_features(x_test, model.dtype))
    matrix = confusion_matrix(labels, predictions, model.n_out)
    scores = per_class_scores(matrix)
    names = _class_names(model)
    accuracy = float(np.trace(matrix) / matrix.sum())
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "dataset": dataset,
                    "accuracy": accuracy,
                    "classes": names,
                    "precision": scores["precision"].round(6).tolist(),
                    "recall": scores["recall"].round(6).tolist(),
                    "support": scores["support"].tolist(),
                    "confusion_matrix": matrix.tolist(),
                },
                indent=1,
            )
        )
        return 0
    print(f"{args.model} on the {dataset} test set ({labels.size:,} images)")
    print(f"accuracy {100 * accuracy:.2f}%\n")
    width = max(len(name) for name in names)
    print(f"{'class':<{width}}  precision  recall  support")
    for i, name in enumerate(names):
        print(
            f"{name:<{width}}  {100 * scores['precision'][i]:8.2f}%  "
            f"{100 * scores['recall'][i]:5.2f}%  {scores['support'][i]:7d}"
        )
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    cell = max(5, len(str(matrix.max())) + 1)
    print(" " * (width + 1) + "".join(f"{i:>{cell}}" for i in range(model.n_out)))
    for i, name in enumerate(names):
        print(f"{name:<{width}} " + "".join(f"{v:>{cell}}" for v in matrix[i]))
    return 0


def _class_names(model) -> list[str]:
    names = model.metadata.get("class_names")
    if isinstance(names, list) and len(names) == model.n_out:
        return [str(n) for n in names]
    return [str(i) for i in range(model.n_out)]


def cmd_predict(args: argparse.Namespace) -> int:
    from .data.images import load_digit

    model = _load_for_eval(args.model)
    invert: Any = {"auto": "auto", "yes": True, "no": False}[args.invert]
    digits = np.stack([load_digit(path, invert=invert) for path in args.images])
    probs = model.predict_proba(digits.reshape(len(digits), -1))
    names = _class_names(model)
    top = min(args.top, model.n_out)
    results = []
    for path, row in zip(args.images, probs, strict=True):
        order = np.argsort(row)[::-1][:top]
        results.append(
            {
                "image": str(path),
                "prediction": names[order[0]],
                "label": int(order[0]),
                "top": [
                    {"class": names[i], "label": int(i), "probability": float(row[i])}
                    for i in order
                ],
            }
        )
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for result in results:
        others = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in result["top"])
        print(f"{result['image']}: {result['prediction']}   ({others})")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict}


def main(argv: list[str] | None = None) -> int:
    """Run the tool; returns the exit status (0 ok, 1 data/model problem, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ScratchnetError, ValueError, FloatingPointError, OSError) as exc:
        message = str(exc).replace("\n", " ") or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
