"""The keyboard and mouse conventions do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import (
    HEIGHT,
    WIDTH,
    click_image,
    go_to,
    make_shot,
    open_and_wait,
    pixel,
    points,
    status_log,
    style_rgb,
)
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from cadmium_app.tools import Tool
from cadmium_app.window import MainWindow
from engine.fills import ORIGIN_ANIMATOR, ORIGIN_PROPAGATED, FillMap, neighbour_styles
from engine.palette import UNPAINTED
from engine.project import FillMode

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key, modifier=None) -> None:  # type: ignore[no-untyped-def]
    if modifier is None:
        qtbot.keyClick(window.canvas, key)
    else:
        qtbot.keyClick(window.canvas, key, modifier)


def test_frame_navigation_keys(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    session = window.session
    steps = [
        (Qt.Key.Key_Period, None, 2),
        (Qt.Key.Key_Right, None, 3),
        (Qt.Key.Key_Comma, None, 2),
        (Qt.Key.Key_Left, None, 1),
        (Qt.Key.Key_Left, None, 1),  # stays on the first frame
        (Qt.Key.Key_Period, ALT, 6),
        (Qt.Key.Key_Period, None, 6),
        (Qt.Key.Key_Comma, ALT, 1),
    ]
    for key, modifier, expected in steps:
        press(qtbot, window, key, modifier)
        assert session.frame == expected, (key, modifier)
    assert "Frame 1" in window.frame_label.text()


def test_tool_keys_and_fill_modes(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    tools = window.canvas_controller
    press(qtbot, window, Qt.Key.Key_K)
    assert tools.tool is Tool.PICKER and window.actions.picker_tool.isChecked()
    # The picker takes the style under the cursor, then hands back the fill.
    window.session.set_style(0)
    click_image(qtbot, window, *points(1)["ring"])
    project = window.session.project
    assert project is not None and project.palette[window.session.style].color[:3] == (
        216,
        67,
        60,
    )
    assert tools.tool is Tool.FILL
    press(qtbot, window, Qt.Key.Key_K)
    press(qtbot, window, Qt.Key.Key_F)
    assert tools.tool is Tool.FILL and window.actions.fill_tool.isChecked()
    # Esc leaves the picker when no task runs.
    press(qtbot, window, Qt.Key.Key_K)
    press(qtbot, window, Qt.Key.Key_Escape)
    assert tools.tool is Tool.FILL and window.actions.fill_tool.isChecked()
    for key, mode in (
        (Qt.Key.Key_3, FillMode.UNPAINT),
        (Qt.Key.Key_2, FillMode.PAINT_UNPAINTED),
        (Qt.Key.Key_1, FillMode.PAINT),
    ):
        press(qtbot, window, key, ALT)
        assert tools.mode is mode


def test_onion_skin_and_fill_check_toggles(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    go_to(qtbot, window, 3)
    canvas = window.canvas
    press(qtbot, window, Qt.Key.Key_Slash)
    assert window.actions.onion_skin.isChecked()
    qtbot.waitUntil(
        lambda: "onion_previous" in canvas.layers and "onion_next" in canvas.layers,
        timeout=5000,
    )
    press(qtbot, window, Qt.Key.Key_Slash)
    assert "onion_previous" not in canvas.layers
    # Fill check: unpainted regions are highlighted, painted ones are not.
    window.session.set_style(1)
    click_image(qtbot, window, *points(3)["box"])
    press(qtbot, window, Qt.Key.Key_U)
    layer = canvas.layers["unpainted"]
    assert layer.pixelColor(*points(3)["ring"]).alpha() > 0
    assert layer.pixelColor(*points(3)["box"]).alpha() == 0


def test_zoom_and_pan(qtbot: QtBot, window: MainWindow, shot_dir: Path) -> None:
    open_and_wait(qtbot, window, shot_dir)
    canvas = window.canvas
    press(qtbot, window, Qt.Key.Key_1, CTRL)
    assert canvas.zoom == 1.0
    press(qtbot, window, Qt.Key.Key_Plus)
    assert canvas.zoom > 1.0
    press(qtbot, window, Qt.Key.Key_Minus)
    press(qtbot, window, Qt.Key.Key_Minus)
    assert canvas.zoom < 1.0
    press(qtbot, window, Qt.Key.Key_0, CTRL)
    fitted = canvas.zoom
    assert 160 * fitted <= canvas.width() and 120 * fitted <= canvas.height()
    # Fitted, the frame stays fitted as the window shrinks or grows.
    window.resize(window.width() - 200, window.height() - 150)
    qtbot.waitUntil(lambda: canvas.zoom != fitted, timeout=5000)
    assert 160 * canvas.zoom <= canvas.width() and 120 * canvas.zoom <= canvas.height()
    window.resize(window.width() + 200, window.height() + 150)
    qtbot.waitUntil(lambda: abs(canvas.zoom - fitted) < 1e-9, timeout=5000)
    # Middle-drag pans.
    start = QPointF(canvas.offset)
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(140, 120))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(140, 120))
    assert canvas.offset - start == QPointF(40, 20)
    # Space held + left drag pans too, and paints nothing.
    start = QPointF(canvas.offset)
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(90, 130))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(90, 130))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.offset - start == QPointF(-10, 30)
    assert window.session.undo_stack.count() == 0
    # Panned or zoomed by hand, a resize keeps the zoom.
    zoom = canvas.zoom
    window.resize(window.width() - 100, window.height() - 100)
    qtbot.wait(50)
    assert canvas.zoom == zoom


def test_next_problem_and_flagged_outlines(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    session = window.session
    for name in ("background", "ring", "eye"):
        session.set_style(2)
        click_image(qtbot, window, *points(1)[name])
    press(qtbot, window, Qt.Key.Key_N)
    frame = session.current()
    assert frame is not None
    box = frame.regions.region_at(*points(1)["box"])
    assert window.canvas_controller.selected == (1, box)
    assert "selected" in window.canvas.layers
    press(qtbot, window, Qt.Key.Key_N)
    assert session.frame == 2  # a frame nobody painted yet
    # A flagged region is outlined.
    project = session.project
    assert project is not None
    go_to(qtbot, window, 1)
    fills = project.fills(1)
    assert fills is not None
    flagged = fills.flagged.copy()
    flagged[box] = True
    project.set_fills(1, fills.replace(flagged=flagged))
    session.fills_changed.emit((1,))
    assert "flagged" in window.canvas.layers
    assert pixel(window, *points(1)["eye"]) == style_rgb(window, 2)
    # Next problem names the style a flagged region was given.
    said = status_log(window)
    fills = project.fills(1)
    assert fills is not None
    eye = frame.regions.region_at(*points(1)["eye"])
    doubt = fills.flagged.copy()
    doubt[eye] = True
    confidence = fills.confidence.copy()
    confidence[eye] = 0.42
    project.set_fills(1, fills.replace(flagged=doubt, confidence=confidence))
    window.canvas_controller.selected = (1, box)
    press(qtbot, window, Qt.Key.Key_N)
    name = project.palette[2].name
    assert said[-1] == f"Next problem: frame 1, region {eye}, painted {name} (42% sure)"


def propagated_frame_3(
    qtbot: QtBot,
    window: MainWindow,
    shot_dir: Path,
    flagged: tuple[str, ...],
    unpainted: tuple[str, ...] = (),
) -> list[int]:
    """The shot open at frame 3, painted by propagation in style 2 with the
    named parts (see `points`) flagged for review (left unpainted when also
    in ``unpainted``); the flagged parts' regions."""
    open_and_wait(qtbot, window, shot_dir)
    project = window.session.project
    assert project is not None
    go_to(qtbot, window, 3)
    frame = window.session.current()
    assert frame is not None
    count = frame.regions.count
    region = {n: frame.regions.region_at(*points(3)[n]) for n in flagged}
    doubtful = FillMap(
        style=np.full(count, 2, np.int32),
        origin=np.full(count, ORIGIN_PROPAGATED, np.uint8),
        confidence=np.full(count, 0.5, np.float32),
        flagged=np.zeros(count, bool),
    )
    doubtful.flagged[list(region.values())] = True
    doubtful.style[[region[n] for n in unpainted]] = UNPAINTED
    window.session.push(project.propagation_edit({3: doubtful}, "Propagate"))
    return list(region.values())


def test_accept_keeps_a_flagged_colour_and_goes_on_to_the_next_problem(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """Reviewing: N goes to a flagged region, A keeps its colour (no more
    flag, one undo step) and goes on; Shift+A accepts the rest of the
    frame; an unpainted flag has nothing to accept and says so."""
    ring, eye, box = propagated_frame_3(
        qtbot, window, shot_dir, flagged=("ring", "eye", "box"), unpainted=("box",)
    )
    session = window.session
    project = session.project
    assert project is not None
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_A)
    assert said[-1].startswith("Nothing to accept: go to a flagged region first")
    first, second = sorted([ring, eye])
    window.canvas_controller.selected = None
    press(qtbot, window, Qt.Key.Key_N)
    assert window.canvas_controller.selected == (3, min(first, box))
    while window.canvas_controller.selected != (3, first):
        press(qtbot, window, Qt.Key.Key_N)
    press(qtbot, window, Qt.Key.Key_A)
    fills = project.fills(3)
    assert fills is not None and not fills.flagged[first] and fills.style[first] == 2
    assert fills.flagged[second]
    assert pixel(window, *points(3)["ring" if first == ring else "eye"]) == style_rgb(
        window, 2
    )
    assert said[-1].startswith("Next problem: frame 3")  # on to the next one
    assert session.undo_stack.undoText() == "Accept"
    # The unpainted one: nothing to accept.
    window.canvas_controller.selected = (3, box)
    press(qtbot, window, Qt.Key.Key_A)
    assert said[-1] == (
        f"Region {box} is unpainted: paint it (Accept keeps a colour propagation gave)"
    )
    # Shift+A: the rest of the frame's painted flags.
    press(qtbot, window, Qt.Key.Key_A, SHIFT)
    assert said[-1] == "Frame 3: accepted 1 flagged region; 1 left unpainted"
    fills = project.fills(3)
    assert fills is not None and fills.flagged.tolist() == [
        i == box for i in range(len(fills))
    ]
    press(qtbot, window, Qt.Key.Key_A, SHIFT)
    assert said[-1] == "Frame 3 has no flagged colours to accept"
    session.undo_stack.undo()
    session.undo_stack.undo()
    fills = project.fills(3)
    assert fills is not None and fills.flagged[[ring, eye, box]].all()


def test_next_problem_on_the_last_one_says_it_is_the_last(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, make_shot(tmp_path / "one", frames=1, keys=()))
    session = window.session
    for name in ("background", "ring", "eye"):
        session.set_style(2)
        click_image(qtbot, window, *points(1)[name])
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_N)
    box = window.canvas_controller.selected
    assert box is not None
    assert said[-1] == f"Next problem: frame 1, region {box[1]}, unpainted"
    press(qtbot, window, Qt.Key.Key_N)
    assert said[-1] == (
        f"This is the last problem left: frame 1, region {box[1]}, unpainted"
    )
    assert window.canvas_controller.selected == box


def test_next_problem_on_another_frame_is_not_called_the_last(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """The same region number left on the next frame is another problem."""
    open_and_wait(qtbot, window, make_shot(tmp_path / "two", frames=2, keys=()))
    session = window.session
    for frame in (1, 2):
        go_to(qtbot, window, frame)
        for name in ("background", "ring", "eye"):
            session.set_style(2)
            click_image(qtbot, window, *points(frame)[name])
    boxes = []
    for frame in (1, 2):
        go_to(qtbot, window, frame)
        current = session.current()
        assert current is not None
        boxes.append(current.regions.region_at(*points(frame)["box"]))
    assert boxes[0] == boxes[1]  # the case: one region number on both frames
    go_to(qtbot, window, 1)
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_N)
    assert said[-1] == f"Next problem: frame 1, region {boxes[0]}, unpainted"
    press(qtbot, window, Qt.Key.Key_N)
    assert said[-1] == f"Next problem: frame 2, region {boxes[1]}, unpainted"
    # Past the last problem of the shot, the next is the first again.
    press(qtbot, window, Qt.Key.Key_N)
    assert said[-1] == (
        f"Back to the first problem: frame 1, region {boxes[0]}, unpainted"
    )


def test_next_problem_on_the_only_frame_left_unpainted_says_it_is_the_last(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    open_and_wait(qtbot, window, make_shot(tmp_path / "one", frames=1, keys=()))
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_N)
    assert said[-1] == "This is the last problem left: frame 1, not painted yet"


def test_brackets_step_through_the_palette_round_its_ends(
    qtbot: QtBot, window: MainWindow, line_shot: Path
) -> None:
    open_and_wait(qtbot, window, line_shot)
    session = window.session
    styles = len(session.project.palette)  # type: ignore[union-attr]
    session.set_style(0)
    press(qtbot, window, Qt.Key.Key_BracketRight)
    assert session.style == 1
    press(qtbot, window, Qt.Key.Key_BracketLeft)
    press(qtbot, window, Qt.Key.Key_BracketLeft)
    assert session.style == styles - 1
    # The palette panel follows.
    assert window.palette.panel.list.currentRow() == styles - 1


def test_return_paints_the_problem_region_with_the_current_style(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """A review without the mouse: N goes to a problem region, ] picks a
    style, Return paints it (one undo step) and goes on."""
    (ring,) = propagated_frame_3(qtbot, window, shot_dir, flagged=("ring",))
    session = window.session
    project = session.project
    assert project is not None
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_Return)
    assert said[-1].startswith("Nothing to paint: go to a problem region first")
    press(qtbot, window, Qt.Key.Key_N)
    assert window.canvas_controller.selected == (3, ring)
    session.set_style(2)
    press(qtbot, window, Qt.Key.Key_BracketRight)
    style = session.style
    assert style != 2
    press(qtbot, window, Qt.Key.Key_Return)
    fills = project.fills(3)
    assert fills is not None
    assert fills.style[ring] == style and not fills.flagged[ring]
    assert fills.origin[ring] == ORIGIN_ANIMATOR
    assert said[-1].startswith("Next problem: frame 4")  # on to the next one
    assert session.undo_stack.undoText() == "Fill"
    qtbot.waitUntil(lambda: session.current() is not None, timeout=10000)
    press(qtbot, window, Qt.Key.Key_Return)  # frame 4: nobody painted it yet
    assert said[-1].startswith("Frame 4 has nothing painted yet: paint it")
    go_to(qtbot, window, 3)
    assert pixel(window, *points(3)["ring"]) == style_rgb(window, style)
    session.undo_stack.undo()
    fills = project.fills(3)
    assert fills is not None and fills.style[ring] == 2 and fills.flagged[ring]


def test_s_offers_propagations_next_guesses_then_neighbours_styles_in_turn(
    qtbot: QtBot, window: MainWindow, shot_dir: Path
) -> None:
    """A region painted wrong is most often right in propagation's next
    guess, else often in a neighbour's colour: S offers those styles for the
    region Next problem went to, one per press, and Return paints with the
    one shown."""
    (ring,) = propagated_frame_3(qtbot, window, shot_dir, flagged=("ring",))
    session = window.session
    project = session.project
    frame = session.current()
    assert project is not None and frame is not None
    said = status_log(window)
    press(qtbot, window, Qt.Key.Key_S)
    assert said[-1].startswith("No region to find styles for: go to one first")
    press(qtbot, window, Qt.Key.Key_N)
    assert window.canvas_controller.selected == (3, ring)
    press(qtbot, window, Qt.Key.Key_S)  # every region is style 2 so far
    assert said[-1].startswith(f"Region {ring}: no other style to offer")
    # The regions painted apart, each in a style of its own, and a guess
    # for the ring that no neighbour has (its own style is never offered).
    fills = project.fills(3)
    assert fills is not None
    varied = (np.arange(len(fills)) % len(project.palette)).astype(np.int32)
    varied[ring] = 2
    around = neighbour_styles(frame.regions, fills.replace(style=varied), ring)
    assert len(around) >= 1
    guess = next(s for s in range(len(project.palette)) if s not in (*around, 2))
    alternatives = fills.alternatives.copy()
    alternatives[ring] = [2, guess, UNPAINTED]
    project.set_fills(3, fills.replace(style=varied, alternatives=alternatives))
    press(qtbot, window, Qt.Key.Key_S)
    assert session.style == guess
    total = 1 + len(around)
    assert said[-1] == (
        f"Style {project.palette[guess].name}, propagation's next guess "
        f"(1 of {total}): Return paints region {ring} with it"
    )
    press(qtbot, window, Qt.Key.Key_S)
    assert session.style == around[0]
    assert said[-1].startswith(
        f"Style {project.palette[around[0]].name}, a neighbour's (2 of {total})"
    )
    press(qtbot, window, Qt.Key.Key_Return)
    fills = project.fills(3)
    assert fills is not None and fills.style[ring] == around[0]
    assert not fills.flagged[ring]
    # Wrong after all, noticed a frame later: Ctrl+Z shows frame 3 again,
    # with the ring selected and flagged as before, and S goes on in turn.
    go_to(qtbot, window, 4)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.frame == 3
    assert said[-1] == "Undid Fill on frame 3"
    assert window.canvas_controller.selected == (3, ring)
    fills = project.fills(3)
    assert fills is not None and fills.style[ring] == 2 and fills.flagged[ring]
    press(qtbot, window, Qt.Key.Key_S)
    offered = [guess, *around]
    assert session.style == offered[2 % total]


def test_next_problem_on_a_frame_read_already_brings_it_into_view(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    # Zoomed in for review, N to a problem on another frame: the view goes
    # to it whether that frame is still to be read or was read already (as
    # after a propagation: most frames are).
    open_and_wait(qtbot, window, make_shot(tmp_path / "two", frames=2, keys=()))
    session = window.session
    for frame, parts in ((2, ("background", "box")), (1, tuple(points(1)))):
        go_to(qtbot, window, frame)
        session.set_style(2)
        for name in parts:
            click_image(qtbot, window, *points(frame)[name])
    canvas = window.canvas
    canvas.set_zoom(16.0, QPointF(0, 0))
    canvas.center_on(WIDTH - 2, HEIGHT - 2)  # far from the ring and its eye
    press(qtbot, window, Qt.Key.Key_N)
    assert session.frame == 2
    selected = window.canvas_controller.selected
    assert selected is not None and selected[0] == 2
    frame = session.current()
    assert frame is not None and frame.number == 2
    x0, y0, x1, y1 = (int(v) for v in frame.regions.table.bbox[selected[1]])
    assert canvas.shows_any(x0, y0, x1, y1)


def test_undoing_a_fill_makes_the_canvas_once(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undo selects the region it changed: only its outline is drawn on
    top of the refresh the undo made (the whole canvas was made twice: at
    HD, 200-400 ms on the GUI thread for one Ctrl+Z)."""
    from cadmium_app import render

    open_and_wait(qtbot, window, shot_dir)
    window.session.set_style(3)
    click_image(qtbot, window, *points(1)["box"])
    made: list[int] = []
    real = render.color_rgba
    monkeypatch.setattr(
        render, "color_rgba", lambda *a, **k: made.append(1) or real(*a, **k)
    )
    window.session.undo_stack.undo()
    assert made == [1]
    frame = window.session.current()
    assert frame is not None
    box = frame.regions.region_at(*points(1)["box"])
    assert window.canvas_controller.selected == (1, box)
    assert window.canvas.layers.get("selected") is not None


@pytest.mark.parametrize("key", [Qt.Key.Key_A, Qt.Key.Key_Return])
def test_a_frames_last_problem_done_makes_the_canvas_once(
    qtbot: QtBot,
    window: MainWindow,
    shot_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: Qt.Key,
) -> None:
    """A or Return on frame 3's one flag goes on to frame 4: only frame 4
    is drawn (frame 3 was drawn first with its change, then left at once:
    at HD, a refresh is 50 ms or more of the GUI thread)."""
    from cadmium_app import render

    (ring,) = propagated_frame_3(qtbot, window, shot_dir, flagged=("ring",))
    session = window.session
    go_to(qtbot, window, 4)  # read ahead, as a review finds it
    go_to(qtbot, window, 3)
    press(qtbot, window, Qt.Key.Key_N)
    assert window.canvas_controller.selected == (3, ring)
    made: list[int] = []
    real = render.color_rgba
    monkeypatch.setattr(
        render,
        "color_rgba",
        lambda frame, *a, **k: made.append(frame.number) or real(frame, *a, **k),
    )
    kept = 2 if key == Qt.Key.Key_A else session.style
    press(qtbot, window, key)
    assert session.frame == 4 and made == [4]
    go_to(qtbot, window, 3)
    assert pixel(window, *points(3)["ring"]) == style_rgb(window, kept)
