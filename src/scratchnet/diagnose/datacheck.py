"""Read the training data itself for data faults, and the repairs diagnose can make to it.

DataReport: the inputs' scale as the network sees them, the label counts, and how often a
label disagrees with the labels of its nearest images (pixels, Euclidean). The repairs
(rescale, balance, clean-labels) return new arrays; the caller's arrays are never changed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..data.features import images_to_features

NEIGHBOURS = 5
#: Cleaning votes with more neighbours than detection: at 70% noise spread over nine other
#: classes, the true label holds about 30% of a neighbourhood's labels against about 8% for
#: each wrong one, and only a larger vote makes that plurality reliable (on MNIST, 5 neighbours
#: keep examples that are 64% right; 25 keep examples that are 89% right).
CLEAN_NEIGHBOURS = 25
SAMPLE = 500  # images whose labels are checked against their neighbours
REFERENCES = 5_000  # neighbours are searched among at most this many training images
CHUNK = 1000


@dataclasses.dataclass
class DataReport:
    """feature_rms / feature_max: of the inputs as the network gets them (pixels / 255);
    class_counts: training labels per class; neighbour_disagreement: the share of `checked`
    sampled images whose label differs from the majority of their `neighbours` nearest."""

    feature_rms: float
    feature_max: float
    class_counts: list[int]
    neighbour_disagreement: float | None
    neighbours: int = NEIGHBOURS
    checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _flat(images: np.ndarray) -> np.ndarray:
    return np.asarray(images).reshape(len(images), -1)


def _neighbour_labels(
    queries: np.ndarray, references: np.ndarray, ref_labels: np.ndarray, k: int,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Labels of each query's k nearest references, (n_queries, k); `exclude[i]` is the
    index of query i among the references (itself, or -1), never its own neighbour."""
    refs = references.astype(np.float32)
    ref_norms = np.einsum("ij,ij->i", refs, refs)
    out = np.empty((len(queries), k), dtype=np.int64)
    for begin in range(0, len(queries), CHUNK):
        q = queries[begin : begin + CHUNK].astype(np.float32)
        distances = ref_norms[None, :] - 2 * (q @ refs.T)
        if exclude is not None:
            own = exclude[begin : begin + CHUNK]
            rows = np.flatnonzero(own >= 0)
            distances[rows, own[rows]] = np.inf
        nearest = np.argpartition(distances, k, axis=1)[:, :k]
        out[begin : begin + len(q)] = ref_labels[nearest]
    return out


def _disagrees(labels: np.ndarray, neighbour_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Whether each label differs from its neighbours' majority (a tie counts as agreeing)."""
    counts = np.zeros((len(labels), n_classes), dtype=np.int64)
    np.add.at(counts, (np.arange(len(labels))[:, None], neighbour_labels), 1)
    own = counts[np.arange(len(labels)), labels]
    return own < counts.max(axis=1)


def read_data(images: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> DataReport:
    """A DataReport on training images (uint8 or float, as train takes them) and labels."""
    rng = np.random.default_rng([seed, 3])
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    n_classes = int(labels.max()) + 1 if n else 0
    sample = np.sort(rng.choice(n, size=min(n, SAMPLE), replace=False)) if n else np.array([])
    features = images_to_features(np.asarray(images)[sample], np.float64)
    with np.errstate(all="ignore"):
        rms = float(np.sqrt(np.mean(np.square(features)))) if features.size else 0.0
        peak = float(np.max(np.abs(features))) if features.size else 0.0
    counts = np.bincount(labels, minlength=n_classes).tolist() if n else []
    disagreement = None
    if n > 10 * NEIGHBOURS and n_classes > 1:
        references = np.sort(rng.choice(n, size=min(n, REFERENCES), replace=False))
        position = np.full(n, -1)
        position[references] = np.arange(len(references))
        flat = _flat(images)
        found = _neighbour_labels(
            flat[sample], flat[references], labels[references], NEIGHBOURS,
            exclude=position[sample],
        )
        disagreement = float(np.mean(_disagrees(labels[sample], found, n_classes)))
    return DataReport(rms, peak, counts, disagreement, NEIGHBOURS, len(sample))


# -- repairs -------------------------------------------------------------------------------------
def rescale(images: np.ndarray) -> np.ndarray:
    """Images whose features lie in [0, 1]: uint8 stretched to 0..255, floats divided by their
    largest absolute value."""
    images = np.asarray(images)
    peak = float(np.max(np.abs(images))) if images.size else 0.0
    if peak == 0:
        return images.copy()
    if np.issubdtype(images.dtype, np.integer):
        stretched = np.rint(images.astype(np.float64) * (255 / peak))
        return np.clip(stretched, 0, 255).astype(np.uint8)
    return (images / peak).astype(images.dtype)


def balance(images: np.ndarray, labels: np.ndarray, *, seed: int = 0):
    """Every class oversampled (drawn again at random) up to the largest class's count."""
    rng = np.random.default_rng([seed, 4])
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    picks = [np.flatnonzero(labels == c) for c in range(len(counts)) if counts[c]]
    target = counts.max()
    order = np.concatenate(
        [np.concatenate([idx, rng.choice(idx, target - len(idx))]) for idx in picks]
    )
    order = rng.permutation(order)
    return np.asarray(images)[order], labels[order]


def clean_labels(images: np.ndarray, labels: np.ndarray, *, seed: int = 0):
    """Wilson's editing (1972), with a 25-neighbour vote: drop every example whose label
    is not the plurality label of its nearest training images."""
    rng = np.random.default_rng([seed, 5])
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    references = np.sort(rng.choice(n, size=min(n, REFERENCES), replace=False))
    position = np.full(n, -1)
    position[references] = np.arange(len(references))
    flat = _flat(images)
    k = min(CLEAN_NEIGHBOURS, len(references) - 1)
    found = _neighbour_labels(flat, flat[references], labels[references], k, exclude=position)
    keep = ~_disagrees(labels, found, int(labels.max()) + 1)
    return np.asarray(images)[keep], np.asarray(labels)[keep]


REPAIRS = {"rescale", "balance", "clean-labels"}


def apply_data_fix(name: str, data: tuple, *, seed: int = 0) -> tuple:
    """((x_train, y_train), (x_test, y_test)) with the training part repaired as `name` says
    (the test set is never touched; rescale applies to both, as the network sees both)."""
    (x_train, y_train), (x_test, y_test) = data
    if name == "rescale":
        return (rescale(x_train), y_train), (rescale(x_test), y_test)
    if name == "balance":
        return balance(x_train, y_train, seed=seed), (x_test, y_test)
    if name == "clean-labels":
        return clean_labels(x_train, y_train, seed=seed), (x_test, y_test)
    raise ValueError(f"data fix must be one of {', '.join(sorted(REPAIRS))}; received {name!r}")
