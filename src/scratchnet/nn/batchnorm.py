"""Batch normalisation (Ioffe & Szegedy 2015) for (batch, n_features) inputs: normalise each
feature over the batch, then scale by gamma and shift by beta.

Training uses the batch's statistics and updates running averages of them (the `buffers`,
saved with the model); evaluation uses the running averages. It does not normalise over
spatial axes (no convolutions here) nor offer layer or group normalisation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .layer import Layer, check_dtype


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {name}={value!r}")
    return int(value)


def _check_number(name: str, value: Any, expected: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be {expected}; received {name}={value!r}")
    number = float(value)
    if not (math.isfinite(number) and ok(number)):
        raise ValueError(f"{name} must be {expected}; received {name}={value!r}")
    return number


class BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature, statistics over the batch.

    x: (batch, n_features) -> y: (batch, n_features); gamma, beta: (n_features,).

    Training: mean and (biased) var are the batch's, and the running statistics move towards
    them: running = momentum * running + (1 - momentum) * batch_stat, where running_var gets
    the unbiased variance var * batch / (batch - 1), as PyTorch does. Evaluation: mean and var
    are running_mean and running_var, so predictions do not depend on the rest of the batch.

    Parameters
    ----------
    n_features : int
        Features per example, >= 1.
    momentum : float, default 0.9
        The running statistics' decay, 0 <= momentum < 1 (Keras' convention: the weight of the
        old value; PyTorch's momentum=0.1 is this momentum=0.9).
    eps : float, default 1e-5
        Added to the variance before the square root, > 0.
    dtype : float32 (default) or float64
    """

    def __init__(
        self,
        n_features: int,
        *,
        momentum: float = 0.9,
        eps: float = 1e-5,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.n_features = _check_positive_int("n_features", n_features)
        self.momentum = _check_number(
            "momentum", momentum, "a number in [0, 1)", lambda m: 0.0 <= m < 1.0
        )
        self.eps = _check_number("eps", eps, "a positive number", lambda e: e > 0.0)
        self.dtype = check_dtype(dtype)
        # Sequential checks that consecutive sizes agree through n_in/n_out.
        self.n_in = self.n_out = self.n_features
        self.params = {
            "gamma": np.ones(self.n_features, dtype=self.dtype),
            "beta": np.zeros(self.n_features, dtype=self.dtype),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(self.n_features, dtype=self.dtype),
            "running_var": np.ones(self.n_features, dtype=self.dtype),
        }
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None

    @property
    def gamma(self) -> np.ndarray:
        return self.params["gamma"]

    @property
    def beta(self) -> np.ndarray:
        return self.params["beta"]

    @property
    def running_mean(self) -> np.ndarray:
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> np.ndarray:
        return self.buffers["running_var"]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + eps).

        x: (batch, n_features) -> (batch, n_features); batch >= 2 when training.
        """
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"BatchNorm(n_features={self.n_features}) expected input of shape "
                f"(batch, {self.n_features}); received shape {x.shape}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            # One multiply-add per entry: gamma / sqrt(var + eps) and the shift fold together.
            scale = gamma / np.sqrt(self.buffers["running_var"] + self.eps)
            shift = beta - self.buffers["running_mean"] * scale
            y = x * scale
            y += shift
            return y
        batch = x.shape[0]
        if batch < 2:
            raise ValueError(
                f"BatchNorm needs at least 2 examples per batch in training (the variance of "
                f"one example is undefined); received a batch of {batch}. Choose a batch_size "
                "that does not leave a last batch of 1 example"
            )
        mean = x.mean(axis=0)
        x_hat = x - mean
        var = np.einsum("ij,ij->j", x_hat, x_hat) / batch  # biased: the batch's own spread
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std
        y = x_hat * gamma
        y += beta
        self._x_hat, self._inv_std = x_hat, inv_std
        self._ready_for_backward = True
        # Running statistics for evaluation; var * batch / (batch - 1) is the unbiased estimate
        # of the population variance (PyTorch's choice; Keras keeps the biased one).
        momentum = self.momentum
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        running_mean *= momentum
        running_mean += (1.0 - momentum) * mean
        running_var *= momentum
        running_var += (1.0 - momentum) * (var * (batch / (batch - 1)))
        return y

    def backward(self, grad_out: np.ndarray, *, need_grad_in: bool = True) -> np.ndarray | None:
        """grad_out: (batch, n_features) -> grad_in: (batch, n_features).

        dL/dgamma = sum(dy * x_hat), dL/dbeta = sum(dy) (sums over the batch), and
        dx = (gamma / sqrt(var + eps)) / N * (N * dy - sum(dy) - x_hat * sum(dy * x_hat)):
        the chain rule through x_hat with the batch mean and variance both depending on x,
        simplified (the mean's and the variance's paths are the two subtracted terms).
        """
        self._require_forward()
        x_hat = self._x_hat
        if grad_out.shape != x_hat.shape:
            raise ValueError(
                f"BatchNorm.backward expected grad_out of shape {x_hat.shape} (the last "
                f"forward's output); received shape {grad_out.shape}"
            )
        product = grad_out * x_hat
        np.sum(product, axis=0, out=self.grads["gamma"])
        np.sum(grad_out, axis=0, out=self.grads["beta"])
        if not need_grad_in:
            return None
        batch = grad_out.shape[0]
        np.multiply(x_hat, self.grads["gamma"], out=product)
        grad_in = grad_out * batch
        grad_in -= self.grads["beta"]
        grad_in -= product
        grad_in *= self.params["gamma"] * self._inv_std / batch
        return grad_in

    def output_size(self, n_in: int) -> int:
        return self.n_features

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps}
