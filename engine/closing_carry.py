"""Carrying a frame's closing lines to the frames after it (or before it).

A closing line drawn on a key (a shadow shape parted from the skin, a gap
the automatic closing missed) is wanted on the in-betweens too, where the
drawing has moved. Each line is carried one frame at a time, as an
in-betweener would redraw it: it keeps its place *within the region it
parts*. The regions on either side of the line are found in the frame it
comes from; the matcher says which regions of the next frame they became;
the line is moved by the map from the first group's bounding box to the
second's (so it follows the region's motion, squash and stretch), and each
end is put back on the nearest line. It is kept only where it parts a
region there; else it stops (said, not guessed: the animator draws it).

Openings (automatic closures dropped by hand) go where the line art around
them is found again on the next frame, onto the automatic closure there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engine.closing_lines import ClosingLines, Point, closure_near, nearest_pixel
from engine.fills import FillMap, region_majority
from engine.matching import Correspondence, Frame, Matcher
from engine.regions import Regions

# A carried line's end is put on the nearest line within this share of the
# line's length (at least `MIN_REACH` px): how far the drawing may have
# moved from where the region's box says it should be.
END_REACH = 0.25
MIN_REACH = 4.0
# A stroke's sides are the regions this many px off the middle part
# (this share of its length) of it.
SIDE_PX = 2
MIDDLE = 0.6
# A carried line this near (mean px) a line the frame has is that line.
SAME_LINE_PX = 3.0
# Regions matched whose areas are within this factor of each other are
# the same part, redrawn; further apart, one has run into a neighbour or
# been cut short, and its box says little of where the other lies.
SAME_SIZE = 1.3
# A carried opening takes the closure this near (px) where the lines
# around it are found again, within a patch this share of the frame's side.
OPENING_REACH = 8.0
PATCH = 0.03
# A region matched this much to a line's sides, where none has them as its
# best match, is where they went.
MATCHED = 0.25


@dataclass(frozen=True)
class CarriedLines:
    """A frame's closing lines with those carried to it.

    lines:    the frame's own lines and those carried (one stroke each).
    strokes:  per line carried from the frame before, where it lies now
              (None: lost: it parts no region here, or its regions have
              no match); a line the frame had already is found, not added.
    openings: per opening carried, likewise.
    """

    lines: ClosingLines
    strokes: tuple[tuple[Point, ...] | None, ...]
    openings: tuple[Point | None, ...]
    # Per stroke, where it lies to a fraction of a px (None: lost): carried
    # on from there, so rounding to whole px does not add up frame after
    # frame, and a slow drift moves it too.
    exact: tuple[np.ndarray | None, ...]

    @property
    def carried(self) -> ClosingLines:
        """The lines that came through, for the next frame."""
        return ClosingLines(
            tuple(s for s in self.strokes if s is not None),
            tuple(o for o in self.openings if o is not None),
        )

    @property
    def carried_exact(self) -> tuple[np.ndarray, ...]:
        """`carried`'s strokes to a fraction of a px."""
        return tuple(e for e in self.exact if e is not None)

    @property
    def lost_strokes(self) -> int:
        """Strokes that stopped here."""
        return sum(s is None for s in self.strokes)

    @property
    def lost_openings(self) -> int:
        """Openings that stopped here."""
        return sum(o is None for o in self.openings)


@dataclass(frozen=True)
class CarriedFrame:
    """One frame's result: its analysis with its own lines (``before``,
    ``before_lines``) and with those carried to it too (``after``)."""

    number: int
    before: Frame
    before_lines: ClosingLines
    after: Frame
    lines: CarriedLines


def carry_lines(
    source: Frame,
    lines: ClosingLines,
    target: Frame,
    corr: Correspondence,
    own: ClosingLines,
    segment: Callable[[ClosingLines], Regions],
    exact: Sequence[np.ndarray] = (),
    plain: Regions | None = None,
) -> CarriedLines:
    """``lines`` of ``source`` (segmented with them) on ``target``
    (segmented with its ``own`` lines), by ``corr`` (target regions to
    source regions). ``segment`` segments the target with other lines: a
    line is kept only where it parts a region. ``exact``: the strokes to a
    fraction of a px, where known (`CarriedLines.exact`). ``plain``: the
    source segmented without ``lines``, where known: a line is moved with
    the whole region it parts there, whatever else parts it too."""
    adding = Adding(own, target.regions.count, segment)
    whole = _wholes(source, plain)
    for index, stroke in enumerate(lines.strokes):
        points = exact[index] if index < len(exact) else np.array(stroke, float)
        adding.add(_moved_stroke(source, stroke, points, target, corr, whole))
    now, strokes, placed = adding.lines, adding.strokes, adding.exact
    openings: list[Point | None] = []
    for at in lines.openings:
        point = _moved_opening(source, at, target, now.openings)
        if point is not None and point not in now.openings:
            now = now.opening(point)
        openings.append(point)
    return CarriedLines(now, tuple(strokes), tuple(openings), tuple(placed))


class Adding:
    """Strokes added to a frame's lines one by one, each kept only where it
    parts a region (a line the frame has already is found, not doubled)."""

    def __init__(
        self,
        lines: ClosingLines,
        count: int,
        segment: Callable[[ClosingLines], Regions],
    ) -> None:
        self.lines, self.count, self.segment = lines, count, segment
        self.strokes: list[tuple[Point, ...] | None] = []
        self.exact: list[np.ndarray | None] = []

    def add(self, moved: tuple[tuple[Point, ...], np.ndarray] | None) -> None:
        """A stroke where it goes (in whole px, and to a fraction of one;
        None: it has gone); noted as gone where it parts nothing."""
        if moved is None or not self.tried(moved):
            self._said(None, None)

    def tried(self, moved: tuple[tuple[Point, ...], np.ndarray]) -> bool:
        """`add` a stroke where it parts a region (or is there already);
        False, and nothing noted, where it does not."""
        whole, there = moved
        same = _same_stroke(self.lines, whole)
        if same is not None:
            self._said(same, np.array(same, np.float64))
            return True
        parted = self.segment(self.lines.adding(whole)).count
        if parted <= self.count:
            return False
        self.lines, self.count = self.lines.adding(whole), parted
        self._said(whole, there)
        return True

    def _said(self, stroke: tuple[Point, ...] | None, exact: np.ndarray | None) -> None:
        self.strokes.append(stroke)
        self.exact.append(exact)


def carry_through(
    start: Frame,
    fills: FillMap,
    lines: ClosingLines,
    frames: Sequence[int],
    *,
    analyse: Callable[[int, ClosingLines], Frame],
    segment: Callable[[Frame, ClosingLines], Regions],
    own: Callable[[int], ClosingLines],
    fills_on: Callable[[CarriedFrame], FillMap],
    matcher: Matcher,
) -> Iterator[CarriedFrame]:
    """Carry ``lines`` of ``start`` (analysed with them, painted with
    ``fills``) through ``frames`` in turn, each frame's from the one
    before; stops where none comes through.

    analyse: a frame segmented with the given lines; segment: an analysed
    frame's drawing segmented with other lines (to try a line: not kept);
    own: a frame's lines now; fills_on: a frame's fills on its regions
    after the lines came (the next frame is matched to them)."""
    source, source_fills = start, fills
    exact: tuple[np.ndarray, ...] = ()
    plain = segment(start, ClosingLines((), lines.openings))
    for number in frames:
        if not lines:
            return
        drawn = own(number)
        before = analyse(number, drawn)
        corr = matcher.match(source, source_fills, before)

        def trial(with_lines: ClosingLines, before: Frame = before) -> Regions:
            return segment(before, with_lines)

        carried = carry_lines(source, lines, before, corr, drawn, trial, exact, plain)
        after = analyse(number, carried.lines)
        done = CarriedFrame(number, before, drawn, after, carried)
        source_fills = fills_on(done)
        yield done
        source, lines, exact = after, carried.carried, carried.carried_exact
        plain = before.regions  # the frame without the lines carried to it


def beside(labels: np.ndarray, strokes: Sequence[Sequence[Point]]) -> np.ndarray:
    """Region indices on either side of ``strokes`` (``labels``: a label
    map, 0 where no region): those `SIDE_PX` px off the middle of each (its
    ends may run into a line or past it, and touch the regions beyond,
    which it does not part)."""
    height, width = labels.shape
    found: list[np.ndarray] = []
    for stroke in strokes:
        points = _dense(stroke, 1.0)
        if len(points) < 2:
            continue
        direction = np.gradient(points, axis=0)
        direction /= np.maximum(np.hypot(*direction.T), 1e-9)[:, None]
        normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1)
        cut = int(len(points) * (1 - MIDDLE) / 2)
        middle = slice(cut, max(len(points) - cut, cut + 1))
        for offset in (-SIDE_PX, SIDE_PX, -SIDE_PX - 1, SIDE_PX + 1):
            at = np.rint(points[middle] + offset * normal[middle]).astype(np.int64)
            at[:, 0] = np.clip(at[:, 0], 0, width - 1)
            at[:, 1] = np.clip(at[:, 1], 0, height - 1)
            found.append(labels[at[:, 1], at[:, 0]])
    if not found:
        return np.zeros(0, np.int64)
    labels = np.unique(np.concatenate(found))
    return (labels[labels > 0] - 1).astype(np.int64)


def _moved_stroke(
    source: Frame,
    stroke: tuple[Point, ...],
    exact: np.ndarray,
    target: Frame,
    corr: Correspondence,
    whole: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[tuple[Point, ...], np.ndarray] | None:
    """``stroke`` (lying at ``exact``) moved to where its regions went on
    ``target`` (``whole``: of the regions beside it, all those of the
    region they make without the lines carried), its ends put on the
    nearest lines there: in whole px, and to a fraction of one; None when
    its regions have no match."""
    parted = beside(source.regions.labels, [stroke])
    if whole is not None:
        parted = whole(parted)
    box = _boxes(source, parted, target, corr)
    if box is None:
        return None
    return placed_on_lines(
        _mapped(np.asarray(exact, np.float64), *box), target.lineart.line
    )


def placed_on_lines(
    points: np.ndarray, line: np.ndarray
) -> tuple[tuple[Point, ...], np.ndarray] | None:
    """A stroke moved to ``points`` (float [N x 2]) on a frame whose line
    mask is ``line``: in the frame, each end off a line put on the nearest
    one (within `END_REACH` of its length, at least `MIN_REACH` px), in
    whole px and to a fraction of one; None when it shrinks to a point."""
    height, width = line.shape
    points = points.copy()
    points[:, 0] = np.clip(points[:, 0], 0, width - 1)
    points[:, 1] = np.clip(points[:, 1], 0, height - 1)
    whole = np.rint(points).astype(np.int64)
    length = float(np.hypot(*np.diff(whole, axis=0).T).sum())
    reach = max(MIN_REACH, END_REACH * length)
    for end in (0, -1):
        x, y = (int(v) for v in whole[end])
        if not line[y, x]:
            snapped = nearest_pixel(line, x, y, reach)
            if snapped is not None:
                whole[end] = snapped
                points[end] = snapped
    keep = np.ones(len(whole), bool)
    keep[1:] = np.any(whole[1:] != whole[:-1], axis=1)
    moved = tuple((int(x), int(y)) for x, y in whole[keep])
    return (moved, points[keep]) if len(moved) >= 2 else None


def _wholes(
    source: Frame, plain: Regions | None
) -> Callable[[np.ndarray], np.ndarray] | None:
    """For regions of ``source`` (segmented with the lines carried), every
    region of the region they lie in on ``plain`` (without them): two
    lines across one shape move with the shape, not each with the part of
    it beside it (mapped onto the whole shape on the next frame, which has
    no lines yet, the part's box drew each line toward the other, a little
    more each frame). None: ``plain`` not known."""
    if plain is None or plain.shape != source.regions.shape:
        return None
    within, _ = region_majority(
        source.regions, plain.under_line, plain.count + 1, valid=None
    )

    def whole(regions: np.ndarray) -> np.ndarray:
        shapes = np.unique(within[regions])
        shapes = shapes[shapes > 0]
        return np.union1d(regions, np.flatnonzero(np.isin(within, shapes)))

    return whole


def _moved_opening(
    source: Frame, at: Point, target: Frame, opened: Sequence[Point]
) -> Point | None:
    """An opening moved as the lines around it moved (the line art near
    it found again on ``target``): one the target has ``opened`` already
    near there, else the nearest automatic closure there (None: none
    near). Its region says little: an opened closure runs two together,
    often with the outside."""
    found = _found_again(source.lineart.line, at, target.lineart.line)
    if found is None:
        return None
    x, y = found
    if opened:
        points = np.array(opened, np.float64)
        distance = np.hypot(points[:, 0] - x, points[:, 1] - y)
        if distance.min() <= OPENING_REACH:
            return opened[int(np.argmin(distance))]
    return closure_near(target.regions.closures, x, y, OPENING_REACH)


def _found_again(line: np.ndarray, at: Point, other: np.ndarray) -> Point | None:
    """Where the line art around ``at`` lies in ``other`` (another frame's
    line mask): the patch around it matched within a window three times
    as wide. None: no line near it."""
    height, width = line.shape
    r = max(16, round(PATCH * max(height, width)))
    x, y = at
    px0, py0 = max(0, x - r), max(0, y - r)
    patch = line[py0 : y + r + 1, px0 : x + r + 1].astype(np.float32)
    if not patch.any():
        return None
    wx0, wy0 = max(0, x - 3 * r), max(0, y - 3 * r)
    window = other[wy0 : y + 3 * r + 1, wx0 : x + 3 * r + 1].astype(np.float32)
    if window.shape[0] < patch.shape[0] or window.shape[1] < patch.shape[1]:
        return None
    scores = cv2.matchTemplate(window, patch, cv2.TM_CCORR_NORMED)
    _, _, _, (bx, by) = cv2.minMaxLoc(scores)
    return wx0 + bx + (x - px0), wy0 + by + (y - py0)


def _boxes(
    source: Frame, regions: np.ndarray, target: Frame, corr: Correspondence
) -> tuple[np.ndarray, np.ndarray] | None:
    """The bounding box (x0, y0, x1, y1) of ``regions`` of the source, and
    where it lies on the target: the box of the target regions matched to
    them (each whose best match is one of them, else the one that most
    matches them), which follows squash and stretch; but where those are
    much larger or smaller (run together with a neighbour through a gap
    left open, or cut short), or there are none, the source box moved as
    the regions around it moved. None: nothing around them matched."""
    if not len(regions) or corr.n_target == 0:
        return None
    old = _box(source.regions, regions)
    best, _ = corr.best()
    matched = np.flatnonzero(np.isin(best, regions))
    if not len(matched):
        mass = corr.prob[:, regions].sum(axis=1)
        matched = np.flatnonzero(mass >= max(MATCHED, mass.max()))
    ratio = target.regions.table.area[matched].sum() / max(
        source.regions.table.area[regions].sum(), 1
    )
    if len(matched) and 1 / SAME_SIZE <= ratio <= SAME_SIZE:
        return old, _box(target.regions, matched)
    shift = _shift_around(source, regions, target, corr)
    return None if shift is None else (old, old + np.tile(shift, 2))


def _shift_around(
    source: Frame, regions: np.ndarray, target: Frame, corr: Correspondence
) -> np.ndarray | None:
    """(dx, dy): how ``regions`` of the source and their neighbours moved
    to the target, the median over those matched to a region of about
    their size (None: none is)."""
    edges = source.regions.graph.edges
    touching = np.isin(edges, regions).any(axis=1)
    around = np.union1d(regions, edges[touching].ravel())
    best, score = corr.best()
    pairs = np.flatnonzero(np.isin(best, around) & (score >= 0.5))
    if not len(pairs):
        return None
    origins = best[pairs]
    ratio = target.regions.table.area[pairs] / np.maximum(
        source.regions.table.area[origins], 1
    )
    alike = (ratio >= 1 / SAME_SIZE) & (ratio <= SAME_SIZE)
    if not alike.any():
        return None
    moved = (
        target.regions.table.centroid[pairs[alike]]
        - source.regions.table.centroid[origins[alike]]
    )
    return np.median(moved, axis=0).astype(np.float64)


def _box(regions: Regions, which: np.ndarray) -> np.ndarray:
    boxes = regions.table.bbox[which].astype(np.float64)
    return np.array(
        [boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()]
    )


def _mapped(points: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Points in box ``old`` to the same place in box ``new``."""
    scale = (new[2:] - new[:2]) / np.maximum(old[2:] - old[:2], 1.0)
    return new[:2] + (points - old[:2]) * scale


def _same_stroke(
    lines: ClosingLines, stroke: tuple[Point, ...]
) -> tuple[Point, ...] | None:
    """A line of ``lines`` lying along ``stroke`` (within `SAME_LINE_PX`
    on average, both ways), if any."""
    mine = _dense(stroke)
    for other in lines.strokes:
        theirs = _dense(other)
        gaps = np.hypot(*(mine[:, None, :] - theirs[None, :, :]).transpose(2, 0, 1))
        if max(gaps.min(axis=1).mean(), gaps.min(axis=0).mean()) <= SAME_LINE_PX:
            return other
    return None


def _dense(stroke: Sequence[Point], step: float = 2.0) -> np.ndarray:
    """Points every ``step`` px along a polyline."""
    points = np.array(stroke, np.float64)
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        t = np.linspace(0, 1, n + 1)[1:, None]
        out.append(a + (b - a) * t)
    return np.concatenate(out)
