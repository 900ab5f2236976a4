"""A user's own data set: what every loader returns, the held-out shares that suit its size,
and the loader for a path of any kind (a folder of pictures, a CSV, an .npz).

The loaders themselves are folder.py (class folders of pictures), csvfile.py (Kaggle's digit
recogniser layout) and npzfile.py (x/y arrays). Each returns an OwnData, which unpacks like
load_data: `(x_train, y_train), (x_test, y_test) = load_csv("train.csv")`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError

# MNIST holds out 10,000 of 70,000 examples for testing (1/7) and scratchnet 5,000 of the
# 60,000 left for validation (1/12): the same shares suit smaller sets, with those counts as caps.
TEST_SHARE, TEST_CAP = 1 / 7, 10_000
VALIDATION_SHARE, VALIDATION_CAP = 1 / 12, 5_000


@dataclasses.dataclass
class OwnData:
    """Examples from the user's files: uint8 images (n, 28, 28), int64 labels 0..k-1.

    class_names[i] names label i (from folder names, or the label values as written);
    `source` is the path it came from; `test_from` says where the test set came from.
    """

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    class_names: tuple[str, ...]
    source: str
    test_from: str = "held out"

    def __post_init__(self) -> None:
        # Every loader makes one: a set with one class cannot train a classifier.
        present = np.unique(self.train[1])
        if present.size < 2:
            only = f"class {self.class_names[present[0]]!r}" if present.size else "no class"
            raise DataError(
                f"{self.source}: every training example is in {only}; a classifier needs "
                "examples of two classes or more"
            )

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter((self.train, self.test))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return (self.train, self.test)[index]

    def describe(self) -> str:
        n_train, n_test = len(self.train[1]), len(self.test[1])
        return (
            f"{self.source}: {n_train:,} training and {n_test:,} test examples ({self.test_from}), "
            f"{len(self.class_names)} classes"
        )


def default_test_size(n: int) -> int:
    """Examples to hold out for testing from a set of n: n/7, at most 10,000 (MNIST's shares)."""
    return min(TEST_CAP, round(n * TEST_SHARE))


def default_validation_size(n_train: int) -> int:
    """Validation examples to hold out of n_train: n_train/12, at most 5,000 (scratchnet's MNIST
    default), at least 1 when there are 2 or more examples."""
    if n_train < 2:
        return 0
    return max(1, min(VALIDATION_CAP, round(n_train * VALIDATION_SHARE)))


def stratified_split(
    labels: np.ndarray, size: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) index arrays, holding out about `size` examples in each class's share.

    Every class with at least two examples keeps one and gives at least one (so the test set
    sees every class it can); the rest of the count follows the class sizes. Sorted indices.
    """
    n = labels.shape[0]
    if n == 0 or size <= 0:
        return np.arange(n), np.arange(0)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest remainders: the counts add up to `size`, each class in proportion to its size.
    quotas = size * counts / n
    held_counts = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - held_counts), kind="stable")
    held_counts[order[: size - int(held_counts.sum())]] += 1
    # Each class of two or more gives at least one and keeps at least one.
    held_counts = np.where(counts >= 2, np.clip(held_counts, 1, counts - 1), 0)
    held = [
        rng.permutation(np.flatnonzero(labels == cls))[:count]
        for cls, count in zip(classes, held_counts, strict=True)
        if count
    ]
    held_index = np.sort(np.concatenate(held)) if held else np.arange(0)
    kept = np.setdiff1d(np.arange(n), held_index, assume_unique=True)
    return kept, held_index


def hold_out_test(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    test_size: int | None,
    seed: int,
    where: str = "the data",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A seeded, stratified test split: ((x_train, y_train), (x_test, y_test)). DataError
    naming `where` when the default split holds nothing out (no class has two examples)."""
    n = labels.shape[0]
    size = default_test_size(n) if test_size is None else test_size
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 0 <= size < n:
        raise DataError(f"test_size must be an integer in [0, {n}); received {test_size!r}")
    kept, held = stratified_split(labels, size, rng=np.random.default_rng([seed, 7]))
    # (With one class, OwnData's own check names the deeper problem.)
    if held.size == 0 and test_size is None and np.unique(labels).size > 1:
        raise DataError(
            f"{where}: too few examples to hold out a test set ({n} examples; a class gives "
            "test examples once it has two or more); add examples"
        )
    return (images[kept], labels[kept]), (images[held], labels[held])


def sorted_names(values: Sequence[str]) -> list[str]:
    """Class names in a person's order: numbers by value (2 before 10), then text."""

    def key(name: str) -> tuple[int, float, str]:
        try:
            return (0, float(name), name)
        except ValueError:
            return (1, 0.0, name)

    return sorted(set(values), key=key)


def encode_labels(values: np.ndarray, names: Sequence[str] | None = None):
    """Labels as written (numbers or text) -> (int64 codes, class names as text)."""
    text = np.asarray([str(v) for v in values]) if values.dtype.kind not in "US" else values
    text = np.char.strip(text.astype(str))
    names = list(names) if names is not None else sorted_names(text.tolist())
    index = {name: i for i, name in enumerate(names)}
    try:
        codes = np.fromiter((index[v] for v in text.tolist()), dtype=np.int64, count=text.size)
    except KeyError as exc:
        raise DataError(f"label {exc.args[0]!r} is not one of the classes {names}") from None
    return codes, tuple(names)


_LAST: dict[tuple, OwnData] = {}  # the last data set loaded, for the next run in this process


def load_own(
    path: str | os.PathLike[str], *, test_size: int | None = None, seed: int = 0
) -> OwnData:
    """Load a user's data set by what `path` is: a folder (load_folder), a .csv (load_csv) or
    an .npz (load_npz). Raises DataError naming the path and what it accepts.

    The test split is drawn with `seed` (0 by default, whatever the training seed, so that every
    run on the same data is scored on the same test set). The last data set loaded is kept (its
    arrays read-only): a command that sizes its splits and then trains reads the pictures once.
    """
    where = Path(path).expanduser()
    try:
        stamp = where.stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (str(where.resolve()), stamp, test_size, seed)
    if key not in _LAST:
        data = _load(where, test_size=test_size, seed=seed)
        for array in (*data.train, *data.test):
            array.setflags(write=False)  # shared with later calls: nobody may change them
        _LAST.clear()
        _LAST[key] = data
    return _LAST[key]


def _load(where: Path, *, test_size: int | None, seed: int) -> OwnData:
    from .csvfile import load_csv
    from .folder import load_folder
    from .npzfile import load_npz

    if where.is_dir():
        return load_folder(where, test_size=test_size, seed=seed)
    suffix = where.suffix.lower()
    loaders = {".csv": load_csv, ".npz": load_npz}
    if not where.exists():
        raise DataError(
            f"{where}: no such file or folder; --data takes a folder of class folders of "
            "pictures, a .csv (label + 784 pixel columns) or an .npz (x and y arrays)"
        )
    if suffix not in loaders:
        raise DataError(
            f"{where}: not a folder, .csv or .npz; --data takes a folder of class folders of "
            "pictures, a .csv (label + 784 pixel columns) or an .npz (x and y arrays)"
        )
    return loaders[suffix](where, test_size=test_size, seed=seed)


def check_pixels(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 (n, 28, 28) from (n, 28, 28) or (n, 784), uint8/integers 0..255 or floats 0..1."""
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"{where}: expected images of shape (n, 28, 28) or (n, 784); received {images.shape}"
        )
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    if np.issubdtype(images.dtype, np.integer):
        if images.size and (images.min() < 0 or images.max() > 255):
            raise DataError(
                f"{where}: pixel values must be in 0..255; received {images.min()}..{images.max()}"
            )
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.floating):
        if not np.isfinite(images).all():
            raise DataError(f"{where}: the images hold NaN or infinite values")
        if images.size and (images.min() < 0 or images.max() > 1):
            raise DataError(
                f"{where}: float pixels must be in [0, 1] (or give integers 0..255); received "
                f"{images.min():g}..{images.max():g}"
            )
        return np.rint(images * 255).astype(np.uint8)
    raise DataError(f"{where}: expected numeric pixels; received dtype {images.dtype}")
