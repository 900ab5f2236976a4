"""Updates applied block by block (Optimizer._blocks) give bitwise the whole-array results.

Blocking only changes the order in which memory is visited, never an element's arithmetic, so
every optimiser, with weight decay, momentum, clipping and either memory order of the weight,
must produce the same bits with tiny blocks as with one block.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.optim.optimizer as optimizer_module
from scratchnet.nn import mlp
from scratchnet.nn.autotune import Layout
from scratchnet.optim import SGD, Adam, AdamW, RMSprop

CONFIGS = {
    "sgd": lambda: SGD(0.1),
    "sgd-decay": lambda: SGD(0.1, weight_decay=1e-2),
    "momentum": lambda: SGD(0.1, momentum=0.9, weight_decay=1e-3),
    "nesterov-clip": lambda: SGD(0.1, momentum=0.9, nesterov=True, clip_norm=0.5),
    "adam": lambda: Adam(1e-2, weight_decay=1e-3),
    "adamw-clip": lambda: AdamW(1e-2, clip_norm=0.5),
    "rmsprop": lambda: RMSprop(1e-2, momentum=0.5, weight_decay=1e-3),
}


def _run(make, block: int, weight_order: str, monkeypatch) -> list[np.ndarray]:
    monkeypatch.setattr(optimizer_module, "BLOCK", block)
    model = mlp(30, (20,), 5, seed=0)
    model.layers[0].set_layout(Layout(weight_order, "C", "C"))
    optimizer = make()
    rng = np.random.default_rng(1)
    for _ in range(4):
        for _, _, _, grad in model.parameters():
            grad[...] = rng.standard_normal(grad.shape)
        optimizer.step(model)
    return [param.copy() for _, _, param, _ in model.parameters()] + [
        array.copy() for slots in optimizer.state.values() for array in slots.values()
    ]


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("weight_order", ["C", "F"])
def test_blocked_updates_are_bitwise_the_whole_array_ones(name, weight_order, monkeypatch):
    whole = _run(CONFIGS[name], 1 << 30, weight_order, monkeypatch)
    blocked = _run(CONFIGS[name], 64, weight_order, monkeypatch)  # 600 weights: 10 blocks
    assert len(whole) == len(blocked)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_blocks_pair_up_elements_and_fall_back_for_mixed_layouts(monkeypatch):
    monkeypatch.setattr(optimizer_module, "BLOCK", 8)
    opt = SGD(0.1)
    c = np.arange(30.0).reshape(5, 6)
    f = np.asfortranarray(c)
    blocks = list(opt._blocks((c, c.copy()), (0, "w"), 1))
    assert len(blocks) == 4 and all(b[0].ndim == 1 and b[2].size == b[0].size for b in blocks)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), c.ravel())
    (mixed,) = list(opt._blocks((c, f), (0, "w"), 1))
    assert mixed[0] is c and mixed[1] is f and mixed[2].shape == c.shape
