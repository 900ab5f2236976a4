"""`scratchnet diagnose`: train with probes (or read a saved model) and say what is wrong."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ..errors import ScratchnetError


def render(diagnosis) -> str:
    """The findings first, then the per-layer numbers they rest on."""
    lines = [f"diagnosis: {diagnosis.subject}"]
    if diagnosis.test_accuracy is not None:
        lines[0] += f"; test accuracy {100 * diagnosis.test_accuracy:.2f}%"
    records = diagnosis.records
    if diagnosis.findings:
        lines.append(f"\n{len(diagnosis.findings)} finding(s), most important first:")
        for number, finding in enumerate(diagnosis.findings, start=1):
            lines.append(f"{number}. {finding.title}")
            lines.append(f"   evidence: {finding.evidence}")
            lines.append(f"   fix: {finding.fix}")
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
    from .args import data_options, letter, training_options

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


# Options that each mode uses; any other training option given with it would be ignored.
_NOTEBOOK_OPTIONS = ("epochs", "seed")


def check_diagnose_options(args: argparse.Namespace) -> None:
    """--model and --notebook take their settings from elsewhere: training options given with
    them (which they would ignore) are an error naming them."""
    from ..errors import ArgumentError
    from .train import TRAINING_FIELDS

    if args.model is None and args.notebook is None:
        return
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
        check_memory(config)
        diagnosis = diagnose_training(config)
    if args.json:
        print(diagnosis.to_json())
    else:
        print(render(diagnosis))
    return 0


def _diagnose_saved(args: argparse.Namespace):
    from ..data import load_dataset
    from ..data.features import images_to_features
    from ..diagnose import diagnose_model
    from ..diagnose.run import Diagnosis
    from ..nn import SoftmaxCrossEntropy, load_model

    model = load_model(args.model)
    dataset = args.dataset or model.metadata.get("dataset") or "mnist"
    _, (x_test, y_test) = load_dataset(dataset, args.data_dir, progress=False)
    if model.n_in != int(np.prod(x_test.shape[1:])):
        raise ScratchnetError(
            f"{args.model}: the model takes {model.n_in} inputs; "
            f"{dataset} images have {int(np.prod(x_test.shape[1:]))} pixels"
        )
    from ..runs import check_config, history_paths, read_history_file

    config = model.metadata.get("config")
    if config is not None:
        check_config(config, args.model)  # the settings diagnose reads must be valid ones

    history = None
    history_path = history_paths(args.model)[1]  # MODEL.history.json, beside it
    if history_path.exists():
        history = read_history_file(history_path)  # checked: a bad one is a RunFileError
    x = images_to_features(x_test[:1000], model.dtype)
    labels = y_test[:1000].astype(np.int64)
    records, findings = diagnose_model(
        model,
        x,
        labels,
        history=history,
        config=config,
        loss=SoftmaxCrossEntropy(),
    )
    accuracy = model.metadata.get("test_accuracy")
    return Diagnosis(f"saved model {args.model}", records, findings, model.n_out, None, accuracy)
