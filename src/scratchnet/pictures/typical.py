"""How much a prepared 28x28 picture looks like the training data: a distance to its statistics.

A few shape statistics of each image (ink mass, box, greyness, edges, spread), plus the network's
own energy, are compared with their mean and covariance on the training images (Mahalanobis
distance). Noise, textures, blank paper, two digits squeezed into one box and most letters lie
far out; digits lie close. The threshold is chosen elsewhere (scratchnet.pictures.refuse).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FEATURES", "Typicality", "shape_features"]

FEATURES = (
    "log_mass",
    "box_height",
    "box_width",
    "greyness",
    "log_edges",
    "spread_rows",
    "spread_cols",
    "energy",
)


def shape_features(images: np.ndarray, logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """images: (n, 28, 28) in [0, 1], logits: (n, classes) -> (n, len(FEATURES)) float64."""
    x = np.asarray(images, dtype=np.float64).reshape(-1, 28, 28)
    n = x.shape[0]
    mass = x.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-6)
    on = x > 0.1
    rows_on, cols_on = on.any(axis=2), on.any(axis=1)
    idx = np.arange(28)

    def extent(flags: np.ndarray) -> np.ndarray:
        first = np.where(flags.any(axis=1), flags.argmax(axis=1), 0)
        last = np.where(flags.any(axis=1), 27 - flags[:, ::-1].argmax(axis=1), -1)
        return (last - first + 1) / 20.0

    n_on = np.maximum(on.sum(axis=(1, 2)), 1)
    grey = (4.0 * x * (1.0 - x) * on).sum(axis=(1, 2)) / n_on
    edges = np.abs(np.diff(x, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(x, axis=2)).sum(
        axis=(1, 2)
    )
    row_mass, col_mass = x.sum(axis=2), x.sum(axis=1)
    row_mean = row_mass @ idx / safe
    col_mean = col_mass @ idx / safe
    spread_r = np.sqrt(np.maximum(row_mass @ (idx**2) / safe - row_mean**2, 0.0))
    spread_c = np.sqrt(np.maximum(col_mass @ (idx**2) / safe - col_mean**2, 0.0))
    z = np.asarray(logits, dtype=np.float64) / temperature
    top = z.max(axis=1)
    energy = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    features = np.stack(
        [
            np.log(safe),
            extent(rows_on),
            extent(cols_on),
            grey,
            np.log(np.maximum(edges, 1e-6) / safe),
            spread_r / 5.0,
            spread_c / 5.0,
            energy / 10.0,
        ],
        axis=1,
    )
    assert features.shape == (n, len(FEATURES))
    return features


class Typicality:
    """Mahalanobis distance of shape features to the training images' mean and covariance."""

    def __init__(self, mean: np.ndarray, inv_cov: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.inv_cov = np.asarray(inv_cov, dtype=np.float64)
        k = len(FEATURES)
        if self.mean.shape != (k,) or self.inv_cov.shape != (k, k):
            raise ValueError(
                f"typicality statistics must have shapes ({k},) and ({k}, {k}); received "
                f"{self.mean.shape} and {self.inv_cov.shape}"
            )

    @classmethod
    def fit(cls, features: np.ndarray) -> Typicality:
        """Mean and (slightly regularised) inverse covariance of (n, k) features."""
        mean = features.mean(axis=0)
        cov = np.cov(features, rowvar=False) + 1e-4 * np.eye(features.shape[1])
        return cls(mean, np.linalg.inv(cov))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """(n, k) -> (n,) Mahalanobis distances (0 = the training images' average)."""
        centred = features - self.mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", centred, self.inv_cov, centred), 0.0))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": [round(float(v), 8) for v in self.mean],
            "inv_cov": [[round(float(v), 8) for v in row] for row in self.inv_cov],
        }

    @classmethod
    def from_json(cls, data: Any) -> Typicality | None:
        """The statistics saved in a model's metadata, or None when absent or of another form."""
        if not isinstance(data, dict) or data.get("features") != list(FEATURES):
            return None
        try:
            return cls(
                np.array(data["mean"], dtype=np.float64),
                np.array(data["inv_cov"], dtype=np.float64),
            )
        except (KeyError, TypeError, ValueError):
            return None
