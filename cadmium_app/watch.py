"""The open shot's line folder, watched: clean-up goes on while a shot is
painted, so drawings are redrawn, drawn and deleted on disk while it is open.

Cadmium looks when the watcher sees the folder or a frame change (a burst
of saves looked at once, after a moment) and when it is switched back to,
for disks the watcher cannot see into. A redrawn frame is read again
(`FrameService.check_files`), its paint following the new lines. A frame
drawn joins the timeline; a frame deleted leaves it, its paint kept out of
sight should it come back (`Project.relist`). The status bar says what was
found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication

from engine.errors import ShotError
from engine.shot import Shot, rescan

if TYPE_CHECKING:
    from cadmium_app.session import Session

# At most this many frame numbers in a message, then how many more.
SHOWN = 6


def frames_text(frames: list[int] | tuple[int, ...]) -> str:
    """ "frame 4", "frames 4, 5 and 7", "frames 1, 2, 3, 4, 5, 6 and 9 more"."""
    if len(frames) == 1:
        return f"frame {frames[0]}"
    if len(frames) > SHOWN:
        listed = ", ".join(str(n) for n in frames[:SHOWN])
        return f"frames {listed} and {len(frames) - SHOWN} more"
    return f"frames {', '.join(str(n) for n in frames[:-1])} and {frames[-1]}"


def deleted_meanwhile(shot: Shot, failure: str) -> str | None:
    """ "frame 6 deleted on disk while it ran", when a task on ``shot`` (its
    snapshot of it) stopped with ``failure`` naming a frame's file now gone
    from disk; else None (it stopped for another reason)."""
    gone = [n for n in shot.frames if shot.gone(n) and str(shot.line[n]) in failure]
    return f"{frames_text(gone)} deleted on disk while it ran" if gone else None


def relisted_text(added: list[int], removed: list[int], painted: set[int]) -> str:
    """What the status bar says of frames drawn and deleted on disk; those
    in ``painted`` have paint: kept from before they were deleted (added),
    kept should they come back (removed)."""
    said = []
    new = [n for n in added if n not in painted]
    back = [n for n in added if n in painted]
    if new:
        said.append(f"{frames_text(new)} drawn on disk: added to the timeline")
    if back:
        said.append(f"{frames_text(back)} back on disk, with the paint kept for it")
    if removed:
        gone = f"{frames_text(removed)} deleted on disk: out of the timeline"
        if painted & set(removed):
            gone += "; paint is kept should it come back"
        said.append(gone)
    text = "; ".join(said)
    return text[0].upper() + text[1:]


class ShotWatcher(QObject):
    """Looks at the session's shot folder for drawings changed on disk."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self._watcher = QFileSystemWatcher(self)
        self._look = QTimer(self)
        self._look.setSingleShot(True)
        self._look.setInterval(300)
        self._look.timeout.connect(self.look)
        self._watcher.directoryChanged.connect(lambda _p: self._look_soon())
        self._watcher.fileChanged.connect(lambda _p: self._look_soon())
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_application_state)
        # The last reason the folder could not be listed, said once.
        self._problem: str | None = None
        # A look put off until the tasks running end.
        self._after_jobs = False
        session.jobs.job_finished.connect(self._on_job_finished)
        session.frames.redrawn.connect(self._on_redrawn)

    def watch(self, shot: Shot) -> None:
        """Watch ``shot``'s line folder and frames (anew: a file saved by
        replacing it is a new file)."""
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        paths = [str(shot.root / "line"), *(str(p) for p in shot.line.values())]
        self._watcher.addPaths(paths)

    def _look_soon(self) -> None:
        """Look after a moment (a burst of changes looked at once)."""
        self._look.start()

    def look(self) -> None:
        """Take in the frames drawn, deleted and redrawn on disk since the
        last look. While a task runs (propagation, a gap change, an export)
        the frames it works through stay as they are; those drawn or deleted
        are taken in when it ends."""
        session = self.session
        project = session.project
        if project is None:
            return
        relisted = False
        if session.jobs.running:
            self._after_jobs = True
        else:
            self._after_jobs = False
            relisted = self._relist()
        if session.frames.check_files() or relisted:
            self.watch(project.shot)

    def _on_job_finished(self, _job: object) -> None:
        if self._after_jobs and not self.session.jobs.running:
            self._look_soon()

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.look()

    def _relist(self) -> bool:
        """The project, its engine and the frames shown follow the frames
        the line folder holds now; True when they changed."""
        session = self.session
        project, engine = session.project, session.engine
        if project is None or engine is None:
            return False
        try:
            shot = rescan(project.shot)
        except ShotError as exc:
            # Two files of one number while a save is under way, a folder
            # unmounted: the frames stay as they were; said once.
            if str(exc) != self._problem:
                self._problem = str(exc)
                session.status.emit(f"{exc}: the timeline is left as it was")
            return False
        self._problem = None
        if shot is project.shot:
            return False
        added, removed = project.relist(shot)
        engine.set_shot(shot)
        session.frames.relist(added, removed)
        if session.frame in removed:
            later = [n for n in shot.frames if n > session.frame]
            session.set_frame(later[0] if later else shot.frames[-1])
        session.frames_listed.emit()
        if added or removed:
            painted = {n for n in added + removed if project.fills(n) is not None}
            # Paint back on a frame's thumbnail, from its regions.
            session.frames.queue_label_thumbs(sorted(painted & set(added)))
            session.status.emit(relisted_text(added, removed, painted))
        return True

    def _on_redrawn(self, frames: tuple[int, ...]) -> None:
        """Say which drawings are read again; painted ones show their
        colours again on the timeline once analysed."""
        session = self.session
        project = session.project
        painted = [n for n in frames if project and n in project.painted_frames]
        session.frames.queue_label_thumbs(painted)
        if len(frames) == 1:
            which = f"Frame {frames[0]}'s drawing"
            paint = "; its paint follows the new lines" if painted else ""
        else:
            which = f"The drawings of {frames_text(frames)}"
            paint = "; paint follows the new lines" if painted else ""
        session.status.emit(f"{which} changed on disk: read again{paint}")
