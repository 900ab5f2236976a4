"""The command-line tool, called as main([...]): exit codes, messages, files written.

Bad arguments exit 2 with one argparse-style line; data and model problems exit 1 with one
line on stderr and no traceback; nothing is left half-written. Training runs use the real
MNIST (small networks, one or two epochs) from the `data_dir` fixture.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scratchnet import load_model, mlp, save_model
from scratchnet.cli import main


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "--batch-size", "0"], "--batch-size: expected a positive integer"),
        (["train", "--hidden", "abc"], "--hidden: expected comma-separated positive integers"),
        (["train", "--hidden", "100,0"], "hidden sizes must be positive"),
        (["train", "--lr", "-1"], "--lr/--learning-rate: expected a positive number"),
        (["train", "--lr", "nan"], "--lr/--learning-rate: expected a positive number"),
        (["train", "--momentum", "1.5"], "--momentum: expected a number in [0, 1)"),
        (["train", "--epochs", "two"], "--epochs: expected a positive integer"),
        (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["train", "--init", "bogus"], "unknown initialiser 'bogus'"),
        (["train", "--activation", "swishy"], "activation must be one of"),
        (["predict", "model.npz"], "the following arguments are required: IMAGE"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path, monkeypatch, argv, fragment, run, one_error_line
):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*argv)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("scratchnet")
    assert fragment in line
    assert list(tmp_path.iterdir()) == []


def test_help_and_version(run):
    code, out, _ = run("--help")
    assert code == 0 and "train" in out and "predict" in out
    code, out, _ = run("train", "--help")
    assert code == 0 and "--hidden" in out and "--data-dir" in out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("scratchnet ")


def test_missing_data_exits_1_listing_places(tmp_path, monkeypatch, run, one_error_line):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    output = tmp_path / "model.npz"
    (tmp_path / "nowhere").mkdir()  # exists, holds no data (a missing --data-dir is exit 2)
    code, _, err = run("train", "--data-dir", str(tmp_path / "nowhere"), "-o", str(output), "-q")
    assert code == 1
    line = one_error_line(err)
    assert "nowhere" in line and "SCRATCHNET_DATA" in line
    assert not output.exists()


def test_truncated_idx_file_exits_1_and_leaves_nothing(
    tmp_path, data_dir, monkeypatch, run, one_error_line
):
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    broken = tmp_path / "data" / "mnist"
    broken.mkdir(parents=True)
    for source in (data_dir / "mnist").iterdir():
        shutil.copy(source, broken / source.name)
    raw = gzip.decompress((broken / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw[:5000]))
    output = tmp_path / "out" / "model.npz"
    code, _, err = run("train", "--data-dir", str(tmp_path / "data"), "-o", str(output), "-q")
    assert code == 1
    line = one_error_line(err)
    assert "t10k-labels-idx1-ubyte" in line and "truncated" in line
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def test_model_missing_an_array_exits_1(tmp_path, run, one_error_line):
    model = mlp(784, [8], 10, seed=0)
    good = save_model(model, tmp_path / "good.npz")
    with np.load(good) as archive:
        arrays = {key: archive[key] for key in archive.files if key != "layers.1.bias"}
    np.savez(tmp_path / "broken.npz", **arrays)
    image = tmp_path / "digit.png"
    _write_digit(image)
    code, _, err = run("predict", str(tmp_path / "broken.npz"), str(image))
    assert code == 1
    line = one_error_line(err)
    assert "layers.1.bias" in line and "missing" in line


def test_predict_with_unreadable_image_exits_1(tmp_path, run, one_error_line):
    save_model(mlp(784, [8], 10, seed=0), tmp_path / "m.npz")
    bogus = tmp_path / "not-an-image.png"
    bogus.write_text("hello")
    code, _, err = run("predict", str(tmp_path / "m.npz"), str(bogus))
    assert code == 1
    assert "not-an-image.png" in one_error_line(err)


def _write_digit(path: Path, *, dark_on_light: bool = False) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("L", (120, 160), 255 if dark_on_light else 0)
    draw = ImageDraw.Draw(image)
    draw.line([(60, 20), (60, 140)], fill=0 if dark_on_light else 255, width=14)  # a "1"
    image.save(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """One small model trained through the CLI on the real MNIST (about 2 s)."""
    folder = tmp_path_factory.mktemp("trained")
    argv = [
        "train",
        "--data-dir",
        str(data_dir),
        "--hidden",
        "64",
        "--epochs",
        "2",
        "--validation-size",
        "1000",
        "-o",
        str(folder / "model.npz"),
    ]
    code = main(argv)
    assert code == 0
    return folder


def test_train_writes_model_and_history(trained):
    files = sorted(p.name for p in trained.iterdir())
    assert files == ["model.history.csv", "model.history.json", "model.npz"]
    history = json.loads((trained / "model.history.json").read_text())["epochs"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(history[0])
    csv_lines = (trained / "model.history.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and csv_lines[0].startswith("epoch,loss,accuracy")
    model = load_model(trained / "model.npz")
    assert model.metadata["dataset"] == "mnist"
    assert model.metadata["config"]["hidden"] == [64]
    assert model.metadata["test_accuracy"] > 0.9


@pytest.mark.slow  # trains its own model (2 s); `trained` covers the quick suite
def test_train_prints_epochs_and_summary(tmp_path, data_dir, run):
    output = tmp_path / "m.npz"
    code, out, _ = run(
        "train",
        "--data-dir",
        str(data_dir),
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--validation-size",
        "500",
        "-o",
        str(output),
    )
    assert code == 0
    assert "epoch   1/1" in out and "val_acc" in out
    assert "test accuracy" in out and f"model saved to {output}" in out


@pytest.mark.slow  # seconds of real training: the full suite runs it, `-m "not slow"` not
def test_same_seed_gives_byte_identical_model(tmp_path, data_dir, run):
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.npz"
        code, _, _ = run(
            "train",
            "--data-dir",
            str(data_dir),
            "--hidden",
            "32",
            "--epochs",
            "1",
            "--seed",
            "7",
            "--threads",  # the default follows the machine's load, which can change the bits
            "1",
            "-q",
            "-o",
            str(path),
        )
        assert code == 0
        paths.append(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    code, _, _ = run(
        "train",
        "--data-dir",
        str(data_dir),
        "--hidden",
        "32",
        "--epochs",
        "1",
        "--seed",
        "8",
        "-q",
        "-o",
        str(tmp_path / "c.npz"),
    )
    assert (tmp_path / "c.npz").read_bytes() != paths[0].read_bytes()


def test_evaluate_prints_scores_and_confusion_matrix(trained, data_dir, run):
    code, out, _ = run("evaluate", str(trained / "model.npz"), "--data-dir", str(data_dir))
    assert code == 0
    assert "accuracy" in out and "precision" in out and "confusion matrix" in out
    code, out, _ = run(
        "evaluate", str(trained / "model.npz"), "--data-dir", str(data_dir), "--json"
    )
    report = json.loads(out)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10_000
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 10_000)
    assert report["accuracy"] == pytest.approx(
        load_model(trained / "model.npz").metadata["test_accuracy"]
    )


def test_predict_reads_real_test_digits(trained, mnist, tmp_path, run):
    from PIL import Image

    (_, _), (x_test, y_test) = mnist
    paths = []
    for i in range(20):
        # Dark ink on light paper, enlarged: the preprocessing must undo both.
        image = Image.fromarray(255 - x_test[i]).resize((112, 112))
        path = tmp_path / f"digit{i}_{y_test[i]}.png"
        image.save(path)
        paths.append(path)
    code, out, _ = run("predict", str(trained / "model.npz"), *map(str, paths), "--json")
    assert code == 0
    results = json.loads(out)
    assert len(results) == 20
    correct = sum(r["label"] == int(y) for r, y in zip(results, y_test[:20], strict=True))
    assert correct >= 17
    top = results[0]["top"]
    assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"]
    code, out, _ = run("predict", str(trained / "model.npz"), str(paths[0]))
    assert code == 0 and out.startswith(str(paths[0]) + ": ")
