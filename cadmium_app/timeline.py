"""The timeline: one cell per frame with its thumbnail, a key mark and its
status (key, propagated, unpainted and flagged region counts).

Click a cell to go to its frame; shift-click or drag to select a range of
frames for "Propagate to selected frames". The current frame has a thick
frame around it whatever the selection.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPainter,
    QPen,
    QPolygon,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from cadmium_app import render
from cadmium_app.session import Session
from engine.project import FrameStatus

FRAME_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2

NO_FILLS = QColor(150, 150, 150)
COMPLETE = QColor(60, 170, 80)
FLAGGED = QColor(240, 150, 20)
UNPAINTED = QColor(215, 50, 90)
UNREADABLE = QColor(120, 30, 40)
CURRENT = QColor(255, 120, 0)
ModelIndex = QModelIndex | QPersistentModelIndex


def status_color(status: FrameStatus) -> QColor:
    if not status.has_fills:
        return NO_FILLS
    if status.unpainted:
        return UNPAINTED
    if status.flagged:
        return FLAGGED
    return COMPLETE


def status_text(status: FrameStatus) -> str:
    if not status.has_fills:
        return "not painted"
    parts = []
    if status.unpainted:
        parts.append(f"{status.unpainted} unp.")
    if status.flagged:
        parts.append(f"{status.flagged} flag")
    return " · ".join(parts) or "done"


class TimelineModel(QAbstractListModel):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.session.frames_list)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        frames = self.session.frames_list
        if not index.isValid() or index.row() >= len(frames):
            return None
        number = frames[index.row()]
        project = self.session.project
        if role == Qt.ItemDataRole.DisplayRole:
            return str(number)
        if role == FRAME_ROLE:
            return number
        if role == STATUS_ROLE and project is not None:
            return project.status(number)
        if role == Qt.ItemDataRole.ToolTipRole and project is not None:
            if number in self.session.frames.errors:
                return self.session.frames.errors[number]
            status = project.status(number)
            kind = "key" if status.key else ("propagated" if status.propagated else "")
            name = project.shot.line[number].name
            return f"Frame {number} ({name}) {kind}\n{status_text(status)}"
        return None

    def reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def frames_changed(self, frames: tuple[int, ...]) -> None:
        rows = [
            self.session.frames_list.index(n)
            for n in frames
            if n in self.session.frames_list
        ]
        for row in rows:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def row_of(self, number: int) -> int:
        frames = self.session.frames_list
        return frames.index(number) if number in frames else -1


class TimelineDelegate(QStyledItemDelegate):
    def __init__(self, controller: TimelineController) -> None:
        super().__init__(controller.view)
        self.controller = controller

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        width, height = self.controller.thumb_size()
        return QSize(width + 10, height + 40)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex
    ) -> None:
        number = index.data(FRAME_ROLE)
        status: FrameStatus | None = index.data(STATUS_ROLE)
        if number is None or status is None:
            return
        rect: QRect = option.rect.adjusted(2, 2, -2, -2)  # type: ignore[attr-defined]
        selected = bool(option.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(rect, QColor(70, 110, 160) if selected else QColor(48, 48, 52))
        thumb = self.controller.thumbnail(number)
        tw, th = self.controller.thumb_size()
        image_rect = QRect(rect.x() + (rect.width() - tw) // 2, rect.y() + 16, tw, th)
        if thumb is not None:
            painter.drawImage(image_rect, thumb)
        else:
            painter.fillRect(image_rect, QColor(235, 235, 235))
        font = QFont(painter.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(
            QRect(rect.x() + 4, rect.y(), rect.width() - 8, 16),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            str(number),
        )
        if status.key:
            self._key_mark(painter, rect.right() - 8, rect.y() + 8)
        elif status.propagated:
            painter.drawText(
                QRect(rect.x(), rect.y(), rect.width() - 4, 16),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                "→",
            )
        strip = QRect(rect.x(), rect.bottom() - 20, rect.width(), 21)
        unreadable = number in self.controller.session.frames.errors
        painter.fillRect(strip, UNREADABLE if unreadable else status_color(status))
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        text = "cannot read" if unreadable else status_text(status)
        painter.drawText(strip, Qt.AlignmentFlag.AlignCenter, text)
        if number == self.controller.session.frame:
            pen = QPen(CURRENT, 3)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.restore()

    @staticmethod
    def _key_mark(painter: QPainter, x: int, y: int) -> None:
        """The animator's key symbol: a filled diamond."""
        painter.setPen(QPen(QColor("black"), 1))
        painter.setBrush(QColor(255, 210, 60))
        r = 6
        painter.drawPolygon(
            QPolygon(
                [
                    QRect(x, y - r, 0, 0).topLeft(),
                    QRect(x + r, y, 0, 0).topLeft(),
                    QRect(x, y + r, 0, 0).topLeft(),
                    QRect(x - r, y, 0, 0).topLeft(),
                ]
            )
        )


class TimelineView(QListView):
    # The cells in sight change with its width: the frame shown stays there.
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The frame keys (, . arrows) are window shortcuts: keep focus away.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setStyleSheet("QListView { background: #2b2b2e; }")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.resized.emit()


class TimelineController(QObject):
    def __init__(self, session: Session, view: TimelineView) -> None:
        super().__init__(view)
        self.session = session
        self.view = view
        self.model = TimelineModel(session)
        view.setModel(self.model)
        view.setItemDelegate(TimelineDelegate(self))
        self._thumbs: dict[int, QImage] = {}
        view.clicked.connect(self._on_clicked)
        view.resized.connect(lambda: self._on_frame(self.session.frame))
        session.project_changed.connect(self._on_project)
        session.frames_listed.connect(self._on_frames_listed)
        session.frame_changed.connect(self._on_frame)
        session.fills_changed.connect(self._on_fills)
        session.palette_changed.connect(self._on_palette)
        session.frames.thumb_ready.connect(lambda n: self._on_fills((n,)))
        self._fit_height()

    def _fit_height(self) -> None:
        """One row of cells and the scroll bar, no more."""
        _, height = self.thumb_size()
        bar = self.view.horizontalScrollBar().sizeHint().height()
        self.view.setFixedHeight(height + 40 + bar + 2 * self.view.frameWidth() + 4)

    def thumb_size(self) -> tuple[int, int]:
        engine = self.session.engine
        width = self.session.settings.thumbnail_width
        if engine is None:
            return width, width * 3 // 4
        w, h = engine.size
        return width, max(16, round(width * h / max(w, 1)))

    def thumbnail(self, number: int) -> QImage | None:
        if number in self._thumbs:
            return self._thumbs[number]
        project = self.session.project
        if project is None:
            return None
        frames = self.session.frames
        array = render.thumbnail_rgba(
            frames.ink_thumbs.get(number),
            frames.label_thumbs.get(number),
            project.fills(number),
            project.palette,
        )
        if array is None:
            return None
        image = render.to_qimage(array)
        self._thumbs[number] = image
        return image

    def selected_frames(self) -> list[int]:
        frames = self.session.frames_list
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [frames[r] for r in rows if r < len(frames)]

    def select_range(self, first: int, last: int) -> None:
        """Select frames ``first``..``last`` (as a shift-click would)."""
        model, selection = self.model, self.view.selectionModel()
        selection.clearSelection()
        for number in self.session.frames_list:
            if first <= number <= last:
                selection.select(
                    model.index(model.row_of(number)), selection.SelectionFlag.Select
                )

    def _on_clicked(self, index: QModelIndex) -> None:
        number = index.data(FRAME_ROLE)
        if number is not None:
            self.session.set_frame(int(number))

    def _on_project(self) -> None:
        self._thumbs.clear()
        self.model.reset()
        self._fit_height()

    def _on_frames_listed(self) -> None:
        """Frames drawn or deleted on disk: the cells follow, the frame
        shown still in sight."""
        self._thumbs.clear()
        self.model.reset()
        self._on_frame(self.session.frame)

    def _on_frame(self, number: int) -> None:
        row = self.model.row_of(number)
        if row >= 0:
            self.view.scrollTo(self.model.index(row))
        self.view.viewport().update()

    def _on_fills(self, frames: tuple[int, ...]) -> None:
        for number in frames:
            self._thumbs.pop(number, None)
        self.model.frames_changed(frames)

    def _on_palette(self) -> None:
        self._thumbs.clear()
        self.view.viewport().update()
