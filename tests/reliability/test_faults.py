"""Fault injection: a writer killed outright (SIGKILL) mid-write, and a disk that fills up
mid-write. Whatever happens, the file on disk is the previous complete version (or absent),
never a part; the only trace a SIGKILL can leave is a hidden `.NAME.XXXXXXXX.part`, which no
loader reads and the next checkpoint write (or remove_stale_parts) deletes.

Downloads cut halfway, stalled servers, wrong checksums and HTML pages are tested in
tests/data/test_download.py; truncated and corrupted IDX/gzip/npz files in tests/data/test_idx.py
and tests/data/test_sources.py; damaged model files in tests/nn/test_model_io.py (see
docs/reliability.md).
"""

from __future__ import annotations

import errno
import gzip
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scratchnet.fileio as fileio
from scratchnet.data import read_idx, write_idx
from scratchnet.data.download import download
from scratchnet.errors import DownloadError
from scratchnet.fileio import remove_stale_parts
from scratchnet.nn import SoftmaxCrossEntropy, load_model, mlp, save_model
from scratchnet.optim import SGD
from scratchnet.train import History, TrainingState, load_checkpoint, save_checkpoint

PART = re.compile(r"\.(model|checkpoint)\.npz\.[0-9a-f]{8}\.part")

WRITER = """
import sys
from pathlib import Path
from scratchnet.nn import SoftmaxCrossEntropy, mlp, save_model
from scratchnet.optim import SGD
from scratchnet.train import History, TrainingState, save_checkpoint

folder = Path(sys.argv[1])
models = [mlp(784, [256], 10, seed=seed) for seed in (1, 2)]
states = [TrainingState(m, SoftmaxCrossEntropy(), SGD(0.1), 1, 1, History()) for m in models]
turn = 0
while True:
    save_model(models[turn % 2], folder / "model.npz")
    save_checkpoint(folder / "checkpoint.npz", states[turn % 2], at_epoch_end=True)
    if turn == 1:
        print("ready", flush=True)
    turn += 1
"""


def _weights(model) -> list[bytes]:
    return [p.tobytes() for _, _, p, _ in model.parameters()]


def _state(model) -> TrainingState:
    return TrainingState(model, SoftmaxCrossEntropy(), SGD(0.1), 1, 1, History())


@pytest.mark.slow  # a process killed mid-write: seconds
def test_sigkill_while_writing_leaves_the_previous_complete_file(tmp_path):
    versions = [_weights(mlp(784, [256], 10, seed=seed)) for seed in (1, 2)]
    stale_seen = 0
    for kill in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout.readline() == "ready\n"
            time.sleep(random.uniform(0.0, 0.3))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            process.stdout.close()
        assert process.returncode == -signal.SIGKILL
        # Both files are whole: one of the two versions, loadable.
        assert _weights(load_model(tmp_path / "model.npz")) in versions, kill
        saved = load_checkpoint(tmp_path / "checkpoint.npz")
        weights = [saved.arrays[f"model.layers.0.{n}"].tobytes() for n in ("weight", "bias")]
        assert weights in [v[:2] for v in versions], kill
        names = [p.name for p in tmp_path.iterdir()]
        stale = [name for name in names if PART.fullmatch(name)]
        assert sorted(set(names) - set(stale)) == ["checkpoint.npz", "model.npz"]
        stale_seen += len(stale)
    # The next checkpoint write clears its own leftovers; remove_stale_parts clears the rest.
    save_checkpoint(
        tmp_path / "checkpoint.npz", _state(mlp(784, [4], 10, seed=0)), at_epoch_end=True
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".checkpoint.npz.")]
    remove_stale_parts(tmp_path / "model.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "model.npz"]
    print(f"{stale_seen} stale .part file(s) left by 4 kills, all cleaned")


class _FullDisk:
    """A file whose writes fail with ENOSPC once `budget` bytes have gone through."""

    def __init__(self, handle, budget: int) -> None:
        self._handle, self._budget = handle, budget

    def write(self, data):
        size = len(data)
        if size > self._budget:
            self._handle.write(data[: self._budget])  # a partial write, then the error
            self._budget = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget -= size
        return self._handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._handle.__exit__(*exc_info)

    def __getattr__(self, name):
        return getattr(self._handle, name)


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write fails with 'No space left on device' after `budget` bytes."""
    settings = {"budget": 1000}

    def opener(path, mode, **kwargs):
        return _FullDisk(open(path, mode, **kwargs), settings["budget"])

    monkeypatch.setattr(fileio, "open", opener, raising=False)
    return settings


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("budget", [0, 100, 5000])
def test_a_full_disk_leaves_no_model_file_and_keeps_the_old_one(tmp_path, full_disk, budget):
    full_disk["budget"] = 10**9
    old = save_model(mlp(784, [16], 10, seed=1), tmp_path / "model.npz").read_bytes()
    full_disk["budget"] = budget
    with pytest.raises(OSError, match="No space left on device"):
        save_model(mlp(784, [16], 10, seed=2), tmp_path / "model.npz")
    assert _only(tmp_path) == ["model.npz"]
    assert (tmp_path / "model.npz").read_bytes() == old
    with pytest.raises(OSError, match="No space left on device"):
        save_model(mlp(784, [16], 10, seed=2), tmp_path / "new.npz")
    assert _only(tmp_path) == ["model.npz"]


def test_a_full_disk_leaves_no_checkpoint_history_or_idx_file(tmp_path, full_disk):
    with pytest.raises(OSError, match="No space left on device"):
        save_checkpoint(
            tmp_path / "checkpoint.npz", _state(mlp(784, [16], 10, seed=0)), at_epoch_end=True
        )
    history = History()
    for epoch in range(1, 200):
        history.append({"epoch": epoch, "loss": 1.0 / epoch})
    with pytest.raises(OSError, match="No space left on device"):
        history.save_csv(tmp_path / "history.csv")
    with pytest.raises(OSError, match="No space left on device"):
        history.save_json(tmp_path / "history.json")
    with pytest.raises(OSError, match="No space left on device"):
        noise = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)
        write_idx(tmp_path / "images.gz", noise)  # random: gzip cannot shrink it below budget
    assert _only(tmp_path) == []


def test_a_full_disk_during_a_download_leaves_the_cache_clean(tmp_path, full_disk):
    noise = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    content = b"\x00\x00\x08\x01\x00\x00\x13\x88" + noise
    source = tmp_path / "source.gz"
    source.write_bytes(gzip.compress(content))
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="No space left on device"):
        download(source.as_uri(), cache / "f.gz", sha256="0" * 64, progress=False)
    assert not cache.exists() or _only(cache) == []


@pytest.mark.slow  # a CLI process on a full disk: seconds
def test_a_full_disk_stops_the_cli_with_one_line_and_keeps_the_previous_run(
    tiny_cli, cli, tmp_path, full_disk
):
    args = ("train", "--hidden", "8", "--epochs", "2", "--batch-size", "64")
    args += ("--validation-size", "100", "-q", "--out", tmp_path)
    full_disk["budget"] = 10**9
    assert cli(*args)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    full_disk["budget"] = 2000
    code, out, err = cli(*args[:-2], "--seed", "1", "--out", tmp_path)
    assert code == 1
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_loaders_ignore_stale_parts(tmp_path):
    model = mlp(784, [4], 10, seed=0)
    save_model(model, tmp_path / "model.npz")
    (tmp_path / ".model.npz.12345678.part").write_bytes(b"PK\x03\x04 half")
    assert _weights(load_model(tmp_path / "model.npz")) == _weights(model)
    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "x.idx", data)
    (tmp_path / ".x.idx.abcdef01.part").write_bytes(b"\x00\x00")
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), data)
