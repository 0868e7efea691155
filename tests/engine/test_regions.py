from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import blank, circle, open_circle

from engine.lineart import TRACE_BLUE, TRACE_RED, extract_lines
from engine.regions import measure, segment, segment_image


def test_closed_shapes_give_exactly_the_expected_regions() -> None:
    image = blank(240, 160)
    cv2.rectangle(image, (10, 10), (110, 150), 0, 2)
    cv2.rectangle(image, (130, 10), (230, 150), 0, 2)
    _, regions = segment_image(image)
    # outside, and the inside of each box
    assert regions.count == 3
    inside = int((image[12:149, 12:109] == 255).sum())
    left, right = regions.labels[80, 60] - 1, regions.labels[80, 180] - 1
    assert regions.table.area[left] == regions.table.area[right] == inside


def test_circle_with_3px_gap_closes_at_gap_4_but_not_at_gap_2() -> None:
    image = open_circle(3)
    assert segment_image(image, gap=0)[1].count == 1
    assert segment_image(image, gap=2)[1].count == 1
    closed = segment_image(image, gap=4)[1]
    assert closed.count == 2
    assert len(closed.closures.segments) >= 1


def test_closures_are_not_lines_in_the_output() -> None:
    image = open_circle(3)
    lineart, regions = segment_image(image, gap=4)
    closure = regions.closures.mask
    assert closure.any()
    assert not (closure & lineart.line).any()
    # the fill map paints the closure pixels like the regions around them
    assert (regions.under_line[closure] > 0).all()


@pytest.mark.parametrize("gap", [5, 8])
def test_gap_wider_than_the_setting_stays_open(gap: int) -> None:
    assert segment_image(open_circle(gap + 1), gap=gap)[1].count == 1
    assert segment_image(open_circle(gap), gap=gap)[1].count == 2


def test_gap_closing_does_not_cut_regions_without_gaps() -> None:
    # Closed shapes, a narrow corridor between parallel lines, and line ends
    # that point into wide-open space: nothing to close anywhere.
    image = blank(300, 200)
    cv2.rectangle(image, (20, 20), (120, 180), 0, 2)
    cv2.line(image, (150, 20), (290, 20), 0, 2)
    cv2.line(image, (150, 26), (290, 26), 0, 2)  # 4 px corridor, open ends
    cv2.line(image, (200, 60), (200, 120), 0, 2)  # a lone stroke
    for gap in (0, 2, 4, 8, 10):
        regions = segment_image(image, gap=gap)[1]
        assert regions.count == 2, gap


def test_antialiased_lines_leave_no_sliver_regions() -> None:
    image = blank(400, 300)
    rng = np.random.default_rng(1)
    for _ in range(12):
        center = (int(rng.integers(60, 340)), int(rng.integers(60, 240)))
        circle(image, center, int(rng.integers(15, 60)), antialiased=True)
    binary = np.where(image < 128, 0, 255).astype(np.uint8)
    smooth = segment_image(image)[1]
    crisp = segment_image(binary)[1]
    assert smooth.count == crisp.count
    assert smooth.table.area.min() >= 12


def test_nested_shapes_and_holes() -> None:
    image = blank(220, 220)
    for radius in (100, 70, 40, 10):
        circle(image, (110, 110), radius)
    regions = segment_image(image)[1]
    assert regions.count == 5  # outside, three rings, the centre disc
    ring = regions.labels[110, 110 + 55]
    # the ring between r=40 and r=70 surrounds the inner disc: it has a hole
    assert regions.labels[110, 110 + 25] != ring
    assert regions.labels[110, 110 - 55] == ring
    edges = {tuple(e) for e in regions.graph.edges.tolist()}
    # each nested region touches only the ones just inside and outside it
    assert len(edges) == 4


def test_colour_trace_lines_split_regions_and_are_reported() -> None:
    image = np.full((120, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 110), (0, 0, 0), 2)
    cv2.line(image, (100, 10), (100, 110), (255, 0, 0), 2, cv2.LINE_AA)
    cv2.line(image, (10, 60), (100, 60), (0, 0, 255), 2)
    lineart, regions = segment_image(image)
    assert regions.count == 4
    assert (lineart.trace_hue == TRACE_RED).sum() > 150
    assert (lineart.trace_hue == TRACE_BLUE).sum() > 150
    # black lines are never colour-trace
    assert not lineart.trace[10, 50]
    shaded = regions.graph.trace > 0.5
    assert shaded.sum() == 3  # left top|bottom, and each left half | right half


def test_dark_coloured_ink_is_line_but_not_colour_trace() -> None:
    image = np.full((100, 100, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (90, 90), (40, 30, 90), 3)  # navy ink
    lineart, regions = segment_image(image)
    assert regions.count == 2
    assert not lineart.trace.any()


@pytest.mark.parametrize("rgb", [(0, 0, 255), (255, 0, 0), (0, 160, 0)])
def test_line_art_drawn_all_in_one_colour_has_no_colour_trace(
    rgb: tuple[int, int, int],
) -> None:
    """A drawing in blue (or red, or green) pencil and no black ink: its
    lines are ink lines, not shadow lines."""
    image = np.full((120, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 110), rgb, 2, cv2.LINE_AA)
    cv2.line(image, (100, 10), (100, 110), rgb, 2, cv2.LINE_AA)
    lineart, regions = segment_image(image)
    assert regions.count == 3
    assert lineart.line.sum() > 400 and not lineart.trace.any()
    assert not (regions.graph.trace > 0).any()


def test_transparent_background() -> None:
    image = np.zeros((120, 120, 4), np.uint8)
    cv2.circle(image, (60, 60), 40, (0, 0, 0, 255), 2, cv2.LINE_AA)
    lineart, regions = segment_image(image)
    assert regions.count == 2
    assert lineart.line[60, 20] or lineart.line[60, 21]


def test_16_bit_and_scanned_noise() -> None:
    rng = np.random.default_rng(3)
    image = blank(200, 200)
    cv2.rectangle(image, (30, 30), (170, 170), 0, 3, cv2.LINE_AA)
    paper = np.clip(image.astype(int) - rng.integers(0, 40, image.shape), 0, 255)
    sixteen = (paper.astype(np.uint16) * 257).astype(np.uint16)
    regions = segment_image(sixteen)[1]
    assert regions.count == 2


def test_under_line_map_leaves_no_halo() -> None:
    image = blank(200, 200)
    circle(image, (100, 100), 60, thickness=3, antialiased=True)
    _lineart, regions = segment_image(image)
    # every pixel, line or not, belongs to a region
    assert (regions.under_line > 0).all()
    # non-line pixels keep their own region
    free = regions.labels > 0
    assert (regions.under_line[free] == regions.labels[free]).all()
    # a line pixel takes a region it borders: inside pixels of the ring of ink
    inner = regions.labels[100, 100]
    assert regions.under_line[100, 100 + 59] == inner


def test_specks_merge_into_their_neighbour() -> None:
    image = blank(120, 120)
    cv2.rectangle(image, (10, 10), (110, 110), 0, 2)
    cv2.rectangle(image, (50, 50), (53, 53), 0, 1)  # a 2x2 hole: a speck
    regions = segment_image(image, min_area=12)[1]
    assert regions.count == 2
    assert regions.labels[51, 51] == regions.labels[30, 30]
    assert int(regions.table.area.sum()) == int((regions.labels > 0).sum())


def test_region_table_is_consistent_with_the_label_map() -> None:
    image = blank(300, 200)
    cv2.rectangle(image, (20, 30), (120, 90), 0, 2)
    cv2.ellipse(image, (200, 100), (60, 40), 0, 0, 360, 0, 2)
    regions = segment_image(image)[1]
    labels = regions.labels
    for i in range(regions.count):
        ys, xs = np.nonzero(labels == i + 1)
        assert regions.table.area[i] == len(xs)
        assert np.allclose(regions.table.centroid[i], (xs.mean(), ys.mean()), atol=1e-3)
        assert tuple(regions.table.bbox[i]) == (
            xs.min(),
            ys.min(),
            xs.max() + 1,
            ys.max() + 1,
        )
    background = regions.labels[5, 5] - 1
    assert regions.table.touches_border[background]
    assert regions.table.touches_border.sum() == 1


def test_measuring_a_label_map_agrees_with_the_segmentation_s_table() -> None:
    """`measure` (regions of a map whose segmentation is gone) gives the
    table's area, box, centroid and border contact for the same pixels."""
    image = blank(300, 200)
    cv2.rectangle(image, (20, 30), (120, 90), 0, 2)
    cv2.ellipse(image, (200, 100), (60, 40), 0, 0, 360, 0, 2)
    regions = segment_image(image)[1]
    labels = np.array([3, 1])
    measured = measure(regions.labels, labels)
    table = regions.table
    assert (measured.area == table.area[labels - 1]).all()
    assert (measured.bbox == table.bbox[labels - 1]).all()
    assert np.allclose(measured.centroid, table.centroid[labels - 1], atol=1e-3)
    assert (measured.touches_border == table.touches_border[labels - 1]).all()
    inner_box = int(regions.labels[60, 70])
    w, h = 120 - 20 - 3, 90 - 30 - 3  # inside a 2 px line
    assert measure(regions.labels, np.array([inner_box])).perimeter[0] == 2 * (w + h)


def test_blank_and_all_ink_frames() -> None:
    assert segment_image(blank())[1].count == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning either
        full = segment_image(blank(value=0), gap=8)[1]
    assert full.count == 0
    assert full.graph.edges.shape == (0, 2)


def test_a_black_card_at_hd_segments() -> None:
    """A frame all ink but for a speck or nothing (a cut to black) has no
    line edge to measure its thickness by: it read as millions of px, and
    gap closing crashed OpenCV (a segfault, or std::bad_alloc)."""
    card = blank(1920, 1080, value=0)
    assert segment_image(card, gap=12)[1].count == 0
    card[500:510, 900:910] = 255
    assert segment_image(card, gap=12)[1].count == 1


def test_threshold_can_be_overridden() -> None:
    image = blank(100, 100)
    cv2.rectangle(image, (10, 10), (90, 90), 170, 2)  # faint pencil line
    lineart = extract_lines(image, threshold=0.2)
    assert segment(lineart).count == 2
    assert segment(extract_lines(image, threshold=0.6)).count == 1


@pytest.mark.parametrize("gap", [1, 2])
def test_one_and_two_pixel_gaps_close_at_their_setting(gap: int) -> None:
    image = open_circle(gap)
    assert segment_image(image, gap=0)[1].count == 1
    assert segment_image(image, gap=gap)[1].count == 2


def test_gap_closing_keeps_small_regions_such_as_eye_highlights() -> None:
    image = blank(200, 160)
    circle(image, (100, 80), 40, antialiased=True)  # the eye
    circle(image, (100, 80), 15, antialiased=True)  # the pupil
    cv2.ellipse(image, (106, 74), (3, 2), 0, 0, 360, 0, 1, cv2.LINE_AA)  # highlight
    cv2.rectangle(image, (20, 20), (26, 23), 0, 1)  # a 5x2 px region
    expected = segment_image(image, gap=0)[1].count
    for gap in (2, 4, 8, 10):
        assert segment_image(image, gap=gap)[1].count == expected, gap


@pytest.mark.parametrize("antialiased", [False, True])
@pytest.mark.parametrize(("radius", "degrees"), [(50, 4), (50, 6), (30, 8), (80, 3)])
def test_a_ring_broken_in_one_stroke_closes(
    antialiased: bool, radius: int, degrees: int
) -> None:
    # One stroke with round caps, its two ends 3.5 to 5.2 px apart.
    image = blank(240, 200)
    kind = cv2.LINE_AA if antialiased else cv2.LINE_8
    cv2.ellipse(
        image,
        (120, 100),
        (radius, radius),
        0,
        degrees / 2,
        360 - degrees / 2,
        0,
        2,
        kind,
    )
    assert segment_image(image, gap=0)[1].count == 1
    closed = segment_image(image, gap=8)[1]
    assert closed.count == 2
    assert len(closed.closures.segments) <= 2


def gapped_drawing() -> np.ndarray:
    """An open ring (3 px gap), a box with a 2 px gap in its top, and a
    closed eye with its pupil and highlight, in 2 px antialiased lines."""
    image = open_circle(3, radius=40)
    cv2.rectangle(image, (150, 20), (190, 60), 0, 2, cv2.LINE_AA)
    image[19:24, 169:171] = 255  # the box's gap
    circle(image, (40, 40), 18, antialiased=True)
    circle(image, (40, 40), 7, antialiased=True)
    return image


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("interpolation", [cv2.INTER_CUBIC, cv2.INTER_LINEAR])
def test_a_drawing_scaled_up_closes_the_same_gaps(
    scale: int, interpolation: int
) -> None:
    """At HD and 4K the same drawing has lines 2 to 4 times as thick; its
    gaps, scaled with it, still close: no part runs into another (a closure
    may cut one part in two, which costs little: both halves are matched)."""
    image = gapped_drawing()
    small = segment_image(image, gap=4)[1]
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
    regions = segment_image(big, gap=4 * scale)[1]
    parts = [(4, 150), (100, 80), (170, 40), (40, 40), (40, 26)]  # paper first
    found = [regions.region_at(x * scale, y * scale) for x, y in parts]
    assert len(set(found)) == len(parts) == small.count
    assert small.count <= regions.count <= small.count + 1


@pytest.mark.parametrize("thickness", [8, 10, 16])
def test_a_gap_in_a_thick_line_closes_at_its_width(thickness: int) -> None:
    image = open_circle(8, radius=60, thickness=thickness)
    assert segment_image(image, gap=4)[1].count == 1
    assert segment_image(image, gap=10)[1].count == 2


def test_a_stroke_tapering_to_its_tip_at_hd_closes_its_gap() -> None:
    """Frame 12 of the sample shot scaled to HD: a stroke about 5 px thick
    narrows to a 2 px tip 12 px from the next stroke; the ring just outside
    the stroke met the tip, so no end was found and the hill behind leaked
    into the sky (one of the gaps HD frames left open,
    benchmarks/bench_gaps_scaled.py)."""
    from importlib.resources import files

    from engine.imageio import read_image

    sample = Path(str(files("cadmium_resources").joinpath("sample_shot")))
    image = read_image(sample / "line" / "0012.png")
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    closures = segment(extract_lines(big), gap=12).closures.segments
    ends = closures.astype(np.float64)
    tip, below = np.array([688.0, 100.0]), np.array([688.0, 112.0])
    across = [
        np.hypot(*(s[:2] - a)) < 4 and np.hypot(*(s[2:] - b)) < 4
        for s in ends
        for a, b in ((tip, below), (below, tip))
    ]
    assert any(across)
