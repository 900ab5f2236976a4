"""scratchnet: neural networks written from scratch in NumPy.

    from scratchnet import datasets, nn, optim, train
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()

`import scratchnet` needs NumPy alone; the command-line tool (`scratchnet`) adds tqdm and Pillow.
The names below are imported on first use (PEP 562), so that `scratchnet --help` and the
command-line tool's argument errors do not pay for NumPy and the whole engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (relative to this package); a module itself when
# the name is "".
_PUBLIC = {
    "data": ("data", ""),
    "datasets": ("datasets", ""),
    "errors": ("errors", ""),
    "nn": ("nn", ""),
    "optim": ("optim", ""),
    "pictures": ("pictures", ""),
    "runs": ("runs", ""),
    "train": ("train", ""),
    "load_dataset": ("data", "load_dataset"),
    "images_to_features": ("data.features", "images_to_features"),
    "validation_split": ("data.features", "validation_split"),
    "DataError": ("errors", "DataError"),
    "DatasetNotFoundError": ("errors", "DatasetNotFoundError"),
    "DownloadError": ("errors", "DownloadError"),
    "IDXError": ("errors", "IDXError"),
    "ImageError": ("errors", "ImageError"),
    "ModelFileError": ("errors", "ModelFileError"),
    "FileError": ("errors", "FileError"),
    "RunFileError": ("errors", "RunFileError"),
    "ScratchnetError": ("errors", "ScratchnetError"),
    "Dense": ("nn", "Dense"),
    "Sequential": ("nn", "Sequential"),
    "SoftmaxCrossEntropy": ("nn", "SoftmaxCrossEntropy"),
    "load_model": ("nn", "load_model"),
    "mlp": ("nn", "mlp"),
    "save_model": ("nn", "save_model"),
    "SGD": ("optim", "SGD"),
    "CosineDecay": ("optim", "CosineDecay"),
    "History": ("train", "History"),
    "TrainConfig": ("runs", "TrainConfig"),
    "RunDir": ("runs", "RunDir"),
    "evaluate": ("train", "evaluate"),
    "fit": ("train", "fit"),
    "train_classifier": ("runs", "train_classifier"),
    "predict_images": ("pictures", "predict_images"),
    "predict_picture": ("pictures", "predict_picture"),
}

__all__ = [
    "SGD",
    "CosineDecay",
    "DataError",
    "DatasetNotFoundError",
    "Dense",
    "DownloadError",
    "FileError",
    "History",
    "IDXError",
    "ImageError",
    "ModelFileError",
    "RunDir",
    "RunFileError",
    "ScratchnetError",
    "Sequential",
    "SoftmaxCrossEntropy",
    "TrainConfig",
    "data",
    "datasets",
    "errors",
    "evaluate",
    "fit",
    "images_to_features",
    "load_dataset",
    "load_model",
    "mlp",
    "nn",
    "optim",
    "pictures",
    "predict_images",
    "predict_picture",
    "runs",
    "save_model",
    "train",
    "train_classifier",
    "validation_split",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'scratchnet' has no attribute {name!r}") from None
    module = importlib.import_module(f".{module_name}", __name__)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import data, datasets, errors, nn, optim, pictures, runs, train
    from .data import load_dataset
    from .data.features import images_to_features, validation_split
    from .errors import (
        DataError,
        DatasetNotFoundError,
        DownloadError,
        FileError,
        IDXError,
        ImageError,
        ModelFileError,
        RunFileError,
        ScratchnetError,
    )
    from .nn import Dense, Sequential, SoftmaxCrossEntropy, load_model, mlp, save_model
    from .optim import SGD, CosineDecay
    from .pictures import predict_images, predict_picture
    from .runs import RunDir, TrainConfig, train_classifier
    from .train import History, evaluate, fit
