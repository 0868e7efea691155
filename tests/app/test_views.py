"""The correspondence view, the palette panel, the gap slider, the timeline
and the ``cadmium`` entry point."""

from __future__ import annotations

import gc
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from app_helpers import (
    click_image,
    go_to,
    hover,
    open_and_wait,
    pixel,
    points,
    status_log,
    style_rgb,
    wait_job,
)
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from cadmium_app import cli
from cadmium_app.gap import PRESETS
from cadmium_app.palette_panel import LEAVE_UNPAINTED
from cadmium_app.settings import load_settings
from cadmium_app.timeline import STATUS_ROLE
from cadmium_app.window import MainWindow
from engine.fills import composite
from engine.matching import Correspondence


def test_correspondence_view_draws_one_line_per_match(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    window.resize(1400, 900)
    go_to(qtbot, window, 4)
    controller = window.correspondence
    with qtbot.waitSignal(controller.pair_ready, timeout=10000):
        window.actions.correspondence.trigger()
    view = controller.window.view
    assert view.pair is not None and view.pair.key.number == 1
    # It opens over the main window, most of its width.
    assert controller.window.width() >= 0.8 * window.width()
    assert window.frameGeometry().contains(controller.window.geometry().center())
    best, score = view.pair.corr.best()
    view.repaint()
    n = view.pair.target.regions.count
    assert view.drawn_lines == int((best >= 0).sum()) == n
    assert view.drawn_crosses == 0
    summary = controller.window.summary.text()
    assert summary.startswith(f"Frame 4 from key 1: {n} of {n} regions matched")
    assert summary.endswith(", 0 no match")
    # Doubtful only: the lines under the flag threshold, here none or fewer.
    controller.window.doubtful_box.setChecked(True)
    view.repaint()
    assert view.drawn_lines == int(((best >= 0) & (score < view.threshold)).sum())
    # A region matched to nothing (a part the key lacks) gets a cross, in
    # both modes, and no line.
    prob = view.pair.corr.prob.copy()
    prob[0] = 0.0
    prob[0, -1] = 1.0
    with qtbot.waitSignal(controller.pair_ready):
        controller._on_pair(replace(view.pair, corr=Correspondence(prob)))
    for doubtful_only in (True, False):
        controller.window.doubtful_box.setChecked(doubtful_only)
        view.repaint()
        assert view.drawn_crosses == 1
    assert view.drawn_lines == n - 1
    assert controller.window.summary.text().endswith(", 1 no match")
    # Hovering a region of the frame lists its candidates and scores.
    qtbot.waitExposed(controller.window)
    _, right, scale = view.layout_rects()
    x, y = points(4)["box"]
    hover(view, right.topLeft() + QPoint(round(x * scale), round(y * scale)).toPointF())
    info = controller.window.info.text()
    assert info.startswith("Frame region") and "key region" in info
    # Key regions are named by their style, as the animator knows them.
    key = view.pair.key.regions.region_at(*points(1)["box"])
    project = window.session.project
    assert project is not None
    key_fills = project.fills(1)
    assert key_fills is not None
    name = project.palette[int(key_fills.style[key])].name
    assert f"key region {key} ({name}) " in info
    # The shot steps from the correspondence window too, and Esc closes it.
    controller.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is controller.window)
    with qtbot.waitSignal(controller.pair_ready, timeout=10000):
        qtbot.keyClick(view, Qt.Key.Key_Period)
    assert window.session.frame == 5 and view.pair.target.number == 5
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not controller.window.isVisible()
    assert window.session.jobs.running == []


def test_palette_edits_recolour_every_frame_and_undo(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    project = window.session.project
    assert project is not None
    ring = points(1)["ring"]
    style = int(
        project.fills(1).style[window.session.current().regions.region_at(*ring)]
    )  # type: ignore[union-attr]
    window.palette.recolor_style(style, (1, 2, 250, 255))
    for frame in (1, 5):
        go_to(qtbot, window, frame)
        assert pixel(window, *points(frame)["ring"]) == (1, 2, 250)
    window.palette.rename_style(style, "Ring red")
    assert project.palette[style].name == "Ring red"
    other = next(i for i in range(len(project.palette)) if i != style)
    taken = project.palette[other].name
    window.palette.rename_style(style, taken.swapcase())  # looks alike: refused
    assert window.dialogs.errors[-1] == f"A style named {taken!r} already exists"
    assert project.palette[style].name == "Ring red"
    window.palette.rename_style(style, "ring Red")  # its own name, recased
    assert project.palette[style].name == "ring Red"
    index = window.palette.add_style("Extra", (9, 9, 9, 255))
    assert project.palette[index].name == "Extra" and window.session.style == index
    panel = window.palette.panel
    assert panel.list.count() == len(project.palette)
    for _ in range(4):
        window.actions.undo.trigger()
    assert project.palette[style].color[:3] == (216, 67, 60)
    assert pixel(window, *points(5)["ring"]) == (216, 67, 60)


def test_deleting_a_style_asks_what_repaints_it_and_undoes(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    project, session = window.session.project, window.session
    assert project is not None
    regions = session.current().regions  # type: ignore[union-attr]
    fills = project.fills(1)
    assert fills is not None
    ring, eye = (
        int(fills.style[regions.region_at(*points(1)[k])]) for k in ("ring", "eye")
    )
    ring_name, eye_name = project.palette[ring].name, project.palette[eye].name
    count = len(project.palette)
    asked: list[tuple[str, list[str]]] = []

    def choose_eye(title: str, label: str, items: list[str], current: int) -> int:
        assert items[current] == LEAVE_UNPAINTED  # offered first
        asked.append((label, items))
        return items.index(eye_name)

    window.dialogs.choice = choose_eye  # type: ignore[method-assign]
    session.set_style(ring)
    window.actions.delete_style.trigger()
    [(label, items)] = asked
    assert label == f"{ring_name} paints 6 regions on 6 frames. Repaint them with:"
    assert ring_name not in items and items[-1].startswith("Nothing")
    assert len(project.palette) == count - 1
    assert ring_name not in [s.name for s in project.palette.styles]
    assert project.palette[session.style].name == eye_name
    for frame in (1, 5):
        go_to(qtbot, window, frame)
        assert pixel(window, *points(frame)["ring"]) == style_rgb(window, session.style)
    assert window.palette.panel.list.count() == count - 1
    window.actions.undo.trigger()
    assert len(project.palette) == count and project.palette[ring].name == ring_name
    assert pixel(window, *points(5)["ring"]) == (216, 67, 60)
    assert project.palette[session.style].name == eye_name  # still chosen
    # A style no frame uses goes without a question.
    extra = window.palette.add_style("Extra", (9, 9, 9, 255))
    window.actions.delete_style.trigger()
    assert len(asked) == 1 and "Extra" not in [s.name for s in project.palette.styles]
    assert session.style == extra - 1  # the style before it
    assert pixel(window, *points(5)["ring"]) == (216, 67, 60)


def test_the_last_style_deleted_and_undone_is_chosen_again(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    project, session = window.session.project, window.session
    assert project is not None
    while len(project.palette):
        assert window.palette.delete_style(0, None)
    assert session.style == -1
    window.actions.undo.trigger()
    assert len(project.palette) == 1 and session.style == 0


def test_no_style_is_deleted_while_the_gap_changes(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    project = open_and_wait(qtbot, window, shot_dir)
    count = len(project.palette)
    window.dialogs.choice = lambda *a, **k: pytest.fail("asked")  # type: ignore[method-assign]
    job = window.gap.set_gap(4)
    window.actions.delete_style.trigger()
    assert len(project.palette) == count
    assert "Wait for the current task" in window.statusBar().currentMessage()
    wait_job(qtbot, job)


def test_a_run_that_outlives_a_style_deletion_runs_again(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    first = window.propagation.propagate_all()
    # A style deleted and one added before the run's result arrives (results
    # come through the event loop): as many styles, but the run's fills
    # number them the old way. It is not used; the run begins again.
    assert window.palette.delete_style(0, None)
    window.palette.add_style("Extra", (9, 9, 9, 255))
    wait_job(qtbot, first)
    qtbot.waitUntil(lambda: window.propagation.last_job is not first, timeout=5000)
    wait_job(qtbot, window.propagation.last_job)
    assert window.dialogs.errors == []
    go_to(qtbot, window, 3)
    assert pixel(window, *points(3)["ring"]) == (216, 67, 60)
    # Style 0 was the box's: left unpainted on the key, so on frame 3.
    assert pixel(window, *points(3)["box"]) == (255, 255, 255)


def test_the_tools_menu_offers_the_toolbar_gap_presets(window: MainWindow) -> None:
    buttons = [b.text() for b in window.gap.widget.presets]
    assert buttons == [str(px) for px in PRESETS]
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    offered = [a.text() for a in tools.actions() if a.text().startswith("Close gaps")]
    assert offered == [f"Close gaps: {px} px" for px in PRESETS]


def test_gap_slider_reanalyses_and_keeps_fills(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    wait_job(qtbot, window.propagation.propagate_all())
    before = pixel(window, *points(1)["ring"])
    project = window.session.project
    assert project is not None
    assert project.gap == 8  # the default
    at_8 = {n: project.fills(n) for n in project.shot.frames}
    doubts = sorted(set(np.concatenate([f.confidence for f in at_8.values()])))  # type: ignore[union-attr]
    assert len(doubts) > 2  # propagated fills with their own confidences
    window.canvas_controller.selected = (1, 0)  # as Next problem leaves it
    window.gap.widget.presets[0].click()  # 4 px
    qtbot.waitUntil(lambda: project.gap == 4 and window.session.editable, timeout=15000)
    qtbot.waitUntil(lambda: window.session.current() is not None, timeout=10000)
    assert window.session.engine.gap == 4  # type: ignore[union-attr]
    # Region numbers mean other regions now: Accept or Return must not act
    # on the region selected before.
    assert window.canvas_controller.selected is None
    assert window.gap.widget.slider.value() == 4
    assert pixel(window, *points(1)["ring"]) == before
    assert all(project.fills(n) is not None for n in project.shot.frames)
    # Confidences (and review flags) come along with the colours.
    carried = np.concatenate([project.fills(n).confidence for n in project.shot.frames])  # type: ignore[union-attr]
    assert sorted(set(carried)) == doubts
    # The change is one undo step; going back to 8 px restores every fill
    # exactly (it undoes the change rather than carrying the fills again).
    stack = window.session.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == [
        "Propagate to the whole shot",
        "Close gaps up to 4 px",
    ]
    window.gap.widget.presets[1].click()  # 8 px
    qtbot.waitUntil(lambda: project.gap == 8 and window.session.editable, timeout=15000)
    assert stack.index() == 1 and stack.canRedo()
    assert window.gap.widget.slider.value() == 8
    for n in project.shot.frames:
        for name in ("style", "origin", "confidence", "flagged"):
            assert np.array_equal(
                getattr(project.fills(n), name), getattr(at_8[n], name)
            )
    stack.redo()  # and Ctrl+Shift+Z goes to 4 px again
    qtbot.waitUntil(lambda: window.session.current() is not None, timeout=10000)
    assert project.gap == 4 and window.session.engine.gap == 4  # type: ignore[union-attr]
    # Painted at 4 px, then back to 8: a new change, which restores every
    # region not repainted since exactly and keeps the new paint.
    go_to(qtbot, window, 3)
    window.session.set_style(7)
    click_image(qtbot, window, *points(3)["box"])
    window.gap.widget.presets[1].click()  # 8 px
    qtbot.waitUntil(lambda: project.gap == 8 and window.session.editable, timeout=15000)
    assert stack.count() == 4 and not stack.canRedo()
    qtbot.waitUntil(lambda: window.session.current() is not None, timeout=10000)
    assert pixel(window, *points(3)["box"]) == style_rgb(window, 7)
    for n in project.shot.frames:
        now, then = project.fills(n), at_8[n]
        assert now is not None and then is not None
        same = ~now.differs(then)
        assert same.all() if n != 3 else same.sum() == len(same) - 1, n


def test_back_to_a_gap_after_painting_gives_merged_regions_their_paint_back(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from drawing import open_circle

    shot = tmp_path / "ring"
    (shot / "line").mkdir(parents=True)
    for n in (1, 2):
        cv2.imwrite(str(shot / "line" / f"{n:04d}.png"), open_circle(6))
    open_and_wait(qtbot, window, shot)  # 8 px: the 6 px gap is closed
    inside, outside = (100, 80), (10, 10)
    for (x, y), style in ((inside, 3), (outside, 5)):
        window.session.set_style(style)
        click_image(qtbot, window, x, y)
    project = window.session.project
    assert project is not None
    window.gap.widget.presets[0].click()  # 4 px: inside runs into outside
    qtbot.waitUntil(lambda: project.gap == 4 and window.session.editable, timeout=15000)
    qtbot.waitUntil(lambda: window.session.current() is not None, timeout=10000)
    assert pixel(window, *inside) == pixel(window, *outside)
    go_to(qtbot, window, 2)
    click_image(qtbot, window, *outside)  # painting elsewhere meanwhile
    window.gap.widget.presets[1].click()  # 8 px again
    qtbot.waitUntil(lambda: project.gap == 8 and window.session.editable, timeout=15000)
    go_to(qtbot, window, 1)
    assert pixel(window, *inside) == style_rgb(window, 3)
    assert pixel(window, *outside) == style_rgb(window, 5)


@pytest.mark.parametrize("cancel", [False, True])
def test_a_touch_up_during_a_propagation_does_not_make_a_key(
    qtbot: QtBot,
    window: MainWindow,
    shot_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    cancel: bool,
) -> None:
    """Painting a frame that has no propagated fills makes it a key, but a
    frame the run under way is about to paint only has none yet. If the run
    then paints nothing (cancelled), the touch-up is what it would have been
    without the run: a key."""
    import threading

    from cadmium_app import propagate
    from engine.fills import ORIGIN_ANIMATOR, ORIGIN_PROPAGATED

    open_and_wait(qtbot, window, shot_dir)
    release = threading.Event()
    run_propagation = propagate.run_propagation

    def held(*args: object, **kwargs: object) -> object:
        release.wait(20)
        return run_propagation(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(propagate, "run_propagation", held)
    go_to(qtbot, window, 4)
    job = window.propagation.propagate_all()
    assert job is not None
    window.session.set_style(5)
    click_image(qtbot, window, 10, 10)  # the touch-up, while the run waits
    project = window.session.project
    assert project is not None and project.keys == {1}
    if cancel:
        job.cancel()
    release.set()
    wait_job(qtbot, job)
    assert project.awaiting_propagation == frozenset()
    assert pixel(window, 10, 10) == style_rgb(window, 5)
    fills = project.fills(4)
    assert fills is not None
    assert (fills.origin == ORIGIN_ANIMATOR).sum() == 1  # the touch-up stays
    if cancel:
        assert project.keys == {1, 4}
        assert not (fills.origin == ORIGIN_PROPAGATED).any()
    else:
        assert project.keys == {1}
        assert (fills.origin == ORIGIN_PROPAGATED).any()  # the rest is painted


def test_timeline_shows_keys_and_statuses(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    model = window.timeline.model
    statuses = [
        model.data(model.index(r), STATUS_ROLE) for r in range(model.rowCount())
    ]
    assert [s.key for s in statuses] == [True] + [False] * 5
    assert not any(s.has_fills for s in statuses[1:])
    wait_job(qtbot, window.propagation.propagate_all())
    statuses = [
        model.data(model.index(r), STATUS_ROLE) for r in range(model.rowCount())
    ]
    assert all(s.propagated for s in statuses[1:])
    assert window.timeline.thumbnail(3) is not None
    # Clicking a cell goes to its frame.
    view = window.timeline.view
    rect = view.visualRect(model.index(4))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.frame == 5


def test_cadmium_open_starts_the_app_on_a_shot(
    qtbot: QtBot, shot_dir: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"matcher": "assignment", "autosave_seconds": 0}))
    monkeypatch.setenv("CADMIUM_SETTINGS", str(settings))
    seen: list[int] = []

    def look_and_close() -> None:
        windows = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
        ]
        window = windows[-1]
        if window.session.project is None or not window.session.editable:
            QTimer.singleShot(50, look_and_close)
            return
        seen.append(len(window.session.project.shot.frames))
        window.close()

    QTimer.singleShot(50, look_and_close)
    assert cli.main(["open", str(shot_dir)]) == 0
    assert seen == [6]


def test_unknown_settings_are_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps({"gap": 3, "colour": "red"}))
    try:
        load_settings(bad)
    except ValueError as exc:
        assert "colour" in str(exc)
    else:
        raise AssertionError("unknown key accepted")
    bad.write_text(json.dumps({"gap": "three"}))
    try:
        load_settings(bad)
    except ValueError as exc:
        assert "gap" in str(exc)
    else:
        raise AssertionError("bad type accepted")
    assert load_settings(matcher="overlap").matcher == "overlap"
    assert np.isclose(load_settings(flag_below=1).flag_below, 1.0)


@pytest.mark.parametrize(
    "key, value",
    [
        ("flag_below", 5),
        ("flag_below", -0.1),
        ("gap", 1000),
        ("gap", -1),
        ("matcher", "magic"),
        ("device", "tpu"),
        ("autosave_seconds", -1),
        ("onion_opacity", 1.5),
        ("thumbnail_width", 0),
        ("frame_cache", 0),
        ("undo_limit", -5),
    ],
)
def test_settings_out_of_range_are_an_error(
    tmp_path: Path, key: str, value: object
) -> None:
    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps({key: value}))
    with pytest.raises(ValueError, match=re.escape(f"'{key}' is {value!r}: use ")):
        load_settings(bad)


def test_a_long_session_keeps_the_interpreter_sound(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """Thousands of signals (hovering, progress) must not eat references to
    True: PySide 6.12.0 leaks one per Python emit (see cadmium_app.signals)."""
    open_and_wait(qtbot, window, shot_dir)
    canvas = window.canvas
    gc.collect()
    before = sys.getrefcount(True)
    for i in range(400):
        hover(canvas, QPointF(150 + i % 50, 120 + i % 30))
    wait_job(qtbot, window.propagation.propagate_all())
    gc.collect()
    assert sys.getrefcount(True) > before - 50


def test_gap_closures_are_drawn(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    shot = tmp_path / "gappy"
    (shot / "line").mkdir(parents=True)
    image = np.full((100, 120, 3), 255, np.uint8)
    # A box drawn with a 4 px gap in its right side.
    image[20:23, 20:100] = image[77:80, 20:100] = image[20:80, 20:23] = 0
    image[20:47, 97:100] = image[51:80, 97:100] = 0
    cv2.imwrite(str(shot / "line" / "0001.png"), image)
    open_and_wait(qtbot, window, shot)
    canvas = window.canvas
    assert len(canvas.closure_segments) >= 1 and "closures" in canvas.layers
    # The closure keeps the fill inside the ring.
    window.session.set_style(4)
    click_image(qtbot, window, 60, 50)
    assert pixel(window, 60, 50) == style_rgb(window, 4)
    assert pixel(window, 5, 5) == (255, 255, 255)
    window.actions.show_closures.trigger()
    assert len(canvas.closure_segments) == 0 and "closures" not in canvas.layers


def test_the_canvas_shows_what_export_writes(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """Fills run under the antialiased lines without a halo: the canvas is
    the engine's composite, pixel for pixel."""
    open_and_wait(qtbot, window, shot_dir)
    frame = window.session.current()
    project = window.session.project
    assert frame is not None and project is not None
    fills = project.fills(1)
    assert fills is not None and fills.painted.all()
    expected = composite(
        frame.image, frame.lineart, frame.regions, fills, project.palette
    )
    shown = window.canvas.render_composite().convertToFormat(
        QImage.Format.Format_RGBA8888
    )
    array = np.frombuffer(shown.constBits(), np.uint8).reshape(
        120, shown.bytesPerLine() // 4, 4
    )
    diff = np.abs(array[:, :160, :3].astype(int) - expected[:, :, :3].astype(int))
    assert diff.max() <= 2


def test_mark_key_shortcut(qtbot: QtBot, window: MainWindow, shot_dir: Path) -> None:
    open_and_wait(qtbot, window, shot_dir)
    go_to(qtbot, window, 3)
    said = status_log(window)
    qtbot.keyClick(window.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)
    project = window.session.project
    assert project is not None and project.keys == {1, 3}
    assert said[-1] == (
        "Frame 3 is a key: propagation paints from it (Shift+K unmarks it)"
    )
    assert window.actions.toggle_key.text() == "Unmark key"
    assert window.actions.toggle_key.toolTip() == "Unmark key (Shift+K)"
    window.actions.undo.trigger()
    assert project.keys == {1}
    assert said[-1] == "Undid Mark key on frame 3"
    qtbot.keyClick(window.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)
    assert project.keys == {1} and said[-1] == "Frame 3 is no longer a key"


def test_undoing_a_palette_change_says_so(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    said = status_log(window)
    window.palette.recolor_style(2, (10, 20, 30, 255))
    name = window.session.project.palette[2].name  # type: ignore[union-attr]
    window.actions.undo.trigger()
    assert said[-1] == f"Undid Recolour {name}"
    window.actions.redo.trigger()
    assert said[-1] == f"Redid Recolour {name}"


def test_the_canvas_paints_a_trace_line_across_its_width_like_the_composite() -> None:
    from cadmium_app import render
    from engine.fills import ORIGIN_ANIMATOR, FillMap, composite
    from engine.matching import Frame
    from engine.outputs import line_rgba
    from engine.palette import Palette, Style
    from engine.regions import segment_image

    image = np.full((100, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (190, 90), (0, 0, 0), 2)
    cv2.line(image, (100, 10), (100, 90), (255, 0, 0), 3)  # a red trace line
    lineart, regions = segment_image(image)
    palette = Palette(
        (Style("paper", (250, 240, 220, 255)), Style("shade", (40, 60, 200, 255), True))
    )
    styles = np.zeros(regions.count, int)
    styles[regions.labels[50, 50] - 1] = 1  # left of the line: shade
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(regions.count), styles, ORIGIN_ANIMATOR
    )
    frame = Frame(1, image, lineart, regions)
    lines = render.lines_with_trace_painted(line_rgba(image), frame, fills, palette)
    shown = [tuple(px) for px in lines[50, 95:106] if px[3]]
    assert len(shown) >= 3 and set(shown) == {(40, 60, 200, 255)}
    out = composite(image, lineart, regions, fills, palette)
    assert [tuple(px) for px in out[50, 99:102]] == [(40, 60, 200, 255)] * 3


def test_a_style_name_is_one_short_line(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    project = open_and_wait(qtbot, window, line_shot)
    window.session.set_style(0)
    before = project.palette[0].name
    for typed in ("two\nlines", "x" * 300, "tab\there"):
        window.dialogs.text = lambda *a, typed=typed: typed  # type: ignore[method-assign]
        window.palette.ask_rename()
        assert project.palette[0].name == before
        assert window.dialogs.errors[-1].startswith("A style name is one line")
    window.dialogs.text = lambda *a: "  Sky  "  # type: ignore[method-assign]
    window.palette.ask_rename()
    assert project.palette[0].name == "Sky"


def test_centring_on_a_region_near_the_edge_leaves_no_empty_margin(
    qtbot: QtBot, window: MainWindow
) -> None:
    canvas = window.canvas
    canvas.resize(400, 300)
    canvas.set_image_size(200, 100)
    canvas.zoom = 4.0  # the image, 800 x 400 on screen, fills the view
    canvas.center_on(2, 2)  # a region in the top-left corner
    assert (canvas.offset.x(), canvas.offset.y()) == (0.0, 0.0)
    canvas.center_on(198, 98)  # and in the bottom-right one
    assert (canvas.offset.x(), canvas.offset.y()) == (400 - 800, 300 - 400)
    canvas.center_on(100, 50)  # in the middle: centred as asked
    assert canvas.image_pos(QPointF(200, 150)) == QPointF(100, 50)
    canvas.zoom = 1.0  # the whole image fits: it stays centred
    canvas.center_on(2, 2)
    assert (canvas.offset.x(), canvas.offset.y()) == (100.0, 100.0)


def test_the_gap_slider_reaches_further_on_larger_frames() -> None:
    from cadmium_app.gap import slider_end

    assert slider_end((1920, 1080), 8) == 16
    assert slider_end((640, 360), 8) == 16
    assert slider_end((3840, 2160), 8) == 32  # lines and gaps twice as wide
    assert slider_end((640, 360), 24) == 24  # a shot.json gap stays in reach
    assert slider_end(None, 100) == 64  # never past the engine's limit


def test_a_shot_gap_beyond_16_px_shows_on_the_slider(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    (shot_dir / "shot.json").write_text('{"settings": {"gap": 24}}')
    open_and_wait(qtbot, window, shot_dir)
    slider = window.gap.widget.slider
    assert (slider.value(), slider.maximum()) == (24, 24)
    assert window.gap.widget.value.text() == "24 px"


def test_an_hd_shot_opens_closing_gaps_in_proportion(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """With no shot.json gap, an HD shot opens at 12 px (8 px at 1280 px
    and below), the app's gap setting scaled the same way."""
    from engine.imageio import write_png

    shot = tmp_path / "hd"
    frame = np.full((1080, 1920), 255, np.uint8)
    frame[500:504, 200:1700] = 0
    write_png(shot / "line" / "0001.png", frame)
    open_and_wait(qtbot, window, shot)
    assert window.session.project is not None and window.session.project.gap == 12
    assert window.gap.widget.value.text() == "12 px"


def test_the_frame_shown_stays_in_sight_on_the_timeline_when_the_window_narrows(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from app_helpers import make_shot

    open_and_wait(qtbot, window, make_shot(tmp_path / "long", frames=30, keys=()))
    window.resize(1400, 700)
    go_to(qtbot, window, 24)
    view = window.timeline.view
    model = window.timeline.model

    def in_sight() -> bool:
        cell = view.visualRect(model.index(model.row_of(24)))
        return view.viewport().rect().contains(cell.center())

    assert in_sight()
    window.resize(600, 700)
    qtbot.waitUntil(lambda: view.viewport().width() < 600)
    assert in_sight()


def test_the_current_frames_line_layer_is_made_once_not_at_every_refresh(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At HD a line layer takes 70-100 ms on the GUI thread. The layer of
    the frame shown went from its cache while its analysis stayed (the
    cache did not count it as in use), and every refresh (a fill, an undo)
    made it again."""
    import cadmium_app.tools as tools

    open_and_wait(qtbot, window, shot_dir)
    frames = window.session.frames
    shown = frames.lines(1)
    assert shown is not None
    for number in range(100, 100 + frames._cache_size - 1):  # other loads
        frames.keep_lines(number, shown)
        assert frames.lines(1) is not None  # shown: in use, kept
    frames.keep_lines(99, shown)
    frames._lines.pop(1, None)  # gone all the same (a cache of one, say)
    made: list[int] = []
    real = tools.line_rgba
    monkeypatch.setattr(tools, "line_rgba", lambda image: made.append(1) or real(image))
    for _ in range(3):
        window.canvas_controller.refresh()
    assert made == [1]
