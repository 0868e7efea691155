from __future__ import annotations

import cv2
import numpy as np
import pytest
from drawing import blank, circle

from engine.fills import (
    ALTERNATIVES,
    ORIGIN_ANIMATOR,
    ORIGIN_PROPAGATED,
    FillMap,
    OtherStyles,
    color_layer,
    composite,
    fills_from_color,
    key_from_color,
    mixed_regions,
    neighbour_styles,
    other_styles,
    region_majority,
)
from engine.palette import UNPAINTED, Palette, Style
from engine.regions import Regions, segment_image

RED = (220, 40, 30, 255)
BLUE = (40, 60, 200, 255)
PALETTE = Palette((Style("red", RED), Style("blue", BLUE, paint_trace=True)))


def _painted(image: np.ndarray, styles: list[int]):  # type: ignore[no-untyped-def]
    lineart, regions = segment_image(image)
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(regions.count), np.array(styles), ORIGIN_ANIMATOR
    )
    return lineart, regions, fills


def test_composite_draws_antialiased_lines_over_fills_without_halo() -> None:
    image = circle(blank(), (100, 80), 50, thickness=3, antialiased=True)
    lineart, regions, fills = _painted(image, [0, 1])
    out = composite(image, lineart, regions, fills, PALETTE)
    assert (out[:, :, 3] == 255).all()
    inside, outside = out[80, 100], out[5, 5]
    assert tuple(inside) == BLUE and tuple(outside) == RED
    # antialiased edge pixels are the fill darkened by the ink, never white
    edge = (lineart.ink > 20) & (lineart.ink < 235)
    fill = color_layer(regions, fills, PALETTE)[edge][:, :3].astype(int)
    expected = fill * (255 - lineart.ink[edge, None].astype(int)) // 255
    assert np.abs(out[edge][:, :3].astype(int) - expected).max() <= 2
    assert (out[edge][:, :3].astype(int) <= fill + 1).all()


def test_unpainted_regions_stay_transparent_but_lines_show() -> None:
    image = circle(blank(), (100, 80), 50, thickness=3)
    lineart, regions, fills = _painted(image, [0, -1])
    out = composite(image, lineart, regions, fills, PALETTE)
    assert out[80, 100, 3] == 0
    full_ink = lineart.ink == 255
    assert full_ink.any()
    assert (out[full_ink] == (0, 0, 0, 255)).all()
    assert tuple(out[5, 5]) == RED


def test_colour_trace_lines_take_the_colour_of_a_paint_trace_style() -> None:
    image = np.full((100, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 90), (0, 0, 0), 2)
    cv2.line(image, (100, 10), (100, 90), (255, 0, 0), 3)
    lineart, regions = segment_image(image)
    left = regions.labels[50, 50] - 1
    styles = np.zeros(regions.count, int)
    styles[left] = 1  # blue paints its trace lines
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(regions.count), styles, ORIGIN_ANIMATOR
    )
    out = composite(image, lineart, regions, fills, PALETTE)
    # The whole width of the trace line takes blue, not just its left half.
    across = out[50, 97:104, :3]
    assert all(tuple(px) in (BLUE[:3], RED[:3]) for px in across), across
    assert [tuple(px) for px in out[50, 99:102, :3]] == [BLUE[:3]] * 3
    assert tuple(out[50, 10, :3]) == (0, 0, 0)  # black ink stays ink


def shadow_top_left(image: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    """The composite of ``image`` with the region at ``at`` (x, y) painted
    blue, which paints its trace lines, and every other red."""
    lineart, regions = segment_image(image)
    styles = np.zeros(regions.count, int)
    styles[regions.labels[at[1], at[0]] - 1] = 1
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(regions.count), styles, ORIGIN_ANIMATOR
    )
    return composite(image, lineart, regions, fills, PALETTE)


def test_a_painted_trace_line_takes_the_colour_only_where_it_bounds_the_style() -> None:
    """A shadow line that runs on past the shadow's end stays a line there,
    however thick the other trace lines of the frame are."""
    image = np.full((120, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 110), (0, 0, 0), 2)
    cv2.line(image, (100, 10), (100, 110), (0, 0, 0), 2)
    cv2.line(image, (10, 60), (190, 60), (255, 0, 0), 3)  # across both halves
    cv2.circle(image, (150, 90), 12, (255, 0, 0), -1)  # a thick trace blob
    out = shadow_top_left(image, (50, 30))
    assert tuple(out[60, 50, :3]) == BLUE[:3]  # under the shadow
    beyond = out[59:62, 110:185, :3].reshape(-1, 3)
    assert not any(tuple(px) == BLUE[:3] for px in beyond)


def test_transparent_line_art_is_laid_over_by_its_alpha() -> None:
    image = np.zeros((120, 120, 4), np.uint8)
    cv2.circle(image, (60, 60), 40, (0, 0, 0, 255), 3)
    lineart, regions, fills = _painted(image, [0, 1])
    out = composite(image, lineart, regions, fills, PALETTE)
    assert tuple(out[60, 60]) == BLUE
    assert tuple(out[60, 20]) == (0, 0, 0, 255) or tuple(out[60, 21]) == (0, 0, 0, 255)


def test_reading_a_painted_frame_adds_unknown_colours_as_styles() -> None:
    image = circle(blank(), (100, 80), 50)
    _, regions = segment_image(image)
    color = np.zeros((160, 200, 4), np.uint8)
    color[regions.labels == 1] = RED
    color[regions.labels == 2] = (1, 2, 3, 255)
    fills, palette = fills_from_color(regions, color, PALETTE)
    assert len(palette) == 3 and palette[2].color == (1, 2, 3, 255)
    assert sorted(fills.style.tolist()) == [0, 2]


def test_line_pixels_and_blended_edges_in_a_key_make_no_styles() -> None:
    """The contract lets a key keep its lines ("line pixels may be left as
    they are"), and painting tools blend edges: only the colours regions are
    painted with become styles, not every shade of grey and blend."""
    image = circle(blank(), (100, 80), 50, thickness=3, antialiased=True)
    _, regions = segment_image(image)
    color = np.zeros((160, 200, 4), np.uint8)
    color[regions.labels == 1] = (10, 200, 30, 255)
    color[regions.labels == 2] = (1, 2, 3, 255)
    color = cv2.GaussianBlur(color, (3, 3), 0)  # blended edges
    ink = image < 250  # the lines, antialiased grey, multiplied over
    color[ink, :3] = (color[ink, :3] * (image[ink, None] / 255.0)).astype(np.uint8)
    assert len(np.unique(color.reshape(-1, 4), axis=0)) > 50
    fills, palette = fills_from_color(regions, color, PALETTE)
    assert len(palette) == 4  # red, blue, and the two colours painted
    assert {palette[int(s)].color for s in fills.style} == {
        (10, 200, 30, 255),
        (1, 2, 3, 255),
    }


def test_only_a_region_holding_two_painted_areas_is_mixed() -> None:
    """A second colour over a fifth of a region (and 64 px) is two painted
    areas; a speck or a blended edge is not. Transparent counts as a colour."""
    image = circle(blank(), (100, 80), 50)
    _, regions = segment_image(image)
    inside = regions.labels[80, 100] - 1
    color = np.zeros((160, 200, 4), np.uint8)
    color[...] = (10, 200, 30, 255)
    color[70:74, 90:94] = (1, 2, 3, 255)  # a 16 px speck inside
    assert len(mixed_regions(regions, color).regions) == 0
    color[60:100, 60:100] = (1, 2, 3, 255)  # a second area inside the ring
    mixed = mixed_regions(regions, color)
    assert mixed.regions.tolist() == [inside]
    assert mixed.second.tolist() == [[1, 2, 3, 255]]  # the other colour
    assert 0.5 < float(mixed.majority[0]) < 0.85
    color[60:100, 60:100, 3] = 0  # left unpainted instead: still two areas
    unpainted = mixed_regions(regions, color)
    assert unpainted.regions.tolist() == [inside] and unpainted.second[0, 3] == 0


def test_a_key_region_in_no_main_colour_is_left_unpainted_and_flagged() -> None:
    """Flat paint with soft edges reads as before; a region no colour covers
    half of (noise, a photo, soft shading) gives no style and is flagged."""
    image = circle(blank(), (100, 80), 50)
    _, regions = segment_image(image)
    inside = regions.labels[80, 100] - 1
    color = np.zeros((160, 200, 4), np.uint8)
    color[...] = (10, 200, 30, 255)
    color[78:83, :] = (120, 120, 120, 255)  # a soft stripe: 5 rows of 160
    flat = key_from_color(regions, color, Palette())
    assert len(flat.patchy) == 0 and not flat.fills.flagged.any()
    assert flat.palette.colors() == [(10, 200, 30, 255)]
    noise = np.random.default_rng(0).integers(0, 256, (160, 200, 4), np.uint8)
    color[regions.labels == inside + 1] = noise[regions.labels == inside + 1]
    color[..., 3] = 255
    read = key_from_color(regions, color, Palette())
    assert read.patchy.tolist() == [inside] and len(read.mixed) == 0
    assert read.fills.style[inside] == UNPAINTED and read.fills.flagged[inside]
    assert read.palette.colors() == [(10, 200, 30, 255)]  # no style per speck


def _wall_and_ring(origin: int) -> tuple[Regions, FillMap, int, int, int]:
    """200 x 160: a wall down the middle, a ring on the left; the left,
    ring and right regions painted styles 0, 1 and 2."""
    image = blank()
    image[:, 99:101] = 0
    image = circle(image, (50, 80), 12)
    _, regions = segment_image(image)
    left, ring, right = (
        regions.labels[y, x] - 1 for x, y in ((10, 10), (50, 80), (150, 80))
    )
    fills = FillMap.empty(regions.count).with_styles(
        np.array([left, ring, right]), np.array([0, 1, 2], np.int32), origin
    )
    return regions, fills, left, ring, right


def test_neighbour_styles_go_by_shared_boundary_leaving_out_the_own_style() -> None:
    regions, fills, left, ring, right = _wall_and_ring(ORIGIN_ANIMATOR)
    # The wall (160 px) is longer than the ring's outline (about 90 px).
    assert neighbour_styles(regions, fills, left) == [2, 1]
    assert neighbour_styles(regions, fills, ring) == [0]
    same = fills.with_styles(np.array([ring]), np.array([0], np.int32), ORIGIN_ANIMATOR)
    assert neighbour_styles(regions, same, ring) == []  # its own style
    blank_right = same.with_styles(
        np.array([right]), np.array([UNPAINTED], np.int32), ORIGIN_ANIMATOR
    )
    assert (
        neighbour_styles(regions, blank_right, left) == []
    )  # one unpainted, one of its own style


def test_other_styles_are_propagations_guesses_then_the_neighbours() -> None:
    regions, fills, left, _, _ = _wall_and_ring(ORIGIN_PROPAGATED)
    assert other_styles(regions, fills, left) == OtherStyles([2, 1], 0)
    alternatives = fills.alternatives.copy()
    # Its own style and a style twice are left out; a guess a neighbour
    # also has comes first, as a guess.
    alternatives[left] = [1, 0, 5]
    guessed = fills.replace(alternatives=alternatives)
    assert other_styles(regions, guessed, left) == OtherStyles([1, 5, 2], 2)
    # Painting a region keeps them: they are still the next guesses.
    painted = guessed.with_styles(np.array([left]), 5, ORIGIN_ANIMATOR)
    assert other_styles(regions, painted, left) == OtherStyles([1, 0, 2], 2)


def test_fill_maps_carry_their_alternatives_through_every_change() -> None:
    fills = FillMap.empty(3).with_styles(np.arange(3), np.array([0, 1, 2]), 2)
    assert fills.alternatives.shape == (3, ALTERNATIVES)
    assert (fills.alternatives == UNPAINTED).all()
    guesses = np.array([[1, 2, UNPAINTED], [0, 2, 3], [3, 0, 1]], np.int32)
    guessed = fills.replace(alternatives=guesses)
    assert guessed.differs(fills).tolist() == [True, True, True]
    mixed = guessed.where(np.array([True, False, True]), fills)
    assert mixed.alternatives[:, 0].tolist() == [1, UNPAINTED, 3]
    # Style 2 deleted, its regions repainted with style 0: 3 becomes 2, and
    # the guesses to try leave out what became the region's own style, and
    # a repeat.
    renumbered = guessed.renumbered(np.array([0, 1, 0, 2], np.int32))
    assert renumbered.style.tolist() == [0, 1, 0]
    assert renumbered.alternatives.tolist() == [
        [1, 0, UNPAINTED],
        [0, 0, 2],
        [2, 0, 1],
    ]
    assert [renumbered.guesses(i) for i in range(3)] == [[1], [0, 2], [2, 1]]
    with pytest.raises(ValueError, match="alternatives"):
        FillMap(fills.style, fills.origin, fills.confidence, fills.flagged, guesses[:2])


def test_majority_votes_alike_with_a_table_too_large_to_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Region against region on a frame of thousands of regions would need a
    vote table of gigabytes; counting only the pairs that occur gives the
    same answer (ties to the smallest value, regions with no vote -1)."""
    import engine.fills as fills

    image = blank(400, 300)
    for x in range(10, 400, 24):
        for y in range(10, 300, 24):
            circle(image, (x, y), 8)
    _, regions = segment_image(image, gap=0)
    rng = np.random.default_rng(3)
    values = rng.integers(0, 3000, regions.labels.shape)
    valid = rng.random(regions.labels.shape) > 0.3
    valid[regions.labels == 5] = False  # a region without a vote
    dense = region_majority(regions, values, 3000, valid=valid)
    monkeypatch.setattr(fills, "_DENSE_TABLE", 0)
    counted = region_majority(regions, values, 3000, valid=valid)
    assert dense[0][4] == -1 and regions.count > 150
    assert np.array_equal(dense[0], counted[0])
    assert np.allclose(dense[1], counted[1])


def test_a_painted_trace_lines_tail_along_the_ink_takes_the_colour_it_lies_in() -> None:
    """Trace lines are drawn long: past the shadow's end this one runs on
    down along an ink line, inside the region below the shadow. There it
    takes that region's colour (it showed as a raw red line); where a
    trace line runs on between two regions it stays a line."""
    image = np.full((120, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 110), (0, 0, 0), 2)
    cv2.line(image, (100, 60), (190, 60), (255, 0, 0), 3)  # between two
    cv2.line(image, (100, 10), (100, 110), (0, 0, 0), 2)
    cv2.line(image, (10, 40), (97, 40), (255, 0, 0), 3)  # the shadow's edge
    cv2.line(image, (97, 40), (97, 100), (255, 0, 0), 3)  # its tail
    cv2.line(image, (40, 40), (40, 80), (255, 0, 0), 2)  # one into the region
    out = shadow_top_left(image, (50, 25))
    assert tuple(out[70, 40, :3]) == RED[:3]  # a guide, never a finished line
    assert tuple(out[40, 50, :3]) == BLUE[:3]  # under the shadow
    tail = out[60:95, 96:99, :3].reshape(-1, 3)
    assert all(tuple(px) == RED[:3] for px in tail)  # the region it lies in
    between = out[59:62, 120:170, :3].reshape(-1, 3)
    assert not any(tuple(px) in (RED[:3], BLUE[:3]) for px in between)


def test_a_painted_trace_line_leaves_no_edge_of_its_hue_beside_it() -> None:
    """An antialiased shadow line (its edge pixels too faint to be line)
    painted over: its edge still lay over the fills, a thin line of the
    trace's hue on each side of the painted line (orange along a green
    shirt's shadow). Every pixel there is one fill colour or the other."""
    image = np.full((100, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 90), (0, 0, 0), 2)
    cv2.line(image, (10, 45), (190, 55), (255, 0, 0), 3, cv2.LINE_AA)
    lineart, _ = segment_image(image)
    faint = (lineart.ink > 0) & ~lineart.line
    assert faint[40:60, 30:170].any()  # the line's antialiased edge
    out = shadow_top_left(image, (50, 25))
    across = out[30:70, 30:170, :3].reshape(-1, 3)
    assert {tuple(px) for px in across.tolist()} == {BLUE[:3], RED[:3]}
    assert tuple(out[10, 50, :3]) == (0, 0, 0)  # black ink stays ink
