"""Divergence: a non-finite loss stops training (naming epoch and step), or, with a policy,
the weights from before the bad update come back and training goes on (skip-batch), at half
the learning rate (halve-lr), until too many failures in a row. The command line explains a
divergence with diagnose's findings and keeps the last good checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.runs.workflow as recipe
from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD, CosineDecay
from scratchnet.train import (
    Callback,
    LearningRateSchedule,
    NonFinitePolicy,
    TrainConfig,
    fit,
    load_checkpoint,
    train_classifier,
)


class Poison(Callback):
    """After global step `at` a weight becomes NaN, as a runaway update would leave it; with
    every=True, before every step from then on."""

    def __init__(self, at: int, every: bool = False) -> None:
        self.at, self.every = at, every

    def on_batch_begin(self, state) -> None:
        if self.every and state.global_step >= self.at:
            state.model.layers[0].weight[3, 2] = np.nan

    def on_batch_end(self, state) -> None:
        if state.global_step == self.at:
            state.model.layers[0].weight[3, 2] = np.nan


class Spy(Callback):
    """The first weight matrix at the start of every step, by (epoch, step)."""

    def __init__(self) -> None:
        self.weights: dict[tuple[int, int], np.ndarray] = {}

    def on_batch_begin(self, state) -> None:
        self.weights[(state.epoch, state.step)] = state.model.layers[0].weight.copy()


def _data(tiny_data):
    (x, labels), _ = tiny_data
    return x.reshape(len(x), -1).astype(np.float32) / 255, labels.astype(np.int64)


def _fit(tiny_data, callbacks, *, epochs=2, optimizer=None):
    model = mlp(784, [8], 10, seed=0)
    optimizer = optimizer or SGD(0.1, momentum=0.9)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        _data(tiny_data),
        epochs=epochs,
        batch_size=100,
        seed=0,
        callbacks=callbacks,
    )
    return model, optimizer, history


def test_by_default_a_non_finite_loss_stops_naming_epoch_and_step(tiny_data):
    # 7 steps per epoch: poisoned after global step 9 (epoch 2, step 2), step 3 sees NaN.
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 2, step 3"):
        _fit(tiny_data, [Poison(9)])


def test_skip_batch_puts_back_the_weights_from_before_the_bad_update(tiny_data):
    spy, policy = Spy(), NonFinitePolicy("skip-batch")
    model, optimizer, history = _fit(tiny_data, [spy, Poison(9), policy])
    assert [(e["epoch"], e["step"]) for e in policy.events] == [(2, 3)]
    assert "loss became nan at epoch 2, step 3" in policy.events[0]["error"]
    # Step 2 of epoch 2 made the bad update: step 4 starts from the weights before step 2.
    np.testing.assert_array_equal(spy.weights[(2, 4)], spy.weights[(2, 2)])
    assert optimizer.learning_rate == 0.1
    assert all(np.isfinite(p).all() for _, _, p, _ in model.parameters())
    assert history.epochs == 2 and np.isfinite(history.last("loss"))


def test_halve_lr_also_halves_the_rate_and_a_schedules_rates(tiny_data):
    schedule = CosineDecay(0.1, total_steps=14)
    policy = NonFinitePolicy("halve-lr")
    rates = []

    class Rates(Callback):
        def on_batch_end(self, state):
            rates.append((state.global_step, state.optimizer.learning_rate))

    _fit(tiny_data, [LearningRateSchedule(schedule), Poison(9), policy, Rates()])
    assert "halved the learning rate" in policy.events[0]["action"]
    assert (1, schedule(0)) in rates  # before: the schedule's own rate
    after = [(step, rate) for step, rate in rates if step > 9]
    assert after and all(rate == 0.5 * schedule(step - 1) for step, rate in after)


def test_a_policy_gives_up_after_patience_failures_in_a_row(tiny_data):
    policy = NonFinitePolicy("halve-lr", patience=2)
    with pytest.raises(FloatingPointError, match="gave up after 3 non-finite steps in a row"):
        _fit(tiny_data, [Poison(3, every=True), policy])
    assert len(policy.events) == 2


def test_optimizer_state_and_step_count_come_back_too(tiny_data):
    optimizer = SGD(0.1, momentum=0.9)
    velocities = {}

    class Velocity(Callback):
        def on_batch_begin(self, state):
            slots = state.optimizer.state.get((0, "weight"), {})
            velocities[state.global_step] = slots.get("velocity", np.zeros(1)).copy()

    _fit(tiny_data, [Velocity(), Poison(5), NonFinitePolicy("skip-batch")], optimizer=optimizer)
    # The update of step 5 was undone: the velocity before step 6 is the one before step 5.
    np.testing.assert_array_equal(velocities[5], velocities[4])
    assert optimizer.iterations == 14 - 2  # two steps undone or skipped


def test_non_finite_weights_at_an_epoch_end_are_repaired_before_the_checkpoint(tiny_data, tmp_path):
    policy = NonFinitePolicy("skip-batch")
    from scratchnet.train import Checkpoint

    path = tmp_path / "checkpoint.npz"
    _fit(tiny_data, [Poison(7), policy, Checkpoint(path)])  # after the last step of epoch 1
    assert policy.events[0]["epoch"] == 1 and "end of epoch 1" in policy.events[0]["error"]
    assert np.isfinite(load_checkpoint(path).arrays["model.layers.0.weight"]).all()


def test_the_policy_checks_its_arguments():
    with pytest.raises(ValueError, match="'stop' needs no callback"):
        NonFinitePolicy("stop")
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        NonFinitePolicy("skip-batch", patience=0)
    with pytest.raises(ValueError, match="on_nonfinite must be one of stop, skip-batch, halve-lr"):
        TrainConfig(on_nonfinite="ignore")


def test_a_real_divergence_recovers_with_halve_lr(tiny_data):
    # lr 1e6 blows up within a few steps; halving (and restoring) brings it back.
    config = TrainConfig(
        hidden=(16,), epochs=2, batch_size=64, validation_size=100, learning_rate=1e4
    )
    with pytest.raises(FloatingPointError, match="training diverged"):
        train_classifier(config, data=tiny_data, evaluate_test=False)
    import dataclasses

    result = train_classifier(
        dataclasses.replace(config, on_nonfinite="halve-lr"), data=tiny_data, evaluate_test=False
    )
    assert all(np.isfinite(p).all() for _, _, p, _ in result.model.parameters())


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def poisoned(monkeypatch):
    """`scratchnet train` with a weight turned NaN after global step `at` (set .at)."""
    real = recipe.train_classifier
    settings = {"at": 12}

    def train(config, *, callbacks=(), **kwargs):
        return real(config, callbacks=[*callbacks, Poison(settings["at"])], **kwargs)

    monkeypatch.setattr(recipe, "train_classifier", train)
    return settings


ARGS = ("--hidden", "16", "--epochs", "3", "--batch-size", "64", "--validation-size", "100")


def test_cli_divergence_explains_keeps_the_last_good_checkpoint_and_exits_1(
    tiny_cli, poisoned, cli, tmp_path
):
    run = tmp_path / "run"
    code, out, err = cli("train", *ARGS, "--out", run)
    assert code == 1
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith("scratchnet: error: the loss became nan at epoch 2, step 3")
    assert "the last good checkpoint (after epoch 1 of 3) is kept" in err
    assert "diagnosis: training diverged" in err and "fix: lower the learning rate" in err
    assert "--on-nonfinite skip-batch or halve-lr" in err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]  # no NaN model
    assert load_checkpoint(run / "checkpoint.npz").epoch == 2


@pytest.mark.slow  # a CLI training: seconds
def test_cli_skip_batch_warns_and_finishes(tiny_cli, poisoned, cli, tmp_path):
    code, out, err = cli("train", *ARGS, "--on-nonfinite", "skip-batch", "--out", tmp_path / "r")
    assert code == 0, err
    assert "warning: the loss became nan at epoch 2, step 3" in err
    assert "skipping the batch (--on-nonfinite skip-batch)" in err
    assert (tmp_path / "r" / "model.npz").is_file()
