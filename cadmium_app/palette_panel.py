"""The palette panel: named styles; add, rename, recolour, delete.

Fills store a style's index, so recolouring a style recolours every frame at
once. Deleting one asks which style repaints its regions (or none) and
renumbers every frame's fills in the same edit. Palette changes are undoable
like fills.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cadmium_app.session import Session
from engine.palette import Style

# Longest style name the palette panel takes (the list shows about 40).
MAX_NAME = 80
# The last choice when a deleted style's regions are repainted.
LEAVE_UNPAINTED = "Nothing (leave them unpainted)"


def swatch(color: tuple[int, ...], size: int = 22) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    # A checker under the colour shows its transparency.
    painter.fillRect(0, 0, size, size, QColor(255, 255, 255))
    half = size // 2
    painter.fillRect(0, 0, half, half, QColor(200, 200, 200))
    painter.fillRect(half, half, half, half, QColor(200, 200, 200))
    painter.fillRect(0, 0, size, size, QColor(*color))
    painter.setPen(QColor(30, 30, 30))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


class PalettePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palettePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setObjectName("styles")
        self.list.setIconSize(QSize(22, 22))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.rename_button = QPushButton("Rename…")
        self.color_button = QPushButton("Colour…")
        self.delete_button = QPushButton("Delete…")
        for button in (
            self.add_button,
            self.rename_button,
            self.color_button,
            self.delete_button,
        ):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.trace_box = QCheckBox("Paint colour-trace lines")
        self.trace_box.setToolTip(
            "Shadow and highlight lines (red, green, blue) bounding this style's "
            "regions take its colour in the composite"
        )
        self.trace_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.trace_box)


class PaletteController(QObject):
    def __init__(self, session: Session, panel: PalettePanel) -> None:
        super().__init__(panel)
        self.session = session
        self.panel = panel
        self._updating = False
        session.palette_changed.connect(self._rebuild)
        session.project_changed.connect(self._rebuild)
        session.style_changed.connect(self._select)
        panel.list.currentRowChanged.connect(self._on_row)
        panel.list.itemDoubleClicked.connect(lambda _item: self.ask_color())
        panel.add_button.clicked.connect(self.ask_add)
        panel.rename_button.clicked.connect(self.ask_rename)
        panel.color_button.clicked.connect(self.ask_color)
        panel.delete_button.clicked.connect(self.ask_delete)
        panel.trace_box.toggled.connect(self._on_trace)

    # -- edits, callable without dialogs
    def add_style(self, name: str, color: tuple[int, ...]) -> int:
        project = self.session.project
        if project is None:
            return -1
        palette, index = project.palette.with_style(Style(name, _rgba(color)))
        self.session.push(project.palette_edit(palette, f"Add style {name}"))
        self.session.set_style(index)
        return index

    def rename_style(self, index: int, name: str) -> None:
        project = self.session.project
        if project is None or not 0 <= index < len(project.palette):
            return
        taken = [s.name for i, s in enumerate(project.palette.styles) if i != index]
        alike = next((t for t in taken if t.casefold() == name.casefold()), None)
        if alike is not None:  # "set hill 1" beside "Set hill 1" looks alike
            self.session.dialogs.error(f"A style named {alike!r} already exists")
            return
        style = replace(project.palette[index], name=name)
        self.session.push(
            project.palette_edit(
                project.palette.replaced(index, style), f"Rename style {name}"
            )
        )

    def recolor_style(self, index: int, color: tuple[int, ...]) -> None:
        project = self.session.project
        if project is None or not 0 <= index < len(project.palette):
            return
        style = replace(project.palette[index], color=_rgba(color))
        self.session.push(
            project.palette_edit(
                project.palette.replaced(index, style), f"Recolour {style.name}"
            )
        )

    def set_paint_trace(self, index: int, on: bool) -> None:
        project = self.session.project
        if project is None or not 0 <= index < len(project.palette):
            return
        style = replace(project.palette[index], paint_trace=on)
        self.session.push(
            project.palette_edit(
                project.palette.replaced(index, style), "Paint trace lines"
            )
        )

    def delete_style(self, index: int, replacement: int | None) -> bool:
        """Delete style ``index``; its regions take style ``replacement``
        (its index now; None: left unpainted)."""
        session, project = self.session, self.session.project
        if project is None or not 0 <= index < len(project.palette):
            return False
        if not self._idle():
            return False
        name = project.palette[index].name
        if not session.push(project.style_deletion(index, replacement)):
            return False
        if replacement is not None:
            session.set_style(replacement - (replacement > index))
        session.status.emit(f"Deleted style {name} (Ctrl+Z brings it back)")
        return True

    def _idle(self) -> bool:
        """Whether the project takes a deletion now (not while the gap
        changes or a shot loads); says to wait when not."""
        if not self.session.editable:
            self.session.status.emit(
                "Wait for the current task before deleting a style"
            )
        return self.session.editable

    # -- the same, asking the user
    def _style_name(self, text: str | None) -> str | None:
        """A name typed for a style, trimmed; None (and said why) when it is
        empty, too long, or holds a line break or other control character."""
        name = (text or "").strip()
        if not name:
            return None
        if len(name) > MAX_NAME or any(not c.isprintable() for c in name):
            self.session.dialogs.error(
                f"A style name is one line of at most {MAX_NAME} characters"
            )
            return None
        return name

    def ask_add(self) -> None:
        if self.session.project is None:
            return
        name = self._style_name(
            self.session.dialogs.text("Add style", "Name:", "New style")
        )
        if not name:
            return
        color = self.session.dialogs.color((200, 200, 200, 255), f"Colour of {name}")
        if color is not None:
            self.add_style(name, color)

    def ask_rename(self) -> None:
        project, index = self.session.project, self.session.style
        if project is None or index < 0:
            return
        name = self._style_name(
            self.session.dialogs.text(
                "Rename style", "Name:", project.palette[index].name
            )
        )
        if name:
            self.rename_style(index, name)

    def ask_color(self) -> None:
        project, index = self.session.project, self.session.style
        if project is None or index < 0:
            return
        style = project.palette[index]
        color = self.session.dialogs.color(style.color, f"Colour of {style.name}")
        if color is not None:
            self.recolor_style(index, color)

    def ask_delete(self) -> None:
        """Delete the chosen style; when frames use it, ask which style
        repaints them first."""
        project, index = self.session.project, self.session.style
        if project is None or not 0 <= index < len(project.palette):
            return
        if not self._idle():
            return
        name = project.palette[index].name
        regions, frames = project.style_use(index)
        if not frames:
            self.delete_style(index, None)
            return
        others = [i for i in range(len(project.palette)) if i != index]
        names = [project.palette[i].name for i in others]
        # Never a style's name: the answer is read back by its text.
        leave = LEAVE_UNPAINTED if LEAVE_UNPAINTED not in names else "—"
        items = [*names, leave]
        painted = f"{_counted(regions, 'region')} on " if regions else ""
        chosen = self.session.dialogs.choice(
            f"Delete style {name}",
            f"{name} paints {painted}{_counted(frames, 'frame')}. Repaint them with:",
            items,
            current=len(items) - 1,  # the safe answer: nothing painted wrong
        )
        if chosen is not None:
            self.delete_style(index, others[chosen] if chosen < len(others) else None)

    # -- view
    def _rebuild(self) -> None:
        project = self.session.project
        self._updating = True
        try:
            self.panel.list.clear()
            if project is not None:
                for style in project.palette.styles:
                    item = QListWidgetItem(swatch(style.color), style.name)
                    tip = "#{:02x}{:02x}{:02x}{:02x}".format(*style.color)
                    if style.paint_trace:
                        tip += " · paints colour-trace lines"
                    item.setToolTip(tip)
                    self.panel.list.addItem(item)
        finally:
            self._updating = False
        self._select(self.session.style)

    def _select(self, index: int) -> None:
        self._updating = True
        try:
            self.panel.list.setCurrentRow(index)
            project = self.session.project
            valid = project is not None and 0 <= index < len(project.palette)
            self.panel.trace_box.setEnabled(valid)
            self.panel.trace_box.setChecked(
                bool(valid and project.palette[index].paint_trace)  # type: ignore[union-attr]
            )
        finally:
            self._updating = False

    def _on_row(self, row: int) -> None:
        if not self._updating:
            self.session.set_style(row)

    def _on_trace(self, on: bool) -> None:
        if not self._updating:
            self.set_paint_trace(self.session.style, on)


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rgba(color: tuple[int, ...]) -> tuple[int, int, int, int]:
    values = [int(c) for c in color] + [255] * (4 - len(color))
    return (values[0], values[1], values[2], values[3])
