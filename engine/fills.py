"""Fills: which palette style each region of a frame is painted with.

A `FillMap` is per frame and per segmentation: ``style[i]`` is the palette
index of region ``i`` (or UNPAINTED), ``origin[i]`` says who painted it (the
animator or propagation), ``confidence[i]`` how sure propagation was, and
``flagged[i]`` marks regions to review, and ``alternatives[i]`` holds the
styles propagation ranked next (the app's "Other likely style" offers them
first). Animator fills are never overwritten by propagation.

A project saves them as region arrays and, for the day those stop fitting
the frame's regions, as a style-index image (`engine.style_image`), which
is re-read against whatever the segmentation is then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import cv2
import numpy as np

from engine.imageio import to_rgba8
from engine.lineart import LineArt, to_8bit
from engine.palette import UNPAINTED, Palette, Style
from engine.regions import Regions

ORIGIN_NONE, ORIGIN_ANIMATOR, ORIGIN_PROPAGATED = 0, 1, 2

# How many runner-up styles propagation keeps per region (FillMap.alternatives).
# On the validation shots the right colour of a region painted wrong is the
# votes' second choice for 46% of them, the third for 14% more and the fourth
# for 3.5% more (`python benchmarks/other_styles.py`).
ALTERNATIVES = 3


def _no_alternatives() -> np.ndarray:
    return np.empty((0, ALTERNATIVES), np.int32)


@dataclass(frozen=True)
class FillMap:
    """Fills of one frame's regions (arrays of length n = region count)."""

    style: np.ndarray  # int32 [n], palette index or UNPAINTED
    origin: np.ndarray  # uint8 [n], ORIGIN_*
    confidence: np.ndarray  # float32 [n], 1 for animator fills
    flagged: np.ndarray  # bool [n]
    # int32 [n x ALTERNATIVES]: the styles propagation's votes ranked next
    # after the one it chose (for a region it left unpainted, its best ones),
    # most likely first; UNPAINTED where there is none. A hint: painting a
    # region keeps them, and fills made otherwise have none.
    alternatives: np.ndarray = field(default_factory=_no_alternatives)

    def __post_init__(self) -> None:
        n = len(self.style)
        if n and not len(self.alternatives):
            blank = np.full((n, ALTERNATIVES), UNPAINTED, np.int32)
            object.__setattr__(self, "alternatives", blank)
        elif self.alternatives.shape != (n, ALTERNATIVES):
            raise ValueError(
                f"alternatives of shape {self.alternatives.shape} for {n} regions"
            )

    @staticmethod
    def empty(count: int) -> FillMap:
        return FillMap(
            style=np.full(count, UNPAINTED, np.int32),
            origin=np.zeros(count, np.uint8),
            confidence=np.zeros(count, np.float32),
            flagged=np.zeros(count, bool),
        )

    @staticmethod
    def field_names() -> tuple[str, ...]:
        """The per-region arrays, in order (each indexed by region first)."""
        return tuple(f.name for f in fields(FillMap))

    def __len__(self) -> int:
        return len(self.style)

    def guesses(self, region: int) -> list[int]:
        """The region's alternatives to try, most likely first: each once,
        never its own style (painting a region keeps its alternatives, and a
        deleted style's replacement may be the region's own style or
        another of its alternatives)."""
        own = int(self.style[region])
        kept = (int(s) for s in self.alternatives[region])
        return list(dict.fromkeys(s for s in kept if s != UNPAINTED and s != own))

    @property
    def painted(self) -> np.ndarray:
        return self.style != UNPAINTED

    @property
    def needs_paint(self) -> np.ndarray:
        """Regions left unpainted, except those the animator cleared with
        Unpaint (empty on purpose: not a problem to review)."""
        return ~self.painted & (self.origin != ORIGIN_ANIMATOR)

    @property
    def blank(self) -> np.ndarray:
        """Regions nobody has painted or judged yet: not painted, not pinned
        empty by the animator, not flagged (the blank part of a key the
        animator has only begun)."""
        return ~self.painted & ~self.flagged & ~self.by_animator

    @property
    def settled(self) -> np.ndarray:
        """Regions painted and not flagged for review: the fills other frames
        may learn from (a flagged fill is still a guess)."""
        return self.painted & ~self.flagged

    @property
    def by_animator(self) -> np.ndarray:
        return self.origin == ORIGIN_ANIMATOR

    def with_styles(
        self, regions: np.ndarray, styles: np.ndarray | int, origin: int
    ) -> FillMap:
        """A copy with ``regions`` set to ``styles`` (UNPAINTED clears)."""
        style = self.style.copy()
        org = self.origin.copy()
        conf = self.confidence.copy()
        flag = self.flagged.copy()
        style[regions] = styles
        cleared = style[regions] == UNPAINTED
        org[regions] = np.where(cleared, ORIGIN_NONE, origin)
        conf[regions] = np.where(cleared, 0.0, 1.0)
        flag[regions] = False
        return FillMap(style, org, conf, flag, self.alternatives)

    def merged_under(self, other: FillMap) -> FillMap:
        """``other``'s fills wherever this map has no animator fill."""
        return self.where(self.by_animator, other)

    def differs(self, other: FillMap) -> np.ndarray:
        """Per region, whether its fill differs from ``other``'s (same length)."""
        return (
            (self.style != other.style)
            | (self.origin != other.origin)
            | (self.flagged != other.flagged)
            | (np.abs(self.confidence - other.confidence) > 1e-6)
            | (self.alternatives != other.alternatives).any(axis=1)
        )

    def where(self, mask: np.ndarray, other: FillMap) -> FillMap:
        """This map's fills where ``mask`` holds, ``other``'s elsewhere."""

        def pick(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
            return np.where(mask.reshape(-1, *[1] * (mine.ndim - 1)), mine, theirs)

        return FillMap(
            *(
                pick(getattr(self, name), getattr(other, name))
                for name in FillMap.field_names()
            )
        )

    def replace(self, **changes: np.ndarray) -> FillMap:
        return replace(self, **changes)

    def renumbered(self, new_index: np.ndarray) -> FillMap:
        """The fills with every style index ``i`` read as ``new_index[i]``
        (`engine.palette.renumbering`). A region whose style becomes
        UNPAINTED is blank again: nobody's fill, not flagged."""
        painted = self.painted
        style = _renumber(self.style, new_index)
        cleared = painted & (style == UNPAINTED)
        return FillMap(
            style=style,
            origin=np.where(cleared, ORIGIN_NONE, self.origin).astype(np.uint8),
            confidence=np.where(cleared, 0.0, self.confidence).astype(np.float32),
            flagged=self.flagged & ~cleared,
            alternatives=_renumber(self.alternatives, new_index),
        )


def _renumber(styles: np.ndarray, new_index: np.ndarray) -> np.ndarray:
    """Style indices read through ``new_index`` (UNPAINTED stays so)."""
    painted = styles != UNPAINTED
    return np.where(painted, new_index[np.maximum(styles, 0)], UNPAINTED).astype(
        np.int32
    )


# Cells of the region-by-value vote table counted densely (128 MB of int64);
# larger tables count only the pairs that occur.
_DENSE_TABLE = 1 << 24


def region_majority(
    regions: Regions, values: np.ndarray, n_values: int, *, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per region, the most common of ``values`` (int [H x W] in 0..n_values-1)
    over its own pixels, and the share of its pixels that value covers.

    Pixels where ``valid`` is False do not vote; a region with no voting
    pixel gets -1 and share 0.
    """
    return label_majority(regions.labels, regions.count, values, n_values, valid=valid)


def label_majority(
    labels: np.ndarray,
    count: int,
    values: np.ndarray,
    n_values: int,
    *,
    valid: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """`region_majority` over a label map of ``count`` regions (0: no
    region), such as a `Regions` under-line map."""
    if count == 0 or n_values == 0:
        return np.full(count, -1, np.int64), np.zeros(count, np.float32)
    owner, value, counts = pair_counts(labels, count, values, n_values, valid=valid)
    best, votes = most_counted(owner, value, counts, count)
    total = np.bincount(
        labels[labels > 0].astype(np.int64) - 1, minlength=count
    ).astype(np.float32)
    share = votes / np.maximum(total, 1)
    return best, share.astype(np.float32)


def pair_counts(
    labels: np.ndarray,
    count: int,
    values: np.ndarray,
    n_values: int,
    *,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (region, value) pairs met on the pixels of a label map of
    ``count`` regions (0: no region; where ``valid``), and how many pixels
    each: (region index from 0, value, pixels), int64, by region then value."""
    mask = labels > 0
    if valid is not None:
        mask &= valid
    pairs = (labels[mask].astype(np.int64) - 1) * n_values + values[mask]
    if count * n_values <= _DENSE_TABLE:
        table = np.bincount(pairs, minlength=count * n_values)
        seen = np.flatnonzero(table)
        counts = table[seen]
    else:
        # Region against region (a gap change on a frame of thousands of
        # regions): a dense table would take gigabytes; count the pairs
        # that occur instead.
        seen, counts = np.unique(pairs, return_counts=True)
    return seen // n_values, seen % n_values, counts.astype(np.int64)


def most_counted(
    owner: np.ndarray, value: np.ndarray, counts: np.ndarray, n_owners: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per owner (0 to ``n_owners`` - 1), the value of its pairs with the
    most ``counts`` (the smallest value on a tie; -1: it has none), and
    that count."""
    order = np.lexsort((-counts, owner))  # stable: values stay rising on ties
    first = (
        order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
        if len(order)
        else order
    )
    best = np.full(n_owners, -1, np.int64)
    votes = np.zeros(n_owners, np.int64)
    best[owner[first]] = value[first]
    votes[owner[first]] = counts[first]
    return best, votes


def fills_from_color(
    regions: Regions, color: np.ndarray, palette: Palette
) -> tuple[FillMap, Palette]:
    """Read a painted frame into fills by style, adding unknown colours to the
    palette as new styles. Fully transparent pixels are unpainted. Only a
    colour that is some region's majority becomes a style: line pixels left
    in the key, and the blend of antialiased edges, do not."""
    return _fills(_ColorReading.of(regions, color), palette)


@dataclass(frozen=True)
class KeyColors:
    """A painted key read into fills (`key_from_color`).

    fills, palette: as `fills_from_color` gives them, with the regions below
                    flagged for review.
    mixed:          regions painted in two colours (`mixed_regions`, largest
                    first): each keeps its main colour, flagged, with the
                    share that colour covers as its confidence; its other
                    colour joins the palette, to repaint it with.
    patchy:         regions (of MIXED_PIXELS or more) no colour covers half
                    of: not flat paint (noise, a photo, soft shading). Left
                    unpainted and flagged (propagation paints them from the
                    other keys and keeps the flag), and their colours stay
                    out of the palette (a style per speck of noise is no
                    palette).
    """

    fills: FillMap
    palette: Palette
    mixed: np.ndarray
    patchy: np.ndarray


# A key region whose main colour covers less than this share of it is not
# painted flat (see KeyColors.patchy).
FLAT_SHARE = 0.5


def key_from_color(regions: Regions, color: np.ndarray, palette: Palette) -> KeyColors:
    """`fills_from_color` for a key, with what looks wrong in it flagged for
    review (see KeyColors)."""
    reading = _ColorReading.of(regions, color)
    patchy = np.flatnonzero(
        (reading.best >= 0)
        & (reading.share < FLAT_SHARE)
        & (regions.table.area >= MIXED_PIXELS)
    )
    mixed = _mixed(regions, reading)
    keep = ~np.isin(mixed.regions, patchy)
    mixed = MixedRegions(mixed.regions[keep], mixed.majority[keep], mixed.second[keep])
    best = reading.best.copy()
    best[patchy] = -1  # no style from them
    fills, palette = _fills(replace(reading, best=best), palette)
    flagged, confidence = fills.flagged.copy(), fills.confidence.copy()
    flagged[mixed.regions], confidence[mixed.regions] = True, mixed.majority
    flagged[patchy], confidence[patchy] = True, 0.0
    fills = fills.replace(flagged=flagged, confidence=confidence)
    for rgba in mixed.second[mixed.second[:, 3] > 0]:
        palette, _ = style_of(palette, tuple(rgba.tolist()))
    return KeyColors(fills, palette, mixed.regions, patchy)


def style_of(palette: Palette, rgba: tuple[int, ...]) -> tuple[Palette, int]:
    """The palette's style of a colour read from a painted frame, added
    (named by its hex code) when the palette has none."""
    color = (int(rgba[0]), int(rgba[1]), int(rgba[2]), int(rgba[3]))
    found = palette.index_of_color(color)
    if found is not None:
        return palette, found
    return palette.with_style(Style("#{:02x}{:02x}{:02x}".format(*color[:3]), color))


@dataclass(frozen=True)
class _ColorReading:
    """A painted frame's colours per region, read once for what follows.

    colors:  uint32 [c], the distinct opaque colours (packed RGBA).
    indices: int64 [H x W], each pixel's colour index; c where transparent.
    best:    int64 [n], each region's main colour index (-1: no pixel).
    share:   float32 [n], the share of the region its main colour covers.
    """

    colors: np.ndarray
    indices: np.ndarray
    best: np.ndarray
    share: np.ndarray

    @staticmethod
    def of(regions: Regions, color: np.ndarray) -> _ColorReading:
        rgba = to_rgba8(color)
        packed = rgba.view(np.uint32).reshape(rgba.shape[:2])
        opaque = rgba[:, :, 3] > 0
        colors, inverse = np.unique(packed[opaque], return_inverse=True)
        indices = np.full(packed.shape, len(colors), np.int64)
        indices[opaque] = inverse.ravel()
        best, share = region_majority(regions, indices, len(colors) + 1, valid=None)
        return _ColorReading(colors, indices, best, share)

    def rgba(self, index: np.ndarray) -> np.ndarray:
        """uint8 [k x 4] of colour indices (c: transparent)."""
        packed = np.append(self.colors, 0).astype(np.uint32)
        return packed[index].view(np.uint8).reshape(-1, 4)


def _fills(reading: _ColorReading, palette: Palette) -> tuple[FillMap, Palette]:
    best, n_colors = reading.best, len(reading.colors)
    style_of_color = np.full(n_colors + 1, UNPAINTED, np.int32)
    winners = np.unique(best[(best >= 0) & (best < n_colors)])
    for i, rgba in zip(winners.tolist(), reading.rgba(winners), strict=True):
        palette, style_of_color[i] = style_of(palette, tuple(rgba.tolist()))
    styles = np.where(best >= 0, style_of_color[np.maximum(best, 0)], UNPAINTED)
    fills = FillMap.empty(len(best)).with_styles(
        np.arange(len(best)), styles.astype(np.int32), ORIGIN_ANIMATOR
    )
    return fills, palette


# A region whose second colour covers this share of it, and this many
# pixels, holds two painted areas (see `mixed_regions`): not the blend of
# antialiased edges, nor a stray speck.
MIXED_SHARE = 0.2
MIXED_PIXELS = 64


@dataclass(frozen=True)
class MixedRegions:
    """Regions of a painted frame that hold two colours (`mixed_regions`).

    regions:  int64 [k], largest second colour first.
    majority: float32 [k], the share of each region its main colour covers.
    second:   uint8 [k x 4], each one's second colour (alpha 0: unpainted).
    """

    regions: np.ndarray
    majority: np.ndarray
    second: np.ndarray


def mixed_regions(regions: Regions, color: np.ndarray) -> MixedRegions:
    """Regions of a painted frame that hold two colours (transparent counts
    as one): areas painted apart that the segmentation joined, through a gap
    in the lines it did not close. Reading the frame gives such a region its
    main colour alone."""
    return _mixed(regions, _ColorReading.of(regions, color))


def _mixed(regions: Regions, reading: _ColorReading) -> MixedRegions:
    labels = regions.labels
    inside = labels > 0
    first = np.full(labels.shape, -1, np.int64)
    first[inside] = reading.best[labels[inside] - 1]
    runner_up, second = region_majority(
        regions,
        reading.indices,
        len(reading.colors) + 1,
        valid=reading.indices != first,
    )
    second_px = second * regions.table.area.astype(np.float64)
    mixed = np.flatnonzero((second >= MIXED_SHARE) & (second_px >= MIXED_PIXELS))
    mixed = mixed[np.argsort(-second_px[mixed], kind="stable")]
    return MixedRegions(mixed, reading.share[mixed], reading.rgba(runner_up[mixed]))


@dataclass(frozen=True)
class OtherStyles:
    """The styles to try on a region painted wrong (`other_styles`).

    styles:  each once, the first to try first; never the region's own.
    guesses: how many of the first are propagation's own next guesses
             (FillMap.alternatives); the rest are neighbours' styles.
    """

    styles: list[int]
    guesses: int


def other_styles(regions: Regions, fills: FillMap, region: int) -> OtherStyles:
    """What the app's "Other likely style" (S) steps through for ``region``:
    the styles propagation ranked after the one it chose, most likely first,
    then the styles of the regions across a line from it
    (`neighbour_styles`). On the validation shots the right colour of a
    region painted wrong is the first offer for 46% of them and within two
    for 60%; the neighbours' styles alone offered it first for 15%, within
    two for 31% (`python benchmarks/other_styles.py`)."""
    guessed = fills.guesses(region)
    around = [s for s in neighbour_styles(regions, fills, region) if s not in guessed]
    return OtherStyles(guessed + around, len(guessed))


def neighbour_styles(regions: Regions, fills: FillMap, region: int) -> list[int]:
    """The styles of the regions across a line from ``region``, each once,
    the one along the longest shared boundary first, leaving out the
    region's own style and unpainted neighbours."""
    edges, length = regions.graph.edges, regions.graph.length
    touching = (edges[:, 0] == region) | (edges[:, 1] == region)
    others = np.where(
        edges[touching, 0] == region, edges[touching, 1], edges[touching, 0]
    )
    boundary: dict[int, float] = {}
    for other, shared in zip(others.tolist(), length[touching].tolist(), strict=True):
        style = int(fills.style[other])
        if style >= 0 and style != fills.style[region]:
            boundary[style] = boundary.get(style, 0.0) + shared
    return sorted(boundary, key=lambda style: (-boundary[style], style))


def color_layer(regions: Regions, fills: FillMap, palette: Palette) -> np.ndarray:
    """uint8 RGBA [H x W x 4]: flat fills, drawn under the lines, transparent
    where unpainted."""
    lookup = region_colors(fills, palette)
    # One 32-bit gather per pixel instead of four 8-bit ones.
    packed = lookup.view(np.uint32).ravel()[regions.under_line]
    return packed.view(np.uint8).reshape(*regions.under_line.shape, 4)


def region_colors(fills: FillMap, palette: Palette) -> np.ndarray:
    """uint8 RGBA [(n + 1) x 4]: row ``label`` is the colour of region label
    ``label`` (row 0, the lines, and unpainted regions: transparent)."""
    colors = np.zeros((len(palette) + 1, 4), np.uint8)
    if len(palette):
        colors[: len(palette)] = np.asarray(palette.colors(), np.uint8)
    style = _palette_rows(fills, palette)
    lookup = np.zeros((len(fills) + 1, 4), np.uint8)
    lookup[1:] = colors[style]
    return lookup


def _palette_rows(fills: FillMap, palette: Palette) -> np.ndarray:
    """Each region's row in a table of the palette's styles plus one last
    row for unpainted (and for a style the palette no longer has)."""
    known = fills.painted & (fills.style < len(palette))
    return np.where(known, fills.style, len(palette))


# Colour-trace lines are taken to be at most this many px wide (`painted_trace`).
MAX_TRACE_WIDTH = 16
# The antialiased edge of a trace line is taken to be at most this many px
# wide on each side (`_hide_edges`).
TRACE_EDGE = 2
# A painted trace line's tail lies in one region: that region has at least
# this share of the pixels it touches (`_paint_tails`); a line between two
# regions touches each about half the time.
TAIL_SHARE = 0.8


def painted_trace(
    lineart: LineArt, regions: Regions, fills: FillMap, palette: Palette
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Colour-trace pixels that take a fill's colour: a window of the frame
    (the box around its trace lines) and, over it, int32 the region label
    whose colour each pixel takes (0: it stays a line); None when none does.

    A trace line bounding a region whose style paints its trace lines takes
    that colour across its width: the colour spreads from the region's side
    through the trace pixels, as many steps as that line (its connected
    piece of trace) is wide, so past the region's end it runs along the line
    no further than that. What is left of the line there takes the colour
    of the one region it lies in, if it does (`_paint_tails`). The painted
    line's antialiased edge shows the fills beside it (`_hide_edges`)."""
    trace = lineart.trace
    if not len(palette) or not trace.any():
        return None
    paints = np.array([s.paint_trace for s in palette.styles] + [False])
    region_paints = np.zeros(regions.count + 1, bool)
    region_paints[1:] = paints[_palette_rows(fills, palette)]
    if not region_paints.any():
        return None
    x, y, w, h = cv2.boundingRect(trace.view(np.uint8))
    rows, cols = trace.shape
    # Wide enough for the lines' antialiased edges (`_hide_edges`).
    window = (
        slice(max(y - TRACE_EDGE, 0), min(y + h + TRACE_EDGE, rows)),
        slice(max(x - TRACE_EDGE, 0), min(x + w + TRACE_EDGE, cols)),
    )
    trace = trace[window]
    under = regions.under_line[window]
    seed = trace & region_paints[under]
    if not seed.any():
        return None
    # Each piece of trace line spreads as many steps as it is wide.
    pieces, piece = cv2.connectedComponents(trace.view(np.uint8), connectivity=8)
    inside = cv2.distanceTransform(trace.view(np.uint8), cv2.DIST_L2, 3)
    widest = np.zeros(pieces, np.float32)
    np.maximum.at(widest, piece[trace], inside[trace])
    steps = np.minimum(np.ceil(widest) + 1, MAX_TRACE_WIDTH).astype(np.int32)
    # The spread works on the trace pixels alone (a few percent of a frame),
    # in a copy of the window with a 1 px margin so every pixel has eight
    # neighbours.
    owner = np.pad(np.where(seed, under, 0).astype(np.int32), 1)
    width = owner.shape[1]
    ys, xs = np.nonzero(trace)
    at = (ys + 1) * width + (xs + 1)
    allowed = steps[piece[ys, xs]]
    flat = owner.reshape(-1)
    around = np.array(
        [dy * width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    )
    for step in range(1, int(steps[np.unique(piece[seed])].max()) + 1):
        open_ = at[(flat[at] == 0) & (allowed >= step)]
        if not len(open_):
            break
        grown = flat[open_[:, None] + around[None, :]].max(axis=1)
        if not grown.any():
            break
        flat[open_] = grown  # 0 where no neighbour is painted yet
    owner = owner[1:-1, 1:-1]
    labels = regions.labels[window]
    _paint_tails(owner, trace, piece, np.unique(piece[seed]), labels, fills)
    _hide_edges(owner, lineart, window, labels, fills)
    return window, owner


def _hide_edges(
    owner: np.ndarray,
    lineart: LineArt,
    window: tuple[slice, slice],
    labels: np.ndarray,
    fills: FillMap,
) -> None:
    """The antialiased edge of a painted trace line (its ink too faint to
    be line: the pixels of the regions beside it) takes the colour of the
    painted region it lies in: laid over the fill, it showed as a thin line
    of the trace's hue on each side of the painted line. Beside black ink
    it may be that ink's own edge, and stays. ``owner`` and ``labels`` are
    the ``window``'s."""
    painted = owner > 0
    if not painted.any():
        return
    line, ink = lineart.line[window], lineart.ink[window]
    kernel = np.ones((3, 3), np.uint8)
    black = cv2.dilate((line & ~lineart.trace[window]).view(np.uint8), kernel) > 0
    in_paint = np.zeros(len(fills) + 1, bool)
    in_paint[1:] = fills.painted
    edge = ~line & (ink > 0) & ~black & in_paint[labels]
    reached = painted
    for _ in range(TRACE_EDGE):
        reached = reached | ((cv2.dilate(reached.view(np.uint8), kernel) > 0) & edge)
    hidden = reached & edge
    owner[hidden] = labels[hidden]


def _paint_tails(
    owner: np.ndarray,
    trace: np.ndarray,
    piece: np.ndarray,
    seeded: np.ndarray,
    labels: np.ndarray,
    fills: FillMap,
) -> None:
    """A painted trace line's tail (past the shadow's end it runs on into
    one region, parting nothing: trace lines are drawn long, often along
    an ink line, and a shadow's edge can outlast the shadow) takes the
    colour of that region, where it is painted: left as it was, it showed
    as a raw red or green line there. Trace lines are guides for the
    paint, never lines of the finished frame. Where what is left of the
    line runs on between two regions, it stays a line. All arrays are the
    trace window's."""
    left = (trace & (owner == 0) & np.isin(piece, seeded)).view(np.uint8)
    count, tail = cv2.connectedComponents(left, connectivity=8)
    if count < 2:
        return
    # The regions each remaining stretch touches (8-neighbours), and how
    # often: a stretch that touches one region nearly all along is a tail
    # (at its end it may touch another, where it meets the ink).
    near = cv2.dilate(tail.astype(np.float32), np.ones((3, 3), np.uint8))
    beside = (labels > 0) & (near > 0)
    pairs, touches = np.unique(
        near[beside].astype(np.int64) * (len(fills) + 1) + labels[beside],
        return_counts=True,
    )
    stretch, region = np.divmod(pairs, len(fills) + 1)
    total = np.bincount(stretch, weights=touches, minlength=count)
    inside = touches >= TAIL_SHARE * total[stretch]
    takes = np.zeros(count, np.int32)
    takes[stretch[inside]] = np.where(
        fills.painted[region[inside] - 1], region[inside], 0
    )
    took = takes[tail] > 0
    owner[took] = takes[tail][took]


def composite(
    line_image: np.ndarray,
    lineart: LineArt,
    regions: Regions,
    fills: FillMap,
    palette: Palette,
    *,
    color: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 RGBA: the line art over its colour layer.

    For line art on an opaque background, "line over fill" is exact in
    integers: a pixel ``rgb`` with ink ``k`` is its line colour laid at
    alpha ``k`` over white, so over a fill ``f`` it becomes
    ``rgb - (1 - k) * (1 - f)`` (a multiply, for black ink). Line art on a
    transparent background is laid over the fills by its own alpha.
    Unpainted pixels stay transparent except for the lines themselves.

    Colour-trace lines bounding a region whose style has ``paint_trace`` take
    that style's colour, as they would once inked and painted.
    """
    if color is None:
        color = color_layer(regions, fills, palette)
    image = to_rgba8(to_8bit(line_image))
    rgb, alpha = image[:, :, :3], image[:, :, 3]
    fill_rgb, fill_alpha = color[:, :, :3], color[:, :, 3]
    out = np.empty_like(color)
    if alpha.min() == 255:
        inv_ink = cv2.cvtColor(cv2.subtract(255, lineart.ink), cv2.COLOR_GRAY2RGB)
        shade = cv2.multiply(inv_ink, cv2.subtract(255, fill_rgb), scale=1 / 255)
        out[:, :, :3] = cv2.subtract(rgb, shade)
        line_alpha = lineart.ink
        unpainted = fill_alpha == 0
        if unpainted.any():
            # Over nothing, a line pixel shows its own colour at its ink.
            ys, xs = np.nonzero(unpainted)
            ink = np.maximum(lineart.ink[ys, xs].astype(np.int32), 1)[:, None]
            own = (rgb[ys, xs].astype(np.int32) - (255 - ink)) * 255 // ink
            out[ys, xs, :3] = np.clip(own, 0, 255).astype(np.uint8)
    else:
        a = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB)
        over = cv2.multiply(rgb, a, scale=1 / 255)
        under = cv2.multiply(fill_rgb, cv2.subtract(255, a), scale=1 / 255)
        out[:, :, :3] = cv2.add(over, under)
        line_alpha = alpha
    out[:, :, 3] = cv2.max(line_alpha, fill_alpha)
    painted = painted_trace(lineart, regions, fills, palette)
    if painted is not None:
        window, owner = painted
        hide = owner > 0
        out[window][hide] = region_colors(fills, palette)[owner[hide]]
    return out
