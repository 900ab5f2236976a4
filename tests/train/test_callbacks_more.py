"""EarlyStopping and ReduceLROnPlateau, driven through fit() with scripted validation scores."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD, Adam
from scratchnet.train import Callback, EarlyStopping, ReduceLROnPlateau, fit


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((24, 4)).astype(np.float32), rng.integers(0, 3, 24)


class ScriptedLogs(Callback):
    """Overwrite a log entry with a scripted value per epoch, and record the weights then."""

    def __init__(self, key, values):
        self.key, self.values = key, list(values)
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, state):
        state.logs[self.key] = self.values[state.epoch - 1]
        self.weights.append([param.copy() for *_, param, _ in state.model.parameters()])


def _fit(model, callbacks, *, epochs, optimizer=None, validation=True):
    x, labels = _data()
    return fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer or SGD(0.1),
        (x, labels),
        epochs=epochs,
        batch_size=8,
        seed=0,
        validation=(x[:12], labels[:12]) if validation else None,
        callbacks=callbacks,
    )


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = mlp(4, [5], 3, seed=0)
    # Best at epoch 2 (0.7); 0.7 again at epoch 5 is not an improvement (not > best).
    script = ScriptedLogs("val_accuracy", [0.5, 0.7, 0.6, 0.65, 0.7, 0.9, 0.9, 0.9])
    stopper = EarlyStopping(patience=3)
    history = _fit(model, [script, stopper], epochs=8)
    # Epochs 3, 4 and 5 do not improve: training stops at the end of epoch 5.
    assert history.epochs == 5
    assert (stopper.best_epoch, stopper.stopped_epoch, stopper.best) == (2, 5, 0.7)
    assert stopper.restored
    final = [param for *_, param, _ in model.parameters()]
    for param, at_best, at_stop in zip(final, script.weights[1], script.weights[4], strict=True):
        np.testing.assert_array_equal(param, at_best)
        assert not np.array_equal(param, at_stop)


def test_early_stopping_restores_in_place_and_restores_buffers():
    model = mlp(4, [5], 3, seed=0)
    layer = model.layers[0]
    weight = layer.params["weight"]
    layer.buffers["running_mean"] = np.zeros(5, dtype=np.float32)

    class BumpBuffer(Callback):
        def on_epoch_end(self, state):
            state.model.layers[0].buffers["running_mean"] += 1.0  # epoch e leaves e

    script = ScriptedLogs("val_loss", [1.0, 0.5, 0.6, 0.7])
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    assert stopper.mode == "min"  # inferred from the name
    _fit(model, [BumpBuffer(), script, stopper], epochs=10)
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 2
    assert layer.params["weight"] is weight  # copied back into the same array
    np.testing.assert_array_equal(layer.buffers["running_mean"], np.full(5, 2.0))


def test_early_stopping_min_delta_and_no_restore():
    model = mlp(4, [5], 3, seed=0)
    # With min_delta = 0.05, 0.52 and 0.54 are not improvements over 0.5.
    script = ScriptedLogs("val_accuracy", [0.5, 0.52, 0.54, 0.9])
    stopper = EarlyStopping(patience=2, min_delta=0.05, restore_best=False)
    history = _fit(model, [script, stopper], epochs=4)
    assert history.epochs == 3 and stopper.best_epoch == 1 and not stopper.restored
    for (*_, param, _), last in zip(model.parameters(), script.weights[-1], strict=True):
        np.testing.assert_array_equal(param, last)  # the final weights are kept


def test_early_stopping_that_never_triggers_still_restores_the_best():
    model = mlp(4, [5], 3, seed=0)
    script = ScriptedLogs("val_accuracy", [0.5, 0.8, 0.7])
    stopper = EarlyStopping(patience=5)
    history = _fit(model, [script, stopper], epochs=3)
    assert history.epochs == 3 and stopper.stopped_epoch == 0 and stopper.best_epoch == 2
    for (*_, param, _), at_best in zip(model.parameters(), script.weights[1], strict=True):
        np.testing.assert_array_equal(param, at_best)


def test_early_stopping_on_real_validation_accuracy_with_a_frozen_model():
    # A learning rate so small nothing changes: val_accuracy stalls from the first epoch.
    model = mlp(4, [5], 3, seed=0)
    stopper = EarlyStopping(patience=2)
    history = _fit(model, [stopper], epochs=20, optimizer=SGD(1e-30))
    assert history.epochs == 3
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    assert len({row["val_accuracy"] for row in history.rows}) == 1


def test_early_stopping_without_validation_says_what_to_do():
    with pytest.raises(ValueError, match=r"monitors 'val_accuracy', which needs a validation set"):
        _fit(mlp(4, [5], 3, seed=0), [EarlyStopping()], epochs=2, validation=False)
    with pytest.raises(ValueError, match=r"'val_loss'.*pass validation=.*monitor='loss'"):
        _fit(mlp(4, [5], 3, seed=0), [ReduceLROnPlateau()], epochs=2, validation=False)
    with pytest.raises(ValueError, match=r"'f1', which is not in the epoch's logs"):
        _fit(mlp(4, [5], 3, seed=0), [EarlyStopping(monitor="f1")], epochs=2)


def test_early_stopping_on_training_loss_needs_no_validation():
    # A frozen model: the training loss only changes by summation order, below min_delta.
    stopper = EarlyStopping(monitor="loss", patience=1, min_delta=1e-6)
    assert stopper.mode == "min"
    history = _fit(
        mlp(4, [5], 3, seed=0), [stopper], epochs=5, optimizer=SGD(1e-30), validation=False
    )
    assert history.epochs == 2 and stopper.best_epoch == 1
    assert stopper.best == history.rows[0]["loss"]


def test_reduce_lr_on_plateau_halves_after_patience():
    model = mlp(4, [5], 3, seed=0)
    script = ScriptedLogs("val_loss", [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    reducer = ReduceLROnPlateau(factor=0.5, patience=2)
    optimizer = SGD(0.1)
    history = _fit(model, [script, reducer], epochs=7, optimizer=optimizer)
    # Epoch 1 sets the best; 2 and 3 stall -> 0.05 after epoch 3; 4 and 5 stall -> 0.025 after
    # epoch 5; 6 improves; 7 stalls once (patience not reached).
    assert reducer.reductions == [(3, 0.05), (5, 0.025)]
    assert optimizer.learning_rate == 0.025
    # The History records the rate each epoch ran with.
    assert [row["learning_rate"] for row in history.rows] == [
        0.1,
        0.1,
        0.1,
        0.05,
        0.05,
        0.025,
        0.025,
    ]


def test_reduce_lr_on_plateau_respects_min_lr_and_mode():
    model = mlp(4, [5], 3, seed=0)
    script = ScriptedLogs("val_accuracy", [0.5] * 6)
    reducer = ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_lr=1e-3)
    assert reducer.mode == "max"
    optimizer = Adam(0.05)
    _fit(model, [script, reducer], epochs=6, optimizer=optimizer)
    # 0.05 -> 0.005 -> 0.001 (floored), then nothing more to reduce.
    assert [rate for _, rate in reducer.reductions] == pytest.approx([0.005, 1e-3])
    assert optimizer.learning_rate == pytest.approx(1e-3)


def test_callbacks_reset_between_runs():
    stopper = EarlyStopping(patience=1)
    for _ in range(2):
        script = ScriptedLogs("val_accuracy", [0.5, 0.4, 0.3])
        history = _fit(mlp(4, [5], 3, seed=0), [script, stopper], epochs=3)
        assert history.epochs == 2 and stopper.best == 0.5 and stopper.stopped_epoch == 2


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: EarlyStopping(patience=-1), "patience"),
        (lambda: EarlyStopping(patience=1.5), "patience"),
        (lambda: EarlyStopping(min_delta=-0.1), "min_delta"),
        (lambda: EarlyStopping(min_delta=float("nan")), "min_delta"),
        (lambda: EarlyStopping(mode="up"), "mode"),
        (lambda: EarlyStopping(monitor=""), "monitor"),
        (lambda: ReduceLROnPlateau(factor=1.0), "factor"),
        (lambda: ReduceLROnPlateau(factor=0.0), "factor"),
        (lambda: ReduceLROnPlateau(patience=-2), "patience"),
        (lambda: ReduceLROnPlateau(min_lr=-1e-6), "min_lr"),
        (lambda: ReduceLROnPlateau(min_delta=-1.0), "min_delta"),
    ],
)
def test_invalid_arguments_raise(make, name):
    with pytest.raises(ValueError, match=rf"{name} must be .*; received {name}="):
        make()


def test_repr():
    assert repr(EarlyStopping()) == (
        "EarlyStopping(monitor='val_accuracy', mode='max', patience=5, min_delta=0.0, "
        "restore_best=True)"
    )
    assert repr(ReduceLROnPlateau()) == (
        "ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=2, min_lr=1e-06, "
        "min_delta=0.0001, mode='min')"
    )
