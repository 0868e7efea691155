"""Painting keys by mouse, propagating, batch colorize, undo and redo."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import cv2
import pytest
from app_helpers import (
    BOX,
    RING,
    box_rect,
    click_image,
    go_to,
    hover,
    make_shot,
    make_window,
    open_and_wait,
    pixel,
    points,
    redraw_box,
    status_log,
    style_rgb,
    wait_job,
)
from drawing import figure
from probes import count_loads
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from cadmium_app.window import MainWindow, sample_shot
from engine.fills import ORIGIN_ANIMATOR

STYLES = {"background": 9, "ring": 5, "eye": 4, "box": 0}


def paint_key(qtbot: QtBot, window: MainWindow, frame: int = 1) -> None:
    go_to(qtbot, window, frame)
    for name, (x, y) in points(frame).items():
        window.session.set_style(STYLES[name])
        click_image(qtbot, window, x, y)


def test_click_fill_then_propagate_paints_other_frames(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    paint_key(qtbot, window, 1)
    project = window.session.project
    assert project is not None and project.keys == {1}
    for name, (x, y) in points(1).items():
        assert pixel(window, x, y) == style_rgb(window, STYLES[name]), name
    assert window.session.undo_stack.count() == 4  # one step per click

    window.actions.propagate_all.trigger()
    job = window.propagation.last_job
    wait_job(qtbot, job)
    assert job.outcome == "ok"
    go_to(qtbot, window, 5)
    for name, (x, y) in points(5).items():
        assert pixel(window, x, y) == style_rgb(window, STYLES[name]), name
    # The run is one undo step, and undoing it clears frame 5 again.
    assert window.session.undo_stack.count() == 5
    window.actions.undo.trigger()
    assert project.fills(5) is None
    x, y = points(5)["ring"]
    assert pixel(window, x, y) == (255, 255, 255)


def test_colorize_shot_from_its_menu_writes_an_output_folder(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    out = tmp_path / "out"
    window.dialogs.output_folder = lambda *a, **k: out  # type: ignore[method-assign]
    menu = window.menuBar().findChild(QMenu, "colorizeMenu")
    action = next(a for a in menu.actions() if a.text() == "Colorize shot")
    action.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert window.propagation.last_job.outcome == "ok"
    names = [f"A_{i:04d}.png" for i in range(1, 7)]
    assert sorted(p.name for p in (out / "color").iterdir()) == names
    assert sorted(p.name for p in (out / "composite").iterdir()) == names
    report = json.loads((out / "report.json").read_text())
    assert [f["frame"] for f in report["frames"]] == list(range(1, 7))
    color = cv2.imread(str(out / "color" / "A_0005.png"), cv2.IMREAD_UNCHANGED)
    x, y = points(5)["ring"]
    assert tuple(int(v) for v in color[y, x, [2, 1, 0, 3]]) == RING
    x, y = points(5)["box"]
    assert tuple(int(v) for v in color[y, x, [2, 1, 0, 3]]) == BOX
    # The run is also one undo step in the project.
    assert window.session.project.status(5).propagated  # type: ignore[union-attr]
    # report.json says what the command line's says (shot-format.md: per
    # frame, keys used, regions, flags and timings); the app's had no
    # timings, the command line's no "key".
    from engine.facade import colorize_shot

    colorize_shot(shot_path=shot_dir, out=tmp_path / "cli", matcher="assignment")
    cli = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert set(report) == set(cli)
    for app_frame, cli_frame in zip(report["frames"], cli["frames"], strict=True):
        assert set(app_frame) == set(cli_frame)
        assert app_frame["timings_ms"]["segment_ms"] >= 0
        assert app_frame["key"] == cli_frame["key"] == (app_frame["frame"] == 1)


def test_colorize_shot_stopped_by_a_bad_frame_says_nothing_was_written(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path
) -> None:
    data = (shot_dir / "line" / "A_0004.png").read_bytes()
    (shot_dir / "line" / "A_0004.png").write_bytes(data[:80])  # header only
    open_and_wait(qtbot, window, shot_dir)
    out = tmp_path / "out"
    window.dialogs.output_folder = lambda *a, **k: out  # type: ignore[method-assign]
    window.actions.colorize_shot.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert window.propagation.last_job.outcome == "failed"
    message = window.dialogs.errors[-1]
    assert message.startswith("Colorize shot stopped: ")
    assert "A_0004.png" in message and message.endswith("; nothing was written")
    assert not out.exists()


def test_colorize_shot_stopped_by_the_disk_says_it_once(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import cadmium_app.propagate as propagate_module

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(propagate_module, "run_propagation", full_disk)
    open_and_wait(qtbot, window, shot_dir)
    window.dialogs.output_folder = lambda *a, **k: tmp_path / "out"  # type: ignore[method-assign]
    window.actions.colorize_shot.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert window.dialogs.errors[-1] == (
        f"Colorize shot stopped: {tmp_path / 'out'}: No space left on device; "
        "nothing was written"
    )


def test_undo_redo_shortcuts(qtbot: QtBot, window: MainWindow, line_shot: Path) -> None:
    open_and_wait(qtbot, window, line_shot)
    x, y = points(1)["ring"]
    window.session.set_style(5)
    click_image(qtbot, window, x, y)
    painted = style_rgb(window, 5)
    assert pixel(window, x, y) == painted
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert pixel(window, x, y) == (255, 255, 255)
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, shift_ctrl)
    assert pixel(window, x, y) == painted
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert pixel(window, x, y) == painted
    assert window.isWindowModified()


def test_a_drag_across_regions_is_one_undo_step(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    window.session.set_style(2)
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)  # zoomed out: margins round it
    where = [canvas.widget_pos(x + 0.5, y + 0.5) for x, y in points(1).values()]
    # The drag starts on the grey margin left of the frame.
    where.insert(0, canvas.widget_pos(-10.0, points(1)["background"][1] + 0.5))
    pts = [QPoint(round(p.x()), round(p.y())) for p in where]
    assert pts[0].x() > 0  # still on the canvas widget
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=pts[0])
    for point in pts[1:]:
        qtbot.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=pts[-1])
    fills = window.session.project.fills(1)  # type: ignore[union-attr]
    assert fills is not None and (fills.style == 2).all()
    assert window.session.undo_stack.count() == 1
    window.actions.undo.trigger()
    assert window.session.project.fills(1) is None  # type: ignore[union-attr]


def test_fill_modes_and_animator_fills_survive_propagation(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    go_to(qtbot, window, 3)
    x, y = points(3)["box"]
    window.session.set_style(7)
    click_image(qtbot, window, x, y)  # a correction on a propagated frame
    assert pixel(window, x, y) == style_rgb(window, 7)
    window.actions.mode_paint_unpainted.trigger()
    window.session.set_style(1)
    click_image(qtbot, window, x, y)  # painted already: left alone
    assert pixel(window, x, y) == style_rgb(window, 7)
    wait_job(qtbot, window.propagation.propagate_all())
    project = window.session.project
    assert project is not None
    fills = project.fills(3)
    region = window.session.current().regions.region_at(x, y)  # type: ignore[union-attr]
    assert fills.style[region] == 7 and fills.origin[region] == ORIGIN_ANIMATOR  # type: ignore[union-attr]
    assert pixel(window, x, y) == style_rgb(window, 7)
    window.actions.mode_unpaint.trigger()
    click_image(qtbot, window, x, y)
    assert pixel(window, x, y) == (255, 255, 255)
    # Cleared on purpose: not counted as unpainted, nor a problem to visit.
    assert region not in project.problems(3)
    assert project.status(3).unpainted == 0


def test_propagating_a_selected_range(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    window.timeline.select_range(3, 4)
    window.actions.propagate_selected.trigger()
    wait_job(qtbot, window.propagation.last_job)
    project = window.session.project
    assert project is not None
    assert [n for n in project.shot.frames if project.fills(n) is not None] == [1, 3, 4]
    go_to(qtbot, window, 2)
    window.actions.propagate_current.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert project.fills(2) is not None and project.fills(5) is None


def test_the_sample_shot_paints_from_a_clicked_key(
    qtbot: QtBot, window: MainWindow
) -> None:
    shot = sample_shot()
    if shot is None:
        pytest.skip("the sample shot is not installed")
    open_and_wait(qtbot, window, shot)
    project = window.session.project
    assert project is not None and project.keys == {1, 12, 24}
    new = window.palette.add_style("Test green", (20, 220, 60, 255))
    click_image(qtbot, window, 480, 520)  # the ground on key 1
    assert pixel(window, 480, 520) == (20, 220, 60)
    go_to(qtbot, window, 2)
    assert pixel(window, 480, 520) == (255, 255, 255)  # not propagated yet
    window.actions.propagate_current.trigger()
    wait_job(qtbot, window.propagation.last_job)
    assert pixel(window, 480, 520) == style_rgb(window, new)
    assert project.fills(3) is None


def test_a_paint_undone_while_a_run_goes_is_not_propagated(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = open_and_wait(qtbot, window, shot_dir)
    # A slip: frame 4's ring clicked in the box's colour makes frame 4 a key.
    go_to(qtbot, window, 4)
    key = project.fills(1)
    regions = window.session.frames.get(1).regions  # type: ignore[union-attr]
    assert key is not None
    box_style = int(key.style[regions.region_at(*points(1)["box"])])
    window.session.set_style(box_style)
    click_image(qtbot, window, *points(4)["ring"])
    assert 4 in project.keys
    said = status_log(window)
    first = window.propagation.propagate_all()
    window.actions.undo.trigger()  # taken back before the run ends
    wait_job(qtbot, first)
    # The run begins again without the slip and paints from key 1 alone.
    qtbot.waitUntil(lambda: window.propagation.last_job is not first, timeout=5000)
    wait_job(qtbot, window.propagation.last_job)
    assert any(text.endswith("propagating again") for text in said)
    assert project.keys == {1}
    for frame in (4, 5):
        go_to(qtbot, window, frame)
        assert pixel(window, *points(frame)["ring"]) == RING[:3], frame
    # One undo takes the run back: the undone slip is not in the history.
    window.actions.undo.trigger()
    assert project.fills(5) is None


def test_cancelling_a_run_changes_nothing(qtbot: QtBot, window: MainWindow) -> None:
    shot = sample_shot()
    if shot is None:
        pytest.skip("the sample shot is not installed")
    project = open_and_wait(qtbot, window, shot)
    revision = project.revision
    window.actions.propagate_all.trigger()
    job = window.propagation.last_job
    assert window.session.jobs.widget.isVisible()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # Colorize > Cancel task
    wait_job(qtbot, job)
    assert job.outcome == "cancelled"
    assert project.revision == revision and window.session.undo_stack.count() == 0
    assert not window.session.jobs.widget.isVisible()


def test_colorize_shot_segments_each_painted_frame_once(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames are written while propagation holds them: with a frame cache
    smaller than the shot, none is read and segmented again to be written."""
    window = make_window(qtbot, tmp_path, frame_cache=2)
    open_and_wait(qtbot, window, make_shot(tmp_path / "long", frames=10))
    loads = count_loads(monkeypatch)
    out = tmp_path / "out"
    window.propagation.colorize_shot(out)
    wait_job(qtbot, window.propagation.last_job)
    assert window.propagation.last_job.outcome == "ok"
    assert len(list((out / "composite").iterdir())) == 10
    # Frames the run had to read (not cached when it began) were read once.
    assert set(range(3, 11)) <= set(loads)
    assert max(loads.values()) == 1, loads
    window.close()


def test_the_matcher_is_made_while_the_shot_opens(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The learned matcher takes seconds to make (torch, its weights): it
    is made as the shot opens, off the GUI thread, not when Propagate is
    first pressed (the bar said "busy" for those seconds)."""
    import threading

    import engine.facade as facade

    made: list[str] = []
    real = facade.make_matcher

    def recording(**kwargs: object) -> object:
        made.append(threading.current_thread().name)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(facade, "make_matcher", recording)
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, make_shot(tmp_path / "shot"))
    qtbot.waitUntil(lambda: bool(made), timeout=10000)
    assert made == ["cadmium-matcher"]
    wait_job(qtbot, window.propagation.propagate_all())
    assert made == ["cadmium-matcher"]  # made once
    window.close()


def test_propagating_again_segments_each_frame_once(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Propagate (after a review, with touch-ups) on a shot longer
    than the frame cache: every frame painted by the first run was read
    and segmented to learn whether it held the animator's paint, under a
    bar saying only "busy", then again when propagation reached it."""
    window = make_window(qtbot, tmp_path, frame_cache=2)
    open_and_wait(qtbot, window, make_shot(tmp_path / "long", frames=10))
    wait_job(qtbot, window.propagation.propagate_all())
    project = window.session.project
    assert project is not None and project.fills(6) is not None
    loads = count_loads(monkeypatch)
    job = window.propagation.propagate_all()
    wait_job(qtbot, job)
    assert job is not None and job.outcome == "ok"
    assert set(range(3, 10)) <= set(loads)
    assert max(loads.values()) == 1, loads
    window.close()


def test_a_frame_redrawn_on_disk_while_open_is_read_again_and_undo_follows_it(
    qtbot: QtBot,
    window: MainWindow,
    line_shot: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Clean-up goes on while a shot is painted: frame 4, painted and shown,
    has its box redrawn (its top lowered below the ring's, so the two swap
    region numbers) and saved over. Cadmium reads it again by itself and
    says so; each part keeps its colour, and Ctrl+Z takes back the box's
    paint, not the ring's. Working out where the paint goes (most of a
    second at 4K) is done on the loading thread, not the GUI thread."""
    import engine.carry

    carried_on: list[bool] = []
    source = engine.carry.carrying

    def recording_source(*args):  # type: ignore[no-untyped-def]
        carried_on.append(threading.current_thread() is threading.main_thread())
        return source(*args)

    monkeypatch.setattr(engine.carry, "carrying", recording_source)
    spots = paint_ring_and_box(qtbot, window, line_shot)
    shown = {part: pixel(window, *spots[part]) for part in ("ring", "box")}
    assert shown == {"ring": style_rgb(window, 5), "box": style_rgb(window, 0)}
    painted_on = window.session.current()
    said = status_log(window)

    redraw_box(line_shot, 4)
    x0, y0, _, _ = box_rect(4)
    qtbot.waitUntil(lambda: any("changed on disk" in s for s in said), timeout=10000)
    assert said[-1] == (
        "Frame 4's drawing changed on disk: read again; its paint follows the new lines"
    )
    qtbot.waitUntil(
        lambda: (f := window.session.current()) is not None and f is not painted_on,
        timeout=10000,
    )
    frame = window.session.current()
    assert frame is not None and frame.regions.layout != painted_on.regions.layout
    assert {part: pixel(window, *spots[part]) for part in shown} == shown
    assert pixel(window, x0 + 20, y0 + 10) == (0, 0, 0)  # the new line shows
    assert carried_on == [False]

    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert pixel(window, *spots["box"]) == (255, 255, 255)
    assert pixel(window, *spots["ring"]) == shown["ring"]
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, shift_ctrl)
    assert {part: pixel(window, *spots[part]) for part in shown} == shown


def paint_ring_and_box(
    qtbot: QtBot, window: MainWindow, shot: Path
) -> dict[str, tuple[int, int]]:
    """Open the shot and paint frame 4's ring 5 and box 0; its points."""
    open_and_wait(qtbot, window, shot)
    go_to(qtbot, window, 4)
    spots = points(4)
    for part, style in (("ring", 5), ("box", 0)):
        window.session.set_style(style)
        click_image(qtbot, window, *spots[part])
    return spots


def redrawn_and_read_again(qtbot: QtBot, window: MainWindow, shot: Path) -> None:
    """Frame 4's box redrawn on disk, and the window's word that it read it."""
    said = status_log(window)
    redraw_box(shot, 4)
    qtbot.waitUntil(lambda: any("changed on disk" in s for s in said), timeout=10000)


def test_redo_of_a_frame_s_first_paint_after_a_redraw_paints_the_same_part(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    """Frame 4's box painted (the frame's first paint), the box redrawn on
    disk (box and ring swap region numbers), Ctrl+Z, Ctrl+Shift+Z: the box
    is painted again, not the ring, and the canvas shows it."""
    open_and_wait(qtbot, window, line_shot)
    go_to(qtbot, window, 4)
    spots = points(4)
    window.session.set_style(0)
    click_image(qtbot, window, *spots["box"])
    painted_on = window.session.current()
    redrawn_and_read_again(qtbot, window, line_shot)
    qtbot.waitUntil(
        lambda: (f := window.session.current()) is not None and f is not painted_on,
        timeout=10000,
    )
    assert pixel(window, *spots["box"]) == style_rgb(window, 0)
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert pixel(window, *spots["box"]) == (255, 255, 255)
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, shift_ctrl)
    assert pixel(window, *spots["ring"]) == (255, 255, 255)
    assert pixel(window, *spots["box"]) == style_rgb(window, 0)


def test_the_thumbnail_of_a_painted_frame_redrawn_out_of_sight_keeps_its_colours(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    """Frame 4 painted (ring and box), frame 1 shown, frame 4 redrawn on disk:
    its timeline thumbnail, drawn from its new regions, shows each part in
    its own colour (the fills are carried when the thumbnail's regions are
    read), not the other's."""
    spots = paint_ring_and_box(qtbot, window, line_shot)
    go_to(qtbot, window, 1)
    frames = window.session.frames
    old = frames.label_thumbs[4]
    redrawn_and_read_again(qtbot, window, line_shot)
    qtbot.waitUntil(
        lambda: 4 in frames.label_thumbs and frames.label_thumbs[4] is not old,
        timeout=10000,
    )
    image = window.timeline.thumbnail(4)
    assert image is not None

    def shown(part: str) -> tuple[int, int, int]:
        x, y = spots[part]
        color = image.pixelColor(x // frames.step, y // frames.step)
        return (color.red(), color.green(), color.blue())

    assert shown("box") == style_rgb(window, 0)
    assert shown("ring") == style_rgb(window, 5)


MOVED_OR_JOINED = (
    "Frame 1: 1 region flagged to check: its new drawing moved parts away from "
    "where they were painted, or joined parts painted in different colours (N "
    "goes there; A keeps the colour shown, S offers the other)"
)


def test_a_part_redrawn_further_than_its_width_keeps_its_colour_flagged(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """A painted frame's hand redrawn 40 px away, onto the paper, keeps its
    colour (by position alone it took the paper's, and the frame read as
    done), flagged, and the status bar says so; N goes to it, S offers the
    paper's colour, A keeps the hand's."""
    shot = tmp_path / "figure"
    (shot / "line").mkdir(parents=True)
    for frame in (1, 2):
        cv2.imwrite(str(shot / "line" / f"F_{frame:04d}.png"), figure(120))
    open_and_wait(qtbot, window, shot)
    go_to(qtbot, window, 1)
    for (x, y), style in (((60, 90), 3), ((128, 68), 5), ((200, 140), 1)):
        window.session.set_style(style)
        click_image(qtbot, window, x, y)
    painted_on = window.session.current()
    said = status_log(window)

    cv2.imwrite(str(shot / "line" / "F_0001.png"), figure(160))
    expected = MOVED_OR_JOINED
    qtbot.waitUntil(lambda: expected in said, timeout=10000)
    qtbot.waitUntil(
        lambda: (f := window.session.current()) is not None and f is not painted_on,
        timeout=10000,
    )
    hand = (168, 68)
    assert pixel(window, *hand) == style_rgb(window, 5)
    frame = window.session.current()
    assert frame is not None
    moved = frame.regions.region_at(*hand)
    window.canvas_controller.selected = None
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert window.canvas_controller.selected == (1, moved)
    assert said[-1].endswith(
        f"region {moved}, painted {style_name(window, 5)} (your paint, to check)"
    )
    qtbot.keyClick(window.canvas, Qt.Key.Key_S)
    assert window.session.style == 1
    assert said[-1].startswith(f"Style {style_name(window, 1)}, the next guess (1 of")
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    fills = window.session.project.fills(1)  # type: ignore[union-attr]
    assert fills is not None and fills.style[moved] == 5
    assert not fills.flagged.any()


def test_a_redraw_joining_parts_painted_otherwise_is_flagged(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """The belt between shirt and trousers rubbed out on disk: the joined
    region took the shirt's colour and the frame read as done, the
    trousers' colour lost. It is flagged, the status bar says so, and S
    offers the trousers' colour."""
    shot = tmp_path / "belted"
    (shot / "line").mkdir(parents=True)
    belted = figure(120)
    cv2.line(belted, (20, 100), (100, 100), 0, 2)
    for frame in (1, 2):
        cv2.imwrite(str(shot / "line" / f"F_{frame:04d}.png"), belted)
    open_and_wait(qtbot, window, shot)
    go_to(qtbot, window, 1)
    for (x, y), style in (((60, 70), 3), ((60, 120), 4), ((200, 140), 1)):
        window.session.set_style(style)
        click_image(qtbot, window, x, y)
    said = status_log(window)

    cv2.imwrite(str(shot / "line" / "F_0001.png"), figure(120))
    qtbot.waitUntil(lambda: MOVED_OR_JOINED in said, timeout=10000)
    fills = window.session.project.fills(1)  # type: ignore[union-attr]
    frame = window.session.current()
    assert fills is not None and frame is not None
    body = frame.regions.region_at(60, 120)
    assert body is not None
    assert fills.style[body] == 3 and fills.flagged.tolist() == [
        i == body for i in range(len(fills))
    ]
    window.canvas_controller.selected = None
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    qtbot.keyClick(window.canvas, Qt.Key.Key_S)
    assert window.session.style == 4


def style_name(window: MainWindow, index: int) -> str:
    project = window.session.project
    assert project is not None
    return project.palette[index].name


def test_the_status_bar_s_word_on_the_region_under_the_pointer_follows_paint(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """The pointer held on the box: a click painting it, its undo and the
    next frame (by the keyboard) each change what lies under the pointer.
    The status bar said the box's old style after the click ("Box
    (painted)" over a region now Ring) and the old frame's region number on
    the next frame, until the pointer moved."""
    open_and_wait(qtbot, window, shot_dir)
    canvas, label = window.canvas, window.hover_label
    x, y = points(1)["box"]
    hover(canvas, canvas.widget_pos(x + 0.5, y + 0.5))
    box = style_name(window, STYLES["box"])
    assert label.text().endswith(f" · {box} (painted)")

    window.session.set_style(STYLES["ring"])
    click_image(qtbot, window, x, y)
    assert label.text().endswith(f" · {style_name(window, STYLES['ring'])} (painted)")
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert label.text().endswith(f" · {box} (painted)")

    qtbot.keyClick(canvas, Qt.Key.Key_Period)  # frame 2: not painted yet
    go_to(qtbot, window, 2)  # its regions found
    frame = window.session.current()
    assert frame is not None
    region = frame.regions.region_at(x, y)
    assert label.text() == f"x {x}, y {y} · region {region} · unpainted"
    # The pointer gone off the canvas, nothing is under it: another frame
    # brought the old point's word back.
    QApplication.sendEvent(canvas, QEvent(QEvent.Type.Leave))
    assert label.text() == ""
    go_to(qtbot, window, 1)
    assert label.text() == ""
