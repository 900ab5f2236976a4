"""scratchnet: neural networks written from scratch in NumPy.

    from scratchnet import datasets, nn, optim, train
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()

`import scratchnet` needs NumPy alone; the command-line tool (`scratchnet`) adds tqdm and Pillow.
"""

from . import data, datasets, errors, nn, optim, pictures, train
from .data import load_dataset
from .data.features import images_to_features, validation_split
from .errors import (
    DataError,
    DatasetNotFoundError,
    DownloadError,
    IDXError,
    ImageError,
    ModelFileError,
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
from .pictures import predict_images, predict_picture
from .train import History, TrainConfig, evaluate, fit, train_classifier

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
    "save_model",
    "train",
    "train_classifier",
    "validation_split",
]
