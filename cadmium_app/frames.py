"""Frames for display, loaded off the GUI thread.

For the frame on screen the line art comes first (a decode, milliseconds),
then its segmentation (`ShotEngine.frame`, cached and thread-safe), so the
canvas shows the drawing at once and the regions when ready. Thumbnails of
the whole shot are read in one background pass. Results are tagged with the
engine that made them: after a change of gap the old engine's results are
dropped. Line art redrawn on disk while the shot is open is read again
(`FrameService.check_files`), and frames drawn or deleted join or leave
(`FrameService.relist`): clean-up goes on while a shot is painted
(`cadmium_app.watch`).
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from cadmium_app.signals import emit_from_worker
from engine.closing_lines import ClosingLines
from engine.closing_redraw import Followed, Placement
from engine.errors import OUT_OF_MEMORY, CadmiumError, out_of_memory
from engine.facade import ShotEngine
from engine.imageio import read_image
from engine.lineart import ink_channels
from engine.matching import Frame
from engine.outputs import line_rgba
from engine.regions import Regions
from engine.shot import FileVersion

log = logging.getLogger(__name__)


def thumbnail_step(size: tuple[int, int], width: int) -> int:
    """Subsampling step that fits a frame of ``size`` (w, h) into ``width``."""
    return max(1, math.ceil(size[0] / max(width, 1)))


def small_labels(frame: Frame, step: int) -> np.ndarray:
    """Every pixel's region label, subsampled for a thumbnail."""
    return np.ascontiguousarray(frame.regions.under_line[::step, ::step])


def small_ink(image: np.ndarray, step: int) -> np.ndarray:
    ink = ink_channels(image)[0]
    shape = ink[::step, ::step].shape
    return cv2.resize(ink, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


class _Relay(QObject):
    lines = Signal(object, int, object)
    # engine, number, frame, the closing lines asked with, and where they
    # went when the frame was redrawn (None: they stayed)
    frame = Signal(object, int, object, object, object)
    thumb = Signal(object, int, object)
    labels = Signal(object, int, object, object, object, object)
    failed = Signal(object, int, str)


# Work to do on the loading thread with a frame's regions once analysed.
RegionsWork = Callable[[Regions], None]


def analysed(
    engine: ShotEngine,
    number: int,
    work: RegionsWork | None,
    closing: ClosingLines,
    placed: Placement | None = None,
) -> tuple[Frame, Followed | None]:
    """The analysed frame (segmented with ``closing`` lines), with what the
    GUI thread will need of its regions worked out here: their numbering,
    packed, and ``work``. When its drawing was redrawn since its closing
    lines were placed (``placed``), they follow it: it is segmented with
    them where they went, and how they went is returned too (None: they
    stayed)."""
    frame, followed = engine.followed(number, closing, placed)
    _ = frame.regions.numbering
    if work is not None:
        work(frame.regions)
    return frame, followed


class _Load(QRunnable):
    def __init__(
        self,
        service: FrameService,
        engine: ShotEngine,
        number: int,
        segment: bool,
        work: RegionsWork | None = None,
    ) -> None:
        super().__init__()
        self.service, self.engine, self.number = service, engine, number
        self.segment = segment
        self.work = work
        # Asked for with the frame's closing lines as they are now; a result
        # for others (changed meanwhile) is dropped.
        self.closing = service.closing_of(number)
        self.placed = service.placement_of(number) if segment else None

    def run(self) -> None:
        relay, engine, number = self.service.relay, self.engine, self.number
        if not self.service.still_wanted(engine, number):
            return
        path = engine.shot.line.get(number)
        if path is None:  # deleted on disk since it was asked for
            return
        try:
            if not self.service.has_lines(number):
                image = read_image(path)
                emit_from_worker(relay.lines, engine, number, line_rgba(image))
            if self.segment:
                frame, followed = analysed(
                    engine, number, self.work, self.closing, self.placed
                )
                emit_from_worker(
                    relay.frame, engine, number, frame, self.closing, followed
                )
        except CadmiumError as exc:
            emit_from_worker(relay.failed, engine, number, str(exc))
        except Exception as exc:
            if out_of_memory(exc):
                log.warning("loading frame %d: out of memory (%r)", number, exc)
                said = f"frame {number}: {OUT_OF_MEMORY}"
            else:  # a bug: log it, tell the user, keep running
                log.exception("loading frame %d", number)
                said = f"frame {number}: {exc!r}"
            emit_from_worker(relay.failed, engine, number, said)


class _Thumbnail(QRunnable):
    """One frame's thumbnail; queued below every frame the user asks for."""

    def __init__(self, service: FrameService, engine: ShotEngine, number: int) -> None:
        super().__init__()
        self.service, self.engine, self.number = service, engine, number

    def run(self) -> None:
        service, engine, number = self.service, self.engine, self.number
        path = engine.shot.line.get(number)
        if service.engine is not engine or path is None:  # None: deleted
            return
        try:
            image = read_image(path)
        except CadmiumError as exc:
            emit_from_worker(service.relay.failed, engine, number, str(exc))
            return
        ink = small_ink(image, thumbnail_step(engine.size, service.thumb_width))
        emit_from_worker(service.relay.thumb, engine, number, ink)


class _LabelThumbnail(QRunnable):
    """A painted frame's regions for its coloured thumbnail, below every
    other load (its fills are fitted to them then: see regions_seen). A
    frame that fails says nothing here: it says so when visited."""

    def __init__(
        self,
        service: FrameService,
        engine: ShotEngine,
        number: int,
        work: RegionsWork | None,
    ) -> None:
        super().__init__()
        self.service, self.engine, self.number = service, engine, number
        self.work = work
        self.closing = service.closing_of(number)
        self.placed = service.placement_of(number)

    def run(self) -> None:
        service, engine, number = self.service, self.engine, self.number
        if service.engine is not engine or number in service.label_thumbs:
            return
        try:
            frame, followed = analysed(
                engine, number, self.work, self.closing, self.placed
            )
            labels = small_labels(frame, service.step)
        except CadmiumError:
            return
        emit_from_worker(
            service.relay.labels,
            engine,
            number,
            labels,
            frame.regions,
            self.closing,
            followed,
        )


class FrameService(QObject):
    """Analysed frames, line layers and thumbnails, delivered on the GUI thread."""

    lines_ready = Signal(int)
    frame_ready = Signal(int)
    thumb_ready = Signal(int)
    failed = Signal(int, str)
    # Frames whose line art changed on disk (a sorted tuple): their drawing,
    # regions and thumbnails are being read again.
    redrawn = Signal(object)
    # A frame's regions, analysed for its thumbnail (before thumb_ready).
    regions_seen = Signal(int, object)

    def __init__(self, parent: QObject | None = None, *, cache: int = 16) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.relay = _Relay()
        self.relay.lines.connect(self._on_lines)
        self.relay.frame.connect(self._on_frame)
        self.relay.thumb.connect(self._on_thumb)
        self.relay.labels.connect(self._on_labels)
        self.relay.failed.connect(self._on_failed)
        self.engine: ShotEngine | None = None
        self.thumb_width = 80
        self._cache_size = cache
        self._frames: OrderedDict[int, Frame] = OrderedDict()
        self._lines: OrderedDict[int, np.ndarray] = OrderedDict()
        self._wanted: set[int] = set()
        self._pending: set[tuple[int, bool]] = set()
        self.ink_thumbs: dict[int, np.ndarray] = {}
        self.label_thumbs: dict[int, np.ndarray] = {}
        self.errors: dict[int, str] = {}
        # The version of each line file when this service last read it.
        self._versions: dict[int, FileVersion] = {}
        # Asked on this thread when a frame's regions are requested: work
        # for the loading thread to do with them (see Project.carry_ahead),
        # and the closing lines drawn on it (the project's).
        self.regions_work: Callable[[int], RegionsWork | None] = lambda _n: None
        self.closing_of: Callable[[int], ClosingLines] = lambda _n: ClosingLines()
        # Likewise, the drawing those were placed on, to follow a redrawn
        # one (Project.placement); and, on this thread, where they went, for
        # the project to take (frame, the lines asked with, where they went).
        self.placement_of: Callable[[int], Placement | None] = lambda _n: None
        self.lines_followed: Callable[[int, ClosingLines, Followed], None] = (
            lambda _n, _lines, _followed: None
        )

    # -- setup
    def set_engine(self, engine: ShotEngine | None, *, thumbnails: bool = True) -> None:
        keep_thumbs = (
            engine is not None
            and self.engine is not None
            and engine.shot.root == self.engine.shot.root
        )
        self.engine = engine
        self._frames.clear()
        self._pending.clear()
        self.label_thumbs.clear()
        self.errors.clear()
        if not keep_thumbs:
            self._lines.clear()
            self.ink_thumbs.clear()
            self._versions.clear()
        if engine is not None and thumbnails and not keep_thumbs:
            for number in engine.shot.frames:
                self._note_version(number)
                self.pool.start(_Thumbnail(self, engine, number), -1)

    def _note_version(self, number: int) -> None:
        """Remember the line file's version before a read of it is queued
        (a change after this reads as changed once more: read again)."""
        if self.engine is not None and number not in self._versions:
            self._versions[number] = self.engine.shot.line_version(number)

    def check_files(self) -> tuple[int, ...]:
        """Find frames whose line art changed on disk since it was read, and
        read them again: their drawing, regions and thumbnails are dropped,
        reloaded in the background (the frame shown first) and announced
        by ``redrawn``. Returns those frames. A stat of each file: a few
        milliseconds for a long shot."""
        engine = self.engine
        if engine is None:
            return ()
        # A frame deleted is not redrawn: the watcher takes it out of the
        # timeline (after the task under way, if any).
        changed = tuple(
            number
            for number, version in sorted(self._versions.items())
            if not engine.shot.gone(number)
            and engine.shot.line_version(number) != version
        )
        if not changed:
            return ()
        for number in changed:
            self._read_again(engine, number)
        wanted = [n for n in changed if n in self._wanted]
        for number in wanted:
            self.request(number, segment=True, priority=1)
        self.redrawn.emit(changed)
        return changed

    def relist(self, added: Iterable[int], removed: Iterable[int]) -> None:
        """Frames drawn on disk (``added``: their thumbnails read in the
        background) and deleted (``removed``: what was read of them
        dropped), the engine already following the folder."""
        engine = self.engine
        for number in removed:
            self._forget(number)
            self.ink_thumbs.pop(number, None)
            self._wanted.discard(number)
        if engine is None:
            return
        for number in added:  # back on disk, nothing read of it before holds
            self._read_again(engine, number)

    def reanalyse(self, number: int) -> None:
        """The frame's closing lines changed: its regions are analysed again
        (at once when it is on screen or next to it; for its thumbnail
        otherwise), what was read of them before dropped."""
        self._frames.pop(number, None)
        self.label_thumbs.pop(number, None)
        self.errors.pop(number, None)
        self._pending.discard((number, True))
        if number in self._wanted:
            self.request(number, segment=True, priority=1)
        else:
            self.queue_label_thumbs([number])

    def _forget(self, number: int) -> None:
        """Drop what was read of a frame, and what is under way is old."""
        self._versions.pop(number, None)
        self._frames.pop(number, None)
        self._lines.pop(number, None)
        self.label_thumbs.pop(number, None)
        self.errors.pop(number, None)
        self._pending.discard((number, True))
        self._pending.discard((number, False))

    def _read_again(self, engine: ShotEngine, number: int) -> None:
        """`_forget` a frame, and read its thumbnail anew (its ink thumbnail
        stays shown until then)."""
        self._forget(number)
        self._note_version(number)
        self.pool.start(_Thumbnail(self, engine, number), -1)

    @property
    def step(self) -> int:
        if self.engine is None:
            return 1
        return thumbnail_step(self.engine.size, self.thumb_width)

    # -- asking
    def get(self, number: int) -> Frame | None:
        frame = self._frames.get(number)
        if frame is not None:
            self._frames.move_to_end(number)
        return frame

    def lines(self, number: int) -> np.ndarray | None:
        lines = self._lines.get(number)
        if lines is not None:  # in use: the last to go (as `get`)
            self._lines.move_to_end(number)
        return lines

    def keep_lines(self, number: int, lines: np.ndarray) -> None:
        """Keep a frame's line layer made from its analysis (its own went
        from the cache): not made again at every refresh."""
        self._lines[number] = lines
        while len(self._lines) > self._cache_size:
            self._lines.popitem(last=False)

    def has_lines(self, number: int) -> bool:
        return number in self._lines

    def want(self, current: int, neighbours: Iterable[int] = ()) -> None:
        """Load ``current`` now, then ``neighbours``; drop other queued loads."""
        self._wanted = {current, *neighbours}
        self.request(current, segment=True, priority=1)
        for number in neighbours:
            self.request(number, segment=True, priority=0)

    def request(self, number: int, *, segment: bool, priority: int = 0) -> None:
        engine = self.engine
        if engine is None or number not in engine.shot.line:
            return
        if number in self.errors:
            return
        done = number in self._frames if segment else number in self._lines
        if done or (number, segment) in self._pending:
            return
        self._wanted.add(number)
        self._pending.add((number, segment))
        self._note_version(number)
        work = self.regions_work(number) if segment else None
        self.pool.start(_Load(self, engine, number, segment, work), priority)

    def still_wanted(self, engine: ShotEngine, number: int) -> bool:
        # Read from a worker thread: a set lookup is atomic under the GIL.
        wanted = engine is self.engine and number in self._wanted
        if not wanted:
            self._pending.discard((number, True))
            self._pending.discard((number, False))
        return wanted

    def queue_label_thumbs(self, numbers: Iterable[int]) -> None:
        """Analyse these (painted) frames in the background, after all else,
        so their thumbnails show their colours before they are visited."""
        engine = self.engine
        for number in numbers:
            if engine is not None and number not in self.label_thumbs:
                work = self.regions_work(number)
                self.pool.start(_LabelThumbnail(self, engine, number, work), -2)

    def add_label_thumbs(self, thumbs: dict[int, np.ndarray]) -> None:
        self.label_thumbs.update(thumbs)
        for number in thumbs:
            self.thumb_ready.emit(number)

    def wait(self, timeout_ms: int = 30000) -> bool:
        self._wanted.clear()
        self.pool.clear()  # queued thumbnails and prefetches: not needed now
        return bool(self.pool.waitForDone(timeout_ms))

    # -- results, on the GUI thread
    @Slot(object, int, object)
    def _on_lines(self, engine: object, number: int, lines: np.ndarray) -> None:
        self._pending.discard((number, False))
        if engine is not self.engine:
            return
        self.keep_lines(number, lines)
        self.lines_ready.emit(number)

    def _current(
        self,
        engine: object,
        number: int,
        closing: ClosingLines,
        followed: Followed | None,
    ) -> bool:
        """Whether a result is of this engine and the frame's closing lines
        (``closing``, asked with; where they went when the frame was
        redrawn: ``followed``, told to `lines_followed` first)."""
        if engine is not self.engine:
            return False
        now = self.closing_of(number)
        if followed is None:
            return closing == now
        if closing == now:
            self.lines_followed(number, closing, followed)
            now = self.closing_of(number)
        return followed.lines == now

    @Slot(object, int, object, object, object)
    def _on_frame(
        self,
        engine: object,
        number: int,
        frame: Frame,
        closing: ClosingLines,
        followed: Followed | None,
    ) -> None:
        self._pending.discard((number, True))
        if not self._current(engine, number, closing, followed):
            if engine is self.engine and number in self._wanted:
                # Its lines changed meanwhile (an edit, or a redraw they
                # followed on another load): asked again with them.
                self.request(number, segment=True, priority=1)
            return
        self._frames[number] = frame
        while len(self._frames) > self._cache_size:
            self._frames.popitem(last=False)
        self.label_thumbs[number] = small_labels(frame, self.step)
        self.frame_ready.emit(number)
        self.thumb_ready.emit(number)

    @Slot(object, int, object)
    def _on_thumb(self, engine: object, number: int, ink: np.ndarray) -> None:
        if engine is self.engine:
            self.ink_thumbs[number] = ink
            self.thumb_ready.emit(number)

    @Slot(object, int, object, object, object, object)
    def _on_labels(
        self,
        engine: object,
        number: int,
        labels: np.ndarray,
        regions: Regions,
        closing: ClosingLines,
        followed: Followed | None,
    ) -> None:
        current = self._current(engine, number, closing, followed)
        if current and number not in self.label_thumbs:
            self.regions_seen.emit(number, regions)
            self.add_label_thumbs({number: labels})

    @Slot(object, int, str)
    def _on_failed(self, engine: object, number: int, message: str) -> None:
        self._pending.discard((number, True))
        self._pending.discard((number, False))
        if engine is not self.engine or number in self.errors:
            return
        if self.engine.shot.gone(number):
            # Deleted on disk: the watcher takes it out of the timeline.
            return
        asked = self._versions.get(number)
        if asked is not None and self.engine.shot.line_version(number) != asked:
            # Written again since it was asked for (a save that deletes and
            # writes the file): check_files reads it again.
            return
        self.errors[number] = message
        self.failed.emit(number, message)
