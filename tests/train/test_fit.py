"""fit and evaluate on a tiny separable problem: learning, History, determinism, divergence,
validation, callbacks (order, early stop, schedules) and argument checks."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from scratchnet.data.features import PIXEL_SCALE, images_to_features
from scratchnet.nn import Dense, MeanSquaredError, Sequential, SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD, CosineDecay
from scratchnet.train import Callback, History, LearningRateSchedule, evaluate, fit

BASE_KEYS = ["epoch", "loss", "accuracy", "learning_rate", "seconds"]
VAL_KEYS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"]


def blobs(n_per_class=20, seed=0, spread=0.5):
    """60 points in 4-D from 3 well-separated Gaussian blobs, labels 0..2, in blob order."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * np.eye(3, 4)
    x = np.concatenate([rng.normal(c, spread, (n_per_class, 4)) for c in centers])
    labels = np.repeat(np.arange(3), n_per_class)
    return x.astype(np.float32), labels


def _model(seed=0, dtype=np.float32):
    return mlp(4, [8], 3, seed=seed, dtype=dtype)


def _weights(model):
    return [param.copy() for _, _, param, _ in model.parameters()]


def _train(epochs=15, seed=0, **kwargs):
    model = _model()
    x, labels = blobs()
    kwargs.setdefault("batch_size", 8)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(0.1, momentum=0.9),
        (x, labels),
        epochs=epochs,
        seed=seed,
        **kwargs,
    )
    return model, history


# -- learning ----------------------------------------------------------------------------------


def test_fit_separates_three_blobs():
    model, history = _train()
    x, labels = blobs()
    np.testing.assert_array_equal(model.predict(x), labels)
    assert evaluate(model, SoftmaxCrossEntropy(), x, labels)["accuracy"] == 1.0
    assert history.last("accuracy") == 1.0
    assert history.history["loss"][-1] < history.history["loss"][0] / 5


def test_history_has_one_row_per_epoch_and_the_expected_keys():
    _, history = _train(epochs=4)
    assert isinstance(history, History)
    assert history.epochs == 4
    assert list(history.history) == BASE_KEYS
    assert history.history["epoch"] == [1, 2, 3, 4]
    assert history.history["learning_rate"] == [0.1] * 4
    assert all(0 <= a <= 1 for a in history.history["accuracy"])
    assert all(s >= 0 for s in history.history["seconds"])
    assert history.last("epoch") == 4
    assert history.last("missing") is None
    assert History().last("loss") is None
    assert repr(history) == f"History(epochs=4, keys={BASE_KEYS})"


def test_history_loss_is_the_mean_over_the_epoch():
    # One batch holding everything, no shuffling: the epoch's loss is the loss of that batch
    # before the step, which we can compute on a copy of the starting model.
    x, labels = blobs()
    model, copy = _model(), _model()
    expected = SoftmaxCrossEntropy().value(copy.forward(x), labels)
    history = fit(
        model, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=1, batch_size=60, shuffle=False
    )
    assert history.last("loss") == pytest.approx(expected, rel=1e-6)
    predicted = copy.predict(x)
    assert history.last("accuracy") == pytest.approx(np.mean(predicted == labels))


def test_history_csv_and_json_round_trip(tmp_path):
    _, history = _train(epochs=3, validation=blobs(n_per_class=4, seed=5))
    text = history.to_csv_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(VAL_KEYS)
    assert len(rows) == 3
    for parsed, row in zip(rows, history.rows, strict=True):
        assert {key: float(value) for key, value in parsed.items()} == {
            key: float(value) for key, value in row.items()
        }
    csv_path = history.save_csv(tmp_path / "history.csv")
    assert csv_path.read_text() == text
    json_path = history.save_json(tmp_path / "sub" / "history.json")
    assert json.loads(json_path.read_text()) == {"epochs": history.rows}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "sub"]


def test_history_with_rows_of_different_keys():
    history = History()
    history.append({"epoch": 1, "loss": 0.5})
    history.append({"epoch": 2, "loss": 0.4, "val_loss": 0.6})
    assert history.history == {"epoch": [1, 2], "loss": [0.5, 0.4], "val_loss": [None, 0.6]}
    assert history.to_csv_text() == "epoch,loss,val_loss\n1,0.5,\n2,0.4,0.6\n"


def test_history_append_copies_the_row():
    history = History()
    row = {"epoch": 1}
    history.append(row)
    row["epoch"] = 99
    assert history.rows == [{"epoch": 1}]


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_bitwise_identical_weights():
    first, h1 = _train(epochs=3, seed=11)
    second, h2 = _train(epochs=3, seed=11)
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    assert h1.history["loss"] == h2.history["loss"]
    third, _ = _train(epochs=3, seed=12)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_weights(first), _weights(third), strict=True)
    )


def test_rng_and_seed_are_equivalent():
    x, labels = blobs()
    a, b = _model(), _model()
    fit(a, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=2, batch_size=8, seed=4)
    fit(
        b,
        SoftmaxCrossEntropy(),
        SGD(0.1),
        (x, labels),
        epochs=2,
        batch_size=8,
        rng=np.random.default_rng(4),
    )
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_shuffle_changes_the_result_and_no_shuffle_needs_no_seed():
    shuffled, _ = _train(epochs=2)
    x, labels = blobs()
    ordered = _model()
    fit(
        ordered,
        SoftmaxCrossEntropy(),
        SGD(0.1, momentum=0.9),
        (x, labels),
        epochs=2,
        batch_size=8,
        shuffle=False,
    )
    assert not np.array_equal(_weights(shuffled)[0], _weights(ordered)[0])
    again = _model()
    fit(
        again,
        SoftmaxCrossEntropy(),
        SGD(0.1, momentum=0.9),
        (x, labels),
        epochs=2,
        batch_size=8,
        shuffle=False,
        seed=123,
    )
    np.testing.assert_array_equal(_weights(again)[0], _weights(ordered)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shuffle", [True, False])
def test_integer_x_scaled_per_batch_trains_bitwise_like_the_float_features(dtype, shuffle):
    # x_scale keeps 8-bit inputs as bytes and scales each batch: the same run, bit for bit.
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (60, 4), dtype=np.uint8)
    labels = (pixels[:, 0] // 86).astype(np.int64)  # 0..2
    before = pixels.copy()
    runs = []
    for x, x_scale in ((images_to_features(pixels, dtype), None), (pixels, PIXEL_SCALE)):
        model = _model(dtype=dtype)
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1, momentum=0.9),
            (x, labels),
            epochs=3,
            batch_size=7,
            seed=3,
            shuffle=shuffle,
            x_scale=x_scale,
        )
        runs.append((_weights(model), history.history["loss"]))
    (weights_a, loss_a), (weights_b, loss_b) = runs
    for a, b in zip(weights_a, weights_b, strict=True):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
    assert loss_a == loss_b
    np.testing.assert_array_equal(pixels, before)


def test_fit_does_not_modify_the_training_data():
    x, labels = blobs()
    x_before, labels_before = x.copy(), labels.copy()
    fit(_model(), SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=2, batch_size=7, seed=0)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(labels, labels_before)


# -- divergence --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_learning_rate_raises_floating_point_error(dtype):
    # pytest turns warnings into errors: an overflow warning escaping fit would fail this test
    # with a RuntimeWarning instead of the FloatingPointError we want.
    x, labels = blobs()
    model = _model(dtype=dtype)
    errors_before = np.geterr()
    with pytest.raises(FloatingPointError) as info:
        fit(model, MeanSquaredError(), SGD(1e6), (x, labels), epochs=50, batch_size=8, seed=0)
    message = str(info.value)
    match = re.search(r"at epoch (\d+), step (\d+)", message)
    assert match, message
    assert 1 <= int(match.group(1)) <= 50 and 1 <= int(match.group(2)) <= 8
    assert "learning rate" in message
    # fit silenced overflow warnings only inside its loop: the error state is restored.
    assert np.geterr() == errors_before


def test_divergence_with_cross_entropy_and_exploding_logits():
    x, labels = blobs()
    model = _model()
    # |x| ~ 3, so logits ~ 1e20 * 1e20 overflow float32 to inf on the very first step.
    model.layers[0].params["weight"] *= 1e20
    model.layers[1].params["weight"] *= 1e20
    with pytest.raises(FloatingPointError, match="at epoch 1, step 1:"):
        fit(model, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=2, batch_size=8, seed=0)


# -- validation --------------------------------------------------------------------------------


def test_validation_metrics_are_recorded_and_match_evaluate():
    validation = blobs(n_per_class=5, seed=9)
    model, history = _train(epochs=3, validation=validation)
    assert list(history.history) == VAL_KEYS
    assert len(history.history["val_loss"]) == 3
    scores = evaluate(model, SoftmaxCrossEntropy(), *validation)
    assert history.last("val_loss") == pytest.approx(scores["loss"], rel=1e-9)
    assert history.last("val_accuracy") == scores["accuracy"]


def test_empty_validation_set_is_skipped():
    _, history = _train(epochs=1, validation=(np.zeros((0, 4), np.float32), np.zeros(0, int)))
    assert list(history.history) == BASE_KEYS


# -- callbacks ---------------------------------------------------------------------------------


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def _record(self, hook, state):
        self.calls.append((hook, state.epoch, state.step, state.global_step))

    def on_train_begin(self, state):
        self._record("train_begin", state)

    def on_epoch_begin(self, state):
        self._record("epoch_begin", state)

    def on_batch_begin(self, state):
        self._record("batch_begin", state)

    def on_batch_end(self, state):
        self._record("batch_end", state)

    def on_epoch_end(self, state):
        self._record("epoch_end", state)
        self.last_logs = dict(state.logs)
        self.history_rows = state.history.epochs

    def on_train_end(self, state):
        self._record("train_end", state)


def _fit_small(callbacks, epochs=2, n_per_class=4, batch_size=5, optimizer=None):
    # 12 examples, batch 5: 3 steps per epoch (5, 5, 2).
    x, labels = blobs(n_per_class=n_per_class)
    model = _model()
    optimizer = optimizer or SGD(0.1)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        (x, labels),
        epochs=epochs,
        batch_size=batch_size,
        seed=0,
        callbacks=callbacks,
    )
    return history, optimizer


def test_callbacks_are_called_in_order():
    recorder = Recorder()
    _fit_small([recorder])
    expected = [("train_begin", 0, 0, 0)]
    global_step = 0
    for epoch in (1, 2):
        expected.append(("epoch_begin", epoch, expected[-1][2], global_step))
        for step in (1, 2, 3):
            expected.append(("batch_begin", epoch, step, global_step))
            global_step += 1
            expected.append(("batch_end", epoch, step, global_step))
        expected.append(("epoch_end", epoch, 3, global_step))
    expected.append(("train_end", 2, 3, 6))
    assert recorder.calls == expected
    assert recorder.history_rows == 2  # the epoch's row is in the History before epoch_end
    assert recorder.last_logs["epoch"] == 2 and "loss" in recorder.last_logs


def test_every_callback_sees_every_hook():
    first, second = Recorder(), Recorder()
    _fit_small([first, second], epochs=1)
    assert first.calls == second.calls
    assert [c[0] for c in first.calls].count("batch_end") == 3


def test_training_state_describes_the_run():
    seen = {}

    class Inspect(Callback):
        def on_train_begin(self, state):
            seen.update(
                epochs=state.epochs,
                steps=state.steps_per_epoch,
                model=state.model,
                optimizer=state.optimizer,
            )

        def on_batch_end(self, state):
            seen.setdefault("batch_losses", []).append(state.batch_loss)

    history, optimizer = _fit_small([Inspect()], epochs=2)
    assert seen["epochs"] == 2 and seen["steps"] == 3
    assert seen["optimizer"] is optimizer
    assert len(seen["batch_losses"]) == 6
    assert all(math.isfinite(v) and v > 0 for v in seen["batch_losses"])
    # The epoch loss is the example-weighted mean of its batch losses (5, 5, 2 examples).
    first_epoch = seen["batch_losses"][:3]
    weighted = (5 * first_epoch[0] + 5 * first_epoch[1] + 2 * first_epoch[2]) / 12
    assert history.rows[0]["loss"] == pytest.approx(weighted)


def test_stop_training_after_a_batch():
    class StopAtStep(Callback):
        def on_batch_end(self, state):
            if state.global_step == 2:
                state.stop_training = True

    recorder = Recorder()
    history, optimizer = _fit_small([StopAtStep(), recorder], epochs=5)
    assert history.epochs == 1
    assert optimizer.iterations == 2
    hooks = [c[0] for c in recorder.calls]
    assert hooks.count("batch_end") == 2
    assert hooks[-2:] == ["epoch_end", "train_end"]


def test_stop_training_at_the_end_of_an_epoch():
    class StopAfterTwoEpochs(Callback):
        def on_epoch_end(self, state):
            state.stop_training = state.epoch >= 2

    history, optimizer = _fit_small([StopAfterTwoEpochs()], epochs=10)
    assert history.epochs == 2
    assert optimizer.iterations == 6


def test_learning_rate_schedule_sets_the_rate_before_each_step():
    rates = []

    class RecordRate(Callback):
        def on_batch_begin(self, state):
            rates.append(state.optimizer.learning_rate)

    schedule = CosineDecay(0.2, total_steps=6, warmup_steps=2)
    history, optimizer = _fit_small([LearningRateSchedule(schedule), RecordRate()], epochs=2)
    assert rates == pytest.approx([schedule(t) for t in range(6)])
    assert rates[0] == pytest.approx(0.1) and rates[1] == pytest.approx(0.2)
    # The History's learning_rate is the rate of each epoch's last step.
    assert history.history["learning_rate"] == pytest.approx([schedule(2), schedule(5)])


def test_learning_rate_schedule_changes_the_update():
    # A schedule that returns the optimiser's own constant rate changes nothing; one that
    # halves it gives different weights.
    x, labels = blobs()
    runs = []
    for schedule in (lambda step: 0.1, lambda step: 0.05):
        model = _model()
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            (x, labels),
            epochs=1,
            batch_size=8,
            seed=0,
            callbacks=[LearningRateSchedule(schedule)],
        )
        runs.append(_weights(model))
    plain = _model()
    fit(plain, SoftmaxCrossEntropy(), SGD(0.1), (x, labels), epochs=1, batch_size=8, seed=0)
    np.testing.assert_array_equal(runs[0][0], _weights(plain)[0])
    assert not np.array_equal(runs[1][0], _weights(plain)[0])


# -- argument checks ---------------------------------------------------------------------------


def _fit_args(**overrides):
    x, labels = blobs(n_per_class=4)
    args = {
        "model": _model(),
        "loss": SoftmaxCrossEntropy(),
        "optimizer": SGD(0.1),
        "train": (x, labels),
        "epochs": 1,
        "batch_size": 4,
        "seed": 0,
    }
    args.update(overrides)
    return args


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"epochs": 0}, r"epochs must be a positive integer; received epochs=0"),
        ({"epochs": -1}, "epochs must be a positive integer"),
        ({"epochs": 1.5}, "epochs must be a positive integer"),
        ({"epochs": True}, "epochs must be a positive integer"),
        ({"batch_size": 0}, r"batch_size must be a positive integer; received batch_size=0"),
        ({"batch_size": -3}, "batch_size must be a positive integer"),
        ({"batch_size": 2.0}, "batch_size must be a positive integer"),
        ({"seed": None}, "seed"),
        (
            {"train": (np.zeros((12, 4), np.float32), np.arange(12) % 4)},
            r"labels must be in \[0, 3\)",
        ),
        ({"train": (np.zeros((12, 4), np.float32), -np.ones(12, int))}, r"from -1 to -1"),
        (
            {"train": (np.zeros((12, 4), np.float32), np.zeros(11, int))},
            r"labels must have shape \(12,\)",
        ),
        (
            {"train": (np.zeros((12, 4), np.float32), np.zeros((12, 1), int))},
            "labels must have shape",
        ),
        ({"train": (np.zeros((12, 4), np.float32), np.zeros(12))}, "labels must be integers"),
        ({"train": (np.zeros((12, 5), np.float32), np.zeros(12, int))}, r"shape \(batch, 4\)"),
        ({"train": (np.full((12, 4), np.nan), np.zeros(12, int))}, "NaN"),
        ({"train": np.zeros((12, 4))}, r"train must be a pair \(x, labels\)"),
        ({"train": (np.zeros((0, 4), np.float32), np.zeros(0, int))}, "empty"),
        ({"x_scale": 0.5}, "train: scale is for integer x .* dtype float32"),
        (
            {"train": (np.zeros((12, 4), np.uint8), np.zeros(12, int)), "x_scale": -1},
            r"train: scale must be a finite number > 0; received scale=-1",
        ),
        (
            {"train": (np.zeros((12, 5), np.uint8), np.zeros(12, int)), "x_scale": 0.5},
            r"train: expected features of shape \(batch, 4\); received shape \(12, 5\)",
        ),
        (
            {"train": (np.zeros((12, 4), np.uint8), np.full(12, 3)), "x_scale": 0.5},
            r"labels must be in \[0, 3\)",
        ),
        ({"validation": (np.zeros((3, 4), np.float32), np.zeros(2, int))}, "validation: labels"),
        (
            {"validation": (np.zeros((3, 4), np.float32), np.full(3, 7))},
            r"validation: labels must be in",
        ),
    ],
)
def test_bad_arguments_raise_value_error(overrides, match):
    with pytest.raises(ValueError, match=match):
        fit(**_fit_args(**overrides))


def test_bad_arguments_leave_the_model_untouched():
    args = _fit_args(epochs=0)
    before = _weights(args["model"])
    with pytest.raises(ValueError):
        fit(**args)
    for a, b in zip(before, _weights(args["model"]), strict=True):
        np.testing.assert_array_equal(a, b)


# -- evaluate ----------------------------------------------------------------------------------


def _identity_model():
    layer = Dense(2, 2, seed=0, dtype=np.float64)
    layer.params["weight"][...] = np.eye(2)
    return Sequential([layer])


def test_evaluate_by_hand():
    # With weight = I and bias = 0 the logits are x itself.
    x = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 1.5]])
    labels = np.array([0, 1, 1, 1])
    # predictions (argmax of each row): [0, 1, 0, 1] -> 3 of 4 right: accuracy 0.75
    # losses log(1 + e^-(x_right - x_wrong)):
    #   row 0: log(1 + e^-1) = 0.31326169    row 1: log(1 + e^-3)   = 0.04858735
    #   row 2: log(1 + e^+1) = 1.31326169    row 3: log(1 + e^-0.5) = 0.47407698
    #   mean = 2.14918771 / 4 = 0.53729693
    expected_loss = (
        math.log1p(math.exp(-1))
        + math.log1p(math.exp(-3))
        + math.log1p(math.exp(1))
        + math.log1p(math.exp(-0.5))
    ) / 4
    assert expected_loss == pytest.approx(0.53729693, abs=1e-8)
    model = _identity_model()
    for batch_size in (1, 3, 4, 100):
        scores = evaluate(model, SoftmaxCrossEntropy(), x, labels, batch_size=batch_size)
        assert scores["accuracy"] == 0.75
        assert scores["loss"] == pytest.approx(expected_loss, rel=1e-12)
    # A summed loss still reports the mean per example.
    summed = evaluate(model, SoftmaxCrossEntropy("sum"), x, labels, batch_size=3)
    assert summed["loss"] == pytest.approx(expected_loss, rel=1e-12)


def test_evaluate_rejects_empty_and_bad_input():
    model = _identity_model()
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, SoftmaxCrossEntropy(), np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        evaluate(model, SoftmaxCrossEntropy(), np.zeros((2, 2)), np.array([0, 2]))
