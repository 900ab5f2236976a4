"""The `scratchnet` command: argument parsing, commands and their output."""

from .app import build_parser, main

__all__ = ["build_parser", "main"]
