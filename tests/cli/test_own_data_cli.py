"""`scratchnet train --data PATH` (and evaluate, diagnose, sweep) on the user's own data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scratchnet.nn import load_model

Image = pytest.importorskip("PIL.Image")
NAMES = ("circle", "cross", "bar")


def shapes(n: int, seed: int = 0):
    """Three easy 28x28 classes (light ink on black), with noise: images, labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    circle = ((yy - 14) ** 2 + (xx - 14) ** 2 < 64) & ((yy - 14) ** 2 + (xx - 14) ** 2 > 25)
    cross = (abs(yy - xx) < 2) | (abs(yy + xx - 27) < 2)
    bar = (abs(xx - 14) < 3) & (yy > 4) & (yy < 24)
    prototypes = np.stack([circle, cross, bar]).astype(float) * 220
    labels = np.arange(n) % 3
    noise = rng.normal(0, 25, (n, 28, 28))
    return np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8), labels


def write_folder(root, images, labels):
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")


@pytest.fixture
def folder(tmp_path):
    images, labels = shapes(90)
    write_folder(tmp_path / "pics" / "train", images[:60], labels[:60])
    write_folder(tmp_path / "pics" / "test", images[60:], labels[60:])
    return tmp_path / "pics"


@pytest.fixture
def kaggle_csv(tmp_path):
    images, labels = shapes(120, seed=1)
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = [f"{y}," + ",".join(map(str, x.ravel())) for x, y in zip(images, labels, strict=True)]
    path = tmp_path / "train.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


SMALL = ("--hidden", "16", "--epochs", "3", "--batch-size", "16", "--lr", "0.1")


def test_train_on_a_folder_reports_test_accuracy_and_keeps_class_names(folder, tmp_path, run):
    output = tmp_path / "shapes.npz"
    code, out, err = run("train", "--data", folder, *SMALL, "-o", output)
    assert code == 0, err
    assert f"training on {folder}" in out
    accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 90
    model = load_model(output)
    assert model.metadata["class_names"] == ["bar", "circle", "cross"]
    assert model.metadata["data"] == str(folder)
    # predict prints the folder names
    picture = next((folder / "test" / "cross").iterdir())
    code, out, _ = run("predict", output, picture, "--json")
    assert code == 0 and json.loads(out)[0]["top"][0]["class"] in ("bar", "circle", "cross")
    # evaluate finds the same test split by itself (or from --data)
    code, out, _ = run("evaluate", output, "--json")
    assert code == 0 and json.loads(out)["accuracy"] == pytest.approx(accuracy / 100, abs=1e-4)
    assert json.loads(out)["classes"] == ["bar", "circle", "cross"]


def test_train_on_a_kaggle_csv_with_default_shares(kaggle_csv, tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("train", "--data", kaggle_csv, *SMALL)
    assert code == 0, err
    # 120 rows: 17 held out for testing (a seventh), 9 of the rest for validation (a twelfth)
    assert "validation_size=9" in out
    assert "test accuracy" in out
    assert (tmp_path / "scratchnet-train.npz").is_file()  # named after the data


def test_train_on_an_npz(tmp_path, run):
    images, labels = shapes(60)
    np.savez(tmp_path / "mine.npz", x=images, y=labels)
    code, out, err = run("train", "--data", tmp_path / "mine.npz", *SMALL, "-o", tmp_path / "m.npz")
    assert code == 0, err
    assert load_model(tmp_path / "m.npz").metadata["class_names"] == ["0", "1", "2"]


def test_a_bad_picture_exits_1_naming_it(folder, tmp_path, run, one_error_line):
    (folder / "train" / "bar" / "scan.png").write_bytes(b"not a png")
    output = tmp_path / "never.npz"
    code, _, err = run("train", "--data", folder, *SMALL, "-o", output)
    assert code == 1
    line = one_error_line(err)
    assert "scan.png" in line and "bad picture" in line
    assert not output.exists()


def test_a_bad_csv_row_exits_1_naming_the_line(kaggle_csv, tmp_path, run, one_error_line):
    lines = kaggle_csv.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0]  # a row one pixel short
    kaggle_csv.write_text("\n".join(lines) + "\n")
    code, _, err = run("train", "--data", kaggle_csv, *SMALL, "-o", tmp_path / "m.npz")
    assert code == 1
    assert "line 6" in one_error_line(err)


def test_missing_data_path_exits_1(tmp_path, run, one_error_line):
    code, _, err = run("train", "--data", tmp_path / "nope", *SMALL, "-o", tmp_path / "m.npz")
    assert code == 1 and "no such file or folder" in one_error_line(err)


def test_diagnose_with_data(folder, run):
    code, out, err = run("diagnose", "--data", folder, *SMALL, "--json")
    assert code == 0, err
    assert "findings" in json.loads(out)


@pytest.mark.slow  # a sweep of CLI trainings: seconds
def test_sweep_with_data(folder, tmp_path, run):
    out_dir = tmp_path / "sweep"
    code, out, err = run(
        "sweep",
        "--data",
        folder,
        "--grid",
        "lr=0.05,0.1",
        *SMALL[:6],
        "--workers",
        "1",
        "--out",
        out_dir,
    )
    assert code == 0, err
    assert f"--data {folder}" in out  # the command that retrains the winner
    assert (out_dir / "best").is_dir()


def test_evaluate_refuses_data_with_other_classes(folder, tmp_path, run, one_error_line):
    output = tmp_path / "shapes.npz"
    assert run("train", "--data", folder, *SMALL, "-o", output)[0] == 0
    images, labels = shapes(30)
    np.savez(tmp_path / "other.npz", x=images, y=labels)  # classes 0, 1, 2
    code, _, err = run("evaluate", output, "--data", tmp_path / "other.npz")
    assert code == 1 and "was trained on the classes" in one_error_line(err)


# -- on real MNIST, as a user would bring it ---------------------------------------------------


@pytest.mark.slow
def test_real_digits_as_a_kaggle_csv_train_well_with_the_defaults(mnist, tmp_path, run):
    """6,000 rows of Kaggle's layout: the default shares leave 5,143 to train on (not 1,000)."""
    (x_train, y_train), _ = mnist
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = [
        f"{y}," + ",".join(map(str, x.ravel()))
        for x, y in zip(x_train[:6000], y_train[:6000], strict=True)
    ]
    path = tmp_path / "train.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    code, out, err = run("train", "--data", path, "-q", "-o", tmp_path / "m.npz")
    assert code == 0, err
    assert float(out.split("test accuracy ")[1].split("%")[0]) > 93


@pytest.mark.slow
def test_real_digits_as_class_folders_of_pngs(mnist, tmp_path, run):
    (x_train, y_train), (x_test, y_test) = mnist
    for split, images, labels, n in (
        ("train", x_train, y_train, 2000),
        ("test", x_test, y_test, 500),
    ):
        for i in range(n):
            folder = tmp_path / "digits" / split / str(labels[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i]).save(folder / f"{i}.png")
    output = tmp_path / "digits.npz"
    code, out, err = run("train", "--data", tmp_path / "digits", "--epochs", "10", "-o", output)
    assert code == 0, err
    assert "500 images" in run("evaluate", output)[1]
    assert float(out.split("test accuracy ")[1].split("%")[0]) > 88
    assert load_model(output).metadata["class_names"] == [str(d) for d in range(10)]


def test_data_with_dataset_is_an_argument_error(folder, run, one_error_line):
    code, _, err = run("train", "--data", folder, "--dataset", "fashion-mnist", *SMALL)
    assert code == 2 and "drop --dataset" in one_error_line(err)
