"""The library's own exceptions: problems a user can fix, with a message that says how.

The command-line tool prints their message on one line and exits with status 1; anything else
that escapes is a bug in scratchnet. They subclass ValueError/OSError where that is what a
caller would expect to catch.
"""

from __future__ import annotations


class ScratchnetError(Exception):
    """Base class for every error scratchnet raises about a user's data, files or settings."""


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


class RunFileError(DataError):
    """A file of a run or sweep folder (config.json, history, diagnosis.json, sweep.jsonl,
    summary.json) is unreadable or does not have the shape scratchnet writes."""


class OutputError(ScratchnetError, OSError):
    """An output path cannot be written: a folder where a file goes, a file where a folder
    goes, or no permission. Checked before any work starts."""
