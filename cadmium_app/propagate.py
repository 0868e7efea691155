"""Propagation from the keys, and the batch "Colorize shot".

Both run on a worker thread with progress and Cancel. The worker gets an
immutable snapshot of the project; its result becomes one undo step, built
on the GUI thread against the fills as they are then, so the animator's
fills (including any painted while the run was going) are never overwritten.
A cancelled run changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cadmium_app.dialogs import by_frame
from cadmium_app.frames import small_labels
from cadmium_app.jobs import Cancelled, Job, Progress
from cadmium_app.outputs import add_remaining_frames
from cadmium_app.session import Session
from cadmium_app.timeline import TimelineController
from cadmium_app.watch import deleted_meanwhile
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.fills import FillMap
from engine.outputs import StagedOutput
from engine.project import Project, Snapshot
from engine.propagation import PropagationSettings
from engine.regions import Numbering, Regions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    engine: ShotEngine
    fills: dict[int, FillMap]
    thumbs: dict[int, np.ndarray] = field(default_factory=dict)
    # How each painted frame's regions are numbered (Regions.numbering).
    numberings: dict[int, Numbering] = field(default_factory=dict)
    # The numberings the project knew when the run began (Snapshot's).
    seen: Mapping[int, Numbering] = field(default_factory=dict)
    out: Path | None = None
    # Frames that could not be read or analysed, each with the reason,
    # left as they were.
    skipped: dict[int, str] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        return sum(int(f.flagged.sum()) for f in self.fills.values())

    @property
    def unpainted(self) -> int:
        return sum(int(f.needs_paint.sum()) for f in self.fills.values())


def skipped_text(skipped: dict[int, str]) -> str:
    """Which frames a run skipped, each with its reason (the first few)."""
    if len(skipped) == 1:
        [(number, reason)] = skipped.items()
        return f"skipped frame {number} ({reason})"
    return f"skipped {len(skipped)} frames ({by_frame(skipped)})"


def run_propagation(
    snap: Snapshot,
    engine: ShotEngine,
    targets: list[int],
    *,
    flag_below: float,
    thumb_step: int,
    out: Path | None,
    progress: Progress,
    cancelled: Cancelled,
) -> RunResult | None:
    """The worker's side: propagate, and write the outputs for a colorize run."""
    started = time.perf_counter()

    # The lines the fills are of (where they go on a frame redrawn since).
    frame_of = engine.followed_analyser(snap)

    def regions_of(number: int) -> Regions:
        return frame_of(number).regions

    keys, painted = snap.propagation_inputs(regions_of)
    if not keys:
        raise CadmiumError(
            "No painted key to propagate from: paint a frame first (it becomes a key)"
        )
    # A lone key has no other key to be painted from.
    chosen = [t for t in targets if not (t in keys and len(keys) == 1)]
    total = len(chosen)
    results: dict[int, FillMap] = {}
    numberings: dict[int, Numbering] = {}
    thumbs: dict[int, np.ndarray] = {}
    skipped: dict[int, str] = {}

    def skip(number: int, error: CadmiumError) -> None:
        skipped[number] = str(error)

    with ExitStack() as stack:
        # A colorize run writes each frame as soon as it is painted, while
        # propagation still holds it (reading it again afterwards would
        # segment it twice on shots longer than the engine's cache).
        staged = None
        if out is not None:
            staged = stack.enter_context(StagedOutput(snap.shot, out))
            total += len(set(snap.shot.frames) - set(chosen))
        if chosen:
            runs = engine.propagate(
                keys=keys,
                n_styles=len(snap.palette),
                painted=painted,
                targets=chosen,
                settings=PropagationSettings(flag_below=flag_below),
                cancelled=cancelled,
                # Propagating paints the frames it can read; a colorize run
                # writes every frame or nothing.
                unreadable=None if staged is not None else skip,
                analyse=frame_of,
            )
            for done, result in enumerate(runs, start=1):
                results[result.number] = result.fills
                numberings[result.number] = result.frame.regions.numbering
                thumbs[result.number] = small_labels(result.frame, thumb_step)
                if staged is not None:
                    staged.add(
                        result.number,
                        result.frame,
                        result.fills,
                        snap.palette,
                        key=result.number in snap.keys,
                        keys_used=list(result.keys_used),
                        timings_ms={**result.frame.timings, **result.timings},
                    )
                progress(done, total)
        if cancelled():
            return None
        if staged is not None:
            add_remaining_frames(
                staged,
                snap,
                frame_of=frame_of,
                progress=lambda d, _t: progress(len(chosen) + d, total),
                cancelled=cancelled,
                keys_used=(),
            )
            staged.wait()  # before the clock is read: "seconds" covers the writes
            staged.publish(
                {
                    "keys": sorted(keys),
                    "matcher": engine.matcher.name,
                    "gap": snap.gap,
                    "flag_below": flag_below,
                    "palette": snap.palette.to_json(),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
    return RunResult(
        engine=engine,
        fills=results,
        thumbs=thumbs,
        numberings=numberings,
        seen=snap.numberings,
        out=out,
        skipped=skipped,
    )


class PropagationController(QObject):
    run_finished = Signal(object)  # the Job

    def __init__(self, session: Session, timeline: TimelineController) -> None:
        super().__init__(session)
        self.session = session
        self.timeline = timeline
        self.last_job: Job | None = None
        # The project whose run ended too late to use: it runs again.
        self._again: Project | None = None

    def propagate_current(self) -> Job | None:
        frame = self.session.frame
        return self.run([frame], f"Propagate to frame {frame}")

    def propagate_selected(self) -> Job | None:
        frames = self.timeline.selected_frames() or [self.session.frame]
        return self.run(frames, f"Propagate to {len(frames)} frames")

    def propagate_all(self) -> Job | None:
        return self.run(self.session.frames_list, "Propagate to the whole shot")

    def colorize_shot(self, out: Path | None = None) -> Job | None:
        project = self.session.project
        if project is None:
            return None
        if out is None:
            root = project.shot.root
            out = self.session.dialogs.output_folder(
                "Colorize shot", root.parent / f"{root.name}_colorized"
            )
        if out is None:
            return None
        return self.run(self.session.frames_list, "Colorize shot", out=out)

    def run(
        self, targets: list[int], label: str, *, out: Path | None = None
    ) -> Job | None:
        session, project, engine = (
            self.session,
            self.session.project,
            self.session.engine,
        )
        if project is None or engine is None:
            return None
        if not session.editable:
            session.dialogs.error("Wait until the shot has finished loading")
            return None
        snap = project.snapshot()
        settings = session.settings
        step = session.frames.step

        def work(progress: Progress, cancelled: Cancelled) -> RunResult | None:
            return run_propagation(
                snap,
                engine,
                targets,
                flag_below=settings.flag_below,
                thumb_step=step,
                out=out,
                progress=progress,
                cancelled=cancelled,
            )

        # Colorize shot writes its outputs whatever opens meanwhile.
        job = Job(f"{label}…", work, edits_project=out is None)
        job.succeeded.connect(
            lambda result: self._on_done(label, result, project, snap.generation)
        )
        if out is None:
            job.failed.connect(lambda message: self._on_failed(label, message, snap))
        else:  # its outputs are staged, and moved in only when all are written

            def stopped(message: str) -> None:
                for said in (f"{label} failed: ", f"{label}… failed: "):
                    message = message.removeprefix(said)  # the runner's words
                message = deleted_meanwhile(snap.shot, message) or message
                session.dialogs.error(
                    f"{label} stopped: {message}; nothing was written"
                )

            job.failed.connect(stopped)
        job.cancelled.connect(
            lambda: session.status.emit(f"{label}: cancelled; nothing changed")
        )
        job.finished.connect(lambda: self.run_finished.emit(job))
        # Touch-ups on the frames it will paint do not make keys meanwhile
        # (the run is exclusive: no other begins before this one has ended).
        job.finished.connect(lambda: self._settle(project, targets, label))
        if not session.jobs.submit(job, exclusive=True):
            session.dialogs.error(
                "Another long task is running: wait for it or cancel it"
            )
            return None
        project.begin_propagation(targets)
        self.last_job = job
        return job

    def _on_failed(self, label: str, message: str, snap: Snapshot) -> None:
        """A run that stopped because a frame was deleted on disk as it read
        it says so on the status bar (the timeline follows); any other
        failure in a message."""
        deleted = deleted_meanwhile(snap.shot, message)
        if deleted is None:
            self.session.dialogs.error(message)
        else:
            self.session.status.emit(f"{label}: stopped, {deleted}; nothing changed")

    def _settle(self, started: Project, targets: list[int], label: str) -> None:
        """After a run, frames touched up meanwhile that it did not paint
        become keys (Project.end_propagation); a run whose result came too
        late to use (an undo meanwhile) begins again instead."""
        if self._again is started and self.session.project is started:
            self._again = None
            QTimer.singleShot(0, lambda: self.run(targets, label))
            return
        self._again = None
        keys = started.end_propagation()
        if keys is not None and self.session.project is started:
            self.session.push(keys)

    def _on_done(
        self,
        label: str,
        result: RunResult | None,
        started: Project,
        generation: int,
    ) -> None:
        session, project = self.session, self.session.project
        if result is None:
            session.status.emit(f"{label}: cancelled; nothing changed")
            return
        if project is not started:  # another shot opened meanwhile
            if result.out is not None:
                session.dialogs.info(
                    f"{label} ({started.shot.root.name}): wrote {result.out}"
                )
            else:
                session.status.emit(f"{label}: its shot was closed; nothing changed")
            return
        if project is None or result.engine is not session.engine:
            session.dialogs.error(
                f"{label}: the shot changed while it ran; run it again"
            )
            return
        if project.generation != generation:
            # An undo or redo took back paint it started from, or a style was
            # deleted (its fills would name other styles).
            if result.out is not None:
                session.dialogs.error(
                    f"{label}: wrote {result.out} from the painting as it was "
                    "when it began; an undo or a deleted style changed it "
                    "since, so the project was left as it is"
                )
            else:
                session.status.emit(
                    f"{label}: the painting changed while it ran (an undo or a "
                    "deleted style); propagating again"
                )
                self._again = project
            return
        edit = project.propagation_edit(
            result.fills, label, result.numberings, result.seen
        )
        session.push(edit)
        session.frames.add_label_thumbs(result.thumbs)
        regions = "region" if result.flagged == 1 else "regions"
        summary = f"{label}: {result.flagged} {regions} flagged for review"
        if result.unpainted:  # among them
            summary += f", {result.unpainted} of them unpainted"
        if result.out is not None:
            session.dialogs.info(f"{summary}.\nWrote {result.out}")
        session.status.emit(summary)
        # Frames deleted on disk as it read them: the timeline follows.
        skipped = {
            n: why for n, why in result.skipped.items() if not project.shot.gone(n)
        }
        if skipped:
            session.dialogs.error(f"{label}: {skipped_text(skipped)}")
