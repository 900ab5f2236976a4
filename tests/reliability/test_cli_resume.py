"""`scratchnet train --out RUN_DIR` under SIGINT and SIGTERM, and `--resume RUN_DIR`: the
signal finishes the step, saves, exits 130 or 143 naming the resume command, and the resumed
run's model file is byte-identical to an uninterrupted run's. In-process, on the tiny data set;
the signal is sent by the process to itself from inside training, so the moment is exact."""

from __future__ import annotations

import fcntl
import os
import signal

import pytest

import scratchnet.runs.workflow as recipe
from scratchnet.train import Callback, load_checkpoint

ARGS = ("--hidden", "16", "--epochs", "3", "--batch-size", "64", "--validation-size", "100")
ARGS += ("--dropout", "0.2", "--augment", "affine")
# Runs compared bitwise pin their BLAS threads: the default follows the machine's load.
ARGS += ("--threads", "1")


class Kill(Callback):
    """Send `signals` to this very process during step `at` (global, 1-based)."""

    def __init__(self, at: int, signals) -> None:
        self.at, self.signals = at, signals

    def on_batch_begin(self, state) -> None:
        if state.global_step + 1 == self.at:
            for number in self.signals:
                os.kill(os.getpid(), number)


@pytest.fixture
def kill_at(monkeypatch):
    """kill_at(step, SIGINT, ...): the next `scratchnet train` gets these signals then."""
    real = recipe.train_classifier
    plan = {}

    def train(config, *, callbacks=(), **kwargs):
        extra = [Kill(plan["at"], plan["signals"])] if plan else []
        plan.clear()  # only the first run
        return real(config, callbacks=[*callbacks, *extra], **kwargs)

    monkeypatch.setattr(recipe, "train_classifier", train)

    def arm(at: int, *signals) -> None:
        plan.update(at=at, signals=signals)

    return arm


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_data):
    """The model file of the same run, never interrupted."""
    import scratchnet.data
    from scratchnet.cli import main

    folder = tmp_path_factory.mktemp("reference")
    patch = pytest.MonkeyPatch()
    patch.setattr(scratchnet.data, "load_dataset", lambda *a, **k: tiny_data)
    try:
        assert main(["train", *ARGS, "-q", "--out", str(folder)]) == 0
    finally:
        patch.undo()
    return (folder / "model.npz").read_bytes()


@pytest.mark.parametrize(
    "number, status, at",
    # Seconds each: the full suite runs them (`-m "not slow"` checks the pieces alone).
    [
        pytest.param(number, status, at, marks=pytest.mark.slow)
        for number, status, at in [(signal.SIGINT, 130, 1), (signal.SIGINT, 130, 13)]
        + [(signal.SIGTERM, 143, 20), (signal.SIGTERM, 143, 30)]
    ],
)
def test_a_signal_saves_exits_and_resume_gives_the_same_model_file(
    tiny_cli, kill_at, cli, tmp_path, reference, number, status, at
):
    run = tmp_path / "run"
    kill_at(at, number)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the suite runs as a background job
    code, out, err = cli("train", *ARGS, "--out", run)
    assert code == status
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    name = signal.Signals(number).name
    assert (
        f"training stopped ({name}) at epoch {(at - 1) // 10 + 1}, step {(at - 1) % 10 + 1}" in line
    )
    assert line.endswith(f"resume with: scratchnet train --resume {run}")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]
    assert signal.getsignal(signal.SIGINT) is before  # restored
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    code, out, err = cli("train", "--resume", run, "-q")
    assert code == 0, err
    assert (run / "model.npz").read_bytes() == reference
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint.npz",
        "config.json",
        "diagnosis.json",
        "history.csv",
        "history.json",
        "model.npz",
        "report.html",
    ]


@pytest.mark.slow  # train, kill, resume: seconds
def test_resume_says_where_it_starts(tiny_cli, kill_at, cli, tmp_path):
    kill_at(13, signal.SIGINT)
    cli("train", *ARGS, "--out", tmp_path)
    code, out, err = cli("train", "--resume", tmp_path)
    assert code == 0
    assert out.startswith(f"resuming {tmp_path} (epoch 2 of 3, step 3 of 10)\ntraining mnist")
    assert "epoch   2/3" in out and "epoch   1/3" not in out


def test_a_second_signal_stops_at_once_keeping_the_last_checkpoint(
    tiny_cli, kill_at, cli, tmp_path
):
    kill_at(15, signal.SIGINT, signal.SIGINT)
    code, out, err = cli("train", *ARGS, "--out", tmp_path)
    assert code == 130
    assert err.strip() == (
        "scratchnet: interrupted (SIGINT); the last checkpoint (after epoch 1 of 3) is kept; "
        f"resume with: scratchnet train --resume {tmp_path}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def test_a_signal_while_loading_data_stops_at_once_and_saves_nothing(
    tiny_data, monkeypatch, cli, tmp_path
):
    import scratchnet.data

    def load(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return tiny_data

    monkeypatch.setattr(scratchnet.data, "load_dataset", load)
    code, out, err = cli("train", *ARGS, "-q", "--out", tmp_path / "run")
    assert code == 143
    assert err.strip() == "scratchnet: interrupted (SIGTERM); nothing was saved"
    assert not (tmp_path / "run").exists()  # the run folder is made only once the data are in


def test_without_a_run_folder_a_signal_interrupts_and_saves_nothing(
    tiny_cli, kill_at, cli, tmp_path
):
    kill_at(5, signal.SIGTERM)
    code, out, err = cli("train", *ARGS, "-q", "-o", tmp_path / "model.npz")
    assert code == 143
    assert err.strip() == "scratchnet: interrupted (SIGTERM); nothing was saved"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # train, kill, resume: seconds
def test_checkpoint_every_is_kept_by_resume(tiny_cli, kill_at, cli, tmp_path):
    code, *_ = cli("train", *ARGS, "-q", "--checkpoint-every", "2", "--out", tmp_path)
    assert code == 0
    assert load_checkpoint(tmp_path / "checkpoint.npz").extra["checkpoint_every"] == 2


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["--resume", "RUN", "--lr", "0.1"],
            "--resume continues a run with the settings in its checkpoint; drop --learning-rate",
        ),
        (["--resume", "RUN", "--preset", "fast", "--epochs", "2"], "drop --epochs, --preset"),
        (["--resume", "RUN", "--dataset", "mnist"], "drop --dataset"),
        (["--resume", "RUN", "--threads", "1"], "drop --threads"),
        (["--threads", "0"], "argument --threads: expected a positive integer; received '0'"),
        (["--threads", "two"], "argument --threads: expected a positive integer; received 'two'"),
        (["--resume", "RUN", "--out", "RUN"], "argument --out: not allowed with argument --resume"),
        (["--checkpoint-every", "2"], "--checkpoint-every needs --out RUN_DIR"),
        (["--checkpoint-every", "0", "--out", "RUN"], "--checkpoint-every: expected a positive"),
        (["--on-nonfinite", "ignore"], "argument --on-nonfinite: invalid choice: 'ignore'"),
    ],
)
def test_bad_resume_arguments_exit_2(tiny_cli, cli, tmp_path, argv, fragment):
    argv = [str(tmp_path / "run") if a == "RUN" else a for a in argv]
    code, out, err = cli("train", *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("scratchnet train: error: ")
    assert fragment in err
    assert list(tmp_path.iterdir()) == []


def test_resume_without_a_checkpoint_exits_1(tiny_cli, cli, tmp_path):
    code, out, err = cli("train", "--resume", tmp_path / "nowhere")
    assert code == 1
    assert "checkpoint.npz: no checkpoint to resume from" in err and err.count("\n") == 1
    assert not (tmp_path / "nowhere").exists()


def test_a_new_run_will_not_overwrite_an_unfinished_one(tiny_cli, kill_at, cli, tmp_path):
    kill_at(3, signal.SIGINT)
    cli("train", *ARGS, "--out", tmp_path)
    before = (tmp_path / "checkpoint.npz").read_bytes()
    code, out, err = cli("train", *ARGS, "--out", tmp_path)
    assert code == 1
    assert "holds an unfinished run (epoch 1 of 3, step 3 of 10)" in err
    assert f"scratchnet train --resume {tmp_path}" in err
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


def test_a_run_folder_in_use_is_refused(tiny_cli, cli, tmp_path):
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, out, err = cli("train", *ARGS, "-q", "--out", tmp_path)
    finally:
        os.close(descriptor)
    assert code == 1
    assert "is in use by another scratchnet train" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # two CLI trainings in processes: seconds
@pytest.mark.parametrize("threads", ["1", "2"])
def test_threads_option_is_used_and_recorded(tiny_cli, cli, tmp_path, threads):
    from scratchnet.threads import available, cpu_count

    code, out, err = cli("train", *ARGS, "-q", "--threads", threads, "--out", tmp_path)
    assert code == 0, err
    used = min(int(threads), cpu_count())  # more than the cores are capped, with a note
    assert ("more than the" in err) == (used < int(threads))
    if available():
        unit = "thread" if used == 1 else "threads"
        assert f"s training ({used} BLAS {unit})" in out
        saved = load_checkpoint(tmp_path / "checkpoint.npz").extra
        assert saved["blas_threads"] == used and saved["adaptive_threads"] is False
