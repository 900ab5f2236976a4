"""No numbers crash a diagnosis: zero spreads, NaN everywhere, one record, no hidden layer,
one class, missing fields. Every ratio is guarded; non-finite values are reported."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scratchnet.diagnose import analyse, diagnose_model
from scratchnet.diagnose.numbers import fmt, median, per_layer, ratio
from scratchnet.diagnose.run import Diagnosis
from scratchnet.nn import SoftmaxCrossEntropy, mlp


def test_ratio_is_guarded():
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) == math.inf
    assert ratio(0.0, 0.0) is None  # no signal at all: undefined, not a crash
    for bad in (math.nan, math.inf, None, "x", True):
        assert ratio(bad, 1.0) is None and ratio(1.0, bad) is None


def test_median_per_layer_and_fmt_take_any_numbers():
    assert median([3, None, math.nan, 1, 2]) == 2
    assert median([math.nan, None]) is None
    assert per_layer(0.0, 3) == 0.0 and per_layer(None, 3) is None and per_layer(8.0, 0) is None
    assert per_layer(8.0, 3) == pytest.approx(2.0)
    assert [fmt(x) for x in (None, math.nan, math.inf, 0.0)] == ["-", "NaN", "inf", "0"]


def _everything(make, **overrides):
    """Every number of every layer set as `overrides` say."""
    layers = [dict(e, **overrides) for e in make.network(3)]
    return [make.record(layers), make.record(layers, step=5, loss=math.nan, update=math.nan)]


@pytest.mark.parametrize(
    "overrides",
    [
        {"act_spread": 0.0},
        {"act_spread": 0.0, "weight_rms": 0.0},
        {"act_spread": math.nan, "weight_rms": math.nan, "dead_share": math.nan},
        {"act_spread": math.inf, "weight_rms": math.inf, "nonfinite": 10},
        {"n_in": 0, "n_out": 0},
        {"act_spread": None, "weight_rms": None, "n_in": None, "activation": None},
    ],
)
def test_degenerate_layer_numbers_give_findings_not_errors(make, overrides):
    records = _everything(make, **overrides)
    findings = analyse(records, n_classes=10, config={"learning_rate": 0.1})
    assert all(f.kind != "diagnose_error" for f in findings), [f.evidence for f in findings]
    Diagnosis("x", records, findings, 10).to_json()  # JSON has no NaN: it must still write


def test_all_nan_records_report_the_divergence(make):
    records = _everything(make, act_spread=math.nan, nonfinite=100)
    findings = analyse(records, n_classes=10, config={"learning_rate": 0.1})
    assert findings[0].kind == "learning_rate_too_large" and "diverged" in findings[0].title
    text = Diagnosis("x", records, findings, 10).to_json()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


def test_one_record_no_record_and_odd_records(make):
    one = [make.record(make.network(3))]
    assert analyse(one, n_classes=10) == []
    assert analyse([], n_classes=10) == []
    assert analyse([{}], n_classes=10) == []
    assert analyse([{"layers": None}, {"layers": [None, 3]}], n_classes=10) == []


def test_no_hidden_layer(make):
    records = [make.record([make.layer(0, n_in=784, n_out=10, activation="identity")])]
    records.append(make.record(records[0]["layers"], step=5, loss=0.3, update=1e-3))
    assert analyse(records, n_classes=10) == []


def test_a_single_class(make):
    records = [make.record(make.network(2, n_classes=1), loss=0.0, top_share=1.0)]
    records.append(make.record(make.network(2, n_classes=1), step=5, loss=0.0, top_share=1.0,
                               update=1e-3))
    assert analyse(records, n_classes=1) == []  # ln 1 = 0 and a sure collapse: nothing wrong


def test_a_rule_that_breaks_is_reported_not_raised(make):
    def broken(records, context):
        raise ZeroDivisionError("float division by zero")

    findings = analyse([make.record(make.network(2))], n_classes=10, rules=[broken])
    assert [f.kind for f in findings] == ["diagnose_error"]
    assert findings[0].role == "symptom" and "ZeroDivisionError" in findings[0].evidence


def test_a_saved_network_with_zero_weights_is_diagnosed():
    rng = np.random.default_rng(0)
    model = mlp(16, [8, 8], 3, weight_init="zeros", seed=0)
    x = rng.normal(size=(50, 16)).astype(np.float32)
    labels = rng.integers(0, 3, 50)
    records, findings = diagnose_model(model, x, labels, loss=SoftmaxCrossEntropy())
    assert findings[0].kind == "symmetric_weights"
