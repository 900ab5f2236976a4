"""Each kind of finding is triggered by a network that has that problem, and a healthy
network triggers none. The networks are tiny and train in well under a second."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.diagnose import TrainingProbe, analyse, diagnose_model
from scratchnet.diagnose.findings import Finding
from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD
from scratchnet.train import fit

N_CLASSES = 4


@pytest.fixture(scope="module")
def blobs():
    """400 training and 200 probe points in 16-D from 4 well-separated Gaussian blobs."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (N_CLASSES, 16))
    labels = rng.integers(0, N_CLASSES, 600)
    x = (centres[labels] + rng.normal(0, 0.5, (600, 16))).astype(np.float32)
    return (x[:400], labels[:400]), (x[400:], labels[400:])


def diagnose(blobs, model, *, lr=0.1, momentum=0.9, epochs=5, config=None):
    train, probe_set = blobs
    probe = TrainingProbe(*probe_set, every=5)
    diverged = None
    try:
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(lr, momentum),
            train,
            epochs=epochs,
            batch_size=32,
            rng=np.random.default_rng(1),
            callbacks=[probe],
        )
    except FloatingPointError as exc:
        diverged = str(exc)
    return analyse(probe.records, n_classes=N_CLASSES, config=config, diverged=diverged)


def kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


def test_a_healthy_network_has_no_findings(blobs):
    model = mlp(16, [32, 32], N_CLASSES, seed=0)
    assert diagnose(blobs, model, lr=0.01) == []


def test_a_healthy_deep_network_has_no_findings(blobs):
    model = mlp(16, [32] * 8, N_CLASSES, seed=0)
    assert diagnose(blobs, model, lr=0.01) == []


def test_vanishing_signal_names_the_initialisation(blobs):
    model = mlp(16, [32] * 8, N_CLASSES, weight_init="uniform:0:0.01", seed=0)
    findings = diagnose(blobs, model, lr=1e-3, config={"init": "uniform:0:0.01"})
    assert findings[0].kind == "vanishing_signal"
    assert "too small" in findings[0].title and "uniform:0:0.01" in findings[0].title
    assert "all positive" in findings[0].title
    assert "he-normal" in findings[0].fix


def test_vanishing_gradients_in_a_deep_sigmoid_network(blobs):
    model = mlp(16, [32] * 10, N_CLASSES, activation="sigmoid", weight_init="normal:0.05", seed=0)
    findings = diagnose(blobs, model, lr=0.01, momentum=0.0, epochs=2,
                        config={"activation": "sigmoid"})
    # 0.05 is far below Glorot's scale for 32 -> 32 (0.18): the weights are too small, and ten
    # sigmoid layers are too deep for the right scale as well: ReLU with He is the fix
    assert findings[0].kind in ("vanishing_signal", "vanishing_depth")
    assert findings[0].settings == {"activation": "relu", "init": "he-normal"}


def test_divergence_from_a_huge_learning_rate(blobs):
    model = mlp(16, [32, 32], N_CLASSES, seed=0)
    findings = diagnose(blobs, model, lr=1e6, config={"learning_rate": 1e6})
    assert findings[0].kind == "learning_rate_too_large" and "diverged" in findings[0].title
    assert "lower the learning rate" in findings[0].fix and "1e+06" in findings[0].fix
    assert findings[0].fix_args == ["--lr", "1e+05"]


def test_exploding_updates_without_nan():
    layer = {
        "index": 0,
        "activation": "relu",
        "act_spread": 1.0,
        "he_gain": 1.0,
        "nonfinite": 0,
        "dead_share": 0.0,
        "saturated_share": None,
    }
    records = [
        {
            "step": 0,
            "layers": [dict(layer, grad_norm=None, update_ratio=None)],
            "top_class": 0,
            "top_class_share": 0.3,
            "probe_loss": 1.0,
        },
        {
            "step": 5,
            "layers": [dict(layer, grad_norm=1.0, update_ratio=0.8)],
            "top_class": 0,
            "top_class_share": 0.3,
            "probe_loss": 0.9,
        },
    ]
    found = analyse(records, n_classes=N_CLASSES)
    assert [f.kind for f in found] == ["learning_rate_too_large"]


def test_learning_rate_too_small(blobs):
    model = mlp(16, [32, 32], N_CLASSES, seed=0)
    findings = diagnose(blobs, model, lr=1e-6, momentum=0.0, config={"learning_rate": 1e-6})
    assert "learning_rate_too_small" in kinds(findings)
    finding = next(f for f in findings if f.kind == "learning_rate_too_small")
    assert "raise the learning rate" in finding.fix


def test_dead_relus(blobs):
    model = mlp(16, [32, 32], N_CLASSES, bias_init="constant:-20", seed=0)
    findings = diagnose(blobs, model)
    assert "dead_relus" in kinds(findings)
    dead = next(f for f in findings if f.kind == "dead_relus")
    assert "100% of units never fire" in dead.evidence and dead.settings == {"init": "he-normal"}


def test_saturated_sigmoid_units(blobs):
    model = mlp(16, [32, 32], N_CLASSES, activation="sigmoid", weight_init="normal:5", seed=0)
    findings = diagnose(blobs, model, lr=1e-3)
    assert "saturated_units" in kinds(findings)


def test_saturated_tanh_units(blobs):
    model = mlp(16, [32, 32], N_CLASSES, activation="tanh", weight_init="normal:5", seed=0)
    assert "saturated_units" in kinds(diagnose(blobs, model, lr=1e-3))


def test_collapse_onto_one_class(blobs):
    model = mlp(16, [32], N_CLASSES, seed=0)
    model.layers[-1].bias[2] = 50.0  # class 2 wins whatever the input
    findings = diagnose(blobs, model, lr=1e-6, momentum=0.0)
    collapse = next(f for f in findings if f.kind == "collapse")
    assert "class 2" in collapse.title and "100%" in collapse.title


def test_loss_stuck_at_chance(blobs):
    model = mlp(16, [32], N_CLASSES, weight_init="normal:1e-6", seed=0)
    findings = diagnose(blobs, model, lr=1e-9, momentum=0.0)
    assert "no_learning" in kinds(findings)
    assert "ln(4)" in next(f for f in findings if f.kind == "no_learning").title


def test_findings_are_ranked_by_severity(blobs):
    model = mlp(16, [32] * 8, N_CLASSES, weight_init="uniform:0:0.01", seed=0)
    findings = diagnose(blobs, model, lr=1e-6, momentum=0.0)
    severities = [f.severity for f in findings]
    assert len(findings) >= 2 and severities == sorted(severities, reverse=True)


def test_probe_records_every_layer(blobs):
    train, probe_set = blobs
    model = mlp(16, [8, 8], N_CLASSES, seed=0)
    probe = TrainingProbe(*probe_set, every=4)
    fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(0.1),
        train,
        epochs=2,
        batch_size=50,
        rng=np.random.default_rng(0),
        callbacks=[probe],
    )
    assert probe.records[0]["step"] == 0
    assert [r["step"] for r in probe.records[1:]] == [4, 8, 12, 16]
    first, last = probe.records[0], probe.records[-1]
    assert [e["index"] for e in last["layers"]] == [0, 1, 2]
    assert first["layers"][0]["grad_norm"] is None
    assert last["layers"][0]["grad_norm"] > 0 and last["layers"][0]["update_ratio"] > 0
    assert last["probe_loss"] < first["probe_loss"]
    assert 0 < last["probe_accuracy"] <= 1


def test_probe_uses_the_validation_set_by_default(blobs):
    train, validation = blobs
    probe = TrainingProbe(size=50)
    fit(
        mlp(16, [8], N_CLASSES, seed=0),
        SoftmaxCrossEntropy(),
        SGD(0.1),
        train,
        epochs=1,
        batch_size=50,
        validation=validation,
        rng=np.random.default_rng(0),
        callbacks=[probe],
    )
    assert probe.x.shape == (50, 16) and probe.records


def test_probe_without_data_or_validation_raises(blobs):
    train, _ = blobs
    with pytest.raises(ValueError, match="needs probe data"):
        fit(
            mlp(16, [8], N_CLASSES, seed=0),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            train,
            epochs=1,
            batch_size=50,
            rng=np.random.default_rng(0),
            callbacks=[TrainingProbe()],
        )


def test_diagnose_model_on_a_saved_style_network(blobs):
    _, (x, labels) = blobs
    sick = mlp(16, [32] * 8, N_CLASSES, weight_init="uniform:0:0.01", seed=0)
    records, findings = diagnose_model(sick, x, labels, loss=SoftmaxCrossEntropy())
    assert "vanishing_signal" in kinds(findings)
    healthy = mlp(16, [32, 32], N_CLASSES, seed=0)
    fit(
        healthy,
        SoftmaxCrossEntropy(),
        SGD(0.1, 0.9),
        blobs[0],
        epochs=5,
        batch_size=32,
        rng=np.random.default_rng(0),
    )
    history = [{"loss": 1.2}, {"loss": 0.1}]
    _, findings = diagnose_model(healthy, x, labels, history=history, loss=SoftmaxCrossEntropy())
    assert findings == []


def test_zero_spread_in_the_last_layer_is_no_signal_not_a_crash():
    # A spread of exactly 0 happens when float32 activations underflow (it depends on the CPU's
    # BLAS kernel): it must read as "no signal at all", never divide by zero.
    def layer(index, spread):
        return {
            "index": index,
            "activation": "sigmoid",
            "n_in": 64,
            "n_out": 64,
            "weight_rms": 0.001,
            "act_spread": spread,
            "he_gain": 0.01,
            "nonfinite": 0,
            "dead_share": None,
            "saturated_share": 0.0,
            "grad_norm": None,
            "update_ratio": None,
        }

    record = {
        "step": 0,
        "layers": [layer(0, 0.2), layer(1, 0.0), layer(2, 0.0), layer(3, 0.0)],
        "top_class": 0,
        "top_class_share": 0.3,
        "probe_loss": None,
    }
    found = analyse([record], n_classes=N_CLASSES)
    vanishing = [f for f in found if f.kind == "vanishing_signal"]
    assert vanishing and "to nothing" in vanishing[0].title


def test_distinct_spread_is_what_tells_images_apart():
    """A batch spread along one direction only (every unit the same average, varying with one
    number per image) keeps its plain spread but has no distinct spread left."""
    from scratchnet.diagnose.probes import distinct_spread, input_spread

    rng = np.random.default_rng(0)
    one_number = rng.normal(0, 1, (200, 1)) * np.ones((1, 32)) + rng.normal(0, 1e-6, (200, 32))
    assert input_spread(one_number) > 0.5
    assert distinct_spread(one_number) < 1e-5
    spread_out = rng.normal(0, 1, (200, 32))
    assert 0.8 < distinct_spread(spread_out) < 1.0
    assert distinct_spread(np.full((5, 4), np.nan)) != distinct_spread(np.full((5, 4), np.nan))
    assert distinct_spread(np.zeros((1, 4))) == 0.0


def test_all_positive_small_weights_vanish_though_their_average_survives(blobs):
    """uniform:0:0.01 on 6 ReLU layers: the logits keep a spread (the common average of the
    inputs), but what tells the points apart is gone: the init is the cause, not the rate."""
    model = mlp(16, [32] * 6, N_CLASSES, weight_init="uniform:0:0.01", seed=0)
    probe_x = blobs[1][0]
    from scratchnet.diagnose.probes import layer_statistics

    layers, _ = layer_statistics(model, probe_x)
    assert layers[-1]["distinct_spread"] < 1e-3 * layers[-1]["act_spread"]
    findings = diagnose(blobs, model, lr=1e-3, epochs=1, config={"init": "uniform:0:0.01"})
    assert findings[0].kind == "vanishing_signal"
    # a saved network is judged the same way, from its activations on held-out points alone
    _, saved = diagnose_model(model, probe_x, blobs[1][1], loss=SoftmaxCrossEntropy())
    assert saved[0].kind == "vanishing_signal"
