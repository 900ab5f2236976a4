"""Pictures the tests draw: digits with PIL strokes on paper, and ways to damage them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

# Stroke paths of a few digits on a 100x100 grid (x, y), drawn as poly-lines.
STROKES = {
    "1": [[(50, 15), (50, 85)], [(38, 27), (50, 15)]],
    "4": [[(62, 85), (62, 15), (25, 62), (75, 62)]],
    "7": [[(25, 18), (75, 18), (42, 85)]],
    "0": None,  # an ellipse
}


def draw_digit(
    digit: str = "7", size: int = 100, width: int = 9, paper: int = 255, ink: int = 0
) -> np.ndarray:
    """A digit drawn with a pen of `width` (in 100ths of the picture) -> (size, size) float32."""
    image = Image.new("L", (100 * 4, 100 * 4), paper)
    draw = ImageDraw.Draw(image)
    if STROKES[digit] is None:
        draw.ellipse([120, 60, 280, 340], outline=ink, width=width * 4)
    else:
        for line in STROKES[digit]:
            draw.line([(4 * x, 4 * y) for x, y in line], fill=ink, width=width * 4, joint="curve")
    small = image.resize((size, size), Image.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0


@pytest.fixture
def seven() -> np.ndarray:
    return draw_digit("7")


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
