"""Carry closing lines (Shift+G forward, Ctrl+Shift+G back): the current
frame's closing lines carried frame by frame to the frames up to the next
key (or back to the key before), moved with the regions they part
(`engine.closing_carry`).

A shadow shape parted on a key by hand is wanted on its in-betweens; drawn
once and carried, each in-between gets its own line, shown and changed
like one drawn there. A line stops where it would part no region (said on
the status bar: draw it there by hand). The regions beside a carried line
keep the colour the region had, flagged for review: propagation then
paints each side from the keys. When the key the carry goes up to has
lines of its own, each line is put in between with its partner there by
timing (`engine.closing_between`), and the frames past where every line
stopped take its lines carried back. One undo step; the task runs on a
worker thread and is applied to the painting as it is when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject

from cadmium_app.closing import WAIT
from cadmium_app.dialogs import by_frame, frames_text
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.session import EditCommand, Session
from engine.carry import resegment_fills
from engine.closing_between import blend_carried
from engine.closing_carry import CarriedFrame, beside, carry_through
from engine.closing_lines import ClosingLines
from engine.closing_redraw import Placement
from engine.errors import CadmiumError
from engine.facade import NO_CLOSING, ShotEngine
from engine.fills import FillMap
from engine.history import ClosingCarry, ClosingEdit
from engine.matching import Frame
from engine.project import Project, Snapshot
from engine.regions import Numbering, Regions

FORWARD, BACK = 1, -1
LABEL = "Carry closing lines"


@dataclass(frozen=True)
class _Carried:
    frames: tuple[CarriedFrame, ...]
    # Per frame, its fills in the snapshot carried to its regions after the
    # lines came (None: it had none): the edit's, when nothing was painted
    # or undone meanwhile.
    fills: Mapping[int, FillMap | None]
    numberings: Mapping[int, Numbering]  # each frame's regions after
    placed: Mapping[int, Placement]  # each frame's lines, where they lie
    # The frame where the carrying stopped (it could not be read), and why.
    stopped: tuple[int, str] | None = None
    # Frames whose lines were put in between with the next key's.
    between: tuple[int, ...] = ()
    # Frames past where every line carried from the frame stopped, given
    # the next key's lines carried back instead.
    taken_back: tuple[int, ...] = ()


@dataclass(frozen=True)
class _Asked:
    """A carry asked for: from ``frame``, ``step`` (FORWARD, BACK), on the
    painting ``snap`` and the analysis ``engine``; ``towards``: the key
    the carry goes up to, when it has closing lines (those carried are put
    in between with its: `engine.closing_between`)."""

    frame: int
    step: int
    project: Project
    snap: Snapshot
    engine: ShotEngine
    towards: int | None = None
    # The key the carry goes up to (None: the shot's end), lines or not.
    key: int | None = None


class ClosingCarrier(QObject):
    """Carries the current frame's closing lines (see the module)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self.last_job: Job | None = None

    def span(self, frame: int, step: int) -> list[int]:
        """The frames after ``frame`` (``step`` 1) or before it (-1), in
        that order, up to the next key."""
        return self._reach(frame, step)[0]

    def _reach(self, frame: int, step: int) -> tuple[list[int], int | None]:
        """`span`, and the key it stops at (None: the shot's end)."""
        project = self.session.project
        frames = self.session.frames_list
        if project is None or frame not in frames:
            return [], None
        at = frames.index(frame)
        ahead = frames[at + 1 :] if step > 0 else frames[:at][::-1]
        out: list[int] = []
        for number in ahead:
            if number in project.keys:
                return out, number
            out.append(number)
        return out, None

    def carry(self, step: int) -> Job | None:
        """Carry the current frame's closing lines ``step`` (FORWARD, BACK)."""
        session = self.session
        project, engine = session.project, session.engine
        if project is None or engine is None:
            return None
        if not session.editable:
            session.status.emit("Wait until the shot is loaded")
            return None
        if session.jobs.exclusive is not None:
            session.status.emit(WAIT)
            return None
        frame = session.frame
        if not project.closing(frame):
            session.status.emit(
                f"Frame {frame} has no closing lines to carry (draw them with "
                "the Close gap tool, G)"
            )
            return None
        frames, key = self._reach(frame, step)
        if not frames:
            where = "after" if step > 0 else "before"
            session.status.emit(
                f"No frames {where} frame {frame} up to the next key to carry "
                "closing lines to"
            )
            return None
        towards = key if key is not None and project.closing(key) else None
        asked = _Asked(frame, step, project, project.snapshot(), engine, towards, key)
        where = "forward" if step > 0 else "back"
        job = Job(
            f"Carrying frame {frame}'s closing lines {where}…",
            lambda progress, cancelled: _work(asked, frames, progress, cancelled),
            edits_project=True,
        )
        job.succeeded.connect(lambda result: self._apply(asked, result))
        job.failed.connect(session.dialogs.error)
        job.cancelled.connect(
            lambda: session.status.emit(f"{LABEL}: cancelled; nothing changed")
        )
        # Exclusive: closing lines drawn meanwhile, a propagation or a gap
        # change wait for it.
        session.jobs.submit(job, exclusive=True)
        self.last_job = job
        return job

    def _apply(self, asked: _Asked, result: _Carried) -> None:
        """The lines carried, on the painting as it is now: nothing when
        the lines carried changed meanwhile (an undo); a frame whose own
        lines changed, or that lies past a key marked meanwhile, is left
        out."""
        session, project, frame = self.session, asked.project, asked.frame
        if project is not session.project or asked.engine is not session.engine:
            session.status.emit(f"{LABEL}: the shot changed meanwhile; nothing changed")
            return
        own = asked.snap.closing
        for key in (frame, asked.towards):
            if key is not None and project.closing(key) != own.get(key, NO_CLOSING):
                session.status.emit(
                    f"{LABEL}: frame {key}'s closing lines changed meanwhile; "
                    "nothing changed (carry them again)"
                )
                return
        within = set(self.span(frame, asked.step))
        edits: list[ClosingEdit] = []
        already: list[int] = []
        left: dict[int, str] = {}
        for done in result.frames:
            number, lines = done.number, done.lines.lines
            if number not in within:
                left[number] = "past a key marked meanwhile"
                continue
            if project.closing(number) != own.get(number, NO_CLOSING):
                left[number] = "its closing lines changed meanwhile"
                continue
            if lines == project.closing(number):
                if not (done.lines.lost_strokes or done.lines.lost_openings):
                    already.append(number)
                continue
            if project.revision == asked.snap.revision:
                fills = result.fills[number]  # worked out on the worker
            else:  # carried again from the painting as it is now
                try:
                    now = project.fills_for(number, done.before.regions)
                    fills = _fills_on(now, done)
                except CadmiumError as exc:
                    left[number] = str(exc)
                    continue
            edits.append(
                project.closing_edit(
                    number,
                    lines,
                    fills,
                    result.numberings[number],
                    f"{LABEL} from frame {frame}",
                    result.placed[number],
                )
            )
        if edits:
            edit = ClosingCarry(f"{LABEL} from frame {frame}", tuple(edits))
            session.undo_stack.push(EditCommand(session, edit))
        carried = [edit.frame for edit in edits]
        session.status.emit(_said(asked, result, carried, already, left))


def _work(
    asked: _Asked, frames: list[int], progress: Progress, cancelled: Cancelled
) -> _Carried | None:
    """The worker's side: the lines carried through ``frames`` in turn, up
    to a frame that cannot be read; put in between with those carried back
    from the key the carry goes up to, when it has lines."""
    snap, engine, own = asked.snap, asked.engine, asked.snap.closing
    steps = len(frames) * (2 if asked.towards is not None else 1)
    # The fills of each frame the chain went through (the next frame is
    # matched to them), and the edit's: each frame's fills and numbering
    # after its lines came.
    chained: dict[int, tuple[CarriedFrame, FillMap | None]] = {}
    carried_fills: dict[int, FillMap | None] = {}
    numberings: dict[int, Numbering] = {}
    placed: dict[int, Placement] = {}

    def fills_on(done: CarriedFrame) -> FillMap:
        fills = _fills_on(snap.fills_for(done.number, done.before.regions), done)
        chained[done.number] = (done, fills)
        return fills if fills is not None else FillMap.empty(done.after.regions.count)

    def trial(frame: Frame, with_lines: ClosingLines) -> Regions:
        # Tried on the drawing read once: not kept, nor cached.
        return engine.analyse_image(frame.number, frame.image, with_lines).regions

    followed: dict[int, ClosingLines] = {}

    def own_now(number: int) -> ClosingLines:
        """A frame's lines, where they go when its drawing was redrawn and
        they have not followed it yet (carried to, or from, it there)."""
        if number not in followed:
            lines = own.get(number, NO_CLOSING)
            _, found = engine.followed(number, lines, snap.placements.get(number))
            followed[number] = lines if found is None else found.lines
        return followed[number]

    def chain(key: int, through: list[int]) -> Iterator[CarriedFrame]:
        lines = own_now(key)
        start = engine.frame(key, lines)
        fills = snap.fills_for(key, start.regions)
        return carry_through(
            start,
            fills if fills is not None else FillMap.empty(start.regions.count),
            lines,
            through,
            analyse=engine.frame,
            segment=trial,
            own=own_now,
            fills_on=fills_on,
            matcher=engine.matcher,
        )

    done_steps = 0
    carried: list[CarriedFrame] = []
    between: list[int] = []
    back: dict[int, CarriedFrame] = {}
    if asked.towards is not None:
        try:
            for done in chain(asked.towards, frames[::-1]):
                if cancelled():
                    return None
                back[done.number] = done
                done_steps += 1
                progress(done_steps, steps)
        except CadmiumError:
            pass  # a frame unreadable: the carry forward stops there, and says so

    def keep(final: CarriedFrame) -> None:
        kept = chained.get(final.number)
        if kept is not None and kept[0] is final:
            carried_fills[final.number] = kept[1]
        else:
            now = snap.fills_for(final.number, final.before.regions)
            carried_fills[final.number] = _fills_on(now, final)
        # Packed here, not on the GUI thread (tens of ms at 4K).
        numberings[final.number] = final.after.regions.numbering
        placed[final.number] = Placement.of(final.after)
        carried.append(final)

    try:
        for done in chain(asked.frame, frames):
            if cancelled():
                return None
            towards = asked.towards if asked.towards is not None else done.number
            final, blended = blend_carried(
                done,
                back.get(done.number),
                (done.number - asked.frame) / (towards - asked.frame),
                analyse=engine.frame,
                segment=trial,
            )
            if blended:
                between.append(done.number)
            keep(final)
            done_steps += 1
            progress(done_steps, steps)
    except CadmiumError as exc:  # a frame unreadable: carried up to it
        unread = [n for n in frames if n not in {c.number for c in carried}]
        stop = (unread[0] if unread else frames[-1], str(exc))
        return _Carried(
            tuple(carried), carried_fills, numberings, placed, stop, tuple(between)
        )
    # Every line stopped on the way: from the frame where the last did, the
    # frames the next key's lines reached going back take those (as an
    # in-betweener would).
    last = carried[-1] if carried else None
    if (
        last is not None
        and last.lines.lost_strokes
        and not last.lines.carried
        and last.number in back
    ):
        carried.pop()  # it has nothing of this key's: the other key's instead
    taken_back = []
    for number in frames[len(carried) :]:
        done = back.get(number)
        if done is not None and done.lines.lines != done.before_lines:
            keep(done)
            taken_back.append(number)
    return _Carried(
        tuple(carried),
        carried_fills,
        numberings,
        placed,
        between=tuple(between),
        taken_back=tuple(taken_back),
    )


def _fills_on(fills: FillMap | None, done: CarriedFrame) -> FillMap | None:
    """A frame's fills (on its regions before the lines came; None: it has
    none) on its regions after: each side of a region parted keeps its
    fill, flagged for review where painted (propagation paints it from the
    keys)."""
    if fills is None:
        return None
    after = resegment_fills(fills, done.before.regions, done.after.regions)
    had = set(done.before_lines.strokes)
    new = [s for s in done.lines.lines.strokes if s not in had]
    sides = beside(done.after.regions.labels, new)
    flagged = after.flagged.copy()
    flagged[sides] |= after.painted[sides]
    return after.replace(flagged=flagged)


def _said(
    asked: _Asked,
    result: _Carried,
    carried: list[int],
    already: list[int],
    left: dict[int, str],
) -> str:
    """What the carrying did, in one line."""
    frame = asked.frame
    parts = []
    if carried:
        ours = [n for n in carried if n not in result.taken_back]
        theirs = [n for n in carried if n in result.taken_back]
        said = []
        if ours:
            between = ""
            if set(result.between) & set(ours):
                between = f", in between with key {asked.towards}'s"
            said.append(
                f"Frame {frame}'s closing lines carried to {frames_text(ours)}{between}"
            )
        if theirs:
            whose = f"key {asked.towards}'s" if ours else f"Key {asked.towards}'s lines"
            said.append(f"{whose} carried back to {frames_text(theirs)}")
        parts.append(
            ", ".join(said)
            + " (Ctrl+Z undoes it); propagate to paint the regions they part"
        )
        if asked.key is not None and asked.towards is None:
            # Propagation paints the parts from both keys: key N has one.
            parts.append(
                f"key {asked.key} has no closing lines (where it shows the shape, "
                "part it there too, so both keys paint its sides)"
            )
    elif not already:
        parts.append(f"No closing lines carried from frame {frame}")
    if already:
        whose = "they" if carried else f"Frame {frame}'s closing lines"
        parts.append(f"{whose} are on {frames_text(already)} already")
    for done in result.frames:
        if done.number in left:
            continue
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
