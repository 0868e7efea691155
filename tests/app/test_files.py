"""Projects: save, close and reopen; autosave and recovery; export; bad
input; a save killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from app_helpers import (
    box_rect,
    click_image,
    crashed,
    go_to,
    make_shot,
    make_window,
    open_and_wait,
    pixel,
    points,
    style_rgb,
    wait_job,
    wait_ready,
)
from PySide6.QtCore import QLockFile, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from cadmium_app.window import MainWindow
from engine.project import autosave_path_for, load_project

REPO = Path(__file__).resolve().parents[2]


def fills_of(window: MainWindow) -> dict[int, tuple[np.ndarray, ...]]:
    project = window.session.project
    assert project is not None
    out = {}
    for frame in project.painted_frames:
        fills = project.fills(frame)
        assert fills is not None
        out[frame] = (fills.style, fills.origin, fills.confidence, fills.flagged)
    return out


def paint_a_change(qtbot: QtBot, window: MainWindow) -> None:
    """An unsaved change: frame 1's ring painted with style 3."""
    window.session.set_style(3)
    click_image(qtbot, window, *points(1)["ring"])


def assert_same_fills(
    before: dict[int, tuple[np.ndarray, ...]], after: dict[int, tuple[np.ndarray, ...]]
) -> None:
    """Every frame of the shot (6) painted, and painted alike."""
    assert sorted(after) == sorted(before) == [1, 2, 3, 4, 5, 6]
    for frame, arrays in before.items():
        for a, b in zip(arrays, after[frame], strict=True):
            assert np.array_equal(a, b), frame


def test_save_close_and_reopen_restores_every_fill(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    go_to(qtbot, window, 4)
    window.session.set_style(6)
    click_image(qtbot, window, *points(4)["eye"])
    window.palette.recolor_style(6, (10, 200, 30, 255))
    path = tmp_path / "scene.cadmium"
    window.dialogs.save_project_file = lambda *a: path  # type: ignore[method-assign]
    window.actions.save.trigger()
    qtbot.waitUntil(lambda: not window.session.modified, timeout=10000)
    assert "scene.cadmium" in window.windowTitle()
    # A change makes it modified; undoing back to what was saved makes it
    # saved again, and the title says so.
    window.session.set_style(2)
    click_image(qtbot, window, *points(4)["eye"])
    assert window.session.modified and window.isWindowModified()
    window.session.undo_stack.undo()
    assert not window.session.modified and not window.isWindowModified()
    before = fills_of(window)
    palette = window.session.project.palette  # type: ignore[union-attr]
    window.close()

    reopened = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, reopened, path)
    # Timeline thumbnails show the paint of frames not visited yet.
    thumbs = reopened.session.frames.label_thumbs
    qtbot.waitUntil(lambda: sorted(thumbs) == [1, 2, 3, 4, 5, 6], timeout=20000)
    after = fills_of(reopened)
    assert_same_fills(before, after)
    assert reopened.session.project.palette == palette  # type: ignore[union-attr]
    assert reopened.session.project.keys == {1}  # type: ignore[union-attr]
    go_to(qtbot, reopened, 4)
    assert pixel(reopened, *points(4)["eye"]) == (10, 200, 30)
    reopened.close()


def propagated_and_saved(
    qtbot: QtBot, shot_dir: Path, path: Path
) -> tuple[MainWindow, Path]:
    """A window on the shot, propagated whole and saved as ``path``."""
    window = make_window(qtbot, path.parent)
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    wait_job(qtbot, window.files.save_as(path))
    return window, path


def test_a_frame_redrawn_since_the_save_keeps_each_part_s_colour(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    """Frame 4's box is redrawn after a save, its top lowered below the
    ring's: the two swap region numbers and the frame keeps its region
    count. Reopened, the ring and the box still show their own colours."""
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "scene.cadmium")
    go_to(qtbot, window, 4)
    before = {part: pixel(window, *points(4)[part]) for part in ("ring", "box")}
    assert before["ring"] != before["box"]
    window.close()
    line = cv2.imread(str(shot_dir / "line" / "A_0004.png"))
    x0, y0, x1, y1 = box_rect(4)
    cv2.rectangle(line, (x0, y0), (x1, y1), (255, 255, 255), 2)  # erase it
    cv2.rectangle(line, (x0, y0 + 10), (x1, y1), (0, 0, 0), 2)
    cv2.imwrite(str(shot_dir / "line" / "A_0004.png"), line)

    reopened = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, reopened, path)
    go_to(qtbot, reopened, 4)
    after = {part: pixel(reopened, *points(4)[part]) for part in ("ring", "box")}
    assert after == before
    reopened.close()


def test_save_as_leaves_the_project_saved_before_whole(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    window, first = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    second = tmp_path / "B.cadmium"
    saved_in_a = fills_of(window)
    # More painting, autosaved beside A (sharing A's fill folder), then
    # "Save project as" B.
    go_to(qtbot, window, 4)
    window.session.set_style(6)
    click_image(qtbot, window, *points(4)["eye"])
    wait_job(qtbot, window.files.autosave())
    wait_job(qtbot, window.files.save_as(second))
    in_b = fills_of(window)
    window.close()

    assert not (tmp_path / ".A.cadmium.autosave").exists()
    for path, expected in ((first, saved_in_a), (second, in_b)):
        reopened = make_window(qtbot, tmp_path)
        open_and_wait(qtbot, reopened, path)
        assert reopened.dialogs.errors == []
        assert_same_fills(expected, fills_of(reopened))
        reopened.close()


def test_a_project_opened_through_a_link_saves_the_file_it_links_to(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    """Opened through a "latest" link, a project opened unpainted (its
    fill folder was looked for beside the link), and Save replaced the
    link with a file of its own."""
    (tmp_path / "versions").mkdir()
    window, real = propagated_and_saved(
        qtbot, shot_dir, tmp_path / "versions" / "scene.cadmium"
    )
    saved = fills_of(window)
    window.close()
    link = tmp_path / "latest.cadmium"
    link.symlink_to(Path("versions") / "scene.cadmium")

    reopened = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, reopened, link)
    assert reopened.dialogs.errors == []
    assert_same_fills(saved, fills_of(reopened))
    paint_a_change(qtbot, reopened)
    wait_job(qtbot, reopened.files.save())
    assert not reopened.session.modified
    changed = fills_of(reopened)
    reopened.close()
    assert link.is_symlink() and link.resolve() == real.resolve()
    for path in (link, real):
        again = make_window(qtbot, tmp_path)
        open_and_wait(qtbot, again, path)
        assert_same_fills(changed, fills_of(again))
        again.close()


def test_a_read_only_project_is_not_saved_over_and_the_autosave_keeps_the_work(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    """Save replaced a read-only (0444) project file with a writable one:
    the folder allowed it. It now refuses in one line, and the work stays
    unsaved, for the autosave to keep."""
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    path.chmod(0o444)
    before = path.read_bytes()
    paint_a_change(qtbot, window)
    wait_job(qtbot, window.files.save())
    (message,) = window.dialogs.errors
    assert message.startswith(f"{path}: the file is read-only")
    assert "Save As" in message and "\n" not in message
    assert path.read_bytes() == before and (path.stat().st_mode & 0o777) == 0o444
    assert window.session.modified
    wait_job(qtbot, window.files.autosave())
    kept, saved = (load_project(p).fills(1) for p in (autosave_path_for(path), path))
    assert kept is not None and saved is not None
    assert not np.array_equal(kept.style, saved.style)
    window.close()


def test_saving_soon_after_opening_a_damaged_frame_works_every_time(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    """Frame 6's fill file and style image are damaged. The first save
    after opening failed ("style image does not match the frame's size",
    naming nothing) and left stray fill files; once the frame loader had
    come to frame 6, the next save worked. Each save works now, and the
    one message, the loader's, names the frame and the file."""
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    window.close()
    (npz,) = (tmp_path / "A.cadmium.fills").glob("000006-*.npz")
    npz.write_bytes(b"damaged")
    (png,) = (tmp_path / "A.cadmium.fills").glob("000006-*.png")
    cv2.imwrite(str(png), np.ones((50, 100), np.uint16))

    reopened = make_window(qtbot, tmp_path)
    assert reopened.open_path(path)
    for _ in range(2):  # at once, the frame loader not waited for
        wait_job(qtbot, reopened.files.save())
    wait_ready(qtbot, reopened)
    qtbot.waitUntil(lambda: len(reopened.dialogs.errors) >= 1, timeout=20000)
    assert reopened.dialogs.errors == [
        f"Frame 6 is unpainted: its saved fills ({png}: style image of 100x50 "
        "pixels, for a frame of 160x120)"
    ]
    reopened.close()


def test_a_project_missing_fill_files_opens_and_says_which_frames(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    window.close()
    for name in (tmp_path / "A.cadmium.fills").glob("000004-*"):
        name.unlink()  # lost by a sync tool, a clean-up script...

    reopened = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, reopened, path)
    assert reopened.dialogs.errors == [
        "A.cadmium: the saved fills of frame(s) 4 are missing or damaged; "
        "they open unpainted"
    ]
    assert sorted(fills_of(reopened)) == [1, 2, 3, 5, 6]
    go_to(qtbot, reopened, 4)
    assert reopened.dialogs.errors[1:] == []
    reopened.close()


def test_a_project_file_damaged_past_its_checks_is_a_message_not_a_crash(
    qtbot: QtBot,
    shot_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hand-edited version number once escaped load_project's checks as
    a bare ValueError: a traceback in the terminal and no message. Whatever
    it raises, opening now says so and keeps what was open."""
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    before = window.session.project
    path.write_text(path.read_text().replace('"version": 1', '"version": "abc"'))
    assert window.files.open_project(path) is False
    assert window.dialogs.errors[-1].startswith(f"{path}: damaged project file")

    def unforeseen(*_args: object, **_kwargs: object) -> None:
        raise ValueError("something new")

    monkeypatch.setattr("cadmium_app.files.load_project", unforeseen)
    assert window.files.open_project(path) is False
    assert window.dialogs.errors[-1] == (
        f"{path}: cannot open (ValueError('something new'))"
    )
    assert window.session.project is before
    window.close()


def test_deleting_a_style_renumbers_frames_kept_only_as_style_images(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    window, path = propagated_and_saved(qtbot, shot_dir, tmp_path / "A.cadmium")
    go_to(qtbot, window, 5)
    shown = pixel(window, *points(5)["ring"])
    window.close()
    for name in (tmp_path / "A.cadmium.fills").glob("000005-*.npz"):
        name.unlink()  # frame 5 is kept by its style image alone

    reopened = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, reopened, path)
    project = reopened.session.project
    assert project is not None
    count = len(project.palette)
    assert reopened.palette.delete_style(0, None)
    assert len(project.palette) == count - 1
    go_to(qtbot, reopened, 5)  # read from its image, numbered anew
    assert pixel(reopened, *points(5)["ring"]) == shown
    reopened.close()


@pytest.mark.parametrize("saved", [False, True])
def test_a_second_window_leaves_the_first_ones_autosave_alone(
    qtbot: QtBot, line_shot: Path, tmp_path: Path, saved: bool
) -> None:
    """A second Cadmium opening the shot (or project) another one has open
    offered that one's autosave as a crash's, and deleted it when told No:
    a crash of the first then lost its work. It is refused instead, in one
    line; once the first is gone, the second opens it and recovers."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, line_shot)
    target = line_shot
    if saved:
        target = tmp_path / "scene.cadmium"
        wait_job(qtbot, window.files.save_as(target))
    paint_a_change(qtbot, window)
    wait_job(qtbot, window.files.autosave())
    autosave, _ = window.files.autosave_files(window.session.project)  # type: ignore[arg-type]
    assert autosave.exists()

    again = make_window(qtbot, tmp_path)
    asked: list[str] = []
    again.dialogs.recover = lambda when: asked.append(when) or False  # type: ignore[method-assign]
    assert not again.open_path(target)
    assert again.dialogs.errors[-1] == (
        f"{target} is open in another Cadmium window: close it there first "
        "(two windows would each take the other's autosave)"
    )
    assert asked == [] and autosave.exists() and again.session.project is None

    crashed(window)
    again.dialogs.recover = lambda when: asked.append(when) or True  # type: ignore[method-assign]
    open_and_wait(qtbot, again, target)
    assert asked and pixel(again, *points(1)["ring"]) == style_rgb(again, 3)
    again.close()
    # Closed, a window lets the work go: a third opens it.
    third = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, third, target)
    third.close()
    window.close()


def test_save_as_onto_a_project_open_in_another_window_is_refused(
    qtbot: QtBot, line_shot: Path, shot_dir: Path, tmp_path: Path
) -> None:
    """Saving as a project another Cadmium has open wrote over its project
    file and deleted its live autosave: a crash of that window then lost
    its work. The save is refused up front, in one line, and writes
    nothing; the first window's autosave stays."""
    first = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, first, line_shot)
    target = tmp_path / "scene.cadmium"
    wait_job(qtbot, first.files.save_as(target))
    paint_a_change(qtbot, first)
    wait_job(qtbot, first.files.autosave())
    autosave, _ = first.files.autosave_files(first.session.project)  # type: ignore[arg-type]
    saved = target.read_bytes()

    second = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, second, shot_dir)
    assert second.files.save_as(target) is None
    assert second.dialogs.errors[-1] == (
        f"{target} is open in another Cadmium window: close it there first "
        "(saving over it would delete that window's autosave)"
    )
    assert target.read_bytes() == saved and autosave.exists()
    assert second.session.project is not None and second.session.project.path is None
    # Saved elsewhere, it goes on as before (twice over, the second before
    # the first lands: this window's own save is not "another window");
    # once the first has closed, the name is free.
    other = tmp_path / "other.cadmium"
    saves = [second.files.save_as(other), second.files.save_as(other)]
    for job in saves:
        assert job is not None
        wait_job(qtbot, job)
    assert second.dialogs.errors[-1].startswith(f"{target} is open")
    first.close()
    wait_job(qtbot, second.files.save_as(target))
    assert second.session.project.path == target
    second.close()


def lock_is_free(project_path: Path) -> bool:
    """Whether another Cadmium could take the project now."""
    probe = QLockFile(f"{autosave_path_for(project_path)}.lock")
    probe.setStaleLockTime(0)
    taken = probe.tryLock(0)
    if taken:
        probe.unlock()
    return taken


def test_saving_a_project_opened_by_a_relative_path_is_not_refused(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened as `scene.cadmium` from its folder, then saved as the same
    file by its full path (as the dialog gives it): this window's own lock,
    spelt otherwise, read as another window's and the save was refused."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, shot_dir)
    target = tmp_path / "scene.cadmium"
    wait_job(qtbot, window.files.save_as(target))
    window.close()
    monkeypatch.chdir(tmp_path)
    again = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, again, Path("scene.cadmium"))
    job = again.files.save_as(target)
    assert job is not None, again.dialogs.errors
    wait_job(qtbot, job)
    assert not lock_is_free(target)
    again.close()
    assert lock_is_free(target)


def test_a_project_stays_locked_until_its_save_lands(
    qtbot: QtBot, shot_dir: Path, line_shot: Path, tmp_path: Path
) -> None:
    """Saved, then another shot opened before the save landed: the lock was
    let go at once, so another window could take the project mid-save, and
    the save's end then deleted that window's autosave."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, shot_dir)
    target = tmp_path / "scene.cadmium"
    wait_job(qtbot, window.files.save_as(target))
    paint_a_change(qtbot, window)
    # The save's files are held (as by an autosave writing): it is under
    # way while the shot is replaced.
    with window.files._save_lock:
        job = window.files.save()
        assert job is not None
        assert window.open_path(line_shot)
        assert not job.done and not lock_is_free(target)
    wait_job(qtbot, job)
    assert lock_is_free(target)
    window.close()


def test_a_project_opens_where_it_was_left(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path
) -> None:
    """Saved on frame 4 with style 3 chosen, it opened on frame 1 with style
    0; now on the frame and style it was left with (a shot folder too)."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, shot_dir)
    go_to(qtbot, window, 4)
    window.session.set_style(3)
    path = tmp_path / "scene.cadmium"
    wait_job(qtbot, window.files.save_as(path))
    go_to(qtbot, window, 5)  # closed here: that is where it was left
    window.close()

    again = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, again, path)
    assert (again.session.frame, again.session.style) == (5, 3)
    go_to(qtbot, again, 2)
    open_and_wait(qtbot, again, shot_dir)  # the shot folder: a place of its own
    go_to(qtbot, again, 3)
    open_and_wait(qtbot, again, path)
    assert again.session.frame == 2
    open_and_wait(qtbot, again, shot_dir)
    assert again.session.frame == 3
    open_and_wait(qtbot, again, path)
    # A frame deleted on disk since: the first frame, as before.
    go_to(qtbot, again, 6)
    again.close()
    (shot_dir / "line" / "A_0006.png").unlink()
    third = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, third, path)
    assert third.session.frame == 1 and third.session.style == 3
    third.close()


def test_autosave_is_offered_after_a_crash(
    qtbot: QtBot, line_shot: Path, tmp_path: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, line_shot)
    paint_a_change(qtbot, window)
    wait_job(qtbot, window.files.autosave())
    autosave, _ = window.files.autosave_files(window.session.project)  # type: ignore[arg-type]
    assert autosave.exists()
    # No close: the process "crashed". A new window opens the same shot.
    crashed(window)
    again = make_window(qtbot, tmp_path)
    asked: list[str] = []
    again.dialogs.recover = lambda when: asked.append(when) or True  # type: ignore[method-assign]
    open_and_wait(qtbot, again, line_shot)
    assert asked and again.session.modified
    assert pixel(again, *points(1)["ring"]) == style_rgb(again, 3)
    # Saving makes the autosave redundant: it goes.
    again.files.save_as(tmp_path / "saved.cadmium")
    qtbot.waitUntil(lambda: not again.session.modified, timeout=10000)
    assert not autosave.exists()
    again.close()
    window.close()


def test_paint_put_on_during_a_long_run_is_autosaved_and_saved(
    qtbot: QtBot, line_shot: Path, tmp_path: Path
) -> None:
    """Autosave and Save waited behind the running task: paint put on
    during a propagation of minutes was lost in a crash, and Ctrl+S saved
    only when the run ended."""
    from cadmium_app.jobs import Job

    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, line_shot)
    release = threading.Event()
    long_run = Job("Propagating…", lambda progress, cancelled: release.wait(30))
    assert window.session.jobs.submit(long_run, exclusive=True)
    try:
        paint_a_change(qtbot, window)
        job = window.files.autosave()
        assert job is not None
        wait_job(qtbot, job)
        assert not long_run.done
        autosave, _ = window.files.autosave_files(window.session.project)  # type: ignore[arg-type]
        recovered = load_project(autosave)
        ring = recovered.fills(1)
        assert ring is not None and (ring.style == 3).any()
        saved = window.files.save_as(tmp_path / "scene.cadmium")
        assert saved is not None
        wait_job(qtbot, saved)
        assert not long_run.done and not window.session.modified
    finally:
        release.set()
    wait_job(qtbot, long_run)
    window.close()


def test_autosaves_around_a_save_leave_no_stale_autosave(
    qtbot: QtBot, line_shot: Path, tmp_path: Path, monkeypatch
) -> None:
    """Autosaves racing "Save as" must not leave the shot's autosave behind
    (it would ask "Recover unsaved work?" the next time the shot opens):
    none starts while the save is under way, and one queued before it does
    not write after it."""
    import cadmium_app.files as files_module

    real_save = files_module.save_project
    writing, release = threading.Event(), threading.Event()
    written: list[Path] = []

    def save_project(snap, path, **kwargs):  # type: ignore[no-untyped-def]
        real_save(snap, path, **kwargs)
        written.append(Path(path))
        if Path(path).name == "first.cadmium":
            writing.set()  # still holding the save lock
            release.wait(timeout=10)

    monkeypatch.setattr(files_module, "save_project", save_project)
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, line_shot)
    files = window.files
    paint_a_change(qtbot, window)
    shot_autosave, _ = files.autosave_files(window.session.project)  # type: ignore[arg-type]
    save = files.save_as(tmp_path / "first.cadmium")
    qtbot.waitUntil(writing.is_set, timeout=10000)
    assert files.autosave() is None  # the timer firing mid-save
    release.set()
    wait_job(qtbot, save)
    assert not window.session.modified and not shot_autosave.exists()

    # An autosave queued, then a save: whichever takes the lock first, no
    # autosave is left where the project was before the save.
    window.session.set_style(2)
    click_image(qtbot, window, *points(1)["ring"])
    before_save, _ = files.autosave_files(window.session.project)  # type: ignore[arg-type]
    with files._save_lock:
        autosave = files.autosave()
        save = files.save_as(tmp_path / "second.cadmium")
    wait_job(qtbot, autosave)
    wait_job(qtbot, save)
    qtbot.waitUntil(lambda: not window.session.modified, timeout=10000)
    assert not before_save.exists()
    # Later painting is autosaved where the project now is.
    window.session.set_style(3)
    click_image(qtbot, window, *points(1)["ring"])
    wait_job(qtbot, files.autosave())
    assert written[-1] == files.autosave_files(window.session.project)[0]  # type: ignore[arg-type]
    window.close()


def test_opening_another_shot_clears_the_last_shots_status_message(
    qtbot: QtBot, window: MainWindow, line_shot: Path, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    window.session.status.emit("Propagate all: 3 regions flagged, 0 unpainted")
    assert window.statusBar().currentMessage().startswith("Propagate all")
    open_and_wait(qtbot, window, shot_dir)
    assert "Propagate all" not in window.statusBar().currentMessage()


def test_a_key_painted_in_two_colours_in_one_region_is_flagged_and_said(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from drawing import open_circle

    from engine.imageio import write_png

    shot = tmp_path / "shot"
    line = open_circle(20)  # a gap too wide to close: one region
    write_png(shot / "line" / "0001.png", line)
    write_png(shot / "line" / "0002.png", line)
    key = np.zeros((*line.shape, 4), np.uint8)
    key[...] = (40, 90, 220, 255)
    yy, xx = np.mgrid[: line.shape[0], : line.shape[1]]
    key[(yy - 80) ** 2 + (xx - 100) ** 2 < 48**2] = (230, 60, 50, 255)
    write_png(shot / "color" / "0001.png", key)
    open_and_wait(qtbot, window, shot)
    assert window.dialogs.infos[-1].startswith(
        "key 0001.png: a region painted in two colours (at x"
    )
    fills = window.session.project.fills(1)  # type: ignore[union-attr]
    assert fills is not None and fills.flagged.any()
    # Both colours are in the palette, to repaint with.
    colors = window.session.project.palette.colors()  # type: ignore[union-attr]
    assert {(40, 90, 220, 255), (230, 60, 50, 255)} <= set(colors)
    # Next problem takes the animator there.
    window.canvas_controller.next_problem()
    assert window.canvas_controller.selected == (1, int(np.argmax(fills.flagged)))


def test_keys_go_back_to_the_window_when_a_message_closes(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Without a window manager (Xvfb) nothing handed the keys back after a
    message was closed: N, S and Return did nothing until a click."""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    window.dialogs.info("key 0001.png: nothing painted")
    box = window.findChild(QMessageBox, "messageBox")
    assert box is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is box, timeout=2000)
    box.accept()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def test_export_writes_every_layer_with_the_original_names(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    out = tmp_path / "export"
    window.dialogs.output_folder = lambda *a, **k: out  # type: ignore[method-assign]
    window.actions.export.trigger()
    qtbot.waitUntil(lambda: (out / "composite").is_dir(), timeout=10000)
    names = [f"A_{i:04d}.png" for i in range(1, 7)]
    for layer in ("color", "line", "composite"):
        assert sorted(p.name for p in (out / layer).iterdir()) == names
    line = cv2.imread(str(out / "line" / "A_0001.png"), cv2.IMREAD_UNCHANGED)
    assert line.shape == (120, 160, 4) and line[4, 4, 3] == 0


def test_bad_folders_show_a_message_and_keep_running(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, shot_dir: Path
) -> None:
    unreadable = tmp_path / "unreadable"
    (unreadable / "line").mkdir(parents=True)
    (unreadable / "line" / "0001.png").write_bytes(b"not a png at all")
    (unreadable / "line" / "0002.png").write_bytes(b"")
    mismatched = make_shot(tmp_path / "mismatched", frames=2)
    small = np.full((50, 60, 3), 255, np.uint8)
    cv2.imwrite(str(mismatched / "line" / "A_0002.png"), small)
    empty = tmp_path / "empty"
    empty.mkdir()
    wide_gap = make_shot(tmp_path / "wide_gap", frames=2)
    (wide_gap / "shot.json").write_text('{"settings": {"gap": "wide"}}')
    huge_gap = make_shot(tmp_path / "huge_gap", frames=2)
    (huge_gap / "shot.json").write_text('{"settings": {"gap": 100}}')
    for folder, reason in (
        (unreadable, "0001.png"),
        (mismatched, "differs"),
        (wide_gap, 'shot.json: settings.gap "wide": use a whole number of px'),
        (huge_gap, "shot.json: settings.gap 100: use a whole number of px"),
        (empty, "no line/ folder"),
        (tmp_path / "missing", "not found"),
    ):
        before = len(window.dialogs.errors)
        assert not window.open_path(folder)
        assert len(window.dialogs.errors) == before + 1
        assert reason in window.dialogs.errors[-1]
    assert window.isVisible()
    open_and_wait(qtbot, window, shot_dir)  # and it still works
    assert window.session.project is not None


def test_a_frame_that_fails_to_decode_shows_a_message(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    # A header that reads but pixels that do not: found only when shown.
    data = (shot_dir / "line" / "A_0003.png").read_bytes()
    (shot_dir / "line" / "A_0003.png").write_bytes(data[:80])
    assert window.open_path(shot_dir)
    window.session.set_frame(3)
    qtbot.waitUntil(
        lambda: any("A_0003" in e for e in window.dialogs.errors), timeout=10000
    )
    assert window.isVisible()
    # The canvas says so for good (not "Finding regions…"), and shows no
    # lines it may have read before the pixels failed.
    canvas = window.canvas
    assert canvas.message.startswith("This frame cannot be read: ")
    assert "A_0003" in canvas.message and "lines" not in canvas.layers


SAVING_APP = textwrap.dedent(
    """
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    import engine.project as project_module
    import cadmium_app.files as files_module
    from cadmium_app.settings import load_settings
    from cadmium_app.window import MainWindow

    real_save = project_module.save_project

    def slow_save(*args, progress=None, **kwargs):
        def report(done, total):
            print("wrote", done, flush=True)
            time.sleep(0.4)
        return real_save(*args, progress=report, **kwargs)

    files_module.save_project = slow_save
    app = QApplication([])
    window = MainWindow(load_settings(matcher="assignment", autosave_seconds=0))
    window.files.open_project(__import__("pathlib").Path(sys.argv[1]))
    project = window.session.project
    window.session.set_style(8)
    for frame in project.shot.frames:
        engine = window.session.engine
        count = engine.frame(frame).regions.count
        window.session.push(project.fill_edit(frame, count, range(count), 8,
                            project_module.FillMode.PAINT))
    window.files.save()
    app.exec()
    """
)


def test_killing_the_app_mid_save_loses_no_saved_work(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    path = tmp_path / "scene.cadmium"
    wait_job(qtbot, window.files.save_as(path))
    saved = fills_of(window)
    window.close()  # the project is the other run's to open
    script = tmp_path / "app.py"
    script.write_text(SAVING_APP)
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    for _ in range(2):
        assert child.stdout.readline().startswith("wrote")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    loaded = load_project(path)
    assert loaded.painted_frames == sorted(saved)
    for frame, (style, *_rest) in saved.items():
        assert np.array_equal(loaded.fills(frame).style, style)  # type: ignore[union-attr]


def test_opening_another_shot_asks_before_replacing_unsaved_painting(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, line_shot: Path, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    paint_a_change(qtbot, window)
    answers = ["cancel", "save"]
    window.dialogs.unsaved_changes = lambda: answers.pop(0)  # type: ignore[method-assign]
    # Cancel: the painting stays open, unsaved.
    assert not window.open_path(shot_dir)
    project = window.session.project
    assert project is not None and project.shot.root == line_shot
    assert window.session.modified
    # Save: the project is saved, then the other shot opens.
    path = tmp_path / "painted.cadmium"
    window.dialogs.save_project_file = lambda *a: path  # type: ignore[method-assign]
    window.open_path(shot_dir)
    qtbot.waitUntil(
        lambda: (
            window.session.project is not None
            and window.session.project.shot.root == shot_dir
        ),
        timeout=20000,
    )
    assert not answers
    reopened = load_project(path)
    assert reopened.fills(1) is not None


def test_a_failing_autosave_is_said_once_and_closing_still_works(
    qtbot: QtBot, line_shot: Path, tmp_path: Path
) -> None:
    (tmp_path / "a file").write_text("not a folder")
    window = make_window(qtbot, tmp_path, autosave_dir=str(tmp_path / "a file" / "as"))
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    open_and_wait(qtbot, window, line_shot)
    for style in (3, 4):
        window.session.set_style(style)
        click_image(qtbot, window, *points(1)["ring"])
        wait_job(qtbot, window.files.autosave())
    assert len(errors) == 1 and "a crash would lose unsaved work" in errors[0]
    window.close()  # discards the autosave it could not write: no error
    assert not window.isVisible()


def test_saving_where_no_folder_can_be_is_a_one_line_message(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    (tmp_path / "a file").write_text("not a folder")
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    open_and_wait(qtbot, window, line_shot)
    paint_a_change(qtbot, window)
    wait_job(qtbot, window.files.save_as(tmp_path / "a file" / "scene.cadmium"))
    assert len(errors) == 1
    assert "Not a directory" in errors[0] and "Error(" not in errors[0]
    assert "\n" not in errors[0]
    assert window.session.modified


def test_an_unreadable_key_is_skipped_and_named_the_others_load(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    shot = make_shot(tmp_path / "two_keys", keys=(1, 4))
    key = shot / "color" / "0004.png"
    key.write_bytes(key.read_bytes()[:300])  # truncated by a failed copy
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    open_and_wait(qtbot, window, shot)
    assert window.session.project is not None
    assert window.session.project.keys == {1}
    assert len(errors) == 1 and errors[0].startswith("key 4 skipped: ")
    assert "0004.png" in errors[0] and "\n" not in errors[0]


def test_a_gap_change_ending_after_another_shot_opened_leaves_it_locked(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, line_shot: Path
) -> None:
    """The new shot is editable once its keys are read, not when the old
    shot's gap change ends: a stroke before that would be lost to them."""
    open_and_wait(qtbot, window, line_shot)
    job = window.gap.set_gap(12)
    assert job is not None
    assert window.open_path(shot_dir)  # its keys are read after the gap job
    editable_when_done: list[bool] = []
    job.finished.connect(lambda: editable_when_done.append(window.session.editable))
    qtbot.waitUntil(lambda: job.done, timeout=20000)
    assert editable_when_done == [False]
    wait_ready(qtbot, window)
    assert window.session.project is not None
    assert window.session.project.keys == {1}


def test_opening_another_shot_during_a_propagation_stops_it_quietly(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    job = window.propagation.propagate_all()
    assert job is not None
    assert window.open_path(line_shot)
    wait_ready(qtbot, window)  # not held up by the run on the shot left
    qtbot.waitUntil(lambda: job.done, timeout=20000)
    assert window.dialogs.errors == []
    assert window.session.project is not None
    assert window.session.project.shot.root == line_shot
    assert window.session.project.painted_frames == []
    assert window.session.undo_stack.count() == 0


def test_propagating_paints_around_an_unreadable_frame_and_names_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    shot = make_shot(tmp_path / "cut", frames=6)
    line = shot / "line" / "A_0004.png"
    line.write_bytes(line.read_bytes()[:300])  # header intact, pixels cut
    (shot / "line" / "A_0006.png").write_bytes(b"")
    errors: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    open_and_wait(qtbot, window, shot)
    # The timeline reads them first: one message names both, and each
    # frame's tooltip says why.
    qtbot.waitUntil(lambda: any("cannot be read" in e for e in errors), timeout=10000)
    assert errors[0].startswith("2 frames cannot be read (4: ")
    timeline = window.timeline.model
    tip = timeline.data(timeline.index(3), Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("A_0004.png: truncated image")
    wait_job(qtbot, window.propagation.propagate_all())
    project = window.session.project
    assert project is not None
    assert sorted(project.painted_frames) == [1, 2, 3, 5]
    # Said when the timeline first read them, and again by the propagation:
    # each frame with its own reason.
    said = [e for e in errors if e.startswith("Propagate")]
    assert len(said) == 1 and "skipped 2 frames (4: " in said[0]
    assert "A_0004.png: truncated" in said[0] and "A_0006.png: empty" in said[0]
    assert "\n" not in said[0]


def test_a_folder_that_cannot_open_is_said_before_asking_about_unsaved_work(
    qtbot: QtBot, window: MainWindow, line_shot: Path, tmp_path: Path
) -> None:
    """Nothing is asked about the painting open (there is nothing to replace
    it with), and it stays, unsaved, with its autosave."""
    open_and_wait(qtbot, window, line_shot)
    paint_a_change(qtbot, window)
    wait_job(qtbot, window.files.autosave())
    autosave, _ = window.files.autosave_files(window.session.project)  # type: ignore[arg-type]
    errors: list[str] = []
    asked: list[str] = []
    window.dialogs.error = errors.append  # type: ignore[method-assign]
    window.dialogs.unsaved_changes = lambda: asked.append("asked") or "discard"  # type: ignore[method-assign]
    (tmp_path / "not a shot").mkdir()
    (tmp_path / "broken.cadmium").write_text("{not json")
    for broken in ("not a shot", "broken.cadmium"):
        errors.clear()
        assert not window.open_path(tmp_path / broken)
        assert len(errors) == 1 and broken in errors[0]
    assert not asked
    assert window.session.modified and autosave.exists()
    assert window.session.project.shot.root == line_shot  # type: ignore[union-attr]


def test_closing_during_a_propagation_and_saving_asks_once(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    paint_a_change(qtbot, window)
    answered = threading.Event()
    engine = window.session.engine
    assert engine is not None
    propagate = engine.propagate

    def slow_propagate(**kwargs):  # type: ignore[no-untyped-def]
        answered.wait(20)  # still running when the animator answers
        time.sleep(0.3)
        return propagate(**kwargs)

    engine.propagate = slow_propagate  # type: ignore[method-assign]
    assert window.propagation.propagate_all() is not None
    asked: list[str] = []

    def unsaved_changes() -> str:
        asked.append("save")
        answered.set()
        return "save"

    window.dialogs.unsaved_changes = unsaved_changes  # type: ignore[method-assign]
    path = tmp_path / "closing.cadmium"
    window.dialogs.save_project_file = lambda *a: path  # type: ignore[method-assign]
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20000)
    assert asked == ["save"]
    saved = load_project(path)
    assert saved.keys == {1} and saved.painted_frames == [1]


def test_an_export_says_what_in_it_is_unfinished() -> None:
    from cadmium_app.files import exported

    def entry(regions: int, unpainted: int, styles: list[str | None]) -> dict:
        flagged = [{"style": s} for s in styles]
        return {"regions": regions, "to_paint": unpainted, "flagged": flagged}

    out = Path("/shots/out")
    done = {1: entry(5, 0, []), 2: entry(5, 0, [])}
    assert exported(out, done) == "Exported 2 frames to /shots/out"
    # A region left unpainted is flagged too: counted once, as unpainted.
    frames = {
        1: entry(5, 0, ["skin"]),
        2: entry(5, 2, [None, None, "skin", "shirt"]),
        3: entry(5, 1, [None]),
        4: entry(5, 5, []),
    }
    assert exported(out, frames) == (
        "Exported 4 frames to /shots/out; frame 4 not painted, 3 regions "
        "unpainted on frames 2-3 (transparent), 3 painted regions flagged "
        "(N goes to each)"
    )


def test_an_export_does_not_count_regions_unpainted_on_purpose(tmp_path: Path) -> None:
    """Unpaint pins a region empty: done, not a problem (N passes it by),
    so the export does not call it unfinished, though it is transparent."""
    from app_helpers import make_shot

    from cadmium_app.files import exported
    from cadmium_app.outputs import write_outputs
    from engine.facade import ShotEngine
    from engine.palette import default_palette
    from engine.project import FillMode, Project
    from engine.shot import open_shot

    shot = open_shot(make_shot(tmp_path / "shot", frames=2, keys=()))
    engine = ShotEngine(shot=shot, matcher="assignment")
    project = Project(shot=shot, palette=default_palette(), gap=engine.gap)
    for frame in (1, 2):
        count = engine.frame(frame).regions.count
        project.commit(project.fill_edit(frame, count, range(count), 1, FillMode.PAINT))
        project.commit(project.fill_edit(frame, count, [0], 1, FillMode.UNPAINT))
    snap = project.snapshot()
    out = tmp_path / "out"
    where, frames = write_outputs(snap, out, frame_of=engine.followed_analyser(snap))
    assert all(entry["unpainted"] == 1 for entry in frames.values())  # transparent
    assert exported(where, frames) == f"Exported 2 frames to {out}"


def test_the_output_folder_may_be_a_new_one_typed_in(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    """Qt's folder chooser took only folders that exist ("Directory not
    found" for a name typed in): the output folder dialog suggests a new
    one beside the shot, takes one typed in, and the export makes it."""
    from cadmium_app.dialogs import OutputFolderDialog

    open_and_wait(qtbot, window, shot_dir)
    asked: list[Path] = []

    def answer(title: str, suggested: Path) -> Path | None:
        dialog = OutputFolderDialog(window, title, suggested)
        qtbot.addWidget(dialog)
        asked.append(suggested)
        dialog.path.setText(str(tmp_path / "new" / "layers"))
        dialog.accept()
        return dialog.chosen()

    window.dialogs.output_folder = answer  # type: ignore[method-assign]
    wait_job(qtbot, window.files.ask_export())
    assert asked == [shot_dir.parent / f"{shot_dir.name}_layers"]
    made = tmp_path / "new" / "layers"
    assert all((made / layer).is_dir() for layer in ("color", "composite", "line"))
    # An empty path cannot be accepted.
    dialog = OutputFolderDialog(window, "Export", tmp_path)
    qtbot.addWidget(dialog)
    dialog.path.setText("  ")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and dialog.chosen() is None
