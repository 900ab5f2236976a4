"""scratchnet.nn: layers with hand-written forward and backward passes, losses, initialisers,
the Sequential network, saving/loading and gradient checking. Imports NumPy only."""

from . import autotune, gradcheck, init
from .activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
    log_softmax,
    sigmoid,
    softmax,
)
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .init import get_initializer
from .io import load_model, save_model
from .layer import Layer
from .losses import (
    BinaryCrossEntropy,
    Loss,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    get_loss,
)
from .model import Sequential, mlp

__all__ = [
    "Activation",
    "BatchNorm",
    "BinaryCrossEntropy",
    "Dense",
    "Dropout",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MeanSquaredError",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Tanh",
    "autotune",
    "get_activation",
    "get_initializer",
    "get_loss",
    "gradcheck",
    "init",
    "load_model",
    "log_softmax",
    "mlp",
    "save_model",
    "sigmoid",
    "softmax",
]
