"""Inverted dropout: in training, zero each activation with probability `rate` and scale the
survivors by 1 / (1 - rate), so that evaluation needs no rescaling (it is the identity).

The mask comes from the layer's own explicit np.random.Generator, drawn into a reused buffer.
It does not decay the rate, nor drop whole features or rows (no spatial/alpha dropout).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .layer import Layer


def check_rate(rate: Any, name: str = "rate") -> float:
    """A dropout probability in [0, 1) as a float, or a ValueError naming what was received."""
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number in [0, 1); received {name}={rate!r}")
    value = float(rate)
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1); received {name}={rate!r}")
    return value


class Dropout(Layer):
    """Inverted dropout: y = x * mask / (1 - rate), mask ~ Bernoulli(1 - rate); y = x in evaluation.

    x: (batch, n) -> y: (batch, n), same dtype (the layer has no dtype of its own).
    E[y] = x entry by entry, so evaluation (training=False) returns x unchanged (a copy).

    Parameters
    ----------
    rate : float
        The probability of zeroing an entry; 0 <= rate < 1 (0 makes the layer the identity).
    rng : np.random.Generator
        The source of the masks. Required unless `seed` is given (load_model passes one).
    seed : int, optional
        Shorthand for rng=np.random.default_rng(seed).
    """

    def __init__(
        self,
        rate: float,
        *,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.rate = check_rate(rate)
        if rng is None:
            if seed is None:
                raise ValueError(
                    "Dropout needs an explicit random generator: pass "
                    "rng=np.random.default_rng(SEED) or seed=SEED"
                )
            rng = np.random.default_rng(seed)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator; received rng={rng!r}")
        self.rng = rng
        # The scaled mask of the last training pass: 0 or 1 / (1 - rate). A view of _buffer,
        # which is kept between calls and reallocated only when it is too small.
        self._mask: np.ndarray | None = None
        self._buffer: np.ndarray | None = None

    def _mask_buffer(self, x: np.ndarray) -> np.ndarray:
        """A (batch, n) array of x's dtype, reusing the previous one when it is big enough.

        A leading-rows slice of a C-contiguous array is contiguous, so a smaller last batch of
        an epoch uses the same memory instead of forcing a new allocation.
        """
        buffer = self._buffer
        if (
            buffer is None
            or buffer.dtype != x.dtype
            or buffer.shape[1:] != x.shape[1:]
            or buffer.shape[0] < x.shape[0]
        ):
            buffer = self._buffer = np.empty(x.shape, dtype=x.dtype)
        return buffer[: x.shape[0]]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x * mask / (1 - rate) when training, else y = x; x: (batch, n) -> (batch, n)."""
        if x.ndim != 2:
            raise ValueError(
                f"Dropout expected input of shape (batch, features); received shape {x.shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        if not training:
            return x.copy()
        self._ready_for_backward = True
        if self.rate == 0.0:
            self._mask = None  # the identity: nothing to draw, nothing to remember
            return x.copy()
        mask = self._mask_buffer(x)
        self.rng.random(mask.shape, dtype=mask.dtype, out=mask)
        # u ~ U[0, 1) is >= rate with probability 1 - rate: the Bernoulli(1 - rate) keep mask,
        # written over the uniforms in place (the comparison's True/False become 1.0/0.0).
        np.greater_equal(mask, self.rate, out=mask)
        mask *= mask.dtype.type(1.0 / (1.0 - self.rate))
        self._mask = mask
        return x * mask

    def backward(self, grad_out: np.ndarray, *, need_grad_in: bool = True) -> np.ndarray | None:
        """grad_in = grad_out * mask / (1 - rate), the same scaled mask as the forward pass.

        grad_out: (batch, n) -> grad_in: (batch, n). There are no parameters.
        """
        self._require_forward()
        if not need_grad_in:
            return None
        if self._mask is None:
            return grad_out.copy()
        if grad_out.shape != self._mask.shape:
            raise ValueError(
                f"Dropout.backward expected grad_out of shape {self._mask.shape} (the last "
                f"forward's output); received shape {grad_out.shape}"
            )
        return grad_out * self._mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
