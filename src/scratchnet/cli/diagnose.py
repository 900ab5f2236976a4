"""`scratchnet diagnose`: train with probes (or read a saved model) and say what is wrong."""

from __future__ import annotations

import argparse
import json
import math
import shlex
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, ScratchnetError


def render(diagnosis) -> str:
    """The findings first (causes, then symptoms), then the per-layer numbers they rest on."""
    lines = [f"diagnosis: {diagnosis.subject}"]
    if diagnosis.test_accuracy is not None:
        lines[0] += f"; test accuracy {100 * diagnosis.test_accuracy:.2f}%"
    records = diagnosis.records
    if diagnosis.findings:
        lines.append(f"\n{len(diagnosis.findings)} finding(s), most important first:")
        for number, finding in enumerate(diagnosis.findings, start=1):
            lines.append(f"{number}. [{finding.role}] {finding.title}")
            lines.append(f"   evidence: {finding.evidence}")
            lines.append(f"   fix: {finding.fix}")
            if finding.fix_args:
                lines.append(f"   options: {shlex.join(finding.fix_args)}")
    else:
        lines.append(
            "\nno problem found: the signal reaches every layer, gradients and "
            "updates are in a healthy range, and the loss falls"
        )
    if records:
        first, last = records[0], records[-1]
        chance = math.log(diagnosis.n_classes)
        loss_start, loss_end = first.get("probe_loss"), last.get("probe_loss")
        if loss_start is not None and loss_end is not None:
            lines.append(
                f"\nloss on the probe batch: {loss_start:.4f} at the start, {loss_end:.4f}"
                f" at the end (a uniform guess scores ln {diagnosis.n_classes} = "
                f"{chance:.4f})"
            )
        lines.append(
            f"most-predicted class takes {100 * last['top_class_share']:.0f}% of the probe batch"
        )
        lines.append(
            "\nlayer  activation  spread(start)  spread(end)  dead/saturated  "
            "grad norm  update/weight  He gain"
        )
        for a, b in zip(first["layers"], last["layers"], strict=True):
            share = b.get("dead_share")
            if share is None:
                share = b.get("saturated_share")
            lines.append(
                f"{a['index'] + 1:>5}  {a['activation']:<10}  {_num(a['act_spread']):>13}  "
                f"{_num(b['act_spread']):>11}  {_pct(share):>14}  {_num(b.get('grad_norm')):>9}  "
                f"{_num(b.get('update_ratio')):>13}  {_num(a['he_gain']):>7}"
            )
    return "\n".join(lines)


def _num(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def add_diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import data_options, letter, positive_int, training_options

    parser.description = (
        "Train with probes (the same options as train), or look at a saved model (--model), or "
        "at one of the notebook's experiments as written (--notebook h), and report per layer: "
        "activation spread, dead or saturated units, gradient norms, update-to-weight ratios, "
        "the loss against a uniform guess and prediction collapse; then findings in plain "
        "words, each with its evidence and a fix."
    )
    data_options(parser, dataset_default=None)
    training_options(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="PATH",
        help="diagnose this saved model instead of training (training options do not apply)",
    )
    source.add_argument(
        "--notebook",
        type=letter,
        default=None,
        metavar="A-H",
        help="diagnose this notebook experiment as written (of the training options only "
        "--epochs and --seed apply)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--repair",
        action="store_true",
        help="apply the top cause's fix, retrain with the same budget and diagnose again, up "
        "to --rounds times; print a before/after table and the final train command",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        metavar="N",
        help="most fixes --repair applies [default: 3]",
    )


# Options that each mode uses; any other training option given with it would be ignored.
_NOTEBOOK_OPTIONS = ("epochs", "seed")


def check_diagnose_options(args: argparse.Namespace) -> None:
    """--model and --notebook take their settings from elsewhere: training options given with
    them (which they would ignore) are an error naming them."""
    from .train import TRAINING_FIELDS

    if args.model is None and args.notebook is None:
        return
    if args.repair:
        raise ArgumentError("--repair retrains, so it needs training options, not --model "
                            "or --notebook; drop --repair")
    # Training options are in the namespace only when typed (argparse.SUPPRESS).
    typed = [name for name in (*TRAINING_FIELDS, "preset") if hasattr(args, name)]
    typed = [name for name in typed if name != "dataset" or args.dataset is not None]
    if args.notebook is not None:
        typed = [name for name in typed if name not in _NOTEBOOK_OPTIONS]
    if typed:
        mode = (
            "--model diagnoses a saved model"
            if args.model is not None
            else (f"--notebook {args.notebook} uses the notebook's own settings")
        )
        flags = ", ".join("--" + name.replace("_", "-") for name in typed)
        raise ArgumentError(f"{mode}; drop {flags}")


def cmd_diagnose(args: argparse.Namespace) -> int:
    from ..data import load_dataset

    check_diagnose_options(args)

    if args.model is not None:
        diagnosis = _diagnose_saved(args)
    elif args.notebook is not None:
        from ..experiments.notebook import diagnose_as_written

        data = load_dataset("mnist", args.data_dir, progress=None if not args.json else False)
        epochs = getattr(args, "epochs", None)
        diagnosis = diagnose_as_written(
            args.notebook, data, passes=epochs, seed=getattr(args, "seed", 0)
        )
    else:
        from ..diagnose.run import diagnose_training
        from .train import check_memory, config_from_args

        config = config_from_args(args)
        if not config.validation_size:
            raise ArgumentError(
                "diagnose probes the network on validation examples, and --validation-size is "
                "0; give --validation-size N (1000 is plenty)"
            )
        check_memory(config)
        if args.repair:
            return _repair(config, args)
        diagnosis = diagnose_training(config)
    if args.json:
        print(diagnosis.to_json())
    else:
        print(render(diagnosis))
    return 0


def _repair(config, args: argparse.Namespace) -> int:
    from ..diagnose.repair import repair_training

    def progress(current) -> None:
        if not args.json and current.fix is not None:
            print(f"round {len(rounds) + 1}: {current.fix.title}; retraining with "
                  f"{' '.join(current.fix.fix_args) or current.fix.data_fix}", flush=True)
        rounds.append(current)

    rounds: list = []
    result = repair_training(config, rounds=args.rounds, on_round=progress)
    if args.json:
        print(json.dumps(result.as_dict(), indent=1, default=str))
    else:
        print(render_repair(result))
    return 0


def render_repair(result) -> str:
    """The before/after table, the kept round's findings and the train command."""
    lines = ["", "round  findings                                   val acc  test acc  fix applied"]
    # val acc: the mean per-class accuracy on one validation split, the same in every round
    for number, current in enumerate(result.rounds):
        kinds = ", ".join(f.kind for f in current.diagnosis.findings) or "none"
        fix = " ".join(current.fix.fix_args) or current.fix.data_fix if current.fix else "-"
        mark = "*" if number == result.best else " "
        lines.append(
            f"{number:>4}{mark}  {kinds[:41]:<41}  {_acc(current.score):>7}  "
            f"{_acc(current.diagnosis.test_accuracy):>8}  {fix}"
        )
    lines.append(
        "(* the round kept: the best validation accuracy, mean per class, on the same "
        "validation images in every round)"
    )
    kept = result.diagnosis
    if kept.findings:
        lines.append("still found: " + "; ".join(f.title for f in kept.findings))
    else:
        lines.append("nothing left to fix")
    lines.append(f"\ntrain it with:\n  {result.command()}")
    if result.data_fixes:
        lines.append(
            "  on repaired data: " + ", ".join(result.data_fixes) + " (scratchnet cannot do "
            "this with an option: fix the data files; see docs/diagnose.md)"
        )
    return "\n".join(lines)


def _acc(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _diagnose_saved(args: argparse.Namespace):
    from ..data import load_dataset
    from ..data.features import images_to_features
    from ..diagnose import diagnose_model
    from ..diagnose.run import Diagnosis
    from ..nn import SoftmaxCrossEntropy, load_model

    model = load_model(args.model)
    dataset = args.dataset or model.metadata.get("dataset") or "mnist"
    (x_train, y_train), _ = load_dataset(dataset, args.data_dir, progress=False)
    if model.n_in != int(np.prod(x_train.shape[1:])):
        raise ScratchnetError(
            f"{args.model}: the model takes {model.n_in} inputs; "
            f"{dataset} images have {int(np.prod(x_train.shape[1:]))} pixels"
        )
    from ..runs import check_config, history_paths, read_history_file

    config = model.metadata.get("config")
    if config is not None:
        check_config(config, args.model)  # the settings diagnose reads must be valid ones

    history = None
    history_path = history_paths(args.model)[1]  # MODEL.history.json, beside it
    if history_path.exists():
        history = read_history_file(history_path)  # checked: a bad one is a RunFileError
    images, labels, where = _probe_images(config or {}, x_train, y_train)
    x = images_to_features(images, model.dtype)
    records, findings = diagnose_model(
        model,
        x,
        labels,
        history=history,
        config=config,
        loss=SoftmaxCrossEntropy(),
    )
    accuracy = model.metadata.get("test_accuracy")
    return Diagnosis(
        f"saved model {args.model} (probed on {where})", records, findings, model.n_out, None,
        accuracy,
    )


def _probe_images(config: dict, x_train, y_train, size: int = 1000):
    """The model's own validation images, drawn again as train_classifier drew them (its
    seed and validation size); never the test set. Without them: training images."""
    from ..data.features import validation_split

    seed, held = config.get("seed"), config.get("validation_size")
    labels = np.asarray(y_train, dtype=np.int64)
    if isinstance(seed, int) and isinstance(held, int) and 0 < held < len(labels):
        _, (images, val_labels) = validation_split(
            np.asarray(x_train), labels, held, rng=np.random.default_rng(seed)
        )
        return images[:size], val_labels[:size], "its validation images"
    return x_train[:size], labels[:size], "training images: the model file has no split"
