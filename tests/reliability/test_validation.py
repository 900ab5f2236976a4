"""Every public boundary answers bad input at the call, with an error that says what was
expected and what was received -- never a failure deep inside NumPy. One table: the call, the
exception, a fragment of its message."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.data import load_dataset
from scratchnet.data.augment import Augmenter
from scratchnet.data.batches import MiniBatches
from scratchnet.data.features import images_to_features, validation_split
from scratchnet.nn import Dense, Sequential, SoftmaxCrossEntropy, mlp
from scratchnet.nn.losses import BinaryCrossEntropy, MeanSquaredError
from scratchnet.optim import SGD, Adam, AdamW, RMSprop, get_schedule
from scratchnet.train import TrainConfig, evaluate, fit, train_classifier

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 4))
Y = np.array([0, 1, 0, 1, 1])
NAN = X.copy()
NAN[0, 0] = np.nan
INF = X.copy()
INF[1, 2] = -np.inf
CE = SoftmaxCrossEntropy()
IMAGES = np.zeros((10, 28, 28), np.uint8)
TINY = ((IMAGES, np.arange(10) % 3), (IMAGES[:2], np.arange(2)))


def model():
    return mlp(4, [3], 2, seed=0)


def train(x=X, labels=Y, **kwargs):
    settings = {"epochs": 1, "batch_size": 2, "seed": 0}
    parts = {"model": model(), "loss": CE, "optimizer": SGD(0.1)}
    for name in list(parts):
        if name in kwargs:
            parts[name] = kwargs.pop(name)
    return fit(parts["model"], parts["loss"], parts["optimizer"], (x, labels), **settings | kwargs)


def backward_with(grad_out):
    network = model()
    network.forward(X, training=True)
    network.backward(grad_out)


CASES = [
    # fit: data
    pytest.param(
        lambda: train(X[0]),
        ValueError,
        "train: expected features of shape (batch, 4); received shape (4,)",
        id="fit: 1-D x",
    ),
    pytest.param(
        lambda: train(X.astype(str)),
        ValueError,
        "train: expected numeric features; received dtype <U",
        id="fit: text x",
    ),
    pytest.param(
        lambda: train(X.astype(complex)),
        ValueError,
        "received dtype complex128",
        id="fit: complex x",
    ),
    pytest.param(
        lambda: train(NAN),
        ValueError,
        "train: features contain NaN or infinite values",
        id="fit: NaN in x",
    ),
    pytest.param(
        lambda: train(INF),
        ValueError,
        "train: features contain NaN or infinite values",
        id="fit: inf in x",
    ),
    pytest.param(
        lambda: train(labels=Y + 5),
        ValueError,
        "received values from 5 to 6",
        id="fit: label too big",
    ),
    pytest.param(
        lambda: train(labels=Y - 1),
        ValueError,
        "received values from -1 to 0",
        id="fit: negative label",
    ),
    pytest.param(
        lambda: train(labels=Y * 1.0),
        ValueError,
        "labels must be integers; received dtype float64",
        id="fit: float labels",
    ),
    pytest.param(
        lambda: train(labels=Y[:, None]),
        ValueError,
        "labels must have shape (5,) to match x; received (5, 1)",
        id="fit: 2-D labels",
    ),
    pytest.param(
        lambda: train(labels=Y[:3]),
        ValueError,
        "labels must have shape (5,) to match x; received (3,)",
        id="fit: lengths differ",
    ),
    pytest.param(
        lambda: train(X[:0], Y[:0]),
        ValueError,
        "cannot train on an empty data set (0 examples)",
        id="fit: no examples",
    ),
    pytest.param(
        lambda: fit(model(), CE, SGD(0.1), X, epochs=1, batch_size=2, seed=0),
        ValueError,
        "train must be a pair (x, labels)",
        id="fit: not a pair",
    ),
    pytest.param(
        lambda: train(validation=(X[:, :3], Y)),
        ValueError,
        "received shape (5, 3)",
        id="fit: validation width",
    ),
    pytest.param(
        lambda: train(validation=(X, Y[:2])),
        ValueError,
        "validation: labels must have shape (5,)",
        id="fit: validation lengths",
    ),
    # fit: settings and parts
    pytest.param(
        lambda: train(batch_size=0),
        ValueError,
        "batch_size must be a positive integer; received batch_size=0",
        id="fit: batch_size 0",
    ),
    pytest.param(
        lambda: train(epochs=0),
        ValueError,
        "epochs must be a positive integer; received epochs=0",
        id="fit: epochs 0",
    ),
    pytest.param(
        lambda: train(epochs=1.5), ValueError, "received epochs=1.5", id="fit: epochs 1.5"
    ),
    pytest.param(
        lambda: train(seed=-1),
        ValueError,
        "seed must be an integer >= 0; received seed=-1",
        id="fit: negative seed",
    ),
    pytest.param(
        lambda: train(seed=None),
        ValueError,
        "fit needs rng=np.random.default_rng(SEED) or seed=SEED",
        id="fit: no seed",
    ),
    pytest.param(
        lambda: train(rng=3),
        TypeError,
        "rng must be a numpy.random.Generator; received rng=3",
        id="fit: rng not a Generator",
    ),
    pytest.param(
        lambda: train(loss="ce"),
        TypeError,
        "loss must be a Loss such as SoftmaxCrossEntropy(); received 'ce'",
        id="fit: loss by name",
    ),
    pytest.param(
        lambda: train(optimizer="sgd"),
        TypeError,
        "optimizer must be an Optimizer such as SGD(0.1); received 'sgd'",
        id="fit: optimizer by name",
    ),
    pytest.param(
        lambda: train(model="mlp"),
        TypeError,
        "model must be a Sequential; received 'mlp'",
        id="fit: not a model",
    ),
    pytest.param(
        lambda: train(augment=3),
        TypeError,
        "augment must be a callable",
        id="fit: augment not callable",
    ),
    pytest.param(
        lambda: train(callbacks=[print]),
        TypeError,
        "callbacks must be scratchnet.train.Callback instances",
        id="fit: not a callback",
    ),
    # evaluate and predict
    pytest.param(
        lambda: evaluate(model(), CE, X, Y, batch_size=0),
        ValueError,
        "batch_size must be a positive integer; received batch_size=0",
        id="evaluate: batch_size 0",
    ),
    pytest.param(
        lambda: evaluate(model(), CE, NAN, Y),
        ValueError,
        "evaluate: features contain NaN or infinite values",
        id="evaluate: NaN",
    ),
    pytest.param(
        lambda: evaluate(model(), CE, X[:0], Y[:0]),
        ValueError,
        "cannot evaluate on an empty set (0 examples)",
        id="evaluate: empty",
    ),
    pytest.param(
        lambda: evaluate(model(), CE, X, Y + 2),
        ValueError,
        "evaluate: labels must be in [0, 2)",
        id="evaluate: labels",
    ),
    pytest.param(
        lambda: model().predict(X, batch_size=-1),
        ValueError,
        "batch_size must be a positive integer; received batch_size=-1",
        id="predict: batch_size -1",
    ),
    pytest.param(
        lambda: model().predict(X[0]),
        ValueError,
        "expected features of shape (batch, 4); received shape (4,)",
        id="predict: 1-D",
    ),
    pytest.param(
        lambda: model().predict(X[None]), ValueError, "received shape (1, 5, 4)", id="predict: 3-D"
    ),
    pytest.param(
        lambda: model().predict_proba(INF),
        ValueError,
        "features contain NaN or infinite values",
        id="predict: inf",
    ),
    pytest.param(
        lambda: model().predict(X.astype(str)),
        ValueError,
        "expected numeric features",
        id="predict: text",
    ),
    # the network
    pytest.param(
        lambda: model().forward(X[:, :3]),
        ValueError,
        "received shape (5, 3)",
        id="forward: wrong width",
    ),
    pytest.param(
        lambda: backward_with(np.ones((5, 3))),
        ValueError,
        "received shape (5, 3)",
        id="backward: wrong shape",
    ),
    pytest.param(
        lambda: backward_with(np.ones((4, 2))),
        ValueError,
        "received shape (4, 2)",
        id="backward: wrong batch",
    ),
    pytest.param(
        lambda: model().backward(np.ones((5, 2))),
        RuntimeError,
        "backward called before forward",
        id="backward before forward",
    ),
    pytest.param(
        lambda: Dense(0, 3, seed=0),
        ValueError,
        "n_in must be a positive integer; received n_in=0",
        id="Dense: n_in 0",
    ),
    pytest.param(
        lambda: Dense(2, 3, seed=0, dtype=int),
        ValueError,
        "dtype must be float32 or float64",
        id="Dense: integer dtype",
    ),
    pytest.param(
        lambda: Dense(2, 3),
        ValueError,
        "Dense needs an explicit random generator",
        id="Dense: no generator",
    ),
    pytest.param(
        lambda: mlp(4, [-1], 2, seed=0),
        ValueError,
        "hidden sizes must be positive integers; received hidden=[-1]",
        id="mlp: hidden -1",
    ),
    pytest.param(
        lambda: mlp(4, [3], 2, dropout=1.0, seed=0),
        ValueError,
        "dropout must be a number in [0, 1)",
        id="mlp: dropout 1",
    ),
    pytest.param(
        lambda: Sequential([]),
        ValueError,
        "Sequential needs at least one layer",
        id="Sequential: no layers",
    ),
    pytest.param(
        lambda: Sequential([Dense(4, 3, seed=0), Dense(2, 1, seed=0)]),
        ValueError,
        "expects 2 inputs but the layer before it gives 3",
        id="Sequential: sizes",
    ),
    # losses
    pytest.param(
        lambda: CE(np.ones(3), np.array([0])),
        ValueError,
        "received shape (3,)",
        id="loss: 1-D logits",
    ),
    pytest.param(
        lambda: CE(np.ones((2, 3), int), np.array([0, 1])),
        ValueError,
        "received shape (2, 3) of int64",
        id="loss: integer logits",
    ),
    pytest.param(
        lambda: CE.value(np.ones((0, 3)), np.array([], int)),
        ValueError,
        "must hold at least one example and one class; received shape (0, 3)",
        id="loss: empty batch",
    ),
    pytest.param(
        lambda: CE(np.ones((2, 3)), np.array([0, 3])),
        ValueError,
        "labels must be in [0, 3); received values from 0 to 3",
        id="loss: label 3 of 3",
    ),
    pytest.param(
        lambda: CE(np.ones((2, 3)), np.array([0, 1, 2])),
        ValueError,
        "labels must have shape (2,) to match the logits; received shape (3,)",
        id="loss: lengths differ",
    ),
    pytest.param(
        lambda: SoftmaxCrossEntropy(reduction="avg"),
        ValueError,
        "reduction must be 'mean' or 'sum'; received reduction='avg'",
        id="loss: reduction",
    ),
    pytest.param(
        lambda: SoftmaxCrossEntropy(label_smoothing=1),
        ValueError,
        "label_smoothing must be a number in [0, 1)",
        id="loss: smoothing 1",
    ),
    pytest.param(
        lambda: BinaryCrossEntropy()(np.ones((2, 1)), np.array([0, 2])),
        ValueError,
        "targets must lie in [0, 1]",
        id="BCE: targets 2",
    ),
    pytest.param(
        lambda: MeanSquaredError()(np.ones(3), np.ones(3)),
        ValueError,
        "outputs must be a float array of shape (batch, classes)",
        id="MSE: 1-D outputs",
    ),
    # optimisers and schedules
    pytest.param(
        lambda: SGD(-1),
        ValueError,
        "learning_rate must be in (0, inf); received learning_rate=-1",
        id="SGD: lr -1",
    ),
    pytest.param(
        lambda: SGD(float("nan")), ValueError, "received learning_rate=nan", id="SGD: lr nan"
    ),
    pytest.param(
        lambda: SGD(0.1, momentum=1),
        ValueError,
        "momentum must be in [0, 1); received momentum=1",
        id="SGD: momentum 1",
    ),
    pytest.param(
        lambda: SGD(0.1, nesterov=True),
        ValueError,
        "nesterov=True needs momentum > 0",
        id="SGD: nesterov without momentum",
    ),
    pytest.param(
        lambda: Adam(0.1, beta1=1),
        ValueError,
        "beta1 must be in [0, 1); received beta1=1",
        id="Adam: beta1 1",
    ),
    pytest.param(
        lambda: Adam(0.1, eps=0),
        ValueError,
        "eps must be in (0, inf); received eps=0",
        id="Adam: eps 0",
    ),
    pytest.param(
        lambda: AdamW(0.1, weight_decay=-1),
        ValueError,
        "weight_decay must be in [0, inf)",
        id="AdamW: decay -1",
    ),
    pytest.param(
        lambda: RMSprop(0.1, rho=2),
        ValueError,
        "rho must be in [0, 1); received rho=2",
        id="RMSprop: rho 2",
    ),
    pytest.param(
        lambda: SGD(0.1, clip_norm=0), ValueError, "clip_norm must be in (0, inf)", id="clip_norm 0"
    ),
    pytest.param(
        lambda: get_schedule("linear", 0.1, 10),
        ValueError,
        "schedule must be one of",
        id="schedule: unknown",
    ),
    pytest.param(
        lambda: get_schedule("cosine", 0.1, 0),
        ValueError,
        "total_steps must be in [1, inf)",
        id="schedule: 0 steps",
    ),
    # TrainConfig and train_classifier
    pytest.param(
        lambda: TrainConfig(dataset="cifar"),
        ValueError,
        "dataset must be one of mnist, fashion-mnist; received 'cifar'",
        id="config: dataset",
    ),
    pytest.param(
        lambda: TrainConfig(learning_rate=0),
        ValueError,
        "learning_rate must be in (0, inf); received learning_rate=0",
        id="config: lr 0",
    ),
    pytest.param(
        lambda: TrainConfig(batch_size=0),
        ValueError,
        "batch_size must be a positive integer",
        id="config: batch 0",
    ),
    pytest.param(
        lambda: TrainConfig(hidden=(16, 0)),
        ValueError,
        "hidden sizes must be positive integers",
        id="config: hidden 0",
    ),
    pytest.param(
        lambda: TrainConfig(dropout=float("nan")),
        ValueError,
        "dropout must be in [0, 1)",
        id="config: dropout nan",
    ),
    pytest.param(
        lambda: TrainConfig(nesterov="yes"),
        ValueError,
        "nesterov must be True or False; received nesterov='yes'",
        id="config: nesterov 'yes'",
    ),
    pytest.param(
        lambda: TrainConfig(batch_norm=1),
        ValueError,
        "batch_norm must be True or False",
        id="config: batch_norm 1",
    ),
    pytest.param(
        lambda: TrainConfig(data_dir=3),
        ValueError,
        "data_dir must be a folder name or None",
        id="config: data_dir 3",
    ),
    pytest.param(
        lambda: TrainConfig(preset="huge"),
        ValueError,
        "preset must be one of default, fast, best, fashion",
        id="config: preset",
    ),
    pytest.param(
        lambda: TrainConfig(dtype="float16"),
        ValueError,
        "dtype must be float32 or float64",
        id="config: dtype",
    ),
    pytest.param(
        lambda: TrainConfig(augment="mixup"),
        ValueError,
        "augment must be one of none, affine, elastic, affine-flip",
        id="config: augment",
    ),
    pytest.param(
        lambda: TrainConfig(on_nonfinite="ignore"),
        ValueError,
        "on_nonfinite must be one of stop, skip-batch, halve-lr",
        id="config: on_nonfinite",
    ),
    pytest.param(
        lambda: TrainConfig(early_stopping=2, validation_size=0),
        ValueError,
        "early_stopping needs a validation set",
        id="config: early stopping, no validation",
    ),
    pytest.param(
        lambda: train_classifier(TrainConfig(), data=(1, 2)),
        ValueError,
        "data must be ((x_train, y_train), (x_test, y_test))",
        id="train_classifier: data",
    ),
    pytest.param(
        lambda: train_classifier(TrainConfig(hidden=(4,), epochs=1), data=TINY),
        ValueError,
        "received 5000",
        id="train_classifier: validation too big",
    ),
    # data
    pytest.param(
        lambda: load_dataset("cifar"),
        ValueError,
        "unknown data set 'cifar'; expected one of: mnist, fashion-mnist",
        id="load_dataset: unknown",
    ),
    pytest.param(
        lambda: images_to_features(np.full((2, 28, 28), np.nan)),
        ValueError,
        "images contain NaN or infinite values",
        id="images_to_features: NaN",
    ),
    pytest.param(
        lambda: images_to_features(np.zeros(784)),
        ValueError,
        "received (784,)",
        id="images_to_features: 1-D",
    ),
    pytest.param(
        lambda: validation_split(X, Y, 5, rng=RNG),
        ValueError,
        "validation size must be an integer in [0, 5)",
        id="validation_split: too big",
    ),
    pytest.param(
        lambda: MiniBatches(X, Y[:3], 2),
        ValueError,
        "x and labels must have the same length; received 5 and 3",
        id="MiniBatches: lengths",
    ),
    pytest.param(
        lambda: Augmenter(max_shift=-1, seed=0),
        ValueError,
        "max_shift must be a finite number >= 0; received max_shift=-1",
        id="Augmenter: shift -1",
    ),
    pytest.param(
        lambda: Augmenter(scale_range=(1.2, 0.8), seed=0),
        ValueError,
        "scale_range must be a pair (low, high) with 0 < low <= high",
        id="Augmenter: scale range",
    ),
    pytest.param(
        lambda: Augmenter(seed=0)(np.zeros((2, 784), np.uint8)),
        ValueError,
        "x must hold float32 or float64 images; received dtype uint8",
        id="Augmenter: uint8 images",
    ),
    pytest.param(
        lambda: Augmenter(seed=0)(np.full((2, 784), np.nan, np.float32)),
        ValueError,
        "x contains NaN or infinite values",
        id="Augmenter: NaN",
    ),
    pytest.param(
        lambda: Augmenter(seed=0)(np.zeros((2, 780), np.float32)),
        ValueError,
        "received x.shape=(2, 780)",
        id="Augmenter: shape",
    ),
]


@pytest.mark.parametrize("call, error, fragment", CASES)
def test_bad_input_is_refused_at_the_call(call, error, fragment):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert fragment in message, message
    assert "\n" not in message
    # Raised by scratchnet itself, not by NumPy on the way.
    origin = caught.traceback[-1].path
    assert "scratchnet" in str(origin) and "numpy" not in str(origin), origin
