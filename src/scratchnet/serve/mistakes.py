"""The test images a model gets wrong, for the studio's Mistakes view.

The test set of the model's data set is read from disk (never downloaded: the studio does not
reach the network), predicted once per model file version and kept; the view filters by true and
predicted class.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import numpy as np

LIMIT = 240  # images sent per request: a page of thumbnails, not the whole test set


class Mistakes:
    """Per model file: the test set and the model's predictions on it."""

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._tests: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._predictions: dict[tuple[Path, tuple], np.ndarray] = {}

    def test_set(self, dataset: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
        from ..data import load_dataset

        with self._lock:
            if dataset not in self._tests:
                _, test = load_dataset(
                    dataset, self.data_dir or data_dir, download=False, progress=False
                )
                self._tests[dataset] = test
            return self._tests[dataset]

    def _dataset(self, model) -> tuple[str, str | None]:
        metadata = getattr(model, "metadata", {}) or {}
        config = metadata.get("config") or {}
        return str(metadata.get("dataset") or config.get("dataset") or "mnist"), config.get(
            "data_dir"
        )

    def predictions(self, path: Path, version: tuple, model) -> np.ndarray:
        from ..data.features import images_to_features

        key = (path, version)
        with self._lock:
            cached = self._predictions.get(key)
        if cached is not None:
            return cached
        x_test, _ = self.test_set(*self._dataset(model))
        probs = model.predict_proba(images_to_features(x_test, model.dtype))
        with self._lock:
            self._predictions[key] = probs
        return probs

    def wrong(
        self, path: Path, version: tuple, model, *, true: int | None, predicted: int | None
    ) -> dict[str, Any]:
        """The misclassified test images (true and predicted class, confidence, pixels)."""
        dataset, data_dir = self._dataset(model)
        x_test, y_test = self.test_set(dataset, data_dir)
        probs = self.predictions(path, version, model)
        guesses = probs.argmax(axis=1)
        labels = y_test.astype(np.int64)
        wrong = np.flatnonzero(guesses != labels)
        chosen = wrong
        if true is not None:
            chosen = chosen[labels[chosen] == true]
        if predicted is not None:
            chosen = chosen[guesses[chosen] == predicted]
        items = [
            {
                "index": int(i),
                "true": int(labels[i]),
                "predicted": int(guesses[i]),
                "confidence": round(float(probs[i, guesses[i]]), 4),
                "pixels": base64.b64encode(np.ascontiguousarray(x_test[i]).tobytes()).decode(),
            }
            for i in chosen[:LIMIT]
        ]
        return {
            "dataset": dataset,
            "test_images": int(labels.size),
            "wrong": int(wrong.size),
            "matching": int(chosen.size),
            "shown": len(items),
            "items": items,
        }

    def image(self, model, index: int) -> tuple[np.ndarray, int]:
        """Test image `index` as (28, 28) floats in [0, 1], and its true label."""
        x_test, y_test = self.test_set(*self._dataset(model))
        if not 0 <= index < len(x_test):
            raise IndexError(f"test image {index} does not exist (0..{len(x_test) - 1})")
        return x_test[index].astype(np.float32) / np.float32(255.0), int(y_test[index])
