"""A folder of class folders of pictures as a data set: FOLDER/train/CLASS/*.png and
FOLDER/test/CLASS/*.png, or FOLDER/CLASS/*.png with a seeded, stratified test split held out.

Class names are the folder names (numbers sorted by value). Each picture is brought to the
model's input, 28x28 grayscale with light ink on black like MNIST: a 28x28 picture is taken as it
is (inverted if its ink is dark on light paper), any other size goes through the steps
`scratchnet predict` uses (data.images.to_mnist), so training and prediction see the same form.
Every unreadable picture is named in one DataError. Reading files needs Pillow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, ImageError
from .own import OwnData, encode_labels, hold_out_test, sorted_names

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm")
# What file managers and cameras leave in folders: never pictures, never an error.
IGNORED_FILES = ("thumbs.db", "desktop.ini")
MAX_NAMED = 5  # bad files named in the message; the count says how many more


def _read_gray(path: Path) -> np.ndarray:
    """The picture as float32 (height, width) in [0, 1], decoded as `scratchnet predict` does."""
    # Imported here: scratchnet.pictures sits to the right of data in the import order.
    from ..pictures.decode import read_gray

    return read_gray(path)


def picture_to_input(path: Path) -> np.ndarray:
    """One picture file -> uint8 (28, 28), light ink on black. Raises ImageError naming it."""
    from .images import to_mnist

    gray = _read_gray(path)
    if gray.shape == (28, 28):
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        if np.median(border) > 0.5:  # dark ink on light paper, as predict's "auto" decides
            gray = 1.0 - gray
    else:
        try:
            gray = to_mnist(gray)
        except ImageError as exc:  # it names "array"; the file is what the user knows
            raise ImageError(str(exc).replace("array", str(path), 1)) from None
    return np.rint(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)


def _pictures_in(folder: Path) -> list[Path]:
    """The picture files of one class folder, sorted; other files are errors (named)."""
    files, strays = [], []
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith(".") or name.lower() in IGNORED_FILES:
            continue
        if path.is_file() and path.suffix.lower() in PICTURE_SUFFIXES:
            files.append(path)
        else:
            strays.append(path)
    if strays:
        raise DataError(
            f"{_names(strays)}: not a picture ({', '.join(PICTURE_SUFFIXES)}); a class folder "
            "holds only pictures: move the rest out"
        )
    return files


def _names(paths: list[Path]) -> str:
    shown = ", ".join(str(p) for p in paths[:MAX_NAMED])
    more = len(paths) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _class_folders(root: Path) -> list[Path]:
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if not folders:
        raise DataError(
            f"{root}: no class folders; expected one folder per class holding its pictures "
            "(FOLDER/cat/1.png, FOLDER/dog/2.png...), optionally inside train/ and test/"
        )
    by_name = {p.name: p for p in folders}
    return [by_name[name] for name in sorted_names(list(by_name))]


def read_classes(root: Path, names: list[str] | None = None):
    """(uint8 images (n, 28, 28), class name per image) from root/CLASS/*; `names`, when given,
    are the classes allowed (the training set's)."""
    folders = _class_folders(root)
    if names is not None:
        unknown = [p.name for p in folders if p.name not in names]
        if unknown:
            raise DataError(
                f"{root}: class folders {unknown} are not in the training set's classes {names}"
            )
    images, labels, bad = [], [], []
    for folder in folders:
        files = _pictures_in(folder)
        if not files:
            raise DataError(f"{folder}: an empty class folder; add its pictures or remove it")
        for path in files:
            try:
                images.append(picture_to_input(path))
            except ImageError as exc:
                bad.append((path, str(exc)))
                continue
            labels.append(folder.name)
    if bad:
        first = bad[0][1]
        raise DataError(
            f"{len(bad)} bad picture(s) in {root}: {_names([p for p, _ in bad])}; the first: "
            f"{first}"
        )
    return np.stack(images), np.asarray(labels)


def load_folder(
    path: str | os.PathLike[str], *, test_size: int | None = None, seed: int = 0
) -> OwnData:
    """Class folders of pictures -> OwnData (unpacks as ((x_train, y_train), (x_test, y_test))).

    With train/ and test/ inside `path`, each holds class folders and test/ is the test set;
    otherwise `path` holds the class folders and a stratified test split is held out: test_size
    examples (default: a seventh, at most 10,000), drawn with `seed`.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected a folder of class folders of pictures")
    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        x_train, names_train = read_classes(train_dir)
        y_train, classes = encode_labels(names_train)
        x_test, names_test = read_classes(test_dir, list(classes))
        y_test, _ = encode_labels(names_test, classes)
        return OwnData((x_train, y_train), (x_test, y_test), classes, str(root), "test/")
    if train_dir.is_dir() != test_dir.is_dir():
        have, lack = ("train", "test") if train_dir.is_dir() else ("test", "train")
        raise DataError(
            f"{root}: has {have}/ but no {lack}/; give both, or put the class folders directly "
            "in the folder and a test split is held out"
        )
    images, names = read_classes(root)
    labels, classes = encode_labels(names)
    train, test = hold_out_test(images, labels, test_size=test_size, seed=seed, where=str(root))
    return OwnData(train, test, classes, str(root))
