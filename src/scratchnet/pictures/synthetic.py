"""Pictures drawn in NumPy: digits and letters as pen strokes, and things that are not digits.

Used to choose the "not a digit" threshold (scratchnet.pictures.refuse), by the tests and by
benchmarks/bench_predict.py. Strokes are poly-lines on a 0..1 grid, jittered per drawing and
rendered with anti-aliased round pens. Nothing here reads files or fonts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DIGIT_STROKES", "LETTER_STROKES", "draw_strokes", "non_digits", "two_digits"]


def _arc(cx, cy, rx, ry, start, stop, n=16):
    angles = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy - ry * np.sin(a)) for a in angles]


# (x, y) in [0, 1], y downwards; each digit a list of poly-lines.
DIGIT_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "0": [_arc(0.5, 0.5, 0.28, 0.4, 0, 360, 28)],
    "1": [[(0.38, 0.25), (0.55, 0.1), (0.55, 0.9)]],
    "2": [_arc(0.5, 0.32, 0.27, 0.22, 160, -30, 12) + [(0.22, 0.9), (0.8, 0.9)]],
    "3": [_arc(0.48, 0.3, 0.25, 0.2, 150, -90, 12) + _arc(0.48, 0.7, 0.28, 0.2, 90, -160, 12)],
    "4": [[(0.6, 0.9), (0.6, 0.1), (0.2, 0.65), (0.82, 0.65)]],
    "5": [[(0.75, 0.1), (0.3, 0.1), (0.27, 0.45)] + _arc(0.5, 0.66, 0.27, 0.24, 120, -150, 14)],
    "6": [[(0.68, 0.12), (0.4, 0.35)] + _arc(0.5, 0.66, 0.25, 0.24, 160, -200, 22)],
    "7": [[(0.22, 0.12), (0.8, 0.12), (0.42, 0.9)]],
    "8": [_arc(0.5, 0.3, 0.22, 0.2, -90, 270, 20), _arc(0.5, 0.7, 0.27, 0.2, 90, 450, 20)],
    "9": [_arc(0.5, 0.33, 0.25, 0.23, -20, 340, 20) + [(0.74, 0.45), (0.62, 0.9)]],
}

# Letters that do not look like a digit (no O, I, l, S, Z, B, G, q, g, b).
LETTER_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0.15, 0.9), (0.5, 0.1), (0.85, 0.9)], [(0.3, 0.6), (0.7, 0.6)]],
    "E": [[(0.75, 0.1), (0.25, 0.1), (0.25, 0.9), (0.75, 0.9)], [(0.25, 0.5), (0.65, 0.5)]],
    "F": [[(0.75, 0.1), (0.25, 0.1), (0.25, 0.9)], [(0.25, 0.5), (0.65, 0.5)]],
    "H": [[(0.2, 0.1), (0.2, 0.9)], [(0.8, 0.1), (0.8, 0.9)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.25, 0.1), (0.25, 0.9)], [(0.8, 0.1), (0.25, 0.55)], [(0.4, 0.45), (0.8, 0.9)]],
    "M": [[(0.12, 0.9), (0.12, 0.1), (0.5, 0.6), (0.88, 0.1), (0.88, 0.9)]],
    "N": [[(0.2, 0.9), (0.2, 0.1), (0.8, 0.9), (0.8, 0.1)]],
    "R": [[(0.25, 0.9), (0.25, 0.1)] + _arc(0.4, 0.3, 0.3, 0.2, 180, -90, 10)[1:] + [(0.8, 0.9)]],
    "W": [[(0.08, 0.1), (0.3, 0.9), (0.5, 0.35), (0.7, 0.9), (0.92, 0.1)]],
    "X": [[(0.18, 0.1), (0.82, 0.9)], [(0.82, 0.1), (0.18, 0.9)]],
    "Y": [[(0.18, 0.1), (0.5, 0.5), (0.82, 0.1)], [(0.5, 0.5), (0.5, 0.9)]],
    "C": [_arc(0.55, 0.5, 0.32, 0.4, 45, 315, 20)],
    "U": [[(0.2, 0.1)] + _arc(0.5, 0.6, 0.3, 0.3, 180, 360, 12) + [(0.8, 0.1)]],
    "V": [[(0.15, 0.1), (0.5, 0.9), (0.85, 0.1)]],
    "T": [[(0.12, 0.1), (0.88, 0.1)], [(0.5, 0.1), (0.5, 0.9)]],
    "P": [[(0.25, 0.9), (0.25, 0.1)] + _arc(0.4, 0.3, 0.32, 0.2, 90, -90, 10)],
    "e": [[(0.2, 0.55), (0.8, 0.55)] + _arc(0.5, 0.6, 0.3, 0.3, 0, 320, 18)],
    "h": [
        [(0.25, 0.1), (0.25, 0.9)],
        [(0.25, 0.6)] + _arc(0.5, 0.6, 0.25, 0.2, 160, 0, 8) + [(0.75, 0.9)],
    ],
    "m": [
        [(0.1, 0.9), (0.1, 0.4), (0.35, 0.35), (0.5, 0.45), (0.5, 0.9)],
        [(0.5, 0.45), (0.7, 0.35), (0.9, 0.45), (0.9, 0.9)],
    ],
    "w": [[(0.08, 0.4), (0.3, 0.9), (0.5, 0.5), (0.7, 0.9), (0.92, 0.4)]],
    "x": [[(0.2, 0.4), (0.8, 0.9)], [(0.8, 0.4), (0.2, 0.9)]],
}


def draw_strokes(
    strokes: list[list[tuple[float, float]]],
    size: int = 64,
    *,
    width: float = 0.1,
    rng: np.random.Generator | None = None,
    jitter: float = 0.0,
    slant: float = 0.0,
    margin: float = 0.15,
) -> np.ndarray:
    """Render poly-lines with a round pen: (size, size) float32, 1 = ink, 0 = paper.

    width: the pen's width as a share of the picture; jitter: random shifts of each point (share
    of the picture); slant: x shifted by slant * (0.5 - y), like handwriting leaning right.
    """
    inner = 1.0 - 2 * margin
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    distance = np.full((size, size), np.inf, dtype=np.float32)
    for line in strokes:
        points = np.array(line, dtype=np.float32)
        if rng is not None and jitter:
            points = points + rng.normal(0, jitter, points.shape).astype(np.float32)
        points[:, 0] += slant * (0.5 - points[:, 1])
        points = (margin + inner * points) * size
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
            dx, dy = x1 - x0, y1 - y0
            length2 = max(dx * dx + dy * dy, 1e-6)
            t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / length2, 0.0, 1.0)
            d = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
            np.minimum(distance, d, out=distance)
    radius = max(width * size / 2, 0.5)
    return np.clip(radius - distance + 0.5, 0.0, 1.0).astype(np.float32)


def _random_strokes(kind: dict, rng: np.random.Generator, size: int) -> np.ndarray:
    key = list(kind)[int(rng.integers(len(kind)))]
    return draw_strokes(
        kind[key],
        size,
        width=float(rng.uniform(0.06, 0.14)),
        rng=rng,
        jitter=0.02,
        slant=float(rng.uniform(-0.2, 0.3)),
    )


def two_digits(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Two drawn digits side by side (like "42"): (size, 2 * size) float32, 1 = ink."""
    return np.concatenate(
        [_random_strokes(DIGIT_STROKES, rng, size), _random_strokes(DIGIT_STROKES, rng, size)],
        axis=1,
    )


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    positions = np.linspace(0, cells, size, dtype=np.float32)
    i = np.minimum(positions.astype(int), cells - 1)
    f = positions - i
    rows = coarse[i] * (1 - f)[:, None] + coarse[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


def non_digits(
    rng: np.random.Generator, count: int, size: int = 64
) -> list[tuple[str, np.ndarray]]:
    """`count` pictures that are not one digit, as (kind, ink picture (h, w) float32, 1 = ink).

    Kinds in turn: noise (uniform or Gaussian), texture (stripes, checks, smooth blobs), blank
    (paper with faint noise), letter (pen-drawn letters unlike digits), two digits.
    """
    kinds = ("noise", "texture", "blank", "letter", "two digits")
    pictures = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        if kind == "noise":
            if rng.random() < 0.5:
                picture = rng.random((size, size)).astype(np.float32)
            else:
                picture = np.clip(rng.normal(0.5, 0.25, (size, size)), 0, 1).astype(np.float32)
        elif kind == "texture":
            yy, xx = np.mgrid[0:size, 0:size]
            choice = index // len(kinds) % 3
            period = int(rng.integers(4, 14))
            angle = rng.uniform(0, np.pi)
            if choice == 0:
                phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
                picture = (np.sin(2 * np.pi * phase) > 0).astype(np.float32)
            elif choice == 1:
                picture = (((xx // period) + (yy // period)) % 2).astype(np.float32)
            else:
                picture = (_smooth_noise(rng, size, int(rng.integers(3, 8))) > 0.55).astype(
                    np.float32
                )
        elif kind == "blank":
            picture = np.clip(rng.normal(0.0, 0.02, (size, size)), 0, 1).astype(np.float32)
        elif kind == "letter":
            picture = _random_strokes(LETTER_STROKES, rng, size)
        else:
            picture = two_digits(rng, size)
        pictures.append((kind, picture))
    return pictures


def as_picture(image: np.ndarray, rng: np.random.Generator, *, vary: bool = False) -> np.ndarray:
    """A 28x28 data-set image (1 = ink) as a user's picture: enlarged to 28-112 px with a random
    margin, dark ink on light paper half the time, with mild sensor noise. -> (h, w) float32.

    vary: also the ways people's pictures differ from the data set's: a thicker or thinner pen
    (half the time), light falling from one side, more or less noise.
    """
    from .filters import max_filter, min_filter
    from .form import _resample_matrix

    size = int(rng.integers(28, 113))
    pad = int(rng.integers(0, size // 4 + 1))
    enlarged = _resample_matrix(28, size) @ image.astype(np.float64) @ _resample_matrix(28, size).T
    if vary:
        pen = rng.random()
        grow = 2 * max(1, size // 40) + 1
        if pen < 0.3:
            enlarged = max_filter(enlarged, grow)
        elif pen < 0.5 and size >= 56:
            enlarged = min_filter(enlarged, grow)
    picture = np.pad(enlarged, pad)
    sigma = float(rng.uniform(0.0, 0.08)) if vary else 0.03
    picture = np.clip(picture + rng.normal(0, sigma, picture.shape), 0.0, 1.0)
    if vary and rng.random() < 0.5:
        # Paper lit from one side: the light falls to as little as 40% across the picture.
        ramp = np.linspace(float(rng.uniform(0.4, 1.0)), 1.0, picture.shape[1])
        picture = 1.0 - (1.0 - picture) * (ramp if rng.random() < 0.5 else ramp[::-1])
    if rng.random() < 0.5:
        picture = 1.0 - picture
    return picture.astype(np.float32)
