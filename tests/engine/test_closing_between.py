"""Closing lines carried between two keys that both have them: one line
per in-between, placed between the keys' by timing."""

from __future__ import annotations

import numpy as np
from test_closing_carry import analyser, box, drawing, shadow_line

from engine.closing_between import blend_carried
from engine.closing_carry import CarriedFrame, carry_through
from engine.closing_lines import ClosingLines
from engine.fills import FillMap
from engine.matching import AssignmentMatcher


def chain(
    images, key: int, shares: tuple[float, ...], frames: list[int]
) -> dict[int, CarriedFrame]:
    """Key's shadow lines at these shares of the box's height, carried."""
    analyse = analyser(images)
    lines = ClosingLines(tuple(shadow_line(key, share) for share in shares))
    start = analyse(key, lines)
    walk = carry_through(
        start,
        FillMap.empty(start.regions.count),
        lines,
        frames,
        analyse=analyse,
        segment=lambda frame, with_lines: analyse(frame.number, with_lines).regions,
        own=lambda _n: ClosingLines(),
        fills_on=lambda done: FillMap.empty(done.after.regions.count),
        matcher=AssignmentMatcher(),
    )
    return {done.number: done for done in walk}


def height(frame: int, stroke) -> float:
    """The stroke's mean height within the box, 0 at its top, 1 at its foot."""
    _, y0, _, y1 = box(frame)
    return (float(np.mean([y for _, y in stroke])) - y0) / (y1 - y0)


def test_each_inbetween_has_one_line_between_the_keys_by_timing() -> None:
    # The box's shadow line a third of the way down on key 1, two thirds on
    # key 6 (the shadow grows): carried from each, every in-between would
    # have two lines; put in between, one, moving down frame by frame.
    images = {n: drawing(n) for n in range(1, 7)}
    analyse = analyser(images)
    forward = chain(images, 1, (1 / 3,), [2, 3, 4, 5])
    back = chain(images, 6, (2 / 3,), [5, 4, 3, 2])
    for frame in (2, 3, 4, 5):
        done, blended = blend_carried(
            forward[frame],
            back[frame],
            (frame - 1) / 5,
            analyse=analyse,
            segment=lambda f, lines: analyse(f.number, lines).regions,
        )
        assert blended == 1
        (stroke,) = done.lines.lines.strokes
        expected = 1 / 3 + (1 / 3) * (frame - 1) / 5
        assert abs(height(frame, stroke) - expected) <= 0.03, frame
        assert done.after.regions.count == done.before.regions.count + 1
        line = done.after.lineart.line
        assert all(line[y, x] for x, y in (stroke[0], stroke[-1]))  # on the sides


def test_two_lines_across_one_shape_pair_in_their_order() -> None:
    # Key 1's lines a fifth and half way down the box, key 6's at 0.45 and
    # 0.8 (both grew down): frame 4 has them 0.6 of the way, at 0.35 and
    # 0.68, not the first paired with the second's nearer partner.
    images = {n: drawing(n) for n in range(1, 7)}
    analyse = analyser(images)
    forward = chain(images, 1, (0.2, 0.5), [2, 3, 4])
    back = chain(images, 6, (0.45, 0.8), [5, 4])
    done, blended = blend_carried(
        forward[4],
        back[4],
        3 / 5,
        analyse=analyse,
        segment=lambda f, lines: analyse(f.number, lines).regions,
    )
    assert blended == 2
    got = sorted(height(4, stroke) for stroke in done.lines.lines.strokes)
    assert abs(got[0] - 0.35) <= 0.03 and abs(got[1] - 0.68) <= 0.03, got
