"""Start the desktop application: ``cadmium`` or ``cadmium open SHOT``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

from cadmium_app.settings import AppSettings, default_settings, load_settings

log = logging.getLogger(__name__)


def user_settings_file() -> Path:
    """``$CADMIUM_SETTINGS``, else settings.json in the platform's config folder."""
    named = os.environ.get("CADMIUM_SETTINGS")
    if named:
        return Path(named)
    base = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.AppConfigLocation
    )
    return Path(base) / "settings.json"


def run_app(shot: str | None) -> int:
    """Open the main window (and ``shot``, a shot folder or a .cadmium
    project, when given) and run until it closes."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Cadmium")
    app.setOrganizationName("Cadmium")
    problem = None
    settings: AppSettings
    try:
        settings = load_settings(user_settings_file())
    except ValueError as exc:
        problem, settings = f"Settings ignored: {exc}", default_settings()

    from cadmium_app.window import MainWindow

    window = MainWindow(settings)
    window.show()
    if problem:
        window.dialogs.error(problem)
    if shot:
        QTimer.singleShot(0, lambda: window.open_path(Path(shot)))
    code = int(app.exec())
    # Delete the window's Qt side now, not from Python's garbage collector at
    # interpreter exit (which PySide does not survive reliably).
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code
