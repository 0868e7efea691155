"""The toolbars fit the window: labels where there is room, icons elsewhere."""

from __future__ import annotations

import pytest
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
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    width = window.toolbars.labelled_width() - 300
    assert width > 1000  # narrower than the labels need, wider than the icons
    window.resize(width, 700)
    qtbot.waitUntil(lambda: not window.toolbars.labelled)
    qtbot.waitUntil(lambda: on_screen(window))
    assert "Colorize" in window.actions.colorize_shot.toolTip()  # named on hover
    # As before: labels on a narrow window hide controls.
    monkeypatch.setattr(window.toolbars, "fit", lambda: None)
    window.toolbars.set_labelled(True)
    qtbot.waitUntil(lambda: not on_screen(window))


def test_a_wide_window_labels_its_buttons(qtbot: QtBot, window: MainWindow) -> None:
    window.resize(window.toolbars.labelled_width() + 100, 700)
    qtbot.waitUntil(lambda: window.toolbars.labelled)
    qtbot.waitUntil(lambda: on_screen(window))


def test_toolbars_on_two_rows_keep_their_labels_where_each_row_fits(
    qtbot: QtBot, window: MainWindow
) -> None:
    bars = window.toolbars
    one_row = bars.labelled_width()
    window.resize(one_row - 200, 700)
    qtbot.waitUntil(lambda: not bars.labelled)
    # The animator drags Colorize onto a row of its own.
    window.insertToolBarBreak(bars.colorize)
    qtbot.waitUntil(lambda: bars.labelled_width() < one_row - 200)
    qtbot.waitUntil(lambda: bars.labelled and on_screen(window))
    window.removeToolBarBreak(bars.colorize)  # back on one row: icons
    qtbot.waitUntil(lambda: not bars.labelled)
    bars.colorize.hide()  # a hidden toolbar takes no room
    qtbot.waitUntil(lambda: bars.labelled)
