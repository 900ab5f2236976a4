"""`scratchnet train`: one training run, printed epoch by epoch, saved with its history."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from ..errors import ScratchnetError
from ..fileio import atomic_write
from ..train.callbacks import Callback, TrainingState
from ..train.recipe import TrainConfig

TRAINING_FIELDS = tuple(
    f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("preset", "data_dir")
)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the options describe: the preset's settings (or the defaults),
    then every option the user gave."""
    given = {name: getattr(args, name) for name in TRAINING_FIELDS if hasattr(args, name)}
    if given.get("dataset") is None:
        given.pop("dataset", None)
    given["data_dir"] = str(args.data_dir) if args.data_dir else None
    preset = getattr(args, "preset", None)
    if preset:
        return TrainConfig.from_preset(preset, **given)
    return TrainConfig(**given)


def describe(config: TrainConfig) -> str:
    """Every setting of the run, on a few lines (a preset's settings spelled out)."""
    hidden = ",".join(map(str, config.hidden)) or "none"
    head = f"training {config.dataset}"
    if config.preset:
        head += f" with preset {config.preset!r}"
    settings = {
        k: v
        for k, v in config.to_dict().items()
        if k not in ("dataset", "preset", "data_dir", "hidden")
    }
    pairs = ", ".join(f"{k}={v}" for k, v in settings.items())
    return f"{head}: 784-{hidden.replace(',', '-')}-10\nsettings: {pairs}"


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

    config = config_from_args(args)
    run_dir = args.out
    if run_dir is not None:
        if run_dir.exists() and not run_dir.is_dir():
            raise ScratchnetError(f"--out {run_dir} exists and is not a folder")
        output = run_dir / "model.npz"
    else:
        output = args.output or Path(f"scratchnet-{config.dataset}.npz")
    if output.exists() and output.is_dir():
        raise ScratchnetError(f"--output {output} is a directory; give a file name ending in .npz")
    callbacks: list[Callback] = []
    if not args.quiet:
        if _interactive(sys.stderr):
            callbacks.append(ProgressBar(sys.stderr))
        callbacks.append(EpochPrinter(sys.stdout))
        print(describe(config), flush=True)
    started = time.perf_counter()
    result = train_classifier(
        config, callbacks=callbacks, progress=None if not args.quiet else False
    )
    save_model(result.model, output)
    if run_dir is not None:
        csv_path = result.history.save_csv(run_dir / "history.csv")
        json_path = result.history.save_json(run_dir / "history.json")
        with atomic_write(run_dir / "config.json", "w") as handle:
            json.dump(config.to_dict(), handle, indent=1)
            handle.write("\n")
    else:
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
