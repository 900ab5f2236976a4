"""Read one data set from a folder on disk (four IDX files, or keras' mnist.npz) and check it.

Every local copy is checked for shape, dtype, label range and, for IDX files, the SHA-256 of
the content (cheap next to the gzip decompression). It does not search or download: sources.py does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from scratchnet.data import catalog
from scratchnet.data.catalog import DatasetSpec
from scratchnet.data.idx import idx_data, idx_header, read_idx
from scratchnet.errors import DataError
from scratchnet.fileio import read_npz

Split = tuple[np.ndarray, np.ndarray]
Splits = tuple[Split, Split]
_FIX = "download it again or delete it"


def find_idx_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The four standard files present in `folder` (raw preferred to .gz), and the missing names."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in catalog.IDX_FILES:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    return found, missing


def content_sha256(array: np.ndarray) -> str:
    """SHA-256 of the IDX file content `array` round-trips to (header, big-endian data)."""
    digest = hashlib.sha256(idx_header(array))
    digest.update(idx_data(array).data)
    return digest.hexdigest()


def _owner_of(file_name: str, sha256: str) -> str | None:
    """Which known data set a file with this content belongs to, if any (for a helpful message)."""
    for dataset, table in catalog.SHA256.items():
        if table.get(file_name) == sha256:
            return dataset
    return None


def _check_content(spec: DatasetSpec, file_name: str, path: Path, array: np.ndarray) -> None:
    expected = catalog.SHA256.get(spec.name, {}).get(file_name)
    if expected is None:
        return
    received = content_sha256(array)
    if received == expected:
        return
    owner = _owner_of(file_name, received)
    if owner:
        hint = f"it is {catalog.get_spec(owner).title}'s: use the folder of {spec.title} instead"
    else:
        hint = _FIX
    raise DataError(
        f"{path}: content is not {spec.title}'s {file_name} (SHA-256 {received[:12]}..., "
        f"expected {expected[:12]}...); {hint}"
    )


def check_split(
    spec: DatasetSpec, split: str, images: np.ndarray, labels: np.ndarray, where: str
) -> None:
    """Raise DataError unless images are (n, 28, 28) uint8 and labels (n,) uint8 in 0..9."""
    n = spec.n_train if split == "train" else spec.n_test
    shape = (n, *spec.image_shape)
    if images.dtype != np.uint8 or images.shape != shape:
        raise DataError(
            f"{where}: expected {split} images of shape {shape} and dtype uint8, "
            f"received shape {images.shape} and dtype {images.dtype}; {_FIX}"
        )
    if labels.dtype != np.uint8 or labels.shape != (n,):
        raise DataError(
            f"{where}: expected {split} labels of shape ({n},) and dtype uint8, "
            f"received shape {labels.shape} and dtype {labels.dtype}; {_FIX}"
        )
    n_classes = len(spec.class_names)
    if labels.size and int(labels.max()) >= n_classes:
        raise DataError(
            f"{where}: {split} labels must lie in 0..{n_classes - 1}; "
            f"received a label {int(labels.max())}; {_FIX}"
        )


def load_idx_files(spec: DatasetSpec, files: dict[str, Path]) -> Splits:
    """Read and check the four IDX files named in `files` (file name -> path)."""
    arrays = {file_name: read_idx(files[file_name]) for file_name in catalog.IDX_FILES}
    splits = []
    for split, images, labels in (
        ("train", catalog.TRAIN_IMAGES, catalog.TRAIN_LABELS),
        ("test", catalog.TEST_IMAGES, catalog.TEST_LABELS),
    ):
        where = f"{files[images]} / {files[labels].name}"
        check_split(spec, split, arrays[images], arrays[labels], where)
        splits.append((arrays[images], arrays[labels]))
    # Shapes first (their message is clearer), then content: catches bit rot and mixed-up folders.
    for file_name in catalog.IDX_FILES:
        _check_content(spec, file_name, files[file_name], arrays[file_name])
    return splits[0], splits[1]


def load_npz(spec: DatasetSpec, path: Path) -> Splits:
    """Read and check keras' mnist.npz (x_train, y_train, x_test, y_test), refusing pickles.

    The archive is read as model files are (scratchnet.fileio.read_npz): each .npy header must
    parse and describe exactly the bytes the member holds, so a forged shape cannot make this
    allocate more than the file holds; arrays beyond the four are refused. Its arrays are then
    checked for shape, dtype and labels but not hashed: we know the SHA-256 of the archive file
    (checked on download), not of the arrays a re-saved archive would hold.
    """
    arrays = read_npz(
        path, error=DataError, what="NumPy .npz archive", fix=_FIX, title="valid NumPy .npz archive"
    )
    missing = [key for key in catalog.NPZ_KEYS if key not in arrays]
    if missing:
        raise DataError(
            f"{path}: the archive lacks {', '.join(missing)}; expected arrays "
            f"{', '.join(catalog.NPZ_KEYS)}; {_FIX}"
        )
    unknown = sorted(set(arrays) - set(catalog.NPZ_KEYS))
    if unknown:
        raise DataError(
            f"{path}: the archive holds arrays other than {', '.join(catalog.NPZ_KEYS)} "
            f"({', '.join(map(repr, unknown[:3]))}); is it keras' {catalog.NPZ_NAME}?"
        )
    arrays = {key: np.ascontiguousarray(arrays[key]) for key in catalog.NPZ_KEYS}
    check_split(spec, "train", arrays["x_train"], arrays["y_train"], str(path))
    check_split(spec, "test", arrays["x_test"], arrays["y_test"], str(path))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
