"""From a picture's bytes to what `scratchnet predict --json` prints for it, and the 28x28 input.

BRIDGE: the project's one function from picture bytes to the prediction record is being built
(issue 15: the `predict` pipeline shared by the CLI, the Python API and the studio). Until it
lands this module reaches the CLI's preprocessing through load_digit on a private temporary file
(so the picture is read exactly as `scratchnet predict` reads a file, errors included) and builds
the record the way cli/models.py does; tests/serve/test_api.py checks that POST /api/predict and
`scratchnet predict --json` agree on the same pictures. Swap both for the shared function then.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from ..errors import ImageError

UPLOAD_NAME = "upload"  # what the record's "image" field and messages call a posted picture


def picture_to_input(data: bytes, *, invert: Any = "auto", source: str = UPLOAD_NAME) -> np.ndarray:
    """PNG/JPEG bytes -> the (28, 28) float32 image the network sees (scratchnet predict's
    preprocessing). Raises ImageError with the CLI's one-line message, naming `source`."""
    from ..data.images import load_digit

    handle, temporary = tempfile.mkstemp(prefix="scratchnet-upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        try:
            return load_digit(temporary, invert=invert)
        except ImageError as exc:
            raise ImageError(str(exc).replace(temporary, source)) from None
    finally:
        os.unlink(temporary)


def class_names(model) -> list[str]:
    names = (getattr(model, "metadata", {}) or {}).get("class_names")
    if isinstance(names, list) and len(names) == model.n_out:
        return [str(n) for n in names]
    return [str(i) for i in range(model.n_out)]


def prediction_record(model, image: np.ndarray, *, top: int = 3, source: str = UPLOAD_NAME):
    """The record `scratchnet predict --json` prints for one picture already in MNIST form."""
    row = model.predict_proba(image.reshape(1, -1))[0]
    names = class_names(model)
    order = np.argsort(row)[::-1][: min(top, model.n_out)]
    return {
        "image": source,
        "prediction": names[order[0]],
        "label": int(order[0]),
        "top": [{"class": names[i], "label": int(i), "probability": float(row[i])} for i in order],
    }
