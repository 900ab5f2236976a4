"""The served PATHs and what lies under them: model files, run folders and sweep folders.

Files are found by walking the PATHs (symlinks are not followed, and a file whose real path lies
outside every PATH is skipped), and a request can only name an entry of this catalog: a request
never builds a file path itself, so `..`, encoded dots and symlinks out cannot reach anything.
Model files are read with load_model (no pickle). Nothing here knows HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ScratchnetError
from . import folders

MAX_DEPTH = 6  # how deep under a PATH to look: runs live in folders, not in deep trees
MAX_FOLDERS = 20_000  # stop walking a PATH that is a whole disk
RESCAN_SECONDS = 1.0  # the catalog is rebuilt at most this often


class NotFound(ScratchnetError):
    """A name that is not in the catalog (or a file that went away)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One thing found: kind "run", "sweep" or "model" (a loose .npz), its name and path."""

    kind: str
    name: str
    path: Path
    root: Path


def _labels(roots: list[Path]) -> list[str]:
    """A short distinct prefix per PATH when there are several; none when there is one."""
    if len(roots) == 1:
        return [""]
    labels: list[str] = []
    for root in roots:
        base = root.name or "root"
        label, n = base, 2
        while label in labels:
            label, n = f"{base}-{n}", n + 1
        labels.append(label)
    return labels


class Catalog:
    """The models, runs and sweeps under `paths` (files or folders), rescanned as they change."""

    def __init__(self, paths: list[str | os.PathLike]) -> None:
        roots = []
        for given in paths or ["."]:
            path = Path(given)
            if not path.exists():
                raise ScratchnetError(f"{given}: no such file or folder to serve; check the path")
            if path.is_file() and path.suffix != ".npz":
                raise ScratchnetError(
                    f"{given}: not a model file (.npz) nor a folder; give a model, a run folder "
                    "or a folder holding runs"
                )
            roots.append(path.resolve())
        self.roots = roots
        self._labels = _labels(roots)
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        self._scanned = -1e9

    # -- finding -------------------------------------------------------------------------------
    def entries(self) -> dict[tuple[str, str], Entry]:
        """{(kind, name): Entry}, rescanned when older than RESCAN_SECONDS."""
        with self._lock:
            if time.monotonic() - self._scanned > RESCAN_SECONDS:
                self._entries = self._scan()
                self._scanned = time.monotonic()
            return self._entries

    def refresh(self) -> None:
        with self._lock:
            self._scanned = -1e9

    def inside(self, path: Path) -> bool:
        """Whether the real path (symlinks resolved) lies within one of the served PATHs."""
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def folder_inside(self, folder: Path) -> bool:
        """Whether a folder and every file directly in it lie within the served PATHs: a run
        whose history.json (say) is a symbolic link out is refused whole, whoever reads it."""
        if not self.inside(folder):
            return False
        try:
            children = list(os.scandir(folder))
        except OSError:
            return False
        return all(self.inside(Path(child.path)) for child in children if child.is_symlink())

    def _scan(self) -> dict[tuple[str, str], Entry]:
        found: dict[tuple[str, str], Entry] = {}
        for root, label in zip(self.roots, self._labels, strict=True):
            for kind, path in self._walk(root):
                relative = path.relative_to(root).as_posix() if path != root else ""
                name = "/".join(p for p in (label, relative) if p) or root.name or "."
                found.setdefault((kind, name), Entry(kind, name, path, root))
        return found

    def _walk(self, root: Path):
        if root.is_file():
            yield "model", root
            return
        budget = MAX_FOLDERS
        for folder, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(folder)
            budget -= 1
            depth = len(here.relative_to(root).parts)
            if budget <= 0 or depth >= MAX_DEPTH:
                dirnames[:] = []
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            names = {n for n in filenames if self.inside(here / n)}
            # A run or sweep folder with a file that links out is not served at all.
            whole = len(names) == len(filenames)
            if whole and folders.is_sweep(here):
                yield "sweep", here
            if whole and folders.is_run(here):
                yield "run", here
                own = folders.RunFolder(here).run  # its model and checkpoint are the run's
                names -= {own.model_path.name, own.checkpoint_path.name}
            for name in sorted(names):
                if name.endswith(".npz"):
                    yield "model", here / name

    def get(self, kind: str, name: str) -> Entry:
        entry = self.entries().get((kind, name))
        if entry is None:
            self.refresh()
            entry = self.entries().get((kind, name))
        if entry is None:
            raise NotFound(f"no {kind} named {name!r} under the served paths")
        inside = self.inside(entry.path) if kind == "model" else self.folder_inside(entry.path)
        if not inside:
            raise NotFound(f"no {kind} named {name!r} under the served paths")
        return entry

    def of_kind(self, kind: str) -> list[Entry]:
        found = [entry for (k, _), entry in sorted(self.entries().items()) if k == kind]
        check = self.inside if kind == "model" else self.folder_inside
        return [entry for entry in found if check(entry.path)]

    # -- models --------------------------------------------------------------------------------
    def model_file(self, name: str) -> Path:
        """The model file behind a model name: a loose .npz, or a run's model.npz."""
        entries = self.entries()
        entry = entries.get(("model", name)) or entries.get(("run", name))
        if entry is None:
            raise NotFound(f"no model named {name!r} under the served paths")
        if entry.kind == "run" and not self.folder_inside(entry.path):
            raise NotFound(f"no model named {name!r} under the served paths")
        path = folders.RunFolder(entry.path).model_path if entry.kind == "run" else entry.path
        if path is None or not self.inside(path):
            raise NotFound(f"{name!r} has no model file (yet)")
        return path

    def model_names(self) -> list[str]:
        runs = [e.name for e in self.of_kind("run") if folders.RunFolder(e.path).model_path]
        return sorted(runs + [e.name for e in self.of_kind("model")])


def iso_date(seconds: float) -> str | None:
    if not seconds:
        return None
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def network_name(widths: list[int]) -> str:
    return "-".join(str(w) for w in widths)


def describe_model(model: Any) -> dict[str, Any]:
    """What the Models view shows of a loaded model: widths, layers, data set, settings."""
    from ..nn.dense import Dense

    metadata = getattr(model, "metadata", {}) or {}
    widths = [model.n_in] + [layer.n_out for layer in model.layers if isinstance(layer, Dense)]
    return {
        "network": network_name(widths),
        "layers": [repr(layer) for layer in model.layers],
        "parameters": int(model.num_params),
        "dataset": metadata.get("dataset"),
        "classes": metadata.get("class_names"),
        "settings": metadata.get("config") or {},
        "test_accuracy": metadata.get("test_accuracy"),
        "epochs_trained": metadata.get("epochs_trained"),
    }
