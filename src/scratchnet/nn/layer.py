"""The contract every layer keeps: a forward/backward pair, as objects (the CS231n pattern).

`forward` caches what `backward` needs; `backward` overwrites `self.grads` (it never accumulates,
so there is no zero_grad to forget) and returns the gradient with respect to the input.
This module holds only the base class; the layers themselves live in dense.py, activations.py...
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The float types a network may compute in: float32 for speed, float64 for gradient checks.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype: Any) -> np.dtype:
    """Return `dtype` as a NumPy float dtype, or raise ValueError naming the valid choices."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be float32 or float64; received dtype={dtype!r}") from exc
    if resolved not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64; received dtype={dtype!r}")
    return resolved


class Layer:
    """Base class: a differentiable map from `(batch, n_in)` to `(batch, n_out)`.

    Subclasses fill `params` and `grads` (dicts with identical keys and shapes) and implement
    `forward` and `backward`. `buffers` holds state that is saved with the model but not
    trained (batch normalisation's running mean and variance, say). `get_config()` returns the
    JSON-able constructor arguments, so that `type(layer)(**layer.get_config())` rebuilds the
    same architecture (weights come separately).
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._ready_for_backward = False

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """x: (batch, n_in) -> (batch, n_out); caches what backward needs when training."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, *, need_grad_in: bool = True) -> np.ndarray | None:
        """grad_out: (batch, n_out) -> grad_in: (batch, n_in); fills self.grads.

        With need_grad_in=False (the first layer of a network) the input gradient is not
        computed and None is returned: it would be thrown away, and it costs a matmul.
        """
        raise NotImplementedError

    def backward_update(
        self, grad_out: np.ndarray, *, need_grad_in: bool = True, alpha: float, beta: float
    ) -> tuple[np.ndarray | None, tuple[str, ...]]:
        """backward, and the update param <- beta * param + alpha * grad where the layer can
        fold it into the products that compute the gradients (a plain SGD step: alpha = -lr,
        beta = 1 - lr * weight_decay). Returns (grad_in, names of the parameters it updated);
        their grads are then not written. This default updates nothing: plain backward.
        """
        return self.backward(grad_out, need_grad_in=need_grad_in), ()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able."""
        return {}

    def output_size(self, n_in: int) -> int:
        """The number of output features for `n_in` input features (unchanged by default)."""
        return n_in

    def _require_forward(self) -> None:
        if not self._ready_for_backward:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward(x, training=True): "
                "run a forward pass in training mode first"
            )

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
