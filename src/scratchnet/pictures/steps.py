"""The steps from a grayscale picture to the ink of one digit, one function each.

    gray -> orient (ink bright) -> remove_paper (uneven light) -> denoise (median, only if the
    strokes survive it) -> otsu_threshold -> remove_lines (ruled lines, box borders) ->
    keep_digit (connected strokes, no specks) -> digit ink

Every step takes and returns float32 (h, w) arrays in [0, 1] (or a bool mask) and has no hidden
state. They do not find several digits in one picture, straighten perspective or read colour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .components import Component, count_pieces, label_components
from .filters import box_blur, max_filter, median_filter, median_of_nine, min_filter

__all__ = [
    "denoise",
    "ink_is_dark",
    "keep_digit",
    "orient",
    "otsu_threshold",
    "noise_level",
    "paper_offset",
    "paper_surface",
    "polarity",
    "polarity_and_paper",
    "remove_lines",
    "remove_paper",
    "stroke_width",
    "thicken",
]

MIN_CONTRAST = 0.1  # ink must differ from the paper by a tenth of the grey range


def border(x: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels (the whole image when it is one or two pixels thin)."""
    if min(x.shape) <= 2:
        return x.ravel()
    return np.concatenate([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])


def ink_is_dark(gray: np.ndarray) -> bool:
    """Guess whether the ink is darker than the paper (a pen on paper) or lighter (chalk, MNIST).

    Ink is the minority. Two smooth surfaces follow the picture's light and dark extremes tile
    by tile (so uneven light does not count); halfway between them, the pixels on the dark side
    are the ink if they are fewer than those on the light side.
    """
    return polarity_and_paper(gray)[0]


# Below this distance of the dark side's share of the pixels from a half, the polarity is a
# toss-up (a digit filling half a shaded picture): predict then tries both (see Polarity.sure).
UNSURE_POLARITY = 0.05


@dataclass
class Polarity:
    """Which way the ink is, how sure that is, and the picture's light and dark surfaces
    (None when the picture is too small or flat to fit them)."""

    ink_dark: bool
    sure: bool
    light: np.ndarray | None = None
    dark: np.ndarray | None = None

    def paper(self, ink_dark: bool) -> np.ndarray | None:
        """The paper's surface for ink of that polarity: the light surface under dark ink."""
        return self.light if ink_dark else self.dark


def polarity(gray: np.ndarray) -> Polarity:
    """ink_is_dark's guess with how sure it is, and the surfaces remove_paper needs."""
    if gray.size >= 64:
        light, dark = _smooth_surfaces(gray, 8, (0.9, 0.1))
        contrasted = (light - dark) > MIN_CONTRAST
        if contrasted.sum() >= 16:
            middle = (light + dark) / 2
            below = float(np.mean(gray[contrasted] < middle[contrasted]))
            if abs(below - 0.5) > 0.02:
                return Polarity(below < 0.5, abs(below - 0.5) >= UNSURE_POLARITY, light, dark)
    paper = float(np.median(border(gray)))
    darker, lighter = paper - float(gray.min()), float(gray.max()) - paper
    if abs(darker - lighter) > MIN_CONTRAST:
        return Polarity(darker > lighter, True)
    return Polarity(float(gray.mean()) < float(np.median(gray)), False)


def polarity_and_paper(gray: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """(ink_is_dark, the paper's surface in gray's units, or None when the picture is too
    small or flat to fit one): one pass for ink_is_dark and remove_paper."""
    found = polarity(gray)
    return found.ink_dark, found.paper(found.ink_dark)


def orient(gray: np.ndarray, ink_dark: bool) -> np.ndarray:
    """Make the ink bright and the paper dark: 1 - gray for dark ink, else a copy. (h, w)."""
    return (1.0 - gray).astype(np.float32) if ink_dark else gray.astype(np.float32, copy=True)


# Surface terms y^a x^b, lowest degree first: 1; y, x; y^2, xy, x^2; then the cubic ones.
_POWERS = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 2), (0, 3))
SURFACE_DEGREE = 2  # a cubic follows the ink too (measured: worse under shadows)


def _n_terms(degree: int) -> int:
    return (degree + 1) * (degree + 2) // 2


def _design(rows: np.ndarray, cols: np.ndarray, n_terms: int = 6) -> np.ndarray:
    """Polynomial surface terms y^a x^b (see _POWERS) for coordinates scaled to [-1, 1]:
    (n,), (n,) -> (n, n_terms)."""
    return np.stack([rows**a * cols**b for a, b in _POWERS[:n_terms]], -1)


@functools.lru_cache(maxsize=256)
def _tiling(height: int, width: int, blocks: int) -> tuple:
    """The tiles of a height x width picture and the surface's terms, which only depend on
    the sizes (so a batch of pictures of a few sizes computes them once): (n_r, n_c, tile_h,
    tile_w, degree, design (n_tiles, terms), rows' powers (h, degree + 1), columns' (w, ..))."""
    n_r = max(1, min(blocks, height // 4))
    n_c = max(1, min(blocks, width // 4))
    tile_h, tile_w = height // n_r, width // n_c
    centre_r = ((np.arange(n_r) + 0.5) * tile_h) / height * 2 - 1
    centre_c = ((np.arange(n_c) + 0.5) * tile_w) / width * 2 - 1
    n_tiles = n_r * n_c
    # At least two tiles per term, so that tiles the ink fills can be left out.
    degree = next(d for d in range(SURFACE_DEGREE, -1, -1) if n_tiles >= 2 * _n_terms(d) or d == 0)
    design = _design(np.repeat(centre_r, n_c), np.tile(centre_c, n_r), _n_terms(degree))
    full_rows = np.linspace(-1, 1, height) if height > 1 else np.zeros(1)
    full_cols = np.linspace(-1, 1, width) if width > 1 else np.zeros(1)
    powers = np.arange(degree + 1)
    by_rows, by_cols = full_rows[:, None] ** powers, full_cols[:, None] ** powers
    for array in (design, by_rows, by_cols):
        array.flags.writeable = False  # shared by every call: nobody may change them
    return n_r, n_c, tile_h, tile_w, degree, design, by_rows, by_cols


def _block_levels(x: np.ndarray, blocks: int, shares: tuple[float, ...]) -> np.ndarray:
    """Split x into about blocks x blocks tiles (see _tiling); per tile the quantile of each
    share: (n_shares, n_tiles)."""
    n_r, n_c, tile_h, tile_w = _tiling(*x.shape, blocks)[:4]
    tiles = x[: n_r * tile_h, : n_c * tile_w].reshape(n_r, tile_h, n_c, tile_w)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(n_r * n_c, -1)
    ks = [int(share * (tiles.shape[-1] - 1)) for share in shares]
    return np.partition(tiles, sorted(set(ks)), axis=-1)[:, ks].T.astype(np.float64)


def paper_surface(x: np.ndarray, *, blocks: int = 8, share: float = 0.1) -> np.ndarray:
    """The paper's level under the ink, as a smooth surface: (h, w) ink-bright -> (h, w).

    Light falling unevenly on paper (a lamp on one side, a shadow's soft edge, a phone's
    vignetting) varies slowly, and ink is a minority of bright pixels. So the picture is cut
    into tiles, each tile's paper is its darker pixels (the `share` quantile), and a quadratic
    surface is fitted to the tiles by least squares, refitted without the tiles far from it
    (those the ink fills, or marks of the other polarity).
    """
    return _smooth_surfaces(x, blocks, (share,))[0]


def _smooth_surfaces(x: np.ndarray, blocks: int, shares: tuple[float, ...]) -> np.ndarray:
    """One robust quadratic surface per share, fitted together: (h, w) -> (n_shares, h, w)."""
    levels = _block_levels(x, blocks, shares)
    degree, design, by_rows, by_cols = _tiling(*x.shape, blocks)[4:]
    n_tiles, n_terms = design.shape
    n_fits = len(shares)
    keep = np.ones((n_fits, n_tiles), dtype=bool)
    coef = np.zeros((n_fits, n_terms))
    ridge = 1e-9 * np.eye(n_terms)
    for _ in range(3):
        # A fit left with fewer tiles than terms keeps its previous coefficients.
        able = keep.sum(axis=1) >= n_terms
        if not able.any():
            break
        weighted = design[None, :, :] * keep[:, :, None]  # (fits, tiles, terms)
        # Normal equations: small solves (lstsq's SVD costs far more for nothing here).
        gram = weighted.transpose(0, 2, 1) @ design + ridge
        rhs = np.einsum("ftk,ft->fk", weighted, levels)
        solved = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        coef[able] = solved[able]
        residual = np.abs(levels - coef @ design.T)
        # The median of the kept tiles' residuals: sort with the others pushed to the end.
        ordered = np.sort(np.where(keep, residual, np.inf), axis=1)
        count = keep.sum(axis=1)
        lower = ordered[np.arange(n_fits), np.maximum(count - 1, 0) // 2]
        upper = ordered[np.arange(n_fits), np.maximum(count, 1) // 2]
        median = np.where(count > 0, (lower + upper) / 2, 0.0)
        spread = 1.4826 * median + 0.01
        again = residual <= 2.5 * spread[:, None]
        if np.array_equal(again, keep):
            break  # the same tiles again: the next fit would be this one
        keep = again
    # sum_k coef_k y^a x^b = Y @ C @ X.T, with Y = [y^0 .. y^d], X likewise, C[a, b] = coef_k.
    grid = np.zeros((n_fits, degree + 1, degree + 1))
    for k, (a, b) in enumerate(_POWERS[:n_terms]):
        grid[:, a, b] = coef[:, k]
    surface = by_rows @ grid @ by_cols.T
    return np.clip(surface, 0.0, 1.0).astype(np.float32)


def remove_paper(
    gray: np.ndarray, ink_dark: bool, paper: np.ndarray | None = None, *, clip: bool = True
) -> np.ndarray:
    """Ink strength with the paper (however lit) at 0: gray (h, w) in [0, 1] -> (h, w) in [0, 1].

    Dark ink on paper is a reflectance: the picture is light x paper, so dividing by the paper's
    brightness undoes uneven light. Light ink on a dark ground (chalk, a screen) is subtracted.
    `paper`, the paper's level in gray's units, is estimated (paper_surface) when not given;
    either way it is moved onto the paper's most common level (paper_offset) as far as the
    picture's noise explains the gap, so that noise does not lift the paper. clip=False keeps
    the paper's noise below 0 (up to -1), so that a later average (denoise) sees it whole.
    """
    oriented = orient(gray, ink_dark)
    if paper is None:
        surface = paper_surface(oriented)
    else:
        surface = 1.0 - paper if ink_dark else paper
    contrast = oriented - surface  # ink above the paper, in gray's units
    # Only as far as noise explains it (within 2 noise deviations): on clean paper, what is
    # left of a surface's misfit (tiles across a shadow's edge) is not moved.
    spread = 2.0 * noise_level(contrast)
    offset = float(np.clip(paper_offset(contrast), -spread, spread)) if spread > 0 else 0.0
    if ink_dark:
        paper_brightness = np.maximum(1.0 - surface - offset, 0.05)
        ink = (contrast - offset) / paper_brightness
    else:
        ink = contrast - offset
    return np.clip(ink, 0.0 if clip else -1.0, 1.0).astype(np.float32)


def noise_level(x: np.ndarray) -> float:
    """The robust spread of what a 3x3 median removes (1.4826 x its median absolute value):
    about the noise's standard deviation for pixel noise, ~0 for smooth pictures. (h, w).
    Measured at every other row and column (a quarter of the work, the same estimate)."""
    if min(x.shape) < 6:
        return 1.4826 * float(np.median(np.abs(x - median_filter(x, 3))))
    height, width = x.shape
    rows, cols = (height - 2) // 2, (width - 2) // 2
    # The 3x3 neighbourhoods of the pixels (1 + 2i, 1 + 2j): nine strided views.
    views = [x[r : r + 2 * rows : 2, c : c + 2 * cols : 2] for r in range(3) for c in range(3)]
    middle = median_of_nine(views)
    return 1.4826 * float(np.median(np.abs(views[4] - middle)))


def paper_offset(contrast: np.ndarray, bins: int = 64, reach: float = 0.05) -> float:
    """How far the paper lies above a surface fitted under it: the most common level of
    `contrast` (the picture minus the surface, ink bright), in gray's units.

    The surface follows the paper's darker pixels (a low quantile per tile, which ink cannot
    pull), so on a noisy picture it lies about 1.3 noise deviations under the paper's middle
    and noise alone would pass for faint ink where the light is dim. The paper is most of the
    picture: its level is the peak of the histogram (`bins` over [-1, 1], smoothed), refined
    by taking the median of the values within `reach` of it a few times (a mean shift); 0
    when the surface already sits on the paper. -> a level in [-0.5, 0.5].
    """
    values = np.asarray(contrast, dtype=np.float32).ravel()
    index = np.clip(((values + 1.0) * (bins / 2)).astype(np.intp), 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    smooth = np.convolve(counts, [1.0, 2.0, 1.0], mode="same")
    level = (int(np.argmax(smooth)) + 0.5) * (2.0 / bins) - 1.0
    for _ in range(3):
        near = values[np.abs(values - level) <= reach]
        if near.size == 0:
            break
        level = float(np.median(near))
    return float(np.clip(level, -0.5, 0.5))


def otsu_threshold(x: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that best splits the values into two classes (ink, paper).

    x: any shape, values in [0, 1] (others count as 0 or 1) -> a level in [0, 1]; pixels above
    it are ink. It maximises
    the between-class variance w0 w1 (m0 - m1)^2 over the histogram's bin edges.
    """
    # np.bincount of the bin indices: the histogram, many times faster than np.histogram.
    index = np.clip((np.asarray(x, dtype=np.float32).ravel() * bins).astype(np.intp), 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = sum0 / weight0
        mean1 = (sum0[-1] - sum0) / weight1
        between = weight0 * weight1 * (mean0 - mean1) ** 2
    between = np.where(np.isfinite(between[:-1]), between[:-1], -1.0)  # an empty class: no split
    if between.max() <= 0:
        return 0.5
    return float(edges[1 + int(np.argmax(between))])


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary drawing: 2 x area / perimeter.

    A stroke of width w and length L has area wL and a perimeter of about 2L. The perimeter is
    counted as pixel edges between ink and paper. Returns 0 for an empty mask.
    """
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1).astype(np.int8)
    edges = int(np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum())
    return 2.0 * area / max(edges, 1)


def denoise(ink: np.ndarray, sizes: tuple[int, ...] = (3,), keep: float = 0.85) -> np.ndarray:
    """Median-filter the ink, with the largest window that keeps the strokes. (h, w) -> (h, w).

    A median filter wipes out specks (salt and pepper, sensor noise) but also any line thinner
    than half its window. So each window size is tried in turn and kept only if `keep` of the
    ink's connected pixels (those with two or more ink neighbours, which noise rarely has)
    survive it; thin pen strokes therefore stay unfiltered, and the connected-components step
    removes what specks are left.
    """
    level = otsu_threshold(ink)
    mask = ink > level
    neighbours = _neighbour_count(mask)
    strokes = mask & (neighbours >= 2)
    n_strokes = int(strokes.sum())
    best = ink
    if n_strokes == 0:
        return best
    for size in sizes:
        if min(ink.shape) < 4 * size:
            break
        filtered = median_filter(ink, size)
        kept = int((strokes & (filtered > level)).sum())
        if kept < keep * n_strokes:
            break
        best = filtered
    if best is ink and min(ink.shape) >= 12:
        # Strokes too thin for a median: if the picture is noisy (the robust spread of what a
        # median removes), average 3x3 instead, which dims a thin line a third but noise more.
        if noise_level(ink) > 0.04:
            best = box_blur(ink, 3)
    return best


def _neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of each pixel's 8 neighbours are set."""
    padded = np.pad(mask, 1).astype(np.int8)
    height, width = mask.shape
    total = np.zeros(mask.shape, dtype=np.int8)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            if dr != 1 or dc != 1:
                total += padded[dr : dr + height, dc : dc + width]
    return total


def _long_runs(mask: np.ndarray, share: float) -> np.ndarray:
    """Per row: whether the row has a run of ink covering at least `share` of the width."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    start_rows, starts = np.nonzero(steps == 1)
    _, stops = np.nonzero(steps == -1)
    longest = np.zeros(height, dtype=int)
    np.maximum.at(longest, start_rows, stops - starts)
    return longest >= share * width


def _line_rows(mask: np.ndarray, share: float, thickness: float) -> np.ndarray:
    """Rows belonging to thin bands of rows that each hold a run across `share` of the width."""
    long = _long_runs(mask, share)
    rows = np.zeros_like(long)
    limit = max(2, int(round(thickness * mask.shape[0])))
    index = 0
    while index < len(long):
        if not long[index]:
            index += 1
            continue
        end = index
        while end < len(long) and long[end]:
            end += 1
        if end - index <= limit:
            rows[max(index - 1, 0) : end + 1] = True  # and the anti-aliased edge rows
        index = end
    return rows


def remove_lines(mask: np.ndarray, *, share: float = 0.85, thickness: float = 0.08) -> np.ndarray:
    """Clear ruled lines and box borders: straight thin bands across most of the picture.

    mask: (h, w) bool -> (h, w) bool. A band of at most `thickness` of the picture's height
    (or width) whose rows (columns) each hold one run of ink across `share` of the width
    (height) is a line. Lines are only cleared when the ink left over keeps clear of the
    picture's edges: a line is longer than the digit, whereas the bar of a 7 in a tight crop
    spans the picture because the digit does.
    """
    rows = _line_rows(mask, share, thickness)
    cols = _line_rows(mask.T, share, thickness)
    if not rows.any() and not cols.any():
        return mask
    cleared = mask.copy()
    cleared[rows, :] = False
    cleared[:, cols] = False
    if not cleared.any():
        return mask
    height, width = mask.shape
    r = np.flatnonzero(cleared.any(axis=1))
    c = np.flatnonzero(cleared.any(axis=0))
    margin_r, margin_c = max(1, height // 50), max(1, width // 50)
    if (
        r[0] < margin_r
        or r[-1] >= height - margin_r
        or c[0] < margin_c
        or c[-1] >= width - margin_c
    ):
        # Ink besides the lines reaches the edge: the digit fills the picture, and its long
        # strokes (a 7's bar, a 1) must not be taken for lines.
        return mask
    _mend_crossings(cleared, mask, rows)
    _mend_crossings(cleared.T, mask.T, cols)
    return cleared


def _mend_crossings(cleared: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> None:
    """Put back, in place, the ink of each cleared band of rows where a stroke crosses the
    line: columns with ink just above and just below the band (give or take a pixel, for
    slanted strokes), so that a line drawn through a digit does not cut it in two."""
    height = len(rows)
    edges = np.flatnonzero(np.diff(np.r_[0, rows.astype(np.int8), 0]))
    for top, bottom in zip(edges[0::2], edges[1::2], strict=True):
        if top == 0 or bottom >= height:
            continue
        above = max_filter(cleared[top - 1].astype(np.float32)[None, :], 3)[0] > 0
        below = max_filter(cleared[bottom].astype(np.float32)[None, :], 3)[0] > 0
        crossing = above & below
        cleared[top:bottom, crossing] = mask[top:bottom, crossing]


def _is_frame(component: Component, labels: np.ndarray, others_inside: int) -> bool:
    """A hollow rectangle (a box drawn around the digit): its ink hugs its bounding box's sides
    and other ink lies inside it."""
    if others_inside == 0 or component.height < 8 or component.width < 8:
        return False
    box = labels[component.top : component.bottom, component.left : component.right]
    own = box == component.label
    band_r = max(1, component.height // 8)
    band_c = max(1, component.width // 8)
    inner = own[band_r:-band_r, band_c:-band_c]
    return int(inner.sum()) <= 0.1 * component.area


def keep_digit(
    mask: np.ndarray, *, min_share: float = 0.08, near_share: float = 0.02
) -> np.ndarray:
    """Keep the digit's strokes: the largest piece of ink and the pieces that belong with it.

    mask: (h, w) bool -> (h, w) bool. Pieces at least `min_share` of the largest one's size are
    kept wherever they are (a 5's separate bar, a second digit that should be seen); smaller ones
    only when they lie inside the largest piece's box widened by a quarter (a dot of a broken
    stroke), so specks and dust elsewhere are dropped. A hollow box around the rest is dropped,
    and so are thin straight pieces longer than the digit (lines, a box's loose sides).
    """
    labels, components = label_components(mask)
    if not components:
        return mask.copy()
    components = _drop_frames(labels, components)
    if not components:
        return np.zeros_like(mask)
    main = max(components, key=lambda c: c.area)
    components = [c for c in components if c is main or not _is_line_beyond(c, main)]
    pad_r, pad_c = main.height // 4 + 1, main.width // 4 + 1
    kept = []
    for comp in components:
        inside = (
            comp.top >= main.top - pad_r
            and comp.bottom <= main.bottom + pad_r
            and comp.left >= main.left - pad_c
            and comp.right <= main.right + pad_c
        )
        if comp.area >= min_share * main.area or (inside and comp.area >= near_share * main.area):
            kept.append(comp.label)
    return np.isin(labels, kept)


def _is_line_beyond(piece: Component, main: Component) -> bool:
    """A thin straight piece (at least 8 times longer than thick) that is longer than the
    digit is across it: a ruled line, an underline or what is left of a box's sides. A 5's
    bar or a 7's stroke is never longer than the digit they belong to."""
    if piece.width >= 8 * piece.height:
        return piece.width > 1.2 * main.width
    if piece.height >= 8 * piece.width:
        return piece.height > 1.2 * main.height
    return False


def _drop_frames(labels: np.ndarray, components: list[Component]) -> list[Component]:
    frames = set()
    for comp in components:
        inside = sum(
            other.area
            for other in components
            if other is not comp
            and other.top >= comp.top
            and other.bottom <= comp.bottom
            and other.left >= comp.left
            and other.right <= comp.right
        )
        if inside >= 0.1 * comp.area and _is_frame(comp, labels, inside):
            frames.add(comp.label)
    return [c for c in components if c.label not in frames]


def thin(ink: np.ndarray, width: float, target: float) -> np.ndarray:
    """Erode thick strokes toward `target` pixels wide, unless that would erase or cut a part
    of the glyph (the pieces must stay as many). ink: (h, w) -> (h, w)."""
    shrink = int(round(width - target))  # a k x k minimum narrows a stroke by k - 1 pixels
    if shrink < 2:
        return ink
    size = shrink + 1 if shrink % 2 == 0 else shrink
    thinned = min_filter(ink, size)
    before, after = count_pieces(np.stack([ink > 0, thinned > 0]))
    return thinned if after == before else ink


def thicken(ink: np.ndarray, width: float, target: float) -> np.ndarray:
    """Dilate thin strokes so that, once shrunk by the later resize, they are `target` wide.

    ink: (h, w); width: the stroke width now (pixels); target: the wanted width now (pixels).
    """
    grow = int(round(target - width))  # a k x k maximum widens a stroke by k - 1 pixels
    if grow < 1:
        return ink
    size = grow + 1 if grow % 2 == 0 else grow + 2
    return max_filter(ink, size)
