"""The keras-style face of scratchnet.data, thin re-exports only.

Use: `from scratchnet.datasets import mnist; mnist.load_data()`; the code lives in scratchnet.data.
"""

from __future__ import annotations

from scratchnet.datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
