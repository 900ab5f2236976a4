"""Each rule on hand-made records: the evidence that triggers it, the healthy run that does
not, its role and its fix as settings and flags."""

from __future__ import annotations

import math

import pytest

from scratchnet.diagnose import CAUSE, SYMPTOM, analyse
from scratchnet.diagnose.datacheck import DataReport
from scratchnet.diagnose.lrfind import LRRange


def kinds(findings):
    return [f.kind for f in findings]


def run(records, **kwargs):
    kwargs.setdefault("n_classes", 10)
    return analyse(records, **kwargs)


def test_a_healthy_run_has_no_findings(make):
    assert run(make.healthy_run(), config={"learning_rate": 0.05, "init": "he-normal"}) == []


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_a_healthy_run_with_its_fitting_init_has_no_findings(make, activation):
    assert run(make.healthy_run(activation=activation)) == []


def _stuck(make, first_layers, *, steps=5, update=1e-3, loss=2.3, top_share=0.9):
    records = [make.record(first_layers)]
    records += [make.record(first_layers, step=10 * k, loss=loss, update=update,
                            top_share=top_share) for k in range(1, steps + 1)]
    return records


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_too_small_an_init_is_a_vanishing_signal_with_the_fitting_init_as_fix(make, activation):
    layers = make.network(3, activation=activation, gain=0.05)
    layers[-1]["act_spread"] = 1e-5
    findings = run(_stuck(make, layers), config={"activation": activation, "init": "normal:0.001"})
    first = findings[0]
    assert first.kind == "vanishing_signal" and first.role == CAUSE
    assert "too small" in first.title and "normal:0.001" in first.title
    expected = "he-normal" if activation == "relu" else "glorot-uniform"
    assert first.settings == {"init": expected}
    assert first.fix_args == ["--init", expected]
    # the collapse and the flat loss it causes are symptoms, ranked after it
    assert kinds(findings)[1:] == ["collapse", "no_learning"]
    assert all(f.role == SYMPTOM for f in findings[1:])


def test_a_deep_sigmoid_stack_with_a_tiny_init_gets_relu_and_he(make):
    layers = make.network(6, activation="sigmoid", gain=0.05)
    layers[-1]["act_spread"] = 1e-6
    first = run(_stuck(make, layers), config={"activation": "sigmoid"})[0]
    assert first.kind == "vanishing_signal"
    assert first.fix_args == ["--activation", "relu", "--init", "he-normal"]


def test_a_spread_of_exactly_zero_is_no_signal_at_all(make):
    layers = make.network(4, gain=0.01)
    layers[-1]["act_spread"] = 0.0
    first = run(_stuck(make, layers))[0]
    assert first.kind == "vanishing_signal" and "to nothing" in first.title


def test_sigmoid_depth_alone_with_glorot_init(make):
    layers = make.network(8, activation="sigmoid")
    layers[-1]["act_spread"] = 1e-4
    findings = run(_stuck(make, layers), config={"activation": "sigmoid",
                                                 "init": "glorot-uniform"})
    assert findings[0].kind == "vanishing_depth"
    assert findings[0].settings == {"activation": "relu", "init": "he-normal"}


def test_sigmoid_depth_seen_in_the_first_layers_frozen_updates(make):
    layers = make.network(6, activation="sigmoid")
    records = [make.record(layers)]
    for k in range(1, 5):
        later = [dict(e, update_ratio=1e-2, grad_norm=1.0) for e in layers]
        later[0]["update_ratio"] = 1e-6
        records.append(make.record(later, step=k, loss=2.3))
    assert kinds(run(records, config={"activation": "sigmoid"}))[0] == "vanishing_depth"


def test_too_large_an_init_is_told_apart_from_the_learning_rate(make):
    layers = make.network(4, gain=5.0)
    layers[-1]["act_spread"] = 1e4
    records = [make.record(layers, loss=40.0)]
    records.append(make.record(layers, step=1, loss=math.nan, update=5.0))
    findings = run(records, config={"learning_rate": 0.05}, diverged="the loss became nan")
    assert findings[0].kind == "init_too_large"
    assert "not the learning rate" in findings[0].title
    assert findings[0].settings == {"init": "he-normal"}
    # the same divergence from a healthy first forward pass is the rate
    healthy_start = [make.record(make.network(4))]
    healthy_start.append(make.record(make.network(4), step=1, loss=math.nan, update=5.0))
    found = run(healthy_start, config={"learning_rate": 5.0}, diverged="the loss became nan")
    assert found[0].kind == "learning_rate_too_large"
    assert found[0].settings == {"learning_rate": 0.5}


def test_relus_killed_in_the_first_steps_are_the_learning_rate(make):
    start = make.network(3)
    later = [dict(e, dead_share=0.95) if e["activation"] == "relu" else e for e in start]
    records = [make.record(start)] + [
        make.record(later, step=k, loss=2.3, update=0.3, top_share=1.0) for k in range(1, 6)
    ]
    findings = run(records, config={"learning_rate": 1.0, "batch_size": 128})
    assert findings[0].kind == "learning_rate_too_large"
    assert "died during training" in findings[0].evidence
    assert findings[0].fix_args == ["--lr", "0.1"]


def test_the_range_test_gives_the_rate_in_a_learning_rate_fix(make):
    start = make.network(3)
    later = [dict(e, dead_share=0.95) if e["activation"] == "relu" else e for e in start]
    records = [make.record(start)] + [
        make.record(later, step=k, loss=2.3, update=0.3) for k in range(1, 6)
    ]
    found = LRRange([], [], [], suggestion=0.03, minimum=0.3, blowup=1.0)
    calls = []

    def range_test():
        calls.append(1)
        return found

    first = run(records, config={"learning_rate": 1.0}, lr_range=range_test)[0]
    assert first.settings == {"learning_rate": 0.03} and calls == [1]
    # a rate the range test calls fine is not blamed, whatever else went wrong
    assert "learning_rate_too_large" not in kinds(
        run(records, config={"learning_rate": 0.01}, lr_range=range_test)
    )


def test_a_tiny_batch_for_the_rate_is_its_own_fault(make):
    start = make.network(2)
    records = [make.record(start), make.record(start, step=1, loss=math.nan, update=3.0)]
    first = run(records, config={"learning_rate": 0.05, "batch_size": 1}, diverged="nan")[0]
    assert first.kind == "batch_lr_mismatch"
    assert first.fix_args == ["--batch-size", "128"]


def test_a_tiny_batch_whose_many_steps_let_the_decay_erase_the_weights(make):
    start = make.network(3)
    end = [dict(e, weight_rms=e["weight_rms"] * 0.3, dead_share=0.0) for e in start]
    records = [make.record(start), make.record(end, step=9000, loss=2.3, update=1e-3)]
    config = {"weight_decay": 5e-4, "learning_rate": 0.05, "batch_size": 1}
    assert [f.kind for f in run(records, config=config) if f.role == CAUSE] == [
        "batch_lr_mismatch"
    ]


def test_a_rate_far_too_small_is_raised_to_the_range_tests_rate(make):
    records = _stuck(make, make.network(3), update=1e-6, loss=2.2, top_share=0.2)
    found = LRRange([], [], [], suggestion=0.08, minimum=0.8, blowup=3.0)
    first = run(records, config={"learning_rate": 1e-5}, lr_range=lambda: found)[0]
    assert first.kind == "learning_rate_too_small"
    assert first.settings == {"learning_rate": 0.08}
    # without the range test: 30x, not a fixed 10-100x
    first = run(records, config={"learning_rate": 1e-5})[0]
    assert first.settings["learning_rate"] == pytest.approx(3e-4)


def test_relus_dead_before_any_update_are_the_initialisation(make):
    layers = make.network(2)
    layers[0]["dead_share"] = 1.0
    first = run(_stuck(make, layers))[0]
    assert first.kind == "dead_relus" and first.settings == {"init": "he-normal"}
    # all-negative small weights: the signal is gone because the units are dead, and the
    # finding says so (not "too small")
    for e in layers:
        e["weight_rms"] *= 0.3
    layers[-1]["act_spread"] = 0.0
    assert [f.kind for f in run(_stuck(make, layers)) if f.role == CAUSE] == ["dead_relus"]


def test_units_saturated_before_any_update_are_the_initialisation(make):
    layers = make.network(2, activation="tanh", gain=8.0, saturated_share=0.9)
    first = run(_stuck(make, layers), config={"activation": "tanh"})[0]
    assert first.kind == "saturated_units"
    assert first.settings == {"init": "glorot-uniform"}


@pytest.mark.parametrize("init", ["zeros", "constant:0.01"])
def test_symmetric_weights(make, init):
    layers = make.network(2, symmetric=True)
    if init == "zeros":
        for e in layers:
            e["weight_rms"] = 0.0
    first = run(_stuck(make, layers), config={"init": init})[0]
    assert first.kind == "symmetric_weights" and first.settings == {"init": "he-normal"}


def test_a_stack_of_identity_layers_has_no_nonlinearity(make):
    layers = make.network(6, activation="identity")
    first = run(make.healthy_run()[:1] + _stuck(make, layers)[1:],
                config={"activation": "identity"})[0]
    assert first.kind == "no_nonlinearity"
    assert first.fix_args == ["--activation", "relu", "--init", "he-normal"]


def test_weight_decay_that_erases_the_weights(make):
    start = make.network(3)
    end = [dict(e, weight_rms=e["weight_rms"] * 0.05) for e in start]
    records = [make.record(start), make.record(end, step=100, loss=2.0, update=0.05)]
    first = run(records, config={"weight_decay": 1.0, "learning_rate": 0.05})[0]
    assert first.kind == "regularisation_too_strong" and "weight decay" in first.title
    assert first.settings == {"weight_decay": 5e-4}
    # the same shrinking without any decay is not called one
    assert "regularisation_too_strong" not in kinds(run(records, config={"weight_decay": 0.0}))


def test_l2_with_an_adaptive_optimiser_is_judged_by_its_pull_not_the_shrink(make):
    """Adam with coupled L2 0.1: the weights keep over half their size, but the penalty pulls
    as hard as the data gradient and the training accuracy is held at 86%."""
    records = make.healthy_run()
    for record in records[1:]:
        for entry in record["layers"]:
            entry["grad_norm"] = 1.0  # decay x weight norm: about 0.1 x 11 against it
    held = [{"epoch": 3, "loss": 0.79, "accuracy": 0.86, "val_loss": 0.78, "val_accuracy": 0.86}]
    config = {"optimizer": "adam", "weight_decay": 0.1, "learning_rate": 1e-3}
    findings = run(records, config=config, history=held)
    assert kinds(findings) == ["regularisation_too_strong"]
    assert findings[0].fix_args == ["--weight-decay", "0.0005"] and "pull" in findings[0].evidence
    # the usual L2 pulls 10x less; a network that fits its training data is not held back;
    # AdamW's decoupled decay is not a penalty on the gradient
    assert run(records, config={**config, "weight_decay": 5e-4}, history=held) == []
    fitted = [dict(held[0], accuracy=0.99)]
    assert run(records, config=config, history=fitted) == []
    assert run(records, config={**config, "optimizer": "adamw"}, history=held) == []


def test_a_signal_that_keeps_its_size_but_not_its_differences_vanishes(make):
    """All-positive tiny weights: the logits' plain spread survives (the common average of the
    inputs), their distinct spread does not; the init is named, not the learning rate."""
    layers = make.network(8, gain=0.05, distinct_spread=0.5)
    layers[-1]["distinct_spread"] = 1e-9
    records = _stuck(make, layers, update=1e-4, loss=2.2)
    records[0]["input_distinct_spread"], records[0]["positive_weights"] = 0.3, True
    findings = run(records, config={"init": "uniform:0:0.01", "learning_rate": 0.01})
    assert findings[0].kind == "vanishing_signal" and "all positive" in findings[0].title
    healthy = make.network(8, distinct_spread=0.5)
    records = make.healthy_run()[:1]
    records[0]["layers"], records[0]["input_distinct_spread"] = healthy, 0.3
    assert run(records + make.healthy_run()[1:]) == []


def test_dropout_that_holds_training_far_below_validation(make):
    history = [{"epoch": 1, "loss": 1.5, "accuracy": 0.55, "val_loss": 0.5, "val_accuracy": 0.86}]
    findings = run(make.healthy_run(), config={"dropout": 0.9}, history=history)
    assert kinds(findings) == ["regularisation_too_strong"]
    assert findings[0].fix_args == ["--dropout", "0.2"]
    light = [{"epoch": 1, "loss": 0.2, "accuracy": 0.95, "val_loss": 0.1, "val_accuracy": 0.97}]
    assert run(make.healthy_run(), config={"dropout": 0.2}, history=light) == []


def test_a_layer_narrower_than_the_classes_is_too_little_capacity(make):
    layers = make.network(2)
    layers[1]["n_out"], layers[2]["n_in"] = 3, 3
    findings = run([make.record(layers), make.record(layers, step=5, loss=1.0, update=1e-3)])
    found = [f for f in findings if f.kind == "capacity_too_small"]
    assert found and found[0].settings == {"hidden": [64, 128]}


def test_overfitting(make):
    history = [
        {"loss": 0.5, "accuracy": 0.85, "val_loss": 0.40, "val_accuracy": 0.88},
        {"loss": 0.1, "accuracy": 0.97, "val_loss": 0.35, "val_accuracy": 0.90},
        {"loss": 0.01, "accuracy": 1.0, "val_loss": 0.50, "val_accuracy": 0.89},
    ]
    findings = run(make.healthy_run(), config={"dropout": 0.0, "weight_decay": 0.0},
                   history=history)
    assert kinds(findings) == ["overfitting"]
    assert findings[0].settings == {"early_stopping": 3, "dropout": 0.2, "weight_decay": 5e-4}
    assert findings[0].fix_args[:2] == ["--early-stopping", "3"]
    steady = [dict(row, val_loss=0.3 - 0.05 * i) for i, row in enumerate(history)]
    assert run(make.healthy_run(), history=steady) == []


def test_mild_overfitting_is_the_gap_and_a_rising_validation_loss(make):
    """Training 100% against validation 93%, the validation loss up only 7% from its minimum."""
    history = [
        {"loss": 0.6, "accuracy": 0.85, "val_loss": 0.45, "val_accuracy": 0.88},
        {"loss": 0.1, "accuracy": 0.98, "val_loss": 0.28, "val_accuracy": 0.92},
        {"loss": 0.02, "accuracy": 1.0, "val_loss": 0.29, "val_accuracy": 0.93},
        {"loss": 0.005, "accuracy": 1.0, "val_loss": 0.30, "val_accuracy": 0.93},
    ]
    config = {"dropout": 0.2, "weight_decay": 5e-4}
    findings = run(make.healthy_run(), config=config, history=history)
    assert kinds(findings) == ["overfitting"]
    assert findings[0].settings == {"early_stopping": 3}
    # a run that already stops at its best validation epoch is left alone
    assert run(make.healthy_run(), config={**config, "early_stopping": 3}, history=history) == []
    # a gap of 1 point is no overfitting, whatever the validation loss does
    close = [dict(row, accuracy=row["val_accuracy"] + 0.01) for row in history]
    assert run(make.healthy_run(), config=config, history=close) == []


def _report(**changes):
    base = {"feature_rms": 0.36, "feature_max": 1.0, "class_counts": [1000] * 10,
            "neighbour_disagreement": 0.04, "checked": 500}
    return DataReport(**{**base, **changes})


def test_clean_data_has_no_data_finding(make):
    assert run(make.healthy_run(), data=_report()) == []


@pytest.mark.parametrize("rms", [92.0, 1e-3])
def test_inputs_on_the_wrong_scale_come_first(make, rms):
    layers = make.network(3, gain=1.0)
    layers[-1]["act_spread"] = 1e4 if rms > 1 else 1e-5
    findings = run(_stuck(make, layers), data=_report(feature_rms=rms))
    assert findings[0].kind == "data_scale" and findings[0].data_fix == "rescale"
    assert findings[0].fix_args == [] and "no setting" in findings[0].fix
    # the init rules see the same first forward pass and defer to the data
    assert not {"vanishing_signal", "init_too_large"} & set(kinds(findings))


def test_a_collapse_that_mirrors_a_dominant_class_is_the_data(make):
    counts = [9000] + [200] * 9
    records = _stuck(make, make.network(2), loss=1.0, top_share=0.9)
    for r in records:
        r["top_class"] = 0
    findings = run(records, data=_report(class_counts=counts))
    assert findings[0].kind == "class_imbalance" and findings[0].data_fix == "balance"
    assert "mirror" in findings[0].evidence
    assert findings[-1].kind == "collapse" and findings[-1].role == SYMPTOM


def test_labels_that_disagree_with_their_images(make):
    findings = run(make.healthy_run(), data=_report(neighbour_disagreement=0.45))
    assert kinds(findings) == ["label_noise"]
    assert findings[0].data_fix == "clean-labels"
    # Fashion-MNIST's own disagreement (about 15%) is not noise
    assert run(make.healthy_run(), data=_report(neighbour_disagreement=0.16)) == []


def test_a_symptom_alone_says_what_to_check(make):
    records = _stuck(make, make.network(2), update=1e-3, loss=1.0, top_share=0.8)
    findings = run(records)
    assert kinds(findings) == ["collapse"]
    assert findings[0].role == SYMPTOM and findings[0].fix_args == []
    assert "lr-find" in findings[0].fix and "--init" in findings[0].fix
