"""A frame's closing lines following its drawing when it is redrawn.

Clean-up redraws frames while they are painted: a line tightened, a part
nudged, a scan registered again. A closing line left where it was then
stops a px or two short of the new lines (a 2 px nudge of a sample frame
is enough) and parts nothing: the shadow shape it made runs into the
skin, and both take one colour. Fills follow a redraw by position
(`engine.carry`); closing lines follow it here, before the fills do.

Each line moves as the lines around it moved: the region boundaries
around it on the segmentation the frame was last seen with (its
`Numbering`, kept with the project, so this works on a project opened
after the redraw, with no old drawing at hand) are found again on the new
drawing's (template match, near where the drawing as a whole moved), and
its ends are put back on the nearest line. Openings move likewise, onto
the automatic closure there. A line that parts no region after it moved,
where it parted one before, is counted: the animator draws it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.carry import drawing_shift, region_edges
from engine.closing_carry import PATCH, beside, placed_on_lines
from engine.closing_lines import OPENING_REACH, ClosingLines, Point, closure_near
from engine.matching import Frame
from engine.regions import Numbering

# Boundaries around a line are matched this many px (at least) beyond its
# box, and looked for this far from where the drawing as a whole moved to.
MIN_MARGIN = 16
# Below this match score the boundaries around a line are not found again
# (redrawn past recognition there): it moves with the drawing as a whole.
FOUND = 0.4
# Matches within this share of the best are as good (see `_offset`).
TIE = 0.03
# A carried opening takes the automatic closure this near where the lines
# around it are found again (px).
OPENING_SNAP = 3 * OPENING_REACH

Stroke = tuple[Point, ...]


@dataclass(frozen=True)
class LineMoves:
    """Where strokes and openings went when a frame was redrawn (those not
    named stayed)."""

    strokes: Mapping[Stroke, Stroke] = field(default_factory=dict)
    openings: Mapping[Point, Point] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(a != b for a, b in self.strokes.items()) or any(
            a != b for a, b in self.openings.items()
        )

    def apply(self, lines: ClosingLines) -> ClosingLines:
        """``lines`` with each stroke and opening where it went."""
        strokes = tuple(self.strokes.get(s, s) for s in lines.strokes)
        openings = tuple(self.openings.get(o, o) for o in lines.openings)
        return ClosingLines(strokes, tuple(dict.fromkeys(openings)))

    def then(self, later: LineMoves) -> LineMoves:
        """These moves followed by ``later``'s (a second redraw)."""
        strokes = {a: later.strokes.get(b, b) for a, b in self.strokes.items()}
        openings = {a: later.openings.get(b, b) for a, b in self.openings.items()}
        return LineMoves({**later.strokes, **strokes}, {**later.openings, **openings})


@dataclass(frozen=True)
class Followed:
    """A redrawn frame's closing lines where they went (``lines``), the
    frame segmented with them (``frame``), how each moved (``moves``, of
    its history's lines too) and how many of its strokes parted a region
    before and part none now (``unparted``)."""

    lines: ClosingLines
    frame: Frame
    moves: LineMoves
    unparted: int


@dataclass(frozen=True)
class Redraw:
    """What a frame's closing lines need to follow its drawing: the
    segmentation they were last seen on (``seen``: the old drawing, with
    them), the lines now, and every other stroke and opening the frame's
    history may put back (``kept``), which move with them."""

    seen: Numbering
    lines: ClosingLines
    kept: ClosingLines = field(default_factory=ClosingLines)

    def follow(
        self, frame: Frame, analyse: Callable[[ClosingLines], Frame]
    ) -> Followed | None:
        """The lines on ``frame`` (the frame analysed with them where they
        were: its drawing now); ``analyse`` segments it with other lines.
        None when it was not redrawn (the same segmentation), nothing
        moved, or the segmentation seen cannot be read (damaged) or is of
        another size."""
        if frame.regions.layout == self.seen.layout:
            return None
        old = self.seen.under_line()
        if old is None or old.shape != frame.regions.shape:
            return None
        strokes = tuple(dict.fromkeys((*self.lines.strokes, *self.kept.strokes)))
        openings = tuple(dict.fromkeys((*self.lines.openings, *self.kept.openings)))
        plain = analyse(ClosingLines()) if openings else frame
        moves = line_moves(old, frame, plain, strokes, openings, self.lines)
        if not moves:
            return None
        lines = moves.apply(self.lines)
        after = analyse(lines) if lines != self.lines else frame
        unparted = sum(
            _parts(old, before) and not _parts(after.regions.labels, now)
            for before, now in zip(self.lines.strokes, lines.strokes, strict=True)
        )
        return Followed(lines, after, moves, unparted)


def line_moves(
    old: np.ndarray,
    frame: Frame,
    plain: Frame,
    strokes: Iterable[Stroke],
    openings: Iterable[Point],
    drawn: ClosingLines,
) -> LineMoves:
    """Where ``strokes`` and ``openings`` go from the old drawing (its
    under-line map ``old``) to ``frame``'s, as the region boundaries
    around each moved (``drawn``: the lines both segmentations were made
    with, left out of the boundaries); openings go onto the automatic
    closures of ``plain`` (the new drawing with no lines of the animator)."""
    height, width = old.shape
    margin = max(MIN_MARGIN, round(PATCH * max(height, width)))
    # The old drawing is known by its region boundaries alone (less those
    # of the closing lines); the new one by its ink, dangling lines too.
    hidden = _line_mask(drawn, old.shape)
    before = _soft(np.where(hidden, 0.0, region_edges(old)))
    now = _soft(frame.lineart.line)
    shift = np.array(drawing_shift(old, frame.regions.under_line), np.float64)
    line = frame.lineart.line
    moved_strokes: dict[Stroke, Stroke] = {}
    for stroke in strokes:
        points = np.array(stroke, np.float64)
        offset = _offset(before, now, points, margin, shift)
        placed = placed_on_lines(points + offset, line)
        if placed is not None:
            moved_strokes[stroke] = placed[0]
    moved_openings: dict[Point, Point] = {}
    for at in openings:
        point = np.array([at], np.float64)
        x, y = point[0] + _offset(before, now, point, margin, shift)
        found = closure_near(plain.regions.closures, x, y, OPENING_SNAP)
        if found is not None:
            moved_openings[at] = found
    return LineMoves(moved_strokes, moved_openings)


def _offset(
    before: np.ndarray,
    now: np.ndarray,
    points: np.ndarray,
    margin: int,
    shift: np.ndarray,
) -> np.ndarray:
    """(dx, dy): how the boundaries around ``points`` moved from ``before``
    to ``now``: found within ``margin`` px of ``shift`` (the drawing's move
    as a whole) or of where they were, whichever matches better; where
    both match as well, at two places, where they were (a drawing of two
    alike parts may seem to have moved from one to the other). ``shift``
    where they are found near neither."""
    height, width = before.shape
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + margin + 1
    box = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    moved = _match_near(before, now, box, margin, shift)
    if not shift.any():
        return shift if moved is None else moved[1]
    stayed = _match_near(before, now, box, margin, np.zeros(2))
    if stayed is None or moved is None:
        found = moved or stayed
        return shift if found is None else found[1]
    if np.abs(moved[1] - stayed[1]).max() <= 1:
        return moved[1]  # one place, half a px either way: see _match_near
    return stayed[1] if stayed[0] >= moved[0] * (1 - TIE) else moved[1]


def _match_near(
    before: np.ndarray,
    now: np.ndarray,
    box: tuple[int, int, int, int],
    margin: int,
    centre: np.ndarray,
) -> tuple[float, np.ndarray] | None:
    """(score, offset): where ``box`` of ``before`` is found in ``now``,
    within ``margin`` px of ``centre`` (an offset); None: not found."""
    height, width = before.shape
    x0, y0, x1, y1 = box
    patch = before[y0:y1, x0:x1]
    dx, dy = (int(v) for v in centre)
    wx0, wy0 = max(x0 + dx - margin, 0), max(y0 + dy - margin, 0)
    wx1 = max(min(x1 + dx + margin, width), wx0)  # past an edge: empty
    wy1 = max(min(y1 + dy + margin, height), wy0)
    window = now[wy0:wy1, wx0:wx1]
    fits = window.shape[0] >= patch.shape[0] and window.shape[1] >= patch.shape[1]
    if not fits or not patch.any() or not window.any():
        return None
    scores = cv2.matchTemplate(window, patch, cv2.TM_CCORR_NORMED)
    best = float(scores.max())
    if best < FOUND:
        return None
    # Boundaries split a line of odd width unevenly (half a px off its
    # middle, where the ink is matched): of the places that match as well,
    # the nearest to the centre.
    ys, xs = np.nonzero(scores >= best * (1 - TIE))
    offsets = np.stack([wx0 + xs - x0, wy0 + ys - y0], axis=1).astype(np.float64)
    nearest = np.argmin(np.hypot(*(offsets - centre).T))
    return best, offsets[nearest]


def _parts(labels: np.ndarray, stroke: Stroke) -> bool:
    """Whether ``stroke`` has two regions beside it (of a segmentation made
    with it: ``labels``)."""
    return len(beside(labels, [stroke])) > 1


def _line_mask(lines: ClosingLines, shape: tuple[int, int]) -> np.ndarray:
    """The pixels of ``lines``' strokes and a few px round them."""
    mask = lines.mask(shape).astype(np.uint8)
    return cv2.dilate(mask, np.ones((7, 7), np.uint8)).astype(bool)


def _soft(edges: np.ndarray) -> np.ndarray:
    """Boundaries blurred a little: a line redrawn a px off still matches."""
    return cv2.GaussianBlur(edges.astype(np.float32), (0, 0), 1.5)
