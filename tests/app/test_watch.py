"""Drawings drawn into and deleted from the open shot's line folder: the
timeline follows by itself, paint is never lost, and a whole-shot run
paints the frames the folder holds now."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
from app_helpers import (
    click_image,
    draw_frame,
    go_to,
    open_and_wait,
    pixel,
    points,
    status_log,
    style_rgb,
    wait_job,
)
from pytestqt.qtbot import QtBot

from cadmium_app.timeline import FRAME_ROLE
from cadmium_app.watch import frames_text
from cadmium_app.window import MainWindow


def timeline_frames(window: MainWindow) -> list[int]:
    model = window.timeline.model
    return [model.index(row).data(FRAME_ROLE) for row in range(model.rowCount())]


def test_frames_drawn_and_deleted_on_disk_join_and_leave_the_timeline(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Keys 1 and 4 painted, frame 4 shown. Frames 7 and 8 are drawn on disk: they join
    the timeline, with thumbnails, and the status bar says so. Frame 4 is
    deleted: it leaves the timeline, frame 5 is shown, and its paint is
    kept; propagating the whole shot paints the frames there are, without a
    word about frame 4. Its drawing back, frame 4 shows its own paint."""
    open_and_wait(qtbot, window, line_shot)
    for frame in (1, 4):
        go_to(qtbot, window, frame)
        spots = points(frame)
        for part, style in (("ring", 5), ("box", 0)):
            window.session.set_style(style)
            click_image(qtbot, window, *spots[part])
    said = status_log(window)
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    line = line_shot / "line"

    for number in (7, 8):
        cv2.imwrite(str(line / f"A_{number:04d}.png"), draw_frame(number)[0])
    expected = "Frames 7 and 8 drawn on disk: added to the timeline"
    qtbot.waitUntil(lambda: expected in said, timeout=10000)
    assert timeline_frames(window) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert window.canvas.badge.startswith("Frame 4  (4/8)")
    frames = window.session.frames
    qtbot.waitUntil(lambda: {7, 8} <= set(frames.ink_thumbs), timeout=10000)
    assert window.timeline.thumbnail(8) is not None

    kept = tmp_path / "A_0004.png"
    shutil.move(line / "A_0004.png", kept)
    expected = (
        "Frame 4 deleted on disk: out of the timeline; paint is kept should it "
        "come back"
    )
    qtbot.waitUntil(lambda: expected in said, timeout=10000)
    assert timeline_frames(window) == [1, 2, 3, 5, 6, 7, 8]
    assert window.session.frame == 5

    window.actions.propagate_all.trigger()
    wait_job(qtbot, window.propagation.last_job)
    project = window.session.project
    assert project is not None
    assert project.painted_frames == [1, 2, 3, 5, 6, 7, 8]
    assert errors == [] and not any("skipped" in s for s in said)

    shutil.move(kept, line / "A_0004.png")
    expected = "Frame 4 back on disk, with the paint kept for it"
    qtbot.waitUntil(lambda: expected in said, timeout=10000)
    assert timeline_frames(window) == [1, 2, 3, 4, 5, 6, 7, 8]
    go_to(qtbot, window, 4)
    assert pixel(window, *spots["ring"]) == style_rgb(window, 5)
    assert pixel(window, *spots["box"]) == style_rgb(window, 0)


def test_a_gap_change_keeps_the_paint_of_a_frame_deleted_on_disk(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Frame 4 painted, then deleted on disk (while it was being read: no
    error box); gaps closed wider: the change goes through, and frame 4,
    back, has its paint on its new regions."""
    open_and_wait(qtbot, window, line_shot)
    go_to(qtbot, window, 4)
    spots = points(4)
    window.session.set_style(0)
    click_image(qtbot, window, *spots["box"])
    said = status_log(window)
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    line = line_shot / "line"
    kept = tmp_path / "A_0004.png"
    shutil.move(line / "A_0004.png", kept)
    # As when a loading thread was reading it: no error box for that.
    window.session.frames.failed.emit(4, f"{line / 'A_0004.png'}: file not found")
    qtbot.waitUntil(lambda: any("Frame 4 deleted" in s for s in said), timeout=10000)
    qtbot.wait(400)
    assert errors == []
    gap = window.session.project.gap + 4  # type: ignore[union-attr]
    wait_job(qtbot, window.gap.set_gap(gap))
    assert errors == [] and window.session.project.gap == gap  # type: ignore[union-attr]
    shutil.move(kept, line / "A_0004.png")
    qtbot.waitUntil(lambda: any("Frame 4 back" in s for s in said), timeout=10000)
    go_to(qtbot, window, 4)
    assert pixel(window, *spots["box"]) == style_rgb(window, 0)
    assert pixel(window, *spots["ring"]) == (255, 255, 255)


def test_a_folder_that_cannot_be_read_leaves_the_timeline_as_it_was(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    """Two files of one number while a save is under way: the timeline
    stays, the status bar says why once, and the save done, the new frame
    joins."""
    open_and_wait(qtbot, window, line_shot)
    said = status_log(window)
    line = line_shot / "line"
    cv2.imwrite(str(line / "B_0002.png"), draw_frame(2)[0])
    qtbot.waitUntil(lambda: any("appears twice" in s for s in said), timeout=10000)
    assert said[-1].endswith(": the timeline is left as it was")
    assert timeline_frames(window) == [1, 2, 3, 4, 5, 6]
    window.session.watcher.look()
    assert sum("appears twice" in s for s in said) == 1
    (line / "B_0002.png").rename(line / "A_0009.png")
    expected = "Frame 9 drawn on disk: added to the timeline"
    qtbot.waitUntil(lambda: expected in said, timeout=10000)
    assert timeline_frames(window) == [1, 2, 3, 4, 5, 6, 9]


def test_an_unpainted_frame_deleted_on_disk_is_not_said_to_keep_paint(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    said = status_log(window)
    (line_shot / "line" / "A_0006.png").unlink()
    expected = "Frame 6 deleted on disk: out of the timeline"
    qtbot.waitUntil(lambda: expected in said, timeout=10000)


def test_frame_lists_are_said_shortly() -> None:
    assert frames_text([4]) == "frame 4"
    assert frames_text([4, 5, 7]) == "frames 4, 5 and 7"
    assert frames_text(list(range(1, 10))) == "frames 1, 2, 3, 4, 5, 6 and 3 more"
