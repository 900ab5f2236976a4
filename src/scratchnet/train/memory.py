"""How much memory a training run needs, estimated before anything is allocated.

The estimate counts what scales with the network, the batch and the data set: the weights
and their gradients, the optimiser's state, copies kept for early stopping or a non-finite
policy, per-layer activations and their gradients for a batch (and for the evaluation
chunks), and the data: 8-bit training images, float validation and test features. It leaves
out what is small or fixed (the interpreter, NumPy, a few MB of buffers). `check_training_memory`
refuses a run that would not fit with scratchnet.resources.check_memory's message.
"""

from __future__ import annotations

from typing import Any

from ..resources import check_memory

# Floats per parameter beyond the weights themselves: the gradient, plus what each optimiser
# keeps (momentum's velocity; RMSprop's mean square and velocity; Adam's two moments).
_OPTIMIZER_STATE = {"sgd": 1, "rmsprop": 2, "adam": 2, "adamw": 2}
# Floats per unit and example in a batch: pre-activation, activation, their gradients, and a
# dropout mask or batch-norm's normalised copy.
_PER_ACTIVATION = 5
# Rows evaluated at once for validation, test and probes.
_EVAL_CHUNK = 1000


def parameter_count(sizes: list[int]) -> int:
    """Weights and biases of dense layers sizes[0] -> sizes[1] -> ... -> sizes[-1]."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def estimate_training_bytes(
    config: Any, *, n_train: int, n_test: int, n_features: int, n_classes: int
) -> int:
    """Bytes a run of `config` (a TrainConfig) needs at its peak, roughly (within 2x)."""
    itemsize = 8 if config.dtype == "float64" else 4
    sizes = [n_features, *config.hidden, n_classes]
    params = parameter_count(sizes)
    copies = 2 + _OPTIMIZER_STATE.get(config.optimizer, 2)  # weights, gradients, state
    if config.early_stopping:
        copies += 1  # the best weights so far
    if config.on_nonfinite != "stop":
        copies += 1  # the weights from before the last update
    copies += 1  # the saved model's arrays while it is written
    units = sum(sizes)
    rows = max(min(config.batch_size, n_train), min(_EVAL_CHUNK, n_train))
    activations = _PER_ACTIVATION * rows * units
    validation = min(config.validation_size, n_train)
    data = (n_train + n_test) * n_features  # the 8-bit images as loaded
    features = (validation + n_test) * n_features  # float copies for evaluation
    return int(itemsize * (copies * params + activations + features) + data)


def check_training_memory(config: Any, *, n_train: int = 60_000, n_test: int = 10_000) -> None:
    """Raise ResourceError if a run of `config` on a data set of this size would not fit in
    the memory available now (28x28 images, 10 classes unless the data set says otherwise)."""
    needed = estimate_training_bytes(
        config, n_train=n_train, n_test=n_test, n_features=784, n_classes=10
    )
    layers = "-".join(map(str, [784, *config.hidden, 10]))
    fix = "use fewer or narrower hidden layers or a smaller --batch-size"
    if config.dtype == "float64":
        fix += ", or --dtype float32 (half the memory)"
    check_memory(needed, f"training {layers} at batch {config.batch_size} ({config.dtype})", fix)
