"""Closing lines in between two keys that both have them.

A shadow shape is drawn on both keys, often not in the same place (it
grows, it slides as the figure turns). Carried from one key alone, each
in-between has that key's line; carried from both, each had two lines a
few px apart, and a sliver region between them. An in-betweener draws one
line, placed between the two keys' by timing: so here each line carried
from the first key is paired with the line carried back from the second
that parts the same region of the in-between, and put between the two,
nearer the nearer key (frame 3 of keys 1 and 11 is a fifth of the way).
A line with no partner on the other key goes as carried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.closing_carry import (
    Adding,
    CarriedFrame,
    CarriedLines,
    beside,
    placed_on_lines,
)
from engine.closing_lines import ClosingLines, Point
from engine.matching import Frame
from engine.regions import Regions

Stroke = tuple[Point, ...]


def blend_carried(
    forward: CarriedFrame,
    back: CarriedFrame | None,
    share: float,
    *,
    analyse: Callable[[int, ClosingLines], Frame],
    segment: Callable[[Frame, ClosingLines], Regions],
) -> tuple[CarriedFrame, int]:
    """A frame's lines carried from the key before (``forward``) put in
    between with those carried back from the key after (``back``; None:
    none came), ``share`` of the way to it (0: at the first key's, 1: at
    the second's); and how many were. ``analyse`` and ``segment``: as
    `engine.closing_carry.carry_through`'s."""
    if back is None:
        return forward, 0
    before, drawn = forward.before, forward.before_lines
    strokes = list(zip(forward.lines.strokes, forward.lines.exact, strict=True))
    carried = {
        index: stroke
        for index, (stroke, _) in enumerate(strokes)
        if stroke is not None and stroke not in drawn.strokes
    }
    partners = _pairs(before, carried, _carried(back))
    adding = Adding(drawn, before.regions.count, lambda lines: segment(before, lines))
    blended = 0
    for index, (stroke, exact) in enumerate(strokes):
        if stroke is None or exact is None:
            adding.add(None)
            continue
        partner = partners.get(index)
        if partner is not None:
            placed = placed_on_lines(
                _between(exact, partner, share), before.lineart.line
            )
            if placed is not None and adding.tried(placed):
                blended += 1
                continue
        # No partner, or put in between it parts nothing (the two lie apart
        # in one large region): as carried.
        adding.add((stroke, exact))
    lines = adding.lines
    for at in forward.lines.lines.openings:
        if at not in lines.openings:
            lines = lines.opening(at)
    after = (
        analyse(forward.number, lines)
        if lines != forward.lines.lines
        else forward.after
    )
    carried = CarriedLines(
        lines, tuple(adding.strokes), forward.lines.openings, tuple(adding.exact)
    )
    return CarriedFrame(forward.number, before, drawn, after, carried), blended


def _carried(done: CarriedFrame) -> list[tuple[Stroke, np.ndarray]]:
    """The strokes carried to a frame (not those it had), in whole px and
    to a fraction of one."""
    own = set(done.before_lines.strokes)
    return [
        (stroke, exact)
        for stroke, exact in zip(done.lines.strokes, done.lines.exact, strict=True)
        if stroke is not None and exact is not None and stroke not in own
    ]


def _pairs(
    frame: Frame,
    strokes: dict[int, Stroke],
    candidates: Sequence[tuple[Stroke, np.ndarray]],
) -> dict[int, np.ndarray]:
    """Per stroke (by index), the candidate that is the same line (where it
    lies, to a fraction of a px): one that parts a region the stroke parts
    on ``frame`` (segmented without either) and lies no further from it
    than the longer of the two is long; each candidate to one stroke at
    most, the pairs as near as can be in all (two lines across one shape
    keep their order: the nearest pairs first could cross them)."""
    labels = frame.regions.labels
    theirs = [(set(beside(labels, [c]).tolist()), exact) for c, exact in candidates]
    indices = list(strokes)
    cost = np.full((len(indices), len(candidates)), np.inf)
    for row, index in enumerate(indices):
        mine = set(beside(labels, [strokes[index]]).tolist())
        here = np.array(strokes[index], np.float64)
        for column, (sides, there) in enumerate(theirs):
            distance = float(np.hypot(*(here.mean(axis=0) - there.mean(axis=0))))
            if mine & sides and distance <= max(_length(here), _length(there)):
                cost[row, column] = distance
    eligible = np.isfinite(cost)
    if not eligible.any():
        return {}
    rows, columns = linear_sum_assignment(np.where(eligible, cost, 1e12))
    return {
        indices[row]: theirs[column][1]
        for row, column in zip(rows, columns, strict=True)
        if eligible[row, column]
    }


def _length(points: np.ndarray) -> float:
    return float(np.hypot(*np.diff(points, axis=0).T).sum())


def _between(first: np.ndarray, second: np.ndarray, share: float) -> np.ndarray:
    """A polyline ``share`` of the way from ``first`` to ``second``: each
    point of either, by its share of the length, with the point as far
    along the other (so both shapes are kept at their ends of the way)."""
    ends = np.hypot(*(second[0] - first[0])) + np.hypot(*(second[-1] - first[-1]))
    crossed = np.hypot(*(second[0] - first[-1])) + np.hypot(*(second[-1] - first[0]))
    if crossed < ends:
        second = second[::-1]  # drawn the other way
    at = np.union1d(_along(first), _along(second))
    return (1 - share) * _at(first, at) + share * _at(second, at)


def _along(points: np.ndarray) -> np.ndarray:
    """Each point's share of the polyline's length from its start."""
    steps = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    return steps / steps[-1] if steps[-1] > 0 else np.zeros(len(points))


def _at(points: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The points these shares of the polyline's length along it."""
    along = _along(points)
    return np.stack(
        [
            np.interp(shares, along, points[:, 0]),
            np.interp(shares, along, points[:, 1]),
        ],
        axis=1,
    )
