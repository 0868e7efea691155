"""A frame's closing lines follow its drawing when it is redrawn: each
moves as the lines around it moved (the drawing as a whole, or the part
it lies in), openings go onto the closure where it went, and the
project's history, saved work and command-line renders follow too."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_closing_lines import (
    close_frame,
    open_box,
    paint_box_shot,
    regions_of,
    stroke_across_gap,
    styles_at,
)

from engine.cli import main
from engine.closing_lines import ClosingLines, closure_near
from engine.closing_redraw import LineMoves, Redraw
from engine.facade import ShotEngine
from engine.imageio import read_image
from engine.matching import Frame
from engine.project import FillMode, load_project, save_project
from engine.regions import segment_image


def analysed(image: np.ndarray, lines: ClosingLines, gap: int = 0) -> Frame:
    lineart, regions = segment_image(image, gap=gap, closing=lines)
    return Frame(1, image, lineart, regions)


def follow(before: np.ndarray, after: np.ndarray, lines: ClosingLines, gap: int = 0):
    """``lines`` drawn on drawing ``before`` following it to ``after``."""
    seen = analysed(before, lines, gap).regions.numbering
    return Redraw(seen, lines).follow(
        analysed(after, lines, gap), lambda other: analysed(after, other, gap)
    )


def moved(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(image, (dy, dx), axis=(0, 1))


def shifted(stroke, dx: int, dy: int) -> tuple[tuple[int, int], ...]:
    return tuple((x + dx, y + dy) for x, y in stroke)


def lies_along(stroke, expected) -> bool:
    """Whether ``stroke`` has ``expected``'s points, each within a px (a
    line's place is known to a px: the old drawing is known by its region
    boundaries, which split a line of odd width unevenly)."""
    return len(stroke) == len(expected) and all(
        abs(x - u) <= 1 and abs(y - v) <= 1
        for (x, y), (u, v) in zip(stroke, expected, strict=True)
    )


def test_a_line_moves_with_a_drawing_moved_as_a_whole_and_parts_it_again() -> None:
    image = open_box()
    stroke = stroke_across_gap(image)
    lines = ClosingLines((stroke,))
    parted = analysed(image, lines).regions.count
    redrawn = moved(image, -6, 4)
    # Left where it was, the line stops short of the floor: it parts nothing.
    assert analysed(redrawn, lines).regions.count == parted - 1
    followed = follow(image, redrawn, lines)
    assert followed is not None
    assert followed.lines.strokes == (shifted(stroke, -6, 4),)
    assert followed.frame.regions.count == parted
    assert followed.unparted == 0
    # The same drawing read again: nothing to follow.
    assert follow(image, image.copy(), lines) is None


def two_boxes(right_at: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Two open boxes side by side, the right one moved by ``right_at``."""
    image = np.full((100, 340, 3), 255, np.uint8)
    image[:, :170] = open_box()[:, 10:180]
    right = np.full((100, 170, 3), 255, np.uint8)
    right[:] = open_box()[:, 10:180]
    image[:, 170:] = moved(right, *right_at)
    return image


def test_only_the_part_redrawn_elsewhere_takes_its_line_along() -> None:
    image = two_boxes()
    left = stroke_across_gap(open_box())
    left = shifted(left, -10, 0)
    right = shifted(left, 170, 0)
    lines = ClosingLines((left, right))
    followed = follow(image, two_boxes(right_at=(5, 3)), lines)
    assert followed is not None
    assert followed.lines.strokes[0] == left
    assert lies_along(followed.lines.strokes[1], shifted(right, 5, 3))
    assert followed.frame.regions.count == analysed(image, lines).regions.count


def test_an_opening_moves_onto_the_closure_where_its_gap_went() -> None:
    # A box with a 4 px gap in its left side, closed automatically at gap
    # 6, and opened there by hand; a button inside it and a box outside.
    image = np.full((100, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (40, 20), (160, 80), (0, 0, 0), 2)
    image[48:52, 39:42] = 255
    cv2.circle(image, (54, 50), 6, (0, 0, 0), 2)
    cv2.rectangle(image, (12, 38), (28, 62), (0, 0, 0), 2)
    closed = analysed(image, ClosingLines(), gap=6).regions
    at = closure_near(closed.closures, 40, 50, 6)
    assert at is not None
    lines = ClosingLines(openings=(at,))
    redrawn = moved(image, 7, -5)
    followed = follow(image, redrawn, lines, gap=6)
    assert followed is not None
    (now,) = followed.lines.openings
    assert abs(now[0] - (at[0] + 7)) <= 1 and abs(now[1] - (at[1] - 5)) <= 1
    # Still open: inside and outside are one region, as before the redraw.
    assert followed.frame.regions.count == analysed(image, lines, gap=6).regions.count


def test_a_line_whose_lines_were_redrawn_away_is_counted_as_parting_nothing() -> None:
    image = open_box()
    lines = ClosingLines((stroke_across_gap(image),))
    redrawn = image.copy()
    redrawn[30:90, 85:96] = 255  # the wall and the floor under the line erased
    followed = follow(image, redrawn, lines)
    assert followed is not None
    assert followed.unparted == 1


def test_moves_of_two_redraws_compose() -> None:
    a, b, c = ((0, 0), (5, 5)), ((1, 0), (6, 5)), ((2, 1), (7, 6))
    first = LineMoves({a: b}, {(3, 3): (4, 3)})
    second = LineMoves({b: c, ((9, 9), (9, 20)): ((9, 10), (9, 21))})
    both = first.then(second)
    assert both.strokes[a] == c
    assert both.strokes[((9, 9), (9, 20))] == ((9, 10), (9, 21))
    assert both.openings[(3, 3)] == (4, 3)
    assert both.apply(ClosingLines((a,), ((3, 3),))) == ClosingLines((c,), ((4, 3),))
    assert not LineMoves({a: a})


def redraw_frame(tmp_path: Path, frame: int, dx: int, dy: int) -> ShotEngine:
    """The frame's line art moved on disk; an engine that reads it anew."""
    path = tmp_path / "shot" / "line" / f"{frame:04d}.png"
    cv2.imwrite(str(path), moved(read_image(path), dx, dy))
    return ShotEngine(shot=load_shot(tmp_path), gap=0, matcher="overlap")


def load_shot(tmp_path: Path):
    from engine.shot import open_shot

    return open_shot(tmp_path / "shot")


def split_and_paint_right(tmp_path: Path):
    """`paint_box_shot` with frame 1's box parted and its right half
    painted 5; the project, engine and the line."""
    project, engine = paint_box_shot(tmp_path)
    stroke = stroke_across_gap(open_box())
    close_frame(project, engine, 1, ClosingLines((stroke,)))
    split = regions_of(project, engine, 1)
    right = split.region_at(130, 45)
    project.commit(project.fill_edit(1, split.count, [right], 5, FillMode.PAINT))
    return project, engine, stroke


def test_the_project_takes_the_lines_and_its_history_and_fills_follow(
    tmp_path: Path,
) -> None:
    project, _, stroke = split_and_paint_right(tmp_path)
    lines = project.closing(1)
    engine = redraw_frame(tmp_path, 1, 8, 3)
    redraw = project.redraw(1)
    assert redraw is not None
    followed = redraw.follow(engine.frame(1, lines), lambda o: engine.frame(1, o))
    assert followed is not None
    revision = project.revision
    assert project.follow_redraw(1, lines, followed)
    assert project.revision != revision
    (now,) = project.closing(1).strokes
    assert lies_along(now, shifted(stroke, 8, 3))
    # Both halves keep their paint on the new drawing.
    points = (58, 48), (138, 48), (5, 5)
    assert styles_at(project, engine, 1, *points) == [3, 5, 1]
    # Undo the paint and the line; redo: the line comes back where it went.
    project.undo()
    project.undo()
    assert not project.closing(1)
    assert project.left_closing(1, ClosingLines()) is None
    project.redo()
    assert project.closing(1).strokes == (now,)
    assert project.left_closing(1, ClosingLines()) is not None
    project.redo()
    assert styles_at(project, engine, 1, *points) == [3, 5, 1]
    # Lines changed meanwhile are not replaced.
    assert not project.follow_redraw(1, lines, followed)


def test_colorize_shot_follows_a_frame_redrawn_since_the_project_was_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, engine, _ = split_and_paint_right(tmp_path)
    path = tmp_path / "scene.cadmium"
    frame_of = engine.analyser(project.snapshot().closing)
    save_project(project.snapshot(), path, regions_of=lambda n: frame_of(n).regions)
    redraw_frame(tmp_path, 1, 8, 3)
    out = tmp_path / "out"
    args = ["colorize-shot", str(path), "--out", str(out), "--matcher", "overlap"]
    assert main([*args, "--quiet"]) == 0
    color = read_image(out / "color" / "0001.png")
    palette = project.palette
    assert tuple(color[48, 58]) == palette[3].color
    assert tuple(color[48, 138]) == palette[5].color
    # The saved project is as it was: the render moved nothing on disk.
    assert load_project(path).closing(1) == project.closing(1)
