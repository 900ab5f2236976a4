"""diagnose_training and --repair end to end on tiny digits (a second or two each)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.diagnose.repair import repair_training, train_command
from scratchnet.diagnose.run import diagnose_training
from scratchnet.runs import TrainConfig


def _digits(n, seed):
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(42).integers(0, 256, (4, 28, 28))
    labels = rng.integers(0, 4, n)
    images = np.clip(prototypes[labels] + rng.normal(0, 60, (n, 28, 28)), 0, 255)
    return images.astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def data():
    return _digits(800, 0), _digits(200, 1)


def config(**changes):
    base = {"hidden": (32, 32), "epochs": 2, "validation_size": 200, "batch_size": 32,
            "learning_rate": 0.02}
    return TrainConfig(**{**base, **changes})


def test_a_healthy_run_is_quiet(data):
    diagnosis = diagnose_training(config(), data=data)
    assert diagnosis.findings == [] and diagnosis.val_accuracy > 0.9
    report = json.loads(diagnosis.to_json())
    assert report["healthy"] and report["data"]["class_counts"] and report["history"]


def test_json_gives_each_findings_role_and_fix_args(data):
    diagnosis = diagnose_training(config(init="zeros"), data=data)
    first = json.loads(diagnosis.to_json())["findings"][0]
    assert first["kind"] == "symmetric_weights" and first["role"] == "cause"
    assert first["fix_args"] == ["--init", "he-normal"]
    assert first["settings"] == {"init": "he-normal"}


def test_repair_applies_the_fix_and_stops_when_nothing_is_left(data):
    broken = config(init="zeros")
    rounds = []
    result = repair_training(broken, data=data, rounds=3, on_round=rounds.append)
    assert [r.fix.kind for r in result.rounds if r.fix] == ["symmetric_weights"]
    assert len(result.rounds) == 2 and result.best == 1
    assert result.config.init == "he-normal" and result.diagnosis.findings == []
    assert result.diagnosis.val_accuracy > 0.9
    assert result.command() == "scratchnet train --hidden 32,32 --lr 0.02 --batch-size 32 " \
        "--epochs 2 --augment none --validation-size 200"  # train augments MNIST by default
    assert len(rounds) == 2  # each round reported as it ends
    assert diagnose_training(broken, data=data, repair=1).best == 1  # repair= in Python


def test_repair_checks_its_rounds(data):
    with pytest.raises(ValueError, match="rounds"):
        repair_training(config(), data=data, rounds=0)


def test_train_command_keeps_a_preset_and_spells_out_the_rest():
    command = train_command(TrainConfig.from_preset("fast", epochs=2, init="glorot-uniform"))
    assert command.startswith("scratchnet train --preset fast ")
    assert "--epochs 2" in command and "--init glorot-uniform" in command
    assert "--hidden" not in command  # the preset's own
    assert "--no-nesterov" in train_command(TrainConfig(nesterov=False))
    assert "--batch-norm" in train_command(TrainConfig(batch_norm=True))


def test_repair_fixes_the_data_in_memory_and_judges_on_unchanged_images(data, monkeypatch):
    """The wrong scale is fixed in memory. A data fix changes the training part only: the
    validation images and labels that choose the kept round are drawn once, before it, and
    never trained on."""
    import scratchnet.diagnose.run as run_module

    seen = []
    original = run_module.diagnose_training

    def spy(config, **kwargs):
        seen.append((kwargs["data"], kwargs["validation"]))
        return original(config, **kwargs)

    monkeypatch.setattr(run_module, "diagnose_training", spy)
    (x, y), test = data
    floats = ((x.astype(np.float32), y), (test[0].astype(np.float32), test[1]))
    result = repair_training(config(), data=floats, rounds=2)
    assert result.rounds[0].diagnosis.findings[0].kind == "data_scale"
    assert result.data_fixes == ["rescale"] and len(seen) == 2
    assert "data_scale" not in [f.kind for f in result.diagnosis.findings]
    (fit_before, _), held_before = seen[0]
    (fit_after, _), held_after = seen[1]
    assert np.array_equal(held_before[1], held_after[1])  # the same labels
    assert np.allclose(held_after[0] * 255, held_before[0])  # the same images, rescaled
    assert len(fit_before[0]) + len(held_before[0]) == len(x)  # held out, not trained on
    assert all(r.score > 0 for r in result.rounds)


def test_balanced_accuracy_does_not_reward_the_dominant_class():
    from scratchnet.diagnose.repair import balanced_accuracy

    labels = np.array([0] * 8 + [1, 2])
    assert balanced_accuracy(np.zeros(10, dtype=int), labels) == pytest.approx(1 / 3)
    assert balanced_accuracy(labels.copy(), labels) == 1.0
