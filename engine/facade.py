"""The small Qt-free facade that the application and the command line call.

Arguments are keyword-only and results are frozen dataclasses. The matcher
(and with it torch) loads lazily, on first use, so opening a shot stays fast
and the GUI thread never pays for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.closing_lines import ClosingLines
from engine.closing_redraw import Followed, Placement, Redraw
from engine.errors import CadmiumError, ImageError, ShotError
from engine.fills import FillMap, key_from_color
from engine.gaps import DEFAULT_GAP, default_gap, gap_problem
from engine.imageio import image_size, open_quietly, read_image
from engine.matching import (
    AssignmentMatcher,
    Frame,
    Matcher,
    OverlapMatcher,
)
from engine.outputs import StagedOutput, check_out_folder
from engine.palette import Palette
from engine.project import Project, Snapshot, load_project, unreadable_paint
from engine.propagation import (
    AnimatorFills,
    FrameResult,
    PropagationSettings,
    propagate,
)
from engine.regions import DEFAULT_MIN_AREA, Regions, segment_image
from engine.shot import FileVersion, Shot, open_shot, shot_gap, unnumbered_images

log = logging.getLogger(__name__)

NO_CLOSING = ClosingLines()

MATCHERS = ("auto", "learned", "assignment", "overlap")
DEVICES = ("auto", "cpu", "cuda")


def mixed_key_warning(path: Path, regions: Regions, mixed: np.ndarray) -> str:
    """One line naming a key's regions painted in two colours."""
    x, y = (int(v) for v in np.rint(regions.table.centroid[mixed[0]]))
    if len(mixed) > 1:
        what = f"{len(mixed)} regions painted in two colours (the largest at x {x}, "
        what += f"y {y}) are flagged for review with their main colour"
    else:
        what = f"a region painted in two colours (at x {x}, y {y}) is flagged for "
        what += "review with its main colour"
    return (
        f"key {path.name}: {what}; the other is in the palette. A gap in the "
        "lines left open? Try closing larger gaps"
    )


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is usable, else 'cpu'; checks 'cuda'."""
    if device not in DEVICES:
        raise CadmiumError(f"unknown device {device!r} (use {', '.join(DEVICES)})")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise CadmiumError(
            "device cuda: no CUDA GPU is available here (use auto or cpu)"
        )
    return "cpu"


def check_gap_option(gap: int) -> None:
    """--gap is the same range for every command (and shot.json's setting)."""
    problem = gap_problem(gap)
    if problem:
        raise CadmiumError(f"--gap {gap}: {problem}")


def make_matcher(
    *, kind: str = "auto", device: str = "auto", torch_threads: int | None = 1
) -> Matcher:
    """The learned matcher with the shipped weights, or a baseline.

    'auto' uses the learned matcher and falls back to the assignment baseline
    (with a warning) only when no usable weights are shipped.

    torch_threads: torch's intra-op CPU threads for this process (None leaves
    them alone). One is right for the application and the command line:
    region graphs are small (tens to hundreds of nodes) and the CNN runs at
    a fixed work size, so extra threads only spin against the frame loader
    and writer threads (colorize-shot on the CPU: 2.8 s per HD frame with
    torch's default threads, 0.42 s with one).
    """
    if kind not in MATCHERS:
        raise CadmiumError(f"unknown matcher {kind!r} (use {', '.join(MATCHERS)})")
    if kind in ("auto", "learned"):
        # A GPU asked for and missing is an error, never a quiet fallback.
        device = resolve_device(device)
        try:
            import torch

            from engine.learned import load_shipped_matcher

            if torch_threads is not None:
                torch.set_num_threads(torch_threads)
            return load_shipped_matcher(device=device)
        except (ImportError, CadmiumError) as exc:
            if kind == "learned":
                raise CadmiumError(f"learned matcher unavailable: {exc}") from None
            log.warning("learned matcher unavailable (%s); using assignment", exc)
    if kind == "overlap":
        return OverlapMatcher()
    return AssignmentMatcher()


def frame_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels."""
    try:
        with open_quietly(path) as im:  # damage is read_image's to say
            return int(im.width), int(im.height)
    except Exception:
        return image_size(read_image(path))


def opening_gap(shot: Shot, base: int = DEFAULT_GAP) -> int:
    """The gap closing (px) a shot opens with: shot.json's, else `default_gap`
    of ``base`` for the size of its frames (the first whose header reads)."""
    for number in shot.frames:
        try:
            size = frame_size(shot.line[number])
        except CadmiumError:
            continue  # said where the frame is used
        return shot_gap(shot, default_gap(size, base))
    return shot_gap(shot, base)


class ShotEngine:
    """Analysis of one shot's frames, cached, plus matching and propagation."""

    def __init__(
        self,
        *,
        shot: Shot,
        gap: int = DEFAULT_GAP,
        threshold: float | None = None,
        min_area: int = DEFAULT_MIN_AREA,
        matcher: str = "auto",
        device: str = "auto",
        cache_frames: int = 6,
        loader_threads: int | None = None,
    ) -> None:
        """loader_threads: frames read and segmented at once in the
        background (default: one per CPU core, at most 4). OpenCV and NumPy
        release the GIL for most of that work."""
        self.shot = shot
        self.gap = gap
        self.threshold = threshold
        self.min_area = min_area
        self._matcher_kind = matcher
        self._device = device
        self._matcher: Matcher | None = None
        # Its own lock: making the learned matcher imports torch and reads
        # the weights (seconds), and frames are read meanwhile.
        self._matcher_lock = threading.Lock()
        # Analysed frames by number and the closing lines drawn by hand they
        # were segmented with (a project's, which the engine does not keep:
        # its callers name them), with the version of the line file they
        # were read from: a frame redrawn on disk since is read again.
        self._cache: OrderedDict[tuple[int, ClosingLines], _Analysis] = OrderedDict()
        self._cache_size = cache_frames
        self._lock = threading.Lock()
        self._size: tuple[int, int] | None = None
        self._size_from: Path | None = None
        self._loader: ThreadPoolExecutor | None = None
        self.loader_threads = max(1, loader_threads or min(4, os.cpu_count() or 1))
        self._loading: dict[int, Future[_Analysis]] = {}
        # Bumped by set_gap: an analysis started under an older setting is
        # returned to whoever asked for it but never cached.
        self._generation = 0
        # The last follow of each frame's lines (see `followed`), by the
        # analysis and the placement it started from: a render asks for
        # every frame once per pass, and a colorize run makes two passes
        # (a follow takes up to a second at 4K).
        self._follows: OrderedDict[int, _Follow] = OrderedDict()

    @property
    def matcher(self) -> Matcher:
        with self._matcher_lock:
            if self._matcher is None:
                self._matcher = make_matcher(
                    kind=self._matcher_kind, device=self._device
                )
            return self._matcher

    def make_matcher_ahead(self) -> threading.Thread:
        """Make the matcher on a thread of its own, so that the first
        propagation starts at once (the learned one imports torch and reads
        its weights: about 3 s on two cores). Where that fails, the first
        use of `matcher` tries again and says why."""

        def make() -> None:
            try:
                self.matcher  # noqa: B018 (made and kept)
            except Exception as exc:  # said by the first use, which tries again
                log.debug("matcher not made ahead: %r", exc)

        thread = threading.Thread(target=make, name="cadmium-matcher", daemon=True)
        thread.start()
        return thread

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the shot's first readable line frame (the first
        frame's error when none can be read)."""
        if self._size is None:
            first: ImageError | None = None
            for number in self.shot.frames:
                path = self.shot.line[number]
                try:
                    self._size = frame_size(path)
                except ImageError as exc:
                    first = first or exc
                    continue
                self._size_from = path
                break
            else:
                assert first is not None
                raise first
        return self._size

    def size_error(self, path: Path, size: tuple[int, int]) -> ShotError:
        """A frame of another size than the shot's, naming the frame the
        shot's size was read from (when that one is the odd one out)."""
        width, height = self.size
        assert self._size_from is not None
        return ShotError(
            f"{path}: size {size[0]}x{size[1]} differs from "
            f"{self._size_from.name}'s {width}x{height}"
        )

    def check_sizes(self, *, skip_unreadable: bool = False) -> None:
        """Every line and colour frame has the size of the first line frame.
        skip_unreadable: a frame that cannot be read is left for reading it
        to report (the application opens the shot and paints the others).
        A shot none of whose line frames can be read is refused either way."""
        expected = self.size
        for folder in (self.shot.line, self.shot.color):
            for number in sorted(folder):
                try:
                    size = frame_size(folder[number])
                except ImageError:
                    if skip_unreadable:
                        continue
                    raise
                if size != expected:
                    raise self.size_error(folder[number], size)

    def set_shot(self, shot: Shot) -> None:
        """The same shot folder with the frames its line folder holds now
        (`engine.shot.rescan`). Analyses cached stay: each is checked
        against its file's version when asked for."""
        if shot.root != self.shot.root:
            raise ValueError(f"{shot.root} is not this engine's shot folder")
        with self._lock:
            self.shot = shot

    def set_gap(self, gap: int) -> None:
        """Change the gap-closing distance; cached analyses are dropped."""
        with self._lock:
            if gap != self.gap:
                self.gap = gap
                self._generation += 1
                self._cache.clear()
                self._loading.clear()

    def analyse_image(
        self, number: int, image: np.ndarray, closing: ClosingLines = NO_CLOSING
    ) -> Frame:
        """The frame's analysis from its decoded line art, with ``closing``
        lines drawn by hand."""
        if image_size(image) != self.size:
            raise self.size_error(self.shot.line[number], image_size(image))
        started = time.perf_counter()
        lineart, regions = segment_image(
            image,
            gap=self.gap,
            threshold=self.threshold,
            min_area=self.min_area,
            closing=closing,
        )
        timings = {"segment_ms": (time.perf_counter() - started) * 1000}
        return Frame(
            number=number,
            image=image,
            lineart=lineart,
            regions=regions,
            timings=timings,
        )

    def _load(self, number: int, closing: ClosingLines = NO_CLOSING) -> _Analysis:
        if number not in self.shot.line:
            raise ShotError(f"{self.shot.root}: no line frame {number}")
        # Taken before the read: a file rewritten during it reads as changed.
        version = self.shot.line_version(number)
        started = time.perf_counter()
        image = read_image(self.shot.line[number])
        decoded = time.perf_counter()
        frame = self.analyse_image(number, image, closing)
        frame.timings["decode_ms"] = (decoded - started) * 1000
        return _Analysis(version, closing, frame)

    def frame(self, number: int, closing: ClosingLines = NO_CLOSING) -> Frame:
        """The analysed frame, segmented with ``closing`` lines drawn by hand
        (cached; safe to call from worker threads). A frame whose line art
        changed on disk since it was cached is read and analysed again."""
        now = self.shot.line_version(number) if number in self.shot.line else None
        with self._lock:
            cached = self._cache.get((number, closing))
            if cached is not None and cached.fits(now, closing):
                self._cache.move_to_end((number, closing))
                return cached.frame
            future = self._loading.pop(number, None)
            generation = self._generation
        loaded = future.result() if future is not None else None
        if loaded is None or not loaded.fits(now, closing):
            loaded = self._load(number, closing)
        with self._lock:
            if generation == self._generation:
                self._cache[(number, closing)] = loaded
                self._cache.move_to_end((number, closing))
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return loaded.frame

    def analyser(self, closing: Mapping[int, ClosingLines]) -> Callable[[int], Frame]:
        """`frame`, each frame with its closing lines as ``closing`` has them
        (a project snapshot's): work from a snapshot segments frames as its
        fills are numbered, whatever lines are drawn meanwhile."""
        return lambda number: self.frame(number, closing.get(number, NO_CLOSING))

    def followed(
        self, number: int, lines: ClosingLines, placed: Placement | None
    ) -> tuple[Frame, Followed | None]:
        """The frame with its closing ``lines``; where its drawing was
        redrawn since they were placed (``placed``: `engine.closing_redraw`),
        with them where they went, and how they went (None: they stayed)."""
        frame = self.frame(number, lines)
        if not lines or placed is None:
            return frame, None
        with self._lock:
            last = self._follows.get(number)
        if last is not None and last.frame() is frame and last.placed is placed:
            if last.found is None:
                return frame, None
            lines, now, unparted = last.found
            found = Followed(lines, self.frame(number, lines), now, unparted)
        else:
            found = self._follow(number, frame, lines, placed)
            went = None
            if found is not None:
                went = (found.lines, found.placed, found.unparted)
            with self._lock:
                self._follows[number] = _Follow(weakref.ref(frame), placed, went)
                self._follows.move_to_end(number)
                while len(self._follows) > 4 * self._cache_size:
                    self._follows.popitem(last=False)
        return (frame, None) if found is None else (found.frame, found)

    def _follow(
        self, number: int, frame: Frame, lines: ClosingLines, placed: Placement
    ) -> Followed | None:
        found = Redraw(lines, placed).follow(
            frame, lambda other: self.frame(number, other)
        )
        if found is None:
            return None
        if found.lines != lines:
            log.info("frame %d was redrawn: its closing lines moved with it", number)
        if found.unparted:
            log.warning(
                "frame %d was redrawn: %d of its closing lines part no region "
                "where they went (draw them again in the application)",
                number,
                found.unparted,
            )
        return found

    def followed_analyser(self, snap: Snapshot) -> Callable[[int], Frame]:
        """`analyser` of a snapshot's closing lines, each frame's where they
        go if its drawing was redrawn since they were placed and the
        application has not taken them there yet: what renders, exports and
        the correspondence view read, in the application and on the command
        line."""

        def frame_of(number: int) -> Frame:
            lines = snap.closing.get(number, NO_CLOSING)
            return self.followed(number, lines, snap.placements.get(number))[0]

        return frame_of

    def prefetch(self, numbers: Sequence[int]) -> None:
        """Start reading and segmenting frames (with no closing lines: a shot
        folder's) in a background thread, so decoding overlaps with
        matching of the frame before."""
        with self._lock:
            if self._loader is None:
                self._loader = ThreadPoolExecutor(
                    self.loader_threads, thread_name_prefix="cadmium-load"
                )
            for number in numbers:
                if (number, NO_CLOSING) in self._cache or number in self._loading:
                    continue
                if number in self.shot.line:
                    self._loading[number] = self._loader.submit(self._load, number)

    def close(self) -> None:
        """Stop background loading."""
        with self._lock:
            loader, self._loader = self._loader, None
            self._loading.clear()
        if loader is not None:
            loader.shutdown(wait=True, cancel_futures=True)

    def key_fills(
        self,
        number: int,
        palette: Palette,
        warn: Callable[[str], None] = log.warning,
    ) -> tuple[FillMap, Palette]:
        """Fills read from the shot's ``color/`` frame for ``number``
        (engine.fills.key_from_color). A region painted in two colours, or
        in no main colour, is flagged for review; like any fill flagged for
        review it is not passed on. What looks wrong with the key (such
        regions, or nothing painted) goes to ``warn``, a line naming it."""
        path = self.shot.color.get(number)
        if path is None:
            raise ShotError(f"{self.shot.root}: frame {number} has no color/ frame")
        color = read_image(path)
        if image_size(color) != self.size:
            raise self.size_error(path, image_size(color))
        regions = self.frame(number).regions
        read = key_from_color(regions, color, palette)
        if regions.count and not read.fills.painted.any() and not len(read.patchy):
            warn(
                f"key {path.name}: nothing painted (all transparent); its regions "
                "are filled from the other keys like any frame's"
            )
        if len(read.patchy):
            warn(
                f"key {path.name}: {len(read.patchy)} of {regions.count} regions "
                "have no main colour (not flat paint: noise, a photo, soft "
                "shading?); painted from the other keys where they can be, and "
                "flagged for review"
            )
        if len(read.mixed):
            warn(mixed_key_warning(path, regions, read.mixed))
        return read.fills, read.palette

    def propagate(
        self,
        *,
        keys: Mapping[int, FillMap],
        n_styles: int,
        painted: AnimatorFills | None = None,
        targets: Sequence[int] | None = None,
        settings: PropagationSettings = PropagationSettings(),
        cancelled: Callable[[], bool] = lambda: False,
        unreadable: Callable[[int, CadmiumError], None] | None = None,
        analyse: Callable[[int], Frame] | None = None,
    ) -> Iterator[FrameResult]:
        """analyse: how frames are analysed (default `frame`; see `analyser`)."""
        return propagate(
            frames=self.shot.frames,
            keys=keys,
            analyse=analyse or self.frame,
            matcher=self.matcher,
            n_styles=n_styles,
            painted=painted,
            targets=targets,
            settings=settings,
            cancelled=cancelled,
            unreadable=unreadable,
        )


@dataclass(frozen=True)
class _Analysis:
    """An analysed frame, with what it was analysed from."""

    version: FileVersion
    closing: ClosingLines
    frame: Frame

    def fits(self, version: FileVersion | None, closing: ClosingLines) -> bool:
        return self.version == version and self.closing == closing


@dataclass(frozen=True)
class _Follow:
    """A frame's lines followed: from its analysis ``frame`` (the same
    object while the analysis is cached: same file version, lines and gap;
    not kept alive here) and ``placed``, what `Redraw.follow` found, less
    the frame it segmented (the cache has it)."""

    frame: weakref.ref[Frame]
    placed: Placement
    found: tuple[ClosingLines, Placement, int] | None


@dataclass(frozen=True)
class ColorizeSummary:
    """What a colorize run did."""

    shot: Path
    out: Path
    frames: int
    keys: tuple[int, ...]
    flagged_regions: int
    unpainted_regions: int
    seconds: float
    matcher: str


def colorize_shot(
    *,
    shot_path: str | Path,
    out: str | Path,
    device: str = "auto",
    keys: Sequence[int] | None = None,
    gap: int | None = None,
    matcher: str = "auto",
    settings: PropagationSettings = PropagationSettings(),
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ColorizeSummary:
    """Colorize a shot folder into ``out`` (color/, composite/, report.json).

    Outputs are written to a staging folder inside ``out`` and moved into
    place only when every frame succeeded, so a failed run leaves ``out`` as
    it was.
    """
    started = time.perf_counter()
    shot = open_shot(shot_path)
    out_dir = check_out_folder(shot, out)
    if gap is None:
        gap = opening_gap(shot)
    check_gap_option(gap)
    key_numbers = _choose_keys(shot, keys)
    engine = _rendering_engine(shot, gap, matcher, device)
    palette = shot.meta.palette or Palette()
    key_fills: dict[int, FillMap] = {}
    for number in key_numbers:
        key_fills[number], palette = engine.key_fills(number, palette)
    try:
        return render_shot(
            engine=engine,
            keys=key_fills,
            palette=palette,
            out=out_dir,
            settings=settings,
            progress=progress,
            cancelled=cancelled,
            started=started,
        )
    finally:
        engine.close()


def colorize_project(
    *,
    project_path: str | Path,
    out: str | Path,
    device: str = "auto",
    matcher: str = "auto",
    settings: PropagationSettings = PropagationSettings(),
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ColorizeSummary:
    """Colorize the shot of a project saved by the application, as its
    Colorize shot does: from the project's painted keys, keeping every
    fill the animator painted, each frame segmented with the project's gap
    and its closing lines. Written like `colorize_shot` (all or nothing)."""
    started = time.perf_counter()
    project = load_project(project_path)
    check_paint_readable(project, project_path)
    out_dir = check_out_folder(project.shot, out)
    engine = _rendering_engine(project.shot, project.gap, matcher, device)
    snap = project.snapshot()
    try:
        frame_of = engine.followed_analyser(snap)
        try:
            keys, painted = snap.propagation_inputs(lambda n: frame_of(n).regions)
        except CadmiumError as exc:
            raise CadmiumError(f"{project_path}: {exc}") from None
        if not keys:
            raise CadmiumError(
                f"{project_path}: no painted key (paint a frame in the "
                "application and save)"
            )
        return render_shot(
            engine=engine,
            keys=keys,
            palette=snap.palette,
            out=out_dir,
            painted=painted,
            closing=snap.closing,
            placements=snap.placements,
            settings=settings,
            progress=progress,
            cancelled=cancelled,
            started=started,
        )
    finally:
        engine.close()


def check_paint_readable(project: Project, path: str | Path) -> None:
    """Refuse a project whose saved paint of a key of its shot cannot be
    read (a fill file missing or damaged, with no style image to read it
    back from): rendered, that key's paint would be missing from every
    frame it reaches, and the run would say nothing (the application opens
    such a frame unpainted and says so; this is the one-line reason). Any
    other frame lost is painted by propagation, as the run paints it
    anyway; a warning names it."""
    lost = [frame for frame in project.lost_frames if frame in project.shot.line]
    for frame in lost:
        if frame not in project.keys:
            log.warning(
                "%s: %s; it is painted from the keys",
                path,
                unreadable_paint(frame, project.lost_reasons[frame]),
            )
    lost = [frame for frame in lost if frame in project.keys]
    if not lost:
        return
    reason = unreadable_paint(lost[0], project.lost_reasons[lost[0]])
    more = f" (frame(s) {', '.join(map(str, lost[1:]))} too)" if lost[1:] else ""
    raise CadmiumError(f"{path}: {reason}{more}")


def _rendering_engine(shot: Shot, gap: int, matcher: str, device: str) -> ShotEngine:
    """The analysis for a colorize run, its frames' sizes checked."""
    # Propagation holds the frames it works on and hands each to the writers,
    # so the cache only bridges reading the keys' fills and their first use
    # (the first three keys; a later one is segmented again when reached).
    engine = ShotEngine(
        shot=shot, gap=gap, matcher=matcher, device=device, cache_frames=3
    )
    engine.check_sizes()
    if device == "cuda":
        resolve_device(device)  # fail now, not after the keys are read
    return engine


# Pixels of line art analysed ahead for one batched CNN call on a GPU:
# 8 HD frames, 2 4K ones.
BATCH_PIXELS = 8 * 1920 * 1080


def batch_frames(matcher: Matcher, size: tuple[int, int]) -> int:
    """Frames per batched feature call: several on a GPU, one on the CPU
    (where a batch is no faster and only holds more frames in memory)."""
    device = getattr(matcher, "device", None)
    if not hasattr(matcher, "prepare") or getattr(device, "type", "cpu") != "cuda":
        return 1
    return max(1, min(8, BATCH_PIXELS // max(size[0] * size[1], 1)))


def render_shot(
    *,
    engine: ShotEngine,
    keys: Mapping[int, FillMap],
    palette: Palette,
    out: str | Path,
    painted: AnimatorFills | None = None,
    closing: Mapping[int, ClosingLines] | None = None,
    placements: Mapping[int, Placement] | None = None,
    settings: PropagationSettings = PropagationSettings(),
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    started: float | None = None,
) -> ColorizeSummary:
    """Propagate from in-memory keys and write color/, composite/ and
    report.json into ``out`` (all or nothing, like `colorize_shot`).

    ``painted`` holds animator fills to keep on any frame (keys included;
    see `propagate`);
    ``closing``, closing lines drawn by hand on frames (a project's), and
    ``placements`` the drawings they were placed on (they follow a frame
    redrawn since: `ShotEngine.followed`).
    """
    closing = closing or {}
    placements = placements or {}
    started = time.perf_counter() if started is None else started
    shot = engine.shot
    key_numbers = sorted(keys)
    total = len(shot.frames)
    flagged = unpainted = 0
    with StagedOutput(shot, out) as staged:
        frames = shot.frames
        position = {number: i for i, number in enumerate(frames)}
        batch = batch_frames(engine.matcher, engine.size)
        depth = batch + max(2, engine.loader_threads)

        def analyse(number: int) -> Frame:
            # Keys are left out of the read-ahead: propagation holds each
            # key from when it is first needed, so reading it again when its
            # turn comes would only repeat the work.
            # Frames with closing lines are segmented with them, when
            # their turn comes.
            at = position[number]
            upcoming = frames[at + 1 : at + 1 + depth]
            later = [n for n in upcoming if n not in keys and n not in closing]
            engine.prefetch(later)
            lines = closing.get(number, NO_CLOSING)
            return engine.followed(number, lines, placements.get(number))[0]

        results = propagate(
            frames=frames,
            keys=keys,
            analyse=analyse,
            matcher=engine.matcher,
            n_styles=len(palette),
            painted=painted,
            settings=settings,
            cancelled=cancelled,
            batch_frames=batch,
        )
        for done, result in enumerate(results, start=1):
            staged.add(
                result.number,
                result.frame,
                result.fills,
                palette,
                key=result.number in keys,
                keys_used=list(result.keys_used),
                timings_ms={**result.frame.timings, **result.timings},
            )
            flagged += len(result.flagged)
            unpainted += len(result.unpainted)
            if progress is not None:
                progress(done, total)
        if cancelled():
            raise CadmiumError("cancelled; nothing was written")
        staged.wait()  # before the clock is read: "seconds" covers the writes
        out_dir = staged.publish(
            {
                "keys": key_numbers,
                "matcher": engine.matcher.name,
                "gap": engine.gap,
                "flag_below": settings.flag_below,
                "palette": palette.to_json(),
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
    return ColorizeSummary(
        shot=shot.root,
        out=out_dir,
        frames=len(staged.frames),
        keys=tuple(key_numbers),
        flagged_regions=flagged,
        unpainted_regions=unpainted,
        seconds=time.perf_counter() - started,
        matcher=engine.matcher.name,
    )


def _choose_keys(shot: Shot, keys: Sequence[int] | None) -> list[int]:
    if keys is None:
        chosen = sorted(shot.color)
        if not chosen:
            unnamed = unnumbered_images(shot.root / "color")
            if unnamed:
                example = shot.line[min(shot.line)].name
                raise ShotError(
                    f"{shot.root / 'color' / unnamed[0]}: no frame number in its "
                    f"name, so it is not read as a key: name it like its line "
                    f"frame ({example})"
                )
            raise ShotError(
                f"{shot.root}: no keys (paint at least one frame into color/, "
                "or name keys with --keys)"
            )
        return chosen
    chosen = sorted(set(keys))
    for number in chosen:
        if number not in shot.line:
            raise ShotError(f"--keys: frame {number} is not in {shot.root / 'line'}")
        if number not in shot.color:
            raise ShotError(f"--keys: frame {number} has no painted color/ frame")
    if not chosen:
        raise ShotError("--keys: no frames named")
    return chosen
