"""A CSV of labelled 28x28 images in the layout Kaggle's digit recogniser made common:
a header `label,pixel0,...,pixel783`, then one image per row, pixels 0..255 row by row.

The label column may be anywhere and hold numbers or text; every other column is a pixel, and
there must be 784 of them. A bad row is named by its line number in the one-line DataError.
A seeded, stratified test split is held out (data.own.default_test_size).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .own import OwnData, check_pixels, encode_labels, hold_out_test

PIXELS = 784
LABEL = "label"


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a text CSV ({exc})") from None
    if not header:
        raise DataError(f"{path}: the file is empty; expected a header label,pixel0,...,pixel783")
    return [name.strip().lower() for name in header]


def _read_columns(path: Path, columns: list[int], dtype) -> np.ndarray:
    """np.loadtxt of some columns after the header; its error becomes one line naming the file
    and the row (NumPy counts data rows from 0; line numbers in the file count the header)."""
    try:
        return np.loadtxt(
            path,
            delimiter=",",
            skiprows=1,
            usecols=columns,
            dtype=dtype,
            ndmin=2 if len(columns) > 1 else 1,
            encoding="utf-8-sig",
        )
    except ValueError as exc:
        raise DataError(f"{path}: {_with_line_number(str(exc))}; fix or remove that row") from None


def _with_line_number(message: str) -> str:
    """NumPy's 'at row R, column C' -> 'at line R+2, column C+1' (what an editor shows)."""
    import re

    match = re.search(r"at row (\d+), column (\d+)", message)
    if match:
        line, column = int(match.group(1)) + 2, int(match.group(2)) + 1
        message = message.replace(match.group(0), f"at line {line}, column {column}")
    match = re.search(r"at row (\d+)", message)
    if match:
        message = message.replace(match.group(0), f"at line {int(match.group(1)) + 2}")
    return message.split(";")[0].rstrip(".")


def _check_field_counts(path: Path, fields: int) -> int:
    """The number of data rows; a row with another number of fields is named by its line."""
    rows = 0
    with open(path, encoding="utf-8-sig") as handle:
        next(handle, None)
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            count = line.count(",") + 1
            if count != fields:
                raise DataError(
                    f"{path}: line {number} has {count} fields; the header has {fields}; fix "
                    "or remove that row"
                )
            rows += 1
    if rows == 0:
        raise DataError(f"{path}: a header but no rows; expected one image per row")
    return rows


def _check_rows(path: Path, pixels: np.ndarray) -> None:
    bad = ~np.isfinite(pixels).all(axis=1)
    bad |= ((pixels < 0) | (pixels > 255) | (pixels != np.rint(pixels))).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        lines = ", ".join(str(r + 2) for r in rows[:5]) + (" ..." if rows.size > 5 else "")
        raise DataError(
            f"{path}: {rows.size} row(s) with pixels that are not whole numbers 0..255, at "
            f"line(s) {lines}; fix or remove them"
        )


def load_csv(
    path: str | os.PathLike[str], *, test_size: int | None = None, seed: int = 0
) -> OwnData:
    """A labelled CSV (label + 784 pixel columns) -> OwnData, test split held out with `seed`."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file; expected a CSV with a label column")
    header = _header(path)
    if LABEL not in header:
        shown = ", ".join(name if len(name) <= 20 else name[:17] + "..." for name in header[:3])
        other = next((mark for mark in ";\t|" if mark in header[0]), None)
        hint = (
            f"; its fields seem separated by {other!r}, not commas"
            if len(header) == 1 and other
            else ""
        )
        raise DataError(
            f"{path}: no '{LABEL}' column in the header ({shown}, ...){hint}; "
            "a CSV to train on needs label,pixel0,...,pixel783 (Kaggle's test.csv has no labels)"
        )
    label_column = header.index(LABEL)
    pixel_columns = [i for i in range(len(header)) if i != label_column]
    if len(pixel_columns) != PIXELS:
        raise DataError(
            f"{path}: {len(pixel_columns)} pixel columns beside the label; expected {PIXELS} "
            "(28x28 images, one row each)"
        )
    _check_field_counts(path, len(header))
    try:  # numeric labels (Kaggle's): one pass reads everything
        table = _read_columns(path, list(range(len(header))), np.float32)
        pixels, labels_text = table[:, pixel_columns], table[:, label_column]
        if not np.array_equal(labels_text, np.rint(labels_text)):
            raise DataError("labels with decimals: read them as text")
        labels_text = labels_text.astype(np.int64)
    except DataError:  # text labels, or a bad row: read the columns apart (and name the row)
        pixels = _read_columns(path, pixel_columns, np.float32)
        labels_text = _read_columns(path, [label_column], str)
    _check_rows(path, pixels)
    if labels_text.dtype.kind in "US":
        empty = np.flatnonzero(np.char.str_len(np.char.strip(labels_text)) == 0)
        if empty.size:
            raise DataError(
                f"{path}: an empty label at line {empty[0] + 2}; fill or remove that row"
            )
    labels, classes = encode_labels(labels_text)
    images = check_pixels(pixels.astype(np.uint8), str(path))
    train, test = hold_out_test(images, labels, test_size=test_size, seed=seed, where=str(path))
    return OwnData(train, test, classes, str(path))
