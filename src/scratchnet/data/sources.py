"""Where a data set comes from, first hit wins: data_dir, $SCRATCHNET_DATA, the user cache, copies
other tools left (keras, Debian), then a download from public mirrors into the cache. It does
not read or fetch files itself (local.py, download.py); if all fails, one error lists every place.
"""

from __future__ import annotations

import os
from pathlib import Path

from scratchnet.data import catalog
from scratchnet.data.catalog import DatasetSpec
from scratchnet.data.download import download as fetch_url
from scratchnet.data.local import Splits, find_idx_files, load_idx_files, load_npz
from scratchnet.errors import DatasetNotFoundError, DownloadError

# SCRATCHNET_DATA: a data directory, looked at after data_dir. It holds "<dataset>/" with the
# four IDX files, or keras' mnist.npz, or is itself the dataset folder holding the four files
# (or, for MNIST, the path of a mnist.npz); the same goes for data_dir.
ENV_DATA = "SCRATCHNET_DATA"
# SCRATCHNET_NO_DOWNLOAD=1: never download (as download=False does).
ENV_NO_DOWNLOAD = "SCRATCHNET_NO_DOWNLOAD"
# SCRATCHNET_MIRRORS: whitespace-separated URLs replacing catalog.MIRRORS, "{dataset}" in a URL
# standing for "mnist" or "fashion-mnist". The cache is $XDG_CACHE_HOME/scratchnet.
ENV_MIRRORS = "SCRATCHNET_MIRRORS"
_FALSE = ("", "0", "false", "no", "off")


def cache_dir() -> Path:
    """The user cache for downloads: $XDG_CACHE_HOME/scratchnet, else ~/.cache/scratchnet."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative path.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "scratchnet"


def downloads_disabled() -> bool:
    """Whether SCRATCHNET_NO_DOWNLOAD is set to anything but "", "0", "false", "no", "off"."""
    return os.environ.get(ENV_NO_DOWNLOAD, "").strip().lower() not in _FALSE


def mirrors_for(spec: DatasetSpec) -> tuple[str, ...]:
    """The mirror URLs to try for a data set: $SCRATCHNET_MIRRORS if set, else catalog.MIRRORS."""
    override = os.environ.get(ENV_MIRRORS, "").split()
    if override:
        return tuple(url.replace("{dataset}", spec.name) for url in override)
    return catalog.MIRRORS[spec.name]


def places(
    spec: DatasetSpec, data_dir: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path]]:
    """The local data directories to look in, in order, each with a label for messages."""
    found: list[tuple[str, Path]] = []
    if data_dir is not None:
        found.append(("data_dir", Path(data_dir).expanduser()))
    env = os.environ.get(ENV_DATA, "")
    if env:
        found.append((f"${ENV_DATA}", Path(env).expanduser()))
    found.append(("cache", cache_dir()))
    found += [(tool, Path(folder).expanduser()) for tool, folder in spec.system_dirs]
    return found


def look_in(spec: DatasetSpec, root: Path) -> Splits | str:
    """The data set read from data directory `root`, or a short reason why it is not there.

    Raises DataError if a copy is there but corrupt: a bad file is reported, not skipped.
    """
    if spec.has_npz and root.is_file() and root.suffix == ".npz":
        return load_npz(spec, root)  # a path to keras' archive itself
    if not root.is_dir():
        return "does not exist" if not root.exists() else "not a folder"
    notes = []
    folder = root / spec.name
    if folder.is_dir():
        files, missing = find_idx_files(folder)
        if not missing:
            return load_idx_files(spec, files)
        notes.append(f"{spec.name}/ lacks {', '.join(missing)}")
    if spec.has_npz and (root / catalog.NPZ_NAME).is_file():
        return load_npz(spec, root / catalog.NPZ_NAME)
    # The folder given may be the dataset folder itself.
    files, missing = find_idx_files(root)
    if not missing:
        return load_idx_files(spec, files)
    if files:
        notes.append(f"it lacks {', '.join(missing)}")
    if not notes:
        npz = f", {catalog.NPZ_NAME}" if spec.has_npz else ""
        notes.append(f"no {spec.name}/ folder{npz} or IDX files")
    return ", ".join(notes)


def _fetch_from(spec: DatasetSpec, url: str, cache: Path, progress: bool | None) -> Splits:
    """Download the data set from one mirror into `cache`; raise DownloadError if it fails."""
    checksums = catalog.SHA256.get(spec.name, {})
    if url.endswith(".npz"):
        if not spec.has_npz or catalog.NPZ_NAME not in checksums:
            raise DownloadError(f"{url}: {spec.title} has no known .npz form")
        dest = cache / catalog.NPZ_NAME
        fetch_url(url, dest, sha256=checksums[catalog.NPZ_NAME], progress=progress)
        return load_npz(spec, dest)
    base = url if url.endswith("/") else url + "/"
    folder = cache / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    # Files fetched earlier (from this or another mirror) are verified already: keep them.
    for name in find_idx_files(folder)[1]:
        fetch_url(
            f"{base}{name}.gz", folder / f"{name}.gz", sha256=checksums[name], progress=progress
        )
    files, _ = find_idx_files(folder)
    return load_idx_files(spec, files)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
) -> Splits:
    """Load a data set as ((x_train, y_train), (x_test, y_test)), uint8, images (N, 28, 28).

    Looks in `data_dir`, $SCRATCHNET_DATA, the cache, keras' and Debian's copies, then (unless
    `download` is False or SCRATCHNET_NO_DOWNLOAD=1) downloads into the cache; `progress` as in
    download.download. Raises ValueError for an unknown name (valid: DATASETS), DataError for a
    corrupt copy, DatasetNotFoundError (one line listing every place tried) if found nowhere.
    """
    spec = catalog.get_spec(name)
    tried: list[str] = []
    for label, root in places(spec, data_dir):
        found = look_in(spec, root)
        if not isinstance(found, str):
            return found
        tried.append(f"{label} {root}: {found}")
    if not download or downloads_disabled():
        why = "download=False" if not download else f"{ENV_NO_DOWNLOAD} is set"
        tried.append(f"download: disabled ({why})")
    else:
        cache = cache_dir()
        for url in mirrors_for(spec):
            try:
                return _fetch_from(spec, url, cache, progress)
            except DownloadError as exc:
                tried.append(str(exc))
            except OSError as exc:  # the cache folder cannot be created or written
                tried.append(f"{url}: cannot write to the cache {cache}: {exc.strerror or exc}")
    raise DatasetNotFoundError(_not_found_message(spec, tried))


def _not_found_message(spec: DatasetSpec, tried: list[str]) -> str:
    files = ", ".join(f"{name}.gz" for name in catalog.IDX_FILES)
    npz = f", or keras' {catalog.NPZ_NAME}" if spec.has_npz else ""
    message = (
        f"{spec.title} not found; tried: {'; '.join(tried)}; to fix it, set {ENV_DATA} or pass "
        f"--data-dir (data_dir= in Python) to a folder holding {spec.name}/ with {files} "
        f"(gzip or uncompressed){npz}"
    )
    # The CLI prints it on one line.
    return " ".join(message.split())
