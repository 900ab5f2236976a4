"""What the network does with one picture, layer by layer, for the studio's draw view.

The prediction record itself comes from the function `scratchnet predict --json` uses (see
serve.predict); this module adds what the page draws beside it: the 28x28 input, every hidden
layer's activations and the first-layer weight templates that contributed most to the answer.
Models are loaded once per file version (path, size, mtime) and used under a lock, since the
layers keep their forward caches.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

TEMPLATES = 8  # first-layer units shown, the strongest contributors first


class ModelCache:
    """Loaded models by file, reloaded when the file changes; each with its own lock."""

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._models: dict[Path, tuple[tuple[int, int], Any, threading.Lock]] = {}

    def get(self, path: Path) -> tuple[Any, threading.Lock]:
        from ..nn import load_model

        stat = os.stat(path)
        version = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._models.get(path)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
        model = load_model(path)
        with self._lock:
            if len(self._models) >= self.limit:
                self._models.pop(next(iter(self._models)))
            self._models[path] = (version, model, threading.Lock())
            return model, self._models[path][2]


def _blocks(model) -> list[list[int]]:
    """Layer indices grouped so each group starts at a Dense layer (its activation, batch norm
    and dropout follow it): the output of every group but the last is a hidden layer."""
    from ..nn.dense import Dense

    blocks: list[list[int]] = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense) or not blocks:
            blocks.append([])
        blocks[-1].append(index)
    return blocks


def _layer_label(model, block: list[int], number: int) -> str:
    first = model.layers[block[0]]
    activation = getattr(getattr(first, "activation", None), "name", None)
    names = [activation] if activation and activation != "identity" else []
    names += [type(model.layers[i]).__name__.lower() for i in block[1:]]
    kind = ", ".join(names) or "linear"
    return f"hidden {number}: {getattr(first, 'n_out', '?')} units ({kind})"


def explain(model, lock: threading.Lock, image: np.ndarray) -> dict[str, Any]:
    """The input, each hidden layer's activations and the top first-layer templates.

    image: (28, 28) floats in [0, 1] -> a JSON-able dict. A template's contribution to the
    predicted class c is activation_j * d logit_c / d activation_j (gradient times input,
    computed by the layers' own backward pass), so it accounts for every later layer.
    """
    x = image.reshape(1, -1).astype(model.dtype)
    blocks = _blocks(model)
    with lock:
        outputs = []
        out = x
        for layer in model.layers:
            out = layer.forward(out, training=True) if _caches(layer) else layer.forward(out)
            outputs.append(np.array(out, copy=True))  # training buffers are reused
        logits = out[0]
        predicted = int(np.argmax(logits))
        contributions = _contributions(model, blocks, predicted, logits.shape[0])
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    hidden = []
    for number, block in enumerate(blocks[:-1], start=1):
        values = outputs[block[-1]][0]
        hidden.append({"label": _layer_label(model, block, number), "values": _round(values)})
    return {
        "input": _round(image.ravel()),
        "probabilities": _round(probs, 5),
        "predicted": predicted,
        "layers": hidden,
        "templates": _templates(model, blocks, outputs, contributions),
    }


def _caches(layer) -> bool:
    """Run layers in training mode only where that mode changes nothing but caching (Dense and
    activations); dropout and batch norm must stay in inference mode."""
    from ..nn.activations import ACTIVATIONS
    from ..nn.dense import Dense

    activation_types = tuple(set(ACTIVATIONS.values()))
    return isinstance(layer, (Dense, *activation_types))


def _contributions(model, blocks, predicted: int, n_out: int) -> np.ndarray | None:
    """d logit_predicted / d (first hidden layer's output), by backward through later layers."""
    if len(blocks) < 2 or not all(_caches(model.layers[i]) for b in blocks[1:] for i in b):
        return None
    grad = np.zeros((1, n_out), dtype=model.dtype)
    grad[0, predicted] = 1.0
    for index in range(len(model.layers) - 1, blocks[1][0] - 1, -1):
        grad = model.layers[index].backward(grad)
    return grad[0]


def _templates(model, blocks, outputs, contributions) -> list[dict[str, Any]]:
    first = model.layers[blocks[0][0]]
    weight = getattr(first, "params", {}).get("weight")
    if weight is None or weight.shape[0] != 784 or len(blocks) < 2:
        return []
    activation = outputs[blocks[0][-1]][0]
    score = activation * contributions if contributions is not None else activation
    order = np.argsort(score)[::-1][:TEMPLATES]
    templates = []
    for unit in order:
        column = weight[:, unit]
        scale = float(np.abs(column).max()) or 1.0
        templates.append(
            {
                "unit": int(unit),
                "activation": round(float(activation[unit]), 4),
                "contribution": round(float(score[unit]), 4),
                "weights": _round(column / scale, 3),  # scaled to [-1, 1] for drawing
            }
        )
    return templates


def _round(values: np.ndarray, digits: int = 4) -> list[float]:
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()
