"""Gap closing: a 0-16 px slider with 4/8/12 presets.

A new gap means a new segmentation of every frame. The fills painted so far
are carried over on a worker thread (each new region takes the fill of the
old region under most of it); editing waits meanwhile. The change is one
undo step that keeps the shot's fills on both sides, so undoing it, or
moving the slider straight back, restores the painting exactly, even where
a lower gap let regions run together. Going back after painting more
restores the regions not repainted since, and carries the rest over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from cadmium_app.frames import small_labels
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.session import EditCommand, Session
from engine.carry import return_fills
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.fills import FillMap
from engine.gaps import MAX_GAP as ENGINE_MAX_GAP
from engine.history import GapEdit
from engine.project import Project
from engine.regions import Numbering

log = logging.getLogger(__name__)

PRESETS = (4, 8, 12)
MAX_GAP = 16  # the slider's end at HD and below; larger frames get more


def slider_end(size: tuple[int, int] | None, gap: int) -> int:
    """The gap slider's end for frames of ``size`` (width, height): 16 px
    at HD, in proportion beyond (32 at 4K: lines and their gaps scale with
    the frame), never below the gap in use, never past the engine's limit."""
    scaled = MAX_GAP
    if size is not None:
        scaled = max(MAX_GAP, round(MAX_GAP * max(size) / 1920))
    return min(ENGINE_MAX_GAP, max(scaled, gap))


@dataclass
class Carried:
    """What a gap change hands back: each painted frame's fills on its new
    regions, and its timeline thumbnail's regions."""

    fills: dict[int, FillMap] = field(default_factory=dict)
    thumbs: dict[int, np.ndarray] = field(default_factory=dict)
    numberings: dict[int, Numbering] = field(default_factory=dict)


class GapWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(QLabel("Close gaps"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("gapSlider")
        self.slider.setRange(0, MAX_GAP)
        self.slider.setPageStep(2)
        self.slider.setFixedWidth(110)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip(
            f"Gap closing, 0 (off) to {MAX_GAP} px; closures are drawn in cyan"
        )
        layout.addWidget(self.slider)
        self.value = QLabel()
        self.value.setMinimumWidth(36)
        layout.addWidget(self.value)
        self.presets: list[QToolButton] = []
        for px in PRESETS:
            button = QToolButton()
            button.setText(str(px))
            button.setToolTip(f"Close gaps up to {px} px")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(button)
            self.presets.append(button)


class GapController(QObject):
    gap_applied = Signal(int)

    def __init__(self, session: Session, widget: GapWidget) -> None:
        super().__init__(widget)
        self.session = session
        self.widget = widget
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(lambda: self.set_gap(widget.slider.value()))
        widget.slider.valueChanged.connect(self._on_slider)
        for px, button in zip(PRESETS, widget.presets, strict=True):
            button.clicked.connect(lambda _=False, px=px: self.set_gap(px))
        session.project_changed.connect(self._show_project_gap)
        session.gap_changed.connect(lambda _gap: self._show_project_gap())
        self._show_project_gap()

    def _show_project_gap(self) -> None:
        project, engine = self.session.project, self.session.engine
        gap = project.gap if project is not None else 0
        try:
            size = engine.size if engine is not None else None
        except CadmiumError:  # no frame readable: said when the shot opened
            size = None
        end = slider_end(size, gap)
        slider = self.widget.slider
        slider.blockSignals(True)
        slider.setMaximum(end)
        slider.setValue(gap)
        slider.blockSignals(False)
        slider.setToolTip(
            f"Gap closing, 0 (off) to {end} px; closures are drawn in cyan"
        )
        self.widget.value.setText(f"{gap} px")
        self.widget.setEnabled(project is not None)

    def _on_slider(self, value: int) -> None:
        self.widget.value.setText(f"{value} px")
        self._debounce.start()

    def set_gap(self, gap: int) -> Job | None:
        """Re-segment the shot with a new gap, carrying the fills over."""
        self._debounce.stop()
        session, project, old = self.session, self.session.project, self.session.engine
        if project is None or old is None or gap == project.gap:
            self._show_project_gap()
            return None
        if not session.editable:
            session.status.emit("Wait for the current task before changing the gap")
            self._show_project_gap()
            return None
        if self._step_back_to(gap):
            return None
        new = session.make_engine(project, gap)
        snap = project.snapshot()
        # Frames gone from the line folder keep their fills (gap_edit).
        frames = snap.painted_frames
        step = session.frames.step
        # Back to the gap the shot had before the last change: what was
        # painted there and not repainted since comes back exactly.
        left = project.left_gap(gap)
        old_frame, new_frame = old.analyser(snap.closing), new.analyser(snap.closing)

        def work(progress: Progress, cancelled: Cancelled) -> Carried | None:
            carried = Carried()
            for done, number in enumerate(frames, start=1):
                if cancelled():
                    return None
                try:
                    before = old_frame(number).regions
                    after = new_frame(number)
                except CadmiumError:
                    if not snap.shot.gone(number):
                        raise
                    continue  # deleted on disk meanwhile: keeps its fills
                fills = snap.fills_for(number, before)
                if fills is not None:
                    arrived, earlier = (None, None)
                    if left is not None:
                        arrived, earlier = left.return_hints(
                            number, before.layout, after.regions.layout
                        )
                    carried.fills[number] = return_fills(
                        fills,
                        before,
                        after.regions,
                        arrived_as=arrived,
                        earlier=earlier,
                    )
                    carried.thumbs[number] = small_labels(after, step)
                    carried.numberings[number] = after.regions.numbering
                progress(done, len(frames))
            return carried

        job = Job(f"Closing gaps up to {gap} px…", work, edits_project=True)
        job.succeeded.connect(
            lambda carried: self._apply(project, gap, new, carried, snap.revision)
        )
        job.failed.connect(session.dialogs.error)
        job.finished.connect(lambda: self._finished(project))
        if not session.jobs.submit(job, exclusive=True):
            session.dialogs.error(
                "Another long task is running: wait for it or cancel it"
            )
            self._show_project_gap()
            return None
        session.editable = False
        self.widget.slider.blockSignals(True)
        self.widget.slider.setValue(gap)
        self.widget.slider.blockSignals(False)
        self.widget.value.setText(f"{gap} px")
        return job

    def _step_back_to(self, gap: int) -> bool:
        """Undo (or redo) the gap change next on the undo stack when it leads
        to ``gap``: the painting comes back exactly, not carried over twice."""
        stack = self.session.undo_stack
        for index, forward in ((stack.index() - 1, False), (stack.index(), True)):
            command = stack.command(index) if 0 <= index < stack.count() else None
            edit = getattr(command, "edit", None)
            leads_to = getattr(edit, "gap_after" if forward else "gap_before", None)
            if isinstance(edit, GapEdit) and leads_to == gap:
                stack.redo() if forward else stack.undo()
                return True
        return False

    def _apply(
        self,
        project: Project,
        gap: int,
        engine: ShotEngine,
        carried: Carried | None,
        revision: int,
    ) -> None:
        if carried is None or project is not self.session.project:
            return
        if project.revision != revision:  # an undo or redo landed meanwhile
            self.session.status.emit("The painting changed meanwhile: closing again")
            QTimer.singleShot(0, lambda: self.set_gap(gap))
            return
        self.session.set_engine(engine, carried.thumbs)
        self.session.undo_stack.push(
            EditCommand(
                self.session,
                project.gap_edit(gap, carried.fills, carried.numberings),
            )
        )
        self.session.status.emit(f"Gaps up to {gap} px closed (Ctrl+Z undoes it)")
        self.gap_applied.emit(gap)

    def _finished(self, project: Project) -> None:
        # Another shot opened meanwhile is made editable by its own opening
        # (once its keys are read), not here.
        if self.session.project is project:
            self.session.editable = True
        self._show_project_gap()
