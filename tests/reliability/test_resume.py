"""Checkpoints and resume, in the library: a run stopped at any step and resumed ends with
weights (and History) bitwise identical to a run that never stopped, whatever it uses
(augmentation, dropout, batch norm, Adam, schedules, early stopping, a non-finite policy)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from scratchnet.errors import CheckpointError
from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD, Adam
from scratchnet.train import (
    Callback,
    Checkpoint,
    ResumePoint,
    StopRequest,
    TrainConfig,
    TrainingInterrupted,
    fit,
    load_checkpoint,
    save_checkpoint,
    train_classifier,
)

# 700 examples - 100 for validation, batch 64: 10 steps per epoch, the last one of 24.
SETTINGS = {
    "plain sgd": {},
    "everything": {
        "augment": "affine",
        "dropout": 0.2,
        "batch_norm": True,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "schedule": "onecycle",
        "early_stopping": 2,
        "label_smoothing": 0.1,
        "clip_norm": 5.0,
    },
    "elastic, halve-lr": {"augment": "elastic", "dropout": 0.3, "on_nonfinite": "halve-lr"},
}


def _config(**overrides) -> TrainConfig:
    settings = {"hidden": (16,), "epochs": 3, "batch_size": 64, "validation_size": 100}
    return TrainConfig(**{**settings, **overrides})


def _weights(model) -> list[bytes]:
    return [
        array.tobytes()
        for layer in model.layers
        for array in (*layer.params.values(), *layer.buffers.values())
    ]


def _rows(history) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history.rows]


class StopAt(Callback):
    """Request a stop during step `global_step + 1` (so the checkpoint follows that step)."""

    def __init__(self, stop: StopRequest, at: int) -> None:
        self.stop, self.at = stop, at

    def on_batch_begin(self, state) -> None:
        if state.global_step == self.at:
            self.stop.request("test")


def _interrupted(config, data, path, at: int, resume=None):
    stop = StopRequest()
    with pytest.raises(TrainingInterrupted) as caught:
        train_classifier(
            config,
            data=data,
            checkpoint=path,
            stop=stop,
            resume=resume,
            callbacks=[StopAt(stop, at)],
        )
    return caught.value


@pytest.fixture(scope="module")
def references(tiny_data):
    """The uninterrupted run of each setting."""
    return {name: train_classifier(_config(**s), data=tiny_data) for name, s in SETTINGS.items()}


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("at", [0, 4, 9, 10, 23])
def test_stopping_at_any_step_and_resuming_is_bitwise_identical(
    tiny_data, references, tmp_path, name, at
):
    config, reference = _config(**SETTINGS[name]), references[name]
    if at >= reference.history.epochs * 10:
        pytest.skip("early stopping ended this run before that step")
    path = tmp_path / "checkpoint.npz"
    stopped = _interrupted(config, tiny_data, path, at)
    assert stopped.path == path and "test" in str(stopped)
    saved = load_checkpoint(path)
    assert (saved.epoch, saved.step) == (at // 10 + 1, at % 10 + 1)
    resumed = train_classifier(config, data=tiny_data, checkpoint=path, resume=saved)
    assert _weights(resumed.model) == _weights(reference.model)
    assert _rows(resumed.history) == _rows(reference.history)
    assert resumed.test == reference.test


def test_stopping_twice_and_resuming_twice(tiny_data, references, tmp_path):
    config = _config(**SETTINGS["everything"])
    path = tmp_path / "checkpoint.npz"
    _interrupted(config, tiny_data, path, 3)
    # Resumed, then stopped again 8 steps further on (global step 12: epoch 2, step 3).
    _interrupted(config, tiny_data, path, 11, resume=load_checkpoint(path))
    assert (load_checkpoint(path).epoch, load_checkpoint(path).step) == (2, 2)
    resumed = train_classifier(config, data=tiny_data, resume=load_checkpoint(path))
    assert _weights(resumed.model) == _weights(references["everything"].model)


def test_a_stop_requested_before_the_first_step_saves_the_starting_point(
    tiny_data, references, tmp_path
):
    config = _config()
    path = tmp_path / "checkpoint.npz"
    stop = StopRequest()
    stop.request("SIGTERM")
    with pytest.raises(TrainingInterrupted, match="SIGTERM"):
        train_classifier(config, data=tiny_data, checkpoint=path, stop=stop)
    saved = load_checkpoint(path)
    assert (saved.epoch, saved.step, saved.position["global_step"]) == (1, 0, 0)
    resumed = train_classifier(config, data=tiny_data, resume=saved)
    assert _weights(resumed.model) == _weights(references["plain sgd"].model)


def test_resuming_a_finished_run_just_finishes_it(tiny_data, references, tmp_path):
    config = _config()
    path = tmp_path / "checkpoint.npz"
    train_classifier(config, data=tiny_data, checkpoint=path)
    saved = load_checkpoint(path)
    assert saved.finished and saved.describe() == "finished, after epoch 3 of 3"
    again = train_classifier(config, data=tiny_data, resume=saved)
    assert _weights(again.model) == _weights(references["plain sgd"].model)
    assert again.history.epochs == 3


def test_early_stopping_state_survives_a_resume(tiny_data, tmp_path):
    # Patience 1 on a run long enough to stop early: the restored best weights must match.
    config = _config(epochs=8, early_stopping=1, learning_rate=0.5, schedule="constant")
    reference = train_classifier(config, data=tiny_data)
    assert reference.history.epochs < 8, "the run should stop early for this test to mean much"
    path = tmp_path / "checkpoint.npz"
    _interrupted(config, tiny_data, path, 10 * (reference.history.epochs - 1) + 2)
    resumed = train_classifier(config, data=tiny_data, resume=load_checkpoint(path))
    assert _weights(resumed.model) == _weights(reference.model)
    assert resumed.history.epochs == reference.history.epochs


def test_checkpoint_every_n_epochs_and_always_the_last(tiny_data, tmp_path):
    config = _config(epochs=5)
    written = []

    class Spy(Callback):
        def on_epoch_end(self, state):
            written.append(load_checkpoint(path).epoch - 1 if path.exists() else 0)

    path = tmp_path / "checkpoint.npz"
    train_classifier(config, data=tiny_data, checkpoint=path, checkpoint_every=2, callbacks=[Spy()])
    # Spy runs before the Checkpoint callback: it sees the checkpoint of the epoch before.
    assert written == [0, 0, 2, 2, 4]
    assert load_checkpoint(path).finished


def test_the_checkpoint_holds_no_pickle_and_json_generator_states(tiny_data, tmp_path):
    path = tmp_path / "checkpoint.npz"
    _interrupted(_config(**SETTINGS["everything"]), tiny_data, path, 5)
    with np.load(path, allow_pickle=False) as archive:  # would raise on any object array
        header = json.loads(str(archive["__checkpoint__"]))
        names = set(archive.files)
    assert set(header["generators"]) == {"shuffle", "augment", "layers.3"}  # the Dropout
    assert header["generators"]["shuffle"]["bit_generator"] == "PCG64"
    assert {"model.layers.0.weight", "model.layers.1.running_mean", "position.order"} <= names
    assert any(name.startswith("optimizer.state.0.weight.") for name in names)
    assert any(name.startswith("callbacks.early_stopping.") for name in names) or (
        header["callbacks"]["early_stopping"]["best"] is None
    )
    assert header["config"] == _config(**SETTINGS["everything"]).to_dict()


def test_resuming_with_other_settings_is_refused(tiny_data, tmp_path):
    path = tmp_path / "checkpoint.npz"
    _interrupted(_config(), tiny_data, path, 3)
    with pytest.raises(CheckpointError, match=r"other settings: learning_rate=0.05 \(now 0.1\)"):
        train_classifier(_config(learning_rate=0.1), data=tiny_data, resume=load_checkpoint(path))


def test_a_non_finite_model_never_overwrites_the_last_good_checkpoint(tiny_data, tmp_path):
    model = mlp(784, [8], 10, seed=0)
    optimizer = SGD(0.1)
    x = tiny_data[0][0].reshape(-1, 784).astype(np.float32) / 255
    labels = tiny_data[0][1].astype(np.int64)
    path = tmp_path / "checkpoint.npz"

    class Poison(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                state.model.layers[0].weight[0, 0] = np.inf

    with pytest.raises(FloatingPointError, match="was not overwritten"):
        fit(
            model,
            SoftmaxCrossEntropy(),
            optimizer,
            (x, labels),
            epochs=3,
            batch_size=100,
            seed=0,
            callbacks=[Poison(), Checkpoint(path)],
        )
    saved = load_checkpoint(path)
    assert saved.epoch == 2 and np.isfinite(saved.arrays["model.layers.0.weight"]).all()
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


@pytest.mark.parametrize(
    "start, match",
    [
        (ResumePoint(epoch=5), r"start.epoch must be in \[1, 4\] for a run of 3 epochs"),
        (ResumePoint(epoch=1, step=99), r"start.step must be in \[0, 7\]"),
        (ResumePoint(epoch=2), "start.history must hold the 1 finished epochs"),
        (ResumePoint(epoch=1, step=2), "start.order is needed"),
        (ResumePoint(epoch=1, step=2, order=np.arange(5)), "order must be a permutation"),
        ("epoch 2", "start must be a ResumePoint"),
    ],
)
def test_fit_checks_its_resume_point(tiny_data, start, match):
    x = tiny_data[0][0][:700].reshape(-1, 784).astype(np.float32) / 255
    labels = tiny_data[0][1][:700].astype(np.int64)
    with pytest.raises(ValueError, match=match):
        fit(
            mlp(784, [4], 10, seed=0),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            (x, labels),
            epochs=3,
            batch_size=100,
            seed=0,
            start=start,
        )


def test_save_checkpoint_writes_no_temporary_file_and_cleans_stale_ones(tiny_data, tmp_path):
    path = tmp_path / "checkpoint.npz"
    stale = tmp_path / ".checkpoint.npz.0badc0de.part"  # what a SIGKILL mid-write leaves
    stale.write_bytes(b"half a checkpoint")
    _interrupted(_config(), tiny_data, path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def test_load_checkpoint_refuses_damaged_files(tiny_data, tmp_path):
    path = tmp_path / "checkpoint.npz"
    _interrupted(_config(), tiny_data, path, 2)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nothing.npz")
    # A future format version.
    path.write_bytes(good)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(str(arrays["__checkpoint__"]))
    header["format_version"] = 99
    arrays["__checkpoint__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        load_checkpoint(path)
    # A model file is not a checkpoint.
    from scratchnet.nn import save_model

    save_model(mlp(784, [4], 10, seed=0), tmp_path / "model.npz")
    with pytest.raises(CheckpointError, match="not a scratchnet checkpoint"):
        load_checkpoint(tmp_path / "model.npz")
    assert zipfile.is_zipfile(tmp_path / "model.npz")


def test_a_checkpoint_for_another_network_is_refused(tiny_data, tmp_path):
    path = tmp_path / "checkpoint.npz"
    _interrupted(_config(), tiny_data, path, 2)
    saved = load_checkpoint(path)
    saved.config["hidden"] = [8]  # as if the settings had been edited
    with pytest.raises(CheckpointError, match=r"is float32\[784, 16\]; this run's network needs"):
        saved.restore(mlp(784, [8], 10, seed=0), SGD(0.1))
    with pytest.raises(CheckpointError, match="does not match this run's"):
        saved.restore(mlp(784, [16, 8], 10, seed=0), SGD(0.1))
    with pytest.raises(CheckpointError, match="holds SGD state; this run uses Adam"):
        saved.restore(mlp(784, [16], 10, seed=0), Adam(0.1))
    with pytest.raises(CheckpointError, match="random generators"):
        saved.restore(mlp(784, [16], 10, seed=0), SGD(0.1), generators={})


def test_stop_request_and_checkpoint_arguments():
    stop = StopRequest()
    assert not stop and stop.reason is None
    stop.request("SIGINT")
    assert stop and "SIGINT" in repr(stop)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        Checkpoint("x.npz", every=0)
    with pytest.raises(ValueError, match="stop= needs checkpoint="):
        train_classifier(_config(), data=((), ()), stop=StopRequest())


def test_save_checkpoint_is_usable_on_its_own(tiny_data, tmp_path):
    """save_checkpoint from any callback: here at the end of epoch 1 of a plain fit()."""
    x = tiny_data[0][0].reshape(-1, 784).astype(np.float32) / 255
    labels = tiny_data[0][1].astype(np.int64)
    path = tmp_path / "manual.npz"

    class SaveOnce(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 1:
                save_checkpoint(path, state, at_epoch_end=True, generators={"shuffle": rng})

    rng = np.random.default_rng(3)
    model = mlp(784, [4], 10, seed=0)
    fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(0.1),
        (x, labels),
        epochs=2,
        batch_size=100,
        rng=rng,
        callbacks=[SaveOnce()],
    )
    reference = _weights(model)
    model, optimizer, rng = mlp(784, [4], 10, seed=1), SGD(0.1), np.random.default_rng(99)
    start = load_checkpoint(path).restore(model, optimizer, generators={"shuffle": rng})
    fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        (x, labels),
        epochs=2,
        batch_size=100,
        rng=rng,
        start=start,
    )
    assert _weights(model) == reference


def test_a_resumed_run_keeps_its_blas_thread_count(tiny_data, tmp_path, monkeypatch):
    """The thread count can change the last bits: the checkpoint records it, resume reuses it
    even where scratchnet would now choose another."""
    import contextlib

    import scratchnet.runs.workflow as recipe

    used = []

    @contextlib.contextmanager
    def spy(threads):
        used.append(threads)
        yield

    monkeypatch.setattr(recipe, "blas_threads", spy)
    monkeypatch.setattr(recipe, "choose_threads", lambda *args, **kwargs: 1)
    path = tmp_path / "checkpoint.npz"
    _interrupted(_config(), tiny_data, path, 3)
    assert load_checkpoint(path).extra["blas_threads"] == used[-1] == 1
    monkeypatch.setattr(recipe, "choose_threads", lambda *args, **kwargs: 7)
    train_classifier(_config(), data=tiny_data, resume=load_checkpoint(path))
    assert used[-1] == 1
    train_classifier(_config(), data=tiny_data, evaluate_test=False)
    assert used[-1] == 7
