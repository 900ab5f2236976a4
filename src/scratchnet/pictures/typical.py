"""How much a prepared 28x28 picture looks like the training data: a distance to its statistics.

Each image is described by a few shape statistics (ink mass, box, greyness, edges, spread,
pieces and holes, the network's energy) and by its ink pooled into 7x7 cells. The training
images give one mean per class and a covariance shared by all (as in linear discriminant
analysis); a picture's score is its Mahalanobis distance to the nearest class mean. Noise,
textures, two digits in one box and most letters lie far from every class; digits lie near one.
The training images' ink pooled into 14x14 cells also gives a subspace (their leading principal
components): a letter's strokes where no digit has them lie off it.
The threshold is chosen elsewhere (scratchnet.train.calibration).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .components import count_pieces

__all__ = ["FEATURES", "OutlierScore", "Typicality", "pooled_ink", "shape_features"]

SHAPE = (
    "log_mass",
    "box_height",
    "box_width",
    "greyness",
    "log_edges",
    "spread_rows",
    "spread_cols",
    "energy",
    "euler_number",
    "pieces",
)
FEATURES = (*SHAPE, *(f"ink_{r}_{c}" for r in range(7) for c in range(7)))


def _extent(flags: np.ndarray) -> np.ndarray:
    """(n, 28) bool -> (n,) span of the True entries / 20 (0 for none)."""
    any_on = flags.any(axis=1)
    first = flags.argmax(axis=1)
    last = 27 - flags[:, ::-1].argmax(axis=1)
    return np.where(any_on, last - first + 1, 0) / 20.0


def _euler_numbers(on: np.ndarray) -> np.ndarray:
    """(n, h, w) bool -> (n,) Euler numbers (pieces minus holes), 8-connected, by counting 2x2
    quads (Gray 1971): E = (Q1 - Q3 + 2 QD) / 4, with QD the two diagonal patterns."""
    padded = np.pad(on, ((0, 0), (1, 1), (1, 1))).astype(np.int8)
    a, b = padded[:, :-1, :-1], padded[:, :-1, 1:]
    c, d = padded[:, 1:, :-1], padded[:, 1:, 1:]
    total = a + b + c + d
    q1 = (total == 1).sum(axis=(1, 2))
    q3 = (total == 3).sum(axis=(1, 2))
    diagonal = ((a & d & ~b & ~c) | (b & c & ~a & ~d)).astype(bool) & (total == 2)
    qd = diagonal.sum(axis=(1, 2))
    return (q1 - q3 + 2 * qd) / 4.0


def shape_features(images: np.ndarray, logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """images: (n, 28, 28) in [0, 1], logits: (n, classes) -> (n, len(FEATURES)) float64."""
    x = np.asarray(images, dtype=np.float64).reshape(-1, 28, 28)
    mass = x.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-6)
    on = x > 0.1
    idx = np.arange(28)
    n_on = np.maximum(on.sum(axis=(1, 2)), 1)
    grey = (4.0 * x * (1.0 - x) * on).sum(axis=(1, 2)) / n_on
    edges = np.abs(np.diff(x, axis=1)).sum(axis=(1, 2))
    edges += np.abs(np.diff(x, axis=2)).sum(axis=(1, 2))
    row_mass, col_mass = x.sum(axis=2), x.sum(axis=1)
    row_mean, col_mean = row_mass @ idx / safe, col_mass @ idx / safe
    spread_r = np.sqrt(np.maximum(row_mass @ (idx**2) / safe - row_mean**2, 0.0))
    spread_c = np.sqrt(np.maximum(col_mass @ (idx**2) / safe - col_mean**2, 0.0))
    z = np.asarray(logits, dtype=np.float64) / temperature
    top = z.max(axis=1)
    energy = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    strong = x > 0.4
    pieces = count_pieces(strong, 3).astype(np.float64)
    shape = np.stack(
        [
            np.log(safe),
            _extent(on.any(axis=2)),
            _extent(on.any(axis=1)),
            grey,
            np.log(np.maximum(edges, 1e-6) / safe),
            spread_r / 5.0,
            spread_c / 5.0,
            energy / 10.0,
            np.clip(_euler_numbers(strong), -4, 4),
            np.minimum(pieces, 6),
        ],
        axis=1,
    )
    pooled = x.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
    return np.concatenate([shape, pooled], axis=1)


def pooled_ink(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) -> (n, 196): the ink averaged over 2x2 cells (14x14)."""
    x = np.asarray(images, dtype=np.float64).reshape(-1, 14, 2, 14, 2)
    return x.mean(axis=(2, 4)).reshape(-1, 196)


class Typicality:
    """Mahalanobis distance of features to the nearest class mean, with a shared covariance;
    and, when fitted with the images, how far a picture's 14x14 ink lies from the subspace
    the training images span (the residual of its projection on their leading principal
    components: strokes where no digit has them, as in a letter)."""

    def __init__(
        self,
        means: np.ndarray,
        inv_cov: np.ndarray,
        centre: np.ndarray | None = None,
        basis: np.ndarray | None = None,
    ) -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.inv_cov = np.asarray(inv_cov, dtype=np.float64)
        k = len(FEATURES)
        if self.means.ndim != 2 or self.means.shape[1] != k or self.inv_cov.shape != (k, k):
            raise ValueError(
                f"typicality statistics must have shapes (classes, {k}) and ({k}, {k}); "
                f"received {self.means.shape} and {self.inv_cov.shape}"
            )
        self.centre = self.basis = None
        if centre is not None and basis is not None:
            self.centre = np.asarray(centre, dtype=np.float64)
            self.basis = np.asarray(basis, dtype=np.float64)
            if self.centre.shape != (196,) or self.basis.ndim != 2 or self.basis.shape[1] != 196:
                raise ValueError(
                    "typicality subspace must have shapes (196,) and (components, 196); "
                    f"received {self.centre.shape} and {self.basis.shape}"
                )

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        images: np.ndarray | None = None,
        components: int = 15,
    ) -> Typicality:
        """Class means and the inverse of the pooled within-class covariance (regularised);
        with `images` (n, 28, 28) also their 14x14 ink's mean and `components` leading
        principal directions (15 measured best of 15, 30, 50 at telling letters from
        digits)."""
        labels = np.asarray(labels, dtype=np.int64)
        classes = np.unique(labels)
        means = np.stack([features[labels == c].mean(axis=0) for c in classes])
        centred = features - means[np.searchsorted(classes, labels)]
        cov = centred.T @ centred / max(len(features) - len(classes), 1)
        cov += 1e-3 * np.mean(np.diag(cov)) * np.eye(cov.shape[0]) + 1e-6 * np.eye(cov.shape[0])
        centre = basis = None
        if images is not None and len(images) > components:
            pooled = pooled_ink(images)
            centre = pooled.mean(axis=0)
            basis = np.linalg.svd(pooled - centre, full_matrices=False)[2][:components]
        return cls(means, np.linalg.inv(cov), centre, basis)

    def distance(self, features: np.ndarray) -> np.ndarray:
        """(n, k) -> (n,) Mahalanobis distance to the nearest class mean."""
        diff = features[:, None, :] - self.means[None, :, :]  # (n, classes, k)
        squared = np.einsum("nck,kj,ncj->nc", diff, self.inv_cov, diff)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def residual(self, images: np.ndarray) -> np.ndarray | None:
        """(n, 28, 28) -> (n,) the 14x14 ink's distance from the training images' subspace,
        per unit of ink (None without a subspace)."""
        if self.basis is None or self.centre is None:
            return None
        pooled = pooled_ink(images)
        centred = pooled - self.centre
        rest = centred - (centred @ self.basis.T) @ self.basis
        return np.sqrt((rest**2).sum(axis=1) / np.maximum(pooled.sum(axis=1), 1e-6))

    def to_json(self) -> dict[str, Any]:
        def listed(rows):
            return [[float(f"{v:.6g}") for v in row] for row in rows]

        out: dict[str, Any] = {
            "features": list(FEATURES),
            "means": listed(self.means),
            "inv_cov": listed(self.inv_cov),
        }
        if self.basis is not None and self.centre is not None:
            out["subspace_centre"] = listed([self.centre])[0]
            out["subspace_basis"] = listed(self.basis)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Typicality | None:
        """The statistics saved in a model's metadata, or None when absent or of another form
        (a file saved before the subspace existed has none, and is read without it)."""
        if not isinstance(data, dict) or data.get("features") != list(FEATURES):
            return None
        try:
            subspace = data.get("subspace_centre"), data.get("subspace_basis")
            return cls(
                np.array(data["means"], dtype=np.float64),
                np.array(data["inv_cov"], dtype=np.float64),
                *(
                    (np.array(subspace[0], dtype=np.float64), np.array(subspace[1]))
                    if subspace[0] is not None and subspace[1] is not None
                    else (None, None)
                ),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _logistic_fit(z: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000) -> tuple:
    """L2-regularised logistic regression by gradient descent on standardised z: (w, b)."""
    w = np.zeros(z.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -30, 30)))
        g = p - y
        w -= 0.5 * (z.T @ g / len(y) + l2 * w)
        b -= 0.5 * float(g.mean())
    return w, b


class OutlierScore:
    """A score for "this is not like the training pictures": a logistic regression on the shape
    features, the distance to the nearest class (Typicality), the calibrated confidence and,
    when the Typicality has one, the distance from the training images' subspace,
    trained to tell the data set's images drawn as pictures from generated non-digits
    (outlier exposure, Hendrycks et al. 2019). score(...) is the log-odds of "not like them".
    """

    def __init__(self, typicality: Typicality, mean, scale, weight, bias: float) -> None:
        self.typicality = typicality
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.weight = np.asarray(weight, dtype=np.float64)
        self.bias = float(bias)
        k = len(FEATURES) + 2 + (typicality.basis is not None)
        if not (self.mean.shape == self.scale.shape == self.weight.shape == (k,)):
            raise ValueError(f"outlier score statistics must have shape ({k},)")

    @staticmethod
    def inputs(typicality: Typicality, images, logits, temperature: float) -> np.ndarray:
        features = shape_features(images, logits, temperature)
        z = np.asarray(logits, dtype=np.float64) / temperature
        probs = np.exp(z - z.max(axis=1, keepdims=True))
        confidence = probs.max(axis=1) / probs.sum(axis=1)
        columns = [features, typicality.distance(features), confidence]
        residual = typicality.residual(np.asarray(images).reshape(-1, 28, 28))
        return np.column_stack(columns if residual is None else [*columns, residual])

    @classmethod
    def fit(cls, typicality: Typicality, inliers: np.ndarray, outliers: np.ndarray):
        """inliers, outliers: (n, k) from inputs() -> the fitted OutlierScore."""
        x = np.vstack([inliers, outliers])
        y = np.r_[np.zeros(len(inliers)), np.ones(len(outliers))]
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        weight, bias = _logistic_fit((x - mean) / scale, y)
        return cls(typicality, mean, scale, weight, bias)

    def score_inputs(self, inputs: np.ndarray) -> np.ndarray:
        return ((inputs - self.mean) / self.scale) @ self.weight + self.bias

    def score(self, images, logits, temperature: float) -> np.ndarray:
        """(n, 28, 28), (n, classes) -> (n,) log-odds that each is unlike the training data."""
        return self.score_inputs(self.inputs(self.typicality, images, logits, temperature))

    def to_json(self) -> dict[str, Any]:
        def listed(values):
            return [float(f"{v:.6g}") for v in values]

        return {
            **self.typicality.to_json(),
            "outlier_mean": listed(self.mean),
            "outlier_scale": listed(self.scale),
            "outlier_weight": listed(self.weight),
            "outlier_bias": float(f"{self.bias:.6g}"),
        }

    @classmethod
    def from_json(cls, data: Any) -> OutlierScore | None:
        typicality = Typicality.from_json(data)
        if typicality is None:
            return None
        try:
            return cls(
                typicality,
                data["outlier_mean"],
                data["outlier_scale"],
                data["outlier_weight"],
                data["outlier_bias"],
            )
        except (KeyError, TypeError, ValueError):
            return None
