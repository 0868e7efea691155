"""The Close gap tool (G): closing lines drawn by hand split a frame's
regions, keep its paint, undo exactly, open automatic closures, and are
saved with the project and used by its exports."""

from __future__ import annotations

from pathlib import Path

import cv2
from app_helpers import (
    BACKGROUND,
    BOX,
    box_rect,
    click_image,
    crashed,
    make_shot,
    make_window,
    open_and_wait,
    pixel,
    status_log,
    style_rgb,
    wait_job,
    wait_ready,
)
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from cadmium_app.tools import Tool
from cadmium_app.window import MainWindow
from engine.imageio import read_image
from engine.project import Project


def widget_point(window: MainWindow, x: float, y: float) -> QPoint:
    point = window.canvas.widget_pos(x + 0.5, y + 0.5)
    return QPoint(round(point.x()), round(point.y()))


def drag_image(
    qtbot: QtBot, window: MainWindow, path: list[tuple[float, float]]
) -> None:
    """A drag with the left button along image pixels ``path``."""
    canvas = window.canvas
    qtbot.mousePress(
        canvas, Qt.MouseButton.LeftButton, pos=widget_point(window, *path[0])
    )
    for x, y in path[1:]:
        qtbot.mouseMove(canvas, widget_point(window, x, y))
    qtbot.mouseRelease(
        canvas, Qt.MouseButton.LeftButton, pos=widget_point(window, *path[-1])
    )


def box_split_path(frame: int = 1) -> list[tuple[float, float]]:
    """Down the middle of the box, from 2 px under its top to 2 px above
    its bottom: neither end on its lines."""
    x0, y0, _, y1 = box_rect(frame)
    return [(x0 + 20, y0 + 3), (x0 + 20, 50), (x0 + 20, 70), (x0 + 20, y1 - 3)]


def regions_now(window: MainWindow) -> int:
    current = window.session.current()
    return current.regions.count if current is not None else -1


def wait_regions(qtbot: QtBot, window: MainWindow, count: int) -> None:
    qtbot.waitUntil(
        lambda: regions_now(window) == count and not window.session.jobs.running,
        timeout=10000,
    )


def open_with_close_tool(qtbot: QtBot, window: MainWindow, shot: Path) -> int:
    open_and_wait(qtbot, window, shot)
    window.actions.close_tool.trigger()
    assert window.canvas_controller.tool is Tool.CLOSE
    return regions_now(window)


def split_and_paint(qtbot: QtBot, window: MainWindow, shot: Path) -> tuple[int, int]:
    """The shot opened, the box of frame 1 split by a closing line and its
    right half painted style 4: the region count before, and the box's x."""
    count = open_with_close_tool(qtbot, window, shot)
    drag_image(qtbot, window, box_split_path())
    wait_regions(qtbot, window, count + 1)
    x0, _, _, _ = box_rect(1)
    window.actions.fill_tool.trigger()
    window.session.set_style(4)
    click_image(qtbot, window, x0 + 30, 60)
    return count, x0


def split_and_painted(qtbot: QtBot, window: MainWindow, shot: Path) -> Project:
    """`split_and_paint`; the project."""
    split_and_paint(qtbot, window, shot)
    project = window.session.project
    assert project is not None
    return project


def shows_split_and_painted(qtbot: QtBot, window: MainWindow, path: Path) -> bool:
    """Whether ``path`` opened in a new window shows the box of
    `split_and_paint` as it was left: two halves, the right one style 4."""
    # Another run of the application, autosaving where this one does (this
    # one crashed, or its window closed).
    crashed(window)
    again = make_window(qtbot, Path(window.session.settings.autosave_dir).parent)
    again.dialogs.recover = lambda when: True  # type: ignore[method-assign]
    try:
        project = open_and_wait(qtbot, again, path)
        qtbot.waitUntil(lambda: bool(project.closing(1)), timeout=10000)
        wait_ready(qtbot, again)
        x0, _, _, _ = box_rect(1)
        return (
            pixel(again, x0 + 10, 60) == BOX[:3]
            and pixel(again, x0 + 30, 60) == style_rgb(window, 4)
            and project.closing(1) == window.session.project.closing(1)  # type: ignore[union-attr]
        )
    finally:
        again.close()


def test_a_closing_line_splits_a_painted_region_and_keeps_its_colour(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    said = status_log(window)
    project = window.session.project
    assert project is not None
    before = project.fills(1)
    assert before is not None
    drag_image(qtbot, window, box_split_path())
    wait_regions(qtbot, window, count + 1)
    assert said[-1] == "Closing line on frame 1 (Ctrl+Z undoes it)"
    (stroke,) = project.closing(1).strokes
    x0, _, _, _ = box_rect(1)
    assert window.canvas.closing_lines == project.closing(1)  # drawn in purple
    # Both sides are the box's colour; painting one leaves the other.
    left, right = (x0 + 10, 60), (x0 + 30, 60)
    assert pixel(window, *left) == pixel(window, *right) == BOX[:3]
    window.actions.fill_tool.trigger()
    window.session.set_style(4)
    click_image(qtbot, window, *right)
    assert pixel(window, *right) == style_rgb(window, 4)
    assert pixel(window, *left) == BOX[:3]
    # Undo: the paint, then the line; the frame is as it was, exactly.
    window.session.undo_stack.undo()
    window.session.undo_stack.undo()
    wait_regions(qtbot, window, count)
    assert said[-1] == "Undid Closing line on frame 1"
    assert not project.closing(1)
    after = project.fills(1)
    assert after is not None and not after.differs(before).any()
    window.session.undo_stack.redo()
    wait_regions(qtbot, window, count + 1)
    assert project.closing(1).strokes == (stroke,)


def test_a_click_on_a_closing_line_removes_it(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    drag_image(qtbot, window, box_split_path())
    wait_regions(qtbot, window, count + 1)
    x0, _, _, _ = box_rect(1)
    said = status_log(window)
    click_image(qtbot, window, x0 + 20, 60)
    wait_regions(qtbot, window, count)
    project = window.session.project
    assert project is not None and not project.closing(1)
    assert said[-1] == "Remove closing line on frame 1 (Ctrl+Z undoes it)"
    assert pixel(window, x0 + 20, 60) == BOX[:3]  # one region again, painted


def test_a_click_on_a_line_gone_meanwhile_says_so(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """A removal clicked as the line moved (its frame redrawn and followed,
    or an undo, while the click waited its turn) was dropped unseen."""
    count = open_with_close_tool(qtbot, window, shot_dir)
    drag_image(qtbot, window, box_split_path())
    wait_regions(qtbot, window, count + 1)
    project = window.session.project
    assert project is not None
    lines = project.closing(1)
    said = status_log(window)
    gone = ((1, 1), (2, 2))  # the line as it was when clicked: not there now
    window.canvas_controller.closing._ask(
        1, lambda now: now.without_stroke(gone), "Remove closing line"
    )
    assert said[-1] == (
        "Remove closing line on frame 1: it is not there now (undone, or moved "
        "with the frame's redrawn drawing); click it where it is now"
    )
    assert project.closing(1) == lines


def test_strokes_drawn_in_quick_succession_are_each_one_undo_step(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    x0, _, x1, _ = box_rect(1)
    steps = window.session.undo_stack.count()
    drag_image(qtbot, window, box_split_path())  # no wait between the two
    drag_image(qtbot, window, [(x0 + 3, 60), (x1 - 3, 60)])
    wait_regions(qtbot, window, count + 3)  # the box in four
    project = window.session.project
    assert project is not None and len(project.closing(1).strokes) == 2
    assert window.session.undo_stack.count() == steps + 2
    window.session.undo_stack.undo()
    wait_regions(qtbot, window, count + 1)


def test_a_click_on_an_automatic_closure_opens_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    shot = make_shot(tmp_path / "gappy")
    # A 4 px gap in the box's left side: the shot's 8 px closing closes it.
    path = shot / "line" / "A_0001.png"
    line = cv2.imread(str(path))
    x0, _, _, _ = box_rect(1)
    line[58:62, x0 - 2 : x0 + 3] = 255
    cv2.imwrite(str(path), line)
    count = open_with_close_tool(qtbot, window, shot)
    current = window.session.current()
    # Closed from both of the gap's ends: one closure or two, at one place.
    assert current is not None and len(current.regions.closures.segments)
    said = status_log(window)
    inside = (x0 + 30, 40)
    assert pixel(window, *inside) == BOX[:3]
    click_image(qtbot, window, x0, 60)
    wait_regions(qtbot, window, count - 1)  # the box runs into the outside
    assert said[-1] == "Open closure on frame 1 (Ctrl+Z undoes it)"
    assert pixel(window, *inside) == BACKGROUND[:3]  # the larger side's colour
    project = window.session.project
    assert project is not None and len(project.closing(1).openings) == 1
    click_image(qtbot, window, x0, 60)  # its mark: closed again
    wait_regions(qtbot, window, count)
    assert not project.closing(1)
    assert pixel(window, *inside) == BOX[:3]  # as it was painted, not carried


def test_closing_lines_are_saved_reopened_and_exported(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    _, x0 = split_and_paint(qtbot, window, shot_dir)
    saved = tmp_path / "scene.cadmium"
    wait_job(qtbot, window.files.save_as(saved))
    assert not window.session.modified
    out = tmp_path / "out"
    said = status_log(window)
    wait_job(qtbot, window.files.export(out))
    # What is not finished is said (frames 2-6 are blank in color/).
    assert (
        said[-1]
        == f"Exported 6 frames to {out}; frames 2-6 not painted (N goes to each)"
    )
    exported = read_image(out / "color" / "A_0001.png")
    assert tuple(exported[60, x0 + 30, :3]) == style_rgb(window, 4)
    assert tuple(exported[60, x0 + 10, :3]) == BOX[:3]
    # No trace of the line in the exported composite.
    composite = read_image(out / "composite" / "A_0001.png")
    assert tuple(composite[45, x0 + 20, :3]) in (style_rgb(window, 4), BOX[:3])
    assert shows_split_and_painted(qtbot, window, saved)


def test_a_closing_line_that_parts_nothing_says_so(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    said = status_log(window)
    x0, _, _, _ = box_rect(1)
    drag_image(qtbot, window, [(x0 + 20, 45), (x0 + 20, 70)])  # lines far off
    qtbot.waitUntil(lambda: len(said) > 0 and not window.session.jobs.running)
    assert said[-1] == (
        "Closing line on frame 1: it parts no regions yet (draw from line to "
        "line) (Ctrl+Z undoes it)"
    )
    wait_regions(qtbot, window, count)  # analysed anew, with no more regions
