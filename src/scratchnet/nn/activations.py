"""Element-wise activation layers (ReLU, leaky ReLU, sigmoid, tanh, identity) and softmax.

Each is a parameter-free Layer; Dense can also own one (`Dense(..., activation="relu")`), which
lets it work in place on its own pre-activation buffer. Softmax as a layer is for models that
must output probabilities; for training, pair logits with the fused SoftmaxCrossEntropy loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import Layer
from .workspace import Workspace, order_of


class Activation(Layer):
    """A parameter-free element-wise layer; subclasses implement `_apply` and `_derivative`."""

    name = "activation"

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None
        self._work = Workspace()

    def forward(
        self, x: np.ndarray, *, training: bool = False, inplace: bool = False
    ) -> np.ndarray:
        """y = f(x); x: (batch, n) -> (batch, n). With inplace=True x's buffer is reused."""
        out = self._apply(x, x if inplace else None)
        if training:
            self._cache(x, out)
            self._ready_for_backward = True
        return out

    def backward(self, grad_out: np.ndarray, *, need_grad_in: bool = True) -> np.ndarray | None:
        """grad_in = grad_out * f'(x); both (batch, n)."""
        self._require_forward()
        if not need_grad_in:
            return None
        return self._grad_in(grad_out)

    # Most activations' derivative is cheapest from the output y; those that need x override.
    def _cache(self, x: np.ndarray, out: np.ndarray) -> None:
        self._out = out

    def _apply(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def _grad_in(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class Identity(Activation):
    """y = x."""

    name = "identity"

    def _apply(self, x, out):
        return x if out is not None else x.copy()

    def _grad_in(self, grad_out):
        return grad_out


class ReLU(Activation):
    """y = max(x, 0); the derivative is 1 where y > 0, else 0 (0 at the kink, by convention)."""

    name = "relu"

    def _apply(self, x, out):
        if x.ndim == 2 and x.dtype.kind == "f":
            # Against a row of zeros along x's unit-stride axis NumPy takes a SIMD loop; against
            # the scalar 0 a slower one: 28 against 67 us on a (128, 1024) float32 batch, the
            # same values (NaN stays NaN). The row is a few KB, whatever the batch.
            out = np.empty_like(x) if out is None else out
            src, dst = (x.T, out.T) if order_of(x) == "F" else (x, out)
            np.maximum(src, self._work.zeros("zeros", src.shape[1], x.dtype), out=dst)
            return out
        return np.maximum(x, 0, out=out)

    def _grad_in(self, grad_out):
        y = self._out
        if y.ndim != 2 or grad_out.shape != y.shape or grad_out.dtype.kind != "f":
            return grad_out * (y > 0)
        # grad_out * (y > 0), written into reused arrays: on a (128, 1024) layer this is the
        # difference between two fresh allocations per step and none.
        # The buffers take y's layout (batch- or feature-major, nn/autotune.py): element-wise
        # work between arrays of one layout streams through memory; mixed layouts do not.
        rows, cols = y.shape
        order = order_of(y)
        mask = np.greater(y, 0, out=self._work.get("mask", rows, cols, np.dtype(np.bool_), order))
        out = self._work.get("grad_in", rows, cols, grad_out.dtype, order)
        return np.multiply(grad_out, mask, out=out)


class LeakyReLU(Activation):
    """y = x where x > 0, else negative_slope * x.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope for negative inputs; 0 <= negative_slope < 1.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        slope = float(negative_slope)
        if not 0.0 <= slope < 1.0:
            raise ValueError(
                f"negative_slope must be in [0, 1); received negative_slope={negative_slope!r}"
            )
        self.negative_slope = slope

    def _apply(self, x, out):
        # max(x, slope * x) equals the piecewise definition because 0 <= slope < 1.
        return np.maximum(x, x * self.negative_slope, out=out)

    def _grad_in(self, grad_out):
        # y and x have the same sign, so the output tells which piece applied.
        return grad_out * np.where(self._out > 0, 1.0, self.negative_slope).astype(grad_out.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-x)), computed without overflow; dy/dx = y (1 - y)."""

    name = "sigmoid"

    def _apply(self, x, out):
        return sigmoid(x, out=out)

    def _grad_in(self, grad_out):
        y = self._out
        return grad_out * y * (1 - y)


class Tanh(Activation):
    """y = tanh(x); dy/dx = 1 - y^2."""

    name = "tanh"

    def _apply(self, x, out):
        return np.tanh(x, out=out)

    def _grad_in(self, grad_out):
        y = self._out
        return grad_out * (1 - y * y)


class Softmax(Activation):
    """y_ij = exp(x_ij - max_j x_ij) / sum_k exp(x_ik - max_j x_ij), row-wise over classes.

    Backward: grad_in = y * (grad_out - sum_k grad_out_k y_k), the Jacobian-vector product.
    """

    name = "softmax"

    def _apply(self, x, out):
        return softmax(x, out=out)

    def _grad_in(self, grad_out):
        y = self._out
        return y * (grad_out - np.sum(grad_out * y, axis=1, keepdims=True))


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), stable for large |x| (no overflow warning)."""
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    pos = 1 / (1 + e)
    result = np.where(x >= 0, pos, e * pos)
    if out is not None:
        out[...] = result
        return out
    return result.astype(x.dtype, copy=False)


def row_max(x: np.ndarray) -> np.ndarray:
    """max over each row, keepdims: (batch, k) -> (batch, 1); exactly x.max(axis=1, keepdims=True).

    For a few classes NumPy's reduction along a short last axis pays a per-row overhead (6 us
    for (100, 10)); reducing the transposed copy along its first axis is one vectorised pass
    (under 2 us, copy included). The maximum is exact, so both give the same bits.
    """
    if x.ndim == 2 and x.shape[1] <= 32 and x.shape[0] > 1:
        return np.ascontiguousarray(x.T).max(axis=0)[:, np.newaxis]
    return x.max(axis=1, keepdims=True)


def softmax(logits: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax, max-shifted so that exp never overflows; (batch, k) -> (batch, k)."""
    shifted = np.subtract(logits, row_max(logits), out=out)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax via log-sum-exp; finite for any finite logits."""
    shifted = logits - row_max(logits)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)
}


def get_activation(spec: str | dict | Activation | None) -> Activation:
    """An Activation from its name ('relu', 'leaky_relu', 'sigmoid', 'tanh', 'softmax',
    'identity'; None means identity), a dict {"name": ..., **arguments} as saved in model
    files, or an Activation instance (returned as is)."""
    if spec is None:
        return Identity()
    if isinstance(spec, Activation):
        return spec
    kwargs: dict[str, Any] = {}
    if isinstance(spec, dict):
        kwargs = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    key = str(spec).lower().replace("-", "_")
    if key == "linear":
        key = "identity"
    if key not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(sorted(ACTIVATIONS))}; received {spec!r}"
        )
    return ACTIVATIONS[key](**kwargs)
