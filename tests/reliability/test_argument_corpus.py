"""Malformed, conflicting and absurd arguments, against every sub-command: each exits with the
right status (2 for arguments, 1 for a file or the machine's memory), says so in exactly one
line on stderr naming the option, prints no traceback and leaves no new file behind.

The table is the contract: a new option or command adds its rows here."""

from __future__ import annotations

import pytest

from scratchnet.cli import main

MANY_LR = "lr=" + ",".join(f"0.{i:03d}" for i in range(1, 102))  # 101 values
MANY_BATCH = "batch-size=" + ",".join(str(n) for n in range(1, 102))

# (argv, exit status, a fragment of the one line). "MISSING" is a path that does not exist,
# "MODEL" an existing file, "IMAGE" another, "DIR" an existing empty folder.
CASES = [
    # the tool itself
    ([], 2, "required: COMMAND"),
    (["bogus"], 2, "invalid choice: 'bogus'"),
    (["--bogus"], 2, "required: COMMAND"),
    (["--bogus", "train"], 2, "unrecognized arguments: --bogus"),
    # train: hidden layers
    (["train", "--hidden", "8x0"], 2, "hidden sizes must be positive"),
    (["train", "--hidden", "100x-1"], 2, "hidden sizes must be positive"),
    (["train", "--hidden", "0"], 2, "hidden sizes must be positive"),
    (["train", "--hidden", ""], 2, "--hidden: expected comma-separated positive integers"),
    (["train", "--hidden", "8,,8"], 2, "--hidden: expected comma-separated positive integers"),
    (["train", "--hidden", "8x"], 2, "--hidden: expected comma-separated positive integers"),
    (["train", "--hidden", "1000000000000"], 2, "at most 100_000 units"),
    (["train", "--hidden", "10x5000"], 2, "at most 1000 hidden layers"),
    (["train", "--hidden", "600x600,10x600"], 2, "at most 1000 hidden layers"),
    (["train", "--hidden", "100000x50"], 1, "needs"),  # within the bounds, not the memory
    # train: counts, rates and bounds
    (["train", "--threads", "99999999999999999999"], 2, "--threads: expected at most 1_024"),
    (["train", "--threads", "0"], 2, "--threads: expected a positive integer"),
    (["train", "--threads", "-3"], 2, "--threads: expected a positive integer"),
    (["train", "--epochs", "10000000"], 2, "--epochs: expected at most 1_000_000"),
    (["train", "--epochs", "1e3"], 2, "--epochs: expected a positive integer"),
    (["train", "--batch-size", "0"], 2, "--batch-size: expected a positive integer"),
    (["train", "--batch-size", "10000000000"], 2, "--batch-size: expected at most"),
    (["train", "--validation-size", "-1"], 2, "--validation-size: expected an integer >= 0"),
    (["train", "--seed", "-1"], 2, "--seed: expected an integer >= 0"),
    (["train", "--seed", "1" + "0" * 30], 2, "--seed: expected at most"),
    (["train", "--lr", "inf"], 2, "--lr/--learning-rate: expected a positive number"),
    (["train", "--lr", "0"], 2, "--lr/--learning-rate: expected a positive number"),
    (["train", "--dropout", "1"], 2, "--dropout: expected a number in [0, 1)"),
    (["train", "--momentum", "nan"], 2, "--momentum: expected a number in [0, 1)"),
    (["train", "--early-stopping", "-2"], 2, "--early-stopping: expected an integer >= 0"),
    (["train", "--checkpoint-every", "0"], 2, "--checkpoint-every: expected a positive"),
    # train: outputs and inputs
    (["train", "--out", ""], 2, "--out: expected a path for --out; received an empty string"),
    (["train", "-o", ""], 2, "--output: expected a path"),
    (["train", "--resume", ""], 2, "--resume: expected a path"),
    (["train", "--data-dir", "MISSING"], 2, "--data-dir: MISSING does not exist"),
    (["train", "--data-dir", ""], 2, "--data-dir: expected a folder"),
    (["train", "--out", "a", "-o", "b.npz"], 2, "not allowed with argument"),
    # train: combinations
    (["train", "--early-stopping", "3", "--validation-size", "0"], 2, "--validation-size is 0"),
    (["train", "--preset", "fast", "--early-stopping", "2", "--validation-size", "0"], 2, "is 0"),
    (["train", "--checkpoint-every", "2"], 2, "--checkpoint-every needs --out"),
    (["train", "--validation-size", "60000"], 2, "leaves nothing to train on"),
    (["diagnose", "--validation-size", "70000"], 2, "leaves nothing to train on"),
    (["sweep", "--grid", "lr=0.1", "--validation-size", "60000"], 2, "leaves nothing"),
    (["train", "--resume", "DIR", "--epochs", "3"], 2, "drop --epochs"),
    (["train", "--resume", "DIR", "--threads", "1"], 2, "drop --threads"),
    (["train", "--preset", "fastest"], 2, "invalid choice: 'fastest'"),
    # evaluate
    (["evaluate"], 2, "required: model"),
    (["evaluate", "MODEL", "--data-dir", "MISSING"], 2, "--data-dir: MISSING does not exist"),
    (["evaluate", "MODEL", "--dataset", "cifar"], 2, "invalid choice: 'cifar'"),
    # predict
    (["predict", "MODEL"], 2, "required: IMAGE"),
    (["predict", "MODEL", "IMAGE", "--top", "0"], 2, "--top: expected a positive integer"),
    (["predict", "MODEL", "IMAGE", "--invert", "maybe"], 2, "invalid choice: 'maybe'"),
    # notebook
    (["notebook", "--ablation", "--only", "b"], 2, "--ablation runs its own variants"),
    (["notebook", "--list", "--ablation"], 2, "drop --ablation"),
    (["notebook", "--only", "z"], 2, "--only: expected one letter from a to h"),
    (["notebook", "--only", ","], 2, "--only: expected one letter from a to h"),
    (["notebook", "--out", ""], 2, "--out: expected a path"),
    (["notebook", "--seed", "-3"], 2, "--seed: expected an integer >= 0"),
    (["notebook", "--data-dir", "MISSING"], 2, "--data-dir: MISSING does not exist"),
    # diagnose
    (["diagnose", "--model", "MODEL", "--notebook", "h"], 2, "not allowed with argument"),
    (["diagnose", "--model", "MODEL", "--hidden", "8"], 2, "saved model; drop --hidden"),
    (["diagnose", "--model", "MODEL", "--preset", "fast"], 2, "drop --preset"),
    (["diagnose", "--notebook", "h", "--lr", "0.1"], 2, "drop --learning-rate"),
    (["diagnose", "--notebook", "h", "--dataset", "fashion-mnist"], 2, "drop --dataset"),
    (["diagnose", "--notebook", "q"], 2, "--notebook: expected one letter from a to h"),
    (["diagnose", "--hidden", "8x0"], 2, "hidden sizes must be positive"),
    (["diagnose", "--validation-size", "0"], 2, "--validation-size is 0"),
    (["diagnose", "--hidden", "100000x50"], 1, "needs"),
    (["diagnose", "--early-stopping", "2", "--validation-size", "0"], 2, "--validation-size"),
    # lr-find
    (["lr-find", "--start", "1", "--stop", "0.1"], 2, "--start must be below --stop"),
    (["lr-find", "--steps", "0"], 2, "expected a positive integer"),
    (["lr-find", "--plot", "curve.txt"], 2, "name it *.png"),
    # sweep
    (["sweep"], 2, "one of the arguments --grid --random is required"),
    (["sweep", "--grid", "lr=0.1", "--repeats", "100000000"], 2, "--repeats: expected at most"),
    (["sweep", "--random", "100000000", "lr=loguniform:1e-4:1e-1"], 2, "at most 10_000"),
    (["sweep", "--grid", MANY_LR, MANY_BATCH], 2, "10_201 trials"),
    (
        ["sweep", "--grid", "seed=" + ",".join(map(str, range(11))), "--repeats", "1000"],
        2,
        "11_000",
    ),
    (["sweep", "--grid", "bogus=1"], 2, "cannot sweep 'bogus'"),
    (["sweep", "--grid", "hidden=8|100000x50"], 1, "training 784-100000-"),
    (["sweep", "--grid", "lr=0.1", "lr=0.2"], 2, "lr is given twice"),
    (["sweep", "--grid", "hidden=8x0"], 2, "hidden sizes must be positive"),
    (["sweep", "--grid", "lr"], 2, "expected NAME=VALUES"),
    (["sweep", "--random", "x", "lr=uniform:0:1"], 2, "the number of settings first"),
    (["sweep", "--executor", "dask", "--grid", "lr=0.1"], 2, "needs --scheduler"),
    (["sweep", "--scheduler", "tcp://h:1", "--grid", "lr=0.1"], 2, "--scheduler is for"),
    (["sweep", "--grid", "lr=0.1", "--workers", "99999"], 2, "--workers: expected at most"),
    (["sweep", "--grid", "lr=0.1", "--out", ""], 2, "--out: expected a path"),
    (["sweep", "--grid", "lr=0.1", "--search-seed", "-1"], 2, "--search-seed: expected"),
    (["sweep", "--grid", "lr=0.1", "--early-stopping", "2", "--validation-size", "0"], 2, "--"),
    # serve
    (["serve", "--port", "99999"], 2, "argument --port"),
    (["serve", "--port", "http"], 2, "argument --port"),
    (["serve", "--bogus"], 2, "unrecognized arguments: --bogus"),
    # report
    (["report"], 2, "required: DIR"),
    (["report", "MISSING"], 1, "MISSING: no such folder"),
    (["report", "DIR", "--data-dir", "MISSING"], 2, "--data-dir: MISSING does not exist"),
    (["report", "DIR"], 1, "neither a run folder"),
    # serve (nothing here starts a server)
    (["serve", "--port", "70000"], 2, "--port: expected a port number 0-65535"),
    (["serve", "--port", "http"], 2, "--port: expected a port number"),
    (["serve", "MISSING"], 1, "MISSING: no such file or folder to serve"),
    (["serve", "MODEL"], 1, "MODEL: not a model file (.npz) nor a folder"),
    (["serve", "DIR", "--data-dir", "MISSING"], 2, "--data-dir: MISSING does not exist"),
]


def _ids(case) -> str:
    argv, status, _ = case
    text = " ".join(word if len(word) < 24 else word[:20] + "..." for word in argv)
    return f"{text or '(none)'} -> {status}"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A working folder holding MODEL, IMAGE and an empty DIR; runs start in it."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "MODEL").write_bytes(b"not really a model")
    (work / "IMAGE").write_bytes(b"not really an image")
    (work / "DIR").mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    return work


def _tree(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("argv, status, fragment", CASES, ids=[_ids(c) for c in CASES])
def test_a_bad_argument_is_one_line_and_leaves_nothing(workspace, capsys, argv, status, fragment):
    before = _tree(workspace.parent)
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == status, err
    assert len(lines) == 1, err
    assert "Traceback" not in err + out and "internal error" not in err
    assert lines[0].startswith("scratchnet"), lines[0]
    assert fragment in lines[0], lines[0]
    if status == 2:
        assert "--help" in lines[0]  # where to look
    assert _tree(workspace.parent) == before, "a failed command left files behind"


def test_every_sub_command_has_rows_in_the_table():
    from scratchnet.cli.app import COMMANDS

    covered = {argv[0] for argv, _, _ in CASES if argv and argv[0] in COMMANDS}
    assert covered == set(COMMANDS), f"add rows for: {sorted(set(COMMANDS) - covered)}"


REAL_PROCESS_ROWS = [
    (["train", "--hidden", "8x0"], 2),
    (["train", "--early-stopping", "3", "--validation-size", "0"], 2),
    (["notebook", "--ablation", "--only", "b"], 2),
    (["train", "--hidden", "100000x50"], 1),
]


@pytest.mark.parametrize("argv, status", REAL_PROCESS_ROWS)
def test_the_same_through_a_real_process(workspace, argv, status):
    """python -m scratchnet: the same status and one line, from the console's entry point."""
    import subprocess
    import sys

    before = _tree(workspace.parent)
    done = subprocess.run(
        [sys.executable, "-m", "scratchnet", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == status, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert _tree(workspace.parent) == before
