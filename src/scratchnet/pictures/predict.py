"""From pictures to answers: prepare each picture, run the model once on the batch, decide.

predict_images(model, inputs) takes file paths, folders, image bytes, Pillow images or arrays
and returns one record per picture (the same dicts `scratchnet predict --json` prints and the
studio's POST /api/predict returns); predict_picture does it for one picture. A record says the
prediction, the calibrated probabilities, how unlike the training pictures it is (score) and the
decision: "answer", "unsure" (low confidence) or "reject" (not a digit / not clothing, blank).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError, ScratchnetError
from ..threads import blas_threads
from .decode import IMAGE_SUFFIXES, as_gray, decode_gray, read_gray
from .pipeline import Invert, Kind, Prepared, prepare_candidates
from .typical import OutlierScore

__all__ = [
    "Picture",
    "Reader",
    "expand_inputs",
    "predict_images",
    "predict_picture",
    "prepare_pictures",
]

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


# Pictures are prepared in worker processes too (besides this one) for batches of at least
# POOL_MIN: starting one costs about half a second, which this process spends preparing the
# first pictures itself. Work goes out in chunks of POOL_CHUNK; this process takes chunks from
# the front and the workers from the back, so neither waits for the other at the end.
POOL_MIN = 256
POOL_CHUNK = 16
MODEL_BATCH = 256  # pictures run through the model at a time
POOL_WINDOW = 128  # chunks handed out at a time (2048 pictures)
_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _prepare_one(
    picture: Picture, kind: Kind, invert: Invert, keep_gray: bool
) -> tuple[list[Prepared] | ImageError, np.ndarray | None]:
    """One picture's candidates (or the ImageError that names it), and its gray pixels when
    asked for."""
    try:
        gray = picture.gray()
        return prepare_candidates(gray, kind=kind, invert=invert), gray if keep_gray else None
    except ImageError as exc:
        return exc, None


def _prepare_chunk(pictures: list[Picture], kind: Kind, invert: Invert, keep_gray: bool) -> list:
    """_prepare_one for each picture, under one BLAS thread: the steps multiply small matrices,
    and a second thread only adds waiting (3x slower on a busy 2-core machine)."""
    with blas_threads(1):
        return [_prepare_one(p, kind, invert, keep_gray) for p in pictures]


def _init_worker() -> None:
    """Ctrl-C is the parent's to handle (it stops the pool); BLAS keeps to one thread."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_size(count: int, workers: int | None) -> int:
    """Worker processes to start for `count` pictures: none for small batches or one core."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 0  # a daemonic process (a multiprocessing.Pool worker) may not start any
    if workers is None:
        from ..threads import cpu_count

        return cpu_count() - 1 if count >= POOL_MIN else 0
    return max(workers - 1, 0) if count > POOL_CHUNK else 0


@contextlib.contextmanager
def _workers_environment() -> Iterator[None]:
    """While worker processes start: BLAS limited to one thread (read when a worker loads
    NumPy), and the main module's file and name hidden, so that a worker does not run the
    caller's script again (spawned processes do, to find functions defined there; the workers
    only run scratchnet's own). A script without an `if __name__ == "__main__":` guard would
    otherwise predict again in every worker."""
    main = sys.modules.get("__main__")
    hidden = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
    saved = {key: os.environ.get(key) for key in _BLAS_ENV}
    os.environ.update(dict.fromkeys(_BLAS_ENV, "1"))
    for key in hidden:
        if key == "__spec__":
            main.__spec__ = None  # type: ignore[union-attr]
        else:
            del main.__dict__[key]  # type: ignore[union-attr]
    try:
        yield
    finally:
        main.__dict__.update(hidden) if main else None
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _start_pool(size: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A fork server (a fresh process, no threads, the picture modules loaded once) where the
    # platform has one, else spawn: never a fork of this possibly threaded process.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["scratchnet.pictures.predict"])
    return ProcessPoolExecutor(size, mp_context=context, initializer=_init_worker)


def prepare_pictures(
    pictures: list[Picture],
    kind: Kind = "digit",
    invert: Invert = "auto",
    *,
    workers: int | None = None,
    keep_gray: bool = False,
) -> Iterator[tuple[Picture, list[Prepared] | ImageError, np.ndarray | None]]:
    """Prepare each picture (see prepare_candidates), yielding in order (picture, its
    candidates or the ImageError naming it, its gray pixels if keep_gray else None).

    workers: processes to use, this one included: None chooses (every core this process may
    use, for POOL_MIN pictures or more), 1 prepares here only. The results are the same either
    way: the same steps run on the same pixels.
    """
    size = _pool_size(len(pictures), workers)
    chunks = [pictures[i : i + POOL_CHUNK] for i in range(0, len(pictures), POOL_CHUNK)]
    if size == 0:
        for chunk in chunks:
            results = _prepare_chunk(chunk, kind, invert, keep_gray)
            for picture, (item, gray) in zip(chunk, results, strict=True):
                yield picture, item, gray
        return
    pool = _start_pool(size)
    try:
        # A window at a time, so that results prepared ahead wait in memory for a window only.
        for start in range(0, len(chunks), POOL_WINDOW):
            window = chunks[start : start + POOL_WINDOW]
            yield from _shared(pool, size, window, kind, invert, keep_gray)
    finally:
        pool.shutdown(wait=True)  # at most one chunk per worker, and one, still to finish


def _shared(
    pool, workers: int, chunks: list[list[Picture]], kind: Kind, invert: Invert, keep_gray: bool
):
    """Prepare the chunks here and in the pool's workers; yield as prepare_pictures does.

    A thread hands the chunks to the workers, last chunk first (starting the first worker
    takes about half a second), while this process prepares chunks from the front: each chunk
    is either taken here or submitted there, under the lock. The thread keeps only one chunk
    more than there are workers submitted and unfinished, so this process never waits long for
    one it reaches: it waits for it rather than cancel it (on Python 3.11 a pool whose worker
    dies after a future was cancelled hangs).
    """
    import threading

    lock = threading.Lock()
    taken: set[int] = set()
    futures: dict[int, Any] = {}
    slots = threading.Semaphore(workers + 1)

    def submit_all() -> None:
        # Any failure to start or reach the workers (a broken or shut pool, no processes
        # allowed here) leaves the rest of the chunks to this process.
        with _workers_environment():  # only while the workers start
            try:
                for _ in range(workers):
                    pool.submit(int)  # starts a worker (slow the first time), outside the lock
            except Exception:
                return
        for index in range(len(chunks) - 1, 0, -1):
            slots.acquire()
            with lock:
                if index in taken:
                    return
                args = (chunks[index], kind, invert, keep_gray)
                try:
                    futures[index] = future = pool.submit(_prepare_chunk, *args)
                except Exception:
                    return
            future.add_done_callback(lambda _: slots.release())

    submitter = threading.Thread(target=submit_all, name="scratchnet-pictures", daemon=True)
    submitter.start()
    try:
        for index, chunk in enumerate(chunks):
            with lock:
                taken.add(index)
                future = futures.get(index)
            results = None
            if future is not None:
                try:
                    results = future.result()
                except BrokenProcessPool:  # a worker died (out of memory?): do it here
                    results = None
            if results is None:
                results = _prepare_chunk(chunk, kind, invert, keep_gray)
            for picture, (item, gray) in zip(chunk, results, strict=True):
                yield picture, item, gray
    finally:
        with lock:
            taken.update(range(len(chunks)))  # the submitter stops at its next chunk
        slots.release()  # in case it waits for a slot
        submitter.join()


def predict_images(
    model: Any,
    inputs: Any,
    *,
    invert: Invert = "auto",
    top: int = 3,
    on_error: str = "raise",
    workers: int | None = None,
) -> list[dict]:
    """Predict every picture in `inputs`; one record (a JSON-able dict) per picture, in order.

    model: a Sequential (or the path of a model file); inputs: see expand_inputs. on_error
    "raise" stops at the first bad picture with an ImageError naming it; "record" gives that
    picture the record {"image": name, "error": message} and goes on. workers: processes
    that prepare the pictures, this one included (see prepare_pictures): None uses every core
    for large batches, 1 only this process; the records are the same.
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record'; received {on_error!r}")
    reader = model if isinstance(model, Reader) else Reader(model)
    results: list[dict | None] = []
    names: list[str] = []
    prepared: list[list[Prepared]] = []
    slots: list[int] = []

    def run_model() -> None:
        # In batches while the pictures are still being prepared (by the workers too).
        for slot, record in zip(slots, reader.records(names, prepared, top), strict=True):
            results[slot] = record
        names.clear(), prepared.clear(), slots.clear()

    pictures = list(expand_inputs(inputs))
    steps = prepare_pictures(pictures, reader.kind, invert, workers=workers)
    with contextlib.closing(steps):  # a raise below stops the worker processes at once
        for picture, item, _ in steps:
            if isinstance(item, ImageError):
                if on_error == "raise":
                    raise item
                results.append({"image": picture.name, "error": str(item)})
                continue
            slots.append(len(results))
            results.append(None)
            names.append(picture.name)
            prepared.append(item)
            if len(names) == MODEL_BATCH:
                run_model()
    run_model()
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
