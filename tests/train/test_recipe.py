"""TrainConfig validation and train_classifier end to end on tiny synthetic digit-shaped data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.nn import Dense
from scratchnet.optim import SGD
from scratchnet.train import Callback, History, TrainConfig, TrainResult, train_classifier


def synthetic_digits(n_train=120, n_test=30, seed=0):
    """uint8 (n, 28, 28) images whose class (0..9) is which of ten 28x2 column bands is lit."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, :, 4 + 2 * label : 6 + 2 * label] = 255
        return images, labels.astype(np.uint8)

    return make(n_train), make(n_test)


SMALL = {"hidden": (16,), "epochs": 2, "batch_size": 16, "validation_size": 20}


# -- TrainConfig -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden": (0,)}, r"hidden sizes must be positive integers; received hidden=\(0,\)"),
        ({"hidden": (16, -1)}, "hidden sizes must be positive integers"),
        ({"hidden": (1.5,)}, "hidden sizes must be positive integers"),
        ({"hidden": (True,)}, "hidden sizes must be positive integers"),
        ({"epochs": 0}, r"epochs must be a positive integer; received epochs=0"),
        ({"epochs": 2.0}, "epochs must be a positive integer"),
        (
            {"schedule": "linear"},
            r"schedule must be one of constant, step, exponential, cosine, onecycle; "
            r"received 'linear'",
        ),
        ({"activation": "swish"}, "activation must be one of"),
        ({"init": "bogus"}, "unknown initialiser 'bogus'"),
        ({"init": "uniform:1:0"}, "low < high"),
        ({"learning_rate": 0.0}, "learning_rate must be in"),
        ({"learning_rate": -0.05}, "learning_rate must be in"),
        ({"learning_rate": float("nan")}, "learning_rate must be in"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"weight_decay": -1.0}, "weight_decay must be in"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"validation_size": -1}, "validation_size must be a non-negative integer"),
        ({"dtype": "float16"}, "dtype must be float32 or float64"),
    ],
)
def test_invalid_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_valid_settings():
    config = TrainConfig(hidden=[32, 16], momentum=0.0, nesterov=True, schedule="constant")
    assert config.hidden == (32, 16)  # lists become tuples
    # nesterov needs momentum; with momentum 0 the recipe quietly uses plain SGD.
    optimizer = config.make_optimizer()
    assert isinstance(optimizer, SGD)
    assert optimizer.nesterov is False and optimizer.momentum == 0.0
    assert TrainConfig(hidden=()).hidden == ()  # a linear model is allowed


def test_to_dict_is_json_able_and_rebuilds_the_config():
    config = TrainConfig(hidden=(8, 4), learning_rate=0.01, seed=3)
    data = config.to_dict()
    assert data["hidden"] == [8, 4]
    assert json.loads(json.dumps(data)) == data
    assert TrainConfig(**data) == config


# -- train_classifier --------------------------------------------------------------------------


def test_train_classifier_runs_end_to_end():
    data = synthetic_digits()
    config = TrainConfig(dataset="mnist", **SMALL)
    result = train_classifier(config, data=data)
    assert isinstance(result, TrainResult)
    assert 0.0 <= result.test["accuracy"] <= 1.0
    assert np.isfinite(result.test["loss"])
    assert isinstance(result.history, History)
    assert result.history.epochs == 2
    assert "val_accuracy" in result.history.history
    assert result.train_seconds >= 0
    # The network: 784 inputs, the hidden sizes asked for, 10 classes.
    dense = [layer for layer in result.model.layers if isinstance(layer, Dense)]
    assert [(d.n_in, d.n_out) for d in dense] == [(784, 16), (16, 10)]
    assert result.model.dtype == np.float32
    # Test predictions and labels line up with the test set.
    (_, _), (x_test, y_test) = data
    assert result.test_predictions.shape == (30,)
    np.testing.assert_array_equal(result.test_labels, y_test)
    assert result.test["accuracy"] == pytest.approx(
        np.mean(result.test_predictions == result.test_labels)
    )
    # Metadata records everything needed to use and reproduce the model.
    metadata = result.model.metadata
    assert metadata["config"] == config.to_dict()
    assert metadata["dataset"] == "mnist"
    assert metadata["epochs_trained"] == 2
    assert metadata["test_accuracy"] == result.test["accuracy"]
    assert metadata["input"]["shape"] == [28, 28]
    assert len(metadata["class_names"]) == 10 == len(result.class_names)
    json.dumps(metadata)  # must be savable


def test_train_classifier_learns_the_easy_synthetic_task():
    config = TrainConfig(
        dataset="mnist",
        hidden=(32,),
        epochs=8,
        batch_size=16,
        validation_size=20,
        learning_rate=0.05,
    )
    result = train_classifier(config, data=synthetic_digits(n_train=200, n_test=50))
    assert result.test["accuracy"] >= 0.9


def test_train_classifier_is_reproducible():
    data = synthetic_digits()
    config = TrainConfig(dataset="mnist", **SMALL, seed=5)
    first = train_classifier(config, data=data)
    second = train_classifier(config, data=data)
    for (*_, a, _), (*_, b, _) in zip(
        first.model.parameters(), second.model.parameters(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert first.history.history["loss"] == second.history.history["loss"]


def test_8bit_training_images_train_bitwise_like_their_float_features(monkeypatch):
    # train_classifier keeps uint8 training images as bytes and lets fit scale each batch
    # (x_scale); given the same images already as floats / 255 it takes the float path.
    import scratchnet.runs.workflow as recipe

    seen = []

    def spy(model, loss, optimizer, train, **kwargs):
        seen.append((train[0].dtype, kwargs["x_scale"]))
        return real_fit(model, loss, optimizer, train, **kwargs)

    real_fit = recipe.fit
    monkeypatch.setattr(recipe, "fit", spy)
    (x_train, y_train), (x_test, y_test) = synthetic_digits()
    as_floats = x_train.astype(np.float32) * np.float32(1 / 255)
    config = TrainConfig(dataset="mnist", **SMALL, seed=2)
    byte_run = train_classifier(config, data=((x_train, y_train), (x_test, y_test)))
    float_run = train_classifier(config, data=((as_floats, y_train), (x_test, y_test)))
    for (*_, a, _), (*_, b, _) in zip(
        byte_run.model.parameters(), float_run.model.parameters(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert byte_run.history.history == {
        key: values for key, values in float_run.history.history.items() if key != "seconds"
    } | {"seconds": byte_run.history.history["seconds"]}
    assert seen == [(np.uint8, 1 / 255), (np.float32, None)]


def test_train_classifier_with_the_constant_schedule_and_no_validation():
    settings = {**SMALL, "validation_size": 0}
    config = TrainConfig(dataset="mnist", schedule="constant", learning_rate=0.02, **settings)
    result = train_classifier(config, data=synthetic_digits())
    assert result.history.history["learning_rate"] == [0.02, 0.02]
    assert "val_loss" not in result.history.history


def test_train_classifier_cosine_schedule_decays_and_user_callbacks_run():
    calls = []

    class Count(Callback):
        def on_batch_end(self, state):
            calls.append(state.optimizer.learning_rate)

    config = TrainConfig(dataset="mnist", learning_rate=0.1, **SMALL)
    result = train_classifier(config, data=synthetic_digits(), callbacks=[Count()])
    # 100 training examples after the 20 held out, batch 16: 7 steps an epoch, 14 in all.
    assert len(calls) == 14
    assert max(calls) <= 0.1 + 1e-12
    assert calls[-1] < calls[len(calls) // 2] < 0.1
    assert result.history.history["learning_rate"][-1] == calls[-1]


def test_train_classifier_rejects_a_validation_split_as_large_as_the_data():
    config = TrainConfig(dataset="mnist", **{**SMALL, "validation_size": 120})
    with pytest.raises(ValueError, match="validation size"):
        train_classifier(config, data=synthetic_digits())
