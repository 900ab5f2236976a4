"""RMSprop (Hinton, Coursera lecture 6e): divide the gradient by a running root mean square of
recent gradients, optionally with momentum on the result. The form PyTorch uses; not centred."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, check_number
from .subnormal import flush_interval, flush_tiny


class RMSprop(Optimizer):
    """param -= learning_rate * update, where

        g           = grad + weight_decay * param         (L2 folded into the gradient)
        mean_square = rho * mean_square + (1 - rho) * g**2   starts at 0 (no bias correction)
        update      = g / (sqrt(mean_square) + eps)                       (momentum = 0)
        velocity    = momentum * velocity + g / (sqrt(mean_square) + eps);  update = velocity

    The first step is therefore learning_rate * g / (sqrt(1 - rho) |g| + eps), about
    3.16 * learning_rate per entry at rho = 0.9.

    Parameters
    ----------
    learning_rate : float, default 1e-3
        > 0.
    rho : float, default 0.9
        Decay rate of the mean square, in [0, 1).
    eps : float, default 1e-8
        > 0, added to the root mean square.
    momentum : float, default 0.0
        In [0, 1).
    weight_decay : float, default 0.0
        L2 coefficient, >= 0.
    clip_norm, max_norm : float or None
        Global gradient-norm clipping and the max-norm constraint (see Optimizer).
    """

    slots = ("mean_square", "velocity")

    def __init__(
        self,
        learning_rate: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        clip_norm: float | None = None,
        max_norm: float | None = None,
    ) -> None:
        check_number("learning_rate", learning_rate, low=0.0, low_open=True, high_open=True)
        super().__init__(learning_rate, clip_norm=clip_norm, max_norm=max_norm)
        self.rho = check_number("rho", rho, low=0.0, high=1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True, high_open=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0, high_open=True)
        self._flush_every = flush_interval(self.rho, self.momentum)

    def _update(
        self, key: tuple[int, str], param: np.ndarray, grad: np.ndarray, grad_scale: float
    ) -> None:
        rho, momentum, rate = self.rho, self.momentum, self.learning_rate
        # Every few hundred steps, zero what is decaying towards subnormal floats (subnormal.py).
        flush = (self.iterations + 1) % self._flush_every == 0
        arrays = (param, grad, self._slot(key, "mean_square", param))
        if momentum:
            arrays += (self._slot(key, "velocity", param),)
        # Block by block (Optimizer._blocks): one pass over parameter, gradient and state.
        for block in self._blocks(arrays, key, 2):
            p, g, mean_square = block[:3]
            work, effective = block[-2:]
            scale = grad_scale
            if self.weight_decay:
                # g = grad_scale * grad + weight_decay * param, materialised once
                np.multiply(g, scale, out=effective)
                np.multiply(p, self.weight_decay, out=work)
                effective += work
                g, scale = effective, 1.0
            # From here g = scale * grad.
            np.square(g, out=work)
            work *= (1.0 - rho) * scale**2
            mean_square *= rho
            mean_square += work
            if flush:
                flush_tiny(mean_square, work)
            np.sqrt(mean_square, out=work)
            work += self.eps
            np.divide(g, work, out=work)  # g / (rms + eps), up to scale
            if momentum == 0:
                work *= rate * scale
                p -= work
                continue
            velocity = block[3]
            work *= scale
            velocity *= momentum
            velocity += work
            if flush:
                flush_tiny(velocity, work)
            np.multiply(velocity, rate, out=work)
            p -= work

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "rho": self.rho,
            "eps": self.eps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            **self._constraint_config(),
        }
