"""Fixtures for the sweep tests: tiny synthetic 28x28 data (three noisy prototypes)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def digits(synthetic_digits):
    """Three noisy prototypes (tests/conftest.py's make_digits); 77 test images, a size
    nothing else has (so a test can tell the test set from any other)."""
    return synthetic_digits(n_test=77)
