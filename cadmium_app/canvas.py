"""The canvas widget: a stack of frame-sized layers with zoom and pan.

It draws and reports mouse positions in image pixels; it knows nothing of
fills or tools (the canvas controller in ``tools.py`` does). Zoom with the
wheel (around the cursor), + and -, fit and 100%; pan with the middle button
or with Space held and the left button.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from engine.closing_lines import ClosingLines

CLOSURE_COLOUR = QColor(0, 190, 255)
CLOSING_LINE_COLOUR = QColor(200, 40, 220)

# Bottom to top. Onion skins sit over the fills and under the current lines.
LAYER_ORDER = (
    "color",
    "onion_previous",
    "onion_next",
    "lines",
    "unpainted",
    "flagged",
    "closures",
    "selected",
)
ZOOM_STEPS = (
    0.05,
    0.1,
    0.125,
    0.25,
    0.33,
    0.5,
    0.67,
    1,
    1.5,
    2,
    3,
    4,
    6,
    8,
    12,
    16,
    32,
)


class Canvas(QWidget):
    """Frame layers, zoomable and pannable."""

    pressed = Signal(float, float, object)  # image x, y, Qt.MouseButton
    dragged = Signal(float, float)
    released = Signal(float, float)
    hovered = Signal(float, float)
    left = Signal()  # the pointer went off the canvas
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 150)
        self.image_size = QSize(0, 0)
        self.layers: dict[str, QImage] = {}
        self.closure_segments = np.zeros((0, 4), np.int32)
        self.closing_lines = ClosingLines()
        self.stroke_preview: list[tuple[float, float]] = []
        self.badge = ""
        self.message = ""
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of the image's origin
        self._fit_pending = True
        # Fitted and not zoomed or panned since: resizing fits again.
        self._fitted = False
        self._space = False
        self._pan_from: QPointF | None = None
        self._painting = False

    # -- content
    def set_image_size(self, width: int, height: int) -> None:
        size = QSize(width, height)
        if size != self.image_size:
            self.image_size = size
            self.layers.clear()
            self._fit_pending = True
        self.update()

    def set_layer(self, name: str, image: QImage | None) -> None:
        if name not in LAYER_ORDER:
            raise KeyError(name)
        if image is None:
            self.layers.pop(name, None)
        else:
            self.layers[name] = image
        self.update()

    def set_closures(self, segments: np.ndarray | None) -> None:
        self.closure_segments = (
            np.zeros((0, 4), np.int32) if segments is None else segments
        )
        self.update()

    def set_closing_lines(self, lines: ClosingLines) -> None:
        """Closing lines drawn by hand (purple) and closures opened (a
        crossed cyan ring)."""
        self.closing_lines = lines
        self.update()

    def set_stroke_preview(self, path: list[tuple[float, float]]) -> None:
        """The closing line being drawn, as the pointer went."""
        self.stroke_preview = list(path)
        self.update()

    def set_badge(self, text: str) -> None:
        self.badge = text
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    # -- view
    def fit(self) -> None:
        if self.image_size.isEmpty():
            self._fit_pending = True
            return
        margin = 16
        zx = (self.width() - 2 * margin) / self.image_size.width()
        zy = (self.height() - 2 * margin) / self.image_size.height()
        self.zoom = max(min(zx, zy), 0.01)
        self._center()
        self._fit_pending = False
        self._fitted = True
        self.zoom_changed.emit(self.zoom)
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_in(self) -> None:
        bigger = [z for z in ZOOM_STEPS if z > self.zoom * 1.001]
        self.set_zoom(bigger[0] if bigger else self.zoom, self._centre_point())

    def zoom_out(self) -> None:
        smaller = [z for z in ZOOM_STEPS if z < self.zoom / 1.001]
        self.set_zoom(smaller[-1] if smaller else self.zoom, self._centre_point())

    def set_zoom(self, zoom: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coords) still."""
        zoom = min(max(zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        fixed = self.image_pos(anchor)
        self.zoom = zoom
        self.offset = anchor - fixed * zoom
        self._fit_pending = self._fitted = False
        self.zoom_changed.emit(self.zoom)
        self.update()

    def center_on(self, x: float, y: float) -> None:
        """Bring image point (x, y) to the middle of the view, as near as
        the image allows: it never leaves empty space on a side the image
        could fill (a region near the frame's edge, at a high zoom)."""

        def along(view: int, image: int, at: float) -> float:
            extent = image * self.zoom
            if extent <= view:  # the whole image fits: centred
                return (view - extent) / 2
            return min(0.0, max(view - extent, view / 2 - at * self.zoom))

        self.offset = QPointF(
            along(self.width(), self.image_size.width(), x),
            along(self.height(), self.image_size.height(), y),
        )
        self.update()

    def shows_any(self, x0: int, y0: int, x1: int, y1: int) -> bool:
        """Whether any of the image box (x0, y0)-(x1, y1) is in view."""
        top_left, bottom_right = self.widget_pos(x0, y0), self.widget_pos(x1, y1)
        box = QRectF(top_left, bottom_right)
        return box.intersects(QRectF(self.rect()))

    def image_pos(self, point: QPointF | QPoint) -> QPointF:
        return (QPointF(point) - self.offset) / self.zoom

    def widget_pos(self, x: float, y: float) -> QPointF:
        return self.offset + QPointF(x, y) * self.zoom

    def _centre_point(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _center(self) -> None:
        w = self.image_size.width() * self.zoom
        h = self.image_size.height() * self.zoom
        self.offset = QPointF((self.width() - w) / 2, (self.height() - h) / 2)

    def render_composite(self) -> QImage:
        """The colour and line layers at 100%, on white (what an export shows)."""
        image = QImage(self.image_size, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        for name in ("color", "lines"):
            if name in self.layers:
                painter.drawImage(0, 0, self.layers[name])
        painter.end()
        return image

    # -- painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(72, 72, 76))
        if not self.image_size.isEmpty():
            painter.save()
            painter.translate(self.offset)
            painter.scale(self.zoom, self.zoom)
            painter.setRenderHint(
                QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1
            )
            bounds = QRectF(0, 0, self.image_size.width(), self.image_size.height())
            painter.fillRect(bounds, QColor("white"))
            for name in LAYER_ORDER:
                image = self.layers.get(name)
                if image is not None:
                    painter.drawImage(QPointF(0, 0), image)
            if len(self.closure_segments):
                self._paint_closures(painter)
            self._paint_closing_lines(painter)
            painter.restore()
        self._paint_badge(painter)
        painter.end()

    def _paint_closures(self, painter: QPainter) -> None:
        """Gap closures in cyan, each circled so that it can be found at any
        zoom (a closure is often one or two pixels long)."""
        line = QPen(CLOSURE_COLOUR, 3.0)
        line.setCosmetic(True)
        line.setCapStyle(Qt.PenCapStyle.RoundCap)
        ring = QPen(QColor(0, 190, 255, 200), 1.5)
        ring.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        margin = 6.0 / self.zoom
        for x0, y0, x1, y1 in self.closure_segments.tolist():
            a, b = QPointF(x0 + 0.5, y0 + 0.5), QPointF(x1 + 0.5, y1 + 0.5)
            painter.setPen(line)
            painter.drawLine(a, b)
            radius = margin + math.hypot(x1 - x0, y1 - y0) / 2
            painter.setPen(ring)
            painter.drawEllipse((a + b) / 2, radius, radius)

    def _paint_closing_lines(self, painter: QPainter) -> None:
        """Closing lines drawn by hand in purple, over the lines (a line one
        pixel wide is drawn three screen pixels wide, to be seen and hit);
        closures opened as a cyan ring crossed out; the stroke being drawn
        dashed."""
        lines, preview = self.closing_lines, self.stroke_preview
        if not lines and len(preview) < 2:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pen = QPen(CLOSING_LINE_COLOUR, 3.0)
        pen.setCosmetic(True)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for stroke in lines.strokes:
            painter.drawPolyline(
                QPolygonF([QPointF(x + 0.5, y + 0.5) for x, y in stroke])
            )
        if len(preview) >= 2:
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in preview]))
        ring = QPen(CLOSURE_COLOUR, 1.5)
        ring.setCosmetic(True)
        painter.setPen(ring)
        radius = 7.0 / self.zoom
        for x, y in lines.openings:
            centre = QPointF(x + 0.5, y + 0.5)
            painter.drawEllipse(centre, radius, radius)
            slash = QPointF(radius, -radius) * 0.7
            painter.drawLine(centre - slash, centre + slash)

    def _paint_badge(self, painter: QPainter) -> None:
        lines = [t for t in (self.badge, self.message) if t]
        if not lines:
            return
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        height = metrics.height() + 6
        width = max(metrics.horizontalAdvance(t) for t in lines) + 16
        painter.fillRect(8, 8, width, height * len(lines), QColor(0, 0, 0, 170))
        painter.setPen(QColor("white"))
        for i, text in enumerate(lines):
            painter.drawText(16, 8 + i * height + metrics.ascent() + 3, text)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        if self._fit_pending or self._fitted:
            self.fit()
        super().resizeEvent(event)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        if self._fit_pending:
            self.fit()

    # -- input
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * math.pow(1.25, steps), event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.unsetCursor()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        button = event.button()
        pan = button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        )
        if pan:
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        pos = self.image_pos(event.position())
        self._painting = button == Qt.MouseButton.LeftButton
        self.pressed.emit(pos.x(), pos.y(), button)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pan_from is not None:
            self.offset = self.offset + (event.position() - self._pan_from)
            self._fitted = False
            self._pan_from = event.position()
            self.update()
            return
        pos = self.image_pos(event.position())
        if self._painting:
            self.dragged.emit(pos.x(), pos.y())
        self.hovered.emit(pos.x(), pos.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pan_from is not None:
            self._pan_from = None
            if self._space:
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.unsetCursor()
            return
        if self._painting and event.button() == Qt.MouseButton.LeftButton:
            self._painting = False
            pos = self.image_pos(event.position())
            self.released.emit(pos.x(), pos.y())

    def leaveEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        self.left.emit()

    def enterEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        # Space-to-pan needs the keyboard; take it when the pointer comes in.
        if self.window().isActiveWindow():
            self.setFocus(Qt.FocusReason.MouseFocusReason)
