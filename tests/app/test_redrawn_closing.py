"""A frame redrawn on disk while it is painted: its closing lines move with
the new drawing, so the shapes they part keep their colours."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from app_helpers import (
    BOX,
    box_rect,
    go_to,
    pixel,
    status_log,
    style_rgb,
    wait_job,
    wait_ready,
)
from pytestqt.qtbot import QtBot
from test_closing import drag_image, split_and_painted, wait_regions

from cadmium_app.carry_closing import FORWARD
from cadmium_app.window import MainWindow

SHIFT = (4, 3)  # the redrawn frame's drawing moved right and down (px)


def shift_drawing(shot: Path, frame: int, dx: int, dy: int) -> None:
    """Frame's line art redrawn on disk, moved by (dx, dy)."""
    path = shot / "line" / f"A_{frame:04d}.png"
    line = cv2.imread(str(path))
    cv2.imwrite(str(path), np.roll(line, (dy, dx), axis=(0, 1)))


def test_a_redrawn_frame_s_closing_line_moves_with_it_and_its_halves_keep_their_paint(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = split_and_painted(qtbot, window, shot_dir)
    (drawn,) = project.closing(1).strokes
    wait_job(qtbot, window.files.save_as(shot_dir.parent / "scene.cadmium"))
    assert not window.session.modified
    said = status_log(window)

    shift_drawing(shot_dir, 1, *SHIFT)
    qtbot.waitUntil(lambda: project.closing(1).strokes != (drawn,), timeout=10000)
    qtbot.waitUntil(lambda: any("was redrawn" in s for s in said), timeout=10000)
    assert "Frame 1 was redrawn: its closing lines moved with it" in said
    (moved,) = project.closing(1).strokes
    # Down the middle of the box where it lies now, from line to line.
    dx, dy = SHIFT
    assert moved == tuple((x + dx, y + dy) for x, y in drawn)
    # The box's halves as they were painted: the line still parts it.
    x0, _, _, _ = box_rect(1)
    qtbot.waitUntil(
        lambda: (
            (f := window.session.current()) is not None
            and f.regions.layout == project.snapshot().layouts.get(1)
            and pixel(window, x0 + dx + 30, 60 + dy) == style_rgb(window, 4)
        ),
        timeout=10000,
    )
    assert pixel(window, x0 + dx + 10, 60 + dy) == BOX[:3]
    # The paint undone and redone: back to the revision saved, but with the
    # line moved since, so still not saved.
    stack = window.session.undo_stack
    stack.undo()
    stack.redo()
    assert window.session.modified

    # Undo the paint and the line, redo both: the line comes back where it
    # was drawn and follows the drawing again, to the same place; the
    # project reads as changed since it was saved.
    for _ in range(2):
        stack.undo()
        stack.undo()
        assert not project.closing(1)
        stack.redo()
        stack.redo()
        qtbot.waitUntil(lambda: project.closing(1).strokes == (moved,), timeout=10000)
        qtbot.waitUntil(
            lambda: pixel(window, x0 + dx + 30, 60 + dy) == style_rgb(window, 4),
            timeout=10000,
        )
        assert pixel(window, x0 + dx + 10, 60 + dy) == BOX[:3]
        assert window.session.modified


def test_lines_carried_onto_a_frame_redrawn_unseen_go_with_its_own_moved(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    # Frame 5 (unpainted) has a line of its own across its box; its drawing
    # is redrawn on disk while frame 1 is shown, so nothing analyses it and
    # its line has not followed. Key 1's line carried there takes frame 5's
    # own line along to where its drawing went, not where it was.
    project = split_and_painted(qtbot, window, shot_dir)
    go_to(qtbot, window, 5)
    count = window.session.current().regions.count  # type: ignore[union-attr]
    window.actions.close_tool.trigger()
    x0, y0, x1, _ = box_rect(5)
    drag_image(qtbot, window, [(x0 + 3, y0 + 15), (x1 - 3, y0 + 15)])
    wait_regions(qtbot, window, count + 1)
    (own,) = project.closing(5).strokes
    go_to(qtbot, window, 1)
    said = status_log(window)
    shift_drawing(shot_dir, 5, *SHIFT)
    qtbot.waitUntil(lambda: any("changed on disk" in s for s in said), timeout=10000)
    assert project.closing(5).strokes == (own,)  # not analysed, not followed
    wait_job(qtbot, window.carrier.carry(FORWARD))
    wait_ready(qtbot, window)
    dx, dy = SHIFT
    assert tuple((x + dx, y + dy) for x, y in own) in project.closing(5).strokes
    assert own not in project.closing(5).strokes
    assert len(project.closing(5).strokes) == 2  # its own, and the one carried
