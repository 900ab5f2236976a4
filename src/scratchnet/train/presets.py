"""Named training recipes: settings chosen on the validation split, each with its target.

`scratchnet train --preset NAME` prints every setting a preset implies and records them in the
model file. The test set played no part in choosing them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Preset:
    description: str
    settings: dict[str, Any]


PRESETS: dict[str, Preset] = {
    "default": Preset("the defaults of scratchnet train", {}),
    "fast": Preset(
        "MNIST >= 98.5% in under a minute on 2 cores: 784-1024-10, Nesterov SGD, one-cycle",
        {
            "hidden": (1024,),
            "optimizer": "sgd",
            "learning_rate": 0.1,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "schedule": "onecycle",
            "batch_size": 128,
            "epochs": 12,
            "augment": "affine",
        },
    ),
    "best": Preset(
        "MNIST >= 99.2% with a fully-connected network: 784-1024-1024-10, light dropout, "
        "max-norm, elastic distortions, 100 epochs (about 8 minutes on 2 cores)",
        {
            "hidden": (1024, 1024),
            "optimizer": "sgd",
            "learning_rate": 0.05,
            "momentum": 0.9,
            "weight_decay": 0.0,
            "max_norm": 3.0,
            "dropout": 0.1,
            "schedule": "cosine",
            "batch_size": 128,
            "epochs": 100,
            "augment": "elastic",
        },
    ),
    "fashion": Preset(
        "Fashion-MNIST >= 90.5%: 784-1024-1024-10, batch norm, dropout 0.3, label smoothing, "
        "50 epochs",
        {
            "dataset": "fashion-mnist",
            "hidden": (1024, 1024),
            "optimizer": "sgd",
            "learning_rate": 0.05,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "dropout": 0.3,
            "batch_norm": True,
            "label_smoothing": 0.1,
            "schedule": "cosine",
            "batch_size": 128,
            "epochs": 50,
        },
    ),
}
