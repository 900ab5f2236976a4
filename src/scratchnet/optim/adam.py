"""Adam (Kingma & Ba 2015): per-parameter step sizes from moving averages of the gradient and
its square, with bias correction. L2 weight decay is folded into the gradient, as in PyTorch's
Adam; for decoupled weight decay use AdamW (adamw.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_number
from .subnormal import flush_interval, flush_tiny


class Adam(Optimizer):
    """param -= learning_rate * m_hat / (sqrt(v_hat) + eps), where at step t = 1, 2, ...

        g     = grad + weight_decay * param          (L2 folded into the gradient)
        m     = beta1 * m + (1 - beta1) * g          first moment, starts at 0
        v     = beta2 * v + (1 - beta2) * g**2       second moment, starts at 0
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)   (bias correction)

    At t = 1, m_hat = g and v_hat = g**2, so the first step is learning_rate * g / (|g| + eps):
    about learning_rate per entry, whatever the gradient's scale.

    Parameters
    ----------
    learning_rate : float, default 1e-3
        > 0.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates of the moments, in [0, 1).
    eps : float, default 1e-8
        > 0, added to sqrt(v_hat) (outside the root, as PyTorch and Keras do).
    weight_decay : float, default 0.0
        L2 coefficient, >= 0, added to the gradient (so it is rescaled by the adaptive step).
    clip_norm, max_norm : float or None
        Global gradient-norm clipping and the max-norm constraint (see Optimizer).
    """

    slots = ("first_moment", "second_moment")
    _decoupled_weight_decay = False  # AdamW sets True

    def __init__(
        self,
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        clip_norm: float | None = None,
        max_norm: float | None = None,
    ) -> None:
        check_number("learning_rate", learning_rate, low=0.0, low_open=True, high_open=True)
        super().__init__(learning_rate, clip_norm=clip_norm, max_norm=max_norm)
        self.beta1 = check_number("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = check_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True, high_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0, high_open=True)
        self._flush_every = flush_interval(self.beta1, self.beta2)

    def _update(
        self, key: tuple[int, str], param: np.ndarray, grad: np.ndarray, grad_scale: float
    ) -> None:
        beta1, beta2, decay, rate = self.beta1, self.beta2, self.weight_decay, self.learning_rate
        t = self.iterations + 1
        decoupled = decay and self._decoupled_weight_decay
        coupled = decay and not self._decoupled_weight_decay
        # Every few hundred steps, zero what is decaying towards subnormal floats (subnormal.py).
        flush = t % self._flush_every == 0
        moments = (self._slot(key, "first_moment", param), self._slot(key, "second_moment", param))
        # Block by block (Optimizer._blocks): one pass over parameter, gradient and moments.
        for p, g, m, v, work in self._blocks((param, grad, *moments), key, 1):
            if decoupled:
                p *= 1.0 - rate * decay  # param -= lr * wd * param, before the step
            # work = (1 - beta1) * g, built in place (no temporaries), g = grad_scale * grad
            # [+ L2]
            if coupled:
                np.multiply(p, decay / grad_scale, out=work)
                work += g
                work *= (1.0 - beta1) * grad_scale
            else:
                np.multiply(g, (1.0 - beta1) * grad_scale, out=work)
            m *= beta1
            m += work
            # (1 - beta2) * g**2 = (1 - beta2) / (1 - beta1)**2 * work**2
            np.square(work, out=work)
            work *= (1.0 - beta2) / (1.0 - beta1) ** 2
            v *= beta2
            v += work
            if flush:
                flush_tiny(m, work)
                flush_tiny(v, work)
            # update = (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps), c_i = 1 - beta_i**t
            np.sqrt(v, out=work)
            work *= 1.0 / math.sqrt(1.0 - beta2**t)
            work += self.eps
            np.divide(m, work, out=work)
            work *= rate / (1.0 - beta1**t)
            p -= work

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            **self._constraint_config(),
        }
