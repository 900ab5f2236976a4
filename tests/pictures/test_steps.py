"""Each picture step on pictures the tests draw: paper, noise, ink level, lines, strokes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchnet.pictures import (
    denoise,
    ink_is_dark,
    keep_digit,
    otsu_threshold,
    paper_offset,
    paper_surface,
    prepare_digit,
    prepare_object,
    remove_lines,
    remove_paper,
    stroke_width,
)

from .conftest import bbox, draw_digit


def gradient_paper(shape, low=0.35, high=1.0):
    """Light falling from the right: paper from `low` (left) to `high` (right)."""
    return np.tile(np.linspace(low, high, shape[1], dtype=np.float32), (shape[0], 1))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two images (1 = the same up to scale)."""
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_ink_polarity_is_guessed(seven):
    assert ink_is_dark(seven)
    assert not ink_is_dark(1.0 - seven)


def test_paper_surface_follows_uneven_light(seven):
    ink = 1.0 - seven  # ink bright
    lit = seven * gradient_paper(seven.shape)  # a reflectance lit unevenly
    surface = paper_surface(1.0 - lit)
    paper = seven > 0.95
    np.testing.assert_allclose(
        surface[paper], (1.0 - gradient_paper(seven.shape))[paper], atol=0.06
    )
    assert ink.max() == pytest.approx(1.0)


def test_remove_paper_undoes_uneven_light(seven):
    lit = seven * gradient_paper(seven.shape)
    ink = remove_paper(lit, ink_dark=True)
    clean = remove_paper(seven, ink_dark=True)
    assert np.abs(ink - clean).max() < 0.12
    assert ink[seven > 0.95].max() < 0.15  # the dark left paper is not ink (ink level ~0.5)
    assert ink[seven < 0.05].min() > 0.8


def test_paper_offset_finds_the_papers_level_under_noise(seven):
    """A surface fitted under noisy paper lies below its middle; the offset moves it there."""
    rng = np.random.default_rng(0)
    ink = 1.0 - seven
    assert paper_offset(ink) == 0.0  # clean paper sits on the surface already
    noisy = ink + rng.normal(0.0, 0.08, ink.shape).astype(np.float32) + 0.1
    assert paper_offset(noisy) == pytest.approx(0.1, abs=0.02)


def test_remove_paper_keeps_noisy_dim_paper_below_the_ink(seven):
    """Noisy paper lit dimly on one side: dividing by the paper's brightness amplifies the
    noise there, but the paper's level is its middle, so the paper stays near 0 and the
    average of it (clip=False keeps the part below 0) is far under the ink."""
    rng = np.random.default_rng(1)
    lit = (0.85 * seven + 0.1) * gradient_paper(seven.shape, low=0.3)
    noisy = np.clip(lit + rng.normal(0.0, 0.08, lit.shape), 0.0, 1.0).astype(np.float32)
    signed = remove_paper(noisy, ink_dark=True, clip=False)
    assert signed.min() < 0.0 <= remove_paper(noisy, ink_dark=True).min()
    paper, strokes = seven > 0.95, seven < 0.05
    assert abs(float(np.mean(signed[paper]))) < 0.05
    assert float(np.mean(signed[strokes])) > 0.6


def test_otsu_splits_two_groups():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.2, 0.05, 900), rng.normal(0.8, 0.05, 100)])
    level = otsu_threshold(np.clip(values, 0, 1))
    assert 0.35 < level < 0.65


def test_denoise_removes_salt_and_pepper_from_thick_strokes():
    ink = 1.0 - draw_digit("7", size=80, width=12)
    rng = np.random.default_rng(0)
    noisy = ink.copy()
    specks = rng.random(ink.shape) < 0.03
    noisy[specks] = 1.0 - noisy[specks]
    cleaned = denoise(noisy)
    assert np.abs(cleaned - ink).mean() < 0.4 * np.abs(noisy - ink).mean()


def test_denoise_keeps_a_one_pixel_line():
    ink = np.zeros((60, 60), dtype=np.float32)
    ink[10:50, 30] = 1.0
    ink[10, 20:40] = 1.0
    np.testing.assert_array_equal(denoise(ink), ink)


def test_stroke_width_measures_pen_width():
    mask = np.zeros((50, 50), dtype=bool)
    mask[5:45, 20:26] = True
    assert stroke_width(mask) == pytest.approx(6, rel=0.2)
    assert stroke_width(np.zeros((3, 3), dtype=bool)) == 0.0


def test_ruled_lines_and_box_borders_are_removed():
    digit = (1.0 - draw_digit("4", size=100)) > 0.5
    page = np.zeros((140, 140), dtype=bool)
    page[20:120, 20:120] = digit
    page[60:62, :] = True  # a ruled line through the digit
    page[100:102, :] = True
    page[:, 3:5] = True  # a margin line
    cleared = remove_lines(page)
    assert not cleared[60:62, :20].any() and not cleared[:, 3:5].any()
    assert cleared[20:120, 20:120].sum() > 0.8 * digit.sum()


def test_a_sevens_bar_in_a_tight_crop_is_not_a_line():
    seven = (1.0 - draw_digit("7", size=100)) > 0.5
    top, bottom, left, right = bbox(seven)
    tight = seven[top:bottom, left:right]
    np.testing.assert_array_equal(remove_lines(tight), tight)


def test_keep_digit_drops_specks_and_keeps_pieces():
    mask = np.zeros((100, 100), dtype=bool)
    mask[20:80, 45:52] = True  # the stroke
    mask[20:26, 55:75] = True  # a separate bar (a 5's top), kept
    mask[90, 5] = mask[3, 95] = mask[50, 10] = True  # dust
    kept = keep_digit(mask)
    assert kept[20:80, 45:52].all() and kept[20:26, 55:75].all()
    assert not kept[90, 5] and not kept[3, 95] and not kept[50, 10]


def test_keep_digit_drops_a_box_drawn_around_the_digit():
    mask = np.zeros((100, 100), dtype=bool)
    mask[10:90, 10:13] = mask[10:90, 87:90] = mask[10:13, 10:90] = mask[87:90, 10:90] = True
    mask[30:70, 45:52] = True
    kept = keep_digit(mask)
    assert kept[30:70, 45:52].all() and not kept[10:13, 10:90].any()


def test_keep_digit_drops_lines_longer_than_the_digit_but_not_its_bars():
    mask = np.zeros((100, 80), dtype=bool)
    mask[25:75, 38:44] = True  # the digit's main stroke
    mask[25:29, 44:60] = True  # and its own bar: kept
    mask[10:13, 5:75] = mask[88:91, 5:75] = True  # a box's top and bottom, its sides gone
    mask[80:82, 20:70] = True  # an underline
    kept = keep_digit(mask)
    assert kept[25:75, 38:44].all() and kept[25:29, 44:60].all()
    assert not kept[10:13].any() and not kept[88:91].any() and not kept[80:82].any()


@pytest.mark.parametrize(
    "damage",
    ["gradient", "shadow", "gaussian", "salt", "lines", "box", "margin", "thin"],
)
def test_damaged_pictures_look_like_the_clean_one_to_the_network(damage):
    clean = prepare_digit(draw_digit("4", size=100)).image
    rng = np.random.default_rng(0)
    picture = draw_digit("4", size=100, width=4 if damage == "thin" else 9)
    if damage == "gradient":
        picture = picture * gradient_paper(picture.shape, 0.3)
    elif damage == "shadow":
        rows = np.linspace(0, 1, 100, dtype=np.float32)[:, None]
        picture = picture * (0.45 + 0.55 * np.clip(rows * 2, 0, 1))
    elif damage == "gaussian":
        picture = np.clip(picture + rng.normal(0, 0.1, picture.shape), 0, 1).astype(np.float32)
    elif damage == "salt":
        specks = rng.random(picture.shape) < 0.03
        picture[specks] = 1.0 - picture[specks]
    elif damage == "lines":
        page = np.ones((160, 160), dtype=np.float32)
        page[30:130, 30:130] = picture
        page[::25, :] *= 0.55  # ruled paper
        picture = page
    elif damage == "box":
        page = np.ones((140, 140), dtype=np.float32)
        page[20:120, 20:120] = picture
        page[8:11, 8:132] = page[129:132, 8:132] = 0.1
        page[8:132, 8:11] = page[8:132, 129:132] = 0.1
        picture = page
    elif damage == "margin":
        page = np.ones((300, 400), dtype=np.float32)
        page[30:130, 250:350] = picture
        picture = page
    result = prepare_digit(picture)
    assert not result.blank
    assert similarity(result.image, clean) > 0.8, damage


def test_blank_and_faint_paper_have_no_digit():
    rng = np.random.default_rng(0)
    assert prepare_digit(np.full((50, 50), 0.9, dtype=np.float32)).blank
    faint = np.clip(0.94 + rng.normal(0, 0.01, (80, 80)), 0, 1).astype(np.float32)
    assert prepare_digit(faint).blank


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 40), st.integers(1, 40)),
        elements=st.floats(0, 1, width=32),
    ),
    st.sampled_from(["auto", True, False]),
)
def test_any_picture_gives_a_28x28_input_or_blank(picture, invert):
    result = prepare_digit(picture, invert=invert)
    assert result.image.shape == (28, 28) and result.image.dtype == np.float32
    assert np.isfinite(result.image).all()
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    assert result.blank or result.image.max() > 0
    assert prepare_object(picture, invert=invert).image.shape == (28, 28)


def test_a_ruled_line_through_a_stroke_is_cleared_but_the_stroke_is_not_cut():
    page = np.zeros((120, 120), dtype=bool)
    page[30:90, 55:62] = True  # a vertical stroke (a 1)
    page[58:61, :] = True  # a ruled line across the page and through the stroke
    cleared = remove_lines(page)
    assert not cleared[58:61, :40].any() and not cleared[58:61, 80:].any()
    assert cleared[30:90, 55:62].all()  # the stroke still runs through where the line was


def thick_ring() -> np.ndarray:
    """A thick dark 0 covering half the picture: a toss-up for the ink's polarity (as many
    dark pixels as light ones, like a shaded UCI digit)."""
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    distance = np.hypot(yy - 32, (xx - 32) / 0.8)
    return np.where((distance < 32) & (distance > 14), 0.1, 0.95).astype(np.float32)


def test_unsure_polarity_gives_both_readings_and_a_clear_picture_one():
    from scratchnet.pictures import digit_candidates, polarity

    assert polarity(draw_digit("7")).sure
    assert len(digit_candidates(draw_digit("7"))) == 1
    assert not polarity(thick_ring()).sure
    first, second = digit_candidates(thick_ring())
    assert first.ink_dark != second.ink_dark
    assert not first.blank and not second.blank
    forced = digit_candidates(thick_ring(), invert=True)
    assert len(forced) == 1 and forced[0].ink_dark


def test_when_one_unsure_reading_finds_no_ink_the_other_is_kept():
    """A large dark blob on noisy paper lit from one side: the polarity is a toss-up and the
    light-ink reading finds nothing, so the dark-ink reading is the only candidate."""
    from scratchnet.pictures import digit_candidates, polarity
    from scratchnet.pictures.pipeline import _digit_with

    yy, xx = np.mgrid[0:140, 0:120]
    blob = (yy - 60) ** 2 / 23.4**2 + (xx - 70) ** 2 / 18**2 < 1
    lit = np.where(blob, 0.1, 0.95) * np.linspace(0.4, 1.0, 120)[None, :]
    rng = np.random.default_rng(0)
    picture = np.clip(lit + rng.normal(0, 0.03, lit.shape), 0, 1).astype(np.float32)
    found = polarity(picture)
    assert not found.sure and not found.ink_dark  # the wrong way round, unsure
    assert _digit_with(picture, False, found.paper(False)).blank
    (kept,) = digit_candidates(picture)
    assert kept.ink_dark and not kept.blank
    assert kept.image.max() > 0.9


def test_of_two_readings_predict_keeps_the_more_typical_then_the_more_confident():
    from scratchnet.pictures.pipeline import Prepared
    from scratchnet.pictures.predict import _best

    image = np.zeros((28, 28), dtype=np.float32)
    two = [Prepared(image), Prepared(image)]
    probs = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert _best(np.array([3.0, -1.0]), probs, two) == 1
    assert _best(np.array([np.nan, 2.0]), probs, two) == 1
    assert _best(np.array([np.nan, np.nan]), probs, two) == 0
    blank_first = [Prepared(image, blank=True), Prepared(image)]
    assert _best(np.array([np.nan, np.nan]), probs, blank_first) == 1


def test_varied_data_set_pictures_are_seeded_pictures_that_prepare_back_to_the_digit():
    from scratchnet.pictures.synthetic import as_picture

    seven = prepare_digit(draw_digit("7")).image  # a 28x28 image, 1 = ink
    first = [as_picture(seven, np.random.default_rng(s), vary=True) for s in range(8)]
    again = [as_picture(seven, np.random.default_rng(s), vary=True) for s in range(8)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
        assert 28 <= min(a.shape) and max(a.shape) <= 112 + 2 * 28
        assert similarity(prepare_digit(a).image, seven) > 0.6
    assert len({a.shape for a in first}) > 1  # sizes, pens and light vary


def test_thin_erodes_a_thick_stroke_toward_the_target_but_keeps_thin_glyphs():
    from scratchnet.pictures import thin

    bar = np.zeros((60, 60), dtype=np.float32)
    bar[5:55, 20:32] = 1.0  # a stroke 12 pixels wide
    thinner = thin(bar, stroke_width(bar > 0), 4.0)
    assert 3.0 <= stroke_width(thinner > 0) <= 6.0 and thinner[10:50, 25:27].all()
    hairline = bar.copy()
    hairline[5:55, 40] = 1.0  # a thin stroke beside it would vanish: left as it is
    assert thin(hairline, stroke_width(hairline > 0), 4.0) is hairline
    assert thin(bar, 4.5, 4.0) is bar  # close enough already: untouched
