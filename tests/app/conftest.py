"""Fixtures that drive the real main window, offscreen.

Every window uses the assignment matcher (no torch, no model on any thread),
autosave off unless a test turns it on, and a private autosave folder.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The helpers import as a top-level module whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).parent))
from app_helpers import make_shot, make_window
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from cadmium_app.window import MainWindow

# Before the QApplication exists (pytest-qt makes it on first use).
os.environ["QT_QPA_PLATFORM"] = "offscreen"
_HOME = tempfile.mkdtemp(prefix="cadmium-test-home-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)  # one per test run
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ.pop("CADMIUM_SETTINGS", None)


@pytest.fixture(scope="session", autouse=True)
def _app_names(qapp: QApplication) -> None:
    qapp.setApplicationName("CadmiumTests")
    qapp.setOrganizationName("CadmiumTests")


@pytest.fixture()
def shot_dir(tmp_path: Path) -> Path:
    return make_shot(tmp_path / "shot")


@pytest.fixture()
def line_shot(tmp_path: Path) -> Path:
    return make_shot(tmp_path / "lines_only", keys=())


@pytest.fixture()
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    window = make_window(qtbot, tmp_path)
    yield window
    window.close()
