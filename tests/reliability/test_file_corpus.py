"""A corpus of malformed files and unwritable outputs, run against every subcommand through
main([...]): each exits non-zero with exactly one stderr line naming the problem, no
traceback, no hang (a deadline guards the named pipes) and no new, changed or removed file.

Forged values come from real files: a checkpoint written by a real (tiny) run and a model
written by save_model, edited entry by entry. The output cases run with no data set at all,
so the message they expect also proves that outputs are checked before data are looked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from scratchnet.nn import mlp, save_model

TRAIN = ("train", "--hidden", "8", "--epochs", "1", "--validation-size", "100", "-q")
SWEEP = ("sweep", "--grid", "lr=0.1,0.01", "--epochs", "1", "--validation-size", "100", "-q")
FIFO = hasattr(os, "mkfifo")


# -- making the files -----------------------------------------------------------------------
def _npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def _npy_member(header: bytes, body: bytes = b"") -> bytes:
    """A .npy member whose header dict is `header`, as written (even if it does not parse)."""
    padded = header + b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + body


def _zip_with(path: Path, arrays: dict[str, np.ndarray], raw: dict[str, bytes]) -> Path:
    """An .npz holding `arrays` as NumPy writes them plus `raw` members as given."""
    _npz(path, arrays)
    with zipfile.ZipFile(path, "a") as archive:
        for name, data in raw.items():
            archive.writestr(f"{name}.npy", data)
    return path


UNPARSABLE = b"{'descr': '<f4', 'fortran_order': False, 'shape': ((( }"
HUGE = b"{'descr': '|u1', 'fortran_order': False, 'shape': (100000000000, 28, 28), }"


@pytest.fixture(scope="module")
def checkpoint_arrays(tmp_path_factory, tiny_data) -> dict[str, np.ndarray]:
    """The arrays of a real checkpoint, saved mid-run (so it holds an example order)."""
    from scratchnet.runs import TrainConfig, train_classifier
    from scratchnet.train.callbacks import Callback
    from scratchnet.train.checkpoint import StopRequest, TrainingInterrupted

    class StopAtStep(Callback):
        def __init__(self, stop):
            self.stop = stop

        def on_batch_end(self, state):
            if state.epoch == 2 and state.step == 3:
                self.stop.request("test")

    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.npz"
    config = TrainConfig(hidden=(8,), epochs=2, validation_size=100, batch_size=64)
    stop = StopRequest()
    with pytest.raises(TrainingInterrupted):
        train_classifier(
            config, data=tiny_data, checkpoint=path, stop=stop, callbacks=[StopAtStep(stop)]
        )
    return _arrays(path)


@pytest.fixture(scope="module")
def model_arrays(tmp_path_factory) -> dict[str, np.ndarray]:
    path = tmp_path_factory.mktemp("model") / "model.npz"
    model = mlp(784, [8], 10, seed=0)
    model.metadata = {"dataset": "mnist", "test_accuracy": 0.5}
    save_model(model, path)
    return _arrays(path)


def _header(arrays, key):
    return json.loads(str(arrays[key]))


def _forged_checkpoint(base, work: Path, edit=None, arrays_edit=None) -> Path:
    arrays = {key: value.copy() for key, value in base.items()}
    header = _header(arrays, "__checkpoint__")
    if edit is not None:
        edit(header)
    arrays["__checkpoint__"] = np.array(json.dumps(header))
    if arrays_edit is not None:
        arrays_edit(arrays)
    _npz(work / "run" / "checkpoint.npz", arrays)
    return work / "run"


def _forged_model(base, path: Path, edit=None, arrays_edit=None, raw=None) -> Path:
    arrays = {key: value.copy() for key, value in base.items()}
    header = _header(arrays, "__scratchnet__")
    if edit is not None:
        edit(header)
    arrays["__scratchnet__"] = np.array(json.dumps(header))
    if arrays_edit is not None:
        arrays_edit(arrays)
    return _zip_with(path, arrays, raw or {})


def _run_folder(base, work: Path, files: dict[str, str]) -> Path:
    """A run folder with a good model.npz and the given side files (text)."""
    run = work / "run"
    _forged_model(base, run / "model.npz")
    for name, text in files.items():
        (run / name).write_text(text)
    return run


def _sweep_folder(work: Path, lines: list[str], summary=None) -> Path:
    sweep = work / "sweep"
    sweep.mkdir()
    (sweep / "sweep.jsonl").write_text("".join(line + "\n" for line in lines))
    if summary is not None:
        (sweep / "summary.json").write_text(json.dumps(summary))
    return sweep


GOOD_TRIAL = {"trial": "t1", "setting": "s1", "params": {"learning_rate": 0.1}, "status": "ok"}


def _set(path: str, value):
    """An edit that sets header[a][b]... = value (path 'a.b')."""

    def edit(header):
        *parents, last = path.split(".")
        target = header
        for key in parents:
            target = target[key]
        target[last] = value

    return edit


def _shuffle_state(value):
    def edit(header):
        header["generators"]["shuffle"]["state"]["state"] = value

    return edit


def _mkfifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- the corpus -----------------------------------------------------------------------------
# name -> (make(work, checkpoint_arrays, model_arrays) -> argv, fragment of the one line)
Case = tuple[Callable[..., list], str]

CHECKPOINTS: dict[str, Case] = {
    "checkpoint: an epoch past the run": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("position.epoch", 99))],
        "position 'epoch' must be at most epochs + 1 (3)",
    ),
    "checkpoint: iterations Infinity": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("optimizer.iterations", float("inf"))),
        ],
        "optimizer 'iterations' must be an integer >= 0",
    ),
    "checkpoint: iterations 2.5": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("optimizer.iterations", 2.5)),
        ],
        "optimizer 'iterations'",
    ),
    "checkpoint: learning rate -1": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("optimizer.learning_rate", -1.0)),
        ],
        "learning_rate' must be a finite number > 0",
    ),
    "checkpoint: unknown optimiser entry": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("optimizer.velocity", 3)),
        ],
        "optimizer entry 'velocity'",
    ),
    "checkpoint: negative generator state": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _shuffle_state(-5))],
        "random generator 'shuffle' 'state'",
    ),
    "checkpoint: generator state 2**200": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _shuffle_state(2**200))],
        "random generator 'shuffle' 'state'",
    ),
    "checkpoint: generator state a string": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _shuffle_state("x"))],
        "random generator 'shuffle' 'state'",
    ),
    "checkpoint: unknown bit generator": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("generators.shuffle.bit_generator", "Evil")),
        ],
        "a NumPy bit generator's name",
    ),
    "checkpoint: generator not an object": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("generators.shuffle", 7)),
        ],
        "a NumPy bit generator state",
    ),
    "checkpoint: huge thread count": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("extra.blas_threads", 10**20)),
        ],
        "'blas_threads' must be an integer 1..4096",
    ),
    "checkpoint: zero thread count": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("extra.blas_threads", 0)),
        ],
        "'blas_threads'",
    ),
    "checkpoint: checkpoint_every 0": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("extra.checkpoint_every", 0)),
        ],
        "'checkpoint_every' must be an integer >= 1",
    ),
    "checkpoint: negative lr scale": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("position.lr_scale", -0.5)),
        ],
        "position 'lr_scale' must be a finite number > 0",
    ),
    "checkpoint: lr scale Infinity": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("position.lr_scale", float("inf"))),
        ],
        "position 'lr_scale'",
    ),
    "checkpoint: epoch 0": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("position.epoch", 0))],
        "position 'epoch' must be an integer >= 1",
    ),
    "checkpoint: step 1.5": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("position.step", 1.5))],
        "position 'step'",
    ),
    "checkpoint: correct above seen": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("position.correct", 10**9)),
        ],
        "at most 'seen'",
    ),
    "checkpoint: finished 'no'": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("position.finished", "no")),
        ],
        "position 'finished' must be true or false",
    ),
    "checkpoint: history rows not objects": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("history", [1]))],
        "history row 1",
    ),
    "checkpoint: history of the wrong length": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("history", [{"epoch": 1}, {"epoch": 2}])),
        ],
        "history must be at most 1 rows",
    ),
    "checkpoint: history value a string": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("history", [{"epoch": 1, "loss": "low"}])),
        ],
        "history row 1 'loss' must be a number",
    ),
    "checkpoint: callback state not an object": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("callbacks", {"early": 3})),
        ],
        "callback 'early' state",
    ),
    "checkpoint: order not a permutation": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(
                c, w, arrays_edit=lambda a: a.__setitem__("position.order", np.zeros(600, np.int64))
            ),
        ],
        "not a permutation",
    ),
    "checkpoint: an unknown array": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, arrays_edit=lambda a: a.__setitem__("evil", np.ones(3))),
        ],
        "an array nothing reads ('evil')",
    ),
    "checkpoint: settings invalid": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("config.hidden", "x"))],
        "the checkpoint's settings are invalid",
    ),
    "checkpoint: header not JSON": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(
                c, w, arrays_edit=lambda a: a.__setitem__("__checkpoint__", np.array("{oops"))
            ),
        ],
        "the checkpoint's header is corrupt",
    ),
    "checkpoint: unparsable .npy header": (
        lambda w, c, m: [
            "train",
            "--resume",
            _zip_with(
                w / "run" / "checkpoint.npz", c, {"model.layers.0.bias2": _npy_member(UNPARSABLE)}
            ).parent,
        ],
        "corrupt or truncated checkpoint (TokenError",
    ),
    "checkpoint: a folder": (
        lambda w, c, m: ["train", "--resume", _dir(w / "run" / "checkpoint.npz").parent],
        "not a regular file",
    ),
}

MODELS: dict[str, Case] = {
    "model: unparsable .npy header": (
        lambda w, c, m: [
            "evaluate",
            _forged_model(m, w / "m.npz", raw={"layers.9.x": _npy_member(UNPARSABLE)}),
        ],
        "corrupt or truncated model file (TokenError",
    ),
    "model: huge claimed shape": (
        lambda w, c, m: [
            "evaluate",
            _forged_model(m, w / "m.npz", raw={"layers.9.x": _npy_member(HUGE, b"\0" * 64)}),
        ],
        "claims shape (100000000000, 28, 28)",
    ),
    "model: an unknown array": (
        lambda w, c, m: [
            "evaluate",
            _forged_model(m, w / "m.npz", arrays_edit=lambda a: a.__setitem__("extra", np.ones(2))),
        ],
        "arrays its architecture does not use ('extra')",
    ),
    "model: metadata a number": (
        lambda w, c, m: ["evaluate", _forged_model(m, w / "m.npz", _set("metadata", 5))],
        "metadata is not a JSON object",
    ),
    "model: class names a number": (
        lambda w, c, m: [
            "evaluate",
            _forged_model(m, w / "m.npz", _set("metadata.class_names", 5)),
        ],
        "'class_names' must be a list of names",
    ),
    "model: test accuracy 7": (
        lambda w, c, m: [
            "predict",
            _forged_model(m, w / "m.npz", _set("metadata.test_accuracy", 7)),
            "x.png",
        ],
        "'test_accuracy' must be from 0 to 1",
    ),
    "model: dtype object": (
        lambda w, c, m: ["evaluate", _forged_model(m, w / "m.npz", _set("dtype", "object"))],
        "dtype 'object' is not one of float32, float64",
    ),
    "model: negative width": (
        lambda w, c, m: [
            "evaluate",
            _forged_model(m, w / "m.npz", lambda h: h["layers"][0]["config"].update(n_in=-784)),
        ],
        "invalid architecture",
    ),
    "model: a folder": (lambda w, c, m: ["evaluate", _dir(w / "m.npz")], "is a folder"),
    "model: a device": (lambda w, c, m: ["evaluate", "/dev/null"], "not a regular file"),
    "diagnose: model a folder": (
        lambda w, c, m: ["diagnose", "--model", _dir(w / "m.npz")],
        "is a folder",
    ),
}

KERAS: dict[str, Case] = {
    "keras: unparsable .npy header": (
        lambda w, c, m: [
            *TRAIN,
            "--data-dir",
            _zip_with(_dir(w / "d") / "mnist.npz", {}, {"x_train": _npy_member(UNPARSABLE)}).parent,
        ],
        "corrupt or truncated NumPy .npz archive (TokenError",
    ),
    "keras: huge claimed shape": (
        lambda w, c, m: [
            *TRAIN,
            "--data-dir",
            _zip_with(
                _dir(w / "d") / "mnist.npz", {}, {"x_train": _npy_member(HUGE, b"\0" * 784)}
            ).parent,
        ],
        "claims shape (100000000000, 28, 28)",
    ),
    "keras: an unknown array": (
        lambda w, c, m: [
            *TRAIN,
            "--data-dir",
            _npz(
                _dir(w / "d") / "mnist.npz",
                {
                    "x_train": np.zeros((2, 28, 28), np.uint8),
                    "y_train": np.zeros(2, np.uint8),
                    "x_test": np.zeros((2, 28, 28), np.uint8),
                    "y_test": np.zeros(2, np.uint8),
                    "notes": np.zeros(1),
                },
            ).parent,
        ],
        "holds arrays other than x_train",
    ),
}

RUN_FILES: dict[str, Case] = {
    "history.json: a list of numbers": (
        lambda w, c, m: ["report", _run_folder(m, w, {"history.json": "[1, 2]"})],
        "history.json: epochs[0]: expected an object",
    ),
    "history.json: epochs a string": (
        lambda w, c, m: ["report", _run_folder(m, w, {"history.json": '{"epochs": "x"}'})],
        "expected a list",
    ),
    "history.json: a string loss": (
        lambda w, c, m: [
            "report",
            _run_folder(m, w, {"history.json": '{"epochs": [{"epoch": 1, "loss": "x"}]}'}),
        ],
        "loss: expected a number",
    ),
    "history.json: not JSON": (
        lambda w, c, m: ["report", _run_folder(m, w, {"history.json": "{"})],
        "history.json: not valid JSON",
    ),
    "history.csv: a word for a number": (
        lambda w, c, m: ["report", _run_folder(m, w, {"history.csv": "epoch,loss\n1,low\n"})],
        "history.csv: line 2, column 'loss': expected a number",
    ),
    "config.json: a list": (
        lambda w, c, m: ["report", _run_folder(m, w, {"config.json": "[1]"})],
        "config.json: expected an object",
    ),
    "config.json: bad settings": (
        lambda w, c, m: ["report", _run_folder(m, w, {"config.json": '{"hidden": -3}'})],
        "config.json: not a valid run configuration",
    ),
    "config.json: unknown setting": (
        lambda w, c, m: ["report", _run_folder(m, w, {"config.json": '{"colour": "red"}'})],
        "not a valid run configuration",
    ),
    "diagnosis.json: findings a number": (
        lambda w, c, m: ["report", _run_folder(m, w, {"diagnosis.json": '{"findings": 3}'})],
        "diagnosis.json: findings: expected a list",
    ),
    "diagnosis.json: a finding without a fix": (
        lambda w, c, m: [
            "report",
            _run_folder(
                m, w, {"diagnosis.json": '{"findings": [{"title": "t", "evidence": "e"}]}'}
            ),
        ],
        "missing 'fix'",
    ),
    "config.json: a folder": (
        lambda w, c, m: ["report", _dir(_run_folder(m, w, {}) / "config.json").parent],
        "config.json: is a folder",
    ),
    "sweep.jsonl: a list per line": (
        lambda w, c, m: ["report", _sweep_folder(w, ["[1]", "[2]"])],
        "sweep.jsonl: line 1: expected an object",
    ),
    "sweep.jsonl: params a number": (
        lambda w, c, m: ["report", _sweep_folder(w, [json.dumps({**GOOD_TRIAL, "params": 3})] * 2)],
        "line 1: params: expected an object",
    ),
    "sweep.jsonl: bad JSON mid-file": (
        lambda w, c, m: ["report", _sweep_folder(w, ["{oops", json.dumps(GOOD_TRIAL)])],
        "line 1 is not valid JSON",
    ),
    "summary.json: a winner without a score": (
        lambda w, c, m: [
            "report",
            _sweep_folder(w, [json.dumps(GOOD_TRIAL)], {"winner": {"trial": "t1", "params": {}}}),
        ],
        "summary.json: winner: missing",
    ),
    "summary.json: a list": (
        lambda w, c, m: ["report", _sweep_folder(w, [json.dumps(GOOD_TRIAL)], [1, 2])],
        "summary.json: expected an object",
    ),
}

OUTPUTS: dict[str, Case] = {
    "train --out: a file": (
        lambda w, c, m: [*TRAIN, "--out", _file(w / "run")],
        "is a file, not a folder",
    ),
    "train --out: under a file": (
        lambda w, c, m: [*TRAIN, "--out", _file(w / "blocker") / "run"],
        "blocker is a file, not a folder",
    ),
    "train --out: model.npz a folder": (
        lambda w, c, m: [*TRAIN, "--out", _dir(w / "run" / "model.npz").parent],
        "model.npz: is a folder",
    ),
    "train --out: history.csv a folder": (
        lambda w, c, m: [*TRAIN, "--out", _dir(w / "run" / "history.csv").parent],
        "history.csv: is a folder",
    ),
    "train --out: checkpoint.npz a folder": (
        lambda w, c, m: [*TRAIN, "--out", _dir(w / "run" / "checkpoint.npz").parent],
        "checkpoint.npz",
    ),
    "train --out: report.html a folder": (
        lambda w, c, m: [*TRAIN, "--out", _dir(w / "run" / "report.html").parent],
        "report.html: is a folder",
    ),
    "train -o: under a file": (
        lambda w, c, m: [*TRAIN, "-o", _file(w / "blocker") / "m.npz"],
        "blocker is a file, not a folder",
    ),
    "train -o: its history a folder": (
        lambda w, c, m: [*TRAIN, "-o", _dir(w / "m.history.json").parent / "m.npz"],
        "m.history.json: is a folder",
    ),
    "sweep --out: a file": (
        lambda w, c, m: [*SWEEP, "--out", _file(w / "sweep")],
        "is a file, not a folder",
    ),
    "sweep --out: trials a file": (
        lambda w, c, m: [*SWEEP, "--out", _file(w / "s" / "trials").parent],
        "trials: is a file, not a folder",
    ),
    "sweep --out: best/model.npz a folder": (
        lambda w, c, m: [*SWEEP, "--out", _dir(w / "s" / "best" / "model.npz").parent.parent],
        "model.npz: is a folder",
    ),
    "notebook --out: a file": (
        lambda w, c, m: ["notebook", "--only", "a", "--quick", "--out", _file(w / "nb")],
        "is a file, not a folder",
    ),
    "notebook --out: notebook.md a folder": (
        lambda w, c, m: ["notebook", "--only", "a", "--out", _dir(w / "nb" / "notebook.md").parent],
        "notebook.md: is a folder",
    ),
    "report: report.html a folder": (
        lambda w, c, m: ["report", _dir(_run_folder(m, w, {}) / "report.html").parent],
        "report.html: is a folder",
    ),
    "lr-find --plot: under a file": (
        lambda w, c, m: ["lr-find", "--hidden", "8", "--plot", _file(w / "blocker") / "p.png"],
        "--plot",
    ),
    "train --out NEW without data": (lambda w, c, m: [*TRAIN, "--out", w / "new"], "mnist"),
    "sweep --out NEW without data": (lambda w, c, m: [*SWEEP, "--out", w / "new"], "mnist"),
}
if os.path.isdir("/proc/self"):
    # Folders that refuse new files whatever the permissions say (root passes every access
    # check): the outputs are tried before any work starts.
    OUTPUTS.update(
        {
            "train --out: under /proc": (
                lambda w, c, m: [*TRAIN, "--out", "/proc/scratchnet-run"],
                "cannot create it in /proc",
            ),
            "train --out: /proc itself": (
                lambda w, c, m: [*TRAIN, "--out", "/proc"],
                "--out /proc: cannot write in this folder",
            ),
            "train --output: under /proc": (
                lambda w, c, m: [*TRAIN, "--output", "/proc/m.npz"],
                "--output /proc/m.npz: cannot create it in /proc",
            ),
            "lr-find --plot: under /proc": (
                lambda w, c, m: ["lr-find", "--hidden", "8", "--plot", "/proc/curve.png"],
                "--plot /proc/curve.png: cannot create it in /proc",
            ),
            "sweep --out: under /proc": (
                lambda w, c, m: [*SWEEP, "--out", "/proc/scratchnet-sweep"],
                "cannot create it in /proc",
            ),
        }
    )

FIFOS: dict[str, Case] = {
    "fifo: model": (lambda w, c, m: ["evaluate", _mkfifo(w / "m.npz")], "not a regular file"),
    "fifo: checkpoint": (
        lambda w, c, m: ["train", "--resume", _mkfifo(_dir(w / "run") / "checkpoint.npz").parent],
        "not a regular file",
    ),
    "fifo: history.json": (
        lambda w, c, m: ["report", _mkfifo(_run_folder(m, w, {}) / "history.json").parent],
        "history.json: not a regular file",
    ),
    "fifo: sweep.jsonl": (
        lambda w, c, m: ["report", _mkfifo(_dir(w / "sweep") / "sweep.jsonl").parent],
        "not a regular file",
    ),
    "fifo: keras mnist.npz": (
        lambda w, c, m: [*TRAIN, "--data-dir", _mkfifo(_dir(w / "d") / "mnist.npz").parent],
        "mnist",
    ),
}

CASES = {**CHECKPOINTS, **MODELS, **KERAS, **RUN_FILES, **OUTPUTS, **(FIFOS if FIFO else {})}


# -- running them ---------------------------------------------------------------------------
@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (not hang) if the block takes longer: a named pipe opened for reading waits."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: something waited on a pipe")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _files(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No data set, cache or network: the command sees only what the case made."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    return work


def _check(cli, argv, fragment, folder: Path) -> None:
    before = _files(folder)
    with deadline(60):
        code, out, err = cli(*argv)
    assert code in (1, 2), (code, err)
    assert "Traceback" not in err + out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("scratchnet") and "internal error" not in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    assert _files(folder) == before  # nothing new, nothing changed, nothing removed


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_file_or_output_is_one_line_and_leaves_nothing(
    isolated, cli, name, checkpoint_arrays, model_arrays
):
    make, fragment = CASES[name]
    argv = [str(arg) for arg in make(isolated, checkpoint_arrays, model_arrays)]
    _check(cli, argv, fragment, isolated)


# With data (the tiny set): faults found only once the data are known, and faults of the
# files read beside a model.
def _model_with_history(base, work: Path, history: str) -> Path:
    path = _forged_model(base, work / "m.npz")
    (work / "m.history.json").write_text(history)
    return path


WITH_DATA: dict[str, Case] = {
    "checkpoint: steps per epoch of another data set": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(c, w, _set("position.steps_per_epoch", 3)),
        ],
        "it counts 3 steps per epoch; this data set gives 10",
    ),
    "checkpoint: an order of another data set": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(
                c, w, arrays_edit=lambda a: a.__setitem__("position.order", np.arange(5))
            ),
        ],
        "its example order has 5 examples; this data set has 600",
    ),
    "checkpoint: a callback's weights of another shape": (
        lambda w, c, m: [
            "train",
            "--resume",
            _forged_checkpoint(
                c,
                w,
                _set("callbacks", {"early_stopping": {"wait": 0}}),
                lambda a: a.__setitem__(
                    "callbacks.early_stopping.weights.0.params.weight", np.zeros((2, 2))
                ),
            ),
        ],
        "the callback state 'callbacks.early_stopping.weights.0.params.weight' does not fit",
    ),
    "checkpoint: history rows missing": (
        lambda w, c, m: ["train", "--resume", _forged_checkpoint(c, w, _set("history", []))],
        "it holds 0 history rows for 1 epochs",
    ),
    "diagnose: the model's history a list": (
        lambda w, c, m: ["diagnose", "--model", _model_with_history(m, w, "[1]")],
        "m.history.json: epochs[0]: expected an object",
    ),
    "diagnose: the model's settings invalid": (
        lambda w, c, m: [
            "diagnose",
            "--model",
            _forged_model(m, w / "m.npz", _set("metadata.config", {"hidden": "many"})),
        ],
        "not a valid run configuration",
    ),
}


@pytest.mark.parametrize("name", list(WITH_DATA))
def test_faults_found_against_the_data_are_one_line_and_leave_nothing(
    isolated, tiny_cli, cli, name, checkpoint_arrays, model_arrays
):
    make, fragment = WITH_DATA[name]
    argv = [str(arg) for arg in make(isolated, checkpoint_arrays, model_arrays)]
    _check(cli, argv, fragment, isolated)


def test_the_corpus_is_large_and_its_cases_distinct():
    assert len(CASES) + len(WITH_DATA) >= 70
    assert len(set(CASES) | set(WITH_DATA)) == len(CASES) + len(WITH_DATA)


@pytest.mark.slow
def test_a_sweep_whose_dask_scheduler_cannot_be_reached_leaves_no_folder(
    isolated, tiny_cli, cli, monkeypatch
):
    pytest.importorskip("distributed")
    from scratchnet.experiments.executors import DaskExecutor

    monkeypatch.setattr(DaskExecutor, "default_timeout", 0.5)  # nothing listens: no need for 20 s
    argv = [*SWEEP, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out", "new"]
    _check(cli, argv, "cannot reach the Dask scheduler at tcp://127.0.0.1:9", isolated)
