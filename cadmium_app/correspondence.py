"""The correspondence view, for debugging propagation.

A key (left) and the current frame (right) side by side, a line from the
centroid of each target region to the centroid of the key region it matched,
coloured by confidence (red: unsure, green: sure); a region whose best
match is "no match" (a part the key lacks, or one the matcher could not
place) gets a red cross instead of a line. Hovering a region lists its
candidate matches and their scores. A switch shows all matches or only the
doubtful ones (below the flag threshold, and the crosses). A line under the
key picker counts them. The matcher runs on a worker thread, never in a
paint or mouse event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from cadmium_app import render
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.session import Session
from cadmium_app.watch import deleted_meanwhile
from engine.facade import ShotEngine
from engine.fills import FillMap, composite
from engine.matching import Correspondence, Frame
from engine.project import Snapshot
from engine.shot import Shot

log = logging.getLogger(__name__)
GUTTER = 16


@dataclass(frozen=True)
class Pair:
    key: Frame
    target: Frame
    corr: Correspondence
    key_picture: np.ndarray  # RGBA8 composites, for display
    target_picture: np.ndarray
    # Each region's style name ("": unpainted), for the hover text.
    key_styles: tuple[str, ...] = ()
    target_styles: tuple[str, ...] = ()


def confidence_color(score: float) -> QColor:
    """Red (0.3 and below) through yellow to green (1)."""
    t = max(0.0, min((score - 0.3) / 0.7, 1.0))
    return QColor.fromHsvF(t / 3.0, 0.9, 0.85)


def pair_summary(corr: Correspondence, threshold: float) -> str:
    """One line counting a pair's matches: sure, doubtful, no match."""
    best, score = corr.best()
    matched = best >= 0
    doubtful = int((matched & (score < threshold)).sum())
    return (
        f"{int(matched.sum())} of {corr.n_target} regions matched "
        f"({doubtful} doubtful), {int((~matched).sum())} no match"
    )


def compute_pair(snap: Snapshot, engine: ShotEngine, key: int, target: int) -> Pair:
    """Worker side: both frames, the key's fills, the matcher, two pictures."""
    frame_of = engine.followed_analyser(snap)
    key_frame, target_frame = frame_of(key), frame_of(target)
    key_fills = snap.fills_for(key, key_frame.regions) or FillMap.empty(
        key_frame.regions.count
    )
    target_fills = snap.fills_for(target, target_frame.regions) or FillMap.empty(
        target_frame.regions.count
    )
    corr = engine.matcher.match(key_frame, key_fills, target_frame)

    def picture(frame: Frame, fills: FillMap) -> np.ndarray:
        return composite(frame.image, frame.lineart, frame.regions, fills, snap.palette)

    def styles(fills: FillMap) -> tuple[str, ...]:
        names = [s.name for s in snap.palette.styles]
        return tuple(
            names[s] if painted and s < len(names) else ""
            for s, painted in zip(
                fills.style.tolist(), fills.painted.tolist(), strict=True
            )
        )

    return Pair(
        key=key_frame,
        target=target_frame,
        corr=corr,
        key_picture=picture(key_frame, key_fills),
        target_picture=picture(target_frame, target_fills),
        key_styles=styles(key_fills),
        target_styles=styles(target_fills),
    )


class PairView(QWidget):
    """Both frames and the match lines."""

    hovered_text = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pairView")
        self.setMouseTracking(True)
        self.setMinimumSize(480, 220)
        self.pair: Pair | None = None
        self.doubtful_only = False
        self.threshold = 0.7
        self.drawn_lines = 0
        self.drawn_crosses = 0
        self.highlight: tuple[str, int] | None = None  # ("key"|"target", region)
        self._images: tuple[QImage, QImage] | None = None
        # Each target region's best key region (-1: no match) and its score,
        # worked out once a pair, not at every paint (hovering repaints).
        self._best = np.zeros(0, np.int64), np.zeros(0, np.float32)

    def set_pair(self, pair: Pair | None) -> None:
        self.pair = pair
        self.highlight = None
        if pair is not None:
            self._best = pair.corr.best()
        self._images = (
            None
            if pair is None
            else (
                render.to_qimage(pair.key_picture),
                render.to_qimage(pair.target_picture),
            )
        )
        self.update()

    def matches(self) -> list[tuple[int, int, float]]:
        """(target region, key region, score) of the lines to draw."""
        if self.pair is None:
            return []
        best, score = self._best
        keep = best >= 0
        if self.doubtful_only:
            keep &= score < self.threshold
        return [(int(t), int(best[t]), float(score[t])) for t in np.flatnonzero(keep)]

    def unmatched(self) -> list[int]:
        """Target regions whose best match is "no match" (drawn as crosses,
        in both modes: each is worth a look)."""
        if self.pair is None:
            return []
        return [int(t) for t in np.flatnonzero(self._best[0] < 0)]

    def layout_rects(self) -> tuple[QRectF, QRectF, float]:
        if self.pair is None:
            return QRectF(), QRectF(), 1.0
        height, width = self.pair.key.regions.shape
        scale = min(
            (self.width() - 3 * GUTTER) / (2 * width),
            (self.height() - 2 * GUTTER) / height,
        )
        scale = max(scale, 0.01)
        w, h = width * scale, height * scale
        top = (self.height() - h) / 2
        left = QRectF(GUTTER, top, w, h)
        right = QRectF(2 * GUTTER + w, top, w, h)
        return left, right, scale

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(60, 60, 64))
        self.drawn_lines = 0
        self.drawn_crosses = 0
        if self.pair is None or self._images is None:
            painter.setPen(QColor("white"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Matching…")
            painter.end()
            return
        left, right, scale = self.layout_rects()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for rect, image in zip((left, right), self._images, strict=True):
            painter.fillRect(rect, QColor("white"))
            painter.drawImage(rect, image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        key_c = self.pair.key.regions.table.centroid
        target_c = self.pair.target.regions.table.centroid
        for t, k, score in self.matches():
            wide = self.highlight in (("target", t), ("key", k))
            pen = QPen(confidence_color(score), 3.0 if wide else 1.4)
            painter.setPen(pen)
            a = left.topLeft() + QPointF(*key_c[k]) * scale
            b = right.topLeft() + QPointF(*target_c[t]) * scale
            painter.drawLine(a, b)
            painter.setBrush(confidence_color(score))
            painter.drawEllipse(a, 2.5, 2.5)
            painter.drawEllipse(b, 2.5, 2.5)
            self.drawn_lines += 1
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for t in self.unmatched():
            centre = right.topLeft() + QPointF(*target_c[t]) * scale
            arm = 7.0 if self.highlight == ("target", t) else 5.0
            # Red on a white edge: visible on any fill.
            for color, width in ((QColor("white"), 4.5), (confidence_color(0.0), 2.0)):
                painter.setPen(QPen(color, width))
                painter.drawLine(
                    centre + QPointF(-arm, -arm), centre + QPointF(arm, arm)
                )
                painter.drawLine(
                    centre + QPointF(-arm, arm), centre + QPointF(arm, -arm)
                )
            self.drawn_crosses += 1
        painter.setPen(QColor("white"))
        painter.drawText(
            left.adjusted(0, -GUTTER, 0, 0).topLeft() + QPointF(0, 12),
            f"key {self.pair.key.number}",
        )
        painter.drawText(
            right.adjusted(0, -GUTTER, 0, 0).topLeft() + QPointF(0, 12),
            f"frame {self.pair.target.number}",
        )
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self.pair is None:
            return
        left, right, scale = self.layout_rects()
        pos = event.position()
        side, rect, frame = (
            ("key", left, self.pair.key)
            if left.contains(pos)
            else ("target", right, self.pair.target)
        )
        if not rect.contains(pos):
            self.hover(None)
            return
        x, y = (pos.x() - rect.x()) / scale, (pos.y() - rect.y()) / scale
        region = frame.regions.region_at(int(x), int(y))
        self.hover(None if region is None else (side, region))

    def hover(self, what: tuple[str, int] | None) -> None:
        if what == self.highlight:
            return
        self.highlight = what
        self.update()
        self.hovered_text.emit(self.describe(what) if what is not None else "")

    def describe(self, what: tuple[str, int]) -> str:
        """The candidate matches of a region and their scores."""
        assert self.pair is not None
        side, region = what
        prob = self.pair.corr.prob
        n_key = self.pair.corr.n_key
        if side == "target":
            row = prob[region]
            order = np.argsort(-row)[:4]
            parts = [
                ("no match" if int(i) == n_key else f"key {self._named('key', int(i))}")
                + f" {row[i]:.2f}"
                for i in order
                if row[i] > 0.005
            ]
            return f"Frame {self._named('target', region)} → " + ", ".join(parts)
        column = prob[:, region]
        order = np.argsort(-column)[:4]
        parts = [
            f"{self._named('target', int(i))} {column[i]:.2f}"
            for i in order
            if column[i] > 0.005
        ]
        return f"Key {self._named('key', region)} ← " + (
            ", ".join(parts) or "no frame region"
        )

    def _named(self, side: str, region: int) -> str:
        """'region 14 (Shirt)': a region and its style, when painted."""
        assert self.pair is not None
        names = self.pair.key_styles if side == "key" else self.pair.target_styles
        name = names[region] if region < len(names) else ""
        return f"region {region} ({name})" if name else f"region {region}"


class CorrespondenceWindow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("correspondenceWindow")
        self.setWindowTitle("Correspondence — Cadmium")
        self.resize(900, 420)
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Key:"))
        self.key_box = QComboBox()
        self.key_box.setObjectName("keyBox")
        bar.addWidget(self.key_box)
        self.doubtful_box = QCheckBox("Doubtful matches only")
        self.doubtful_box.setObjectName("doubtfulOnly")
        bar.addWidget(self.doubtful_box)
        bar.addStretch(1)
        legend = QLabel(
            "<span style='color:#d22'>■</span> unsure &nbsp; "
            "<span style='color:#db2'>■</span> &nbsp; "
            "<span style='color:#2b4'>■</span> sure &nbsp; "
            "<span style='color:#d22'>✕</span> no match"
        )
        bar.addWidget(legend)
        layout.addLayout(bar)
        self.summary = QLabel("")
        self.summary.setObjectName("matchSummary")
        layout.addWidget(self.summary)
        self.view = PairView()
        layout.addWidget(self.view, 1)
        self.info = QLabel("Hover a region to see its candidate matches")
        self.info.setObjectName("matchInfo")
        layout.addWidget(self.info)
        self.view.hovered_text.connect(
            lambda text: self.info.setText(
                text or "Hover a region to see its candidate matches"
            )
        )
        close = QAction("Close", self)
        close.setShortcuts([QKeySequence("Esc"), QKeySequence("Ctrl+W")])
        close.triggered.connect(self.close)
        self.addAction(close)


class CorrespondenceController(QObject):
    pair_ready = Signal()

    def __init__(self, session: Session, window: CorrespondenceWindow) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.key: int | None = None
        self._job: Job | None = None
        self._stale = False
        window.view.threshold = session.settings.flag_below
        window.key_box.activated.connect(self._on_key_chosen)
        window.doubtful_box.toggled.connect(self.set_doubtful_only)
        session.project_changed.connect(self._refresh_keys)
        session.frames_listed.connect(self._on_frames_listed)
        session.frame_changed.connect(lambda _n: self.update_pair())
        session.fills_changed.connect(self._on_fills)

    def show(self) -> None:
        self._refresh_keys()
        if not self.window.isVisible():
            self._place()
        self.window.show()
        self.window.raise_()
        self.update_pair()

    def _place(self) -> None:
        """Opened over the main window, most of its width (two frames side
        by side want room), centred: not small in a corner of the screen."""
        parent = self.window.parentWidget()
        if parent is None:
            return
        outer = parent.frameGeometry()
        width = max(900, int(outer.width() * 0.85))
        height = max(420, int(outer.height() * 0.6))
        self.window.resize(width, height)
        self.window.move(
            outer.x() + (outer.width() - width) // 2,
            outer.y() + (outer.height() - height) // 2,
        )

    def set_doubtful_only(self, on: bool) -> None:
        self.window.view.doubtful_only = on
        if self.window.doubtful_box.isChecked() != on:
            self.window.doubtful_box.setChecked(on)
        self.window.view.update()

    def set_key(self, key: int) -> None:
        self.key = key
        self._refresh_keys()
        self.update_pair()

    def _keys(self) -> list[int]:
        project = self.session.project
        if project is None:
            return []
        return sorted(k for k in project.keys if k in project.shot.line)

    def _refresh_keys(self) -> None:
        keys = self._keys()
        box = self.window.key_box
        box.blockSignals(True)
        box.clear()
        for key in keys:
            box.addItem(f"frame {key}", key)
        if self.key in keys:
            box.setCurrentIndex(keys.index(self.key))
        box.blockSignals(False)

    def _on_frames_listed(self) -> None:
        """Frames drawn or deleted on disk: a deleted key leaves the list,
        and the pair shown is matched again."""
        self._refresh_keys()
        self.update_pair()

    def _on_key_chosen(self, index: int) -> None:
        self.key = self.window.key_box.itemData(index)
        self.update_pair()

    def _on_fills(self, frames: tuple[int, ...]) -> None:
        if set(self._keys()) != {
            self.window.key_box.itemData(i) for i in range(self.window.key_box.count())
        }:
            self._refresh_keys()
        if self.session.frame in frames or self.key in frames:
            self.update_pair()

    def _choose_key(self, target: int) -> int | None:
        keys = self._keys()
        if self.key in keys:
            return self.key
        if not keys:
            return None
        before = [k for k in keys if k <= target]
        return before[-1] if before else keys[0]

    def update_pair(self) -> None:
        """Match the key against the current frame on a worker thread."""
        session = self.session
        if (
            not self.window.isVisible()
            or session.project is None
            or session.engine is None
        ):
            return
        key = self._choose_key(session.frame)
        if key is None:
            self.window.view.set_pair(None)
            self.window.summary.setText("")
            self.window.info.setText("No key yet: paint a frame first")
            return
        keys = self._keys()
        self.window.key_box.blockSignals(True)
        self.window.key_box.setCurrentIndex(keys.index(key))
        self.window.key_box.blockSignals(False)
        if self._job is not None and not self._job.done:
            self._stale = True
            return
        snap, engine, target = session.project.snapshot(), session.engine, session.frame

        def work(progress: Progress, cancelled: Cancelled) -> Pair:
            return compute_pair(snap, engine, key, target)

        job = Job(f"Matching key {key} to frame {target}", work, cancellable=False)
        job.succeeded.connect(self._on_pair)
        job.failed.connect(lambda message: self._on_failed(message, snap.shot))
        job.finished.connect(self._on_finished)
        self._job = job
        session.jobs.submit(job)

    def _on_failed(self, message: str, shot: Shot) -> None:
        # A frame deleted on disk as it was read: the watcher says so, and
        # the pair is matched again once the timeline follows.
        if deleted_meanwhile(shot, message) is None:
            self.session.dialogs.error(message)

    def _on_pair(self, pair: Pair) -> None:
        self.window.view.set_pair(pair)
        self.window.summary.setText(
            f"Frame {pair.target.number} from key {pair.key.number}: "
            + pair_summary(pair.corr, self.window.view.threshold)
        )
        self.pair_ready.emit()

    def _on_finished(self) -> None:
        self._job = None
        if self._stale:
            self._stale = False
            self.update_pair()
