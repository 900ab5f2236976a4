"""Sequential: a network as a list of layers, applied left to right.

It runs the forward pass, the backward pass (in reverse), batched inference, and lists its
parameters for the optimiser. It does not train (see scratchnet.train) nor save (see io.py):
`fit` and `evaluate` are keras-style conveniences that call scratchnet.train (imported when
called), and `summary` / `_repr_html_` describe the network in a terminal and in Jupyter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..data.batches import check_batch_size
from ..data.features import PIXEL_SCALE, scale_pixels
from .activations import Activation, get_activation, softmax
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout, check_rate
from .layer import Layer, check_dtype


def _is_sized(layer: Layer) -> bool:
    """Whether `layer` declares its input and output widths (Dense, BatchNorm)."""
    return isinstance(getattr(layer, "n_in", None), int) and isinstance(
        getattr(layer, "n_out", None), int
    )


class Sequential:
    """A feed-forward network: y = layer_n(... layer_2(layer_1(x))).

    x: (batch, n_in) -> logits: (batch, n_out).

    Parameters
    ----------
    layers : sequence of Layer
        At least one with a known width (Dense); consecutive sizes must agree (a Dense's or
        BatchNorm's n_in equals the previous n_out; activations and Dropout keep the width),
        and the layers with a dtype (Dense, BatchNorm) must share it.
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer; received none")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} is not a scratchnet Layer: {layer!r}")
        # Layers with n_in/n_out (Dense, BatchNorm) fix the width; the others (activations,
        # Dropout) keep it. Layers with a dtype (the ones with parameters) must agree on it.
        sized = [layer for layer in layers if _is_sized(layer)]
        if not sized:
            raise ValueError(
                "Sequential needs at least one Dense layer (or another layer with n_in and "
                "n_out) to know its input size"
            )
        width = None
        for index, layer in enumerate(layers):
            if _is_sized(layer):
                if width is not None and layer.n_in != width:
                    raise ValueError(
                        f"layer {index} ({layer!r}) expects {layer.n_in} inputs but the layer "
                        f"before it gives {width}"
                    )
                width = layer.n_out
        dtypes = {np.dtype(layer.dtype) for layer in layers if hasattr(layer, "dtype")}
        if len(dtypes) > 1:
            raise ValueError(
                f"all layers must share one dtype; received {sorted(map(str, dtypes))}"
            )
        for layer, after in zip(layers[:-1], layers[1:], strict=True):
            if isinstance(layer, Dense) and isinstance(after, Dense):
                layer.output_orders = "CF"  # `after` hands the gradient back in either order
        self.layers = layers
        self.dtype = check_dtype(dtypes.pop() if dtypes else np.float32)
        self.n_in = sized[0].n_in
        self.n_out = width
        self.metadata: dict[str, Any] = {}

    # -- training-time passes ------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """x: (batch, n_in) -> (batch, n_out); with training=True each layer caches for backward."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(
        self, grad_out: np.ndarray, *, update: tuple[float, float] | None = None
    ) -> frozenset[tuple[int, str]]:
        """grad_out: (batch, n_out), dLoss/dOutput; fills every layer's grads (overwriting).

        update=(alpha, beta): also apply param <- beta * param + alpha * grad wherever a layer
        can fold it into its backward products (Layer.backward_update; a plain SGD step, see
        Optimizer.fused_coefficients). Returns the (layer index, name) of the parameters so
        updated, whose grads are not written; empty without `update`.
        """
        grad = grad_out
        applied: list[tuple[int, str]] = []
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            # The first layer's input gradient would be dLoss/dImage: nobody needs it.
            if update is None:
                grad = layer.backward(grad, need_grad_in=index > 0)
                continue
            grad, names = layer.backward_update(
                grad, need_grad_in=index > 0, alpha=update[0], beta=update[1]
            )
            applied += [(index, name) for name in names]
        return frozenset(applied)

    def parameters(self) -> Iterator[tuple[int, str, np.ndarray, np.ndarray]]:
        """(layer index, name, parameter, gradient) for every parameter, in layer order."""
        for index, layer in enumerate(self.layers):
            for name, param in layer.params.items():
                yield index, name, param, layer.grads[name]

    @property
    def num_params(self) -> int:
        return sum(param.size for _, _, param, _ in self.parameters())

    # -- inference -----------------------------------------------------------------------------
    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Validate the network's input and return it as (batch, n_in) in the network's dtype.

        Besides features of shape (batch, n_in), images of shape (batch, 28, 28) (any trailing
        shape holding n_in values) are flattened, and 8-bit images (uint8, as load_data gives
        them) are scaled to [0, 1], bit for bit images_to_features. Other numbers are used as
        they are: float images must already be in [0, 1].
        """
        x = np.asarray(x)
        if x.ndim > 2 and x.shape[0] >= 0 and int(np.prod(x.shape[1:])) == self.n_in:
            x = x.reshape(x.shape[0], self.n_in)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"expected features of shape (batch, {self.n_in}); received shape {x.shape} "
                f"(images of shape (batch, height, width) are flattened when height * width "
                f"= {self.n_in})"
            )
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"expected numeric features; received dtype {x.dtype}")
        if x.dtype == np.uint8:
            return scale_pixels(x, PIXEL_SCALE, np.empty(x.shape, dtype=self.dtype))
        x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("features contain NaN or infinite values; clean the input first")
        return x

    def predict_logits(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Raw outputs, computed in batches; x: (n, n_in) -> (n, n_out)."""
        x = self.check_input(x)
        batch_size = check_batch_size(batch_size)
        out = np.empty((x.shape[0], self.n_out), dtype=self.dtype)
        for start in range(0, x.shape[0], batch_size):
            out[start : start + batch_size] = self.forward(x[start : start + batch_size])
        return out

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Class probabilities softmax(logits): what keras' model.predict returns.

        x: (n, n_in) or images (n, 28, 28) -> (n, n_out) float, each row summing to 1.
        """
        return softmax(self.predict_logits(x, batch_size=batch_size))

    def predict(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """The most probable class, as scikit-learn's predict: (n, n_in) -> (n,) int64 indices.

        keras' predict returns probabilities instead: that is predict_proba here.
        """
        return self.predict_logits(x, batch_size=batch_size).argmax(axis=1)

    # -- conveniences over scratchnet.train (keras-style) ----------------------------------------
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Any = "sgd",
        learning_rate: float | None = None,
        loss: Any = None,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Any] = (),
        seed: int = 0,
        progress: bool = False,
    ):
        """Train on (x, y) with mini-batches; returns the History. A thin wrapper over
        scratchnet.train.fit(model, loss, optimizer, (x, y), ...), which it calls.

        x: features (n, n_in), or images (n, 28, 28) (uint8 ones are scaled by 1/255);
        y: (n,) integer labels. optimizer: a name ('sgd', 'adam', ...) built afresh for this
        call with `learning_rate` (None: 0.1 for sgd, the optimiser's default for the others),
        or an Optimizer object (whose state carries over between calls). loss: default
        SoftmaxCrossEntropy(). validation_split: a share of (x, y) held out at random (seeded)
        for val_loss / val_accuracy; or validation_data=(x_val, y_val). seed: the shuffling and
        the split. progress: a tqdm bar per epoch (tqdm.auto: a widget in Jupyter).
        """
        from ..train.easy import fit_model

        return fit_model(
            self,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            learning_rate=learning_rate,
            loss=loss,
            validation_data=validation_data,
            validation_split=validation_split,
            callbacks=callbacks,
            seed=seed,
            progress=progress,
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray, *, loss: Any = None):
        """{'loss': mean loss, 'accuracy': share correct} on (x, y): scratchnet.train.evaluate
        with `loss` (default SoftmaxCrossEntropy()). A dict that Jupyter shows as a table."""
        from ..train.easy import evaluate_model

        return evaluate_model(self, x, y, loss=loss)

    # -- description ---------------------------------------------------------------------------
    def summary_rows(self) -> list[tuple[int, str, tuple[int | None, int], int]]:
        """(index, layer, output shape (None = any batch, width), parameter count) per layer."""
        rows = []
        width = self.n_in
        for index, layer in enumerate(self.layers):
            width = layer.output_size(width)
            rows.append(
                (index, repr(layer), (None, width), sum(p.size for p in layer.params.values()))
            )
        return rows

    def summary_text(self) -> str:
        """The summary table as text: layers, output shapes and parameter counts, then the total."""
        lines = [f"{'#':>3}  {'layer':<52} {'output shape':>13} {'params':>10}"]
        for index, layer, shape, count in self.summary_rows():
            lines.append(f"{index:>3}  {layer:<52} {str(shape):>13} {count:>10,}")
        lines.append(f"total parameters: {self.num_params:,} ({self.dtype.name})")
        return "\n".join(lines)

    def summary(self, print_fn: Any = print) -> None:
        """Print the summary table, like keras' model.summary(); summary_text() returns it."""
        print_fn(self.summary_text())

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary as a table (layer, output shape, parameters)."""
        from ..display import html_table

        rows = [
            [i, layer, str(shape), f"{count:,}"] for i, layer, shape, count in self.summary_rows()
        ]
        rows.append(["", "total", "", f"{self.num_params:,} ({self.dtype.name})"])
        return html_table(
            ["#", "layer", "output shape", "parameters"],
            rows,
            caption=f"Sequential: {self.n_in} inputs -> {self.n_out} outputs",
        )

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n])"

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]


def mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    *,
    activation: str = "relu",
    weight_init: Any = "he-normal",
    bias_init: Any = "zeros",
    output_activation: str | None = None,
    dropout: float = 0.0,
    batch_norm: bool = False,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """A multi-layer perceptron n_in -> hidden[0] -> ... -> n_out with one shared generator.

    The output layer has no activation (logits) unless `output_activation` is given; pair it
    with SoftmaxCrossEntropy. `hidden=[]` gives a linear (softmax-regression) model.

    Each hidden layer is Dense(activation) by default; with batch_norm=True it is
    Dense -> BatchNorm -> activation layer, and with dropout > 0 a Dropout(dropout) follows
    the activation. The Dense weights are drawn first and identically in every case (Dropout's
    generators are spawned children of `rng`, drawing nothing from it), so the same seed gives
    the same initial weights with or without these options.
    """
    if rng is None:
        if seed is None:
            raise ValueError("mlp needs rng=np.random.default_rng(SEED) or seed=SEED")
        rng = np.random.default_rng(seed)
    if not isinstance(batch_norm, bool | np.bool_):
        raise ValueError(f"batch_norm must be True or False; received batch_norm={batch_norm!r}")
    dropout_rate = check_rate(dropout, "dropout")
    hidden = list(hidden)
    if not all(
        isinstance(w, int | np.integer) and not isinstance(w, bool) and w > 0 for w in hidden
    ):
        raise ValueError(f"hidden sizes must be positive integers; received hidden={hidden!r}")
    sizes = [n_in, *hidden, n_out]
    n_hidden = len(sizes) - 2
    dropout_rngs = rng.spawn(n_hidden) if dropout_rate > 0 else []
    layers: list[Layer] = []
    for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = index == n_hidden
        fused = output_activation if last else (None if batch_norm else activation)
        layers.append(
            Dense(
                a,
                b,
                fused,
                weight_init=weight_init,
                bias_init=bias_init,
                rng=rng,
                dtype=dtype,
            )
        )
        if last:
            break
        if batch_norm:
            # The bias before BatchNorm is redundant (the mean is subtracted) but harmless.
            layers.append(BatchNorm(b, dtype=dtype))
            layers.append(_fresh_activation(activation))
        if dropout_rate > 0:
            layers.append(Dropout(dropout_rate, rng=dropout_rngs[index]))
    return Sequential(layers)


def _fresh_activation(spec: Any) -> Layer:
    """A new activation layer for `spec`; an Activation instance is copied, never shared
    (a shared one's cache would be overwritten by the next layer's forward pass)."""
    act = get_activation(spec)
    if isinstance(spec, Activation):
        act = type(act)(**act.get_config())
    return act
