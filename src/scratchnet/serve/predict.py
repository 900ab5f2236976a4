"""From a posted picture to what `scratchnet predict --json` prints for it, and the 28x28 input.

POST /api/predict calls scratchnet.pictures.predict_picture, the function `scratchnet predict`
and the Python API share; the draw view needs the prepared 28x28 image too, so it runs the same
Reader's two steps (prepare, then records) itself. Nothing here preprocesses or scores pictures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

UPLOAD_NAME = "upload"  # what the record's "image" field and messages call a posted picture


def reader_for(model: Any):
    """The pictures.Reader of a model (its class names, calibration and typicality)."""
    from ..pictures.predict import Reader

    return Reader(model)


def predict_upload(reader, data: bytes, *, invert: Any = "auto", top: int = 3) -> dict:
    """Exactly the record `scratchnet predict --json` prints for this picture."""
    from ..pictures.predict import predict_picture

    return predict_picture(reader, data, name=UPLOAD_NAME, invert=invert, top=top)


def prepare_upload(reader, data: bytes, *, invert: Any = "auto") -> np.ndarray:
    """The (28, 28) image the network sees for this picture."""
    from ..pictures.decode import decode_gray

    return reader.prepare(decode_gray(data, UPLOAD_NAME), invert).image


def record_for_image(reader, image: np.ndarray, *, name: str, top: int) -> dict:
    """The record for an image already in the network's 28x28 form (a test image)."""
    from ..pictures.pipeline import Prepared

    prepared = Prepared(image=image.astype(np.float32), blank=not bool(image.any()))
    return reader.records([name], [prepared], top)[0]
