"""keras' `load_data(path=...)`: a .npz file, a folder, or keras' cache name.

keras reads `path` relative to ~/.keras/datasets ("mnist.npz" by default). Here an existing
.npz file is read and checked directly, an existing folder is searched like data_dir, and a
bare name that is neither (keras' default) leaves the usual search order in charge, which
includes keras' own cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from scratchnet.data import catalog
from scratchnet.data.local import Splits, load_npz
from scratchnet.data.sources import load_dataset
from scratchnet.errors import DatasetNotFoundError


def load_with_path(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    path: str | os.PathLike[str] | None,
    *,
    download: bool,
    progress: bool | None,
) -> Splits:
    """load_dataset(name, ...) where `path` (keras' keyword) may name the file or folder."""
    if path is not None:
        where = Path(path).expanduser()
        if where.is_file():
            return load_npz(catalog.get_spec(name), where)
        if where.is_dir():
            data_dir = where
        elif where.parent != Path("."):
            raise DatasetNotFoundError(
                f"{where}: no such file or folder; pass path= an existing .npz file (keras' "
                "x_train, y_train, x_test, y_test) or a data folder, or leave it out"
            )
    return load_dataset(name, data_dir, download=download, progress=progress)
