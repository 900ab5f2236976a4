"""Getting examples in: IDX files, MNIST and Fashion-MNIST from disk, cache or mirrors.

Re-exports the loading API only; mini-batches, features and users' pictures are imported from
their own modules (batches, features, images). Needs only NumPy (tqdm optionally, for progress).
"""

from __future__ import annotations

from scratchnet.data import fashion_mnist, mnist
from scratchnet.data.catalog import DATASETS, get_spec
from scratchnet.data.idx import parse_idx, read_idx, write_idx
from scratchnet.data.sources import cache_dir, load_dataset


def class_names(name: str) -> tuple[str, ...]:
    """The class names of a data set, label i being class_names(name)[i]."""
    return get_spec(name).class_names


__all__ = [
    "DATASETS",
    "cache_dir",
    "class_names",
    "fashion_mnist",
    "load_dataset",
    "mnist",
    "parse_idx",
    "read_idx",
    "write_idx",
]
