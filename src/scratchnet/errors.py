"""The library's own exceptions: problems a user can fix, with a message that says how.

They are raised at the boundary where input arrives (an option, a file, a data set) and name
what the user gave. The command-line tool prints their message on one line and exits with
their `exit_code`: 2 for arguments and options (as argparse does), 1 for data, files, models
and memory. Anything else that escapes a command is a bug in scratchnet, reported as one (exit
70). They subclass ValueError/OSError/MemoryError where that is what a caller would expect to
catch.
"""

from __future__ import annotations


class ScratchnetError(Exception):
    """Base class for every error scratchnet raises about a user's data, files or settings."""

    exit_code = 1


class ArgumentError(ScratchnetError, ValueError):
    """An option or a combination of options is invalid: the message names the option and the
    fix. The command-line tool exits with status 2, as for argparse's own errors."""

    exit_code = 2


class DataError(ScratchnetError, ValueError):
    """A data set or data file is missing, malformed or inconsistent."""


class IDXError(DataError):
    """An IDX file is malformed: bad magic number, type code, dimensions or length."""


class DownloadError(DataError):
    """A download failed: network error, HTTP error, wrong checksum or a cut connection."""


class DatasetNotFoundError(DataError):
    """A data set was found nowhere: not in any data directory, cache or mirror."""


class ModelFileError(ScratchnetError, ValueError):
    """A saved model file is corrupt, truncated, of an unknown version or holds pickled objects."""


class ImageError(DataError):
    """An image file could not be read or turned into an MNIST-style digit."""


class CheckpointError(ScratchnetError, ValueError):
    """A training checkpoint is missing, corrupt, of an unknown version or does not fit the run."""


class FileError(ScratchnetError, OSError):
    """A path the user gave cannot be read or written: missing, not a regular file, a folder
    where a file goes (or the reverse), not writable, or the disk is full."""

    def __init__(self, message: str) -> None:
        # OSError(errno, strerror) would reinterpret two arguments; keep the one message.
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ResourceError(ScratchnetError, MemoryError):
    """The machine lacks what a command needs (memory): the message says how much it needs,
    how much there is and what to change."""


class RunFileError(DataError):
    """A file of a run or sweep folder (config.json, history, diagnosis.json, sweep.jsonl,
    summary.json) is unreadable or does not have the shape scratchnet writes."""
