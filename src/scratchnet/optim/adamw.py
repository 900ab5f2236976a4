"""AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the gradient.

With L2 folded into the gradient (Adam's weight_decay), the decay of a weight is divided by
sqrt(v_hat) like any gradient, so weights with large gradients are barely regularised. AdamW
shrinks every weight by the same factor instead, outside the adaptive step.
"""

from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    """Each step: param -= learning_rate * weight_decay * param, then Adam's update (without L2).

    The decay uses the parameter before the Adam update and is scaled by the current learning
    rate, exactly as torch.optim.AdamW does (so a schedule decays it too). It applies to every
    parameter, biases included.

    Parameters
    ----------
    learning_rate : float, default 1e-3
    beta1, beta2 : float, default 0.9, 0.999
        In [0, 1).
    eps : float, default 1e-8
        > 0.
    weight_decay : float, default 1e-2
        Decoupled decay coefficient, >= 0 (0 makes AdamW exactly Adam).
    clip_norm, max_norm : float or None
        Global gradient-norm clipping and the max-norm constraint (see Optimizer).
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        clip_norm: float | None = None,
        max_norm: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            beta1,
            beta2,
            eps,
            weight_decay,
            clip_norm=clip_norm,
            max_norm=max_norm,
        )
