"""Pictures in: image files, bytes, Pillow images and NumPy arrays -> grayscale float32 in [0, 1].

Pillow is imported only to decode files and bytes. Files are checked before they are opened:
anything that is not a regular file (a folder, a named pipe, a device) is refused unread, so a
FIFO cannot hang the reader. Any error from a decoder is reported with the picture's name.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = ["as_gray", "read_gray", "decode_gray"]

MAX_PIXELS = 50_000_000  # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 2048  # larger images are box-averaged down first: a digit needs no more
IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".ppm",
    ".pbm",
    ".pnm",
)


def _pillow():
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError as exc:
        raise ImageError(
            "reading image files needs Pillow: pip install Pillow "
            "(or pip install 'scratchnet[cli]')"
        ) from exc
    return Image, ImageOps, UnidentifiedImageError


def check_regular_file(path: Path) -> None:
    """Refuse, without opening it, a path that is missing or not a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(mode):
        raise ImageError(f"{path}: is a directory; give the path of one image file")
    if not stat.S_ISREG(mode):
        raise ImageError(
            f"{path}: not a regular file (a named pipe, socket or device); save the picture to a "
            "file and give its path"
        )


def read_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file to a float32 (height, width) grayscale array in [0, 1].

    EXIF rotation is applied; transparency is paper. Raises ImageError naming the file.
    """
    path = Path(path)
    try:
        _pillow()
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None
    check_regular_file(path)
    try:
        with open(path, "rb") as handle:
            return _decode(handle, str(path))
    except OSError as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def decode_gray(data: bytes, name: str = "picture") -> np.ndarray:
    """Decode the bytes of an image file (PNG, JPEG ...) to float32 (height, width) in [0, 1]."""
    _pillow()
    return _decode(io.BytesIO(data), name)


def _decode(handle: Any, name: str) -> np.ndarray:
    Image, ImageOps, UnidentifiedImageError = _pillow()
    too_large = (
        f"{name}: the image is too large to be a digit (limit {MAX_PIXELS // 1_000_000} "
        "megapixels, or a decompression bomb); crop or shrink it to the digit"
    )
    with warnings.catch_warnings():
        # Pillow only warns between its own two limits; make every bomb an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(handle)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(too_large) from exc
        except UnidentifiedImageError as exc:
            raise ImageError(
                f"{name}: not an image file Pillow can read; save the picture as PNG or JPEG"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file, named
            raise ImageError(f"{name}: cannot decode the image ({_describe(exc)})") from exc
        with image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(too_large)
            try:
                image.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG only: decode at a reduced size
                upright = ImageOps.exif_transpose(image)
                gray = pillow_to_gray(upright)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageError(too_large) from exc
            except MemoryError as exc:
                raise ImageError(too_large) from exc
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad data
                raise ImageError(
                    f"{name}: the image data is truncated or corrupt ({_describe(exc)}); "
                    "save or export the image again"
                ) from exc
    return shrink(gray, MAX_SIDE)


def _describe(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ").strip()
    return text or type(exc).__name__


def pillow_to_gray(image: PillowImage) -> np.ndarray:
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
        if float(on_white.max() - on_white.min()) >= 0.1:
            return on_white
        return gray * alpha
    return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)


def shrink(gray: np.ndarray, max_side: int) -> np.ndarray:
    """Box-average by a whole factor until the longer side is at most max_side (edges padded)."""
    factor = -(-max(gray.shape) // max_side)
    if factor <= 1:
        return gray
    height, width = gray.shape
    padded = np.pad(gray, ((0, -height % factor), (0, -width % factor)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


# ITU-R BT.601 luma, as Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def as_gray(picture: object, name: str = "array") -> np.ndarray:
    """One picture given as an array or a Pillow image -> float32 (height, width) in [0, 1].

    Arrays: (h, w) gray, (h, w, 3) RGB or (h, w, 4) RGBA (alpha composited like files);
    uint8 (or integers 0..255) are divided by 255; bool is 0/1; floats must lie in [0, 1].
    """
    if type(picture).__module__.startswith("PIL."):
        try:
            return shrink(pillow_to_gray(picture), MAX_SIDE)
        except Exception as exc:  # noqa: BLE001 - a Pillow image that cannot be converted
            raise ImageError(f"{name}: cannot convert the image ({_describe(exc)})") from exc
    try:
        array = np.asarray(picture)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"{name}: expected an image array; received {exc}") from exc
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        scaled = _unit(array, name)
        gray = scaled[..., :3] @ _LUMA
        if array.shape[-1] == 4:
            alpha = scaled[..., 3]
            on_white = gray * alpha + (1.0 - alpha)
            gray = on_white if float(np.ptp(on_white)) >= 0.1 else gray * alpha
        return shrink(np.clip(gray, 0.0, 1.0).astype(np.float32), MAX_SIDE)
    if array.ndim != 2:
        raise ImageError(
            f"{name}: expected a picture of shape (height, width), (height, width, 3) or "
            f"(height, width, 4); received shape {array.shape}"
        )
    return shrink(_unit(array, name), MAX_SIDE)


def _unit(array: np.ndarray, name: str) -> np.ndarray:
    """Validate pixel values and scale them to float32 in [0, 1]."""
    if array.size == 0:
        raise ImageError(f"{name}: expected a non-empty image; received shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageError(
                f"{name}: expected integer pixel values 0..255 (uint8); received range "
                f"[{low}, {high}]; scale the image to 0..255 or to floats in [0, 1]"
            )
        return array.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: the image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-6 or high > 1.0 + 1e-6:
            raise ImageError(
                f"{name}: expected float pixel values in [0, 1]; received range "
                f"[{low:g}, {high:g}]; divide 0..255 images by 255"
            )
        return np.clip(array, 0.0, 1.0).astype(np.float32)
    raise ImageError(f"{name}: expected a uint8 or float image array; received dtype {array.dtype}")
