"""Helpers for the application tests: a small shot drawn with OpenCV, and
ways to drive the real window (open, wait, click on image pixels, keys)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from cadmium_app.settings import load_settings
from cadmium_app.window import MainWindow
from engine.project import Project

WIDTH, HEIGHT = 160, 120
# Painted colours of the key (RGBA): background, ring, eye, box.
BACKGROUND = (207, 227, 239, 255)
RING = (216, 67, 60, 255)
EYE = (60, 110, 159, 255)
BOX = (242, 201, 168, 255)


def ring_center(frame: int) -> tuple[int, int]:
    return 50 + 2 * frame, 60


def box_rect(frame: int) -> tuple[int, int, int, int]:
    x = 95 - frame
    return x, 30, x + 40, 90


def draw_frame(frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Line art (RGB, antialiased) and its painted colours (RGBA)."""
    line = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    color = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    color[:] = BACKGROUND
    center = ring_center(frame)
    x0, y0, x1, y1 = box_rect(frame)
    cv2.circle(color, center, 25, RING, -1)
    cv2.circle(color, center, 10, EYE, -1)
    cv2.rectangle(color, (x0, y0), (x1, y1), BOX, -1)
    cv2.circle(line, center, 25, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.circle(line, center, 10, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.rectangle(line, (x0, y0), (x1, y1), (0, 0, 0), 2)
    return line, color


def make_shot(root: Path, *, frames: int = 6, keys: tuple[int, ...] = (1,)) -> Path:
    """A shot folder: a ring with an eye and a box drifting apart."""
    (root / "line").mkdir(parents=True)
    if keys:
        (root / "color").mkdir()
    for i in range(1, frames + 1):
        line, color = draw_frame(i)
        cv2.imwrite(str(root / "line" / f"A_{i:04d}.png"), line)
        if i in keys:
            bgra = cv2.cvtColor(color, cv2.COLOR_RGBA2BGRA)
            cv2.imwrite(str(root / "color" / f"{i:04d}.png"), bgra)
    return root


def make_window(qtbot: QtBot, tmp_path: Path, **overrides: object) -> MainWindow:
    values = {
        "matcher": "assignment",
        "autosave_seconds": 0,
        "autosave_dir": str(tmp_path / "autosave"),
        **overrides,
    }
    window = MainWindow(load_settings(**values))
    window.dialogs.unsaved_changes = lambda: "discard"  # type: ignore[method-assign]
    window.dialogs.recover = lambda when: False  # type: ignore[method-assign]
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def crashed(window: MainWindow) -> None:
    """What the system does to the locks of a Cadmium that crashes or is
    killed: they go (another window may open its work, and recover it).
    The window itself stays, for the test to drop."""
    window.files._hold(None)


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> Project:
    """Open a shot or project and wait until it is ready; its project."""
    assert window.open_path(path)
    wait_ready(qtbot, window)
    project = window.session.project
    assert project is not None
    return project


def wait_ready(qtbot: QtBot, window: MainWindow) -> None:
    """Until the keys are read and the current frame's regions are shown."""
    session = window.session
    qtbot.waitUntil(
        lambda: (
            session.editable
            and not session.jobs.running
            and session.current() is not None
        ),
        timeout=20000,
    )


def wait_job(qtbot: QtBot, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.done, timeout=30000)


def click_image(qtbot: QtBot, window: MainWindow, x: float, y: float) -> None:
    """A left click on the canvas at image pixel (x, y)."""
    canvas = window.canvas
    point = canvas.widget_pos(x + 0.5, y + 0.5)
    qtbot.mouseClick(
        canvas,
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(point.x()), round(point.y())),
    )


def hover(widget: QWidget, at: QPointF) -> None:
    """The pointer moved over ``widget`` to ``at`` (widget coordinates)
    with no button down: QTest's mouseMove sends no such move offscreen."""
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        at,
        widget.mapToGlobal(at),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, move)


def key(
    qtbot: QtBot,
    window: MainWindow,
    key: Qt.Key,
    modifier=Qt.KeyboardModifier.NoModifier,
) -> None:
    qtbot.keyClick(window.canvas, key, modifier)


def points(frame: int) -> dict[str, tuple[int, int]]:
    """A pixel inside each region of a frame of the test shot."""
    cx, cy = ring_center(frame)
    x0, _, _, _ = box_rect(frame)
    return {
        "background": (4, 4),
        "ring": (cx + 17, cy),
        "eye": (cx, cy),
        "box": (x0 + 20, cy),
    }


def go_to(qtbot: QtBot, window: MainWindow, frame: int) -> None:
    window.session.set_frame(frame)
    qtbot.waitUntil(
        lambda: (f := window.session.current()) is not None and f.number == frame,
        timeout=10000,
    )


def pixel(window: MainWindow, x: int, y: int) -> tuple[int, int, int]:
    """The colour shown on the canvas (fills and lines, at 100%) at (x, y)."""
    color = window.canvas.render_composite().pixelColor(x, y)
    return (color.red(), color.green(), color.blue())


def style_rgb(window: MainWindow, index: int) -> tuple[int, int, int]:
    project = window.session.project
    assert project is not None
    r, g, b, _ = project.palette[index].color
    return (r, g, b)


def status_log(window: MainWindow) -> list[str]:
    """Every status-bar message the window's session says from now on."""
    said: list[str] = []
    window.session.status.connect(said.append)
    return said


def redraw_box(shot: Path, frame: int) -> None:
    """Redraw a frame's box on disk with its top lowered below the ring's:
    box and ring swap region numbers, and the frame keeps its region count."""
    path = shot / "line" / f"A_{frame:04d}.png"
    line = cv2.imread(str(path))
    x0, y0, x1, y1 = box_rect(frame)
    cv2.rectangle(line, (x0, y0), (x1, y1), (255, 255, 255), 2)  # erase it
    cv2.rectangle(line, (x0, y0 + 10), (x1, y1), (0, 0, 0), 2)
    cv2.imwrite(str(path), line)
