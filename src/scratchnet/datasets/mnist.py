"""MNIST, keras-style: `load_data()` and `CLASS_NAMES`, re-exported from scratchnet.data."""

from __future__ import annotations

from scratchnet.data.mnist import CLASS_NAMES, load_data

__all__ = ["CLASS_NAMES", "load_data"]
