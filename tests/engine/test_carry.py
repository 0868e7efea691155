"""Fills carried to another segmentation of a frame: its line art redrawn
while it is painted (parts keep their colours, a part moved on its own is
flagged rather than painted its neighbour's colour silently), or a gap
setting left and returned to."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import blank, figure, open_circle

from engine.carry import carrying, resegment_fills, return_fills
from engine.fills import ORIGIN_ANIMATOR, FillMap, key_from_color
from engine.imageio import read_image
from engine.palette import UNPAINTED, Palette
from engine.regions import Regions, segment_image

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_shot"


def at(regions: Regions, x: int, y: int) -> int:
    region = regions.region_at(x, y)
    assert region is not None
    return int(region)


def painted(regions: Regions, styles: dict[tuple[int, int], int]) -> FillMap:
    fills = FillMap.empty(regions.count)
    for (x, y), style in styles.items():
        fills = fills.with_styles(np.array([at(regions, x, y)]), style, ORIGIN_ANIMATOR)
    return fills


def carried_to(before: Regions, fills: FillMap, after: Regions) -> FillMap:
    how = carrying(before.numbering, after.under_line, after.count)
    assert how is not None
    return how.fills(fills)


def test_a_part_moved_further_than_its_width_keeps_its_colour_flagged() -> None:
    """The hand redrawn 40 px to the right lands on paper: by position
    alone it took the paper's colour, silently. Paired with its old place
    by place, size and shape, it keeps its own colour, flagged for review
    with the paper's as its first guess ("Other likely style"); body and
    paper are neither changed nor flagged."""
    before = segment_image(figure(120), gap=8)[1]
    after = segment_image(figure(160), gap=8)[1]
    body, hand, paper = (60, 90), (128, 68), (200, 140)
    fills = painted(before, {body: 3, hand: 5, paper: 1})
    carried = carried_to(before, fills, after)
    moved_hand = at(after, 168, 68)
    assert carried.style[moved_hand] == 5
    assert carried.origin[moved_hand] == ORIGIN_ANIMATOR
    assert carried.flagged.tolist() == [i == moved_hand for i in range(after.count)]
    assert carried.guesses(moved_hand)[0] == 1
    assert carried.style[at(after, *body)] == 3
    assert carried.style[at(after, *paper)] == 1


def test_a_part_moved_again_or_back_stays_its_colour_and_flagged() -> None:
    """Saved again while the drawing is adjusted (the hand moved further,
    back a step, then nudged): each carry starts from the last, and the hand
    keeps its colour and its flag (the flag was lost on the second carry,
    the hand's colour with it)."""
    places = (120, 160, 200, 160, 166)  # the last a nudge: not paired
    drawings = [segment_image(figure(x), gap=8)[1] for x in places]
    fills = painted(drawings[0], {(60, 90): 3, (128, 68): 5, (200, 140): 1})
    for before, after, hand_x in zip(
        drawings[:-1], drawings[1:], places[1:], strict=True
    ):
        fills = carried_to(before, fills, after)
        hand = at(after, hand_x + 8, 68)
        assert fills.style[hand] == 5, hand_x
        assert fills.flagged.tolist() == [i == hand for i in range(after.count)]
        assert fills.guesses(hand)[0] == 1


def test_a_part_left_unpainted_stays_unpainted_and_unflagged() -> None:
    """The hand was not painted yet: redrawn onto the paper, it stays
    unpainted (a problem for Next problem already), not flagged, and the
    paper keeps its colour."""
    before = segment_image(figure(120), gap=8)[1]
    after = segment_image(figure(160), gap=8)[1]
    fills = painted(before, {(60, 90): 3, (200, 140): 1})
    carried = carried_to(before, fills, after)
    moved_hand = at(after, 168, 68)
    assert carried.style[moved_hand] == UNPAINTED
    assert not carried.flagged.any()
    assert carried.style[at(after, 200, 140)] == 1


def test_a_part_moved_less_than_its_width_keeps_its_colour_unflagged() -> None:
    before = segment_image(figure(120), gap=8)[1]
    after = segment_image(figure(126), gap=8)[1]
    fills = painted(before, {(60, 90): 3, (128, 68): 5, (200, 140): 1})
    carried = carried_to(before, fills, after)
    assert carried.style[at(after, 134, 68)] == 5
    assert not carried.flagged.any()


def test_a_region_split_by_a_line_added_gives_both_parts_its_colour() -> None:
    image = figure(120)
    before = segment_image(image, gap=8)[1]
    cv2.line(image, (20, 100), (100, 100), 0, 2)  # a belt across the body
    after = segment_image(image, gap=8)[1]
    assert after.count == before.count + 1
    fills = painted(before, {(60, 90): 3, (128, 68): 5, (200, 140): 1})
    carried = carried_to(before, fills, after)
    assert carried.style[at(after, 60, 70)] == carried.style[at(after, 60, 120)] == 3
    assert not carried.flagged.any()


def belted() -> tuple[np.ndarray, np.ndarray]:
    """The figure with a belt across its body, and without (a redraw that
    rubbed it out, or left a gap in it too wide to close)."""
    image = figure(120)
    without = image.copy()
    cv2.line(image, (20, 100), (100, 100), 0, 2)
    return image, without


def test_a_redraw_that_joins_parts_painted_otherwise_flags_the_joined_region() -> None:
    """The belt rubbed out joins the shirt and the trousers: the region
    took the larger part's colour, silently, and the other was lost. It
    is flagged for review, the other colour its first guess (S)."""
    belt, no_belt = belted()
    before = segment_image(belt, gap=8)[1]
    after = segment_image(no_belt, gap=8)[1]
    shirt, trousers, hand, paper = (60, 70), (60, 120), (128, 68), (200, 140)
    fills = painted(before, {shirt: 3, trousers: 4, hand: 5, paper: 1})
    carried = carried_to(before, fills, after)
    body = at(after, *shirt)
    assert carried.style[body] == 3  # the larger part's
    assert carried.flagged.tolist() == [i == body for i in range(after.count)]
    assert carried.guesses(body)[0] == 4
    assert carried.style[at(after, *hand)] == 5


def test_a_redraw_that_joins_parts_of_one_colour_flags_nothing() -> None:
    belt, no_belt = belted()
    before = segment_image(belt, gap=8)[1]
    after = segment_image(no_belt, gap=8)[1]
    for styles in ({(60, 70): 4, (60, 120): 4}, {(60, 70): 4}):
        fills = painted(before, {**styles, (128, 68): 5, (200, 140): 1})
        carried = carried_to(before, fills, after)
        assert carried.style[at(after, 60, 70)] == 4
        assert not carried.flagged.any()  # one part unpainted: nothing lost


@pytest.mark.parametrize(("dx", "dy"), [(3, 2), (8, 0)])
def test_a_drawing_moved_as_a_whole_keeps_every_part_s_colour(dx: int, dy: int) -> None:
    """A key of the sample shot nudged as a whole (a scan registered again):
    carried by where each region lay, its thin shading strips took their
    neighbours' colours (4 regions at 3x2 px, 16 at 8 px); followed by the
    drawing's shift, every region keeps its own, and none is flagged."""

    def moved(image: np.ndarray, paper: int) -> np.ndarray:
        # As a scan moves: paper comes in at the edges (white lines,
        # transparent colour), nothing from the far side.
        out = np.full_like(image, paper)
        out[dy:, dx:] = image[: image.shape[0] - dy, : image.shape[1] - dx]
        return out

    line = read_image(SAMPLE / "line" / "0001.png")
    color = read_image(SAMPLE / "color" / "0001.png")
    before = segment_image(line, gap=6)[1]
    after = segment_image(moved(line, 255), gap=6)[1]
    key = key_from_color(before, color, Palette())
    truth = key_from_color(after, moved(color, 0), key.palette).fills
    how = carrying(before.numbering, after.under_line, after.count)
    assert how is not None
    carried = how.fills(key.fills)
    wrong = (carried.style != truth.style) & truth.painted
    assert not wrong.any(), np.flatnonzero(wrong)
    assert (how.counterpart == -1).all()  # nothing moved on its own


def test_a_part_come_into_the_frame_takes_nothing_from_its_far_edge() -> None:
    """The drawing registered 8 px lower, so the sky above a hat's brim
    comes into view at the top: followed by the drawing's shift, that new
    sliver took the ground's colour from the bottom edge (the old regions
    were rolled round the frame), silently. It is left unpainted, for Next
    problem and the fill check to find; every other part keeps its own."""
    world = hat_world()
    before = segment_image(world[20:180], gap=8)[1]
    after = segment_image(world[12:172], gap=8)[1]
    assert after.count == before.count + 1  # the sliver above the brim
    paper, hat, body, ground = (60, 10), (150, 5), (60, 100), (60, 150)
    fills = painted(before, {paper: 1, hat: 5, body: 2, ground: 3})
    carried = carried_to(before, fills, after)
    assert carried.style[at(after, 150, 2)] == UNPAINTED  # was 3, the ground's
    assert carried.style[at(after, 150, 15)] == 5
    for (x, y), style in {paper: 1, body: 2, (60, 158): 3}.items():
        assert carried.style[at(after, x, y)] == style


def hat_world() -> np.ndarray:
    """A body, a hat whose crown runs above the frame, and the ground, in
    a world taller than the frame (240 x 200), to register it anywhere."""
    world = blank(240, 200)
    cv2.rectangle(world, (30, 60), (100, 150), 0, 2)  # a body
    for x in (120, 180):  # a hat, its crown above the frame
        cv2.line(world, (x, 0), (x, 40), 0, 2)
    cv2.line(world, (120, 17), (180, 17), 0, 2)  # its brim, out of view at first
    cv2.line(world, (120, 40), (180, 40), 0, 2)
    cv2.line(world, (0, 160), (239, 160), 0, 2)  # the ground
    return world


@pytest.mark.parametrize("shift", [7, 8, 12])
def test_a_region_growing_into_view_keeps_its_colour(shift: int) -> None:
    """Registered higher, the ground below its line grows at the bottom
    edge: the strip uncovered there outvoted what it had been, and the
    ground was left unpainted."""
    world = hat_world()
    before = segment_image(world[8:168], gap=8)[1]
    after = segment_image(world[8 + shift : 168 + shift], gap=8)[1]
    fills = painted(before, {(60, 10): 1, (150, 30): 5, (60, 100): 2, (60, 158): 3})
    carried = carried_to(before, fills, after)
    assert carried.style[at(after, 60, 160 - shift + 4)] == 3
    assert not carried.flagged.any()


def test_a_part_leaving_the_frame_is_not_a_join() -> None:
    """Registered lower, the sky between the brim and the frame's top
    edge mostly leaves the frame; what is left of it lies in the crown.
    It read as a part the crown swallowed, and the crown was flagged."""
    world = hat_world()
    before = segment_image(world[8:168], gap=8)[1]
    after = segment_image(world[16:176], gap=8)[1]
    styles = {(60, 10): 1, (150, 4): 4, (150, 30): 5, (60, 100): 2, (60, 158): 3}
    carried = carried_to(before, painted(before, styles), after)
    assert carried.style[at(after, 150, 20)] == 5
    assert not carried.flagged.any()


def test_a_redraw_joining_three_parts_flags_a_colour_lost_from_any() -> None:
    """A box parted in three, top (the largest) and middle one colour, the
    bottom another; both lines rubbed out. Only the largest part joined
    was compared: the bottom's colour was lost without a flag."""
    image = blank(240, 160)
    cv2.rectangle(image, (20, 20), (120, 140), 0, 2)
    before_image = image.copy()
    cv2.line(before_image, (20, 80), (120, 80), 0, 2)
    cv2.line(before_image, (20, 110), (120, 110), 0, 2)
    before = segment_image(before_image, gap=8)[1]
    after = segment_image(image, gap=8)[1]
    for middle in (3, None):
        styles = {(70, 50): 3, (70, 125): 4, (200, 100): 1}
        if middle is not None:
            styles[(70, 95)] = middle
        carried = carried_to(before, painted(before, styles), after)
        box = at(after, 70, 95)
        assert carried.style[box] == 3
        assert carried.flagged.tolist() == [i == box for i in range(after.count)]
        assert carried.guesses(box)[0] == 4


def test_returning_to_a_gap_restores_regions_not_repainted_since() -> None:
    """At 0 px a ring with a 4 px gap runs together with the paper around it
    and both take one colour; back at 8 px the ring gets its own back, while
    a region repainted meanwhile keeps its new paint."""
    image = open_circle(4)
    cv2.rectangle(image, (5, 5), (40, 40), 0, 2)  # a closed box: never merges
    closed, merged = segment_image(image, gap=8)[1], segment_image(image, gap=0)[1]
    assert merged.count == closed.count - 1

    ring, paper, box = (100, 80), (180, 150), (20, 20)
    fills = painted(closed, {ring: 3, paper: 5, box: 6})
    arrived = resegment_fills(fills, closed, merged)
    assert arrived.style[at(merged, *ring)] == arrived.style[at(merged, *paper)]
    box_now = np.array([at(merged, *box)])
    for repainted, box_style in ((arrived, 6), (arrived.with_styles(box_now, 7, 1), 7)):
        back = return_fills(
            repainted, merged, closed, arrived_as=arrived, earlier=fills
        )
        assert back.style[at(closed, *ring)] == 3
        assert back.style[at(closed, *paper)] == 5
        assert back.style[at(closed, *box)] == box_style
    # Without the fills from before, the ring can only take the merged colour.
    carried = resegment_fills(arrived, merged, closed)
    assert carried.style[at(closed, *ring)] == carried.style[at(closed, *paper)]
