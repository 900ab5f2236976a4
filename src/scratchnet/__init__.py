"""scratchnet: neural networks written from scratch in NumPy.

    from scratchnet import datasets, nn, optim, train
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()

`import scratchnet` needs NumPy alone; the command-line tool (`scratchnet`) adds tqdm and Pillow.
"""

from . import data, datasets, errors, nn, optim, runs, train
from .data import load_dataset
from .data.features import images_to_features, validation_split
from .errors import (
    DataError,
    DatasetNotFoundError,
    DownloadError,
    IDXError,
    ImageError,
    ModelFileError,
    OutputError,
    RunFileError,
    ScratchnetError,
)
from .nn import (
    Dense,
    Sequential,
    SoftmaxCrossEntropy,
    load_model,
    mlp,
    save_model,
)
from .optim import SGD, CosineDecay
from .runs import RunDir, TrainConfig, train_classifier
from .train import History, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "CosineDecay",
    "DataError",
    "DatasetNotFoundError",
    "Dense",
    "DownloadError",
    "History",
    "IDXError",
    "ImageError",
    "ModelFileError",
    "OutputError",
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
    "runs",
    "save_model",
    "train",
    "train_classifier",
    "validation_split",
]
