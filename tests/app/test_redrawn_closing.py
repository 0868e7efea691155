"""A frame redrawn on disk while it is painted: its closing lines move with
the new drawing, so the shapes they part keep their colours."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from app_helpers import BOX, box_rect, pixel, status_log, style_rgb
from pytestqt.qtbot import QtBot
from test_closing import split_and_paint

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
    split_and_paint(qtbot, window, shot_dir)
    project = window.session.project
    assert project is not None
    (drawn,) = project.closing(1).strokes
    said = status_log(window)

    shift_drawing(shot_dir, 1, *SHIFT)
    qtbot.waitUntil(lambda: project.closing(1).strokes != (drawn,), timeout=10000)
    qtbot.waitUntil(lambda: any("was redrawn" in s for s in said), timeout=10000)
    assert "Frame 1 was redrawn: its closing lines moved with it" in said
    (moved,) = project.closing(1).strokes
    # Down the middle of the box where it lies now, from line to line.
    x0, y0, _, y1 = box_rect(1)
    dx, dy = SHIFT
    assert all(abs(x - (x0 + 20 + dx)) <= 1 for x, _ in moved)
    assert {moved[0][1], moved[-1][1]} <= set(range(y0 + dy - 1, y0 + dy + 2)) | set(
        range(y1 + dy - 1, y1 + dy + 2)
    )
    # The box's halves as they were painted: the line still parts it.
    qtbot.waitUntil(
        lambda: (
            (f := window.session.current()) is not None
            and f.regions.layout == project.snapshot().layouts.get(1)
            and pixel(window, x0 + dx + 30, 60 + dy) == style_rgb(window, 4)
        ),
        timeout=10000,
    )
    assert pixel(window, x0 + dx + 10, 60 + dy) == BOX[:3]
    assert window.session.modified

    # Undo the paint and the line, redo both: the line comes back where
    # it went, not where it was drawn.
    stack = window.session.undo_stack
    stack.undo()
    stack.undo()
    assert not project.closing(1)
    stack.redo()
    assert project.closing(1).strokes == (moved,)
    stack.redo()
    qtbot.waitUntil(
        lambda: pixel(window, x0 + dx + 30, 60 + dy) == style_rgb(window, 4),
        timeout=10000,
    )
    assert pixel(window, x0 + dx + 10, 60 + dy) == BOX[:3]
