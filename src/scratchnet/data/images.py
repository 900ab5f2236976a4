"""Turn a user's picture of one handwritten digit into a 28x28 array the way MNIST was made.

Grayscale, ink made bright on a zero background, cropped to the ink, fitted into a 20x20 box and
centred by mass on a 28x28 canvas. One digit per image: it does not find or split several digits,
straighten a skewed photo or thicken a very thin pen line. Pillow is needed only to read files.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from scratchnet.errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = ["load_digit", "to_mnist"]

CANVAS = 28  # MNIST images are 28x28 ...
BOX = 20  # ... with the digit fitted into a 20x20 box, aspect ratio kept
MAX_PIXELS = 50_000_000  # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 2048  # larger images are box-averaged down first: a digit needs no more
MIN_CONTRAST = 0.1  # ink must differ from the paper by a tenth of the grey range, else "no ink"
NOISE_FLOOR = 0.15  # after normalising the contrast to 1, fainter pixels are paper texture or noise

Invert = bool | Literal["auto"]

# What Pillow's decoders raise on damaged data besides OSError (truncated files): broken PNG
# chunks raise SyntaxError, bad headers struct.error/ValueError, cut zlib streams zlib.error.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def load_digit(path: str | os.PathLike[str], *, invert: Invert = "auto") -> np.ndarray:
    """Read a PNG/JPEG (or any image Pillow reads) of one digit and return it in MNIST form.

    file -> grayscale (EXIF rotation applied, transparency = paper) -> to_mnist: (28, 28) float32.

    Parameters
    ----------
    path: the image file.
    invert: "auto" (default) decides from the image whether the ink is dark on light paper; True
        says it is (a pen on paper), False says the ink is already light on a dark background.

    Raises ImageError (one line naming the file and the fix) when the file is missing, not an image,
    truncated, absurdly large, or holds no ink.
    """
    _check_invert(invert)
    path = Path(path)
    gray = _read_gray(path)
    return _to_mnist(gray, invert, source=str(path))


def to_mnist(gray: np.ndarray, *, invert: Invert = "auto") -> np.ndarray:
    """Centre and scale one digit like MNIST: ink crop fitted into 20x20, mass centre at (14, 14).

    gray: (height, width) uint8 0..255 or float 0..1 -> (28, 28) float32 in [0, 1], 1 = ink.

    The paper level (the darker of the border median and the overall median, once the ink is
    bright) becomes 0 and the strongest ink 1; pixels below NOISE_FLOOR are set to 0. `invert`
    is as for load_digit. The input is not modified. Raises ImageError for a wrong shape, dtype or
    value range, and for an image with no ink.
    """
    _check_invert(invert)
    return _to_mnist(gray, invert, source="array")


def _to_mnist(gray: object, invert: Invert, *, source: str) -> np.ndarray:
    x = _as_unit_float(gray, source)
    ink_is_dark = _ink_is_dark(x) if invert == "auto" else invert
    oriented = 1.0 - x if ink_is_dark else x  # from here on ink is bright and paper dark

    # Two estimates of the paper level, each spoiled only by a lot of ink: the border (by a digit
    # touching the edges) and the whole image (by a digit covering over half of it).
    paper = min(float(np.median(_border(oriented))), float(np.median(oriented)))
    contrast = float(oriented.max()) - paper
    if contrast < MIN_CONTRAST:
        raise ImageError(
            f"{source}: no ink found: the image is blank or has no contrast; "
            "crop to one digit on a plain background"
            + ("" if invert == "auto" else f" (or check invert={invert!r})")
        )
    ink = np.clip((oriented - paper) / contrast, 0.0, 1.0).astype(np.float32)
    ink[ink < NOISE_FLOOR] = 0.0

    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    glyph = _fit_box(crop, BOX)
    return _centre_by_mass(glyph, CANVAS)


def _as_unit_float(gray: object, source: str) -> np.ndarray:
    """Validate a grayscale image and scale it to float32 in [0, 1].

    uint8 (or integers within 0..255) / 255; bool as 0/1; floats must already lie in [0, 1].
    """
    try:
        array = np.asarray(gray)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"{source}: expected a 2-D grayscale array; received {exc}") from exc
    if array.ndim != 2:
        raise ImageError(
            f"{source}: expected a 2-D grayscale array (height, width); received shape "
            f"{array.shape}; convert colour images to grayscale first"
        )
    if array.size == 0:
        raise ImageError(f"{source}: expected a non-empty image; received shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageError(
                f"{source}: expected integer pixel values 0..255 (uint8); received range "
                f"[{low}, {high}]; scale the image to 0..255 or to floats in [0, 1]"
            )
        return array.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(f"{source}: the image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-6 or high > 1.0 + 1e-6:
            raise ImageError(
                f"{source}: expected float pixel values in [0, 1]; received range "
                f"[{low:g}, {high:g}]; divide 0..255 images by 255"
            )
        return np.clip(array, 0.0, 1.0).astype(np.float32)
    raise ImageError(
        f"{source}: expected a uint8 or float grayscale array; received dtype {array.dtype}"
    )


def _border(x: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels (the whole image when it is one or two pixels thin)."""
    if min(x.shape) <= 2:
        return x.ravel()
    return np.concatenate([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])


def _ink_is_dark(x: np.ndarray) -> bool:
    """Guess whether the ink is darker than the paper.

    The paper is the border's median; the ink is whichever extreme lies further from it. When both
    lie about equally far, the minority (ink) pulls the mean away from the median towards itself.
    """
    paper = float(np.median(_border(x)))
    darker = paper - float(x.min())
    lighter = float(x.max()) - paper
    if abs(darker - lighter) > MIN_CONTRAST:
        return darker > lighter
    return float(x.mean()) < float(np.median(x))


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Linear (triangle-filter) resampling weights, widened when shrinking so it anti-aliases.

    (n_out, n_in), rows summing to 1: resized = weights @ signal. Same filter as Pillow's BILINEAR.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale  # output pixel centres, in input pixel units
    distance = (np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    # Every output centre lies within half a pixel of an input centre, so no row sums to 0.
    return weights / weights.sum(axis=1, keepdims=True)


def _fit_box(crop: np.ndarray, box: int) -> np.ndarray:
    """Resize so the longer side is `box` pixels, keeping the aspect ratio; peak rescaled to 1.

    crop: (h, w) -> (round(h * s), round(w * s)) with s = box / max(h, w), each side at least 1.
    """
    height, width = crop.shape
    longest = max(height, width)
    # Round half up in integers, so the longer side is exactly `box`.
    new_height = max(1, (2 * height * box + longest) // (2 * longest))
    new_width = max(1, (2 * width * box + longest) // (2 * longest))
    resized = _resample_matrix(height, new_height) @ crop @ _resample_matrix(width, new_width).T
    # Shrinking a thin stroke spreads it thin: restore full-strength ink like MNIST's strokes.
    return (resized / resized.max()).astype(np.float32)


def _centre_by_mass(glyph: np.ndarray, size: int) -> np.ndarray:
    """Paste the glyph on a size x size canvas so its centre of mass lands at (size/2, size/2).

    glyph: (h, w), h and w <= size -> (size, size). Centre of mass in pixel-index coordinates,
    sum(i * v) / sum(v); the shift is rounded to whole pixels and limited so no ink leaves
    the canvas.
    """
    height, width = glyph.shape
    total = float(glyph.sum())
    centre_row = float(np.arange(height) @ glyph.sum(axis=1)) / total
    centre_col = float(np.arange(width) @ glyph.sum(axis=0)) / total
    top = int(np.clip(np.floor(size / 2 - centre_row + 0.5), 0, size - height))
    left = int(np.clip(np.floor(size / 2 - centre_col + 0.5), 0, size - width))
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + height, left : left + width] = glyph
    return np.clip(canvas, 0.0, 1.0)


def _read_gray(path: Path) -> np.ndarray:
    """Decode an image file to a float32 (height, width) grayscale array in [0, 1]."""
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError as exc:
        raise ImageError(
            f"{path}: reading image files needs Pillow: pip install Pillow "
            "(or pip install 'scratchnet[cli]')"
        ) from exc
    if not path.exists():
        raise ImageError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory; give the path of one image file")

    too_large = (
        f"{path}: the image is too large to be a digit (limit {MAX_PIXELS // 1_000_000} "
        "megapixels, or a decompression bomb); crop or shrink it to the digit"
    )
    with warnings.catch_warnings():
        # Pillow only warns between its own two limits; make every bomb an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(too_large) from exc
        except UnidentifiedImageError as exc:
            raise ImageError(
                f"{path}: not an image file Pillow can read; save the digit as PNG or JPEG"
            ) from exc
        except OSError as exc:
            raise ImageError(f"{path}: cannot open the file ({exc.strerror or exc})") from exc
        with image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(too_large)
            try:
                image.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG only: decode at a reduced size
                upright = ImageOps.exif_transpose(image)
                gray = _pillow_to_gray(upright)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageError(too_large) from exc
            except _DECODE_ERRORS as exc:
                raise ImageError(
                    f"{path}: the image data is truncated or corrupt ({exc}); "
                    "save or export the image again"
                ) from exc
    return _shrink(gray, MAX_SIDE)


def _pillow_to_gray(image: PillowImage) -> np.ndarray:
    """Any Pillow image -> float32 (height, width) in [0, 1]; transparent pixels become paper.

    Transparency is composited on white (transparent = paper, for dark ink); if that leaves no
    contrast the strokes were light, and it is composited on black instead.
    """
    mode = image.mode
    if mode.startswith("I;16"):
        return np.asarray(image, dtype=np.float32) / np.float32(65535.0)
    if mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError("non-finite pixel values")
        values = np.clip(values, 0.0, None)
        peak = values.max()
        scale = 1.0 if mode == "F" and peak <= 1.0 else (255.0 if peak <= 255.0 else 65535.0)
        return np.clip(values / scale, 0.0, 1.0).astype(np.float32)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        gray_alpha = np.asarray(image.convert("RGBA").convert("LA"), dtype=np.float32) / 255.0
        gray, alpha = gray_alpha[..., 0], gray_alpha[..., 1]
        on_white = gray * alpha + (1.0 - alpha)
        if float(on_white.max() - on_white.min()) >= MIN_CONTRAST:
            return on_white
        return gray * alpha
    return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)


def _shrink(gray: np.ndarray, max_side: int) -> np.ndarray:
    """Box-average by a whole factor until the longer side is at most max_side (edges padded)."""
    factor = -(-max(gray.shape) // max_side)
    if factor <= 1:
        return gray
    height, width = gray.shape
    padded = np.pad(gray, ((0, -height % factor), (0, -width % factor)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _check_invert(invert: object) -> None:
    if not (isinstance(invert, bool) or (isinstance(invert, str) and invert == "auto")):
        raise ImageError(f"invert must be 'auto', True or False; received invert={invert!r}")
