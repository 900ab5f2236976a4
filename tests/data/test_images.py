"""Tests for scratchnet.data.images: user pictures of digits turned into MNIST form."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw

from scratchnet.data.images import load_digit, to_mnist
from scratchnet.errors import ImageError


def mass_centre(image: np.ndarray) -> tuple[float, float]:
    """Centre of mass (row, col) in pixel-index coordinates."""
    total = image.sum()
    rows = (np.arange(image.shape[0]) @ image.sum(axis=1)) / total
    cols = (np.arange(image.shape[1]) @ image.sum(axis=0)) / total
    return float(rows), float(cols)


def ink_bbox(image: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the non-zero pixels."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def assert_mnist_form(digit: np.ndarray) -> None:
    assert digit.shape == (28, 28)
    assert digit.dtype == np.float32
    assert np.isfinite(digit).all()
    assert digit.min() >= 0.0
    assert digit.max() == pytest.approx(1.0)
    _, _, height, width = ink_bbox(digit)
    assert max(height, width) == 20 and min(height, width) <= 20


def assert_centred(digit: np.ndarray) -> None:
    row, col = mass_centre(digit)
    assert np.hypot(row - 14.0, col - 14.0) <= 1.0, (row, col)


def dark_seven(size: tuple[int, int] = (200, 120), paper: int = 255, ink: int = 0) -> Image.Image:
    """A black '7' drawn with a thick pen on white paper (width x height = size)."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    draw.line([(70, 25), (130, 25), (95, 100)], fill=ink, width=7)
    return image


def test_mnist_style_image_comes_back_nearly_unchanged(tmp_path: Path) -> None:
    image = Image.new("L", (28, 28), 0)
    # A '0' 20 rows tall and 11 columns wide: already fits the 20x20 box, so no resizing.
    ImageDraw.Draw(image).ellipse([9, 4, 19, 23], outline=255, width=2)
    image.save(tmp_path / "zero.png")
    original = np.asarray(image, dtype=np.float32) / 255

    digit = load_digit(tmp_path / "zero.png")

    assert_mnist_form(digit)
    in_row, in_col = mass_centre(original)
    out_row, out_col = mass_centre(digit)
    assert abs(out_row - in_row) <= 1.0 and abs(out_col - in_col) <= 1.0
    assert_centred(digit)
    top, left, height, width = ink_bbox(original)
    out_top, out_left, out_height, out_width = ink_bbox(digit)
    assert (out_height, out_width) == (height, width) == (20, 11)
    # Binarised at a higher resolution and shrunk back (as MNIST was made): only the edges'
    # anti-aliasing changes.
    back = digit[out_top : out_top + height, out_left : out_left + width]
    here = original[top : top + height, left : left + width]
    np.testing.assert_allclose(back, here, atol=0.3)
    assert np.abs(back - here).mean() < 0.1


def test_dark_ink_on_white_paper_is_inverted(tmp_path: Path) -> None:
    dark_seven().save(tmp_path / "seven.png")

    digit = load_digit(tmp_path / "seven.png")

    assert_mnist_form(digit)
    assert_centred(digit)
    corners = [digit[:3, :3], digit[:3, -3:], digit[-3:, :3], digit[-3:, -3:]]
    assert all(np.all(corner == 0.0) for corner in corners)
    assert (digit == 0.0).mean() > 0.5  # the paper became a zero background
    assert (digit > 0.9).sum() >= 10  # the pen stroke became bright ink


def test_light_ink_on_dark_equals_dark_ink_on_light(tmp_path: Path) -> None:
    dark_seven().save(tmp_path / "dark.png")
    dark_seven(paper=0, ink=255).save(tmp_path / "light.png")
    np.testing.assert_allclose(
        load_digit(tmp_path / "dark.png"), load_digit(tmp_path / "light.png"), atol=1e-6
    )


@pytest.mark.parametrize("stroke", [(0, 0, 0, 255), (255, 255, 255, 255)], ids=["black", "white"])
def test_transparent_background_is_paper(tmp_path: Path, stroke: tuple[int, ...]) -> None:
    image = Image.new("RGBA", (200, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(70, 25), (130, 25), (95, 100)], fill=stroke, width=7)
    image.save(tmp_path / "rgba.png")
    dark_seven().save(tmp_path / "opaque.png")

    digit = load_digit(tmp_path / "rgba.png")

    assert_mnist_form(digit)
    np.testing.assert_allclose(digit, load_digit(tmp_path / "opaque.png"), atol=1e-5)


def test_palette_and_16_bit_images_read_like_8_bit(tmp_path: Path) -> None:
    seven = dark_seven()
    seven.save(tmp_path / "gray.png")
    seven.convert("RGB").convert("P").save(tmp_path / "palette.png")
    Image.fromarray(np.asarray(seven).astype(np.uint16) * 257).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as deep:
        assert deep.mode == "I;16"
    expected = load_digit(tmp_path / "gray.png")

    for name in ["palette.png", "deep.png"]:
        np.testing.assert_allclose(load_digit(tmp_path / name), expected, atol=1e-5)


def test_noisy_jpeg_photo(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paper = dark_seven(paper=225, ink=40)
    noisy = np.asarray(paper, dtype=np.float64) + rng.normal(0.0, 4.0, size=(120, 200))
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).convert("RGB").save(
        tmp_path / "photo.jpg", quality=85
    )
    dark_seven().save(tmp_path / "clean.png")

    digit = load_digit(tmp_path / "photo.jpg")

    assert_mnist_form(digit)
    assert_centred(digit)
    clean = load_digit(tmp_path / "clean.png")
    assert np.corrcoef(digit.ravel(), clean.ravel())[0, 1] > 0.9


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("L", (60, 100), 255)
    ImageDraw.Draw(image).rectangle([25, 10, 34, 89], fill=0)  # stored as a tall bar
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees to display": shown as a wide bar
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image.save(tmp_path / "upright.jpg", quality=95)

    _, _, height, width = ink_bbox(load_digit(tmp_path / "rotated.jpg"))
    assert width == 20 and height < 10
    _, _, height, width = ink_bbox(load_digit(tmp_path / "upright.jpg"))
    assert height == 20 and width < 10


def test_tiny_off_centre_stroke_is_scaled_up_and_centred(tmp_path: Path) -> None:
    image = Image.new("L", (400, 300), 0)
    ImageDraw.Draw(image).line([(330, 20), (336, 28), (333, 36)], fill=255, width=2)
    image.save(tmp_path / "tiny.png")

    digit = load_digit(tmp_path / "tiny.png")

    assert_mnist_form(digit)
    _, _, height, width = ink_bbox(digit)
    assert height <= 20 and width <= 20
    assert_centred(digit)


@pytest.mark.parametrize(("bar_size", "expected"), [((8, 80), (20, 2)), ((90, 30), (7, 20))])
def test_aspect_ratio_is_preserved(
    tmp_path: Path, bar_size: tuple[int, int], expected: tuple[int, int]
) -> None:
    width, height = bar_size
    image = Image.new("L", (300, 200), 0)
    ImageDraw.Draw(image).rectangle([50, 40, 50 + width - 1, 40 + height - 1], fill=255)
    image.save(tmp_path / "bar.png")

    digit = load_digit(tmp_path / "bar.png")

    _, _, out_height, out_width = ink_bbox(digit)
    assert (out_height, out_width) == expected
    assert_centred(digit)


def test_forced_invert_chooses_which_marks_are_ink() -> None:
    gray = np.full((100, 100), 128, dtype=np.uint8)
    gray[20:80, 30:36] = 255  # a light vertical bar
    gray[60:66, 50:90] = 0  # a dark horizontal bar

    _, _, height, width = ink_bbox(to_mnist(gray, invert=False))
    assert height == 20 and width == 2
    _, _, height, width = ink_bbox(to_mnist(gray, invert=True))
    assert width == 20 and height == 3


def test_forcing_the_wrong_polarity_finds_no_ink(tmp_path: Path) -> None:
    dark_seven().save(tmp_path / "seven.png")
    np.testing.assert_array_equal(
        load_digit(tmp_path / "seven.png", invert=True), load_digit(tmp_path / "seven.png")
    )
    with pytest.raises(ImageError, match=r"no ink found.*invert=False"):
        load_digit(tmp_path / "seven.png", invert=False)


@pytest.mark.parametrize("invert", ["yes", None, 1.0])
def test_invalid_invert_is_rejected(invert: object) -> None:
    with pytest.raises(ImageError, match="invert must be"):
        to_mnist(np.eye(5), invert=invert)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_is_an_error(tmp_path: Path, level: int) -> None:
    path = tmp_path / "blank.png"
    Image.new("L", (64, 48), level).save(path)
    with pytest.raises(ImageError, match="no ink found") as raised:
        load_digit(path)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_faint_paper_texture_is_blank(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paper = 240 + rng.integers(-8, 9, size=(120, 200))
    Image.fromarray(paper.astype(np.uint8)).save(tmp_path / "paper.png")
    with pytest.raises(ImageError, match="no ink found"):
        load_digit(tmp_path / "paper.png")


def test_text_file_named_png_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_bytes(b"this is not a picture of a digit\n")
    with pytest.raises(ImageError, match="not an image") as raised:
        load_digit(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_truncated_image_is_an_error(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / f"cut.{suffix}"
    Image.fromarray(rng.integers(0, 256, size=(80, 80), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as raised:
        load_digit(path)
    assert str(path) in str(raised.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "digit.png"
    with pytest.raises(ImageError, match="no such file") as raised:
        load_digit(path)
    assert str(path) in str(raised.value)


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="directory"):
        load_digit(tmp_path)


def png_claiming_size(path: Path, width: int, height: int) -> None:
    """A small real PNG whose header claims another size: Pillow checks the size before decoding."""
    Image.new("L", (4, 4), 0).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # the IHDR chunk's CRC
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 7000), (10_000, 10_000), (20_000, 20_000)],
    ids=["over-our-limit", "pillow-warns", "pillow-refuses"],
)
def test_absurdly_large_image_is_refused_before_decoding(
    tmp_path: Path, width: int, height: int
) -> None:
    path = tmp_path / "bomb.png"
    png_claiming_size(path, width, height)
    with pytest.raises(ImageError, match="too large") as raised:
        load_digit(path)
    assert str(path) in str(raised.value)


@pytest.mark.slow  # about a second: the full suite runs it
def test_big_image_is_shrunk_before_processing(tmp_path: Path) -> None:
    image = Image.new("L", (5000, 3000), 255)
    ImageDraw.Draw(image).line([(2000, 800), (2600, 800), (2300, 2000)], fill=0, width=60)
    image.save(tmp_path / "big.png")

    digit = load_digit(tmp_path / "big.png")

    assert_mnist_form(digit)
    assert_centred(digit)


def test_missing_pillow_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dark_seven().save(tmp_path / "seven.png")
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import ...` fail
    with pytest.raises(ImageError, match="pip install Pillow"):
        load_digit(tmp_path / "seven.png")


def test_module_imports_without_pillow() -> None:
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "import numpy as np\n"
        "from scratchnet.data.images import to_mnist\n"
        "image = np.zeros((30, 30)); image[5:25, 10:14] = 1.0\n"
        "print(to_mnist(image).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(28, 28)"


def test_uint8_and_float_inputs_agree_and_input_is_untouched() -> None:
    gray = np.zeros((40, 30), dtype=np.uint8)
    gray[5:35, 12:18] = 200
    gray[5:10, 8:22] = 255
    before = gray.copy()

    from_uint8 = to_mnist(gray)
    from_float = to_mnist(gray / 255.0)

    np.testing.assert_array_equal(gray, before)
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-6)
    assert_mnist_form(from_uint8)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((28, 28, 3), dtype=np.uint8), r"2-D grayscale array.*\(28, 28, 3\)"),
        (np.zeros(28, dtype=np.uint8), r"2-D grayscale array.*\(28,\)"),
        (np.zeros((0, 5)), "non-empty"),
        (np.full((4, 4), 300, dtype=np.int32), r"0\.\.255"),
        (np.full((4, 4), 2.0), r"\[0, 1\]"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.zeros((4, 4), dtype=np.complex64), "dtype complex64"),
    ],
    ids=["rgb", "1-d", "empty", "int-range", "float-range", "nan", "complex"],
)
def test_to_mnist_rejects_bad_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        to_mnist(array)


def test_to_mnist_blank_array_is_an_error() -> None:
    with pytest.raises(ImageError, match="array: no ink found"):
        to_mnist(np.full((10, 10), 0.5))


@st.composite
def non_blank_images(draw: st.DrawFn) -> np.ndarray:
    height = draw(st.integers(1, 40))
    width = draw(st.integers(2, 40))
    image = draw(hnp.arrays(np.uint8, (height, width)))
    # Full contrast somewhere: whichever side "auto" takes as ink is then at least half the range.
    image.flat[0], image.flat[-1] = 0, 255
    return image


@settings(derandomize=True, max_examples=40, deadline=None)
@given(image=non_blank_images())
def test_to_mnist_always_returns_mnist_form(image: np.ndarray) -> None:
    digit = to_mnist(image)
    assert digit.shape == (28, 28)
    assert digit.dtype == np.float32
    assert np.isfinite(digit).all()
    assert digit.min() >= 0.0 and digit.max() <= 1.0
    assert digit.max() == pytest.approx(1.0)
