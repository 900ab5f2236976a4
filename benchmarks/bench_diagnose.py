"""Can diagnose be trusted? Broken MNIST setups with a known cause, and healthy controls.

    SCRATCHNET_DATA=/path/to/data nice python benchmarks/bench_diagnose.py   # ~45 min, 2 cores
    # or side by side: --shard 1/2 --rows-out a.json, --shard 2/2 --rows-out b.json, then
    # --merge a.json b.json (--half tuning/checking, --no-repair, --only NAME... to choose)

Each setup trains on a 10,000-image subset of MNIST's training set (2,000 of them held out for
validation) for a few epochs, through scratchnet.diagnose.run.diagnose_training: the call behind
`scratchnet diagnose` (the data faults pass their arrays as `--data-dir DIR` with a mnist.npz
would). Every broken setup names its true cause (the finding kinds that count as naming it)
and its healthy control (the same data, budget and network done right). Broken setups are then
repaired (`diagnose --repair`, 3 rounds) and their test accuracy compared with the control's.

Setups alternate between a tuning half (even positions within each fault, used while choosing
the thresholds) and a checking half (odd positions, looked at only to report). Results go to
benchmarks/results/diagnose.md (the checking half first, then the tuning half, then every row),
with the probe's overhead on `scratchnet train` (the probe that writes diagnosis.json) measured
on the same machine, interleaved with runs without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from scratchnet.data import load_dataset
from scratchnet.diagnose.repair import repair_training
from scratchnet.diagnose.run import diagnose_training
from scratchnet.fileio import atomic_write
from scratchnet.runs import TrainConfig, train_classifier

RESULTS = Path(__file__).resolve().parent / "results" / "diagnose.md"
RAW = Path(__file__).resolve().parent / "results" / "diagnose.json"
TRAIN_IMAGES = 10_000
BASE = {"hidden": (128, 64), "epochs": 3, "validation_size": 2000}


@dataclasses.dataclass
class Setup:
    name: str
    fault: str  # "healthy" for a control
    causes: tuple[str, ...]  # finding kinds that name the true cause
    settings: dict[str, Any]
    data: str | None = None  # a data transform (see transform())
    control: str = "default"

    def config(self) -> TrainConfig:
        return TrainConfig(**{**BASE, **self.settings})


def H(name: str, data: str | None = None, **settings) -> Setup:
    return Setup(name, "healthy", (), settings, data)


def B(name: str, fault: str, causes, control: str = "default", data=None, **settings) -> Setup:
    causes = (causes,) if isinstance(causes, str) else tuple(causes)
    return Setup(name, fault, causes, settings, data, control)


LR_BIG = ("learning_rate_too_large",)
SMALL_INIT = ("vanishing_signal",)
REG = ("regularisation_too_strong",)

HEALTHY = [
    H("default"),
    H("default-256-128", hidden=(256, 128)),
    H("preset-fast-2ep", hidden=(512,), learning_rate=0.1, schedule="onecycle", epochs=2),
    H(
        "sigmoid-glorot",
        hidden=(256,),
        activation="sigmoid",
        init="glorot-uniform",
        learning_rate=0.2,
    ),
    H("tanh-glorot", activation="tanh", init="glorot-uniform"),
    H("batch-norm", batch_norm=True),
    H("adam", optimizer="adam", learning_rate=1e-3, weight_decay=0.0),
    H("adamw", optimizer="adamw", learning_rate=1e-3, weight_decay=1e-2),
    H("dropout-0.2", dropout=0.2),
    H("tiny-32", hidden=(32,)),
    H("deep-relu-6x128", hidden=(128,) * 6),
    H("rmsprop", optimizer="rmsprop", learning_rate=1e-3, momentum=0.0),
    H("leaky-relu", activation="leaky_relu"),
    H("plain-sgd", momentum=0.0, learning_rate=0.1),
    H("batch-32", batch_size=32, learning_rate=0.02),
    H("label-smoothing", label_smoothing=0.1),
    H("tanh-deep-4x128", hidden=(128,) * 4, activation="tanh", init="glorot-uniform"),
    H("fashion", dataset="fashion-mnist"),
    H("small-data-control", data="small", epochs=20, early_stopping=3),
    # added with the second round of rules (after the first checking half was reported)
    H("adam-deep-4x256", hidden=(256,) * 4, optimizer="adam", learning_rate=1e-3, weight_decay=0.0),
    H("wide-1024", hidden=(1024,)),
    H("batch-norm-deep-6x128", hidden=(128,) * 6, batch_norm=True),
    H(
        "sigmoid-glorot-2x128",
        hidden=(128, 128),
        activation="sigmoid",
        init="glorot-uniform",
        learning_rate=0.2,
    ),
    H("rmsprop-l2", optimizer="rmsprop", learning_rate=1e-3, momentum=0.0, weight_decay=1e-4),
    H(
        "tanh-adam-3x128",
        hidden=(128,) * 3,
        activation="tanh",
        init="glorot-uniform",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
]

BROKEN = [
    # signal vanishing from too-small initial weights
    B(
        "small-init-relu-5x128",
        "init too small",
        SMALL_INIT,
        hidden=(128,) * 5,
        init="normal:0.001",
    ),
    B(
        "small-init-relu-8x128-uniform",
        "init too small",
        SMALL_INIT,
        hidden=(128,) * 8,
        init="uniform:0:0.01",
        learning_rate=0.01,
    ),
    B(
        "small-init-tanh-4x128",
        "init too small",
        SMALL_INIT,
        hidden=(128,) * 4,
        activation="tanh",
        init="normal:0.001",
    ),
    B(
        "small-init-sigmoid-6x128",
        "init too small",
        SMALL_INIT,
        hidden=(128,) * 6,
        activation="sigmoid",
        init="normal:0.005",
    ),
    B(
        "small-init-relu-adam-4x128",
        "init too small",
        SMALL_INIT,
        hidden=(128,) * 4,
        init="normal:0.0005",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    # sigmoid / tanh depth alone
    B(
        "deep-sigmoid-8x128",
        "sigmoid depth",
        "vanishing_depth",
        hidden=(128,) * 8,
        activation="sigmoid",
        init="glorot-uniform",
    ),
    B(
        "deep-sigmoid-10x128",
        "sigmoid depth",
        "vanishing_depth",
        hidden=(128,) * 10,
        activation="sigmoid",
        init="glorot-normal",
    ),
    B(
        "deep-sigmoid-6x64",
        "sigmoid depth",
        "vanishing_depth",
        hidden=(64,) * 6,
        activation="sigmoid",
        init="glorot-uniform",
        momentum=0.0,
        learning_rate=0.1,
    ),
    # signal exploding from too-large initial weights
    B(
        "large-init-relu-4x128",
        "init too large",
        "init_too_large",
        hidden=(128,) * 4,
        init="normal:0.5",
    ),
    B(
        "large-init-relu-256-128",
        "init too large",
        "init_too_large",
        hidden=(256, 128),
        init="normal:1",
    ),
    B(
        "large-init-leaky-6x128",
        "init too large",
        "init_too_large",
        hidden=(128,) * 6,
        activation="leaky_relu",
        init="normal:0.3",
    ),
    B(
        "large-init-relu-adam",
        "init too large",
        "init_too_large",
        hidden=(128,) * 3,
        init="normal:0.5",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    # saturated sigmoid / tanh units
    B(
        "saturated-tanh-128-64",
        "saturated units",
        "saturated_units",
        activation="tanh",
        init="normal:1",
    ),
    B(
        "saturated-sigmoid-256",
        "saturated units",
        "saturated_units",
        hidden=(256,),
        activation="sigmoid",
        init="normal:2",
        learning_rate=0.2,
    ),
    B(
        "saturated-tanh-3x256",
        "saturated units",
        "saturated_units",
        hidden=(256,) * 3,
        activation="tanh",
        init="uniform:-1:1",
    ),
    # learning rate too large
    B("lr-5-diverges", "lr too large", LR_BIG, learning_rate=5.0),
    B("lr-1-kills-relus", "lr too large", LR_BIG, learning_rate=1.0),
    B("adam-lr-0.1", "lr too large", LR_BIG, optimizer="adam", learning_rate=0.1, weight_decay=0.0),
    B(
        "rmsprop-lr-0.05",
        "lr too large",
        LR_BIG,
        optimizer="rmsprop",
        learning_rate=0.05,
        momentum=0.0,
    ),
    B("deep-relu-lr-0.5", "lr too large", LR_BIG, hidden=(128,) * 6, learning_rate=0.5),
    B("plain-sgd-lr-20", "lr too large", LR_BIG, momentum=0.0, learning_rate=20.0),
    # learning rate too small
    B("lr-1e-5", "lr too small", "learning_rate_too_small", learning_rate=1e-5),
    B(
        "plain-sgd-lr-1e-4",
        "lr too small",
        "learning_rate_too_small",
        momentum=0.0,
        learning_rate=1e-4,
    ),
    B(
        "adam-lr-1e-6",
        "lr too small",
        "learning_rate_too_small",
        optimizer="adam",
        learning_rate=1e-6,
        weight_decay=0.0,
    ),
    B("lr-3e-5-256", "lr too small", "learning_rate_too_small", hidden=(256,), learning_rate=3e-5),
    # dead ReLUs from the initialisation
    B("dead-init-negative", "dead relus (init)", "dead_relus", init="uniform:-0.05:0"),
    B(
        "dead-init-negative-deep",
        "dead relus (init)",
        "dead_relus",
        hidden=(128,) * 4,
        init="uniform:-0.1:0",
    ),
    # symmetric weights
    B("zero-init", "symmetric weights", "symmetric_weights", init="zeros"),
    B("constant-init", "symmetric weights", "symmetric_weights", init="constant:0.01"),
    B(
        "constant-init-tanh",
        "symmetric weights",
        "symmetric_weights",
        activation="tanh",
        init="constant:0.05",
    ),
    # no nonlinearity
    B("identity-128-64", "no nonlinearity", "no_nonlinearity", activation="identity"),
    B(
        "identity-6x128",
        "no nonlinearity",
        "no_nonlinearity",
        hidden=(128,) * 6,
        activation="identity",
        init="glorot-uniform",
    ),
    # regularisation too strong
    B("weight-decay-1", "regularisation", REG, weight_decay=1.0),
    B("adam-l2-0.1", "regularisation", REG, optimizer="adam", learning_rate=1e-3, weight_decay=0.1),
    B("dropout-0.9", "regularisation", REG, dropout=0.9),
    B("weight-decay-0.1-deep", "regularisation", REG, hidden=(128,) * 4, weight_decay=0.1),
    # batch size and learning rate mismatched
    B("batch-1-lr-0.05", "batch/lr mismatch", "batch_lr_mismatch", batch_size=1),
    B("batch-2-lr-0.1", "batch/lr mismatch", "batch_lr_mismatch", batch_size=2, learning_rate=0.1),
    # capacity too small
    B("bottleneck-4", "capacity too small", "capacity_too_small", hidden=(4,)),
    B("bottleneck-128-3", "capacity too small", "capacity_too_small", hidden=(128, 3)),
    # overfitting (a small training set, many epochs, nothing to stop it)
    B(
        "overfit-small-data",
        "overfitting",
        "overfitting",
        control="small-data-control",
        data="small",
        epochs=20,
        weight_decay=0.0,
    ),
    B(
        "overfit-small-data-wide",
        "overfitting",
        "overfitting",
        control="small-data-control",
        data="small",
        hidden=(512,),
        epochs=20,
        weight_decay=0.0,
        schedule="constant",
    ),
    # data: inputs on the wrong scale
    B("float-pixels-0-255", "inputs on the wrong scale", "data_scale", data="float255"),
    B("uint8-binary-0-1", "inputs on the wrong scale", "data_scale", data="binary01"),
    B(
        "float-pixels-0-255-adam",
        "inputs on the wrong scale",
        "data_scale",
        data="float255",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    # data: noisy labels
    B("label-noise-50", "noisy labels", "label_noise", data="noise50"),
    B("label-noise-70", "noisy labels", "label_noise", data="noise70"),
    # data: one class dominating
    B("dominant-class-0", "dominant class", "class_imbalance", data="dominant"),
    B(
        "dominant-class-7-adam",
        "dominant class",
        "class_imbalance",
        data="dominant7",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    # added with the second round of rules: other depths, widths, optimisers and severities
    B(
        "small-init-relu-uniform-6x256-adam",
        "init too small",
        SMALL_INIT,
        hidden=(256,) * 6,
        init="uniform:0:0.005",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B(
        "small-init-tanh-3x256-rmsprop",
        "init too small",
        SMALL_INIT,
        hidden=(256,) * 3,
        activation="tanh",
        init="normal:0.002",
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.0,
    ),
    B(
        "deep-sigmoid-12x64",
        "sigmoid depth",
        "vanishing_depth",
        hidden=(64,) * 12,
        activation="sigmoid",
        init="glorot-uniform",
    ),
    B(
        "deep-sigmoid-9x96-plain",
        "sigmoid depth",
        "vanishing_depth",
        hidden=(96,) * 9,
        activation="sigmoid",
        init="glorot-normal",
        momentum=0.0,
        learning_rate=0.2,
    ),
    B("large-init-relu-512", "init too large", "init_too_large", hidden=(512,), init="normal:0.5"),
    B(
        "large-init-relu-3x128-rmsprop",
        "init too large",
        "init_too_large",
        hidden=(128,) * 3,
        init="normal:0.4",
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.0,
    ),
    B(
        "saturated-sigmoid-2x128",
        "saturated units",
        "saturated_units",
        hidden=(128, 128),
        activation="sigmoid",
        init="normal:1.5",
        learning_rate=0.2,
    ),
    B(
        "saturated-tanh-256-adam",
        "saturated units",
        "saturated_units",
        hidden=(256,),
        activation="tanh",
        init="uniform:-2:2",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B("lr-2-deep-4x128", "lr too large", LR_BIG, hidden=(128,) * 4, learning_rate=2.0),
    B("adamw-lr-0.05", "lr too large", LR_BIG, optimizer="adamw", learning_rate=0.05),
    B(
        "rmsprop-lr-1e-6",
        "lr too small",
        "learning_rate_too_small",
        optimizer="rmsprop",
        learning_rate=1e-6,
        momentum=0.0,
    ),
    B(
        "lr-2e-5-deep-4x128",
        "lr too small",
        "learning_rate_too_small",
        hidden=(128,) * 4,
        learning_rate=2e-5,
    ),
    B(
        "dead-init-negative-wide",
        "dead relus (init)",
        "dead_relus",
        hidden=(512, 256),
        init="uniform:-0.02:0",
    ),
    B(
        "dead-init-negative-adam",
        "dead relus (init)",
        "dead_relus",
        hidden=(128,) * 3,
        init="uniform:-0.1:0",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B(
        "zero-init-adam",
        "symmetric weights",
        "symmetric_weights",
        init="zeros",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B(
        "constant-init-sigmoid",
        "symmetric weights",
        "symmetric_weights",
        activation="sigmoid",
        init="constant:0.02",
        learning_rate=0.2,
    ),
    B(
        "identity-3x256-adam",
        "no nonlinearity",
        "no_nonlinearity",
        hidden=(256,) * 3,
        activation="identity",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B("identity-512", "no nonlinearity", "no_nonlinearity", hidden=(512,), activation="identity"),
    B(
        "rmsprop-l2-0.05",
        "regularisation",
        REG,
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.0,
        weight_decay=0.05,
    ),
    B(
        "adam-l2-0.05-deep",
        "regularisation",
        REG,
        hidden=(128,) * 4,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.05,
    ),
    B("batch-4-lr-0.3", "batch/lr mismatch", "batch_lr_mismatch", batch_size=4, learning_rate=0.3),
    B(
        "batch-1-lr-0.1-plain",
        "batch/lr mismatch",
        "batch_lr_mismatch",
        batch_size=1,
        learning_rate=0.1,
        momentum=0.0,
    ),
    B("bottleneck-6", "capacity too small", "capacity_too_small", hidden=(6,)),
    B(
        "bottleneck-256-5-adam",
        "capacity too small",
        "capacity_too_small",
        hidden=(256, 5),
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B(
        "overfit-small-data-adam",
        "overfitting",
        "overfitting",
        control="small-data-control",
        data="small",
        hidden=(256, 256),
        epochs=20,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B(
        "overfit-small-data-deep",
        "overfitting",
        "overfitting",
        control="small-data-control",
        data="small",
        hidden=(256,) * 3,
        epochs=20,
        weight_decay=0.0,
        schedule="constant",
        learning_rate=0.02,
    ),
    B("uint8-pixels-0-15", "inputs on the wrong scale", "data_scale", data="dim16"),
    B(
        "float-pixels-0-255-deep",
        "inputs on the wrong scale",
        "data_scale",
        data="float255",
        hidden=(128,) * 4,
    ),
    B(
        "label-noise-60-adam",
        "noisy labels",
        "label_noise",
        data="noise60",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
    ),
    B("label-noise-45-deep", "noisy labels", "label_noise", data="noise45", hidden=(128,) * 4),
    B(
        "dominant-class-3-deep",
        "dominant class",
        "class_imbalance",
        data="dominant3",
        hidden=(128,) * 4,
    ),
    B(
        "dominant-class-5-rmsprop",
        "dominant class",
        "class_imbalance",
        data="dominant5",
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.0,
    ),
]


def transform(name: str | None, data, rng_seed: int = 0):
    """The data of a data fault, made from the MNIST subset (the test set is never changed,
    except that wrong-scale inputs are wrong for it too: the network sees both the same way)."""
    (x, y), (x_test, y_test) = data
    if name is None:
        return data
    rng = np.random.default_rng(rng_seed)
    if name == "small":
        return (x[:1000], y[:1000]), (x_test, y_test)
    if name == "float255":
        return (x.astype(np.float32), y), (x_test.astype(np.float32), y_test)
    if name == "dim16":  # 8-bit images whose pixels only reach 15 (a lost scaling step)
        return (x // 16, y), (x_test // 16, y_test)
    if name == "binary01":
        return ((x > 127).astype(np.uint8), y), ((x_test > 127).astype(np.uint8), y_test)
    if name.startswith("noise"):
        share = int(name[5:]) / 100
        flip = rng.random(len(y)) < share
        noisy = y.copy()
        noisy[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
        return (x, noisy), (x_test, y_test)
    if name.startswith("dominant"):
        top = int(name[8:] or 0)
        keep = (y == top) | (rng.random(len(y)) < 0.2)
        return (x[keep], y[keep]), (x_test, y_test)
    raise ValueError(name)


def subset(data, n: int):
    (x, y), test = data
    order = np.random.default_rng(12345).permutation(len(y))[:n]
    return (x[np.sort(order)], y[np.sort(order)]), test


def load(setup: Setup, cache: dict):
    dataset = setup.settings.get("dataset", "mnist")
    if dataset not in cache:
        cache[dataset] = subset(load_dataset(dataset, None, download=False), TRAIN_IMAGES)
    return transform(setup.data, cache[dataset])


def config_for(setup: Setup) -> TrainConfig:
    config = setup.config()
    if setup.data == "small":
        config = dataclasses.replace(config, validation_size=200)
    if setup.data and setup.data.startswith("dominant"):
        config = dataclasses.replace(config, validation_size=500)
    return config


def run_setup(setup: Setup, cache: dict, *, repair: bool) -> dict[str, Any]:
    data = load(setup, cache)
    config = config_for(setup)
    started = time.perf_counter()
    fixed = None
    if repair and setup.fault != "healthy":
        fixed = repair_training(config, data=data, rounds=3)
        diagnosis = fixed.rounds[0].diagnosis  # the first round is the plain diagnosis
    else:
        diagnosis = diagnose_training(config, data=data)
    row: dict[str, Any] = {
        "name": setup.name,
        "fault": setup.fault,
        "causes": list(setup.causes),
        "control": setup.control,
        "findings": [f.kind for f in diagnosis.findings],
        "roles": [f.role for f in diagnosis.findings],
        "first_fix": diagnosis.findings[0].fix_args if diagnosis.findings else [],
        "test_accuracy": diagnosis.test_accuracy,
        "seconds": time.perf_counter() - started,
    }
    if fixed is not None:
        row["repaired_accuracy"] = fixed.diagnosis.test_accuracy
        row["repair_rounds"] = [[f.kind for f in r.diagnosis.findings] for r in fixed.rounds]
        row["repair_command"] = fixed.command()
        row["repair_data_fixes"] = fixed.data_fixes
        row["seconds"] = time.perf_counter() - started
    return row


# -- the probe's overhead on scratchnet train --------------------------------------------------
def probe_overhead(cache: dict, repeats: int, *, full: bool = False) -> dict[str, Any]:
    """`scratchnet train`'s probe (128 validation images, a record every quarter of the run
    and at each epoch's end) against none, interleaved, for 2 epochs: on the bench's subset
    with its small network (the worst case: a short run's fixed cost), or (full=True) on
    `scratchnet train`'s own default network and data (512-256, 55,000 training images)."""
    from scratchnet.diagnose import TrainingProbe

    if full:
        data = cache.setdefault("mnist-full", load_dataset("mnist", None, download=False))
        config = TrainConfig(epochs=2)
    else:
        data = cache.setdefault("mnist", subset(load_dataset("mnist", None, download=False),
                                                  TRAIN_IMAGES))
        config = TrainConfig(**{**BASE, "epochs": 2})
    n_fit = len(data[0][1]) - config.validation_size
    plain, probed, inside = [], [], []
    for _ in range(repeats):
        for with_probe in (False, True):
            callbacks = []
            if with_probe:
                steps = config.epochs * -(-n_fit // config.batch_size)
                probe = TrainingProbe(size=128, every=max(1, steps // 4))
                callbacks.append(probe)
            result = train_classifier(config, data=data, callbacks=callbacks, evaluate_test=False)
            (probed if with_probe else plain).append(result.train_seconds)
            if with_probe:
                inside.append(probe.seconds / result.train_seconds)
    return {
        "plain_s": statistics.median(plain),
        "probed_s": statistics.median(probed),
        "ratio": statistics.median(probed) / statistics.median(plain),
        "probe_share": statistics.median(inside),
        "repeats": repeats,
        "setting": ("default network, 55,000 images" if full else
                    f"784-128-64-10, {TRAIN_IMAGES - BASE['validation_size']:,} images"),
    }


def overheads(cache: dict, repeats: int) -> list[dict[str, Any]]:
    return [probe_overhead(cache, repeats), probe_overhead(cache, repeats, full=True)]


# -- the report ---------------------------------------------------------------------------------
def summarise(rows: list[dict], healthy: dict[str, float]) -> dict[str, Any]:
    broken = [r for r in rows if r["fault"] != "healthy"]
    controls = [r for r in rows if r["fault"] == "healthy"]
    causes_first = [
        r
        for r in broken
        if r["findings"] and r["roles"][0] == "cause" and r["findings"][0] in r["causes"]
    ]
    detected = [r for r in broken if r["findings"]]
    anywhere = [r for r in broken if set(r["findings"]) & set(r["causes"])]
    alarms = [r for r in controls if r["findings"]]
    shares = []
    for r in broken:
        if r.get("repaired_accuracy") is not None and healthy.get(r["control"]):
            shares.append(r["repaired_accuracy"] / healthy[r["control"]])
    return {
        "broken": len(broken),
        "healthy": len(controls),
        "detected": len(detected),
        "first_is_cause": len(causes_first),
        "cause_anywhere": len(anywhere),
        "false_alarms": len(alarms),
        "repaired_95": sum(s >= 0.95 for s in shares),
        "repaired_n": len(shares),
        "median_share": statistics.median(shares) if shares else None,
    }


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def commit() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{i.get('num_threads')} threads)"
            for i in threadpool_info()
        )
    except ImportError:
        blas = "threadpoolctl not installed"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; BLAS: {blas}; load average at the end " + ", ".join(
        f"{x:.1f}" for x in os.getloadavg()
    )


def table(rows: list[dict], healthy: dict[str, float]) -> list[str]:
    lines = [
        "| setup | fault | first finding | true cause first | test acc | repaired | "
        "share of healthy | repair rounds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        first = r["findings"][0] if r["findings"] else "(none)"
        ok = (
            "-"
            if r["fault"] == "healthy"
            else ("yes" if r["findings"] and r["findings"][0] in r["causes"] else "no")
        )
        if r["fault"] == "healthy":
            ok = "false alarm" if r["findings"] else "quiet"
        acc = f"{100 * r['test_accuracy']:.1f}%" if r.get("test_accuracy") else "-"
        rep = r.get("repaired_accuracy")
        share = (
            f"{100 * rep / healthy[r['control']]:.0f}%"
            if rep is not None and healthy.get(r["control"])
            else "-"
        )
        rounds = " -> ".join(",".join(k) or "none" for k in r.get("repair_rounds", []))
        lines.append(
            f"| {r['name']} | {r['fault']} | {first} | {ok} | {acc} | "
            f"{'-' if rep is None else f'{100 * rep:.1f}%'} | {share} | {rounds} |"
        )
    return lines


def write(rows: list[dict], overhead: dict | None, seconds: float) -> None:
    healthy = {r["name"]: r["test_accuracy"] for r in rows if r["fault"] == "healthy"}
    lines = [
        "# diagnose: the true cause first, no false alarm, a fix that works",
        "",
        "Written by `nice python benchmarks/bench_diagnose.py` "
        f"(commit {commit()}; {seconds / 60:.0f} minutes; {machine()}).",
        f"Each setup: {TRAIN_IMAGES:,} MNIST training images (2,000 held out for validation), "
        "784-128-64-10 unless named, 3 epochs; the overfitting setups 1,000 images for 20 "
        "epochs. Repair: `diagnose --repair` (3 rounds; it keeps the round with the best mean "
        "per-class accuracy on one validation split drawn before any fix), the test accuracy "
        "of the round it keeps, as a share of the healthy control's at the same budget.",
        "",
    ]
    for title, part in (("checking half (not looked at while tuning)", 1), ("tuning half", 0)):
        chosen = [r for r in rows if r["half"] == part]
        if not chosen:
            continue
        s = summarise(chosen, healthy)
        planned = sum(1 for r in setup_halves() if r[1] == part)
        controls = [r for r in rows if r["fault"] == "healthy" and r["half"] == part]
        lines += [
            f"## {title}",
            "",
            f"{len(chosen)} of its {planned} setups ran ({s['broken']} broken, "
            f"{s['healthy']} healthy).",
            "",
            f"- detected (any finding): {_pct(s['detected'], s['broken'])}",
            f"- first finding = the true cause: {_pct(s['first_is_cause'], s['broken'])}",
            f"- true cause among the findings: {_pct(s['cause_anywhere'], s['broken'])}",
            f"- false alarms on healthy runs: {_pct(s['false_alarms'], len(controls))}",
            f"- repaired to >= 95% of the healthy control's accuracy: "
            f"{_pct(s['repaired_95'], s['repaired_n'])}",
            "",
        ]
    if overhead:
        if isinstance(overhead, dict):
            overhead = [overhead]
        lines += ["## the probe's cost on `scratchnet train`", "",
                  "The probe `scratchnet train` runs (128 validation images, a record every "
                  "quarter of the run and at each epoch's end), 2 epochs, interleaved with the "
                  "same runs without it (median of the runs; the probe's own time is measured "
                  "inside it, which the load swings less than the wall clock):", "",
                  "| run | without the probe | with it | ratio | probe's own time |",
                  "|---|---|---|---|---|"]
        for o in overhead:
            lines.append(f"| {o.get('setting', 'subset')} ({o['repeats']} runs each) | "
                         f"{o['plain_s']:.2f} s | {o['probed_s']:.2f} s | {o['ratio']:.3f} | "
                         f"{100 * o['probe_share']:.2f}% of training |")
        lines.append("")
    lines += ["## every setup", ""] + table(rows, healthy) + [""]
    with atomic_write(RESULTS, "w") as handle:
        handle.write("\n".join(lines))
    with atomic_write(RAW, "w") as handle:
        json.dump({"rows": rows, "overhead": overhead}, handle, indent=1)


def setup_halves() -> list[tuple[Setup, int]]:
    """Every setup with its half: 0 (tuning) for even positions within its fault, else 1."""
    setups = []
    for group in (HEALTHY, BROKEN):
        by_fault: dict[str, int] = {}
        for setup in group:
            position = by_fault.get(setup.fault, 0)
            by_fault[setup.fault] = position + 1
            setups.append((setup, position % 2))
    return setups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only the setups with these names")
    parser.add_argument("--half", choices=("tuning", "checking", "both"), default="both")
    parser.add_argument("--no-repair", action="store_true")
    parser.add_argument("--overhead-repeats", type=int, default=5)
    parser.add_argument("--print", action="store_true", help="print each row as it comes")
    parser.add_argument(
        "--shard",
        default="1/1",
        metavar="I/N",
        help="run every N-th setup from the I-th (for N processes side by side)",
    )
    parser.add_argument(
        "--rows-out",
        type=Path,
        default=None,
        metavar="JSON",
        help="write this shard's rows here instead of the report",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=None,
        metavar="JSON",
        help="write the report from these shards' rows (and run nothing)",
    )
    args = parser.parse_args(argv)
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        rows = [row for part in parts for row in part["rows"]]
        known = {setup.name: setup for setup, _ in setup_halves()}
        for row in rows:  # rows printed with --print leave the causes out
            row.setdefault("causes", list(known[row["name"]].causes))
        overhead = next((p["overhead"] for p in parts if p.get("overhead")), None)
        write(rows, overhead, max(p["seconds"] for p in parts))
        return 0
    index, count = (int(v) for v in args.shard.split("/"))
    setups = setup_halves()
    wanted = {"tuning": {0}, "checking": {1}, "both": {0, 1}}[args.half]
    cache: dict = {}
    rows = []
    started = time.perf_counter()
    chosen = [
        (setup, half)
        for setup, half in setups
        if (setup.name in args.only if args.only else half in wanted)
    ]
    for setup, half in chosen[index - 1 :: count]:
        row = run_setup(setup, cache, repair=not args.no_repair)
        row["half"] = half
        rows.append(row)
        if args.rows_out:  # as it goes: a shard that dies keeps what it did
            with atomic_write(args.rows_out, "w") as handle:
                json.dump({"rows": rows, "overhead": None, "seconds": 0.0}, handle)
        if args.print:
            print(json.dumps({k: row[k] for k in row if k not in ("causes",)}), flush=True)
    overhead = overheads(cache, args.overhead_repeats) if args.overhead_repeats else None
    seconds = time.perf_counter() - started
    if args.rows_out:
        with atomic_write(args.rows_out, "w") as handle:
            json.dump({"rows": rows, "overhead": overhead, "seconds": seconds}, handle)
    elif not args.only:
        write(rows, overhead, seconds)
    elif overhead:
        print(json.dumps(overhead))
    return 0


if __name__ == "__main__":
    sys.exit(main())
