"""A user's own data: class folders of pictures, Kaggle's CSV layout, .npz arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchnet.data import OwnData, load_csv, load_folder, load_own
from scratchnet.data.own import default_test_size, default_validation_size, stratified_split
from scratchnet.errors import DataError, ScratchnetError

Image = pytest.importorskip("PIL.Image")


def glyphs(n: int, n_classes: int = 3, seed: int = 0):
    """Noisy 28x28 uint8 prototypes (light ink on black) and their labels."""
    rng = np.random.default_rng(seed)
    prototypes = np.zeros((n_classes, 28, 28))
    for k in range(n_classes):
        prototypes[k, 4 + 6 * k : 10 + 6 * k, 6:22] = 255
    labels = np.arange(n) % n_classes
    noise = rng.normal(0, 30, (n, 28, 28))
    return np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8), labels


def write_folder(root: Path, images, labels, names=("cat", "dog", "owl")):
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")


def write_csv(path: Path, images, labels, label_first=True):
    header = [f"pixel{i}" for i in range(784)]
    lines = []
    for image, label in zip(images, labels, strict=True):
        pixels = [str(v) for v in image.ravel()]
        lines.append(",".join([str(label), *pixels] if label_first else [*pixels, str(label)]))
    header = ["label", *header] if label_first else [*header, "label"]
    path.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n")


# -- shares ------------------------------------------------------------------------------------


def test_default_shares_suit_the_size():
    assert default_test_size(70_000) == 10_000  # MNIST's own split
    assert default_test_size(6_000) == 857
    assert default_validation_size(60_000) == 5_000  # scratchnet's MNIST default
    assert default_validation_size(5_143) == 429
    assert default_validation_size(12) == 1 and default_validation_size(1) == 0


def test_stratified_split_keeps_class_shares_and_is_seeded():
    labels = np.repeat([0, 1, 2], [100, 50, 10])
    kept, held = stratified_split(labels, 32, rng=np.random.default_rng(0))
    assert np.bincount(labels[held]).tolist() == [20, 10, 2]
    assert np.intersect1d(kept, held).size == 0 and kept.size + held.size == 160
    again, _ = stratified_split(labels, 32, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(kept, again)
    # a class of one example stays in training
    _, held = stratified_split(np.array([0, 0, 0, 1]), 2, rng=np.random.default_rng(0))
    assert 3 not in held


# -- folders -----------------------------------------------------------------------------------


def test_folder_with_train_and_test(tmp_path):
    images, labels = glyphs(30)
    write_folder(tmp_path / "train", images[:21], labels[:21])
    write_folder(tmp_path / "test", images[21:], labels[21:])
    data = load_folder(tmp_path)
    (x_train, y_train), (x_test, y_test) = data
    assert isinstance(data, OwnData) and data.class_names == ("cat", "dog", "owl")
    assert x_train.shape == (21, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (9, 28, 28) and data.test_from == "test/"
    assert sorted(y_test.tolist()) == sorted(labels[21:].tolist())
    # 28x28 PNGs (light on dark) come back exactly as written, each with its folder's label
    written = {
        image.tobytes(): label for image, label in zip(images[:21], labels[:21], strict=True)
    }
    assert [written[image.tobytes()] for image in x_train] == y_train.tolist()


def test_folder_without_a_split_holds_out_a_stratified_test_set(tmp_path):
    images, labels = glyphs(42)
    write_folder(tmp_path, images, labels)
    (x_train, y_train), (x_test, y_test) = load_folder(tmp_path, seed=3)
    assert len(y_test) == default_test_size(42)
    assert np.bincount(y_test).tolist() == [2, 2, 2]
    (_, again), _ = load_folder(tmp_path, seed=3)
    np.testing.assert_array_equal(y_train, again)


def test_dark_ink_and_other_sizes_are_brought_to_mnist_form(tmp_path):
    images, labels = glyphs(6)
    root = tmp_path / "pics"
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        big = Image.fromarray(255 - image).resize((84, 84))  # dark ink on paper, 3x larger
        big.save(folder / f"{i}.png")
    (x_train, _), (x_test, _) = load_folder(root, test_size=0)
    assert x_train.shape == (6, 28, 28)
    assert x_train[:, 0, :].mean() < 10  # paper made black, as MNIST
    assert x_train.max() == 255  # ink made bright


def test_numeric_class_folders_sort_by_value(tmp_path):
    images, _ = glyphs(12)
    write_folder(tmp_path, images, np.arange(12) % 3, names=("2", "10", "1"))
    data = load_folder(tmp_path, test_size=0)
    assert data.class_names == ("1", "2", "10")


def test_bad_pictures_are_all_named_in_one_line(tmp_path):
    images, labels = glyphs(9)
    write_folder(tmp_path, images, labels)
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "dog" / "empty.jpg").write_bytes(b"")
    with pytest.raises(DataError) as info:
        load_folder(tmp_path)
    message = str(info.value)
    assert "\n" not in message and "2 bad picture(s)" in message
    assert "broken.png" in message and "empty.jpg" in message


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda root: (root / "cat").mkdir(parents=True), "an empty class folder"),
        (lambda root: root.mkdir(), "no class folders"),
        (lambda root: (root / "train" / "cat").mkdir(parents=True), "has train/ but no test/"),
        (
            lambda root: (
                (root / "cat").mkdir(parents=True) or (root / "cat" / "notes.txt").write_text("x")
            ),
            "notes.txt: not a picture",
        ),
    ],
)
def test_folder_mistakes_are_explained(tmp_path, make, match):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(DataError, match=match):
        load_folder(root)


def test_test_classes_must_be_training_classes(tmp_path):
    images, labels = glyphs(9)
    write_folder(tmp_path / "train", images, labels)
    write_folder(tmp_path / "test", images[:3], labels[:3], names=("cat", "dog", "emu"))
    with pytest.raises(DataError, match=r"\['emu'\] are not in the training set's classes"):
        load_folder(tmp_path)


def test_hidden_files_are_ignored(tmp_path):
    images, labels = glyphs(9)
    write_folder(tmp_path, images, labels)
    (tmp_path / "cat" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "dog" / "Thumbs.db").write_bytes(b"junk")
    assert len(load_folder(tmp_path, test_size=0).train[1]) == 9


# -- CSV ---------------------------------------------------------------------------------------


def test_kaggle_csv(tmp_path):
    images, labels = glyphs(70, n_classes=10)
    write_csv(tmp_path / "train.csv", images, labels)
    data = load_csv(tmp_path / "train.csv", seed=1)
    (x_train, y_train), (x_test, y_test) = data
    assert data.class_names == tuple(str(i) for i in range(10))
    assert len(y_test) == 10 and len(y_train) == 60
    assert np.bincount(y_test, minlength=10).tolist() == [1] * 10
    # rows come back as written (the test rows are a subset, in file order)
    index = {image.tobytes(): i for i, image in enumerate(images)}
    rows = [index[image.tobytes()] for image in x_test]
    assert rows == sorted(rows) and [labels[r] for r in rows] == y_test.tolist()


def test_csv_label_column_anywhere_with_text_labels(tmp_path):
    images, labels = glyphs(12)
    write_csv(
        tmp_path / "t.csv", images, np.array(["cat", "dog", "owl"])[labels], label_first=False
    )
    data = load_csv(tmp_path / "t.csv", test_size=0)
    assert data.class_names == ("cat", "dog", "owl")
    np.testing.assert_array_equal(data.train[1], labels)


def test_csv_bad_rows_are_named_by_line(tmp_path):
    images, labels = glyphs(5)
    path = tmp_path / "train.csv"
    write_csv(path, images, labels)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv: .*line 4"):
        load_csv(path)
    write_csv(path, images, labels)
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",7"  # 786 fields
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv: .*line 3"):
        load_csv(path)
    images[3, 0, 0] = 0
    write_csv(path, images, labels)
    path.write_text(
        path.read_text().replace("\n" + str(labels[3]) + ",0,", "\n" + str(labels[3]) + ",300,", 1)
    )
    with pytest.raises(DataError, match=r"not whole numbers 0..255, at line\(s\) 5"):
        load_csv(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "the file is empty"),
        ("pixel0,pixel1\n1,2\n", "no 'label' column"),
        ("label," + ",".join(f"p{i}" for i in range(10)) + "\n", "10 pixel columns"),
        ("label," + ",".join(f"p{i}" for i in range(784)) + "\n", "no rows"),
        # Another separator: one short line names it (not the whole 8 KB header).
        (
            "label;" + ";".join(f"pixel{i}" for i in range(784)) + "\n",
            r"^\S+ no 'label' column in the header \(label;pixel0;pixe\.\.\., \.\.\.\); "
            r"its fields seem separated by ';'.{0,100}$",
        ),
    ],
)
def test_csv_layout_mistakes(tmp_path, text, match):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        load_csv(path)


# -- npz and the dispatcher --------------------------------------------------------------------


def test_npz_x_y_and_keras_layout(tmp_path):
    images, labels = glyphs(30)
    np.savez(tmp_path / "a.npz", x=images.reshape(30, 784), y=labels, class_names=["c", "d", "o"])
    data = load_own(tmp_path / "a.npz")
    assert data.class_names == ("c", "d", "o") and len(data.test[1]) == default_test_size(30)
    np.savez(
        tmp_path / "b.npz",
        x_train=images[:20],
        y_train=labels[:20],
        x_test=images[20:] / 255.0,
        y_test=labels[20:],
    )
    data = load_own(tmp_path / "b.npz")
    assert data.test[0].dtype == np.uint8 and len(data.test[1]) == 10
    np.testing.assert_array_equal(data.test[0], images[20:])


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"images": np.zeros((3, 28, 28))}, "expected arrays x and y"),
        ({"x": np.zeros((3, 27, 28)), "y": np.zeros(3)}, r"expected images of shape \(n, 28, 28\)"),
        ({"x": np.full((3, 784), 2.0), "y": np.zeros(3)}, r"float pixels must be in \[0, 1\]"),
        ({"x": np.zeros((3, 784)), "y": np.zeros(2)}, "3 images but 2 labels"),
        # A classifier needs two classes, and a test set needs a class with two examples.
        ({"x": np.zeros((9, 784)), "y": -np.ones(9, int)}, "example is in class '-1'"),
        ({"x": np.zeros((1, 784)), "y": np.zeros(1, int)}, "example is in class '0'"),
        ({"x": np.zeros((4, 784)), "y": np.array(list("abcd"))}, "too few examples to hold"),
        ({"x": np.zeros((2, 784)), "y": np.arange(2)}, r"too few examples .*\(2 examples"),
    ],
)
def test_npz_mistakes(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match):
        load_own(tmp_path / "bad.npz")


def test_a_folder_of_one_class_is_refused_in_one_line(tmp_path):
    from PIL import Image

    (tmp_path / "d" / "seven").mkdir(parents=True)
    for i in range(5):
        Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "d" / "seven" / f"{i}.png")
    with pytest.raises(DataError, match="every training example is in class 'seven'"):
        load_own(tmp_path / "d")
    with pytest.raises(DataError, match="every training example is in class 'seven'"):
        load_folder(tmp_path / "d")  # the loaders themselves check, not only load_own


def test_load_own_names_what_it_accepts(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_own(tmp_path / "missing.csv")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ScratchnetError, match="not a folder, .csv or .npz"):
        load_own(tmp_path / "x.txt")


def test_csv_empty_label_is_named(tmp_path):
    images, labels = glyphs(4)
    path = tmp_path / "t.csv"
    write_csv(path, images, labels)
    lines = path.read_text().splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="an empty label at line 3"):
        load_csv(path)
