"""Fixtures for the command-line tests: main([...]) with its output captured."""

from __future__ import annotations

import pytest


@pytest.fixture
def run(cli):
    """run(*argv) -> (exit status, stdout, stderr): tests/conftest.py's `cli`."""
    return cli


@pytest.fixture
def one_error_line():
    """The single non-blank line of stderr (asserting there is exactly one, no traceback)."""

    def check(err: str) -> str:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
        assert "Traceback" not in err
        return lines[0]

    return check
