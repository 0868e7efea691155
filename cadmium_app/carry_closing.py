"""Carry closing lines (Shift+G forward, Ctrl+Shift+G back): the current
frame's closing lines carried frame by frame to the frames up to the next
key (or back to the key before), moved with the regions they part
(`engine.closing_carry`).

A shadow shape parted on a key by hand is wanted on its in-betweens; drawn
once and carried, each in-between gets its own line, shown and changed
like one drawn there. A line stops where it would part no region (said on
the status bar: draw it there by hand). The regions beside a carried line
keep the colour the region had, flagged for review: propagation then
paints each side from the keys. One undo step; the task runs on a worker
thread and is applied to the painting as it is when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject

from cadmium_app.dialogs import by_frame, frames_text
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.session import EditCommand, Session
from engine.carry import resegment_fills
from engine.closing_carry import CarriedFrame, beside, carry_through
from engine.closing_lines import ClosingLines
from engine.errors import CadmiumError
from engine.facade import NO_CLOSING, ShotEngine
from engine.fills import FillMap
from engine.history import ClosingCarry, ClosingEdit
from engine.project import Project

log = logging.getLogger(__name__)

FORWARD, BACK = 1, -1
LABEL = "Carry closing lines"


@dataclass(frozen=True)
class _Carried:
    frames: list[CarriedFrame]
    # The frame where the carrying stopped (it could not be read), and why.
    stopped: tuple[int, str] | None = None


class ClosingCarrier(QObject):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self.last_job: Job | None = None

    def span(self, frame: int, step: int) -> list[int]:
        """The frames after ``frame`` (``step`` 1) or before it (-1), in
        that order, up to the next key."""
        project = self.session.project
        if project is None:
            return []
        frames = self.session.frames_list
        if frame not in frames:
            return []
        at = frames.index(frame)
        ahead = frames[at + 1 :] if step > 0 else frames[:at][::-1]
        out: list[int] = []
        for number in ahead:
            if number in project.keys:
                break
            out.append(number)
        return out

    def carry(self, step: int) -> Job | None:
        """Carry the current frame's closing lines ``step`` (FORWARD, BACK)."""
        session = self.session
        project, engine = session.project, session.engine
        if project is None or engine is None:
            return None
        if not session.editable:
            session.status.emit("Wait until the shot is loaded")
            return None
        frame = session.frame
        lines = project.closing(frame)
        if not lines:
            session.status.emit(
                f"Frame {frame} has no closing lines to carry (draw them with "
                "the Close gap tool, G)"
            )
            return None
        frames = self.span(frame, step)
        if not frames:
            where = "after" if step > 0 else "before"
            session.status.emit(
                f"No frames {where} frame {frame} up to the next key to carry "
                "closing lines to"
            )
            return None
        snap = project.snapshot()
        own = snap.closing

        def work(progress: Progress, cancelled: Cancelled) -> _Carried | None:
            start = engine.frame(frame, lines)
            fills = snap.fills_for(frame, start.regions)
            carried: list[CarriedFrame] = []
            walk = carry_through(
                start,
                fills if fills is not None else FillMap.empty(start.regions.count),
                lines,
                frames,
                analyse=engine.frame,
                own=lambda n: own.get(n, NO_CLOSING),
                fills_on=lambda done: _fills_on(
                    snap.fills_for(done.number, done.before.regions), done
                ),
                matcher=engine.matcher,
            )
            try:
                for done in walk:
                    if cancelled():
                        return None
                    carried.append(done)
                    progress(len(carried), len(frames))
            except CadmiumError as exc:  # a frame unreadable: carried up to it
                at = frames[len(carried)]
                return _Carried(carried, (at, str(exc)))
            return _Carried(carried)

        where = "forward" if step > 0 else "back"
        job = Job(
            f"Carrying frame {frame}'s closing lines {where}…",
            work,
            edits_project=True,
        )
        job.succeeded.connect(
            lambda result: self._apply(frame, result, project, engine, own)
        )
        job.failed.connect(session.dialogs.error)
        job.cancelled.connect(
            lambda: session.status.emit(f"{LABEL}: cancelled; nothing changed")
        )
        # Exclusive: closing lines drawn meanwhile, a propagation or a gap
        # change wait for it.
        if not session.jobs.submit(job, exclusive=True):
            session.dialogs.error(
                "Another long task is running: wait for it or cancel it"
            )
            return None
        self.last_job = job
        return job

    def _apply(
        self,
        frame: int,
        result: _Carried | None,
        project: Project,
        engine: ShotEngine,
        own: Mapping[int, ClosingLines],
    ) -> None:
        """The lines carried, on the painting as it is now: a frame whose
        closing lines changed meanwhile (an undo) is left out."""
        session = self.session
        if result is None:
            session.status.emit(f"{LABEL}: cancelled; nothing changed")
            return
        if project is not session.project or engine is not session.engine:
            session.status.emit(f"{LABEL}: the shot changed meanwhile; nothing changed")
            return
        edits: list[ClosingEdit] = []
        already: list[int] = []
        left: dict[int, str] = {}
        for done in result.frames:
            number, lines = done.number, done.lines.lines
            if project.closing(number) != own.get(number, NO_CLOSING):
                left[number] = "its closing lines changed meanwhile"
                continue
            if lines == project.closing(number):
                if not (done.lines.lost_strokes or done.lines.lost_openings):
                    already.append(number)
                continue
            try:
                fills = project.fills_for(number, done.before.regions)
            except CadmiumError as exc:
                left[number] = str(exc)
                continue
            edits.append(
                project.closing_edit(
                    number,
                    lines,
                    None if fills is None else _fills_on(fills, done),
                    done.after.regions.numbering,
                    f"{LABEL} from frame {frame}",
                )
            )
        if edits:
            edit = ClosingCarry(f"{LABEL} from frame {frame}", tuple(edits))
            session.undo_stack.push(EditCommand(session, edit))
        carried = [edit.frame for edit in edits]
        session.status.emit(_said(frame, result, carried, already, left))


def _fills_on(fills: FillMap | None, done: CarriedFrame) -> FillMap:
    """A frame's fills (on its regions before the lines came; None: it has
    none) on its regions after: each side of a region parted keeps its
    fill, flagged for review where painted (propagation paints it from the
    keys)."""
    if fills is None:
        return FillMap.empty(done.after.regions.count)
    after = resegment_fills(fills, done.before.regions, done.after.regions)
    had = set(done.before_lines.strokes)
    new = [s for s in done.lines.lines.strokes if s not in had]
    sides = beside(done.after.regions, new)
    flagged = after.flagged.copy()
    flagged[sides] |= after.painted[sides]
    return after.replace(flagged=flagged)


def _said(
    frame: int,
    result: _Carried,
    carried: list[int],
    already: list[int],
    left: dict[int, str],
) -> str:
    """What the carrying did, in one line."""
    parts = []
    if carried:
        parts.append(
            f"Frame {frame}'s closing lines carried to {frames_text(carried)} "
            "(Ctrl+Z undoes it); propagate to paint the regions they part"
        )
    elif not already:
        parts.append(f"No closing lines carried from frame {frame}")
    if already:
        where = frames_text(already)
        on = f"they are on {where} already" if carried else ""
        parts.append(on or f"Frame {frame}'s closing lines are on {where} already")
    for done in result.frames:
        strokes, openings = done.lines.lost_strokes, done.lines.lost_openings
        if strokes:
            lines = "a line" if strokes == 1 else f"{strokes} lines"
            parts.append(
                f"{lines} stopped at frame {done.number} (it would part no "
                "region there: draw it by hand)"
            )
        if openings:
            these = "an opening" if openings == 1 else f"{openings} openings"
            parts.append(
                f"{these} stopped at frame {done.number} (no closure there to open)"
            )
    if result.stopped is not None:
        at, why = result.stopped
        parts.append(f"stopped at frame {at}: {why}")
    if left:
        parts.append(f"not carried to {by_frame(left)}")
    return "; ".join(parts)
