"""A frame's closing lines following its drawing when it is redrawn.

Clean-up redraws frames while they are painted: a line tightened, a part
nudged, a scan registered again. A closing line left where it was then
stops a px or two short of the new lines (a 2 px nudge of a sample frame
is enough) and parts nothing: the shadow shape it made runs into the
skin, and both take one colour. Fills follow a redraw by position
(`engine.carry`); closing lines follow it here, before the fills do.

Each line moves as the lines around it moved: the region boundaries
around it on the segmentation of the drawing it was placed on (its
`Placement`, kept with the project and each undo step, so this works on a
project opened after the redraw, with no old drawing at hand) are found
again in the new drawing's ink (template match, near where the drawing as
a whole went, the patch grown until it holds lines across both axes), and
its ends are put back on the nearest line (a line that parted a region; one
the animator left short of the lines is only moved). Openings move likewise, onto
the automatic closure there. Whether a frame was redrawn is known by its
ink (`ink_digest`), not by its segmentation: another gap, or fills carried
meanwhile, move nothing. A line that parts no region after it moved,
where it parted one before, is counted: the animator draws it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engine.carry import drawing_shift, edges_by_axis
from engine.closing_carry import PATCH, beside, placed_on_lines
from engine.closing_lines import OPENING_REACH, ClosingLines, Point, closure_near
from engine.lineart import LineArt
from engine.matching import Frame
from engine.regions import Numbering

# Boundaries around a line are matched from this many px (at least) beyond
# its box, and looked for this far from where they were, or from where the
# drawing as a whole moved to.
MIN_MARGIN = 16
# The patch matched grows (doubling) until it holds at least this many px
# of boundary across each axis: a line in the middle of a wide region sees
# only the region's top and bottom at first, which say nothing of how far
# it moved sideways.
MIN_EDGE = 12
# Below this match score the boundaries around a line are not found again
# (redrawn past recognition there): it moves with the drawing as a whole.
FOUND = 0.4
# Matches within this share of the best are as good (see `_Finder.offset`).
TIE = 0.03
# The old boundaries' neighbourhood, where a match is weighed: where they
# are, blurred, above this share of their most.
SUPPORT = 0.02
# A carried opening takes the automatic closure this near where the lines
# around it are found again (px).
OPENING_SNAP = 3 * OPENING_REACH

Stroke = tuple[Point, ...]


def ink_digest(lineart: LineArt) -> str:
    """A name for a drawing: the same for the same ink, another for any
    change to it (a few ms at 4K)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{lineart.line.shape}".encode())
    h.update(np.packbits(lineart.line).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Placement:
    """The drawing a frame's closing lines were placed on: its ink
    (`ink_digest`), and its segmentation with them."""

    drawing: str
    numbering: Numbering

    @staticmethod
    def of(frame: Frame) -> Placement:
        """Where lines a frame was analysed with lie (``frame``: that analysis)."""
        return Placement(ink_digest(frame.lineart), frame.regions.numbering)


@dataclass(frozen=True)
class Followed:
    """A redrawn frame's closing lines where they went (``lines``: its
    own when none moved), the frame segmented with them (``frame``) and
    their placement there (``placed``), and how many of its strokes parted
    a region before and part none now (``unparted``)."""

    lines: ClosingLines
    frame: Frame
    placed: Placement
    unparted: int


@dataclass(frozen=True)
class Redraw:
    """What a frame's closing lines need to follow its drawing: the lines,
    and the drawing they were placed on."""

    lines: ClosingLines
    placed: Placement

    def follow(
        self, frame: Frame, analyse: Callable[[ClosingLines], Frame]
    ) -> Followed | None:
        """The lines on ``frame`` (the frame analysed with them where they
        were: its drawing now); ``analyse`` segments it with other lines.
        None when it is the drawing they were placed on, or the
        segmentation kept of that cannot be read (damaged) or is of
        another size."""
        drawing = ink_digest(frame.lineart)
        if drawing == self.placed.drawing:
            return None
        old = self.placed.numbering.under_line()
        if old is None or old.shape != frame.regions.shape:
            return None
        parted = [_parts(old, stroke) for stroke in self.lines.strokes]
        plain = analyse(ClosingLines()) if self.lines.openings else frame
        lines = line_moves(old, frame, plain, self.lines, parted)
        after = analyse(lines) if lines != self.lines else frame
        unparted = sum(
            did and not _parts(after.regions.labels, now)
            for did, now in zip(parted, lines.strokes, strict=True)
        )
        placed = Placement(drawing, after.regions.numbering)  # the same ink
        return Followed(lines, after, placed, unparted)


def line_moves(
    old: np.ndarray,
    frame: Frame,
    plain: Frame,
    lines: ClosingLines,
    parted: Sequence[bool],
) -> ClosingLines:
    """``lines`` moved from the old drawing (its under-line map ``old``,
    segmented with them) to ``frame``'s (analysed with them where they
    were), as the region boundaries around each moved; openings go onto
    the automatic closures of ``plain`` (the new drawing with no lines of
    the animator). ``parted``: per stroke, whether it parted a region
    there (drawn from line to line: its ends go back onto the lines; else
    it is only moved). A stroke or opening not placed stays."""
    height, width = old.shape
    reach = max(MIN_MARGIN, round(PATCH * max(height, width)))
    # The old drawing is known by its region boundaries alone (less those
    # of the closing lines); the new one by its ink, dangling lines too.
    hidden = _line_mask(lines, old.shape)
    across, down = (np.where(hidden, 0.0, e) for e in edges_by_axis(old))
    before = _soft(across + down)
    now = _soft(frame.lineart.line)
    shift = np.array(drawing_shift(old, frame.regions.under_line), np.float64)
    line = frame.lineart.line
    found = _Finder(before, now, across > 0, down > 0, reach, shift)
    strokes: list[Stroke] = []
    for stroke, from_line_to_line in zip(lines.strokes, parted, strict=True):
        points = np.array(stroke, np.float64)
        points += found.offset(points)
        if from_line_to_line:
            placed = placed_on_lines(points, line)
            strokes.append(stroke if placed is None else placed[0])
        else:
            strokes.append(_clipped(points, old.shape))
    openings: list[Point] = []
    for at in lines.openings:
        point = np.array([at], np.float64)
        x, y = point[0] + found.offset(point)
        moved = closure_near(plain.regions.closures, x, y, OPENING_SNAP)
        openings.append(at if moved is None else moved)
    return ClosingLines(tuple(strokes), tuple(dict.fromkeys(openings)))


class _Finder:
    """Where the boundaries around points went (see `line_moves`)."""

    def __init__(
        self,
        before: np.ndarray,
        now: np.ndarray,
        across: np.ndarray,
        down: np.ndarray,
        reach: int,
        shift: np.ndarray,
    ) -> None:
        self.before, self.reach, self.shift = before, reach, shift
        # Padded, so a patch as wide as the frame still slides `reach` px.
        self.now = cv2.copyMakeBorder(
            now, reach, reach, reach, reach, cv2.BORDER_CONSTANT, value=0
        )
        # Summed tables of boundary px across each axis, to grow a patch
        # until it holds both at once.
        self.across = cv2.integral(across.astype(np.uint8))
        self.down = cv2.integral(down.astype(np.uint8))

    def offset(self, points: np.ndarray) -> np.ndarray:
        """(dx, dy): how the boundaries around ``points`` moved: found
        within `reach` px of the drawing's own move or of where they were,
        whichever matches better; where both match as well, at two places,
        where they were (a drawing of two alike parts may seem to have
        moved from one to the other). The drawing's move where they are
        found near neither."""
        box, shift = self._patch(points), self.shift
        moved = self._match_near(box, shift)
        if not shift.any():
            return shift if moved is None else moved[1]
        stayed = self._match_near(box, np.zeros(2))
        if stayed is None or moved is None:
            found = moved or stayed
            return shift if found is None else found[1]
        if (np.abs(stayed[2] - moved[1]).max(axis=1) <= 1).any():
            # One place, matched as well over a few px (a line of odd width,
            # a thick one: see _match_near): where the drawing went.
            return moved[1]
        return stayed[1] if stayed[0] >= moved[0] * (1 - TIE) else moved[1]

    def _patch(self, points: np.ndarray) -> tuple[int, int, int, int]:
        """The box around ``points`` matched: `reach` px beyond them, grown
        until it holds `MIN_EDGE` px of boundary across each axis (or is
        the whole frame)."""
        height, width = self.before.shape
        margin = self.reach
        while True:
            x0, y0 = np.floor(points.min(axis=0)).astype(int) - margin
            x1, y1 = np.ceil(points.max(axis=0)).astype(int) + margin + 1
            box = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
            whole = box == (0, 0, width, height)
            if whole or min(_sum(self.across, box), _sum(self.down, box)) >= MIN_EDGE:
                return box
            margin *= 2

    def _match_near(
        self, box: tuple[int, int, int, int], centre: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(score, offset, ties): where ``box`` of the old boundaries is
        found in the new ink, within `reach` px of ``centre`` (an offset),
        and every offset that matches as well [K x 2]; None: not found."""
        x0, y0, x1, y1 = box
        patch = self.before[y0:y1, x0:x1]
        if not patch.any():
            return None
        # The window, in the padded ink: the patch moved by ``centre``,
        # `reach` px more each way.
        dx, dy = (int(v) for v in centre)
        height, width = self.now.shape
        wx0, wy0 = max(x0 + dx, 0), max(y0 + dy, 0)
        wx1 = max(min(x1 + dx + 2 * self.reach, width), wx0)  # past an edge: empty
        wy1 = max(min(y1 + dy + 2 * self.reach, height), wy0)
        window = self.now[wy0:wy1, wx0:wx1]
        fits = window.shape[0] >= patch.shape[0] and window.shape[1] >= patch.shape[1]
        if not fits or not window.any():
            return None
        # Normalised over the old boundaries' own neighbourhood: ink the old
        # drawing's regions do not show (a line that ends in a region,
        # parting nothing) weighs nothing, rather than driving the match to
        # where it is out of sight.
        support = (patch > SUPPORT * float(patch.max())).astype(np.float32)
        scores = cv2.matchTemplate(window, patch, cv2.TM_CCORR_NORMED, mask=support)
        scores = np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)
        best = float(scores.max())
        if best < FOUND:
            return None
        # Boundaries split a line of odd width unevenly (half a px off its
        # middle, where the ink is matched), and lie anywhere in a thick
        # line's ink: of the places that match as well, the nearest to the
        # centre.
        ys, xs = np.nonzero(scores >= best * (1 - TIE))
        offsets = np.stack(
            [wx0 - self.reach + xs - x0, wy0 - self.reach + ys - y0], axis=1
        ).astype(np.float64)
        nearest = np.argmin(np.hypot(*(offsets - centre).T))
        return best, offsets[nearest], offsets


def _sum(table: np.ndarray, box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    return int(table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0])


def _clipped(points: np.ndarray, shape: tuple[int, int]) -> Stroke:
    """A stroke's points, rounded, in a frame of ``shape``."""
    height, width = shape
    whole = np.rint(points).astype(np.int64)
    whole[:, 0] = np.clip(whole[:, 0], 0, width - 1)
    whole[:, 1] = np.clip(whole[:, 1], 0, height - 1)
    return tuple((int(x), int(y)) for x, y in whole)


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
