"""The main window: it assembles the panels and their controllers, the menus
and the toolbar, and little else. Each panel's behaviour lives in its
controller; what they share lives in the `Session`.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QWidget,
)

from cadmium_app.actions import Actions, build_actions, icon, retitle
from cadmium_app.canvas import Canvas
from cadmium_app.carry_closing import ClosingCarrier
from cadmium_app.correspondence import CorrespondenceController, CorrespondenceWindow
from cadmium_app.dialogs import Dialogs
from cadmium_app.files import FileController
from cadmium_app.gap import GapController, GapWidget
from cadmium_app.palette_panel import PaletteController, PalettePanel
from cadmium_app.propagate import PropagationController
from cadmium_app.session import Session
from cadmium_app.settings import AppSettings, load_settings
from cadmium_app.timeline import TimelineController, TimelineView
from cadmium_app.toolbars import Toolbars
from cadmium_app.tools import MODE_NAMES, CanvasController, Tool

log = logging.getLogger(__name__)


def sample_shot() -> Path | None:
    folder = resources.files("cadmium_resources").joinpath("sample_shot")
    path = Path(str(folder))
    return path if (path / "line").is_dir() else None


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon("cadmium"))
        self.dialogs = Dialogs(self)
        self.session = Session(settings or load_settings(), self.dialogs, self)
        self._closing = False

        self.canvas = Canvas()
        self.setCentralWidget(self.canvas)
        self.canvas_controller = CanvasController(self.session, self.canvas)

        timeline_view = TimelineView()
        self.timeline = TimelineController(self.session, timeline_view)
        self.timeline_dock = self._dock(
            "Timeline", timeline_view, Qt.DockWidgetArea.BottomDockWidgetArea
        )

        palette_panel = PalettePanel()
        self.palette = PaletteController(self.session, palette_panel)
        self.palette_dock = self._dock(
            "Palette", palette_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self.files = FileController(self.session)
        self.files.close_requested.connect(self.close)
        self.propagation = PropagationController(self.session, self.timeline)
        self.carrier = ClosingCarrier(self.session)
        self.gap = GapController(self.session, GapWidget())
        self.correspondence = CorrespondenceController(
            self.session, CorrespondenceWindow(self)
        )
        self.actions: Actions = build_actions(self)
        # Stepping through the shot works from the correspondence window too,
        # which follows the current frame.
        a = self.actions
        self.correspondence.window.addActions(
            [
                a.previous_frame,
                a.next_frame,
                a.first_frame,
                a.last_frame,
                a.undo,
                a.redo,
            ]
        )
        self._menus()
        self.toolbars = Toolbars(
            self, self.actions, self.gap.widget, self.canvas_controller.set_mode
        )
        self._sync_tool_actions()
        self._status_bar()

        self.session.modified_changed.connect(lambda _m: self._update_title())
        self.session.project_changed.connect(self._update_title)
        self.files.saved.connect(lambda _p: self._update_title())
        self.session.frame_changed.connect(lambda _n: self._update_frame_label())
        self.session.frames_listed.connect(self._update_frame_label)
        self.session.fills_changed.connect(self._on_fills)
        self.canvas_controller.tool_changed.connect(self._sync_tool_actions)
        self._update_title()
        self._restore_geometry()
        self.canvas_controller.refresh()

    # -- building
    def _dock(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "Dock")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _menus(self) -> None:
        a, bar = self.actions, self.menuBar()
        layout = {
            "&File": [
                a.open_shot,
                a.open_project,
                a.open_sample,
                None,
                a.save,
                a.save_as,
                None,
                a.export,
                None,
                a.quit,
            ],
            "&Edit": [a.undo, a.redo, None, a.toggle_key],
            "&View": [
                a.zoom_in,
                a.zoom_out,
                a.zoom_fit,
                a.zoom_actual,
                None,
                a.onion_skin,
                a.show_closures,
                a.fill_check,
                a.show_flagged,
                None,
                a.correspondence,
            ],
            "&Tools": [
                a.fill_tool,
                a.picker_tool,
                None,
                a.mode_paint,
                a.mode_paint_unpainted,
                a.mode_unpaint,
                None,
                a.previous_style,
                a.next_style,
                a.delete_style,
                None,
                *a.gap_presets,
                a.close_tool,
                a.carry_lines_forward,
                a.carry_lines_back,
            ],
            "&Navigate": [
                a.previous_frame,
                a.next_frame,
                a.first_frame,
                a.last_frame,
                None,
                a.next_problem,
                a.accept,
                a.paint_selected,
                a.other_style,
                a.accept_frame,
            ],
            "&Colorize": [
                a.propagate_current,
                a.propagate_selected,
                a.propagate_all,
                None,
                a.colorize_shot,
                None,
                a.cancel_task,
            ],
        }
        for title, items in layout.items():
            menu = bar.addMenu(title)
            menu.setObjectName(title.strip("&").lower() + "Menu")
            for action in items:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)

    def _status_bar(self) -> None:
        status = self.statusBar()
        self.frame_label = QLabel()
        self.frame_label.setObjectName("frameLabel")
        self.hover_label = QLabel()
        status.addWidget(self.frame_label)
        status.addWidget(self.hover_label, 1)
        status.addPermanentWidget(self.session.jobs.widget)
        self.canvas_controller.hover_text.connect(self.hover_label.setText)
        self.session.status.connect(lambda text: status.showMessage(text, 6000))
        # A message about the shot before (a run's summary) is not this one's.
        self.session.project_changed.connect(status.clearMessage)

    # -- state shown
    def _update_title(self) -> None:
        project = self.session.project
        if project is None:
            self.setWindowTitle("Cadmium")
            return
        name = project.path.name if project.path is not None else project.shot.root.name
        self.setWindowTitle(f"{name}[*] — Cadmium")
        self.setWindowModified(self.session.modified)
        self._update_frame_label()

    def _update_frame_label(self) -> None:
        self.frame_label.setText(self.canvas_controller.badge_text())
        retitle(
            self.actions.toggle_key,
            "Unmark key" if self._current_is_key() else "Mark as key",
        )

    def _on_fills(self, frames: tuple[int, ...]) -> None:
        if self.session.frame in frames:
            self._update_frame_label()

    def _sync_tool_actions(self) -> None:
        tools, a = self.canvas_controller, self.actions
        a.fill_tool.setChecked(tools.tool is Tool.FILL)
        a.picker_tool.setChecked(tools.tool is Tool.PICKER)
        a.close_tool.setChecked(tools.tool is Tool.CLOSE)
        {
            "paint": a.mode_paint,
            "paint-unpainted": a.mode_paint_unpainted,
            "unpaint": a.mode_unpaint,
        }[tools.mode.value].setChecked(True)
        self.toolbars.mode_box.setCurrentIndex(list(MODE_NAMES).index(tools.mode))

    def _current_is_key(self) -> bool:
        project = self.session.project
        return project is not None and self.session.frame in project.keys

    # -- commands that need more than one panel
    def open_path(self, path: Path) -> bool:
        return self.files.open_path(path)

    def open_sample(self) -> None:
        path = sample_shot()
        if path is None:
            self.dialogs.error("The sample shot is not installed")
        else:
            self.files.open_shot(path)

    def toggle_key(self) -> None:
        project, frame = self.session.project, self.session.frame
        if project is None:
            return
        key = not self._current_is_key()
        if not self.session.push(project.key_edit(frame, key)):
            return
        self.session.status.emit(
            f"Frame {frame} is a key: propagation paints from it (Shift+K unmarks it)"
            if key
            else f"Frame {frame} is no longer a key"
        )

    # -- geometry and closing
    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)  # type: ignore[arg-type]
        else:
            # First run: most of the screen (at least 1280x820 where it
            # fits), centred.
            screen = self.screen().availableGeometry()
            width = min(screen.width(), max(1280, int(screen.width() * 0.9)))
            height = min(screen.height(), max(820, int(screen.height() * 0.9)))
            self.setGeometry(
                screen.x() + (screen.width() - width) // 2,
                screen.y() + (screen.height() - height) // 2,
                width,
                height,
            )
        if state is not None:
            self.restoreState(state)  # type: ignore[arg-type]

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._closing and not self.files.confirm_close():
            event.ignore()
            return
        self._closing = True
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        self.files.timer.stop()
        self.correspondence.window.close()
        self.session.jobs.cancel_all()
        self.session.jobs.wait(30000)
        self.session.frames.wait(30000)
        event.accept()
