"""The Close gap tool (G): closing lines drawn by hand on a frame.

Drag across a gap the automatic closing left open (or along a shadow
boundary never inked) to draw a closing line: an invisible line, for this
frame's regions alone, whose ends reach on to the nearest line when they
stop a little short. Click a closing line (purple) to remove it, an
automatic closure (cyan) to open it where it cut a region in two, and an
opened closure's mark to close it again.

Each change segments the frame anew on a worker thread and carries its
fills over (the two sides of a region cut in two keep its colour; a
region run together takes the colour of most of it); it is one undo step
that restores the fills exactly, as a gap change does. Changes made in
quick succession are applied in turn, each on the lines the one before
left.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from cadmium_app.canvas import Canvas
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.session import EditCommand, Session
from engine.carry import return_fills
from engine.closing_lines import ClosingLines, closure_near, drawn_stroke
from engine.closing_redraw import Placement
from engine.fills import FillMap
from engine.matching import Frame
from engine.regions import Numbering

log = logging.getLogger(__name__)

# How near the pointer a click must be to a line or a closure to take it,
# and how far a stroke's end reaches on to a line, in screen px.
CLICK_REACH = 6.0
END_REACH = 12.0

WAIT = "Wait for the task under way (or cancel it: Esc) to change closing lines"
DRAW = "Closing line"  # the label of a closing line drawn
HOW = (
    "Close gap: drag across a gap to close it; click a closing line (purple) "
    "to remove it, a closure (cyan) to open it"
)

# A change of a frame's closing lines: from the lines it has when its turn
# comes, the lines it should have (None: nothing to do), and its label.
Change = Callable[[ClosingLines], ClosingLines | None]


@dataclass(frozen=True)
class _Pending:
    frame: int
    change: Change
    label: str


@dataclass(frozen=True)
class _Result:
    lines: ClosingLines
    fills: FillMap | None
    numbering: Numbering
    regions_before: int
    placed: Placement  # the drawing the lines are drawn on


class ClosingController(QObject):
    # The closing lines shown changed (a change asked for, or made).
    changed = Signal()

    def __init__(self, session: Session, canvas: Canvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.canvas = canvas
        self.path: list[tuple[float, float]] = []
        self._queue: deque[_Pending] = deque()
        self._job: Job | None = None
        session.project_changed.connect(self._drop)

    # -- the pointer
    def press(self, x: float, y: float) -> None:
        self.path = [(x, y)]
        self.canvas.set_stroke_preview(self.path)

    def drag(self, x: float, y: float) -> None:
        if self.path:
            self.path.append((x, y))
            self.canvas.set_stroke_preview(self.path)

    def release(self, x: float, y: float) -> None:
        path, self.path = [*self.path, (x, y)], []
        self.canvas.set_stroke_preview([])
        frame = self.session.current_or_say("close")
        if frame is None:
            return
        reach = END_REACH / self.canvas.zoom
        stroke = drawn_stroke(path, frame.lineart.line, max(reach, 2.0))
        if stroke is not None and _length(path) * self.canvas.zoom >= CLICK_REACH:
            self._ask(frame.number, lambda lines: lines.adding(stroke), DRAW)
        else:
            self._click(frame, *path[0])

    def _click(self, frame: Frame, x: float, y: float) -> None:
        """Remove the closing line under the pointer, or close again the
        closure opened there, or open the closure there."""
        reach = max(CLICK_REACH / self.canvas.zoom, 1.5)
        lines = self._lines_now(frame.number)
        stroke = lines.stroke_near(x, y, reach)
        if stroke is not None:
            drawn = lines.strokes[stroke]
            self._ask(
                frame.number,
                lambda now: now.without_stroke(drawn),
                "Remove closing line",
            )
            return
        opening = lines.opening_near(x, y, reach)
        if opening is not None:
            at = lines.openings[opening]
            self._ask(
                frame.number, lambda now: now.without_opening(at), "Close closure again"
            )
            return
        at = closure_near(frame.regions.closures, x, y, reach)
        if at is None:
            self.session.status.emit(HOW)
            return
        self._ask(frame.number, lambda now: now.opening(at), "Open closure")

    # -- changes, one at a time
    def _ask(self, frame: int, change: Change, label: str) -> None:
        session = self.session
        if not session.editable or session.jobs.exclusive not in (None, self._job):
            session.status.emit(WAIT)
            return
        self._queue.append(_Pending(frame, change, label))
        self._next()

    def _lines_now(self, frame: int) -> ClosingLines:
        """The frame's closing lines with the changes waiting applied, as
        the animator sees them."""
        project = self.session.project
        lines = project.closing(frame) if project is not None else ClosingLines()
        for pending in self._queue:
            if pending.frame == frame:
                lines = pending.change(lines) or lines
        return lines

    def _next(self) -> None:
        session, project, engine = (
            self.session,
            self.session.project,
            self.session.engine,
        )
        if self._job is not None or not self._queue:
            return
        if project is None or engine is None:
            self._queue.clear()
            return
        pending = self._queue[0]
        lines = pending.change(project.closing(pending.frame))
        if lines is None or lines == project.closing(pending.frame):
            self._queue.popleft()  # nothing to change (undone meanwhile)
            if lines is None:  # what it named is gone: said, not dropped unseen
                session.status.emit(_gone(pending))
            self._next()
            return
        snap = project.snapshot()
        now = snap.closing.get(pending.frame, ClosingLines())
        # Back to the lines the frame had before its last change: what was
        # painted then and not repainted since comes back exactly.
        left = project.left_closing(pending.frame, lines)

        def work(_progress: Progress, _cancelled: Cancelled) -> _Result | None:
            # The frame as it is now (cached: it is on screen), and anew.
            # Its lines where they go first, when its drawing was redrawn
            # and they have not followed it yet: the change is made there.
            placed = snap.placements.get(pending.frame)
            before, found = engine.followed(pending.frame, now, placed)
            changed: ClosingLines | None = lines
            if found is not None and found.lines != now:
                changed = pending.change(found.lines)
            if changed is None:
                return None  # what it named moved with the drawing
            analysed = engine.frame(pending.frame, changed)
            after = analysed.regions
            fills = snap.fills_for(pending.frame, before.regions)
            if fills is not None and len(fills):
                arrived, earlier = (None, None)
                if left is not None:
                    arrived, earlier = left.return_hints(
                        before.regions.layout, after.layout
                    )
                fills = return_fills(
                    fills, before.regions, after, arrived_as=arrived, earlier=earlier
                )
            else:
                fills = None
            return _Result(
                changed,
                fills,
                after.numbering,
                before.regions.count,
                Placement.of(analysed),
            )

        title = f"{pending.label}: finding frame {pending.frame}'s regions…"
        job = Job(title, work, cancellable=False, edits_project=True)
        job.succeeded.connect(
            lambda result: self._apply(pending, result, snap.revision, engine)
        )
        job.failed.connect(lambda message: self._failed(pending, message))
        job.finished.connect(self._finished)
        # Exclusive: a propagation, gap change or export waits for it (they
        # would start from the lines it is about to change).
        if not session.jobs.submit(job, exclusive=True):
            self._queue.clear()
            session.status.emit(WAIT)
        else:
            self._job = job
        self.changed.emit()

    def _apply(
        self, pending: _Pending, result: _Result | None, revision: int, engine: object
    ) -> None:
        session, project = self.session, self.session.project
        stale = project is None or engine is not session.engine
        if stale or project.revision != revision or not self._is_next(pending):
            # Painted, undone, closed otherwise meanwhile (or another shot
            # opened: its changes wait in the queue): worked out again.
            return
        self._queue.popleft()
        if result is None:
            session.status.emit(_gone(pending))
            return
        edit = project.closing_edit(
            pending.frame,
            result.lines,
            result.fills,
            result.numbering,
            pending.label,
            result.placed,
        )
        session.undo_stack.push(EditCommand(session, edit))
        done = f"{pending.label} on frame {pending.frame}"
        drawn = pending.label == DRAW
        if drawn and result.numbering.count == result.regions_before:
            # Said, not refused: a line that closes a gap with the next one
            # drawn closes nothing alone.
            done += ": it parts no regions yet (draw from line to line)"
        session.status.emit(f"{done} (Ctrl+Z undoes it)")

    def _failed(self, pending: _Pending, message: str) -> None:
        """Said once, and the change dropped (the frame deleted on disk, or
        unreadable now): it is not tried again and again."""
        if self._is_next(pending):
            self._queue.popleft()
        self.session.dialogs.error(
            f"{pending.label} on frame {pending.frame}: {message}"
        )

    def _is_next(self, pending: _Pending) -> bool:
        return bool(self._queue) and self._queue[0] is pending

    def _finished(self) -> None:
        self._job = None
        # After the runner lets the job go: the next is exclusive too.
        QTimer.singleShot(0, self._next)
        self.changed.emit()

    def _drop(self) -> None:
        """Another shot opened: changes waiting were the last one's."""
        self._queue.clear()
        self.path = []
        self.canvas.set_stroke_preview([])

    def shown_lines(self) -> ClosingLines:
        """The current frame's closing lines, changes waiting included."""
        return self._lines_now(self.session.frame)


def _length(path: list[tuple[float, float]]) -> float:
    return sum(
        ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        for (x0, y0), (x1, y1) in itertools.pairwise(path)
    )


def _gone(pending: _Pending) -> str:
    """A change whose line or opening is not there by its turn: undone, or
    moved with the frame's redrawn drawing while it waited."""
    return (
        f"{pending.label} on frame {pending.frame}: it is not there now (undone, "
        "or moved with the frame's redrawn drawing); click it where it is now"
    )
