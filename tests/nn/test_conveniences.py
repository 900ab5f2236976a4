"""The keras-style conveniences: model.fit / evaluate / predict_proba, summary, rich display."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet import mlp, nn, optim, train
from scratchnet.data.features import images_to_features


@pytest.fixture
def digits(synthetic_digits):
    return synthetic_digits(n_train=300, n_test=90, seed=1)


def test_fit_on_uint8_images_matches_the_explicit_core(digits):
    (x, y), _ = digits
    wrapped = mlp(784, [16], 3, seed=0)
    history = wrapped.fit(x, y, epochs=2, batch_size=32, learning_rate=0.1, seed=3)
    explicit = mlp(784, [16], 3, seed=0)
    core = train.fit(
        explicit,
        nn.SoftmaxCrossEntropy(),
        optim.SGD(0.1),
        (images_to_features(x), y),
        epochs=2,
        batch_size=32,
        seed=3,
    )
    # The wrapper is the core: same data, same seed, same weights, bit for bit.
    for (_, _, a, _), (_, _, b, _) in zip(wrapped.parameters(), explicit.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"] == core.history["loss"]


def test_fit_validation_split_and_evaluate(digits):
    (x, y), (x_test, y_test) = digits
    model = mlp(784, [32], 3, seed=0)
    history = model.fit(x, y, epochs=3, validation_split=0.2, optimizer="adam")
    assert history.epochs == 3 and "val_accuracy" in history.history
    scores = model.evaluate(x_test, y_test)
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] > 0.9  # three well-separated prototypes
    assert scores == train.evaluate(
        model, nn.SoftmaxCrossEntropy(), images_to_features(x_test), y_test
    )
    assert "<table" in scores._repr_html_() and "accuracy" in scores._repr_html_()
    core = train.evaluate(model, nn.SoftmaxCrossEntropy(), images_to_features(x_test), y_test)
    assert "<table" in core._repr_html_() and repr(core).startswith("{'loss': ")


def test_fit_with_validation_data_and_an_optimizer_object(digits):
    (x, y), (x_test, y_test) = digits
    model = mlp(784, [8], 3, seed=0)
    history = model.fit(
        x, y, epochs=1, optimizer=optim.Adam(1e-3), validation_data=(x_test, y_test)
    )
    assert history.last("val_accuracy") is not None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation_split": 1.5}, "validation_split must be a share"),
        ({"optimizer": optim.SGD(0.1), "learning_rate": 0.2}, "learning_rate= is for an optimiser"),
        ({"optimizer": "nope"}, "optimizer must be one of"),
        ({"epochs": 0}, "epochs must be a positive integer"),
    ],
)
def test_fit_rejects_bad_settings(digits, kwargs, match):
    (x, y), _ = digits
    with pytest.raises(ValueError, match=match):
        mlp(784, [8], 3, seed=0).fit(x, y, **kwargs)


def test_fit_rejects_mismatched_labels(digits):
    (x, y), _ = digits
    with pytest.raises(ValueError, match=r"y must have shape \(300,\)"):
        mlp(784, [8], 3, seed=0).fit(x, y[:10])


def test_images_are_accepted_where_features_are(digits):
    (x, _), _ = digits
    model = mlp(784, [8], 3, seed=0)
    features = images_to_features(x[:20])
    np.testing.assert_array_equal(model.predict_proba(x[:20]), model.predict_proba(features))
    np.testing.assert_array_equal(model.predict(x[:20]), model.predict(features))
    with pytest.raises(ValueError, match=r"expected features of shape \(batch, 784\)"):
        model.predict(np.zeros((2, 27, 28)))


def test_the_two_predict_conventions(digits):
    (x, _), _ = digits
    model = mlp(784, [8], 3, seed=0)
    probs = model.predict_proba(x[:10])  # keras' predict
    labels = model.predict(x[:10])  # scikit-learn's predict
    assert probs.shape == (10, 3) and labels.shape == (10,)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(probs.argmax(axis=1), labels)
    assert "keras" in type(model).predict_proba.__doc__
    assert "scikit-learn" in type(model).predict.__doc__


def test_summary_prints_like_keras(capsys):
    model = mlp(784, [128], 10, seed=0)
    assert model.summary() is None
    out = capsys.readouterr().out
    assert out == model.summary_text() + "\n"
    assert "(None, 128)" in out and "101,770" in out
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert lines == [model.summary_text()]


def test_sequential_html_is_a_summary_table():
    model = mlp(784, [128], 10, seed=0)
    page = model._repr_html_()
    for text in (
        "output shape",
        "parameters",
        "(None, 128)",
        "100,480",
        "101,770",
        "Dense(n_in=784",
    ):
        assert text in page
    assert page.count("<tr>") == 1 + len(model.layers) + 1
