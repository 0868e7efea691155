"""The toolbars fit the window: labels where there is room, icons elsewhere."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from cadmium_app.window import MainWindow


def on_screen(window: MainWindow) -> bool:
    """The gap slider and every Colorize button show (none behind the
    toolbars' overflow arrow)."""
    bars = window.toolbars
    colorize = [bars.colorize.widgetForAction(a) for a in bars.colorize.actions()]
    return window.gap.widget.slider.isVisible() and all(
        w is not None and w.isVisible() for w in colorize
    )


def test_a_narrow_window_shows_icons_and_keeps_every_control(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.resize(1100, 700)
    qtbot.waitUntil(lambda: not window.toolbars.labelled)
    qtbot.waitUntil(lambda: on_screen(window))
    assert "Colorize" in window.actions.colorize_shot.toolTip()  # named on hover
    window.toolbars.set_labelled(True)  # as before: labels on a narrow window
    qtbot.waitUntil(lambda: not on_screen(window))


def test_a_wide_window_labels_its_buttons(qtbot: QtBot, window: MainWindow) -> None:
    window.resize(window.toolbars.labelled_width() + 100, 700)
    qtbot.waitUntil(lambda: window.toolbars.labelled)
    qtbot.waitUntil(lambda: on_screen(window))
