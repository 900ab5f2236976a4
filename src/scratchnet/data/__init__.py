"""Getting examples in: IDX files, MNIST and Fashion-MNIST from disk, cache or mirrors.

Re-exports the loading API only; mini-batches, features and users' pictures are imported from
their own modules (batches, features, images). A user's own data set (class folders of
pictures, a CSV, an .npz) comes in through load_own / load_folder / load_csv (own.py).
Needs only NumPy (tqdm optionally, for progress; Pillow for pictures).
"""

from __future__ import annotations

from scratchnet.data import fashion_mnist, mnist
from scratchnet.data.catalog import DATASETS, get_spec
from scratchnet.data.csvfile import load_csv
from scratchnet.data.folder import load_folder
from scratchnet.data.idx import parse_idx, read_idx, write_idx
from scratchnet.data.own import OwnData, load_own
from scratchnet.data.sources import cache_dir, load_dataset


def class_names(name: str) -> tuple[str, ...]:
    """The class names of a data set, label i being class_names(name)[i]."""
    return get_spec(name).class_names


__all__ = [
    "DATASETS",
    "OwnData",
    "cache_dir",
    "class_names",
    "fashion_mnist",
    "load_csv",
    "load_dataset",
    "load_folder",
    "load_own",
    "mnist",
    "parse_idx",
    "read_idx",
    "write_idx",
]
