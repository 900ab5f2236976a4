"""The steps in order: a grayscale picture -> the 28x28 input a model of that data set expects.

prepare_digit runs the digit steps (scratchnet.pictures.steps, then MNIST form); prepare_object
the clothes steps (background, then Fashion-MNIST form). A picture with no ink comes back
with `blank=True` and an empty canvas instead of an error, so a batch can say "not a digit".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from . import steps
from .decode import shrink
from .filters import max_filter
from .form import BOX, _resample_matrix, bounding_box, fit_object, mnist_form

__all__ = [
    "Prepared",
    "digit_candidates",
    "prepare",
    "prepare_candidates",
    "prepare_digit",
    "prepare_object",
    "WORK_SIDE",
]

WORK_SIDE = 256  # pictures are box-averaged down to this before the steps: a digit needs no more
# MNIST's strokes, thresholded at half ink, are 2.0 px wide in the 20x20 box (median; 5% are under
# 1.3): thinner pen lines are thickened to the median before the picture is shrunk.
THIN_STROKE = 1.2
HI_RES = 80  # binarise digits at no fewer pixels than this (MNIST: 128x128 binary scans)
MNIST_STROKE = 2.0
# Strokes wider than this in the 20x20 box (a marker, a blurred upscale) are eroded toward
# MNIST's median: an MLP trained on MNIST reads a thick 1 or 3 as an 8.
THICK_STROKE = 3.5
SOLID = 0.75  # ink filling this much of its box is a blob (a bar, a dot), not strokes to thin
Invert = bool | Literal["auto"]
Kind = Literal["digit", "object"]


@dataclass
class Prepared:
    """What the network sees (`image`, (28, 28) float32, 1 = ink) and how it was found."""

    image: np.ndarray
    blank: bool = False
    ink_dark: bool = True
    stroke_width: float = 0.0
    components: int = 0
    details: dict = field(default_factory=dict)


def prepare_digit(gray: np.ndarray, *, invert: Invert = "auto") -> Prepared:
    """One digit in a picture -> MNIST form.

    gray: (h, w) float32 in [0, 1] -> Prepared with image (28, 28) float32 in [0, 1].
    invert: "auto" guesses whether the ink is dark on light paper; True/False say so.
    """
    return digit_candidates(gray, invert=invert)[0]


def digit_candidates(gray: np.ndarray, *, invert: Invert = "auto") -> list[Prepared]:
    """prepare_digit's answer first, then, when the ink's polarity was a toss-up (a digit
    filling half a shaded picture), the picture prepared the other way round: whoever runs
    the network keeps the one that looks more like a digit (predict keeps the more typical).
    When one of the two readings finds no ink, the other is the only answer."""
    work = shrink(gray, WORK_SIDE)
    found = steps.polarity(work)
    ink_dark = found.ink_dark if invert == "auto" else bool(invert)
    first = _digit_with(work, ink_dark, found.paper(ink_dark))
    if invert != "auto" or found.sure:
        return [first]
    second = _digit_with(work, not ink_dark, found.paper(not ink_dark))
    if second.blank:
        return [first]
    # No ink one way round (a large dark blob on noisy paper) leaves the other reading alone.
    return [second] if first.blank else [first, second]


def _digit_with(work: np.ndarray, ink_dark: bool, paper: np.ndarray | None) -> Prepared:
    """The digit steps after the polarity: work (h, w) gray -> Prepared."""
    # Denoised with the paper's noise below 0 kept (an average of it is then ~0, not > 0).
    signed = steps.remove_paper(work, ink_dark, paper, clip=False)
    ink = np.clip(steps.denoise(signed), 0.0, 1.0)
    level = steps.otsu_threshold(ink)
    mask = ink > level
    inside = float(ink[mask].mean()) if mask.any() else 0.0
    outside = float(ink[~mask].mean()) if (~mask).any() else 0.0
    if inside - outside < steps.MIN_CONTRAST or _faint(work, mask):
        return _blank(ink_dark)
    mask = steps.keep_digit(steps.remove_lines(mask))
    box = bounding_box(mask)
    if box is None:
        return _blank(ink_dark)
    # The digit's own ink, soft edges included (one pixel around the kept strokes).
    support = max_filter(mask.astype(np.float32), 3) > 0
    crop_box = bounding_box(support)
    assert crop_box is not None
    crop = np.where(support, ink, 0.0)[crop_box]
    # MNIST was made from binary scans shrunk into the 20x20 box with anti-aliasing: binarise
    # at no less than HI_RES pixels (enlarging small pictures first), then shrink.
    factor = -(-HI_RES // max(crop.shape))
    if factor > 1:
        height, width = crop.shape
        crop = (
            _resample_matrix(height, height * factor)
            @ crop
            @ _resample_matrix(width, width * factor).T
        )
    # A blurred edge lies where the ink is half as strong as in the strokes' cores.
    edge = max(level, 0.5 * float(np.percentile(ink[mask], 90)))
    binary = (crop > edge).astype(np.float32)
    width = steps.stroke_width(binary > 0)
    scale = BOX / max(binary.shape)
    if width * scale < THIN_STROKE:
        # Never wider than a sixth of the glyph: a noisy outline must not swell into a blob.
        target = min(MNIST_STROKE / scale, max(binary.shape) / 6)
        binary = steps.thicken(binary, width, target)
    elif width * scale > THICK_STROKE and binary.mean() < SOLID:
        binary = steps.thin(binary, width, MNIST_STROKE / scale)
    image = mnist_form(binary)
    return Prepared(
        image=image,
        ink_dark=ink_dark,
        stroke_width=width,
        details={"level": level, "ink_pixels": int(mask.sum()), "work_shape": list(work.shape)},
    )


def _faint(work: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the ink differs from the rest by under half of MIN_CONTRAST in the picture's own
    gray levels: dividing by a paper's brightness makes any speck strong on near-black paper
    (read as dark ink on it), but nobody can see that ink."""
    if mask.all() or not mask.any():
        return True
    return abs(float(work[mask].mean()) - float(work[~mask].mean())) < steps.MIN_CONTRAST / 2


def _border_says_dark(gray: np.ndarray) -> bool:
    """Whether the object is darker than the background, the border's median."""
    paper = float(np.median(steps.border(gray)))
    darker, lighter = paper - float(gray.min()), float(gray.max()) - paper
    if abs(darker - lighter) > steps.MIN_CONTRAST:
        return darker > lighter
    return float(gray.mean()) < float(np.median(gray))


def _blank(ink_dark: bool) -> Prepared:
    return Prepared(image=np.zeros((28, 28), dtype=np.float32), blank=True, ink_dark=ink_dark)


def prepare_object(gray: np.ndarray, *, invert: Invert = "auto") -> Prepared:
    """One object (a garment) in a picture -> Fashion-MNIST form (no digit crop, no 20x20 box).

    gray: (h, w) float32 in [0, 1] -> Prepared with image (28, 28). The background level (the
    border's median) becomes 0; the object's own shading is kept.
    """
    # Objects may fill most of the picture, so the background is read from the border (the
    # digits' rule, ink is the minority, would not hold).
    ink_dark = _border_says_dark(gray) if invert == "auto" else bool(invert)
    oriented = steps.orient(gray, ink_dark)
    background = float(np.median(steps.border(oriented)))
    x = np.clip(oriented - background, 0.0, 1.0)
    if float(x.max()) < steps.MIN_CONTRAST:
        return _blank(ink_dark)
    if x.shape != (28, 28):
        x = x / float(x.max())
    return Prepared(image=fit_object(x), ink_dark=ink_dark)


def prepare(gray: np.ndarray, *, kind: Kind = "digit", invert: Invert = "auto") -> Prepared:
    """prepare_digit or prepare_object, by the kind of data the model was trained on."""
    if kind == "object":
        return prepare_object(gray, invert=invert)
    return prepare_digit(gray, invert=invert)


def prepare_candidates(
    gray: np.ndarray, *, kind: Kind = "digit", invert: Invert = "auto"
) -> list[Prepared]:
    """prepare's answer, and for digits of unsure polarity the other reading too (see
    digit_candidates); one or two Prepared, the first what prepare returns."""
    if kind == "object":
        return [prepare_object(gray, invert=invert)]
    return digit_candidates(gray, invert=invert)
