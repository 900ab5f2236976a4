"""The studio's state behind the HTTP routes: the catalog, loaded models, mistakes, summaries.

Plain Python (no HTTP): each method returns JSON-able data or raises a ScratchnetError
(NotFound for a name outside the catalog, ImageError for a bad picture).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScratchnetError
from . import folders
from .catalog import Catalog, NotFound, describe_model, iso_date, network_name
from .inference import ModelCache, explain
from .mistakes import Mistakes
from .predict import predict_upload, prepare_upload, reader_for, record_for_image


class Studio:
    """Everything the routes need, built from the served PATHs."""

    def __init__(self, paths: list[str | os.PathLike], *, data_dir: str | None = None) -> None:
        self.catalog = Catalog(paths)
        self.models = ModelCache()
        self.mistakes = Mistakes(data_dir)
        self._lock = threading.Lock()
        self._summaries: dict[Path, tuple[tuple, dict[str, Any]]] = {}
        self._readers: dict[int, Any] = {}

    # -- models --------------------------------------------------------------------------------
    def _model(self, name: str | None):
        """The model named, or without a name the first one that loads (a broken file beside
        good ones is skipped; when none loads, the first one's error is raised)."""
        if name:
            path = self.catalog.model_file(name)
            return (name, path, *self.models.get(path))
        names = self.catalog.model_names()
        if not names:
            raise NotFound("no model under the served paths; train one with scratchnet train")
        first_error: Exception | None = None
        for candidate in names:
            path = self.catalog.model_file(candidate)
            try:
                return (candidate, path, *self.models.get(path))
            except (ScratchnetError, OSError) as exc:
                first_error = first_error or exc
        raise first_error

    def _reader(self, model):
        """The model's pictures.Reader, made once per loaded model."""
        with self._lock:
            reader = self._readers.get(id(model))
            if reader is None or reader.model is not model:
                reader = self._readers[id(model)] = reader_for(model)
            return reader

    def list_models(self) -> list[dict[str, Any]]:
        result = []
        for name in self.catalog.model_names():
            item: dict[str, Any] = {"name": name}
            try:
                path = self.catalog.model_file(name)
                model, _ = self.models.get(path)
            except (ScratchnetError, OSError) as exc:
                item["error"] = str(exc).splitlines()[0]
            else:
                item.update(describe_model(model))
                item["date"] = iso_date(path.stat().st_mtime)
                item["file"] = path.name
            result.append(item)
        return result

    def predict(self, data: bytes, *, model: str | None, top: int, invert: Any) -> dict:
        """What `scratchnet predict --json` prints for this picture (one record)."""
        _, _, network, _ = self._model(model)
        return predict_upload(self._reader(network), data, invert=invert, top=top)

    def inspect(self, data: bytes, *, model: str | None, invert: Any = "auto") -> dict:
        name, _, network, lock = self._model(model)
        image = prepare_upload(self._reader(network), data, invert=invert)
        return self._inspect(name, network, lock, image, source="upload")

    def inspect_test_image(self, index: int, *, model: str | None) -> dict:
        name, _, network, lock = self._model(model)
        try:
            image, label = self.mistakes.image(network, index)
        except IndexError as exc:
            raise NotFound(str(exc)) from None
        result = self._inspect(name, network, lock, image, source=f"test image {index}")
        result["true_label"] = label
        return result

    def _inspect(self, name, network, lock, image: np.ndarray, *, source: str) -> dict:
        """explain's layers and templates, with the record `predict` gives for this input (its
        calibrated probabilities replace the raw softmax, so the page shows what predict says)."""
        result = explain(network, lock, image)
        reader = self._reader(network)
        record = record_for_image(reader, image, name=source, top=network.n_out)
        result["model"] = name
        result["record"] = record
        result["probabilities"] = [record["probabilities"][n] for n in reader.names]
        result["predicted"] = int(np.argmax(result["probabilities"]))
        return result

    def wrong(self, name: str, *, true: int | None, predicted: int | None) -> dict:
        name, path, network, _ = self._model(name)
        stat = path.stat()
        result = self.mistakes.wrong(
            path, (stat.st_size, stat.st_mtime_ns), network, true=true, predicted=predicted
        )
        result["model"] = name
        return result

    # -- runs and sweeps -----------------------------------------------------------------------
    def list_runs(self) -> list[dict[str, Any]]:
        return [self._summary(entry) for entry in self.catalog.of_kind("run")]

    def _summary(self, entry) -> dict[str, Any]:
        signature = folders.signature(entry.path)
        with self._lock:
            cached = self._summaries.get(entry.path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        summary = self._read_summary(entry)
        with self._lock:
            self._summaries[entry.path] = (signature, summary)
        return summary

    def _read_summary(self, entry) -> dict[str, Any]:
        run = folders.RunFolder(entry.path)
        config = run.config()
        history = run.history()
        progress = run.progress() or {}
        last = history[-1] if history else {}
        test_accuracy = None
        hidden = config.get("hidden")
        network = network_name([784, *hidden, 10]) if isinstance(hidden, list) else None
        if run.model_path is not None:
            try:
                model, _ = self.models.get(run.model_path)
            except (ScratchnetError, OSError):
                pass
            else:
                description = describe_model(model)
                network = description["network"]
                test_accuracy = description["test_accuracy"]
        if run.training():
            status = "training"
        elif run.model_path is not None:
            status = "done"
        else:
            status = "stopped"
        seconds = sum(float(row.get("seconds") or 0) for row in history)
        return {
            "name": entry.name,
            "status": status,
            "dataset": config.get("dataset"),
            "network": network,
            "epochs": len(history),
            "planned_epochs": config.get("epochs") or progress.get("epochs"),
            "val_accuracy": last.get("val_accuracy"),
            "accuracy": last.get("accuracy"),
            "test_accuracy": test_accuracy,
            "seconds": round(seconds, 3),
            "date": iso_date(run.modified()),
            "report": run.report_path is not None,
            "model": run.model_path is not None,
        }

    def run_history(self, name: str) -> dict[str, Any]:
        entry = self.catalog.get("run", name)
        run = folders.RunFolder(entry.path)
        return {
            "name": entry.name,
            "history": run.history(),
            "progress": _progress_only(run.progress()),
            "config": run.config(),
        }

    def list_sweeps(self) -> list[dict[str, Any]]:
        result = []
        for entry in self.catalog.of_kind("sweep"):
            sweep = folders.SweepFolder(entry.path)
            trials = sweep.trials()
            scores = [t["val_accuracy"] for t in trials if isinstance(t.get("val_accuracy"), float)]
            result.append(
                {
                    "name": entry.name,
                    "trials": len(trials),
                    "best_val_accuracy": max(scores) if scores else None,
                    "date": iso_date(sweep.modified()),
                    "report": sweep.report_path is not None,
                }
            )
        return result

    def sweep_trials(self, name: str) -> dict[str, Any]:
        entry = self.catalog.get("sweep", name)
        trials = folders.SweepFolder(entry.path).trials()
        keep = ("trial", "params", "seed", "status", "val_accuracy", "epochs", "seconds", "history")
        return {"name": entry.name, "trials": [{k: t.get(k) for k in keep} for t in trials]}

    def report_file(self, name: str) -> Path:
        for kind in ("run", "sweep"):
            try:
                entry = self.catalog.get(kind, name)
            except NotFound:
                continue
            reader = folders.RunFolder if kind == "run" else folders.SweepFolder
            path = reader(entry.path).report_path
            if path is not None and self.catalog.inside(path):
                return path
        raise NotFound(f"no report for {name!r} (build it with scratchnet report)")

    def live_state(self) -> tuple[list[dict[str, Any]], dict[str, tuple]]:
        """The runs' summaries and each run's signature (what the live stream compares)."""
        entries = self.catalog.of_kind("run")
        return [self._summary(e) for e in entries], {
            e.name: folders.signature(e.path) for e in entries
        }


def _progress_only(progress: dict[str, Any] | None) -> dict[str, Any] | None:
    """The progress note without its copy of the history (sent once, as "history")."""
    if progress is None:
        return None
    return {k: v for k, v in progress.items() if k not in ("history", "config")}
