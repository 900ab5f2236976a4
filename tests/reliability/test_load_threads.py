"""BLAS threads chosen from the cores actually free: the load meter reads /proc/stat less this
process's own CPU time, the chooser caps at the BLAS's own limit and keeps tiny networks on
one thread, and the callback re-chooses between epochs (fit's results stay correct)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from scratchnet import threads
from scratchnet.threads import LoadMeter, ThreadChooser


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_own_work_does_not_count_as_load():
    meter = LoadMeter()
    if meter._last[0] is None:
        pytest.skip("no /proc/stat here")
    _spin(0.3)  # this process keeps a core busy
    # Other processes (the rest of the machine) may be busy too; this process's own 0.3 s of
    # spinning must not be counted: at most what the others did, which is < all CPUs.
    others = meter.others(wait=0)
    assert 0.0 <= others <= len(meter.cpus)


# A busy process of its own: a plain interpreter, so nothing of the test suite must be
# importable in it (a spawned multiprocessing worker would have to import this module).
SPIN = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
print("ready", flush=True)
end = time.perf_counter() + float(sys.argv[2])
while time.perf_counter() < end:
    pass
"""


@pytest.mark.slow  # a busy process measured for a second
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_a_busy_process_on_our_cpu_counts_as_load():
    cpu = min(os.sched_getaffinity(0))
    meter = LoadMeter()
    meter.cpus = {cpu}
    worker = subprocess.Popen(
        [sys.executable, "-c", SPIN, str(cpu), "0.8"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().strip() == "ready"
        meter._last = meter._snapshot()
        time.sleep(0.5)
        others = meter.others(wait=0)
    finally:
        worker.communicate(timeout=30)
    # The spinning process had the CPU for most of the 0.5 s (shared with this one's sleep).
    assert others > 0.3


def test_free_cores_is_the_usable_cores_less_the_load(monkeypatch):
    meter = LoadMeter()
    meter.cpus = {0, 1, 2, 3}
    monkeypatch.setattr(threads, "_cgroup_cpu_limit", lambda: None)
    for load, free in [(0.0, 4), (0.4, 4), (0.6, 3), (1.0, 3), (2.2, 2), (3.9, 1), (9.0, 1)]:
        monkeypatch.setattr(meter, "others", lambda load=load: load)
        assert meter.free_cores() == free, load
    monkeypatch.setattr(threads, "_cgroup_cpu_limit", lambda: 2.0)  # a container's quota
    monkeypatch.setattr(meter, "others", lambda: 0.0)
    assert meter.free_cores() == 2


def test_the_chooser_keeps_tiny_networks_on_one_thread_and_respects_the_cap(monkeypatch):
    monkeypatch.setattr(LoadMeter, "free_cores", lambda self: 8)
    assert ThreadChooser([784, 16, 10], 4, cap=8).choose() == 1  # 0.1 MFLOP products
    assert ThreadChooser([784, 512, 10], 128, cap=8).choose() == 8
    assert ThreadChooser([784, 512, 10], 128, cap=3).choose() == 3
    monkeypatch.setattr(LoadMeter, "free_cores", lambda self: 1)
    assert ThreadChooser([784, 512, 10], 128, cap=8).choose() == 1


def test_the_callback_changes_the_thread_count_between_epochs(monkeypatch):
    pytest.importorskip("threadpoolctl")
    if not threads.blas_info():
        pytest.skip("no BLAS library that threadpoolctl can see")
    from scratchnet.nn import SoftmaxCrossEntropy, mlp
    from scratchnet.optim import SGD
    from scratchnet.train import fit
    from scratchnet.train.adaptive_threads import AdaptiveThreads

    answers = iter([1, 2, 1, 1])
    chooser = ThreadChooser([20, 64, 3], 64, cap=2)
    monkeypatch.setattr(chooser, "choose", lambda: next(answers))
    seen = []

    class Spy(AdaptiveThreads):
        def on_epoch_begin(self, state):
            super().on_epoch_begin(state)
            seen.append(threads.current_threads())

    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((256, 20)), rng.integers(0, 3, 256)
    model = mlp(20, [64], 3, rng=np.random.default_rng(1), dtype="float64")
    callback = Spy(chooser, initial=2)
    with threads.blas_threads(2):
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            (x, labels),
            epochs=4,
            batch_size=64,
            callbacks=[callback],
            rng=rng,
        )
        assert threads.current_threads() in (1, 2)
    assert callback.counts == [2, 1, 2, 1]
    assert seen == [2, 1, 2, 1]
    assert np.isfinite(history.last("loss"))


def test_train_classifier_auto_records_the_choice(tmp_path, monkeypatch):
    pytest.importorskip("threadpoolctl")
    from scratchnet.train import TrainConfig, train_classifier
    from scratchnet.train.checkpoint import load_checkpoint

    monkeypatch.setattr(LoadMeter, "free_cores", lambda self: 1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (300, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 300).astype(np.uint8)
    config = TrainConfig(hidden=(64,), epochs=2, batch_size=64, validation_size=50)
    result = train_classifier(
        config,
        data=((images, labels), (images[:50], labels[:50])),
        threads="auto",
        checkpoint=tmp_path / "checkpoint.npz",
    )
    assert result.threads == 1
    saved = load_checkpoint(tmp_path / "checkpoint.npz").extra
    assert saved["adaptive_threads"] is True and saved["blas_threads"] == 1


def test_threads_for_network_picks_from_the_free_cores_and_restores_the_limit(monkeypatch):
    pytest.importorskip("threadpoolctl")
    if not threads.blas_info():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threads.blas_threads(2):
        monkeypatch.setattr(LoadMeter, "free_cores", lambda self: 1)  # another process is busy
        with threads.threads_for_network([784, 512, 10], 128) as chosen:
            assert chosen == 1 and threads.current_threads() == 1
        assert threads.current_threads() == 2
        monkeypatch.setattr(LoadMeter, "free_cores", lambda self: 8)
        with threads.threads_for_network([784, 512, 10], 128) as chosen:
            assert chosen == 2 == threads.current_threads()  # never above the limit outside
        with threads.threads_for_network([784, 16, 10], 4) as chosen:
            assert chosen == 1  # tiny products: one thread whatever is free
