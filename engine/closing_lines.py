"""Closing lines drawn by hand: a frame's gaps closed (or opened) where the
automatic gap closing does not.

The automatic closing (`engine.gaps`) bridges gaps from line ends. It
misses a gap wider than its setting, one between two lines that never end
(a sleeve drawn short of a wrist), and a boundary never inked (a shadow
shape the animator wants painted apart); now and then it bridges one that
should stay open, cutting a region in two. Ink-and-paint tools answer with
invisible lines drawn by hand (Toon Boom Harmony's Close Gap tool, RETAS'
closing lines): they split regions like lines, are never painted into any
output, and belong to one frame.

A frame's `ClosingLines` are strokes (polylines in frame px, drawn 1 px
wide and 8-connected, so no 4-connected region leaks across them), and
openings: points where the automatic closures that pass within
`OPENING_REACH` px are dropped. Both are kept with the project, not the
shot folder: the shot on disk stays the studio's (shot-format.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.errors import CadmiumError
from engine.gaps import Closures

Point = tuple[int, int]

# No frame is wider or taller than this (px): what a project file may name.
MAX_SIDE = 1 << 16
# An opening drops the automatic closures that pass this close to it (px).
OPENING_REACH = 3
# Freehand strokes are simplified to within this many px of the pointer's
# path: the mouse reports a point every few px, and a closing line needs
# its shape, not each jitter.
SIMPLIFY_PX = 0.75


@dataclass(frozen=True)
class ClosingLines:
    """One frame's closing lines (see the module's docstring)."""

    strokes: tuple[tuple[Point, ...], ...] = ()
    openings: tuple[Point, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.strokes or self.openings)

    def adding(self, stroke: Sequence[Point]) -> ClosingLines:
        points = tuple((int(x), int(y)) for x, y in stroke)
        return ClosingLines((*self.strokes, points), self.openings)

    def opening(self, at: Point) -> ClosingLines:
        return ClosingLines(self.strokes, (*self.openings, (int(at[0]), int(at[1]))))

    def without_stroke(self, stroke: tuple[Point, ...]) -> ClosingLines | None:
        """These lines less ``stroke`` (None: it is not one of them)."""
        if stroke not in self.strokes:
            return None
        strokes = tuple(s for s in self.strokes if s != stroke)
        return ClosingLines(strokes, self.openings)

    def without_opening(self, at: Point) -> ClosingLines | None:
        """These lines less the opening ``at`` (None: it is not one)."""
        if at not in self.openings:
            return None
        return ClosingLines(self.strokes, tuple(o for o in self.openings if o != at))

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """bool [H x W]: the strokes' pixels."""
        canvas = np.zeros(shape, np.uint8)
        for stroke in self.strokes:
            points = np.array(stroke, np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [points], False, 1, 1, cv2.LINE_8)
        return canvas.astype(bool)

    def stroke_near(self, x: float, y: float, reach: float) -> int | None:
        """The stroke passing nearest (x, y), within ``reach`` px (the last
        drawn, of two as near)."""
        best, nearest = reach, None
        for index, stroke in enumerate(self.strokes):
            distance = _distance_to_polyline(np.array(stroke, np.float64), x, y)
            if distance <= best:
                best, nearest = distance, index
        return nearest

    def opening_near(self, x: float, y: float, reach: float) -> int | None:
        """The opening nearest (x, y), within ``reach`` px."""
        if not self.openings:
            return None
        points = np.array(self.openings, np.float64)
        distance = np.hypot(points[:, 0] - x, points[:, 1] - y)
        index = int(np.argmin(distance))
        return index if distance[index] <= reach else None

    # -- the project file
    def to_json(self) -> dict[str, Any]:
        """``{"strokes": [[x0, y0, x1, y1, ...], ...], "openings": [[x, y]]}``."""
        return {
            "strokes": [[v for xy in stroke for v in xy] for stroke in self.strokes],
            "openings": [list(point) for point in self.openings],
        }

    @staticmethod
    def from_json(value: object) -> ClosingLines:
        """Read `to_json`'s form; CadmiumError naming what is wrong (a
        project file edited by hand)."""
        if not isinstance(value, dict) or set(value) - {"strokes", "openings"}:
            raise CadmiumError("closing lines: not a list of strokes and openings")
        strokes = tuple(
            _points(flat, at_least=2) for flat in _list(value.get("strokes"))
        )
        openings = tuple(
            _points(flat, at_least=1)[0] for flat in _list(value.get("openings"))
        )
        return ClosingLines(strokes, openings)


def drawn_stroke(
    path: Iterable[tuple[float, float]], line: np.ndarray, reach: float
) -> tuple[Point, ...] | None:
    """A closing line from a pointer's path across a frame whose line mask
    is ``line``: in whole px, inside the frame, simplified, and each end
    not on a line carried on to the nearest line pixel within ``reach``
    px, so a stroke that stops short of a line still closes the gap. None
    for a path that is a click, not a stroke."""
    height, width = line.shape
    raw = np.array(list(path), np.float64).reshape(-1, 2)
    if not len(raw):
        return None
    points = np.rint(raw).astype(np.int32)
    points[:, 0] = np.clip(points[:, 0], 0, width - 1)
    points[:, 1] = np.clip(points[:, 1], 0, height - 1)
    keep = np.ones(len(points), bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    points = points[keep]
    if len(points) < 2:
        return None
    simple = cv2.approxPolyDP(points.reshape(-1, 1, 2), SIMPLIFY_PX, False)
    stroke = [(int(x), int(y)) for x, y in simple.reshape(-1, 2)]
    end = _nearest_line_pixel(line, stroke[-1], reach)
    if end is not None and end != stroke[-1]:
        stroke.append(end)
    start = _nearest_line_pixel(line, stroke[0], reach)
    if start is not None and start != stroke[0]:
        stroke.insert(0, start)
    return tuple(stroke)


def segment_near(segments: np.ndarray, x: float, y: float, reach: float) -> int | None:
    """The segment of ``segments`` [K x 4] (x0, y0, x1, y1) passing nearest
    (x, y), within ``reach`` px: the automatic closure clicked."""
    distance = _distances_to_segments(segments, x, y)
    if not len(distance) or distance.min() > reach:
        return None
    return int(np.argmin(distance))


def closure_near(closures: Closures, x: float, y: float, reach: float) -> Point | None:
    """Where to open the automatic closure clicked at (x, y), within
    ``reach`` px: the middle of the nearest closure segment, else the
    nearest closure pixel (thick lines close the narrowest gaps whole,
    with no segment: `engine.gaps.narrow_gaps`); None when none is near."""
    segment = segment_near(closures.segments, x, y, reach)
    if segment is not None:
        x0, y0, x1, y1 = (int(v) for v in closures.segments[segment])
        return (x0 + x1) // 2, (y0 + y1) // 2
    return nearest_pixel(closures.mask, x, y, reach)


def opened_closures(
    segments: np.ndarray, mask: np.ndarray, openings: Sequence[Point]
) -> tuple[np.ndarray, np.ndarray]:
    """Automatic closures (``segments`` [K x 4], their pixels ``mask``) less
    those within `OPENING_REACH` of an opening: the segments kept, and the
    mask less every closure piece (8-connected) that comes that near."""
    if not openings or (not len(segments) and not mask.any()):
        return segments, mask
    kept = np.ones(len(segments), bool)
    for x, y in openings:
        kept &= _distances_to_segments(segments, x, y) > OPENING_REACH
    count, pieces = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    if count <= 1:
        return segments[kept], mask
    dropped = np.zeros(count, bool)
    height, width = mask.shape
    for x, y in openings:
        x0, x1 = max(0, x - OPENING_REACH), min(width, x + OPENING_REACH + 1)
        y0, y1 = max(0, y - OPENING_REACH), min(height, y + OPENING_REACH + 1)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        within = np.hypot(xs - x, ys - y) <= OPENING_REACH
        dropped[pieces[y0:y1, x0:x1][within]] = True
    dropped[0] = False
    return segments[kept], mask & ~dropped[pieces]


def _nearest_line_pixel(line: np.ndarray, point: Point, reach: float) -> Point | None:
    """The line pixel nearest ``point`` within ``reach`` (None: none, or the
    point is on a line)."""
    x, y = point
    return None if line[y, x] else nearest_pixel(line, x, y, reach)


def nearest_pixel(mask: np.ndarray, x: float, y: float, reach: float) -> Point | None:
    """The pixel of ``mask`` nearest (x, y) within ``reach`` px."""
    r = int(np.ceil(reach))
    cx, cy = round(x), round(y)
    height, width = mask.shape
    x0, x1 = max(0, cx - r), min(width, cx + r + 1)
    y0, y1 = max(0, cy - r), min(height, cy + r + 1)
    ys, xs = np.nonzero(mask[y0:y1, x0:x1])
    if not len(xs):
        return None
    distance = np.hypot(xs + x0 - x, ys + y0 - y)
    best = int(np.argmin(distance))
    if distance[best] > reach:
        return None
    return int(xs[best] + x0), int(ys[best] + y0)


def _distance_to_polyline(points: np.ndarray, x: float, y: float) -> float:
    """Distance from (x, y) to a polyline [N x 2] (a point when N is 1)."""
    if len(points) == 1:
        return float(np.hypot(points[0, 0] - x, points[0, 1] - y))
    segments = np.concatenate([points[:-1], points[1:]], axis=1)
    return float(_distances_to_segments(segments, x, y).min())


def _distances_to_segments(segments: np.ndarray, x: float, y: float) -> np.ndarray:
    """Distance from (x, y) to each segment of [K x 4] (x0, y0, x1, y1)."""
    a = np.asarray(segments, np.float64)[:, :2]
    ab = np.asarray(segments, np.float64)[:, 2:] - a
    length2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / length2, 0, 1)
    nearest = a + ab * t[:, None]
    return np.hypot(nearest[:, 0] - x, nearest[:, 1] - y)


def _list(value: object) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CadmiumError("closing lines: strokes and openings must be lists")
    return value


def _points(flat: object, *, at_least: int) -> tuple[Point, ...]:
    if (
        not isinstance(flat, list)
        or len(flat) % 2
        or len(flat) < 2 * at_least
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in flat)
    ):
        raise CadmiumError(
            f"closing lines: {str(flat)[:40]} is not a list of whole-px x, y pairs"
        )
    points = tuple(zip(flat[0::2], flat[1::2], strict=True))
    if any(not (0 <= v < MAX_SIDE) for v in flat):
        raise CadmiumError(f"closing lines: a point lies outside any frame ({flat})")
    return points
