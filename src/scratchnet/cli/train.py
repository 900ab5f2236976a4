"""`scratchnet train`: one training run, printed epoch by epoch, saved with its history."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import ScratchnetError
from ..train.callbacks import Callback, TrainingState
from ..train.recipe import TrainConfig


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the training options describe."""
    return TrainConfig(
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
    from ..nn import save_model
    from ..train.callbacks import ProgressBar
    from ..train.recipe import train_classifier

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
