"""Calibrated probabilities: temperature scaling and the expected calibration error.

Temperature scaling (Guo et al., 2017) divides the logits by one number T > 0, fitted on held-out
examples by minimising the cross-entropy; the predicted class never changes, only how sure the
network says it is. It does not make a network more accurate nor detect inputs unlike the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "calibrate",
    "expected_calibration_error",
    "fit_temperature",
    "softmax_with_temperature",
]


REFUSE_SHARE = 0.06  # of the held-out validation pictures, refused as "not a digit"


def softmax_with_temperature(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T), max-shifted. logits: (batch, classes) -> (batch, classes) float64."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the mean cross-entropy of softmax(logits / T) on (logits, labels).

    logits: (n, classes), labels: (n,) int -> T. The loss is convex in 1/T, so a golden-section
    search over log T in [0.05, 20] finds the minimum to about 1e-4.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],) or logits.shape[0] == 0:
        raise ValueError(
            f"expected logits (n, classes) and labels (n,); received {logits.shape} and "
            f"{labels.shape}"
        )
    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(logits, labels, np.exp(a)), _nll(logits, labels, np.exp(b))
    while high - low > 1e-4:
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(logits, labels, np.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(logits, labels, np.exp(b))
    return float(np.exp((low + high) / 2))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins.

    probs: (n, classes), labels: (n,) -> sum_b (n_b / n) |accuracy_b - confidence_b|.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def calibrate(
    model: Any,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    *,
    dataset: str = "mnist",
    x_scale: float | None = None,
    seed: int = 0,
    n_pictures: int = 300,
    min_validation: int = 2000,
    refuse_share: float = REFUSE_SHARE,
) -> dict[str, Any]:
    """What a trained model needs to say how sure it is and when not to answer: its metadata.

    train: (x_fit, y_fit), the training images (flat, scaled by x_scale) and labels.
    "calibration": the temperature fitted on the validation split, with the validation ECE
    before and after. "typicality": the class means and shared covariance of the training
    images' features and their 14x14 subspace (scratchnet.pictures.typical), an outlier score
    (a logistic regression fitted to tell validation images drawn as user pictures from
    generated non-digits: noise, textures, blank paper, letters, two digits) and its
    threshold: the score above which `refuse_share` of the validation pictures held out of
    that fit lie. Those pictures are drawn harder than people's (varied pens, light and noise
    on top of MNIST's own odd digits): with the default model, refusing 6% of them refused
    0.7% of real digits (UCI handwriting, pen strokes, fonts, clean and damaged) and 92.9% of
    non-digits on benchmarks/bench_predict.py's tuning half, against 0.5% and 89.0% at 4%.
    The shares of held-out non-digits it refuses are recorded beside it. Each picture goes through
    predict's whole pipeline (about 10 ms on one core), so 2 x `n_pictures` of them bound what
    this adds to a training run (a few seconds at the default). With fewer than
    `min_validation` validation images there is no "typicality" (nothing but blank pictures is
    refused).
    """
    if not 0.0 < refuse_share < 1.0:
        raise ValueError(f"refuse_share must lie in (0, 1); received refuse_share={refuse_share!r}")
    from ..pictures.pipeline import prepare_candidates
    from ..pictures.predict import OBJECT_DATASETS
    from ..pictures.synthetic import as_picture, non_digits
    from ..pictures.typical import OutlierScore, Typicality, shape_features
    from ..threads import blas_threads

    x_val, y_val = validation
    logits_val = np.asarray(model.predict_logits(x_val), dtype=np.float64)
    temperature = fit_temperature(logits_val, y_val)
    calibration = {
        "temperature": round(temperature, 6),
        "fitted_on": f"validation split ({len(y_val)} images)",
        "validation_ece_before": round(
            expected_calibration_error(softmax_with_temperature(logits_val), y_val), 6
        ),
        "validation_ece_after": round(
            expected_calibration_error(softmax_with_temperature(logits_val, temperature), y_val),
            6,
        ),
    }
    if len(y_val) < min_validation:
        # Too few validation images to choose a refusal threshold: calibration only.
        return {"calibration": calibration}
    rng = np.random.default_rng([seed, 7])
    x_fit, y_fit = train
    sample = rng.permutation(len(x_fit))[:3000]  # class means and a 59x59 covariance
    train_images = x_fit[sample] * x_scale if x_scale is not None else x_fit[sample]
    train_images = np.asarray(train_images, dtype=model.dtype)
    logits_train = model.predict_logits(train_images)
    typical = Typicality.fit(
        shape_features(train_images.reshape(-1, 28, 28), logits_train, temperature),
        np.asarray(y_fit)[sample],
        images=train_images.reshape(-1, 28, 28),
    )
    kind = "object" if dataset in OBJECT_DATASETS else "digit"

    def inputs(pictures: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per candidate reading of each picture (predict tries both polarities when unsure):
        the score's inputs, whether it is blank, and where each picture's candidates start."""
        with blas_threads(1):  # small products: a second BLAS thread only waits
            groups = [prepare_candidates(p, kind=kind) for p in pictures]
        flat = [candidate for group in groups for candidate in group]
        images = np.stack([p.image for p in flat])
        logits = model.predict_logits(images.reshape(len(images), -1).astype(model.dtype))
        blank = np.array([p.blank for p in flat])
        starts = np.r_[0, np.cumsum([len(g) for g in groups])[:-1]]
        return OutlierScore.inputs(typical, images, logits, temperature), blank, starts

    def scores(outlier, values, blank, starts) -> np.ndarray:
        """Per picture the score of its most typical reading, as predict keeps (inf: blank)."""
        flat = np.where(blank, np.inf, outlier.score_inputs(values))
        return np.minimum.reduceat(flat, starts)

    n_pictures = min(n_pictures, len(x_val))
    chosen = rng.permutation(len(x_val))[:n_pictures]
    digits, digits_blank, digit_starts = inputs(
        [as_picture(x_val[i].reshape(28, 28).astype(np.float32), rng, vary=True) for i in chosen]
    )
    others = non_digits(rng, max(n_pictures, 10))
    other_inputs, other_blank, other_starts = inputs(
        [1.0 - p if rng.random() < 0.5 else p for _, p in others]
    )
    names = np.array([k for k, _ in others])
    # Fit on one half (each picture's first reading), choose the threshold and measure on the
    # other half.
    fit_d = digit_starts[::2][~digits_blank[digit_starts[::2]]]
    fit_o = other_starts[::2][~other_blank[other_starts[::2]]]
    outlier = OutlierScore.fit(typical, digits[fit_d], other_inputs[fit_o])
    digit_scores = scores(outlier, digits, digits_blank, digit_starts)[1::2]
    digit_scores = digit_scores[np.isfinite(digit_scores)]
    threshold = (
        float(np.quantile(digit_scores, 1.0 - refuse_share)) if digit_scores.size else float("inf")
    )
    other_scores = scores(outlier, other_inputs, other_blank, other_starts)
    held_o = np.arange(len(others)) % 2 == 1
    refused = {
        k: round(float(np.mean(other_scores[held_o & (names == k)] > threshold)), 4)
        for k in sorted(set(names.tolist()))
    }
    return {
        "calibration": calibration,
        "typicality": {
            **outlier.to_json(),
            "threshold": round(threshold, 6),
            "threshold_rule": f"{100 * (1 - refuse_share):g}th percentile of the outlier score "
            "over validation images "
            "drawn as pictures (held out of the score's fit)",
            "validation_refused": (
                round(float(np.mean(digit_scores > threshold)), 4) if digit_scores.size else 0.0
            ),
            "non_digits_refused": refused,
        },
    }
