"""Start the desktop application: ``cadmium`` or ``cadmium open SHOT``."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication, QWidget

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


def close_on_ctrl_c(app: QApplication, window: QWidget) -> QTimer:
    """Ctrl+C in the terminal closes the window as its close button does
    (asking first about unsaved changes); a second one quits at once, with
    status 130. Qt's event loop gives Python no turn to see a signal, so the
    returned timer (keep it running) wakes it a few times a second."""
    asked: list[bool] = []

    def on_sigint(_signum: int, _frame: object) -> None:
        # Queued, not called: a Ctrl+C before the event loop has started
        # would close the window with no loop to quit, and exit() before
        # exec() is forgotten; either way the command would hang.
        if asked:
            QTimer.singleShot(0, lambda: app.exit(130))
            return
        asked.append(True)
        log.info("Ctrl+C: closing the window (again to quit at once)")
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGINT, on_sigint)
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer


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
    wake = close_on_ctrl_c(app, window)
    QTimer.singleShot(0, lambda: log.info("window open (Ctrl+C here closes it)"))
    code = int(app.exec())
    wake.stop()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Delete the window's Qt side now, not from Python's garbage collector at
    # interpreter exit (which PySide does not survive reliably).
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code
