"""The open document and what every panel shares: the project, its engine,
the current frame and style, the undo stack, the job runner and the frames
loaded for display.

Panels listen to the session's signals and call its methods; they never talk
to each other. Edits reach the project only through `Session.push`, which
wraps them in a thin `QUndoCommand` over the project's own history.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from cadmium_app.dialogs import Dialogs, by_frame, frames_text
from cadmium_app.frames import FrameService
from cadmium_app.jobs import JobRunner
from cadmium_app.settings import AppSettings
from cadmium_app.watch import ShotWatcher
from engine.closing_lines import ClosingLines
from engine.closing_redraw import Followed, Placement
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.history import (
    ClosingCarry,
    ClosingEdit,
    Edit,
    FillEdit,
    GapEdit,
    PaletteEdit,
)
from engine.matching import Frame
from engine.project import Project
from engine.regions import Regions

log = logging.getLogger(__name__)


class EditCommand(QUndoCommand):
    """A project edit on the Qt undo stack; the project keeps the diffs."""

    def __init__(self, session: Session, edit: Edit) -> None:
        super().__init__(edit.label)
        self.session = session
        self.edit = edit
        self._done = False

    def redo(self) -> None:
        project = self.session.project
        assert project is not None
        if not self._done:
            project.commit(self.edit)
            self._done = True
            self.session.notify(self.edit)
        else:
            redone = project.redo()
            if redone is not self.edit:
                log.error("undo stacks out of step (redo %s)", self.edit.label)
            self.session.notify(self.edit)
            self.session.revisit(self.edit, "Redid")

    def undo(self) -> None:
        project = self.session.project
        assert project is not None
        undone = project.undo()
        if undone is not self.edit:
            log.error("undo stacks out of step (undo %s)", self.edit.label)
        self.session.notify(self.edit)
        self.session.revisit(self.edit, "Undid")

    def id(self) -> int:
        stroke = isinstance(self.edit, FillEdit) and self.edit.stroke > 0
        return 1 if stroke else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not (
            isinstance(other, EditCommand)
            and isinstance(self.edit, FillEdit)
            and isinstance(other.edit, FillEdit)
            and other.edit.stroke == self.edit.stroke
        ):
            return False
        project = self.session.project
        assert project is not None
        if not project.history.can_merge_last_two():
            return False  # the frame's regions changed mid-stroke
        self.edit = project.history.merge_last_two()
        return True


class FrameProblems(QObject):
    """Problems with frames found close together (the timeline reading a
    shot's thumbnails), said in one message after a moment, not a box each:
    ``one(frame, reason)`` for a single frame, ``many("3 frames")`` before
    the list of frames and reasons otherwise. In an error box, or on the
    status bar when ``on_status``."""

    def __init__(
        self,
        session: Session,
        one: Callable[[int, str], str],
        many: Callable[[str], str],
        *,
        on_status: bool = False,
    ) -> None:
        super().__init__(session)
        self._session, self._one, self._many = session, one, many
        self._on_status = on_status
        self._found: dict[int, str] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self._say)

    def add(self, frame: int, reason: str) -> None:
        self._found[frame] = reason
        self._timer.start()

    def _say(self) -> None:
        found, self._found = self._found, {}
        if len(found) == 1:
            [(frame, reason)] = found.items()
            message = self._one(frame, reason)
        elif found:
            listed = self._many(f"{len(found)} frames")
            message = f"{listed} ({by_frame(found)})"
        else:
            return
        if self._on_status:
            self._session.status.emit(message)
        else:
            self._session.dialogs.error(message)


class Session(QObject):
    project_changed = Signal()
    # The shot's frames changed: drawings drawn or deleted on disk.
    frames_listed = Signal()
    fills_changed = Signal(object)  # tuple of frame numbers
    palette_changed = Signal()
    frame_changed = Signal(int)
    style_changed = Signal(int)
    modified_changed = Signal(bool)
    frame_analysed = Signal(int)  # a frame's regions are ready, or failed
    status = Signal(str)
    gap_changed = Signal(int)  # the project's gap, by a gap edit or its undo
    # An undo or redo of a fill edit on one frame: that frame and the regions
    # whose fills it changed (int64 array).
    edit_revisited = Signal(int, object)

    def __init__(
        self, settings: AppSettings, dialogs: Dialogs, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.dialogs = dialogs
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(settings.undo_limit)
        self.jobs = JobRunner(self)
        self.frames = FrameService(self, cache=settings.frame_cache)
        self.frames.thumb_width = settings.thumbnail_width
        self.frames.frame_ready.connect(self._on_frame_ready)
        self.frames.failed.connect(self._on_frame_failed)
        self.frames.regions_work = self._carry_ahead
        self.frames.closing_of = self._closing_of
        self.frames.placement_of = self._placement_of
        self.frames.lines_followed = self._follow_redraw
        self.frames.regions_seen.connect(self._on_regions_seen)
        # Saved fills of frames analysed for their thumbnails that cannot be
        # fitted, said in one message.
        self._unfitted = FrameProblems(
            self,
            lambda n, why: f"Frame {n} is unpainted: its saved fills ({why})",
            lambda listed: f"{listed} are unpainted: their saved fills",
        )
        # Frames found unreadable close together (the timeline reading a
        # shot's thumbnails) are said in one message, not a box each.
        self._unreadable = FrameProblems(
            self, lambda _n, why: why, lambda listed: f"{listed} cannot be read"
        )
        self._moved_parts = FrameProblems(
            self,
            lambda n, what: (
                f"Frame {n}: {what} flagged to check: its new drawing moved "
                "parts away from where they were painted, or joined parts "
                "painted in different colours (N goes there; A keeps the colour "
                "shown, S offers the other)"
            ),
            lambda listed: (
                f"{listed} have regions flagged to check: parts of their new "
                "drawings moved or joined (N goes there)"
            ),
            on_status=True,
        )
        # Closing lines moved with a frame's new drawing (frames redrawn
        # together are said together).
        self._followed = FrameProblems(
            self,
            lambda n, what: f"Frame {n} was redrawn: its closing lines {what}",
            lambda listed: f"{listed} were redrawn: their closing lines moved",
            on_status=True,
        )
        self.project: Project | None = None
        self.engine: ShotEngine | None = None
        # Drawings redrawn, drawn and deleted on disk while the shot is open.
        self.watcher = ShotWatcher(self)
        self.frame = 0
        self.style = -1
        self.saved_revision = 0
        self.editable = False
        self._modified = False
        self._strokes = itertools.count(1)

    # -- the document
    def set_project(
        self, project: Project, engine: ShotEngine, *, saved: bool = True
    ) -> None:
        self.undo_stack.clear()
        self.project, self.engine = project, engine
        self.frames.set_engine(engine)
        engine.make_matcher_ahead()
        self.watcher.watch(project.shot)
        self.frames.queue_label_thumbs(project.painted_frames)
        self.saved_revision = project.revision if saved else -1
        self.style = 0 if len(project.palette) else -1
        self.frame = project.shot.frames[0]
        self.editable = True
        self.project_changed.emit()
        self.palette_changed.emit()
        self.style_changed.emit(self.style)
        self.frame_changed.emit(self.frame)
        self._want_frames()
        self.update_modified()

    def set_engine(
        self,
        engine: ShotEngine,
        label_thumbs: Mapping[int, np.ndarray] | None = None,
    ) -> None:
        """A new analysis of the same shot (another gap). ``label_thumbs``:
        thumbnail regions already computed with it; the other painted frames'
        are computed in the background."""
        self.engine = engine
        self.frames.set_engine(engine)
        engine.make_matcher_ahead()
        self.frames.add_label_thumbs(dict(label_thumbs or {}))
        self._want_frames()
        if self.project is not None:
            self.frames.queue_label_thumbs(self.project.painted_frames)

    @property
    def modified(self) -> bool:
        return self.project is not None and self.project.revision != self.saved_revision

    def mark_saved(self, revision: int) -> None:
        self.saved_revision = revision
        self.update_modified()

    def update_modified(self) -> None:
        modified = self.modified
        if modified != self._modified:
            self._modified = modified
            self.modified_changed.emit(modified)

    # -- frames
    @property
    def frames_list(self) -> list[int]:
        return self.project.shot.frames if self.project is not None else []

    def set_frame(self, number: int) -> None:
        if self.project is None or number not in self.project.shot.line:
            return
        if number != self.frame:
            self.frame = number
            self.frame_changed.emit(number)
            self._want_frames()

    def step(self, delta: int) -> None:
        frames = self.frames_list
        if not frames:
            return
        index = frames.index(self.frame) if self.frame in frames else 0
        self.set_frame(frames[min(max(index + delta, 0), len(frames) - 1)])

    def go_first(self) -> None:
        if self.frames_list:
            self.set_frame(self.frames_list[0])

    def go_last(self) -> None:
        if self.frames_list:
            self.set_frame(self.frames_list[-1])

    def neighbours(self, number: int) -> tuple[int | None, int | None]:
        frames = self.frames_list
        if number not in frames:
            return None, None
        i = frames.index(number)
        return (
            frames[i - 1] if i > 0 else None,
            frames[i + 1] if i + 1 < len(frames) else None,
        )

    def current(self) -> Frame | None:
        """The analysed current frame, when its regions are ready."""
        return self.frames.get(self.frame)

    def current_or_say(self, what: str) -> Frame | None:
        """The analysed current frame; None, and the status bar says why
        (its regions being found, or the frame unreadable), when it is not
        ready for ``what`` ("paint": "…; nothing to paint")."""
        frame = self.current()
        if frame is None:
            problem = self.frames.errors.get(self.frame)
            self.status.emit(
                f"This frame cannot be read; nothing to {what}"
                if problem is not None
                else "Still finding this frame's regions…"
            )
        return frame

    def _want_frames(self) -> None:
        previous, following = self.neighbours(self.frame)
        ahead = [n for n in (following, previous) if n is not None]
        self.frames.want(self.frame, ahead)

    def _on_frame_ready(self, number: int) -> None:
        frame = self.frames.get(number)
        if frame is not None:
            self._fit(number, frame.regions)
        self.frame_analysed.emit(number)

    def _adopt(self, number: int) -> None:
        """Fit the frame's fills to its regions, when they are loaded."""
        frame = self.frames.get(number)
        if frame is not None:
            self._fit(number, frame.regions)

    def _on_regions_seen(self, number: int, regions: Regions) -> None:
        """A painted frame analysed for its thumbnail: its fills fitted to
        its regions (carried, when it was redrawn), so the thumbnail shows
        each part's own colour; those that cannot be are said together."""
        self._fit(number, regions, self._unfitted.add)

    def _fit(
        self,
        number: int,
        regions: Regions,
        failed: Callable[[int, str], None] | None = None,
    ) -> None:
        """`Project.adopt`; the panels hear of fills carried to the regions
        (counts may change), the status bar of parts flagged because they
        moved. A failure goes to ``failed``, or a message."""
        project = self.project
        if project is None:
            return
        before = project.fills(number)
        try:
            fitted = project.adopt(number, regions)
        except CadmiumError as exc:
            if failed is not None:
                failed(number, str(exc))
            else:
                self.dialogs.error(
                    f"Frame {number} is unpainted: its saved fills ({exc})"
                )
            fitted = None
        if fitted is not before:
            self.fills_changed.emit((number,))
        moved = project.take_moved_parts(number)
        if moved:
            self._moved_parts.add(
                number, "1 region" if moved == 1 else f"{moved} regions"
            )

    def _carry_ahead(self, number: int) -> Callable[[Regions], None] | None:
        return self.project.carry_ahead(number) if self.project else None

    def _closing_of(self, number: int) -> ClosingLines:
        return self.project.closing(number) if self.project else ClosingLines()

    def _placement_of(self, number: int) -> Placement | None:
        return self.project.placement(number) if self.project else None

    def _follow_redraw(
        self, number: int, lines: ClosingLines, followed: Followed
    ) -> None:
        """The frame's closing lines moved with its new drawing (`frames`
        analysed it with them there): the project takes them, and the
        status bar says so, and which part no region now."""
        project = self.project
        if project is None or not project.follow_redraw(number, lines, followed):
            return
        if followed.lines == lines:
            return  # none moved: only where they lie is noted
        # Not an edit: an undo and redo back to the revision saved would
        # read as saved, with the lines moved since.
        self.saved_revision = -1
        self.update_modified()
        lost = followed.unparted
        what = "moved with it"
        if lost:
            which = "1 of them parts" if lost == 1 else f"{lost} of them part"
            what += f"; {which} no region now: draw it again (Close gap, G)"
        self._followed.add(number, what)

    def _on_frame_failed(self, number: int, message: str) -> None:
        self._unreadable.add(number, message)
        self.frame_analysed.emit(number)  # done, with nothing: views say so

    # -- style
    def set_style(self, index: int) -> None:
        if self.project is None or not -1 <= index < len(self.project.palette):
            return
        if index != self.style:
            self.style = index
            self.style_changed.emit(index)

    def step_style(self, step: int) -> None:
        """The style ``step`` places on in the palette, round its ends: the
        keyboard's way through the palette."""
        if self.project is not None and len(self.project.palette):
            self.set_style((max(self.style, 0) + step) % len(self.project.palette))

    def _follow_style(self, edit: PaletteEdit) -> None:
        """Keep the chosen style chosen when a deletion (or its undo) moves
        it in the palette; a deleted one gives way to the style after it."""
        assert self.project is not None
        style, deleted = self.style, edit.deleted
        if deleted is not None:
            if self.project.palette is edit.after and style > deleted:
                style -= 1
            elif self.project.palette is edit.before:
                # The deleted style back; none chosen (it was the only one).
                style = deleted if style < 0 else style + (style >= deleted)
        self.set_style(min(style, len(self.project.palette) - 1))

    # -- edits
    def new_stroke(self) -> int:
        return next(self._strokes)

    def push(self, edit: Edit | None) -> bool:
        if edit is None or self.project is None:
            return False
        if not self.editable:
            self.status.emit("Wait until the shot is loaded")
            return False
        self.undo_stack.push(EditCommand(self, edit))
        return True

    def make_engine(self, project: Project, gap: int | None = None) -> ShotEngine:
        """The analysis of the project's shot at gap ``gap`` (default: the
        project's), with these settings."""
        return ShotEngine(
            shot=project.shot,
            gap=project.gap if gap is None else gap,
            matcher=self.settings.matcher,
            device=self.settings.device,
            cache_frames=self.settings.frame_cache,
        )

    def revisit(self, edit: Edit, done: str) -> None:
        """After an undo or redo (``done``: "Undid" or "Redid") of a fill
        edit or a closing-line change on one frame: show that frame, so the
        change is seen where it happened (a review goes on to the next
        frame, and Ctrl+Z there changed the frame before, out of sight),
        and say what was done; of lines carried to several frames, say
        which; of any other edit, what it was."""
        if isinstance(edit, ClosingCarry):
            self.status.emit(f"{done} {edit.label} ({frames_text(edit.frames)})")
            return
        if isinstance(edit, ClosingEdit):
            frame = edit.frame
            if self.project is None or frame not in self.project.shot.line:
                self.status.emit(
                    f"{done} {edit.label} on frame {frame} (deleted on disk)"
                )
                return
            self.set_frame(frame)
            self.status.emit(f"{done} {edit.label} on frame {frame}")
            return
        if not isinstance(edit, FillEdit) or len(edit.frames) != 1:
            # A palette or gap change, a propagation: nowhere to go to,
            # but said all the same.
            frames = edit.frames if isinstance(edit, FillEdit) else ()
            where = f" ({len(frames)} frames)" if frames else ""
            self.status.emit(f"{done} {edit.label}{where}")
            return
        (frame,) = edit.frames  # a fill, or marking a key
        if self.project is None or frame not in self.project.shot.line:
            self.status.emit(
                f"{done} {edit.label} on frame {frame} (deleted on disk: its "
                "paint is kept out of sight)"
            )
            return
        self.set_frame(frame)
        self.status.emit(f"{done} {edit.label} on frame {frame}")
        regions = np.zeros(0, np.int64)
        if edit.diffs and self.project is not None:
            regions = self.project.regions_changed(edit.diffs[0])
        self.edit_revisited.emit(frame, regions)

    def notify(self, edit: Edit) -> None:
        """Tell the panels what an edit (or its undo) changed."""
        if isinstance(edit, ClosingEdit | ClosingCarry):
            # The frame is segmented anew, before its fills (numbered by the
            # new regions) are fitted to any: those loaded are the old ones.
            for number in edit.frames:
                self.frames.reanalyse(number)
        if not isinstance(edit, GapEdit):
            # Fills it puts back may be numbered by a drawing the frame had
            # before it was redrawn: fit them to the regions loaded now.
            for number in edit.frames:
                self._adopt(number)
        if isinstance(edit, GapEdit) and self.project is not None:
            # Every frame's regions change: a new analysis of the shot.
            project = self.project
            if self.engine is None or self.engine.gap != project.gap:
                self.set_engine(self.make_engine(project))
            self.gap_changed.emit(project.gap)
            self.fills_changed.emit(tuple(self.frames_list))
        elif isinstance(edit, PaletteEdit):
            if self.project is not None:
                self._follow_style(edit)
            self.palette_changed.emit()
            if edit.frames:
                self.fills_changed.emit(edit.frames)
        else:
            self.fills_changed.emit(edit.frames)
        self.update_modified()
