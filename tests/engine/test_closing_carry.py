"""Closing lines carried to the next frames: each keeps its place in the
region it parts as the drawing moves and stretches, its ends on the lines;
it stops where it would part nothing, and is never drawn twice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.closing_carry import CarriedFrame, carry_through
from engine.closing_lines import ClosingLines
from engine.fills import FillMap
from engine.gaps import DEFAULT_GAP
from engine.matching import AssignmentMatcher, Frame
from engine.regions import segment_image


def box(frame: int) -> tuple[int, int, int, int]:
    """A box moving right 6 px a frame and growing 4 px taller."""
    x = 20 + 6 * frame
    return x, 20, x + 80, 80 + 4 * frame


def drawing(frame: int, *, inked_at: float | None = None, gap: bool = False):
    """The box on a white frame; ``inked_at``: a line across it at that
    share of its height; ``gap``: a 5 px gap in its left side."""
    image = np.full((160, 240, 3), 255, np.uint8)
    x0, y0, x1, y1 = box(frame)
    cv2.rectangle(image, (x0, y0), (x1, y1), (0, 0, 0), 2)
    if inked_at is not None:
        y = round(y0 + inked_at * (y1 - y0))
        cv2.line(image, (x0, y), (x1, y), (0, 0, 0), 2)
    if gap:
        image[45:50, x0 - 1 : x0 + 2] = 255
    return image


def analyser(images: dict[int, np.ndarray], gap: int = 0):
    def analyse(number: int, lines: ClosingLines) -> Frame:
        lineart, regions = segment_image(images[number], gap=gap, closing=lines)
        return Frame(number, images[number], lineart, regions)

    return analyse


def carried(
    images: dict[int, np.ndarray],
    lines: ClosingLines,
    own: dict[int, ClosingLines] | None = None,
    gap: int = 0,
) -> list[CarriedFrame]:
    analyse = analyser(images, gap)
    start = analyse(1, lines)
    return list(
        carry_through(
            start,
            FillMap.empty(start.regions.count),
            lines,
            sorted(n for n in images if n > 1),
            analyse=analyse,
            segment=lambda frame, with_lines: analyse(frame.number, with_lines).regions,
            own=lambda n: (own or {}).get(n, ClosingLines()),
            fills_on=lambda done: FillMap.empty(done.after.regions.count),
            matcher=AssignmentMatcher(),
        )
    )


def shadow_line(frame: int = 1, share: float = 1 / 3) -> tuple[tuple[int, int], ...]:
    """Across the box at ``share`` of its height, from side to side."""
    x0, y0, x1, y1 = box(frame)
    y = round(y0 + share * (y1 - y0))
    return ((x0, y), ((x0 + x1) // 2, y + 1), (x1, y))


def test_a_line_keeps_its_place_in_the_region_it_parts_as_the_drawing_moves() -> None:
    images = {n: drawing(n) for n in range(1, 6)}
    results = carried(images, ClosingLines((shadow_line(),)))
    assert [r.number for r in results] == [2, 3, 4, 5]
    for result in results:
        (stroke,) = result.lines.lines.strokes
        x0, y0, x1, y1 = box(result.number)
        ys = [y for _, y in stroke]
        # A third of the way down the box as it is on that frame, which is
        # 12 px lower than on frame 1 by frame 5.
        assert abs(np.mean(ys) - (y0 + (y1 - y0) / 3)) <= 2
        line = result.after.lineart.line
        assert all(line[y, x] for x, y in (stroke[0], stroke[-1]))  # on the sides
        assert result.after.regions.count == result.before.regions.count + 1
        top = result.after.regions.region_at((x0 + x1) // 2, y0 + 5)
        bottom = result.after.regions.region_at((x0 + x1) // 2, y1 - 5)
        assert top is not None and bottom is not None and top != bottom


def test_a_line_stops_where_it_would_part_nothing() -> None:
    # Frame 3 inks the shadow line itself: the line carried would lie on
    # it and part nothing more, so it stops there, and goes no further.
    images = {n: drawing(n, inked_at=1 / 3 if n == 3 else None) for n in range(1, 5)}
    results = carried(images, ClosingLines((shadow_line(),)))
    assert [r.number for r in results] == [2, 3]
    assert results[0].lines.lines.strokes and not results[0].lines.lost_strokes
    assert results[1].lines.lost_strokes == 1
    assert not results[1].lines.lines  # nothing added to frame 3


def test_a_line_the_frame_has_already_is_found_not_drawn_twice() -> None:
    images = {n: drawing(n) for n in range(1, 4)}
    first = carried(images, ClosingLines((shadow_line(),)))
    own = {r.number: r.lines.lines for r in first}
    again = carried(images, ClosingLines((shadow_line(),)), own)
    for before, after in zip(first, again, strict=True):
        assert after.lines.lines == before.lines.lines
        assert after.after.regions.count == before.after.regions.count


def test_an_opening_moves_onto_the_closure_of_the_next_frame() -> None:
    images = {n: drawing(n, gap=True) for n in range(1, 4)}
    analyse = analyser(images, DEFAULT_GAP)
    first = analyse(1, ClosingLines())
    # Closed from both of the gap's ends: one closure or two, at one place.
    x0, y0, x1, y1 = first.regions.closures.segments[0].tolist()
    opening = ClosingLines(openings=(((x0 + x1) // 2, (y0 + y1) // 2),))
    assert analyse(1, opening).regions.count == first.regions.count - 1
    results = carried(images, opening, gap=DEFAULT_GAP)
    assert [r.number for r in results] == [2, 3]
    for result in results:
        ((x, y),) = result.lines.lines.openings
        assert abs(x - box(result.number)[0]) <= 2 and 45 <= y <= 50
        # The box runs into the outside there too.
        assert result.after.regions.count == result.before.regions.count - 1


def grid(frame: int, *, leak: bool = False) -> np.ndarray:
    """A 3 x 3 grid of 30 px cells moving right 6 px a frame; ``leak``: the
    wall between the middle cell and the one right of it open at its foot."""
    image = np.full((160, 240, 3), 255, np.uint8)
    x0 = 40 + 6 * frame
    for i in range(4):
        cv2.line(image, (x0 + 30 * i, 30), (x0 + 30 * i, 120), (0, 0, 0), 2)
        cv2.line(image, (x0, 30 + 30 * i), (x0 + 90, 30 + 30 * i), (0, 0, 0), 2)
    if leak:
        image[80:89, x0 + 59 : x0 + 62] = 255
    return image


def test_a_line_follows_its_neighbours_where_its_region_ran_into_another() -> None:
    # On frame 3 the middle cell runs into the one on its right through a
    # gap: its box is twice as wide there, and says nothing of where the
    # line goes; the cells around it, each matched to a cell of its size,
    # say how the drawing moved.
    images = {1: grid(1), 2: grid(2), 3: grid(3, leak=True)}
    x0 = 40 + 6
    across = ClosingLines((((x0 + 31, 70), (x0 + 58, 70)),))
    results = carried(images, across)
    assert [r.number for r in results] == [2, 3]
    (stroke,) = results[1].lines.lines.strokes
    left, right = 40 + 6 * 3 + 30, 40 + 6 * 3 + 60
    xs, ys = [x for x, _ in stroke], [y for _, y in stroke]
    assert abs(min(xs) - left) <= 2 and abs(max(xs) - right) <= 2
    assert all(abs(y - 70) <= 1 for y in ys)
    assert results[1].after.regions.count == results[1].before.regions.count + 1


def thin(frame: int) -> np.ndarray:
    """The box inked 1 px wide."""
    image = np.full((160, 240, 3), 255, np.uint8)
    x0, y0, x1, y1 = box(frame)
    cv2.rectangle(image, (x0, y0), (x1, y1), (0, 0, 0), 1)
    return image


def third(frame: int, overshoot: int) -> tuple[tuple[int, int], ...]:
    """Across the box a third of the way down, ``overshoot`` px past its
    sides each way."""
    x0, y0, x1, y1 = box(frame)
    y = round(y0 + (y1 - y0) / 3)
    return ((x0 - overshoot, y), ((x0 + x1) // 2, y), (x1 + overshoot, y))


@pytest.mark.parametrize(("draw", "overshoot"), [(thin, 0), (drawing, 6)])
def test_a_line_follows_the_box_with_thin_ink_or_drawn_past_the_sides(
    draw, overshoot: int
) -> None:
    # The regions its ends touch past the ink (the outside, the whole
    # frame's box) are not the sides it parts.
    images = {n: draw(n) for n in range(1, 8)}
    results = carried(images, ClosingLines((third(1, overshoot),)))
    assert [r.number for r in results] == list(range(2, 8))
    (stroke,) = results[-1].lines.lines.strokes
    x0, y0, x1, y1 = box(7)
    assert abs(np.mean([y for _, y in stroke]) - (y0 + (y1 - y0) / 3)) <= 2
    assert abs(stroke[1][0] - (x0 + x1) // 2) <= 3


def test_a_line_does_not_drift_over_a_long_span() -> None:
    # Each frame's line in whole px, but carried on from where it lies
    # exactly: rounding does not add up over ten in-betweens.
    images = {n: drawing(n) for n in range(1, 12)}
    drawn = third(1, 0)
    results = carried(images, ClosingLines((drawn,)))

    def inside(frame: Frame) -> tuple[int, int]:
        """The top and bottom of the box's inside (its lines left out)."""
        x0, y0, x1, y1 = box(frame.number)
        region = frame.regions.region_at((x0 + x1) // 2, (y0 + y1) // 2)
        _, top, _, bottom = frame.regions.table.bbox[region]
        return int(top), int(bottom)

    top, bottom = inside(analyser(images)(1, ClosingLines()))
    share = (drawn[0][1] - top) / (bottom - top)
    (stroke,) = results[-1].lines.lines.strokes
    top, bottom = inside(results[-1].before)
    assert abs(np.mean([y for _, y in stroke]) - (top + share * (bottom - top))) <= 1


def test_an_opening_to_the_outside_follows_a_fast_box() -> None:
    def gapped(frame: int) -> np.ndarray:
        image = np.full((160, 240, 3), 255, np.uint8)
        x0 = 20 + 16 * frame
        cv2.rectangle(image, (x0, 20), (x0 + 80, 80 + 4 * frame), (0, 0, 0), 2)
        image[45:50, x0 - 1 : x0 + 2] = 255
        return image

    images = {n: gapped(n) for n in range(1, 4)}
    first = analyser(images, DEFAULT_GAP)(1, ClosingLines())
    x0, y0, x1, y1 = first.regions.closures.segments[0].tolist()
    opening = ClosingLines(openings=(((x0 + x1) // 2, (y0 + y1) // 2),))
    results = carried(images, opening, gap=DEFAULT_GAP)
    assert [r.number for r in results] == [2, 3]
    for result in results:
        ((x, _),) = result.lines.lines.openings
        assert abs(x - (20 + 16 * result.number)) <= 2


def test_two_lines_across_one_shape_keep_their_places() -> None:
    # A highlight and a shadow across the box (a fifth and half way down):
    # each is moved with the whole box, not with the part of it beside it
    # (which drew the lower line up a little more each frame).
    images = {n: drawing(n) for n in range(1, 6)}
    lines = ClosingLines((shadow_line(1, 0.2), shadow_line(1, 0.5)))
    for result in carried(images, lines):
        _, y0, _, y1 = box(result.number)
        heights = sorted(
            (np.mean([y for _, y in stroke]) - y0) / (y1 - y0)
            for stroke in result.lines.lines.strokes
        )
        assert len(heights) == 2, result.number
        assert abs(heights[0] - 0.2) <= 0.03 and abs(heights[1] - 0.5) <= 0.03
