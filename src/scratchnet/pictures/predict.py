"""From pictures to answers: prepare each picture, run the model once on the batch, decide.

predict_images(model, inputs) takes file paths, folders, image bytes, Pillow images or arrays
and returns one record per picture (the same dicts `scratchnet predict --json` prints and the
studio's POST /api/predict returns); predict_picture does it for one picture. A record says the
prediction, the calibrated probabilities, how unlike the training pictures it is (score) and the
decision: "answer", "unsure" (low confidence) or "reject" (not a digit / not clothing, blank).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError, ScratchnetError
from ..threads import blas_threads
from .decode import IMAGE_SUFFIXES, as_gray, decode_gray, read_gray
from .pipeline import Invert, Kind, Prepared, prepare_candidates
from .typical import OutlierScore

__all__ = ["Picture", "Reader", "expand_inputs", "predict_images", "predict_picture"]

UNSURE_BELOW = 0.5  # calibrated confidence under which the answer is "unsure"
OBJECT_DATASETS = ("fashion-mnist",)


@dataclass
class Picture:
    """One input: its name for messages and records, and how to get its grayscale pixels."""

    name: str
    source: Any  # a Path, bytes, a Pillow image or an array

    def gray(self) -> np.ndarray:
        if isinstance(self.source, Path):
            return read_gray(self.source)
        if isinstance(self.source, bytes | bytearray | memoryview):
            return decode_gray(bytes(self.source), self.name)
        return as_gray(self.source, self.name)


def _files_in(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                found.append(Path(root) / name)
    return found


def expand_inputs(inputs: Any) -> Iterator[Picture]:
    """Turn what the user gave into pictures, in order.

    A path (str or os.PathLike) to a folder yields its image files (recursively, by extension,
    sorted); to anything else, that path (checked when read). Bytes are one encoded image; a
    Pillow image is one picture; an array is one picture ((h, w), (h, w, 3), (h, w, 4)) or a
    batch ((n, h, w) or (n, h, w, 3|4)); a list or tuple is expanded item by item.
    """
    if isinstance(inputs, str | os.PathLike):
        path = Path(inputs)
        if path.is_dir():
            files = _files_in(path)
            if not files:
                raise ImageError(
                    f"{path}: the folder holds no image files ({', '.join(IMAGE_SUFFIXES[:4])} ...)"
                )
            yield from (Picture(str(f), f) for f in files)
        else:
            yield Picture(str(path), path)
    elif isinstance(inputs, bytes | bytearray | memoryview):
        yield Picture("picture", inputs)
    elif type(inputs).__module__.startswith("PIL."):
        yield Picture(getattr(inputs, "filename", "") or "picture", inputs)
    elif isinstance(inputs, np.ndarray):
        colour = inputs.ndim >= 3 and inputs.shape[-1] in (3, 4)
        if inputs.ndim == 2 or (inputs.ndim == 3 and colour):
            yield Picture("array", inputs)
        elif inputs.ndim in (3, 4):
            for i in range(inputs.shape[0]):
                yield Picture(f"array[{i}]", inputs[i])
        else:
            raise ImageError(
                f"expected an image array (h, w), (h, w, 3|4) or a batch (n, h, w[, 3|4]); "
                f"received shape {inputs.shape}"
            )
    elif isinstance(inputs, list | tuple):
        for index, item in enumerate(inputs):
            for picture in expand_inputs(item):
                if picture.name in ("array", "picture"):
                    picture.name = f"{picture.name}[{index}]"
                yield picture
    else:
        raise ImageError(
            "expected image paths, folders, bytes, Pillow images or arrays; received "
            f"{type(inputs).__name__}"
        )


class Reader:
    """What predicting with one model needs from its file: class names, the kind of pictures,
    the temperature, the typicality statistics and the decision thresholds."""

    def __init__(self, model: Any) -> None:
        if isinstance(model, str | os.PathLike):
            from ..nn import load_model

            model = load_model(model)
        if getattr(model, "n_in", None) != 784:
            raise ScratchnetError(
                f"the model takes {getattr(model, 'n_in', '?')} inputs; 28x28 pictures need 784"
            )
        self.model = model
        meta = getattr(model, "metadata", {}) or {}
        self.dataset = str(meta.get("dataset") or "mnist")
        self.kind: Kind = "object" if self.dataset in OBJECT_DATASETS else "digit"
        names = meta.get("class_names")
        if isinstance(names, list) and len(names) == model.n_out:
            self.names = [str(n) for n in names]
        else:
            self.names = [str(i) for i in range(model.n_out)]
        calibration = meta.get("calibration") if isinstance(meta.get("calibration"), dict) else {}
        temperature = calibration.get("temperature", 1.0)
        valid = isinstance(temperature, int | float) and 0.01 <= temperature <= 100
        self.temperature = float(temperature) if valid else 1.0
        typical = meta.get("typicality") if isinstance(meta.get("typicality"), dict) else {}
        self.outlier = OutlierScore.from_json(typical)
        threshold = typical.get("threshold")
        self.threshold = float(threshold) if isinstance(threshold, int | float) else None
        unsure = calibration.get("unsure_below", UNSURE_BELOW)
        self.unsure_below = float(unsure) if isinstance(unsure, int | float) else UNSURE_BELOW
        self.refusal = {"digit": "not a digit", "object": "not clothing"}[self.kind]
        if self.dataset not in ("mnist", "fashion-mnist"):
            self.refusal = "not like the training pictures"

    def prepare(self, gray: np.ndarray, invert: Invert = "auto") -> Prepared:
        """The picture prepared for this model (the first of candidates())."""
        return self.candidates(gray, invert)[0]

    def candidates(self, gray: np.ndarray, invert: Invert = "auto") -> list[Prepared]:
        """The picture prepared for this model: one Prepared, or two when the ink's polarity
        is a toss-up (records() keeps the one that looks more like the training pictures)."""
        return prepare_candidates(gray, kind=self.kind, invert=invert)

    def records(
        self, names: list[str], prepared: list[Prepared | list[Prepared]], top: int = 3
    ) -> list[dict]:
        """Run the model on the prepared pictures (one batch) and build one record each.

        prepared: per picture a Prepared or a list of candidates; of several, the one with the
        lowest outlier score is kept (the most confident without a score)."""
        return [record for record, _ in self.choose(names, prepared, top)]

    def choose(
        self, names: list[str], prepared: list[Prepared | list[Prepared]], top: int = 3
    ) -> list[tuple[dict, Prepared]]:
        """records(), each with the candidate it was made from."""
        if not prepared:
            return []
        groups = [item if isinstance(item, list) else [item] for item in prepared]
        flat = [candidate for group in groups for candidate in group]
        images = np.stack([p.image for p in flat])
        features = images.reshape(len(images), -1).astype(self.model.dtype)
        logits = np.asarray(self.model.predict_logits(features), dtype=np.float64)
        z = logits / self.temperature
        z -= z.max(axis=1, keepdims=True)
        probs = np.exp(z)
        probs /= probs.sum(axis=1, keepdims=True)
        scores = np.full(len(flat), np.nan)
        if self.outlier is not None:
            scores = self.outlier.score(images, logits, self.temperature)
        # A blank candidate or statistics that do not fit it: no score.
        scores = np.where([p.blank for p in flat], np.nan, scores)
        scores = np.where(np.isfinite(scores), scores, np.nan)
        out = []
        start = 0
        for name, group in zip(names, groups, strict=True):
            stop = start + len(group)
            index = start + _best(scores[start:stop], probs[start:stop], group)
            start = stop
            score = None if np.isnan(scores[index]) else float(scores[index])
            out.append((self._record(name, flat[index], probs[index], score, top), flat[index]))
        return out

    def _record(self, name: str, item: Prepared, probs: np.ndarray, score, top: int) -> dict:
        order = np.argsort(probs)[::-1][: max(1, min(top, len(probs)))]
        best = int(order[0])
        confidence = float(probs[best])
        if item.blank:
            decision, reason = "reject", "no ink found: a blank picture"
        elif score is not None and self.threshold is not None and score > self.threshold:
            decision, reason = "reject", "unlike the pictures the model was trained on"
        elif confidence < self.unsure_below:
            decision, reason = "unsure", f"confidence under {self.unsure_below:.0%}"
        else:
            decision, reason = "answer", ""
        answered = decision != "reject"
        verdict = {
            "answer": self.names[best],
            "unsure": f"unsure ({self.names[best]}?)",
            "reject": self.refusal,
        }[decision]
        return {
            "image": name,
            "prediction": self.names[best] if answered else None,
            "label": best if answered else None,
            "decision": decision,
            "verdict": verdict,
            "reason": reason,
            "confidence": round(confidence, 6),
            "score": None if score is None else round(score, 4),
            "threshold": self.threshold,
            "probabilities": {
                n: round(float(p), 6) for n, p in zip(self.names, probs, strict=True)
            },
            "top": [
                {"class": self.names[i], "label": int(i), "probability": round(float(probs[i]), 6)}
                for i in order
            ],
        }


def _best(scores: np.ndarray, probs: np.ndarray, group: list[Prepared]) -> int:
    """Of one picture's candidates, the most typical (lowest score), else the most confident
    that is not blank."""
    if len(group) == 1:
        return 0
    if np.isfinite(scores).any():
        return int(np.nanargmin(scores))
    confidence = np.where([p.blank for p in group], -1.0, probs.max(axis=1))
    return int(np.argmax(confidence))


def predict_images(
    model: Any,
    inputs: Any,
    *,
    invert: Invert = "auto",
    top: int = 3,
    on_error: str = "raise",
) -> list[dict]:
    """Predict every picture in `inputs`; one record (a JSON-able dict) per picture, in order.

    model: a Sequential (or the path of a model file); inputs: see expand_inputs. on_error
    "raise" stops at the first bad picture with an ImageError naming it; "record" gives that
    picture the record {"image": name, "error": message} and goes on.
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record'; received {on_error!r}")
    reader = model if isinstance(model, Reader) else Reader(model)
    results: list[dict | None] = []
    names: list[str] = []
    prepared: list[list[Prepared]] = []
    slots: list[int] = []
    # The steps multiply small matrices: a second BLAS thread only adds waiting (3x slower
    # on a busy 2-core machine). The network's one batched product gets its own count.
    with blas_threads(1):
        for picture in expand_inputs(inputs):
            try:
                item = reader.candidates(picture.gray(), invert)
            except ImageError as exc:
                if on_error == "raise":
                    raise
                results.append({"image": picture.name, "error": str(exc)})
                continue
            slots.append(len(results))
            results.append(None)
            names.append(picture.name)
            prepared.append(item)
    for slot, record in zip(slots, reader.records(names, prepared, top), strict=True):
        results[slot] = record
    return results  # type: ignore[return-value]


def predict_picture(model: Any, picture: Any, *, name: str = "picture", **options: Any) -> dict:
    """One picture (bytes of an image file, an array, a Pillow image or a path) -> its record.

    This is what the studio's POST /api/predict returns. Raises ImageError for a bad picture.
    """
    if isinstance(picture, bytes | bytearray | memoryview):
        inputs: Iterable[Any] = [Picture(name, picture)]
        reader = model if isinstance(model, Reader) else Reader(model)
        item = reader.candidates(inputs[0].gray(), options.get("invert", "auto"))  # type: ignore[index]
        return reader.records([name], [item], options.get("top", 3))[0]
    records = predict_images(model, picture, **options)
    if len(records) != 1:
        raise ImageError(f"expected one picture; received {len(records)}")
    return records[0]
