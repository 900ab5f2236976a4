"""Gradient checking: compare a backward pass with central finite differences, in float64.

Public, for tests and for anyone writing a new layer: `check_layer`, `check_loss` and
`check_model` return the relative error per input/parameter; below 1e-6 means the analytic
gradient is right. It does not fix anything; it only measures.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layer import Layer
from .losses import Loss


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / max(||a|| + ||n||, 1e-12): 0 when equal, about 1 when unrelated."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    denom = max(float(np.linalg.norm(a) + np.linalg.norm(n)), 1e-12)
    return float(np.linalg.norm(a - n)) / denom


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences (f(x + eps) - f(x - eps)) / (2 eps), entry by entry.

    `x` is perturbed in place and restored; f reads it. x must be float64: in float32 the
    rounding error of f swamps the difference.
    """
    if x.dtype != np.float64:
        raise ValueError(f"gradient checks need float64 arrays; received {x.dtype}")
    grad = np.zeros_like(x)
    # Indexed in place, whatever x's memory order (a weight stored transposed, nn/autotune.py,
    # is F-ordered: x.reshape(-1) would perturb a copy).
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        plus = f()
        x[i] = original - eps
        minus = f()
        x[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_layer(
    layer: Layer, x: np.ndarray, *, rng: np.random.Generator, eps: float = 1e-6
) -> dict[str, float]:
    """Relative errors of `layer`'s gradients: {'input': ..., 'weight': ..., ...}.

    The scalar checked is sum(layer(x) * g) for a random upstream gradient g, so every output
    entry matters. x: (batch, n_in) float64; the layer must compute in float64.
    """
    x = np.array(x, dtype=np.float64)
    out = layer.forward(x.copy(), training=True)
    upstream = rng.standard_normal(out.shape)

    def scalar() -> float:
        return float(np.sum(layer.forward(x.copy(), training=True) * upstream))

    layer.forward(x.copy(), training=True)
    grad_in = layer.backward(upstream.copy())
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    errors = {"input": relative_error(grad_in, numerical_gradient(scalar, x, eps))}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(scalar, param, eps))
    return errors


def check_loss(loss: Loss, outputs: np.ndarray, targets: np.ndarray, *, eps: float = 1e-6) -> float:
    """Relative error of `loss`'s gradient with respect to `outputs` (float64)."""
    outputs = np.array(outputs, dtype=np.float64)
    _, analytic = loss(outputs.copy(), targets)
    numeric = numerical_gradient(lambda: loss.value(outputs.copy(), targets), outputs, eps)
    return relative_error(analytic, numeric)


def check_model(
    model, loss: Loss, x: np.ndarray, targets: np.ndarray, *, eps: float = 1e-6
) -> dict[str, float]:
    """Relative errors for every parameter of a whole network under `loss`: {'0.weight': ...}."""
    x = np.array(x, dtype=np.float64)

    def scalar() -> float:
        return loss.value(model.forward(x, training=True), targets)

    _, grad = loss(model.forward(x, training=True), targets)
    model.backward(grad)
    analytic = {f"{i}.{name}": g.copy() for i, name, _, g in model.parameters()}
    return {
        f"{i}.{name}": relative_error(analytic[f"{i}.{name}"], numerical_gradient(scalar, p, eps))
        for i, name, p, _ in model.parameters()
    }
