"""scratchnet: neural networks written from scratch in NumPy."""

__version__ = "0.1.0"
