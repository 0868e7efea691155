"""Carry closing lines (Shift+G, Ctrl+Shift+G): a key's closing line goes
to its in-betweens, up to the next key, moved with the drawing; one undo
step; propagation then paints each side from the key."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
from app_helpers import (
    BOX,
    box_rect,
    click_image,
    go_to,
    make_shot,
    pixel,
    status_log,
    style_rgb,
    wait_job,
    wait_ready,
)
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_closing import drag_image, split_and_painted, wait_regions

from cadmium_app.carry_closing import FORWARD
from cadmium_app.window import MainWindow
from engine.closing_lines import ClosingLines
from engine.facade import NO_CLOSING
from engine.matching import Frame
from engine.project import Project


def halves(window: MainWindow, frame: int) -> tuple[tuple[int, int, int], ...]:
    """The colours shown left and right of the middle of frame's box."""
    x0, _, _, _ = box_rect(frame)
    return pixel(window, x0 + 10, 60), pixel(window, x0 + 30, 60)


def carry(qtbot: QtBot, window: MainWindow, *, back: bool = False) -> None:
    modifiers = Qt.KeyboardModifier.ShiftModifier
    if back:
        modifiers |= Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(window.canvas, Qt.Key.Key_G, modifiers)
    wait_job(qtbot, window.carrier.last_job)
    wait_ready(qtbot, window)


def split_and_propagate(qtbot: QtBot, window: MainWindow, shot: Path) -> Project:
    """`split_and_paint` on key 1, then propagated (each in-between's box
    is one region, and takes one colour), and back on frame 1."""
    project = split_and_painted(qtbot, window, shot)
    wait_job(qtbot, window.propagation.propagate_all())
    go_to(qtbot, window, 1)
    return project


def test_a_keys_closing_line_goes_to_its_inbetweens_and_propagation_paints_them(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = split_and_propagate(qtbot, window, shot_dir)
    said = status_log(window)
    steps = window.session.undo_stack.count()
    carry(qtbot, window)
    assert said[-1] == (
        "Frame 1's closing lines carried to frames 2-6 (Ctrl+Z undoes it); "
        "propagate to paint the regions they part"
    )
    assert window.session.undo_stack.count() == steps + 1
    for frame in range(2, 7):
        (stroke,) = project.closing(frame).strokes
        x0, y0, _, y1 = box_rect(frame)
        # Down the middle of the box as it is on that frame, top to bottom.
        assert all(abs(x - (x0 + 20)) <= 2 for x, _ in stroke)
        assert {stroke[0][1], stroke[-1][1]} <= {y0 - 1, y0, y0 + 1, y1 - 1, y1, y1 + 1}
    # Both sides keep the colour the box had, flagged for review.
    go_to(qtbot, window, 4)
    left, right = halves(window, 4)
    assert left == right
    fills = project.fills(4)
    assert fills is not None and fills.flagged.sum() >= 2
    # Propagation paints each side as the key has it.
    wait_job(qtbot, window.propagation.propagate_all())
    for frame in (2, 4, 6):
        go_to(qtbot, window, frame)
        assert halves(window, frame) == (BOX[:3], style_rgb(window, 4))


def test_one_undo_takes_every_carried_line_back_and_redo_brings_them(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = split_and_propagate(qtbot, window, shot_dir)
    before = {frame: project.fills(frame) for frame in range(2, 7)}
    carry(qtbot, window)
    carried = {frame: project.closing(frame) for frame in range(2, 7)}
    said = status_log(window)
    window.session.undo_stack.undo()
    assert said[-1] == "Undid Carry closing lines from frame 1 (frames 2-6)"
    for frame in range(2, 7):
        assert not project.closing(frame)
        now, then = project.fills(frame), before[frame]
        assert now is not None and then is not None and not now.differs(then).any()
    window.session.undo_stack.redo()
    assert {frame: project.closing(frame) for frame in range(2, 7)} == carried
    # Carried again: every line is there already; nothing changes.
    steps = window.session.undo_stack.count()
    carry(qtbot, window)
    assert window.session.undo_stack.count() == steps
    assert {frame: project.closing(frame) for frame in range(2, 7)} == carried


def keyed_and_split(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, keys: tuple[int, ...]
) -> Project:
    """A six-frame shot with these keys, opened, and `split_and_paint` on
    key 1."""
    shot = make_shot(tmp_path / "keyed", frames=6, keys=keys)
    return split_and_painted(qtbot, window, shot)


def part_key_six(qtbot: QtBot, window: MainWindow) -> None:
    """Key 6's box parted three quarters across (a shadow grown since key
    1's, down its middle), with the Close gap tool; back on frame 1."""
    go_to(qtbot, window, 6)
    count = window.session.current().regions.count  # type: ignore[union-attr]
    window.actions.close_tool.trigger()
    x0, y0, _, y1 = box_rect(6)
    drag_image(qtbot, window, [(x0 + 30, y0 + 3), (x0 + 30, y1 - 3)])
    wait_regions(qtbot, window, count + 1)
    go_to(qtbot, window, 1)


def test_lines_stop_at_the_next_key_and_go_back_to_the_key_before(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    project = keyed_and_split(qtbot, window, tmp_path, (1, 4))
    said = status_log(window)
    carry(qtbot, window)
    assert [f for f in range(1, 7) if project.closing(f)] == [1, 2, 3]
    # Key 4 paints the whole box one colour: propagation would run it into
    # both sides of the line near it.
    assert said[-1] == (
        "Frame 1's closing lines carried to frames 2-3 (Ctrl+Z undoes it); "
        "propagate to paint the regions they part; key 4 has no closing lines "
        "(where it shows the shape, part it there too, so both keys paint its "
        "sides)"
    )
    # From frame 3 back: frame 2 has the line already; nothing to add.
    go_to(qtbot, window, 3)
    carry(qtbot, window, back=True)
    assert said[-1] == "Frame 3's closing lines are on frame 2 already"
    go_to(qtbot, window, 6)
    carry(qtbot, window)
    assert said[-1] == (
        "Frame 6 has no closing lines to carry (draw them with the Close gap tool, G)"
    )


def ink_box_in_two(shot: Path, frame: int) -> None:
    """The frame's box inked in two down its middle, on disk."""
    path = shot / "line" / f"A_{frame:04d}.png"
    line = cv2.imread(str(path))
    x0, y0, _, y1 = box_rect(frame)
    cv2.line(line, (x0 + 20, y0), (x0 + 20, y1), (0, 0, 0), 2)
    cv2.imwrite(str(path), line)


def test_a_line_that_would_part_nothing_stops_and_says_where(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    # Frame 4's box is inked in two down its middle: the line carried there
    # parts nothing more, and goes no further.
    ink_box_in_two(shot_dir, 4)
    project = split_and_painted(qtbot, window, shot_dir)
    said = status_log(window)
    carry(qtbot, window)
    assert said[-1] == (
        "Frame 1's closing lines carried to frames 2-3 (Ctrl+Z undoes it); "
        "propagate to paint the regions they part; a line stopped at frame 4 "
        "(it would part no region there: draw it by hand)"
    )
    assert [f for f in range(1, 7) if project.closing(f)] == [1, 2, 3]


def test_past_where_the_line_stops_the_next_keys_line_carried_back_goes_on(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    # Key 1's box parted down its middle, key 6's three quarters across;
    # frame 3's box is inked in two down its middle, so key 1's line parts
    # nothing there and stops. Frames 3-5 take key 6's line, carried back
    # (on frame 3 it parts the right half).
    shot = make_shot(tmp_path / "keyed", frames=6, keys=(1, 6))
    ink_box_in_two(shot, 3)
    project = split_and_painted(qtbot, window, shot)
    part_key_six(qtbot, window)
    said = status_log(window)
    carry(qtbot, window)
    assert said[-1] == (
        "Frame 1's closing lines carried to frame 2, in between with key 6's, "
        "key 6's carried back to frames 3-5 (Ctrl+Z undoes it); propagate to "
        "paint the regions they part"
    )
    assert [f for f in range(1, 7) if project.closing(f)] == [1, 2, 3, 4, 5, 6]
    for frame in (3, 4, 5):
        (stroke,) = project.closing(frame).strokes
        x0, _, _, _ = box_rect(frame)
        assert all(abs(x - (x0 + 30)) <= 1.5 for x, _ in stroke), (frame, stroke)
    window.session.undo_stack.undo()
    assert [f for f in range(1, 7) if project.closing(f)] == [1, 6]


def hold_carrying(window: MainWindow) -> threading.Event:
    """The carry's reading of frames waits, as on long 4K shots, until set."""
    gate, engine = threading.Event(), window.session.engine
    assert engine is not None
    frame = engine.frame

    def slow(number: int, closing: ClosingLines = NO_CLOSING) -> Frame:
        gate.wait(10)
        return frame(number, closing)

    engine.frame = slow  # type: ignore[method-assign]
    return gate


def test_lines_undone_while_they_are_carried_are_not_carried(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = split_and_propagate(qtbot, window, shot_dir)
    stack, gate = window.session.undo_stack, hold_carrying(window)
    said = status_log(window)
    job = window.carrier.carry(FORWARD)
    while project.closing(1):
        stack.undo()
    gate.set()
    wait_job(qtbot, job)
    wait_ready(qtbot, window)
    assert not any(project.closing(f) for f in range(2, 7))
    assert stack.canRedo()  # the line undone can be redone
    assert said[-1] == (
        "Carry closing lines: frame 1's closing lines changed meanwhile; "
        "nothing changed (carry them again)"
    )


def test_a_frame_made_a_key_while_lines_are_carried_keeps_them_off(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = split_and_propagate(qtbot, window, shot_dir)
    gate = hold_carrying(window)
    job = window.carrier.carry(FORWARD)
    window.session.set_frame(4)
    qtbot.keyClick(window.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)
    gate.set()
    wait_job(qtbot, job)
    wait_ready(qtbot, window)
    assert 4 in project.keys
    assert [f for f in range(1, 7) if project.closing(f)] == [1, 2, 3]


def test_paint_put_on_a_frame_while_lines_are_carried_to_it_is_kept(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    split_and_propagate(qtbot, window, shot_dir)
    go_to(qtbot, window, 3)  # its regions loaded, to paint it meanwhile
    go_to(qtbot, window, 1)
    gate = hold_carrying(window)
    job = window.carrier.carry(FORWARD)
    # Frame 3's box painted style 6 while the carry reads the frames.
    go_to(qtbot, window, 3)
    window.actions.fill_tool.trigger()
    window.session.set_style(6)
    x0, _, _, _ = box_rect(3)
    click_image(qtbot, window, x0 + 20, 60)
    gate.set()
    wait_job(qtbot, job)
    wait_ready(qtbot, window)
    project = window.session.project
    assert project is not None and len(project.closing(3).strokes) == 1
    assert halves(window, 3) == (style_rgb(window, 6), style_rgb(window, 6))


def test_lines_carried_up_to_a_key_with_its_own_go_in_between_the_two(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    # The box parted down its middle on key 1, and three quarters across it
    # on key 6 (a shadow that grows): carried from key 1, each in-between
    # has one line, placed between the keys' by timing.
    project = keyed_and_split(qtbot, window, tmp_path, (1, 6))
    part_key_six(qtbot, window)
    said = status_log(window)
    carry(qtbot, window)
    assert said[-1] == (
        "Frame 1's closing lines carried to frames 2-5, in between with key 6's "
        "(Ctrl+Z undoes it); propagate to paint the regions they part"
    )
    for frame in range(2, 6):
        (stroke,) = project.closing(frame).strokes
        x0, _, _, _ = box_rect(frame)
        across = 20 + 10 * (frame - 1) / 5  # px from the box's left side
        assert all(abs(x - (x0 + across)) <= 1.5 for x, _ in stroke), (frame, stroke)
