"""A frame's closing lines follow its drawing when it is redrawn: each
moves as the lines around it moved (the drawing as a whole, or the part
it lies in, and no other), openings go onto the closure where it went;
undo, saved projects and command-line renders follow too, from where the
lines were placed, so they never drift."""

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
from engine.closing_redraw import Placement, Redraw
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
    placed = Placement.of(analysed(before, lines, gap))
    return Redraw(lines, placed).follow(
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


def test_a_line_whose_surroundings_did_not_change_stays() -> None:
    # The line ends short of the floor (it parts nothing, as the tool
    # allows), and only a dot far from it is drawn in: the wall it hangs
    # from is ink the old regions never showed, and must not pull it.
    image = open_box()
    stroke = ((90, 46), (90, 75))
    lines = ClosingLines((stroke,))
    redrawn = image.copy()
    cv2.circle(redrawn, (185, 90), 5, (0, 0, 0), -1)
    followed = follow(image, redrawn, lines)
    assert followed is not None and followed.lines == lines


def test_a_line_in_a_wide_region_moves_sideways_with_the_drawing() -> None:
    # Near the line only the region's top and bottom: the patch matched
    # grows until it sees the sides.
    image = np.full((120, 400, 3), 255, np.uint8)
    cv2.rectangle(image, (40, 20), (340, 100), (0, 0, 0), 2)
    stroke = ((190, 21), (190, 99))
    for dx, dy in ((6, 4), (-8, 3), (10, 0)):
        followed = follow(image, moved(image, dx, dy), ClosingLines((stroke,)))
        assert followed is not None
        (now,) = followed.lines.strokes
        assert all(x == 190 + dx for x, _ in now), (dx, dy, now)


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


def follow_now(project, engine: ShotEngine, frame: int = 1) -> bool:
    """As the application does when it analyses the frame: its lines
    follow its drawing; whether they moved."""
    lines = project.closing(frame)
    _, followed = engine.followed(frame, lines, project.placement(frame))
    if followed is None:
        return False
    assert project.follow_redraw(frame, lines, followed)
    project.adopt(frame, followed.frame.regions)
    return followed.lines != lines


def test_the_project_takes_the_lines_and_undo_never_makes_them_drift(
    tmp_path: Path,
) -> None:
    project, _, stroke = split_and_paint_right(tmp_path)
    lines = project.closing(1)
    engine = redraw_frame(tmp_path, 1, 8, 3)
    revision = project.revision
    assert follow_now(project, engine)
    assert project.revision != revision
    assert project.closing(1).strokes == (shifted(stroke, 8, 3),)
    assert not follow_now(project, engine)  # placed on this drawing now
    # Both halves keep their paint on the new drawing.
    points = (58, 48), (138, 48), (5, 5)
    assert styles_at(project, engine, 1, *points) == [3, 5, 1]
    # Undo the paint and the line, redo both, again and again: the line
    # comes back where it was drawn, and follows to the same place.
    for _ in range(3):
        project.undo()
        project.undo()
        assert not project.closing(1)
        project.redo()
        assert project.closing(1) == lines  # where it was drawn
        project.redo()
        assert follow_now(project, engine)
        assert project.closing(1).strokes == (shifted(stroke, 8, 3),)
        assert styles_at(project, engine, 1, *points) == [3, 5, 1]
    # Lines changed meanwhile are not replaced.
    followed = Redraw(lines, Placement.of(open_frame(lines))).follow(
        engine.frame(1, lines), lambda other: engine.frame(1, other)
    )
    assert followed is not None
    assert not project.follow_redraw(1, lines, followed)


def open_frame(lines: ClosingLines) -> Frame:
    return analysed(open_box(), lines)


def test_lines_drawn_after_a_redraw_stay_and_undo_puts_back_each_as_it_was(
    tmp_path: Path,
) -> None:
    project, _, _ = split_and_paint_right(tmp_path)
    engine = redraw_frame(tmp_path, 1, 8, 3)
    follow_now(project, engine)
    moved_line = project.closing(1)
    # A line removed (the Close gap tool's click) and the removal undone.
    close_frame(project, engine, 1, ClosingLines())
    project.undo()
    assert project.closing(1) == moved_line
    assert not follow_now(project, engine)


def test_an_unpainted_frame_s_lines_follow_a_redraw_after_the_project_is_reopened(
    tmp_path: Path,
) -> None:
    project, engine = paint_box_shot(tmp_path)
    stroke = stroke_across_gap(open_box())
    close_frame(project, engine, 2, ClosingLines((stroke,)))  # frame 2: no fills
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    engine = redraw_frame(tmp_path, 2, 8, 3)
    loaded = load_project(path)
    assert follow_now(loaded, engine, 2)
    assert loaded.closing(2).strokes == (shifted(stroke, 8, 3),)


def test_a_save_or_propagation_before_the_lines_follow_does_not_stop_them(
    tmp_path: Path,
) -> None:
    # Saved with the redrawn frame's fills carried to its new drawing (as
    # a save or a propagation reaching it first does), reopened: the lines
    # still follow, from where they were placed.
    project, _, stroke = split_and_paint_right(tmp_path)
    engine = redraw_frame(tmp_path, 1, 8, 3)
    path = tmp_path / "scene.cadmium"
    frame_of = engine.analyser(project.snapshot().closing)
    save_project(project.snapshot(), path, regions_of=lambda n: frame_of(n).regions)
    loaded = load_project(path)
    assert follow_now(loaded, engine)
    assert loaded.closing(1).strokes == (shifted(stroke, 8, 3),)


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


def test_renders_read_lines_where_they_go_before_the_project_takes_them(
    tmp_path: Path,
) -> None:
    # Frame 2 (unpainted, not analysed since its drawing was redrawn):
    # Propagate, Colorize shot and exports segment it with its line where
    # it goes, as colorize-shot SCENE.cadmium does, not where it was.
    project, engine = paint_box_shot(tmp_path)
    lines = ClosingLines((stroke_across_gap(open_box()),))
    close_frame(project, engine, 2, lines)
    engine = redraw_frame(tmp_path, 2, 8, 3)
    snap = project.snapshot()
    plain = engine.frame(2).regions.count
    assert engine.analyser(snap.closing)(2).regions.count == plain  # parts nothing
    assert engine.followed_analyser(snap)(2).regions.count == plain + 1
    assert project.closing(2) == lines  # the project takes them when it sees it


def test_a_redrawn_frame_is_followed_once_until_its_drawing_changes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A render asks for every frame on each pass (a colorize run makes two);
    # a follow takes up to a second at 4K and logs what it did.
    project, _, stroke = split_and_paint_right(tmp_path)
    lines, placed = project.closing(1), project.placement(1)
    engine = redraw_frame(tmp_path, 1, 8, 3)
    follows = []
    real = Redraw.follow

    def counted(self: Redraw, frame, analyse):
        follows.append(frame.number)
        return real(self, frame, analyse)

    monkeypatch.setattr(Redraw, "follow", counted)
    first = engine.followed(1, lines, placed)[1]
    again = engine.followed(1, lines, placed)[1]
    assert follows == [1]
    assert first is not None and again is not None
    assert again.lines == first.lines
    assert again.lines.strokes == (shifted(stroke, 8, 3),)
    assert again.unparted == first.unparted == 0
    assert np.array_equal(again.frame.regions.labels, first.frame.regions.labels)
    # Redrawn once more on disk: followed anew, from where the lines were
    # placed.
    path = tmp_path / "shot" / "line" / "0001.png"
    cv2.imwrite(str(path), moved(read_image(path), 2, 0))
    now = engine.followed(1, lines, placed)[1]
    assert follows == [1, 1]
    assert now is not None and now.lines.strokes == (shifted(stroke, 10, 3),)
