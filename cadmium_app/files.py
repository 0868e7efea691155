"""Opening shots and projects, saving, autosave, recovery and export.

Saves run on a worker thread from an immutable snapshot (see
engine.project for why a killed save loses nothing). Autosave writes beside
a saved project (``.NAME.cadmium.autosave``) or, for a shot never saved as a
project, in the application's data folder; opening either offers to recover
an autosave newer than what is on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QLockFile,
    QObject,
    QSettings,
    QStandardPaths,
    QTimer,
    Signal,
)

from cadmium_app.dialogs import frames_text
from cadmium_app.frames import small_labels
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.outputs import LAYERS, write_outputs
from cadmium_app.session import Session
from cadmium_app.watch import deleted_meanwhile
from engine.errors import CadmiumError
from engine.facade import ShotEngine, opening_gap
from engine.fills import FillMap
from engine.history import History
from engine.imageio import resolved
from engine.palette import Palette, default_palette
from engine.project import (
    PROJECT_SUFFIX,
    Project,
    autosave_path_for,
    data_dir_for,
    load_project,
    project_file,
    remove_autosave,
    save_project,
)
from engine.regions import Numbering
from engine.shot import open_shot

log = logging.getLogger(__name__)


class FileController(QObject):
    opened = Signal()  # a shot or project is open and its keys are read
    saved = Signal(object)  # the project file's Path
    close_requested = Signal()

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        # What to do once the save under way lands (close, open another).
        self._after_save: Callable[[], object] | None = None
        self._autosave_warned = False  # autosave failures: one message
        self._save_lock = threading.Lock()  # saves and autosaves share files
        # Saves landed so far (counted under the lock): an autosave queued
        # before a save lands must not write after it (see `autosave`).
        self._saves_landed = 0
        self._save_job: Job | None = None
        self._autosaved_revision = -1
        self._autosave_job: Job | None = None
        # The lock on the open work's autosave (see `_claim`).
        self._held: QLockFile | None = None
        # Locks taken for saves under way, one entry a save (see `_save_to`).
        self._saving: list[QLockFile] = []
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        seconds = session.settings.autosave_seconds
        if seconds > 0:
            self.timer.start(seconds * 1000)

    # -- where things go
    def autosave_dir(self) -> Path:
        configured = self.session.settings.autosave_dir
        if configured:
            return Path(configured)
        base = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppDataLocation
        )
        return Path(base) / "autosave"

    def autosave_files(self, project: Project) -> tuple[Path, Path]:
        """(autosave file, its fill folder) for a project."""
        if project.path is not None:
            return autosave_path_for(project.path), data_dir_for(project.path)
        path = self.autosave_dir() / f"{_digest(project.shot.root)}{PROJECT_SUFFIX}"
        return path, data_dir_for(path)

    def _claim(self, project: Project) -> QLockFile | None:
        """The lock on the project's autosave, taken for this window; None
        when another running Cadmium holds it (that one has the shot or
        project open: a second window's recovery offer would delete its
        autosave, and its saves remove the autosave's fill files). Where no
        lock can be made (a folder that cannot be written) the work opens
        unlocked: nothing can be autosaved there either."""
        return self._lock_on(self.autosave_files(project)[0])

    def _lock_on(self, autosave: Path) -> QLockFile | None:
        """`_claim`'s lock, on the autosave file ``autosave``."""
        # One name however the path is spelt (relative, through a link):
        # this window's own lock, taken again, would read as another's.
        name = f"{resolved(autosave)}.lock"
        for ours in (self._held, *self._saving):
            if ours is not None and ours.fileName() == name:
                return ours
        lock = QLockFile(name)
        lock.setStaleLockTime(0)  # stale only when its process is gone
        with contextlib.suppress(OSError):
            autosave.parent.mkdir(parents=True, exist_ok=True)
        if lock.tryLock(0) or lock.error() != QLockFile.LockError.LockFailedError:
            return lock
        return None

    def _open_elsewhere(self, where: Path, saving: bool = False) -> None:
        why = (
            "saving over it would delete that window's autosave"
            if saving
            else "two windows would each take the other's autosave"
        )
        self.session.dialogs.error(
            f"{where} is open in another Cadmium window: close it there first ({why})"
        )

    def _let_go(self, lock: QLockFile) -> None:
        """A lock taken for work that did not open (or save) after all."""
        if lock is not self._held and lock not in self._saving:
            lock.unlock()

    def _hold(self, lock: QLockFile | None) -> None:
        """Keep ``lock`` for the work now open; let the one held go, unless
        a save under way still needs it (it lets it go when it lands)."""
        held = self._held
        if held is not None and held is not lock and held not in self._saving:
            held.unlock()
        self._held = lock

    # -- where the animator was: the frame and style, per shot or project
    def _place_key(self, project: Project) -> str:
        where = project.path if project.path is not None else project.shot.root
        return f"places/{_digest(where)}"

    def _remember_place(self) -> None:
        """Keep the frame shown and the style chosen, for the next time this
        shot or project opens (saving, closing or opening another)."""
        project = self.session.project
        if project is not None:
            place = f"{self.session.frame},{self.session.style}"
            QSettings().setValue(self._place_key(project), place)

    def _restore_place(self) -> None:
        project = self.session.project
        if project is None:
            return
        place = QSettings().value(self._place_key(project))
        try:
            frame, style = (int(v) for v in str(place).split(","))
        except ValueError:  # none kept, or not ours
            return
        # A frame deleted since, or a style: left where opening puts them.
        self.session.set_frame(frame)
        self.session.set_style(style)

    # -- opening
    def open_path(self, path: Path) -> bool:
        if path.suffix == PROJECT_SUFFIX and path.is_file():
            return self.open_project(path)
        return self.open_shot(path)

    def may_replace(self, then: Callable[[], object]) -> bool:
        """True when the open work may be replaced now. With unsaved changes
        the animator chooses: save (``then`` runs once the save lands),
        discard, or cancel. Its autosave goes only once it is replaced
        (`_replacing`), so a shot that then fails to open loses nothing."""
        project = self.session.project
        if project is None or not self.session.modified:
            return True
        answer = self.session.dialogs.unsaved_changes()
        if answer == "discard":
            return True
        if answer == "save":
            # A run landing after the save would leave the work unsaved
            # again, and the animator asked a second time.
            self.session.jobs.cancel_project_edits()
            if self.save() is not None:
                self._after_save = then
        return False

    def ask_open_shot(self) -> None:
        path = self.session.dialogs.open_folder("Open shot folder")
        if path is not None:
            self.open_shot(path)

    def ask_open_project(self) -> None:
        path = self.session.dialogs.open_project_file()
        if path is not None:
            self.open_project(path)

    def _engine(self, project: Project) -> ShotEngine:
        engine = self.session.make_engine(project)
        engine.check_sizes(skip_unreadable=True)
        return engine

    def open_shot(self, path: Path) -> bool:
        """Open a shot folder; its color/ frames become keys (read off the GUI
        thread). Bad input shows a message and leaves the current work open
        (before asking about unsaved work, which is never replaced without
        asking)."""
        settings = self.session.settings
        try:
            shot = open_shot(path)
            gap = opening_gap(shot, settings.gap)
            palette = shot.meta.palette or default_palette()
            project = Project(
                shot=shot,
                palette=palette,
                gap=gap,
                history=History(limit=settings.undo_limit),
            )
            engine = self._engine(project)
        except (CadmiumError, ValueError, TypeError) as exc:
            self.session.dialogs.error(f"Cannot open {path}: {exc}")
            return False
        lock = self._claim(project)
        if lock is None:
            engine.close()
            self._open_elsewhere(path)
            return False
        if not self.may_replace(lambda: self.open_shot(path)):
            engine.close()
            self._let_go(lock)
            return False
        self._replacing()
        self._hold(lock)
        self.session.set_project(project, engine)
        self._autosaved_revision = project.revision
        keys = sorted(shot.color)
        if not keys:
            self._finish_open(project)
            return True
        self.session.editable = False
        step = self.session.frames.step

        def work(
            progress: Progress, cancelled: Cancelled
        ) -> tuple[
            dict[int, FillMap], Palette, list[str], list[str], dict[int, np.ndarray]
        ]:
            """Every key that can be read; one that cannot (a truncated
            file) is skipped and named, the others still load; what looks
            wrong with a key that loads is noted. With each key, its
            timeline thumbnail's regions (analysed already)."""
            fills: dict[int, FillMap] = {}
            thumbs: dict[int, np.ndarray] = {}
            numberings: dict[int, Numbering] = {}
            skipped: list[str] = []
            notes: list[str] = []
            known = palette
            for done, key in enumerate(keys, start=1):
                try:
                    fills[key], known = engine.key_fills(key, known, notes.append)
                    frame = engine.frame(key)
                    thumbs[key] = small_labels(frame, step)
                    numberings[key] = frame.regions.numbering
                except CadmiumError as exc:
                    skipped.append(f"key {key} skipped: {exc}")
                progress(done, len(keys))
            return fills, known, skipped, notes, thumbs, numberings

        job = Job(f"Reading {len(keys)} painted keys…", work, cancellable=False)
        job.succeeded.connect(lambda result: self._keys_read(project, *result))
        job.failed.connect(self.session.dialogs.error)
        job.finished.connect(lambda: self._finish_open(project))
        self.session.jobs.submit(job)
        return True

    def _keys_read(
        self,
        project: Project,
        fills: dict[int, FillMap],
        palette: Palette,
        skipped: list[str],
        notes: list[str],
        thumbs: dict[int, np.ndarray],
        numberings: dict[int, Numbering],
    ) -> None:
        if self.session.project is not project:
            return
        if skipped:
            self.session.dialogs.error("; ".join(skipped))
        if notes:
            self.session.dialogs.info("\n\n".join(notes))  # one paragraph a key
        project.palette = palette
        for key, key_fills in fills.items():
            project.set_fills(key, key_fills, numberings.get(key))
        project.keys |= set(fills)
        self.session.palette_changed.emit()
        self.session.frames.add_label_thumbs(thumbs)
        self.session.fills_changed.emit(tuple(fills))

    def _finish_open(self, project: Project) -> None:
        if self.session.project is not project:
            return
        self.session.editable = True
        self.session.mark_saved(project.revision)
        self._autosaved_revision = project.revision
        self.opened.emit()
        self._offer_recovery(project)
        self._restore_place()

    def open_project(self, path: Path) -> bool:
        try:
            project = load_project(path, history_limit=self.session.settings.undo_limit)
            engine = self._engine(project)
        except CadmiumError as exc:
            self.session.dialogs.error(str(exc))
            return False
        except Exception as exc:  # a file damaged in a way not foreseen
            log.exception("opening %s", path)
            self.session.dialogs.error(f"{path}: cannot open ({exc!r})")
            return False
        lock = self._claim(project)
        if lock is None:
            engine.close()
            self._open_elsewhere(path)
            return False
        if not self.may_replace(lambda: self.open_project(path)):
            engine.close()
            self._let_go(lock)
            return False
        self._replacing()
        self._hold(lock)
        self.session.set_project(project, engine)
        self._autosaved_revision = project.revision
        self.opened.emit()
        if project.lost_frames:
            frames = ", ".join(map(str, project.lost_frames))
            self.session.dialogs.error(
                f"{path.name}: the saved fills of frame(s) {frames} are missing "
                "or damaged; they open unpainted"
            )
        self._offer_recovery(project)
        self._restore_place()
        return True

    def _offer_recovery(self, project: Project) -> None:
        autosave, _ = self.autosave_files(project)
        if not autosave.exists():
            return
        saved = project.path
        if (
            saved is not None
            and saved.exists()
            and (autosave.stat().st_mtime <= saved.stat().st_mtime)
        ):
            self._discard_autosave(project)
            return
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(autosave.stat().st_mtime))
        if not self.session.dialogs.recover(when):
            self._discard_autosave(project)
            return
        try:
            recovered = load_project(
                autosave, history_limit=self.session.settings.undo_limit
            )
            engine = (
                self.session.engine
                if self.session.engine is not None and recovered.gap == project.gap
                else self._engine(recovered)
            )
        except CadmiumError as exc:
            self.session.dialogs.error(f"Could not recover the autosave: {exc}")
            return
        recovered.path = project.path
        self.session.set_project(recovered, engine, saved=False)
        self.session.status.emit(f"Recovered the autosave from {when}")

    def _discard_autosave(self, project: Project) -> None:
        remove_autosave(self.autosave_files(project)[0], project.path)

    # -- saving
    def save(self) -> Job | None:
        project = self.session.project
        if project is None:
            return None
        if project.path is None:
            return self.save_as()
        return self._save_to(project.path)

    def save_as(self, path: Path | None = None) -> Job | None:
        project = self.session.project
        if project is None:
            return None
        if path is None:
            suggested = (
                project.shot.root.parent / f"{project.shot.root.name}{PROJECT_SUFFIX}"
            )
            path = self.session.dialogs.save_project_file(str(suggested))
        if path is None:
            return None
        return self._save_to(path)

    def _save_to(self, path: Path) -> Job | None:
        path = project_file(path)  # a link stays a link, its target is saved
        session, project, engine = (
            self.session,
            self.session.project,
            self.session.engine,
        )
        assert project is not None and engine is not None
        # Another Cadmium with that project open keeps its autosave beside
        # it: this save would write over its project and delete that.
        claimed = self._lock_on(autosave_path_for(path))
        if claimed is None:
            self._open_elsewhere(path, saving=True)
            return None
        self._saving.append(claimed)
        snap = project.snapshot()
        # Where its autosave was: beside the project saved before (sharing
        # its fill folder, which a "save as" must leave whole), or its own.
        old_autosave, old_owner = self.autosave_files(project)[0], project.path
        lock = self._save_lock

        frame_of = engine.analyser(snap.closing)

        def work(progress: Progress, cancelled: Cancelled) -> Path:
            with lock:
                save_project(
                    snap,
                    path,
                    keep_also=[autosave_path_for(path)],
                    regions_of=lambda n: frame_of(n).regions,
                    progress=progress,
                    cancelled=cancelled,
                )
                self._saves_landed += 1
            return path

        # Not cancellable: closing the window waits for a save to land.
        job = Job(f"Saving {path.name}…", work, cancellable=False)

        def done(saved: Path) -> None:
            self._saving.remove(claimed)
            if session.project is project:
                project.path = saved
                session.mark_saved(snap.revision)
                # Its autosave goes beside it now: so does the lock on it.
                self._hold(claimed)
                self._remember_place()
            else:
                self._let_go(claimed)
            in_use = project.opened_images  # still read, though unnamed now
            remove_autosave(autosave_path_for(saved), saved, in_use)
            if old_autosave != autosave_path_for(saved):
                remove_autosave(old_autosave, old_owner, in_use)
            session.status.emit(f"Saved {saved}")
            self.saved.emit(saved)
            then, self._after_save = self._after_save, None
            if then is not None:
                then()

        job.succeeded.connect(done)
        job.failed.connect(session.dialogs.error)
        job.failed.connect(lambda _m: setattr(self, "_after_save", None))

        def failed(_message: str) -> None:
            self._saving.remove(claimed)
            self._let_go(claimed)

        job.failed.connect(failed)
        self._save_job = job
        session.jobs.submit(job, alongside=True)
        return job

    def autosave(self) -> Job | None:
        session, project = self.session, self.session.project
        if project is None or not session.modified:
            return None
        if project.revision == self._autosaved_revision:
            return None
        if self._autosave_job is not None and not self._autosave_job.done:
            return None
        # Not while a save is under way: until it lands (and says where the
        # project now is) an autosave would go to the place it leaves.
        if self._save_job is not None and not self._save_job.done:
            return None
        snap = project.snapshot()
        path, data_dir = self.autosave_files(project)
        keep = [project.path] if project.path is not None else []
        lock = self._save_lock
        saves_landed = self._saves_landed

        def work(progress: Progress, cancelled: Cancelled) -> int | None:
            with lock:
                # A save written since this autosave was queued makes it
                # stale (its place may be one the save's end removes); written
                # anyway, it would be offered as "unsaved work" next time. The
                # next autosave, if still needed, goes where the project is.
                if self._saves_landed != saves_landed:
                    return None
                save_project(snap, path, data_dir=data_dir, keep_also=keep)
            return snap.revision

        def autosaved(revision: int | None) -> None:
            if revision is not None:
                self._autosaved_revision = revision

        job = Job("Autosaving…", work, cancellable=False)
        job.succeeded.connect(autosaved)
        job.failed.connect(self._autosave_failed)
        self._autosave_job = job
        # Beside a running task: paint put on during a propagation of
        # minutes is protected as any other.
        session.jobs.submit(job, alongside=True)
        return job

    def _autosave_failed(self, message: str) -> None:
        """Said on the status bar each time, and once in a message: the
        animator must know that a crash would now lose their work."""
        log.warning("autosave failed: %s", message)
        self.session.status.emit(f"{message} (your work is not being protected)")
        if not self._autosave_warned:
            self._autosave_warned = True
            self.session.dialogs.error(
                f"{message}. Until an autosave succeeds, a crash would lose "
                "unsaved work: save the project, or set autosave_dir in the "
                "settings to a folder that can be written."
            )

    # -- export
    def ask_export(self) -> Job | None:
        project = self.session.project
        if project is None:
            return None
        root = project.shot.root
        out = self.session.dialogs.output_folder(
            "Export colour, line and composite layers",
            root.parent / f"{root.name}_layers",
        )
        return self.export(out) if out is not None else None

    def export(self, out: Path) -> Job | None:
        session, project, engine = (
            self.session,
            self.session.project,
            self.session.engine,
        )
        if project is None or engine is None:
            return None
        snap = project.snapshot()

        frame_of = engine.followed_analyser(snap)

        def work(
            progress: Progress, cancelled: Cancelled
        ) -> tuple[Path, dict[int, dict[str, Any]]]:
            return write_outputs(
                snap,
                out,
                frame_of=frame_of,
                layers=LAYERS,
                progress=progress,
                cancelled=cancelled,
            )

        job = Job(f"Exporting to {out.name}…", work)
        job.succeeded.connect(lambda done: session.status.emit(exported(*done)))

        def failed(message: str) -> None:
            if job.is_cancelled():  # the animator's own choice: no warning
                session.status.emit("Export cancelled; nothing was written")
            else:
                deleted = deleted_meanwhile(snap.shot, message)
                if deleted is not None:
                    message = f"{deleted}; nothing was written (export again)"
                session.dialogs.error(f"Export stopped: {message}")

        job.failed.connect(failed)
        if not session.jobs.submit(job, exclusive=True):
            session.dialogs.error(
                "Another long task is running: wait for it or cancel it"
            )
            return None
        return job

    # -- closing
    def confirm_close(self) -> bool:
        """True when the window may close now."""
        if not self.may_replace(self.close_requested.emit):
            return False
        self._replacing()
        self._hold(None)
        return True

    def _replacing(self) -> None:
        """The open work is about to go (saved, discarded or unchanged): its
        autosave goes with it, and so does an open waiting for a save."""
        self._after_save = None
        self.session.jobs.cancel_project_edits()
        if self.session.project is not None:
            self._remember_place()
            self._discard_autosave(self.session.project)


def _digest(path: Path) -> str:
    """A short name for a folder or file, wherever it is reached from."""
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def exported(where: Path, frames: Mapping[int, Mapping[str, Any]]) -> str:
    """What an export wrote (``frames``: each frame's report entry), and
    what in it is not finished: frames nobody painted, regions left
    unpainted (transparent in color/; not those unpainted on purpose) and
    painted regions flagged for review."""
    said = f"Exported {len(frames)} frames to {where}"
    bare = [n for n, e in frames.items() if e["to_paint"] == e["regions"]]
    holes = {
        n: e["to_paint"] for n, e in frames.items() if e["to_paint"] and n not in bare
    }
    flagged = sum(
        sum(f["style"] is not None for f in e["flagged"]) for e in frames.values()
    )
    left = []
    if bare:
        left.append(f"{frames_text(bare)} not painted")
    if holes:
        count = sum(holes.values())
        left.append(
            f"{count} region{'s' if count != 1 else ''} unpainted on "
            f"{frames_text(sorted(holes))} (transparent)"
        )
    if flagged:
        left.append(f"{flagged} painted region{'s' if flagged != 1 else ''} flagged")
    if left:
        said += "; " + ", ".join(left) + " (N goes to each)"
    return said
