"""Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    """param -= learning_rate * update, where update is g, or with momentum mu:

        velocity = mu * velocity + g
        update   = velocity                (classical momentum)
        update   = g + mu * velocity       (Nesterov, the form PyTorch and Keras use)

    with g = grad + weight_decay * param (L2 regularisation folded into the gradient).

    Parameters
    ----------
    learning_rate : float
        Step size, > 0.
    momentum : float, default 0.0
        0 <= momentum < 1.
    nesterov : bool, default False
        Nesterov's look-ahead; needs momentum > 0.
    weight_decay : float, default 0.0
        L2 penalty coefficient, >= 0 (applies to every parameter).
    clip_norm, max_norm : float or None
        Global gradient-norm clipping and the max-norm constraint (see Optimizer).
    """

    slots = ("velocity",)

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        *,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        max_norm: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clip_norm=clip_norm, max_norm=max_norm)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; received momentum=0")
        self.nesterov = bool(nesterov)

    def fused_coefficients(self) -> tuple[float, float] | None:
        """Plain SGD (no momentum, no clipping) is param <- (1 - lr * wd) * param - lr * grad:
        layers can apply it in the weight gradient's product (Optimizer.fused_coefficients).
        The result equals `_update`'s to float rounding (BLAS sums and scales in its own order).
        """
        if self.momentum or self.clip_norm is not None:
            return None
        rate = self.learning_rate
        return -rate, 1.0 - rate * self.weight_decay

    def _update(
        self, key: tuple[int, str], param: np.ndarray, grad: np.ndarray, grad_scale: float
    ) -> None:
        # The same arithmetic as `param -= lr * (grad + wd * param)` and friends, term for term
        # (so bitwise the same result), block by block (Optimizer._blocks): one pass over the
        # parameter, gradient and velocity however many terms there are, and no temporaries.
        momentum, decay, rate = self.momentum, self.weight_decay, self.learning_rate
        arrays = (param, grad) + ((self._slot(key, "velocity", param),) if momentum else ())
        for block in self._blocks(arrays, key, 3):
            p, g = block[0], block[1]
            scaled, decayed, update = block[-3:]
            if grad_scale != 1.0:
                g = np.multiply(g, grad_scale, out=scaled)
            if decay:
                np.multiply(p, decay, out=decayed)
                decayed += g
                g = decayed
            if momentum == 0:
                np.multiply(g, rate, out=update)
                p -= update
                continue
            velocity = block[2]
            velocity *= momentum
            velocity += g
            if self.nesterov:
                np.multiply(velocity, momentum, out=update)
                update += g
                update *= rate
            else:
                np.multiply(velocity, rate, out=update)
            p -= update

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            **self._constraint_config(),
        }
