"""Drawings drawn into and deleted from the open shot's line folder: the
timeline follows by itself, paint is never lost, and a whole-shot run
paints the frames the folder holds now.

Also while work on them is under way (a load, a thumbnail, a propagation,
a gap change, an export, a save, the correspondence view): no error box
blames the deletion on the shot, and the timeline follows once the task
ends. Those tests hold a worker at a known point (a function it calls
blocks until released), so the timing is the same every run."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import cv2
from app_helpers import (
    click_image,
    crashed,
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

import cadmium_app.gap as gap_module
import cadmium_app.propagate as propagate_module
from cadmium_app.timeline import FRAME_ROLE
from cadmium_app.watch import frames_text
from cadmium_app.window import MainWindow
from engine.errors import CadmiumError


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
    frames = window.session.frames
    frames.relay.failed.emit(frames.engine, 4, f"{line / 'A_0004.png'}: file not found")
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


# -- while work is under way


def paint(qtbot: QtBot, window: MainWindow, frames=(1, 4)) -> dict:
    spots = {}
    for frame in frames:
        go_to(qtbot, window, frame)
        spots[frame] = points(frame)
        for part, style in (("ring", 5), ("box", 0)):
            window.session.set_style(style)
            click_image(qtbot, window, *spots[frame][part])
    return spots


def capture_errors(window: MainWindow) -> list[str]:
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    return errors


class Gate:
    """Blocks a worker-side function on its first call until released."""

    def __init__(self, monkeypatch, module, name: str) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = getattr(module, name)
        first = [True]

        def wrapper(*args, **kwargs):
            if first[0]:
                first[0] = False
                self.entered.set()
                assert self.release.wait(20)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)


def test_a_load_failing_once_its_frame_is_deleted_says_nothing(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Frame 4 deleted and out of the timeline; a load of it that was under
    way fails afterwards (as the loading thread would say it): no error
    box, and with its drawing back, frame 4 is read and shown."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (4,))
    go_to(qtbot, window, 1)
    errors = capture_errors(window)
    said = status_log(window)
    line = line_shot / "line"
    kept = tmp_path / "A_0004.png"
    shutil.move(line / "A_0004.png", kept)
    window.session.watcher.look()
    assert any("Frame 4 deleted" in s for s in said)
    # The in-flight load's failure lands now (as _Load.run would emit it).
    frames = window.session.frames
    frames.relay.failed.emit(frames.engine, 4, f"{line_shot}: no line frame 4")
    qtbot.wait(400)  # problems are said together, 300 ms after the first
    assert errors == []
    shutil.move(kept, line / "A_0004.png")
    window.session.watcher.look()
    assert any("Frame 4 back" in s for s in said)
    go_to(qtbot, window, 4)
    assert errors == []


def test_a_gap_change_goes_through_when_a_frame_is_deleted_while_it_runs(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Painted frame 4 deleted while gaps are closed anew: the change goes
    through (frame 4 keeps its fills as they were)."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1, 4))
    go_to(qtbot, window, 1)
    errors = capture_errors(window)
    gate = Gate(monkeypatch, gap_module, "return_fills")
    project = window.session.project
    gap = project.gap + 4
    job = window.gap.set_gap(gap)
    assert gate.entered.wait(10)
    shutil.move(line_shot / "line" / "A_0004.png", tmp_path / "A_0004.png")
    window.session.watcher.look()
    gate.release.set()
    wait_job(qtbot, job)
    assert errors == [] and project.gap == gap
    assert project.fills(4) is not None and project.fills(4).painted.sum() == 2


def test_a_frame_back_on_disk_during_a_gap_change_keeps_its_paint(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Painted frame 4 deleted; while gaps are closed anew it comes back:
    taken in when the change ends, painted, on its new regions."""
    open_and_wait(qtbot, window, line_shot)
    spots = paint(qtbot, window, (1, 4))
    go_to(qtbot, window, 1)
    errors = capture_errors(window)
    line = line_shot / "line"
    kept = tmp_path / "A_0004.png"
    shutil.move(line / "A_0004.png", kept)
    window.session.watcher.look()
    project = window.session.project
    assert 4 not in project.shot.line and project.fills(4) is not None
    gate = Gate(monkeypatch, gap_module, "return_fills")
    gap = project.gap + 4
    job = window.gap.set_gap(gap)
    assert gate.entered.wait(10)
    said = status_log(window)
    shutil.move(kept, line / "A_0004.png")
    window.session.watcher.look()
    assert 4 not in project.shot.line  # taken in when the change ends
    gate.release.set()
    wait_job(qtbot, job)
    qtbot.waitUntil(lambda: any("Frame 4 back" in s for s in said), timeout=10000)
    assert project.gap == gap and errors == []
    assert project.fills(4) is not None
    go_to(qtbot, window, 4)
    assert pixel(window, *spots[4]["box"]) == style_rgb(window, 0)


def test_a_frame_deleted_during_a_propagation_is_not_called_skipped(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Frame 6 deleted while the whole shot is propagated: the run paints
    the others, no "skipped" box; the timeline lets frame 6 go after."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1, 4))
    go_to(qtbot, window, 1)
    errors = capture_errors(window)
    said = status_log(window)
    gate = Gate(monkeypatch, propagate_module, "small_labels")
    window.actions.propagate_all.trigger()
    job = window.propagation.last_job
    assert gate.entered.wait(10)
    shutil.move(line_shot / "line" / "A_0006.png", tmp_path / "A_0006.png")
    window.session.watcher.look()
    gate.release.set()
    wait_job(qtbot, job)
    qtbot.waitUntil(lambda: any("Frame 6 deleted" in s for s in said), timeout=10000)
    assert errors == [] and not any("changed on disk" in s for s in said)
    assert window.session.project.painted_frames == [1, 2, 3, 4, 5]  # type: ignore[union-attr]


def test_an_export_stopped_by_a_deleted_frame_says_so(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """An export writes every frame or nothing: one deleted as it runs
    stops it, and the message says which and why, not a missing file."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1,))
    errors = capture_errors(window)
    import cadmium_app.outputs as outputs_module

    gate = Gate(monkeypatch, outputs_module.FillMap, "empty")
    job = window.files.export(tmp_path / "out")
    assert gate.entered.wait(10)
    shutil.move(line_shot / "line" / "A_0006.png", tmp_path / "A_0006.png")
    window.session.watcher.look()
    gate.release.set()
    wait_job(qtbot, job)
    assert errors == [
        "Export stopped: frame 6 deleted on disk while it ran; nothing was "
        "written (export again)"
    ]
    assert not (tmp_path / "out").exists()


def test_undo_of_paint_on_a_deleted_frame_says_where_it_went(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Ctrl+Z of paint on a frame since deleted on disk undoes it there,
    stays on the frame shown, and says so."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (4,))
    errors = capture_errors(window)
    said = status_log(window)
    shutil.move(line_shot / "line" / "A_0004.png", tmp_path / "A_0004.png")
    window.session.watcher.look()
    assert window.session.frame == 5
    window.session.undo_stack.undo()
    assert said[-1] == (
        "Undid Fill on frame 4 (deleted on disk: its paint is kept out of sight)"
    )
    assert window.session.frame == 5 and errors == []
    fills = window.session.project.fills(4)  # type: ignore[union-attr]
    assert fills is not None and fills.painted.sum() == 1  # the ring's, kept


def test_the_status_bar_frame_count_follows_the_folder(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    """The status bar's "Frame 4 (4/6)" counts a frame drawn on disk."""
    open_and_wait(qtbot, window, line_shot)
    go_to(qtbot, window, 4)
    said = status_log(window)
    cv2.imwrite(str(line_shot / "line" / "A_0007.png"), draw_frame(7)[0])
    window.session.watcher.look()
    assert any("Frame 7 drawn" in s for s in said)
    assert window.frame_label.text().startswith("Frame 4  (4/7)")


def test_a_painted_frame_back_on_disk_has_its_colours_on_the_timeline(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Painted frame 4 deleted and back, unvisited: its thumbnail shows its
    colours again (its regions are read in the background)."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (4,))
    go_to(qtbot, window, 1)
    qtbot.wait(300)
    line = line_shot / "line"
    shutil.move(line / "A_0004.png", tmp_path / "A_0004.png")
    window.session.watcher.look()
    shutil.move(tmp_path / "A_0004.png", line / "A_0004.png")
    window.session.watcher.look()
    frames = window.session.frames
    qtbot.waitUntil(lambda: 4 in frames.label_thumbs, timeout=10000)
    image = window.timeline.thumbnail(4)
    assert image is not None
    x, y = points(4)["box"]
    shown = image.pixelColor(x // frames.step, y // frames.step)
    assert (shown.red(), shown.green(), shown.blue()) == style_rgb(window, 0)


class NumberGate:
    """Blocks a worker-side function (engine, number, ...) for one frame."""

    def __init__(self, monkeypatch, module, name: str, number: int) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = getattr(module, name)

        def wrapper(engine, n, *args, **kwargs):
            if n == number and not self.entered.is_set():
                self.entered.set()
                assert self.release.wait(20)
            return original(engine, n, *args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)


def test_a_load_in_flight_when_its_frame_is_deleted_gives_no_error(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Frame 4 is being segmented for the canvas when its file is deleted
    and the timeline lets it go: no error box; back on disk, it is read
    and shown."""
    import cadmium_app.frames as frames_module

    open_and_wait(qtbot, window, line_shot)
    errors = capture_errors(window)
    status_log(window)
    gate = NumberGate(monkeypatch, frames_module, "analysed", 4)
    window.session.set_frame(4)
    assert gate.entered.wait(10)
    line = line_shot / "line"
    kept = tmp_path / "A_0004.png"
    shutil.move(line / "A_0004.png", kept)
    window.session.watcher.look()
    gate.release.set()
    qtbot.wait(500)  # the failure, said 300 ms after it lands
    assert errors == []
    shutil.move(kept, line / "A_0004.png")
    window.session.watcher.look()
    go_to(qtbot, window, 4)
    assert errors == []


def test_a_thumbnail_of_a_frame_deleted_before_it_is_read_is_dropped(
    qtbot: QtBot,
    window: MainWindow,
    line_shot: Path,
    tmp_path: Path,
    monkeypatch,
    capfd,
) -> None:
    """Frames 7 and 8 drawn; 8 deleted again (a temporary file) while its
    thumbnail waits behind 7's: the thumbnail is dropped, no error in the
    loading thread."""
    import cadmium_app.frames as frames_module

    open_and_wait(qtbot, window, line_shot)
    qtbot.wait(500)
    blocker = threading.Event()
    entered = threading.Event()
    original = frames_module.small_ink

    def slow_small_ink(image, step):
        entered.set()
        assert blocker.wait(20)
        return original(image, step)

    monkeypatch.setattr(frames_module, "small_ink", slow_small_ink)
    line = line_shot / "line"
    cv2.imwrite(str(line / "A_0007.png"), draw_frame(7)[0])
    cv2.imwrite(str(line / "A_0008.png"), draw_frame(8)[0])
    window.session.watcher.look()  # thumbnails of 7 and 8 queued
    assert entered.wait(10)  # 7's thumbnail in small_ink; 8's queued
    (line / "A_0008.png").unlink()
    window.session.watcher.look()  # 8 removed before its thumbnail runs
    blocker.set()
    qtbot.wait(800)
    _, err = capfd.readouterr()
    assert "Error" not in err and 8 not in window.session.frames.ink_thumbs


def test_a_match_in_flight_when_its_frame_is_deleted_gives_no_error(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """The correspondence view matching key 1 to frame 4 when frame 4 is
    deleted: no error box."""
    import cadmium_app.correspondence as corr_module

    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1,))
    go_to(qtbot, window, 4)
    errors = capture_errors(window)
    gate = Gate(monkeypatch, corr_module, "compute_pair")
    window.correspondence.show()
    assert gate.entered.wait(10)
    shutil.move(line_shot / "line" / "A_0004.png", tmp_path / "A_0004.png")
    window.session.watcher.look()
    gate.release.set()
    summary = window.correspondence.window.summary
    qtbot.waitUntil(lambda: "Frame 5 from key 1" in summary.text(), timeout=10000)
    assert errors == []


def test_a_save_in_flight_and_a_recovered_autosave_keep_a_deleted_frame(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Key 4 deleted while a save runs: the save keeps its paint and key
    mark; so does an autosave recovered after a crash, and the drawing
    back, it shows its paint."""
    from app_helpers import make_window

    import engine.project as project_module
    from engine.project import load_project

    open_and_wait(qtbot, window, line_shot)
    spots = paint(qtbot, window, (1, 4))
    go_to(qtbot, window, 1)
    errors = capture_errors(window)
    gate = Gate(monkeypatch, project_module, "_write_entry")
    path = tmp_path / "A.cadmium"
    job = window.files.save_as(path)
    assert gate.entered.wait(10)
    kept = tmp_path / "A_0004.png"
    shutil.move(line_shot / "line" / "A_0004.png", kept)
    window.session.watcher.look()
    gate.release.set()
    wait_job(qtbot, job)
    assert errors == []
    loaded = load_project(path)
    assert loaded.fills(4) is not None and 4 in loaded.keys
    # Autosave with frame 4 hidden, then a crash and recovery.
    window.session.set_style(3)
    click_image(qtbot, window, *spots[1]["eye"])
    wait_job(qtbot, window.files.autosave())
    window.session.saved_revision = window.session.project.revision  # "crash"
    crashed(window)
    again = make_window(qtbot, tmp_path / "again")
    again.dialogs.recover = lambda when: True  # type: ignore[method-assign]
    again_errors = capture_errors(again)
    open_and_wait(qtbot, again, path)
    project = again.session.project
    assert project.fills(4) is not None and 4 in project.keys
    shutil.move(kept, line_shot / "line" / "A_0004.png")
    again.session.watcher.look()
    go_to(qtbot, again, 4)
    assert pixel(again, *spots[4]["box"]) == style_rgb(again, 0)
    assert again_errors == []
    again.close()


def test_the_correspondence_view_follows_a_key_deleted_on_disk(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Key 4 deleted on disk while the view matches frame 6 to it: the view
    matches frame 6 to key 1 instead, and its list of keys says so."""
    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1, 4))
    go_to(qtbot, window, 6)
    corr = window.correspondence
    corr.show()
    summary = corr.window.summary
    qtbot.waitUntil(lambda: "from key 4" in summary.text(), timeout=10000)
    shutil.move(line_shot / "line" / "A_0004.png", tmp_path / "A_0004.png")
    window.session.watcher.look()
    qtbot.waitUntil(lambda: "from key 1" in summary.text(), timeout=10000)
    assert corr.window.key_box.currentText() == "frame 1"


def test_a_task_failing_for_another_reason_is_not_blamed_on_a_deleted_frame(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """A frame deleted while a propagation and an export run, which stop
    for other reasons (a damaged key, a full disk): the messages give
    those reasons."""
    import cadmium_app.files as files_module

    open_and_wait(qtbot, window, line_shot)
    paint(qtbot, window, (1,))
    errors = capture_errors(window)
    line = line_shot / "line"

    def damaged(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        shutil.move(line / "A_0006.png", tmp_path / "A_0006.png")
        raise CadmiumError(f"{line / 'A_0001.png'}: the PNG is damaged")

    monkeypatch.setattr(propagate_module, "run_propagation", damaged)
    window.actions.propagate_all.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert len(errors) == 1 and errors[0].endswith("A_0001.png: the PNG is damaged")

    shutil.move(tmp_path / "A_0006.png", line / "A_0006.png")

    def full(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        shutil.move(line / "A_0006.png", tmp_path / "A_0006.png")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module, "write_outputs", full)
    wait_job(qtbot, window.files.export(tmp_path / "out"))
    assert len(errors) == 2 and "No space left on device" in errors[1]
    assert "deleted" not in errors[1]


def test_a_load_failing_while_its_file_was_rewritten_says_nothing(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    """A drawing saved by deleting and writing its file: a load that failed
    in between lands once the new file is there. No error box; the frame
    is read again and shown."""
    open_and_wait(qtbot, window, line_shot)
    errors = capture_errors(window)
    path = line_shot / "line" / "A_0004.png"
    line, _ = draw_frame(4)
    path.unlink()
    cv2.imwrite(str(path), line)
    frames = window.session.frames
    frames.relay.failed.emit(frames.engine, 4, f"{path}: file not found")
    qtbot.wait(400)  # problems are said together, 300 ms after the first
    assert errors == [] and 4 not in frames.errors
    go_to(qtbot, window, 4)
