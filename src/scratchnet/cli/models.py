"""`scratchnet evaluate`: score a saved model on its data set's test set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import ScratchnetError


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import data_options

    parser.description = (
        "Accuracy, per-class precision and recall, and the confusion matrix of a saved model "
        "on its data set's test set (with --data, or for a model trained on your own data, "
        "the test split of that data)."
    )
    parser.add_argument("model", type=Path, help="a model file written by scratchnet train")
    data_options(parser, dataset_default=None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _load_for_eval(path: Path):
    from ..nn import load_model

    model = load_model(path)
    if model.n_in != 784:
        raise ScratchnetError(f"{path}: the model takes {model.n_in} inputs; 28x28 images need 784")
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..data.features import images_to_features
    from ..train.metrics import confusion_matrix, per_class_scores

    model = _load_for_eval(args.model)
    own = getattr(args, "data", None) or model.metadata.get("data")
    if own is not None and args.dataset is None:
        from ..data.own import load_own

        dataset = str(own)  # the test split of the user's data: the one train held out
        data = load_own(own)
        _, (x_test, y_test) = data
        trained = model.metadata.get("class_names")
        if isinstance(trained, list) and trained != list(data.class_names):
            raise ScratchnetError(
                f"{args.model} was trained on the classes {trained}; {own} holds "
                f"{list(data.class_names)}"
            )
    else:
        dataset = args.dataset or model.metadata.get("dataset") or "mnist"
        _, (x_test, y_test) = load_dataset(dataset, args.data_dir, progress=not args.json and None)
    labels = y_test.astype(np.int64)
    if labels.max() >= model.n_out:
        raise ScratchnetError(
            f"{args.model}: the model has {model.n_out} outputs but {dataset} has "
            f"{labels.max() + 1} classes"
        )
    logits = model.predict_logits(images_to_features(x_test, model.dtype))
    predictions = logits.argmax(axis=1)
    calibration = _calibration(model, logits, labels)
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
                    "calibration": calibration,
                },
                indent=1,
            )
        )
        return 0
    print(f"{args.model} on the {dataset} test set ({labels.size:,} images)")
    print(f"accuracy {100 * accuracy:.2f}%")
    if calibration["temperature"] is None:
        print(
            f"expected calibration error {100 * calibration['ece_before']:.2f}% (the model "
            "holds no temperature: train it again to calibrate it)\n"
        )
    else:
        print(
            f"expected calibration error {100 * calibration['ece_before']:.2f}% before, "
            f"{100 * calibration['ece_after']:.2f}% after temperature scaling "
            f"(T = {calibration['temperature']:.3f}, fitted on the validation split)\n"
        )
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


def _calibration(model, logits: np.ndarray, labels: np.ndarray) -> dict:
    """The test set's expected calibration error at T = 1 and at the model's temperature."""
    from ..train.calibration import expected_calibration_error, softmax_with_temperature

    saved = model.metadata.get("calibration")
    temperature = saved.get("temperature") if isinstance(saved, dict) else None
    if not isinstance(temperature, int | float) or not 0.01 <= temperature <= 100:
        temperature = None
    before = expected_calibration_error(softmax_with_temperature(logits), labels)
    after = (
        None
        if temperature is None
        else expected_calibration_error(softmax_with_temperature(logits, temperature), labels)
    )
    return {
        "temperature": temperature,
        "ece_before": round(before, 6),
        "ece_after": None if after is None else round(after, 6),
    }


def _class_names(model) -> list[str]:
    names = model.metadata.get("class_names")
    if isinstance(names, list) and len(names) == model.n_out:
        return [str(n) for n in names]
    return [str(i) for i in range(model.n_out)]
