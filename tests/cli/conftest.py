"""Fixtures for the command-line tests: main([...]) with its output captured."""

from __future__ import annotations

import pytest

from scratchnet.cli import main


@pytest.fixture
def run(capsys):
    """run(*argv) -> (exit status, stdout, stderr) of main([...]); argparse's SystemExit (for
    --help and bad arguments) becomes a status."""

    def call(*argv: str) -> tuple[int, str, str]:
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def one_error_line():
    """The single non-blank line of stderr (asserting there is exactly one, no traceback)."""

    def check(err: str) -> str:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
        assert "Traceback" not in err
        return lines[0]

    return check
