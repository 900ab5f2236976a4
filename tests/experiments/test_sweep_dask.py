"""The Dask executor, against a distributed.LocalCluster on loopback: the same trials, the same
results as in this process (threads and worker processes both)."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from scratchnet.experiments.executors import DaskExecutor, InlineExecutor  # noqa: E402
from scratchnet.experiments.space import grid  # noqa: E402
from scratchnet.experiments.sweep import plan_trials, run_sweep  # noqa: E402
from scratchnet.train.recipe import TrainConfig  # noqa: E402

BASE = TrainConfig(hidden=(8,), epochs=2, validation_size=80, batch_size=32, schedule="constant")


@pytest.mark.parametrize(
    "processes", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["threads", "processes"]
)
def test_dask_cluster_gives_the_inline_results(tmp_path, digits, processes):
    trials = plan_trials(BASE, grid({"learning_rate": [0.3, 0.03], "hidden": [4, 8]}))
    inline = run_sweep(
        trials, tmp_path / "inline", executor=InlineExecutor(), data=digits, report=False
    )
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp://",  # loopback TCP for threads too (not the in-process transport)
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as cluster:
        # By address, as `scratchnet sweep --executor dask --scheduler ADDRESS` does.
        executor = DaskExecutor(cluster.scheduler_address)
        on_dask = run_sweep(trials, tmp_path / "dask", executor=executor, data=digits, report=False)
    assert executor.workers == 2
    assert [r["trial"] for r in on_dask.trials] == [r["trial"] for r in inline.trials]
    for a, b in zip(inline.trials, on_dask.trials, strict=True):
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=1e-12)
    # Dask workers keep no model files; the winner is retrained here, to the same weights.
    assert not (tmp_path / "dask" / "trials").exists()
    assert on_dask.test == pytest.approx(inline.test)
    assert (tmp_path / "dask" / "best" / "model.npz").is_file()


def test_unreachable_scheduler_is_one_clear_error(tmp_path, digits):
    from scratchnet.errors import ScratchnetError

    trials = plan_trials(BASE, [{}])
    executor = DaskExecutor("tcp://127.0.0.1:9", timeout=0.5)  # the discard port: nothing listens
    with pytest.raises(ScratchnetError, match="cannot reach the Dask scheduler"):
        run_sweep(trials, tmp_path, executor=executor, data=digits, report=False)
