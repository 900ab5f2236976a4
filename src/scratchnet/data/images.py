"""Turn a user's picture of one handwritten digit into a 28x28 array the way MNIST was made.

load_digit (a file) and to_mnist (a 2-D array) are the one-picture faces of
scratchnet.pictures, which holds the steps (uneven light, noise, ink level, strokes, ruled lines,
then the 20x20 box centred by mass in 28x28) and the many-picture predict_images. They raise
ImageError for a picture with no ink. Pillow is needed only to read files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from scratchnet.errors import ImageError

__all__ = ["load_digit", "to_mnist"]

CANVAS = 28
BOX = 20
Invert = bool | Literal["auto"]


def load_digit(path: str | os.PathLike[str], *, invert: Invert = "auto") -> np.ndarray:
    """Read a PNG/JPEG (or any image Pillow reads) of one digit and return it in MNIST form.

    file -> grayscale (EXIF rotation applied, transparency = paper) -> to_mnist: (28, 28) float32.

    Parameters
    ----------
    path: the image file (refused unread if it is not a regular file: a folder, a named pipe).
    invert: "auto" (default) decides from the image whether the ink is dark on light paper; True
        says it is (a pen on paper), False says the ink is already light on a dark background.

    Raises ImageError (one line naming the file and the fix) when the file is missing, not an image,
    truncated, absurdly large, or holds no ink.
    """
    # Imported here: scratchnet.pictures sits to the right of data in the import order.
    from ..pictures.decode import read_gray

    _check_invert(invert)
    path = Path(path)
    return _to_mnist(read_gray(path), invert, source=str(path))


def to_mnist(gray: np.ndarray, *, invert: Invert = "auto") -> np.ndarray:
    """Centre and scale one digit like MNIST: ink crop fitted into 20x20, mass centre at (14, 14).

    gray: (height, width) uint8 0..255 or float 0..1 -> (28, 28) float32 in [0, 1], 1 = ink.

    The paper is estimated locally (uneven light), noise removed, the ink level chosen (Otsu),
    specks and lines dropped (see scratchnet.pictures). `invert` is as for load_digit. The input
    is not modified. Raises ImageError for a wrong shape, dtype or value range, and for an image
    with no ink.
    """
    from ..pictures.decode import as_gray

    _check_invert(invert)
    array = np.asarray(gray) if not hasattr(gray, "mode") else gray
    if isinstance(array, np.ndarray) and array.ndim != 2:
        raise ImageError(
            f"array: expected a 2-D grayscale array (height, width); received shape "
            f"{array.shape}; convert colour images to grayscale first"
        )
    return _to_mnist(as_gray(array, "array"), invert, source="array")


def _to_mnist(gray: np.ndarray, invert: Invert, *, source: str) -> np.ndarray:
    from ..pictures.pipeline import prepare_digit

    prepared = prepare_digit(gray, invert=invert)
    if prepared.blank:
        raise ImageError(
            f"{source}: no ink found: the image is blank or has no contrast; "
            "crop to one digit on a plain background"
            + ("" if invert == "auto" else f" (or check invert={invert!r})")
        )
    return prepared.image


def _check_invert(invert: object) -> None:
    if not (isinstance(invert, bool) or (isinstance(invert, str) and invert == "auto")):
        raise ImageError(f"invert must be 'auto', True or False; received invert={invert!r}")
