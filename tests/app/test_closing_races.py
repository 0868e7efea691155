"""The Close gap tool while other things happen: a frame that cannot be
read or is deleted, an autosave recovered, a save, export or propagation
working from the painting as it was, another shot opened or a gap change
undone while a change is worked out, and long chains of undo and redo."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from app_helpers import (
    box_rect,
    click_image,
    status_log,
    style_rgb,
    wait_job,
    wait_ready,
)
from pytestqt.qtbot import QtBot
from test_closing import (
    box_split_path,
    drag_image,
    open_with_close_tool,
    shows_split_and_painted,
    split_and_paint,
    wait_regions,
)

from cadmium_app.jobs import Job
from cadmium_app.window import MainWindow
from engine.imageio import read_image


def hold_closing_jobs(window: MainWindow) -> threading.Event:
    """Changes of closing lines wait, as on a 4K frame, until set."""
    release = threading.Event()
    engine = window.session.engine
    assert engine is not None
    frame = engine.frame

    def slow(number: int, closing: object = None) -> object:
        if closing is not None:
            release.wait(10)
        return frame(number, closing)  # type: ignore[arg-type]

    engine.frame = slow  # type: ignore[assignment, method-assign]
    return release


def redo_while_it_waits(
    qtbot: QtBot, window: MainWindow, start: Callable[[], Job | None]
) -> None:
    """A task (a save, an export) started, and Ctrl+Shift+Z pressed while
    it waits its turn behind another, which then lets it run to its end."""
    gate = threading.Event()
    window.session.jobs.submit(
        Job("gate", lambda _p, _c: gate.wait(10), cancellable=False)
    )
    job = start()
    window.session.undo_stack.redo()
    gate.set()
    wait_job(qtbot, job)


def split_paint_remove_undo(
    qtbot: QtBot, window: MainWindow, shot: Path
) -> tuple[int, int]:
    """`split_and_paint`, then the line removed and put back by Ctrl+Z: a
    redo would remove it again."""
    count, x0 = split_and_paint(qtbot, window, shot)
    window.actions.close_tool.trigger()
    click_image(qtbot, window, x0 + 20, 60)
    wait_regions(qtbot, window, count)
    window.session.undo_stack.undo()
    wait_regions(qtbot, window, count + 1)
    return count, x0


def test_a_change_on_a_frame_that_cannot_be_read_is_said_once(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_with_close_tool(qtbot, window, shot_dir)
    errors: list[str] = []
    window.session.dialogs.error = errors.append  # type: ignore[method-assign]
    (shot_dir / "line" / "A_0001.png").write_bytes(b"not a png")  # being saved
    drag_image(qtbot, window, box_split_path())
    qtbot.waitUntil(lambda: not window.session.jobs.running, timeout=10000)
    qtbot.wait(300)
    assert len(errors) == 1
    assert errors[0].startswith("Closing line on frame 1: ")


def test_a_frame_deleted_under_a_change_leaves_the_timeline(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_with_close_tool(qtbot, window, shot_dir)
    window.session.dialogs.error = lambda _m: None  # type: ignore[method-assign]
    (shot_dir / "line" / "A_0001.png").unlink()
    drag_image(qtbot, window, box_split_path())
    project = window.session.project
    assert project is not None
    qtbot.waitUntil(lambda: 1 not in project.shot.line, timeout=10000)


def test_a_recovered_autosave_is_segmented_with_its_closing_lines(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    split_and_paint(qtbot, window, shot_dir)
    wait_job(qtbot, window.files.autosave())  # and then the power goes
    assert shows_split_and_painted(qtbot, window, shot_dir)


def test_a_save_is_of_the_painting_it_began_with_whatever_is_undone_meanwhile(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    count, _ = split_paint_remove_undo(qtbot, window, shot_dir)
    saved = tmp_path / "scene.cadmium"
    redo_while_it_waits(qtbot, window, lambda: window.files.save_as(saved))
    window.session.undo_stack.undo()
    wait_regions(qtbot, window, count + 1)
    assert not window.session.modified
    assert shows_split_and_painted(qtbot, window, saved)


def test_an_export_is_of_the_painting_it_began_with(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    _, x0 = split_paint_remove_undo(qtbot, window, shot_dir)
    out = tmp_path / "out"
    redo_while_it_waits(qtbot, window, lambda: window.files.export(out))
    exported = read_image(out / "color" / "A_0001.png")
    assert tuple(exported[60, x0 + 30, :3]) == style_rgb(window, 4)


def test_propagation_waits_for_a_change_of_closing_lines(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    errors: list[str] = []
    window.session.dialogs.error = errors.append  # type: ignore[method-assign]
    release = hold_closing_jobs(window)
    drag_image(qtbot, window, box_split_path())  # on key frame 1
    assert window.propagation.propagate_all() is None
    assert errors == ["Another long task is running: wait for it or cancel it"]
    release.set()
    wait_regions(qtbot, window, count + 1)
    job = window.propagation.propagate_all()
    wait_job(qtbot, job)
    assert job is not None and job.outcome == "ok"


def test_a_stroke_on_a_shot_opened_during_a_change_is_made(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, line_shot: Path
) -> None:
    open_with_close_tool(qtbot, window, shot_dir)
    release = hold_closing_jobs(window)
    drag_image(qtbot, window, box_split_path())  # the first shot's, held
    assert window.open_path(line_shot)
    qtbot.waitUntil(lambda: window.session.current() is not None, timeout=10000)
    window.actions.close_tool.trigger()
    drag_image(qtbot, window, box_split_path())  # waits for the first
    release.set()
    project = window.session.project
    assert project is not None and project.shot.root == line_shot
    qtbot.waitUntil(lambda: bool(project.closing(1)), timeout=10000)


def test_a_stroke_drawn_as_a_gap_change_is_undone_is_made(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_with_close_tool(qtbot, window, shot_dir)
    project = window.session.project
    assert project is not None
    wait_job(qtbot, window.gap.set_gap(project.gap + 2))
    wait_ready(qtbot, window)
    release = hold_closing_jobs(window)
    said = status_log(window)
    drag_image(qtbot, window, box_split_path())
    window.session.undo_stack.undo()  # the gap change, while the line waits
    release.set()
    qtbot.waitUntil(lambda: bool(project.closing(1)), timeout=10000)
    assert said[-1] == "Closing line on frame 1 (Ctrl+Z undoes it)"


def test_undo_and_redo_are_exact_through_lines_paint_styles_and_gaps(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    count = open_with_close_tool(qtbot, window, shot_dir)
    session, project = window.session, window.session.project
    assert project is not None
    states: list[tuple[object, ...]] = []

    def settle() -> None:
        qtbot.waitUntil(
            lambda: (
                not session.jobs.running
                and session.editable
                and session.current() is not None
            ),
            timeout=20000,
        )

    def record() -> None:
        settle()
        states.append((project.fills(1), project.closing(1), project.gap))

    record()
    drag_image(qtbot, window, box_split_path())
    wait_regions(qtbot, window, count + 1)
    record()
    x0, _, x1, _ = box_rect(1)
    window.actions.fill_tool.trigger()
    for style, x in ((4, x0 + 30), (5, x0 + 10)):
        session.set_style(style)
        click_image(qtbot, window, x, 60)
        record()
    session.push(project.style_deletion(2, None))
    record()
    window.actions.close_tool.trigger()
    drag_image(qtbot, window, [(x0 + 3, 60), (x1 - 3, 60)])
    wait_regions(qtbot, window, count + 3)
    record()
    wait_job(qtbot, window.gap.set_gap(project.gap + 3))
    record()
    window.actions.close_tool.trigger()
    click_image(qtbot, window, x0 + 20, 45)  # the first line removed
    record()

    def same(state: tuple[object, ...]) -> bool:
        fills, lines, gap = state
        now = project.fills(1)
        if (now is None) != (fills is None):
            return False
        exact = fills is None or (
            len(now) == len(fills) and not now.differs(fills).any()  # type: ignore[arg-type]
        )
        return exact and project.closing(1) == lines and project.gap == gap

    for state in reversed(states[:-1]):
        session.undo_stack.undo()
        settle()
        assert same(state)
    for state in states[1:]:
        session.undo_stack.redo()
        settle()
        assert same(state)
