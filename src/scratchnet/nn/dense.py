"""The fully-connected layer: y = f(x @ weight + bias), batch-first.

`weight` is (n_in, n_out) and `bias` (n_out,). An optional activation is applied in place on
the layer's own pre-activation buffer. In training that buffer, and the input gradient, are
reused from step to step (nn/workspace.py), so a training step allocates no (batch, n) arrays.
At its first training step the layer picks the fastest equivalent layout of its matrices
(weight stored as is or transposed, batch- or feature-major output) by timing them
(nn/autotune.py); `weight` is (n_in, n_out) whichever way it is stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import autotune, blas
from .activations import Activation, Identity, get_activation
from .init import Initializer, Zeros, get_initializer
from .layer import Layer, check_dtype
from .workspace import Workspace, order_of


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {name}={value!r}")
    return int(value)


class Dense(Layer):
    """Fully-connected layer: y = f(x @ weight + bias).

    x: (batch, n_in) -> y: (batch, n_out).

    Parameters
    ----------
    n_in, n_out : int
        Input and output features, >= 1.
    activation : str or Activation, default None
        'relu', 'leaky_relu', 'sigmoid', 'tanh', 'softmax', 'identity' or None (identity).
    weight_init : str or Initializer, default 'he-normal'
        See scratchnet.nn.init.get_initializer ('uniform:0:0.01' is the notebook's choice).
    bias_init : str or Initializer, default 'zeros'
    rng : np.random.Generator
        The source of the initial weights. Required unless `seed` is given.
    seed : int, optional
        Shorthand for rng=np.random.default_rng(seed).
    dtype : float32 (default) or float64
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation | None = None,
        *,
        weight_init: str | Initializer = "he-normal",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.n_in = _positive_int("n_in", n_in)
        self.n_out = _positive_int("n_out", n_out)
        # A fresh activation per layer: a shared instance would share its backward cache, and
        # the second layer's forward would overwrite what the first layer's backward needs.
        self.activation = get_activation(
            activation if not isinstance(activation, Activation) else _spec(activation)
        )
        self.weight_init = get_initializer(weight_init)
        self.bias_init = get_initializer(bias_init) if bias_init is not None else Zeros()
        self.dtype = check_dtype(dtype)
        if rng is None:
            if seed is None:
                raise ValueError(
                    "Dense needs an explicit random generator: pass rng=np.random.default_rng(SEED)"
                    " or seed=SEED"
                )
            rng = np.random.default_rng(seed)
        self.params = {
            "weight": self.weight_init((self.n_in, self.n_out), rng, self.dtype),
            "bias": self.bias_init((1, self.n_out), rng, self.dtype).reshape(self.n_out),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._x: np.ndarray | None = None
        self._work = Workspace()
        # How the matrices are laid out (nn/autotune.py): chosen at the first training step,
        # unless set before (set_layout, as a checkpoint's restore does).
        self.layout: autotune.Layout | None = None
        # The orders its output may take: feature-major ("F") only where the next layer is a
        # Dense, which hands the gradient back in that order (Sequential says so); after any
        # other layer, mixed orders in an elementwise product cost more than a layout can save.
        self.output_orders = "C"

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray:
        return self.params["bias"]

    def set_layout(self, layout: autotune.Layout) -> None:
        """Store the weight (and its gradient) in `layout.weight` order; outputs follow the rest.

        The weight's values are unchanged (a copy into the other order is exact), but
        params["weight"] and grads["weight"] become new arrays when the order changes.
        """
        order = layout.weight
        weight = self.params["weight"]
        if order_of(weight) != order:
            self.params["weight"] = np.array(weight, order=order)
            self.grads["weight"] = np.zeros_like(self.params["weight"])
        self.layout = layout

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = f(x @ weight + bias); x: (batch, n_in) -> (batch, n_out).

        In training the output is written into this layer's reused buffer (valid until the next
        training forward); in evaluation it is a new array the caller owns.
        """
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"Dense(n_in={self.n_in}) expected input of shape (batch, {self.n_in}); "
                f"received shape {x.shape}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if training:
            if self.layout is None:
                self.set_layout(
                    autotune.choose(
                        self.n_in,
                        self.n_out,
                        x.shape[0],
                        self.dtype,
                        order_of(x),
                        self.output_orders,
                    )
                )
            # The same block every step: no page faults, and it stays warm in cache. The next
            # layer caches this output as its input; it is only overwritten by the next step's
            # forward, after this step's backward has used it. np.matmul hands BLAS whichever
            # orders the arrays have (transposed views are read as they are, never copied).
            z = self._work.get("z", x.shape[0], self.n_out, self.dtype, self.layout.output)
            np.matmul(x, self.params["weight"], out=z)
        else:
            z = np.matmul(x, self.params["weight"])
        z += self.params["bias"]
        y = self.activation.forward(z, training=training, inplace=True)
        if training:
            self._x = x
            self._ready_for_backward = True
        return y

    def backward(self, grad_out: np.ndarray, *, need_grad_in: bool = True) -> np.ndarray | None:
        """grad_out: (batch, n_out) -> grad_in: (batch, n_in).

        dL/dweight = x^T @ dL/dz and dL/dbias = sum over the batch of dL/dz, with
        dL/dz = grad_out * f'(z); both are written into self.grads (overwritten, not added).
        grad_in is written into a reused buffer, valid until the next backward.
        """
        grad_z = self._grad_z(grad_out)
        self._weight_and_bias_grads(grad_z)
        return self._grad_in(grad_z, need_grad_in)

    def _weight_and_bias_grads(self, grad_z: np.ndarray) -> None:
        # x.T is a transposed view: BLAS reads it as is (no copy of x).
        np.matmul(self._x.T, grad_z, out=self.grads["weight"])
        self._bias_grad(grad_z)

    def _bias_grad(self, grad_z: np.ndarray) -> np.ndarray:
        # The bias gradient, a sum over the batch, as ones @ grad_z: BLAS's matrix-vector
        # product is 1.7-3x faster than np.sum(axis=0) on these shapes (benchmarks/results/
        # kernels.md: 1.0 against 3.1 us for a (100, 100) grad_z, 5.1 against 8.5 for
        # (128, 1024)).
        ones = self._work.ones("ones", grad_z.shape[0], grad_z.dtype)
        return np.matmul(ones, grad_z, out=self.grads["bias"])

    def backward_update(
        self, grad_out: np.ndarray, *, need_grad_in: bool = True, alpha: float, beta: float
    ) -> tuple[np.ndarray | None, tuple[str, ...]]:
        """backward with a plain SGD step folded in (Layer.backward_update): the weight gradient's
        product writes beta * weight + alpha * (x^T @ grad_z) straight into the weight, one BLAS
        gemm (nn/blas.py), so the weight's gradient is never written and the weights are not
        streamed through memory again; the bias (n_out numbers) gets its gradient, then the same
        update. Falls back to backward where NumPy's BLAS cannot be called that way.
        """
        grad_z = self._grad_z(grad_out)
        weight = self.params["weight"]
        if not self._fusable(grad_z, weight):
            self._weight_and_bias_grads(grad_z)
            return self._grad_in(grad_z, need_grad_in), ()
        grad_in = self._grad_in(grad_z, need_grad_in)  # from the weight before its update
        blas.gemm(self._x.T, grad_z, weight, alpha, beta)
        bias, grad = self.params["bias"], self._bias_grad(grad_z)
        if beta != 1.0:
            bias *= beta
        bias += alpha * grad
        return grad_in, ("weight", "bias")

    def _fusable(self, grad_z: np.ndarray, weight: np.ndarray) -> bool:
        """Whether blas.gemm can take this step's weight product (remembered per layout: the
        arrays are the same buffers from step to step)."""
        x = self._x
        key = (x.shape, x.strides, x.dtype, grad_z.strides, grad_z.dtype, weight.strides)
        known = self._work.facts.get(key)
        if known is None:
            known = self._work.facts[key] = blas.supported(x.T, grad_z, weight)
        return known and blas.available()

    def _grad_z(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dz from dL/dy, after checking grad_out against the last forward."""
        self._require_forward()
        if grad_out.shape != (self._x.shape[0], self.n_out):
            raise ValueError(
                f"{self!r}.backward expected grad_out of shape {(self._x.shape[0], self.n_out)} "
                f"(the last forward's output); received shape {grad_out.shape}"
            )
        return self.activation.backward(grad_out)

    def _grad_in(self, grad_z: np.ndarray, need_grad_in: bool) -> np.ndarray | None:
        """dL/dx = grad_z @ weight^T into a reused buffer, or None when nobody needs it."""
        if not need_grad_in:
            return None
        weight = self.params["weight"]
        dtype = np.result_type(grad_z.dtype, weight.dtype)
        order = self.layout.grad_in if self.layout is not None else "C"
        grad_in = self._work.get("grad_in", grad_z.shape[0], self.n_in, dtype, order)
        return np.matmul(grad_z, weight.T, out=grad_in)

    def output_size(self, n_in: int) -> int:
        return self.n_out

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"n_in": self.n_in, "n_out": self.n_out}
        if not isinstance(self.activation, Identity):
            extra = self.activation.get_config()
            config["activation"] = (
                {"name": self.activation.name, **extra} if extra else (self.activation.name)
            )
        return config

    def __repr__(self) -> str:
        text = f"Dense(n_in={self.n_in}, n_out={self.n_out}"
        if not isinstance(self.activation, Identity):
            text += f", activation={_spec(self.activation)!r}"
        return text + ")"


def _spec(activation: Activation) -> str | dict[str, Any]:
    """An activation's name, or {"name": ..., **config} when it has settings."""
    config = activation.get_config()
    return {"name": activation.name, **config} if config else activation.name
