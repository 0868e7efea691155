"""Every question and message the application puts to the user.

One object, so tests replace a method (``window.dialogs.open_folder = ...``)
instead of clicking through a native dialog. Errors open a window-modal box
without blocking the event loop, so the application keeps running under
them, and are kept in ``errors`` for tests and logs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

PROJECT_FILTER = "Cadmium projects (*.cadmium)"


def by_frame(reasons: dict[int, str], shown: int = 4) -> str:
    """Frames with their reasons on one line: the first ``shown``, then how
    many more."""
    numbers = sorted(reasons)
    listed = "; ".join(f"{n}: {reasons[n]}" for n in numbers[:shown])
    more = f"; and {len(numbers) - shown} more" if len(numbers) > shown else ""
    return listed + more


def frames_text(numbers: Sequence[int]) -> str:
    """Frame numbers in words: "frame 4", "frames 2-11", "frames 2, 5, 7"."""
    if len(numbers) == 1:
        return f"frame {numbers[0]}"
    ordered = sorted(numbers)
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"frames {ordered[0]}-{ordered[-1]}"
    return "frames " + ", ".join(str(n) for n in ordered)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _giving_keys_back(method: _Method) -> _Method:
    """A blocking dialog's method that hands the keys back to the main
    window when the dialog closes (see Dialogs._refocus)."""

    @functools.wraps(method)
    def wrapper(self: Dialogs, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._refocus()

    return wrapper  # type: ignore[return-value]


class Dialogs:
    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.errors: list[str] = []
        self.infos: list[str] = []

    # -- messages (never block)
    def error(self, message: str) -> None:
        log.warning("%s", message)
        self.errors.append(message)
        self._show(QMessageBox.Icon.Warning, message)

    def info(self, message: str) -> None:
        log.info("%s", message)
        self.infos.append(message)
        self._show(QMessageBox.Icon.Information, message)

    def _show(self, icon: QMessageBox.Icon, message: str) -> None:
        box = QMessageBox(icon, "Cadmium", message, QMessageBox.StandardButton.Ok)
        box.setParent(self.parent, box.windowFlags())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setObjectName("messageBox")
        # Keys go back to the main window when the box closes: without a
        # window manager (Xvfb) nothing else gives them back, and N, S or
        # Return did nothing until the window was clicked.
        box.finished.connect(self._refocus)
        box.open()

    def _refocus(self) -> None:
        window = self.parent.window()
        window.activateWindow()
        window.raise_()

    # -- questions (block until answered)
    @_giving_keys_back
    def open_folder(self, title: str, start: str = "") -> Path | None:
        chosen = QFileDialog.getExistingDirectory(self.parent, title, start)
        return Path(chosen) if chosen else None

    @_giving_keys_back
    def output_folder(self, title: str, suggested: Path) -> Path | None:
        """A folder to write into: ``suggested`` (a new one, made when
        written), another typed in, or one chosen with Browse."""
        dialog = OutputFolderDialog(self.parent, title, suggested)
        return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None

    @_giving_keys_back
    def open_project_file(self, start: str = "") -> Path | None:
        chosen, _ = QFileDialog.getOpenFileName(
            self.parent, "Open project", start, PROJECT_FILTER
        )
        return Path(chosen) if chosen else None

    @_giving_keys_back
    def save_project_file(self, suggested: str = "") -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(
            self.parent, "Save project", suggested, PROJECT_FILTER
        )
        if not chosen:
            return None
        path = Path(chosen)
        return (
            path
            if path.suffix == ".cadmium"
            else path.with_name(path.name + ".cadmium")
        )

    @_giving_keys_back
    def color(
        self, initial: tuple[int, int, int, int], title: str
    ) -> tuple[int, ...] | None:
        chosen = QColorDialog.getColor(
            QColor(*initial),
            self.parent,
            title,
            QColorDialog.ColorDialogOption.ShowAlphaChannel,
        )
        if not chosen.isValid():
            return None
        return (chosen.red(), chosen.green(), chosen.blue(), chosen.alpha())

    @_giving_keys_back
    def text(self, title: str, label: str, initial: str = "") -> str | None:
        value, ok = QInputDialog.getText(self.parent, title, label, text=initial)
        return value.strip() or None if ok else None

    @_giving_keys_back
    def choice(
        self, title: str, label: str, items: list[str], current: int = 0
    ) -> int | None:
        """The index of the item chosen from a list (``current`` offered
        first), None when cancelled."""
        value, ok = QInputDialog.getItem(
            self.parent, title, label, items, current, False
        )
        return items.index(value) if ok and value in items else None

    @_giving_keys_back
    def recover(self, when: str) -> bool:
        answer = QMessageBox.question(
            self.parent,
            "Recover unsaved work?",
            f"Cadmium closed without saving this work. An autosave from {when} "
            "exists.\n\nRecover it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    @_giving_keys_back
    def unsaved_changes(self) -> str:
        """'save', 'discard' or 'cancel'."""
        answer = QMessageBox.question(
            self.parent,
            "Unsaved changes",
            "The project has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(answer, "cancel")


class OutputFolderDialog(QDialog):
    """The folder an export or a colorize run writes into. Qt's folder
    chooser takes only folders that exist: a new one had to be made in it
    first ("Directory not found" for a name typed in). Here the path is
    typed or browsed to, and the writer makes the folder."""

    def __init__(self, parent: QWidget, title: str, suggested: Path) -> None:
        super().__init__(parent)
        self.setObjectName("outputFolderDialog")
        self.setWindowTitle(title)
        self.path = QLineEdit(str(suggested))
        self.path.setObjectName("outputFolder")
        self.path.setMinimumWidth(480)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.path.textChanged.connect(
            lambda text: buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
                bool(text.strip())
            )
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Output folder (made if it does not exist yet):"))
        layout.addLayout(row)
        layout.addWidget(buttons)

    def chosen(self) -> Path | None:
        text = self.path.text().strip()
        return Path(text).expanduser() if text else None

    def _browse(self) -> None:
        now = self.chosen()
        start = now if now is not None and now.is_dir() else (now or Path()).parent
        picked = QFileDialog.getExistingDirectory(self, self.windowTitle(), str(start))
        if picked:
            self.path.setText(picked)
