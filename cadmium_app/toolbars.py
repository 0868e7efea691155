"""The toolbars: File; Paint (tools, fill mode, gap closing); Colorize.

Paint and Colorize label their buttons. On a window too narrow for every
label (a laptop screen) they show icons only, each button keeping its name
as a tooltip, so the gap slider and the Colorize actions stay on screen
instead of going behind the toolbar's overflow arrow. What must fit is the
widest row of toolbars, as the animator has arranged them (moved to another
row, floated, turned vertical or hidden).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QComboBox, QMainWindow, QToolBar, QWidget

from cadmium_app.actions import Actions
from cadmium_app.tools import MODE_NAMES, FillMode

LABELLED = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
ICONS_ONLY = Qt.ToolButtonStyle.ToolButtonIconOnly
# Room left for the toolbar area's margins and handles (px).
SLACK = 24
REFIT_ON = (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.Hide)


class Toolbars(QObject):
    def __init__(
        self,
        window: QMainWindow,
        actions: Actions,
        gap_widget: QWidget,
        set_mode: Callable[[FillMode], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        a = actions
        self.files = QToolBar("File", window)
        self.files.setObjectName("fileToolbar")
        for action in (a.open_shot, a.save, a.undo, a.redo):
            self.files.addAction(action)

        self.paint = QToolBar("Paint", window)
        self.paint.setObjectName("paintToolbar")
        self.paint.addAction(a.fill_tool)
        self.mode_box = QComboBox()
        self.mode_box.setObjectName("fillMode")
        self.mode_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mode_box.setToolTip("Fill mode (Alt+1, Alt+2, Alt+3)")
        for mode, name in MODE_NAMES.items():
            self.mode_box.addItem(name, mode)
        self.mode_box.activated.connect(lambda i: set_mode(self.mode_box.itemData(i)))
        self.paint.addWidget(self.mode_box)
        for action in (a.picker_tool, a.onion_skin, None, a.fill_check, a.next_problem):
            if action is None:
                self.paint.addSeparator()
            else:
                self.paint.addAction(action)
        self.paint.addSeparator()
        self.paint.addWidget(gap_widget)
        self.paint.addAction(a.close_tool)

        self.colorize = QToolBar("Colorize", window)
        self.colorize.setObjectName("colorizeToolbar")
        for action in (a.propagate_current, a.colorize_shot, a.correspondence):
            self.colorize.addAction(action)

        self.bars = (self.files, self.paint, self.colorize)
        for bar in self.bars:
            window.addToolBar(bar)
        self.set_labelled(True)
        # Each toolbar's width with labels, measured while all lie in a row.
        self._labelled_widths = {bar: bar.sizeHint().width() for bar in self.bars}
        # The window resized, or a toolbar the animator moved to another row,
        # floated, turned or hid: check again once the layout has settled.
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(0)
        self._refit.timeout.connect(lambda: self.fit())
        window.installEventFilter(self)
        for bar in self.bars:
            bar.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in REFIT_ON:
            self._refit.start()
        return False

    @property
    def labelled(self) -> bool:
        return self.paint.toolButtonStyle() == LABELLED

    def set_labelled(self, labelled: bool) -> None:
        for bar in (self.paint, self.colorize):
            bar.setToolButtonStyle(LABELLED if labelled else ICONS_ONLY)

    def labelled_width(self) -> int:
        """The width of the widest row of docked, horizontal toolbars with
        their labels shown."""
        rows: dict[tuple[int, int], int] = {}
        for bar in self.bars:
            if (
                bar.isHidden()
                or bar.isFloating()
                or bar.orientation() != Qt.Orientation.Horizontal
            ):
                continue
            row = (self._window.toolBarArea(bar).value, bar.y())
            rows[row] = rows.get(row, 0) + self._labelled_widths[bar]
        return max(rows.values(), default=0)

    def fit(self) -> None:
        """Labels where the window is wide enough for them, icons elsewhere."""
        labelled = self._window.width() >= self.labelled_width() + SLACK
        if labelled != self.labelled:
            self.set_labelled(labelled)
