"""Acceptance: malformed files and arguments, made here in tmp_path, each give a non-zero exit,
a message without a traceback, and no partial file anywhere -- through main([...]) for all of
them, and through a real `python -m scratchnet` process for a few."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchnet.nn import mlp, save_model

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TRAIN = ("train", "--hidden", "8", "--epochs", "1", "--validation-size", "100", "-q")


def _idx(array: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(np.uint8).tobytes()


def _mnist_folder(root: Path, broken: str, content: bytes) -> Path:
    """A data folder whose mnist/ holds small but well-formed IDX files, one replaced."""
    folder = root / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in IDX_FILES:
        shape = (20, 28, 28) if "images" in name else (20,)
        data = gzip.compress(_idx(np.zeros(shape, np.uint8)), mtime=0)
        if name == broken:
            data = content
        (folder / f"{name}.gz").write_bytes(data)
    return root / "data"


def _npz(path: Path, **arrays) -> Path:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _model_arrays(tmp_path: Path) -> dict[str, np.ndarray]:
    good = save_model(mlp(784, [8], 10, seed=0), tmp_path / "good-model.npz")
    with np.load(good) as archive:
        arrays = {key: archive[key] for key in archive.files}
    good.unlink()
    return arrays


def _edited_header(tmp_path: Path, **changes) -> dict[str, np.ndarray]:
    arrays = _model_arrays(tmp_path)
    header = json.loads(str(arrays["__scratchnet__"]))
    header.update(changes)
    arrays["__scratchnet__"] = np.array(json.dumps(header))
    return arrays


def _png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "digit.png"
    Image.new("L", (28, 28), 0).save(path)
    return path


def _checkpoint_run(tmp_path: Path, content: bytes | None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / "checkpoint.npz").write_bytes(content)
    return run


# Each case: a function of tmp_path that makes the files and returns argv (relative to
# tmp_path), and a fragment the one-line message must hold.
def bad_model(make):
    def argv(tmp_path):
        path = tmp_path / "model.npz"
        make(tmp_path, path)
        return ["evaluate", str(path)]

    return argv


def _write(data: bytes):
    return lambda tmp_path, path: path.write_bytes(data)


def _object_array(tmp_path, path):
    arrays = _model_arrays(tmp_path)
    arrays["layers.0.bias"] = np.array([{"evil": 1}], dtype=object)
    _npz(path, **arrays)


def _wrong_shape(tmp_path, path):
    arrays = _model_arrays(tmp_path)
    arrays["layers.0.weight"] = arrays["layers.0.weight"].T.copy()
    _npz(path, **arrays)


def _missing_array(tmp_path, path):
    arrays = _model_arrays(tmp_path)
    del arrays["layers.1.bias"]
    _npz(path, **arrays)


def _truncated_model(tmp_path, path):
    save_model(mlp(784, [8], 10, seed=0), path)
    path.write_bytes(path.read_bytes()[:700])


def _nan_model(tmp_path, path):
    arrays = _model_arrays(tmp_path)
    arrays["layers.1.weight"][0, 0] = np.nan
    _npz(path, **arrays)


CASES = {
    # model files
    "model: random bytes": (
        bad_model(_write(bytes(range(256)) * 3)),
        "not a scratchnet model file",
    ),
    "model: empty file": (bad_model(_write(b"")), "not a scratchnet model file"),
    "model: truncated": (bad_model(_truncated_model), "corrupt or truncated model file"),
    "model: pickle": (bad_model(_write(pickle.dumps({"weights": [1, 2]}))), "not a zip archive"),
    "model: object array": (bad_model(_object_array), "pickled Python objects"),
    "model: wrong shape": (bad_model(_wrong_shape), "has shape (8, 784), but Dense"),
    "model: missing array": (bad_model(_missing_array), "'layers.1.bias' is missing"),
    "model: NaN weight": (bad_model(_nan_model), "holds NaN or infinite values"),
    "model: future version": (
        bad_model(lambda t, p: _npz(p, **_edited_header(t, format_version=99))),
        "format version 99 is not supported",
    ),
    "model: a directory": (
        bad_model(lambda t, p: p.mkdir()),
        "is a folder; give a model file",
    ),
    "model: missing": (lambda t: ["evaluate", str(t / "nothing.npz")], "no such model file"),
    "model: 100 inputs": (
        lambda t: ["evaluate", str(save_model(mlp(100, [8], 10, seed=0), t / "m.npz"))],
        "the model takes 100 inputs; 28x28 images need 784",
    ),
    # images
    "image: text named .png": (
        lambda t: [
            "predict",
            str(save_model(mlp(784, [8], 10, seed=0), t / "m.npz")),
            str(_text(t / "not-an-image.png")),
        ],
        "not-an-image.png",
    ),
    "image: truncated png": (
        lambda t: [
            "predict",
            str(save_model(mlp(784, [8], 10, seed=0), t / "m.npz")),
            str(_cut(_png(t), 40)),
        ],
        "digit.png",
    ),
    "image: model is broken too": (
        lambda t: ["predict", str(_write_to(t / "m.npz", b"PK\x03\x04junk")), str(_png(t))],
        "corrupt or truncated model file",
    ),
    # data files
    "data: truncated IDX": (
        lambda t: [*TRAIN, "--data-dir", str(_data_with(t, "t10k-labels-idx1-ubyte", _gz_cut))],
        "t10k-labels-idx1-ubyte",
    ),
    "data: corrupt gzip": (
        lambda t: [*TRAIN, "--data-dir", str(_data_with(t, "train-images-idx3-ubyte", _gz_flip))],
        "train-images-idx3-ubyte",
    ),
    "data: HTML page saved as .gz": (
        lambda t: [
            *TRAIN,
            "--data-dir",
            str(_mnist_folder(t, "train-labels-idx1-ubyte", b"<!DOCTYPE html><html>404</html>")),
        ],
        "train-labels-idx1-ubyte",
    ),
    "data: wrong IDX magic": (
        lambda t: [
            *TRAIN,
            "--data-dir",
            str(_mnist_folder(t, "t10k-images-idx3-ubyte", gzip.compress(b"\x01\x02\x03\x04"))),
        ],
        "t10k-images-idx3-ubyte",
    ),
    "data: empty files": (
        lambda t: [*TRAIN, "--data-dir", str(_mnist_folder(t, "train-images-idx3-ubyte", b""))],
        "train-images-idx3-ubyte",
    ),
    "data: garbage npz": (
        lambda t: [*TRAIN, "--data-dir", str(_write_to(t / "mnist.npz", b"PK\x03\x04rubbish"))],
        "mnist.npz",
    ),
    "data: a .npy named mnist.npz": (
        lambda t: [*TRAIN, "--data-dir", str(_npy(t / "mnist.npz"))],
        "not a valid NumPy .npz archive (not a zip archive)",
    ),
    "data: folder is a file": (
        lambda t: [*TRAIN, "--data-dir", str(_write_to(t / "data", b"x"))],
        "not a folder",
    ),
    # checkpoints
    "resume: no checkpoint": (
        lambda t: ["train", "--resume", str(_checkpoint_run(t, None))],
        "no checkpoint to resume from",
    ),
    "resume: garbage checkpoint": (
        lambda t: ["train", "--resume", str(_checkpoint_run(t, b"PK\x03\x04" + bytes(500)))],
        "corrupt or truncated checkpoint",
    ),
    "resume: a model as checkpoint": (
        lambda t: [
            "train",
            "--resume",
            str(_model_as_checkpoint(t)),
        ],
        "not a scratchnet checkpoint",
    ),
    "resume: a run folder that is a file": (
        lambda t: ["train", "--resume", str(_write_to(t / "run", b"x"))],
        "no checkpoint to resume from",
    ),
    "out: a file": (
        lambda t: [*TRAIN, "--out", str(_write_to(t / "run", b"x"))],
        "is a file, not a folder",
    ),
    "output: a directory": (
        lambda t: [*TRAIN, "-o", str(_mkdir(t / "model.npz"))],
        "is a folder; give a file name",
    ),
    # arguments (exit status 2)
    "args: --hidden abc": (lambda t: ["train", "--hidden", "abc"], "--hidden: expected"),
    "args: --lr nan": (lambda t: ["train", "--lr", "nan"], "expected a positive number"),
    "args: --lr inf": (lambda t: ["train", "--lr", "inf"], "expected a positive number"),
    "args: --epochs -1": (lambda t: ["train", "--epochs", "-1"], "expected a positive integer"),
    "args: --batch-size 0": (lambda t: ["train", "--batch-size", "0"], "positive integer"),
    "args: --dropout 1": (lambda t: ["train", "--dropout", "1"], "expected a number in [0, 1)"),
    "args: --momentum 1.5": (lambda t: ["train", "--momentum", "1.5"], "in [0, 1)"),
    "args: --clip-norm -1": (lambda t: ["train", "--clip-norm", "-1"], "a positive number"),
    "args: --seed -1": (lambda t: ["train", "--seed", "-1"], "expected an integer >= 0"),
    "args: --preset huge": (lambda t: ["train", "--preset", "huge"], "invalid choice: 'huge'"),
    "args: --dtype float16": (lambda t: ["train", "--dtype", "float16"], "invalid choice"),
    "args: --on-nonfinite x": (lambda t: ["train", "--on-nonfinite", "x"], "invalid choice"),
    "args: unknown option": (lambda t: ["train", "--speed", "11"], "unrecognized arguments"),
    "args: --resume with --lr": (
        lambda t: ["train", "--resume", str(t / "run"), "--lr", "0.1"],
        "drop --learning-rate",
    ),
    "args: --checkpoint-every alone": (
        lambda t: ["train", "--checkpoint-every", "2"],
        "--checkpoint-every needs --out",
    ),
    "args: predict --top 0": (lambda t: ["predict", "m.npz", "x.png", "--top", "0"], "--top"),
    "args: no command": (lambda t: [], "the following arguments are required: COMMAND"),
}


def _text(path: Path) -> Path:
    path.write_text("hello, I am not a picture")
    return path


def _cut(path: Path, size: int) -> Path:
    path.write_bytes(path.read_bytes()[:size])
    return path


def _write_to(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _npy(path: Path) -> Path:
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((3, 28, 28), np.uint8))
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _gz_cut(data: bytes) -> bytes:
    return gzip.compress(gzip.decompress(data)[:-50], mtime=0)


def _gz_flip(data: bytes) -> bytes:
    return data[:20] + bytes(b ^ 0x5A for b in data[20:40]) + data[40:]


def _data_with(tmp_path: Path, name: str, damage) -> Path:
    good = gzip.compress(_idx(np.zeros((20,) if "labels" in name else (20, 28, 28))), mtime=0)
    return _mnist_folder(tmp_path, name, damage(good))


def _model_as_checkpoint(tmp_path: Path) -> Path:
    run = _checkpoint_run(tmp_path, None)
    save_model(mlp(784, [8], 10, seed=0), run / "checkpoint.npz")
    return run


def _files(folder: Path) -> dict[str, bytes | None]:
    """Every path under folder, hidden ones included, with its content (None for folders)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data, cache or network: what the command sees is what the test made."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    return work


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_exits_non_zero_with_one_line_and_no_partial_file(isolated, cli, name):
    make, fragment = CASES[name]
    argv = make(isolated)
    before = _files(isolated)
    code, out, err = cli(*argv)
    assert code in (1, 2), (code, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("scratchnet"), err
    assert fragment in lines[0], lines[0]
    assert _files(isolated) == before  # nothing written, nothing half-written, nothing removed
    assert not (isolated.parent / "cache").exists() or not any(
        (isolated.parent / "cache").rglob("*")
    )


@pytest.mark.parametrize(
    "name",
    ["model: truncated", "data: corrupt gzip", "resume: garbage checkpoint", "args: --lr nan"],
)
def test_the_same_through_a_real_process(isolated, name, tmp_path):
    make, fragment = CASES[name]
    argv = make(isolated)
    before = _files(isolated)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "SCRATCHNET_NO_DOWNLOAD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "scratchnet", *argv],
        cwd=isolated,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert fragment in done.stderr and done.stderr.count("\n") == 1
    assert _files(isolated) == before


def test_every_case_is_distinct():
    assert len(CASES) >= 40
    buffer = io.StringIO()
    print(*CASES, sep="\n", file=buffer)
    assert len(set(buffer.getvalue().splitlines())) == len(CASES)
