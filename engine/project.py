"""A painting project: a shot, its palette, the fills of its frames, which
frames are keys, and the undo history of fill edits (Qt-free).

On disk a project is a JSON file (``NAME.cadmium``) next to a folder of
per-frame fill files (``NAME.cadmium.fills/``)::

    NAME.cadmium          {"format": "cadmium-project", "version": 1, "shot": ...,
                           "gap": 2, "palette": [...], "keys": [...],
                           "frames": {"12": {"regions": 31,
                                             "layout": "<hash>",
                                             "fills": "000012-<hash>.npz",
                                             "styles": "000012-<hash>.png"}},
                           "closing": {"12": {"strokes": [[x, y, x, y, ...]],
                                              "openings": [[x, y]]}},
                           "placed": {"12": {"drawing": "<ink hash>",
                                             "layout": "<hash>", "regions": 32,
                                             "file": "000012-<hash>.npz"}}}
    NAME.cadmium.fills/   000012-<hash>.npz   per-region style, origin,
                                              confidence, flag and guesses,
                                              and which region each pixel
                                              was (`Numbering`)
                          000012-<hash>.png   16-bit style-index image: style + 1
                                              per pixel (0 = unpainted), high
                                              bit set on the animator's fills
                          000012-<hash>.npz   (a "placed" file) which region each
                                              pixel was on the drawing the
                                              frame's closing lines lie on

``closing`` holds the closing lines drawn by hand on frames
(`engine.closing_lines`); a project without them reads as before.
``placed`` says which drawing each frame's lines were placed on (its ink's
hash, and in a file of its own the segmentation with them), so they follow
the frame's line art when it is redrawn (`engine.closing_redraw`); a frame
without it keeps its lines where they are.

The region arrays restore a frame exactly while its segmentation is the same
(``layout`` names it: `Regions.layout`); against any other (another gap, a
newer engine, line art redrawn since) they are carried over by position,
from the numbering kept with them or, failing that, from the style-index
image, so fills survive all three. The project does the same while open.

Saving is crash-safe: fill files are named by a hash of their content and
written atomically, so a save never overwrites a file that the previous save
refers to; the JSON is replaced atomically last; only then are files that no
project file refers to deleted. Killing the process at any moment leaves the
previous save or the new one, whole. Autosaves are the same format, written
without the images (they are cheap to write often).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from engine.carry import CarryCache, Carrying, carry
from engine.closing_lines import ClosingLines
from engine.closing_redraw import Followed, Placement
from engine.errors import CadmiumError, ShotError
from engine.fills import (
    ALTERNATIVES,
    ORIGIN_ANIMATOR,
    ORIGIN_PROPAGATED,
    FillMap,
)
from engine.gaps import gap_problem
from engine.history import (
    ClosingCarry,
    ClosingEdit,
    Edit,
    FillEdit,
    FrameDiff,
    GapEdit,
    History,
    PaletteEdit,
    closing_change,
    frame_diff,
)
from engine.imageio import (
    atomic_write_bytes,
    encode_png,
    read_image,
    remove_stale_temporaries,
    resolved,
    temporary_prefix,
)
from engine.jsonfile import read_json
from engine.palette import UNPAINTED, Palette, renumbering
from engine.regions import Numbering, Regions
from engine.shot import Shot, open_shot
from engine.style_image import StyleImage, decode_style_image, encode_style_image

log = logging.getLogger(__name__)

FORMAT = "cadmium-project"
VERSION = 1
PROJECT_SUFFIX = ".cadmium"
_FILL_FILE = re.compile(r"^\d{6}-[0-9a-f]{20}\.(npz|png)$")

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class FillMode(StrEnum):
    """What a click of the fill tool does to the region under it."""

    PAINT = "paint"  # paint with the current style, whatever was there
    PAINT_UNPAINTED = "paint-unpainted"  # only regions nobody painted
    UNPAINT = "unpaint"  # clear, and keep the region clear when propagating


@dataclass(frozen=True)
class FrameStatus:
    """What the timeline shows for a frame."""

    number: int
    key: bool
    has_fills: bool
    propagated: bool
    regions: int
    unpainted: int  # regions that need paint
    flagged: int  # painted regions flagged for review (unpainted ones not again)


def data_dir_for(path: Path) -> Path:
    """The folder of fill files that belongs to a project file."""
    return path.with_name(path.name + ".fills")


def project_file(path: Path) -> Path:
    """The file a project path names: a link's target, else the path as
    given. The fill folder lies beside the real file, and a save writes that
    file (replacing the link by a file would cut it from its fill folder).
    A link that loops is left for reading it to say so."""
    return resolved(path) if path.is_symlink() else path


def autosave_path_for(path: Path) -> Path:
    """The autosave written beside a saved project (it shares the fill files)."""
    return path.with_name(f".{path.name}.autosave")


def unreadable_paint(frame: int, reason: str) -> str:
    """The message for a frame whose saved paint cannot be read."""
    return f"the saved paint of frame {frame} cannot be read: {reason}"


def fit(fills: FillMap | None, layout: str | None, regions: Regions) -> bool:
    """Whether fills numbered by the segmentation ``layout`` names
    (`Regions.layout`; None: not known, from a project saved before layouts
    were) are fills of ``regions``, region by region."""
    if fills is None or len(fills) != regions.count:
        return False
    return layout is None or layout == regions.layout


def resolve_fills(
    fills: FillMap | None,
    image: StyleImage | None,
    regions: Regions,
    n_styles: int,
    layout: str | None = None,
    numbering: Numbering | None = None,
    carries: CarryCache | None = None,
) -> FillMap | None:
    """Stored fills if they fit ``regions`` (see `fit`); else carried by
    position from the segmentation they are numbered by, when ``numbering``
    is that one (its layout is ``layout``; see `carry` for ``carries``);
    else re-read from the style image, which must name styles of a palette
    of ``n_styles`` (CadmiumError when it names others: a project file
    edited by hand)."""
    if fit(fills, layout, regions):
        return fills
    if fills is not None and numbering is not None and numbering.layout == layout:
        carried = carry(fills, numbering, regions, carries)
        if carried is not None:
            return carried
    if image is None:
        if fills is not None and len(fills):
            log.warning("fills of %d regions fit other regions", len(fills))
        return None
    pixels = image.read()  # (its errors name the file)
    try:
        decoded = decode_style_image(regions, pixels)
    except CadmiumError as exc:
        raise CadmiumError(f"{image.path}: {exc}") from None
    if len(decoded) and int(decoded.style.max()) >= n_styles:
        raise CadmiumError(
            f"{image.path}: names style {int(decoded.style.max()) + 1}, "
            f"and the palette has {n_styles}"
        )
    return decoded


# -- the project -------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of a project, for work on other threads."""

    shot: Shot
    palette: Palette
    gap: int
    keys: frozenset[int]
    fills: Mapping[int, FillMap]
    images: Mapping[int, StyleImage]
    revision: int
    layouts: Mapping[int, str] = field(default_factory=dict)  # Project._layouts
    numberings: Mapping[int, Numbering] = field(default_factory=dict)
    generation: int = 0
    closing: Mapping[int, ClosingLines] = field(default_factory=dict)
    opened_images: frozenset[Path] = frozenset()  # see Project.opened_images
    placements: Mapping[int, Placement] = field(default_factory=dict)
    # The project's (thread-safe): a run that carries a redrawn frame's
    # fills saves the project working out the same again.
    carries: CarryCache | None = field(default=None, compare=False)

    def fills_for(self, frame: int, regions: Regions) -> FillMap | None:
        return resolve_fills(
            self.fills.get(frame),
            self.images.get(frame),
            regions,
            len(self.palette),
            self.layouts.get(frame),
            self.numberings.get(frame),
            self.carries,
        )

    @property
    def painted_frames(self) -> list[int]:
        """Frames of the shot with fills or a style image (those of frames
        gone from its line folder are kept out of sight: Project.relist)."""
        return sorted((set(self.fills) | set(self.images)) & set(self.shot.line))

    def propagation_inputs(
        self, regions_of: Callable[[int], Regions]
    ) -> tuple[dict[int, FillMap], AnimatorPaint]:
        """(keys, painted): key frame fills, and every frame's animator fills
        (`propagate`'s ``painted``). Only keys, and frames known by a style
        image alone, are analysed here (``regions_of``); a frame saved with
        fills is fitted when propagation analyses it, and one whose fills
        are all propagation's has nothing to keep. Paint that cannot be
        read raises CadmiumError naming the frame (and the file: its style
        image), here or when propagation reaches the frame."""
        keys: dict[int, FillMap] = {}
        read: dict[int, FillMap] = {}
        later: set[int] = set()
        for frame in self.painted_frames:
            stored = self.fills.get(frame)
            if frame not in self.keys and stored is not None:
                if stored.by_animator.any():
                    later.add(frame)
                continue
            fills = self._readable(frame, regions_of(frame))
            if fills is None:
                continue
            if frame in self.keys and fills.painted.any():
                keys[frame] = fills
            if fills.by_animator.any():
                read[frame] = fills
        return keys, AnimatorPaint(self, read, frozenset(later))

    def _readable(self, frame: int, regions: Regions) -> FillMap | None:
        try:
            return self.fills_for(frame, regions)
        except CadmiumError as exc:
            raise CadmiumError(unreadable_paint(frame, str(exc))) from None


@dataclass(frozen=True)
class AnimatorPaint:
    """The animator's fills of a snapshot's frames, for `propagate`: those
    read already, and those fitted to a frame's regions when asked."""

    snapshot: Snapshot
    read: Mapping[int, FillMap]
    later: frozenset[int]

    def __call__(self, frame: int, regions: Regions) -> FillMap | None:
        if frame in self.read:
            return self.read[frame]
        if frame not in self.later:
            return None
        fills = self.snapshot._readable(frame, regions)
        return fills if fills is not None and fills.by_animator.any() else None


@dataclass
class Project:
    """The document the application edits. Mutated on one thread only."""

    shot: Shot
    palette: Palette
    gap: int
    keys: set[int] = field(default_factory=set)
    path: Path | None = None
    history: History = field(default_factory=History)
    # Names the document's content: every change gets a new number, and an
    # undo or redo returns to the number the project had then (so "modified"
    # is a comparison with the revision saved).
    revision: int = 0
    # Counts what a run working from a snapshot cannot build on: undo, redo
    # (the paint it started from may be taken back) and deletions of styles
    # (its fills would name other styles). Touch-ups do not count.
    generation: int = 0
    _issued: int = 0
    _fills: dict[int, FillMap] = field(default_factory=dict)
    _images: dict[int, StyleImage] = field(default_factory=dict)
    # Closing lines drawn by hand, per frame (none: no entry). The engine
    # keeps none: whatever segments a frame names its lines (a snapshot's,
    # through ShotEngine.analyser), so work on a snapshot never sees lines
    # drawn or undone after it was taken.
    _closing: dict[int, ClosingLines] = field(default_factory=dict)
    # The segmentation each frame's fills are numbered by (`Regions.layout`),
    # where known: saved with them, and learnt when a frame is analysed or
    # propagated. Fills of another layout are carried over by position.
    _layouts: dict[int, str] = field(default_factory=dict)
    # How those segmentations number pixels, for that, where known (one
    # may outlive its layout in _layouts: it is used only while they agree).
    # A frame analysed with no fills has its numbering here alone: its
    # first paint is numbered by it.
    _numberings: dict[int, Numbering] = field(default_factory=dict)
    _carries: CarryCache = field(default_factory=CarryCache, compare=False, repr=False)
    # Per frame with closing lines, the drawing they were placed on, where
    # known: they follow the frame's drawing from it (`redraw`).
    _placements: dict[int, Placement] = field(default_factory=dict)
    # Per frame, regions flagged by carrying its fills (take_moved_parts).
    _moved_parts: dict[int, int] = field(default_factory=dict, repr=False)
    # The style images the project was opened with. It may read any of them
    # until it is closed (frames not fitted to their regions yet, what an
    # undo brings back, a job's snapshot), so a save's clean-up keeps them
    # though the file it writes may no longer name them. Style images come
    # only from opening a project.
    opened_images: frozenset[Path] = frozenset()
    # Frames whose saved fills load_project found missing or damaged, each
    # with why (a line naming the file): they open unpainted (the
    # application says so once, after opening; the command line refuses a
    # project whose lost frame is a key).
    lost_reasons: Mapping[int, str] = field(default_factory=dict)
    # Frames a propagation under way will paint. Painting a frame that has
    # no propagated fills makes it a key, but a touch-up on one of these
    # only comes before its propagated fills: it must not make a key.
    awaiting_propagation: frozenset[int] = frozenset()
    # Of those, the frames with no paint of the animator's when it began.
    _bare_at_start: frozenset[int] = frozenset()

    # -- reading
    def fills(self, frame: int) -> FillMap | None:
        return self._fills.get(frame)

    def closing(self, frame: int) -> ClosingLines:
        """The frame's closing lines drawn by hand (none: empty)."""
        return self._closing.get(frame, ClosingLines())

    def fills_for(self, frame: int, regions: Regions) -> FillMap | None:
        """The frame's fills, fitted to ``regions`` (None when it has none)."""
        return resolve_fills(
            self._fills.get(frame),
            self._images.get(frame),
            regions,
            len(self.palette),
            self._layouts.get(frame),
            self._numberings.get(frame),
            self._carries,
        )

    def adopt(self, frame: int, regions: Regions) -> FillMap | None:
        """Fit the stored fills to a segmentation just computed (not an edit).
        Raises CadmiumError when they cannot be: its style image cannot be
        read, or the fills were painted on other regions and neither how
        those were numbered nor a style image is known to carry them over
        (a project saved before either was kept). The frame is then
        unpainted, so it fails once, not each time it is analysed."""
        stored = self._fills.get(frame)
        if fit(stored, self._layouts.get(frame), regions):
            self._note_numberings({frame: regions.numbering})
            return stored
        carried = self._refit(frame, regions.numbering, regions.under_line)
        if carried is not None:
            return carried
        try:
            fitted = self.fills_for(frame, regions)
        except CadmiumError:
            self._forget(frame, regions)
            raise
        if fitted is None:
            self._forget(frame, regions)
            if stored is not None and len(stored):
                raise CadmiumError(
                    "painted on regions the frame no longer has: its line art "
                    "or its segmentation changed since, and the project does "
                    "not say where those regions were"
                )
            return None
        self._fills[frame] = fitted
        self._note_numberings({frame: regions.numbering})
        self._fit_deletions(frame, regions)
        self._images.pop(frame, None)
        return fitted

    def _refit(
        self,
        frame: int,
        numbering: Numbering,
        under_line: np.ndarray | None = None,
        *,
        said: bool = True,
    ) -> FillMap | None:
        """Carry the frame's stored fills to the segmentation ``numbering``
        (``under_line``: its map, when at hand), from the one they are
        numbered by (`engine.carry`); None when that is not known. Not an
        edit: each part keeps its paint, and those that moved are flagged
        (counted for `take_moved_parts` when ``said``). Undo and redo carry
        the history's diffs of the frame the same way when they are
        applied."""
        stored, old = self._fills.get(frame), self._kept_numbering(frame)
        if stored is None or old is None or len(stored) != old.count:
            return None
        how = self._carries.get(old, numbering, under_line)
        if how is None:
            return None
        carried = how.fills(stored)
        moved = int((how.moved(carried) | how.joins(stored)).sum()) if said else 0
        if moved:
            self._moved_parts[frame] = self._moved_parts.get(frame, 0) + moved
        self._fills[frame] = carried
        self._images.pop(frame, None)
        self._note_numberings({frame: numbering})
        return carried

    def take_moved_parts(self, frame: int) -> int:
        """How many of the frame's regions were flagged since last asked
        because, its drawing redrawn, a part moved onto a place painted
        otherwise (`engine.carry.Carrying.moved`)."""
        return self._moved_parts.pop(frame, 0)

    def _kept_numbering(self, frame: int) -> Numbering | None:
        """The numbering of the frame's stored fills, where known."""
        numbering = self._numberings.get(frame)
        if numbering is None or numbering.layout != self._layouts.get(frame):
            return None
        return numbering

    def _kept_numberings(self, frames: Iterable[int]) -> dict[int, Numbering]:
        kept = {frame: self._kept_numbering(frame) for frame in frames}
        return {frame: n for frame, n in kept.items() if n is not None}

    def carry_ahead(self, frame: int) -> Callable[[Regions], None] | None:
        """Work for the thread that analyses the frame, to be done before
        `adopt` sees it: when it was redrawn, how to carry its fills to its
        new regions. None when there is nothing it could carry."""
        old = self._kept_numbering(frame)
        if old is None or frame not in self._fills:
            return None
        carries = self._carries

        def work(regions: Regions) -> None:
            if regions.layout != old.layout:
                carries.get(old, regions.numbering, regions.under_line)

        return work

    def _numbering_for(self, frame: int, count: int) -> Numbering | None:
        """The segmentation of ``count`` regions an edit of the frame is
        numbered by, where known: its fills', or the one it was analysed
        with when it has none."""
        numbering = self._numberings.get(frame)
        if numbering is None or numbering.count != count:
            return None
        layout = self._layouts.get(frame)
        if frame in self._fills and layout is not None and layout != numbering.layout:
            return None
        return numbering

    def _forget(self, frame: int, regions: Regions) -> None:
        """The frame unpainted, on ``regions`` (its first paint's)."""
        self._fills.pop(frame, None)
        self._images.pop(frame, None)
        self._layouts.pop(frame, None)
        self._numberings[frame] = regions.numbering

    def _fit_deletions(self, frame: int, regions: Regions) -> None:
        """A frame fitted from its style image has fills that style deletions
        in the history never saw (they renumbered the image instead): give
        those edits the frame's fills before and after, read from the image
        both ways, so undoing or redoing one recolours the frame rightly.
        Only the edits since the last gap change: before it, the frame had
        other regions, and a gap change's undo restores its fills whole."""
        pixels: np.ndarray | None = None  # every version reads one file
        # Both stacks hold the edits nearest to now last.
        for stack in (self.history.undo_stack, self.history.redo_stack):
            for step in reversed(stack):
                edit = step.edit
                if isinstance(edit, GapEdit) or closing_change(edit, frame) is not None:
                    break
                if not isinstance(edit, PaletteEdit) or frame in edit.frames:
                    continue
                images = edit.images_before.get(frame), edit.images_after.get(frame)
                if images[0] is None or images[1] is None:
                    continue
                try:
                    if pixels is None:
                        pixels = read_image(images[0].path)
                    before, after = (
                        decode_style_image(regions, image.numbered(pixels))
                        for image in images
                    )
                except CadmiumError as exc:
                    log.warning("frame %d: %s; its undo reads the image", frame, exc)
                    continue
                edit.fitted[frame] = (before, after, regions.numbering)

    @property
    def lost_frames(self) -> list[int]:
        """The frames of `lost_reasons`, in order."""
        return sorted(self.lost_reasons)

    @property
    def painted_frames(self) -> list[int]:
        """Frames of the shot with fills (those of frames gone from the
        shot's line folder are kept, out of sight: see `relist`)."""
        return sorted(set(self._fills) & set(self.shot.line))

    def relist(self, shot: Shot) -> tuple[list[int], list[int]]:
        """The shot's line frames as its folder holds them now
        (`engine.shot.rescan`): returns the frames (added, removed). Not an
        edit: the frames belong to the folder. A removed frame's fills,
        key mark and history stay, out of sight, saved with the project:
        a drawing deleted by mistake, or replaced by a delete and a write,
        comes back painted (carried to its regions if it was redrawn)."""
        if shot.root != self.shot.root:
            raise ValueError(f"{shot.root} is not this project's shot folder")
        before, now = set(self.shot.line), set(shot.line)
        self.shot = shot
        return sorted(now - before), sorted(before - now)

    def status(self, frame: int) -> FrameStatus:
        fills = self._fills.get(frame)
        key = frame in self.keys
        if fills is None:
            return FrameStatus(frame, key, False, False, 0, 0, 0)
        return FrameStatus(
            number=frame,
            key=key,
            has_fills=True,
            propagated=bool((fills.origin == ORIGIN_PROPAGATED).any()),
            regions=len(fills),
            unpainted=int(fills.needs_paint.sum()),
            flagged=int((fills.flagged & ~fills.needs_paint).sum()),
        )

    def problems(self, frame: int) -> np.ndarray:
        """Region indices needing a look on a frame: unpainted (not on
        purpose) or flagged."""
        fills = self._fills.get(frame)
        if fills is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(fills.needs_paint | fills.flagged)

    def next_problem(
        self, frame: int, region: int | None
    ) -> tuple[int, int | None] | None:
        """The next (frame, region) needing a look after ``(frame, region)``,
        in frame order, wrapping around (to the input itself when it is the
        last one left); a frame without fills counts as one problem (region
        None). None when nothing needs a look."""
        frames = self.shot.frames
        start = frames.index(frame) if frame in frames else 0
        here = self.problems(frame)
        later = here[here > (-1 if region is None else region)]
        if len(later):
            return frame, int(later[0])
        for step in range(1, len(frames) + 1):
            number = frames[(start + step) % len(frames)]
            if number not in self._fills:
                return number, None
            found = self.problems(number)
            if len(found):
                return number, int(found[0])
        return None

    def snapshot(self) -> Snapshot:
        return Snapshot(
            shot=self.shot,
            palette=self.palette,
            gap=self.gap,
            keys=frozenset(self.keys),
            fills=MappingProxyType(dict(self._fills)),
            images=MappingProxyType(dict(self._images)),
            revision=self.revision,
            layouts=MappingProxyType(dict(self._layouts)),
            numberings=MappingProxyType(dict(self._numberings)),
            generation=self.generation,
            closing=MappingProxyType(dict(self._closing)),
            opened_images=self.opened_images,
            carries=self._carries,
            placements=MappingProxyType(dict(self._placements)),
        )

    # -- building edits (nothing changes until an edit is committed)
    def fill_edit(
        self,
        frame: int,
        count: int,
        regions: Iterable[int],
        style: int,
        mode: FillMode,
        *,
        stroke: int = 0,
    ) -> FillEdit | None:
        """A click of the fill tool on ``regions`` of a frame with ``count``
        regions; None when it would change nothing."""
        current = self._fills.get(frame)
        if current is not None and len(current) != count:
            current = None  # stale segmentation: adopt() should have run
        base = current if current is not None else FillMap.empty(count)
        index = np.asarray(sorted(set(regions)), np.int64)
        if mode is FillMode.PAINT_UNPAINTED:
            index = index[base.style[index] == UNPAINTED]
        if mode is FillMode.UNPAINT:
            new_style, new_origin, confidence = UNPAINTED, ORIGIN_ANIMATOR, 0.0
        else:
            new_style, new_origin, confidence = style, ORIGIN_ANIMATOR, 1.0
        after = FillMap(
            base.style.copy(),
            base.origin.copy(),
            base.confidence.copy(),
            base.flagged.copy(),
            base.alternatives,
        )
        after.style[index] = new_style
        after.origin[index] = new_origin
        after.confidence[index] = confidence
        after.flagged[index] = False
        numbering = self._numbering_for(frame, count)
        diff = frame_diff(frame, current, after, index, numbering)
        if diff is None or len(diff.regions) == 0:
            return None
        becomes_key = (
            mode is not FillMode.UNPAINT
            and frame not in self.keys
            and frame not in self.awaiting_propagation
            and not (base.origin == ORIGIN_PROPAGATED).any()
        )
        label = {
            FillMode.PAINT: "Fill",
            FillMode.PAINT_UNPAINTED: "Fill unpainted",
            FillMode.UNPAINT: "Unpaint",
        }[mode]
        return FillEdit(
            label=label,
            diffs=(diff,),
            keys_added=frozenset({frame}) if becomes_key else frozenset(),
            stroke=stroke,
        )

    def accept_edit(
        self, frame: int, count: int, regions: Iterable[int] | None = None
    ) -> FillEdit | None:
        """The animator's word that flagged fills are right: each flagged
        region among ``regions`` (every flagged region of the frame when
        None) that propagation painted keeps its style as the animator's
        fill (sure, no flag; propagation never changes it again). A flagged
        region left unpainted has no colour to accept and stays as it is.
        None when nothing is accepted. ``count`` is the frame's region
        count, as in fill_edit."""
        current = self._fills.get(frame)
        if current is None or len(current) != count:
            return None
        index = np.flatnonzero(current.flagged & current.painted)
        if regions is not None:
            index = np.intersect1d(index, np.fromiter(regions, np.int64))
        if len(index) == 0:
            return None
        after = current.with_styles(index, current.style[index], ORIGIN_ANIMATOR)
        numbering = self._numbering_for(frame, count)
        diff = frame_diff(frame, current, after, index, numbering)
        if diff is None:
            return None
        label = "Accept" if len(index) == 1 else f"Accept {len(index)} regions"
        return FillEdit(label=label, diffs=(diff,))

    def propagation_edit(
        self,
        results: Mapping[int, FillMap],
        label: str,
        numberings: Mapping[int, Numbering] | None = None,
        seen: Mapping[int, Numbering] | None = None,
    ) -> FillEdit | None:
        """Propagated fills as one edit; the animator's fills stay as they are
        (including any painted while the run was going). None when it would
        change nothing the animator sees: a run that only ranks the guesses
        otherwise, or is surer or less sure of colours it keeps, is no undo
        step of its own.

        ``numberings``: the segmentation of each frame the results are
        numbered by; ``seen``: the project's numberings when the run began
        (`Snapshot.numberings`). A frame redrawn meanwhile has results and
        stored fills numbered by two drawings: the newer wins, and the other
        is carried to it by position: the run's when the project has seen
        the frame anew since it began (shown again, painted on), else the
        project's. Stored fills whose numbering is not known are not merged
        (the results hold them, read from the style image)."""
        diffs = []
        images: dict[int, StyleImage] = {}
        seen = seen or {}
        for frame in sorted(results):
            new = results[frame]
            numbering = (numberings or {}).get(frame)
            if numbering is not None:
                # The one kept already where it is the same, not a copy per run.
                numbering = self._same_numbering(frame, numbering)
                if self._layouts.get(frame) not in (None, numbering.layout):
                    newer = self._seen_since(frame, seen.get(frame))
                    if newer is not None:
                        new, numbering = self._results_carried(new, numbering, newer)
                    else:
                        # The run's results replace what is carried here.
                        self._refit(frame, numbering, said=False)
            current = self._fills.get(frame)
            known = self._layouts.get(frame)
            if current is not None and (
                len(current) != len(new)
                or (known and numbering and known != numbering.layout)
            ):
                current = None
            if current is None and frame in self._images:
                # Its painting, read from the image, is in the results (the
                # run took it as the animator's); undo brings the image back.
                images[frame] = self._images[frame]
            merged = new if current is None else current.merged_under(new)
            diff = frame_diff(frame, current, merged, numbering=numbering)
            if diff is not None:
                diffs.append(diff)
        if not any(diff.visible for diff in diffs):
            return None
        return FillEdit(
            label=label, diffs=tuple(diffs), images_before=MappingProxyType(images)
        )

    def _seen_since(self, frame: int, then: Numbering | None) -> Numbering | None:
        """The numbering of the frame's stored fills, when the project came
        to it after ``then`` (its numbering when a run began)."""
        now = self._kept_numbering(frame)
        if now is None or (then is not None and then.layout == now.layout):
            return None
        return now

    def _results_carried(
        self, results: FillMap, numbering: Numbering, to: Numbering
    ) -> tuple[FillMap, Numbering]:
        """A run's results carried to the segmentation ``to`` (as they are
        when that cannot be worked out)."""
        if len(results) != numbering.count:
            return results, numbering
        how = self._carries.get(numbering, to)
        if how is None:
            return results, numbering
        return how.fills(results), to

    def _same_numbering(self, frame: int, numbering: Numbering) -> Numbering:
        kept = self._numberings.get(frame)
        if kept is not None and kept.layout == numbering.layout:
            return kept
        return numbering

    def begin_propagation(self, targets: Iterable[int]) -> None:
        """A run that will paint ``targets`` is under way (see
        awaiting_propagation). A run begun again before the last one ended
        (its result was refused) keeps the frames that were bare then: a
        touch-up made meanwhile stays a touch-up."""
        self.awaiting_propagation = frozenset(targets) - self.keys
        self._bare_at_start = self._bare_at_start | frozenset(
            frame
            for frame in self.awaiting_propagation
            if not self._animator_painted(frame)
        )

    def end_propagation(self) -> FillEdit | None:
        """The run under way is over (done, cancelled or refused). Frames
        touched up meanwhile that it did not paint become keys, as the
        touch-up would have made them without the run; a frame painted
        before it began (a key unmarked) stays as it was."""
        frames = frozenset(
            frame
            for frame in self._bare_at_start - self.keys
            if self._animator_painted(frame)
            and not (self._fills[frame].origin == ORIGIN_PROPAGATED).any()
        )
        self.awaiting_propagation = self._bare_at_start = frozenset()
        return FillEdit("Mark key", (), keys_added=frames) if frames else None

    def _animator_painted(self, frame: int) -> bool:
        fills = self._fills.get(frame)
        return fills is not None and bool((fills.painted & fills.by_animator).any())

    def key_edit(self, frame: int, key: bool) -> FillEdit | None:
        if key == (frame in self.keys):
            return None
        if key:
            return FillEdit("Mark key", (), keys_added=frozenset({frame}))
        return FillEdit("Unmark key", (), keys_removed=frozenset({frame}))

    def palette_edit(self, palette: Palette, label: str) -> PaletteEdit | None:
        if palette == self.palette:
            return None
        return PaletteEdit(label=label, before=self.palette, after=palette)

    def style_use(self, index: int) -> tuple[int, int]:
        """(regions, frames) painted with style ``index``. Frames not yet
        fitted to their regions (their fills only in a saved style image)
        count as frames, their regions not."""
        counts = [int((fills.style == index).sum()) for fills in self._fills.values()]
        unfitted = sum(
            1
            for frame, image in self._images.items()
            if len(self._fills.get(frame, ())) == 0 and image.shows(index)
        )
        return sum(counts), sum(1 for n in counts if n) + unfitted

    def style_deletion(self, index: int, replacement: int | None) -> PaletteEdit:
        """The edit that deletes style ``index``: the regions painted with it
        take style ``replacement`` (its index now; None leaves them blank),
        and every frame's fills, and saved style images, are renumbered for
        the styles after it."""
        new_index = renumbering(len(self.palette), index, replacement)
        before: dict[int, FillMap] = {}
        after: dict[int, FillMap] = {}
        for frame, fills in self._fills.items():
            renumbered = fills.renumbered(new_index)
            if renumbered.differs(fills).any():
                before[frame], after[frame] = fills, renumbered
        return PaletteEdit(
            label=f"Delete style {self.palette[index].name}",
            before=self.palette,
            after=self.palette.without(index),
            deleted=index,
            fills_before=MappingProxyType(before),
            fills_after=MappingProxyType(after),
            images_before=MappingProxyType(dict(self._images)),
            images_after=MappingProxyType(
                {f: image.renumbered(new_index) for f, image in self._images.items()}
            ),
            numberings=MappingProxyType(self._kept_numberings(before)),
            layouts=MappingProxyType(
                {f: self._layouts[f] for f in before if f in self._layouts}
            ),
        )

    # -- changing
    def commit(self, edit: Edit) -> None:
        """Apply a new edit and record it in the history."""
        before = self.revision
        self.apply(edit)
        self.history.record(edit, before, self.revision)

    def undo(self) -> Edit | None:
        step = self.history.take_undo()
        if step is None:
            return None
        self.generation += 1
        self.apply(step.edit, forward=False)
        self.revision = step.before
        return step.edit

    def redo(self) -> Edit | None:
        step = self.history.take_redo()
        if step is None:
            return None
        self.generation += 1
        self.apply(step.edit)
        self.revision = step.after
        return step.edit

    def _new_revision(self) -> None:
        self._issued = max(self._issued, self.revision) + 1
        self.revision = self._issued

    def apply(self, edit: Edit, *, forward: bool = True) -> None:
        """Apply an edit (or revert it) without touching the history."""
        self._new_revision()
        if isinstance(edit, PaletteEdit):
            self.palette = edit.after if forward else edit.before
            for frame, fills in edit.fills(forward).items():
                # Carried by `adopt` when the frame has other regions now.
                self._fills[frame] = fills
                numbering, layout = edit.numbering(frame), edit.layout(frame)
                if numbering is not None:
                    self._note_numberings({frame: numbering})
                elif layout is not None:
                    self._layouts[frame] = layout
                else:
                    self._layouts.pop(frame, None)
            self._images.update(edit.images_after if forward else edit.images_before)
            if edit.renumbers:
                self.generation += 1
            return
        if isinstance(edit, ClosingEdit):
            self._apply_closing(edit, forward)
            return
        if isinstance(edit, ClosingCarry):
            for change in edit.edits if forward else reversed(edit.edits):
                self._apply_closing(change, forward)
            return
        if isinstance(edit, GapEdit):
            self.gap = edit.gap_after if forward else edit.gap_before
            self._fills = dict(edit.fills_after if forward else edit.fills_before)
            images = edit.images_after if forward else edit.images_before
            self._images = dict(images)
            # Numberings of the other gap's regions would number a first
            # paint wrongly: frames are analysed anew before they are painted.
            self._numberings = {}
            if forward:
                self._layouts = dict(edit.layouts_after)
                self._note_numberings(edit.numberings_after)
            else:
                self._layouts = dict(edit.layouts_before)
                self._numberings.update(edit.numberings_before)
            return
        for diff in edit.diffs:
            if not forward and not diff.existed:
                self._fills.pop(diff.frame, None)
                self._layouts.pop(diff.frame, None)
                image = edit.images_before.get(diff.frame)
                if image is not None:  # as load_project leaves such a frame
                    self._images[diff.frame] = image
                    self._fills[diff.frame] = FillMap.empty(0)
                continue
            self._apply_diff(diff, forward)
        added, removed = edit.keys_added, edit.keys_removed
        if not forward:
            added, removed = removed, added
        self.keys = (self.keys | added) - removed

    def _apply_closing(self, edit: ClosingEdit, forward: bool) -> None:
        frame = edit.frame
        lines, fills, numbering = edit.side(forward)
        placed = edit.placed_after if forward else edit.placed_before
        if lines:
            self._closing[frame] = lines
        else:
            self._closing.pop(frame, None)
        if lines and placed is not None:
            self._placements[frame] = placed
        else:
            self._placements.pop(frame, None)
        self._images.pop(frame, None)
        self._layouts.pop(frame, None)
        if fills is None:
            self._fills.pop(frame, None)
        else:
            self._fills[frame] = fills
        if numbering is not None:
            if fills is None:
                self._numberings[frame] = numbering  # a first paint's
            else:
                self._note_numberings({frame: numbering})
        if not forward:
            if numbering is None and edit.layout_before is not None:
                self._layouts[frame] = edit.layout_before
            if edit.image_before is not None:
                self._images[frame] = edit.image_before

    def _apply_diff(self, diff: FrameDiff, forward: bool) -> None:
        """One frame's diff, carried first to the regions the frame's fills
        are numbered by now when the frame was redrawn since it was made
        (to those it was last seen with, when it has no fills)."""
        frame = diff.frame
        current = self._fills.get(frame)
        fresh = current is None or not diff.existed
        found = self._diff_here(diff, fresh=fresh)
        if found is None:
            log.warning(
                "frame %d: %s skipped: the frame's regions changed and the "
                "project does not know where they were",
                frame,
                "a redo" if forward else "an undo",
            )
            return
        diff, how = found
        if fresh or current is None or len(current) != diff.count:
            # Fills of a frame that had none before the edit are all its
            # own (any there, of another segmentation, were not merged).
            current = FillMap.empty(diff.count)
            fresh = True
        values = diff.after if forward else diff.before
        applied = values.put(current, diff.regions)
        if how is not None:
            applied = how.checked(applied, diff.regions)
        self._fills[frame] = applied
        self._images.pop(frame, None)
        if diff.numbering is not None and (fresh or self._layouts.get(frame) is None):
            self._note_numberings({frame: diff.numbering})

    def regions_changed(self, diff: FrameDiff) -> np.ndarray:
        """The regions ``diff`` changes on the frame's regions now (the ones
        its fills are numbered by), to show an undo where it happened."""
        found = self._diff_here(diff, fresh=diff.frame not in self._fills)
        return found[0].regions if found is not None else np.zeros(0, np.int64)

    def _diff_here(
        self, diff: FrameDiff, *, fresh: bool
    ) -> tuple[FrameDiff, Carrying | None] | None:
        """``diff`` on the segmentation the frame's stored fills are numbered
        by (``fresh``: the frame's fills start anew, on the segmentation it
        was last seen with); itself when that is its own, or either is not
        known; None when it cannot be carried there. With it, how it was
        carried (None: as it is)."""
        if diff.numbering is None:
            return diff, None
        if fresh:
            here = self._numberings.get(diff.frame)
            if here is None or here.layout == diff.numbering.layout:
                return diff, None
        else:
            layout = self._layouts.get(diff.frame)
            if layout in (None, diff.numbering.layout):
                return diff, None
            here = self._kept_numbering(diff.frame)
            if here is None:
                return None
        how = self._carries.get(diff.numbering, here)
        return None if how is None else (diff.carried(how.source, here), how)

    def _note_numberings(self, numberings: Mapping[int, Numbering]) -> None:
        """Fills just committed for these frames are numbered as these say."""
        self._numberings.update(numberings)
        self._layouts.update((frame, n.layout) for frame, n in numberings.items())

    def set_fills(
        self, frame: int, fills: FillMap, numbering: Numbering | None = None
    ) -> None:
        """Fills that are not an edit (a key read from the shot's colour
        frames), numbered by ``numbering`` when it is known."""
        self._fills[frame] = fills
        self._images.pop(frame, None)
        self._layouts.pop(frame, None)
        if numbering is not None and numbering.count == len(fills):
            self._note_numberings({frame: numbering})
        self._new_revision()

    def closing_edit(
        self,
        frame: int,
        lines: ClosingLines,
        fills: FillMap | None,
        numbering: Numbering,
        label: str,
        placed: Placement | None = None,
    ) -> ClosingEdit:
        """The edit that gives the frame closing lines ``lines``, with its
        fills carried to its regions then (``fills``, numbered as
        ``numbering`` says; None: it has none); ``placed``: the drawing
        they are drawn on (`Placement.of` the frame analysed with them)."""
        return ClosingEdit(
            label=label,
            frame=frame,
            lines_before=self.closing(frame),
            lines_after=lines,
            fills_before=self._fills.get(frame),
            fills_after=fills,
            numbering_before=self._numberings.get(frame)
            if frame not in self._fills
            else self._kept_numbering(frame),
            numbering_after=numbering,
            layout_before=self._layouts.get(frame),
            image_before=self._images.get(frame),
            placed_before=self._placements.get(frame),
            placed_after=placed,
        )

    def left_closing(self, frame: int, lines: ClosingLines) -> ClosingEdit | None:
        """The change that gave the frame its closing lines now, from
        ``lines``, when it is the frame's latest and nothing since renumbers
        styles or regions: its fills let a return to ``lines`` restore what
        was painted there (see `left_gap`)."""
        for step in reversed(self.history.undo_stack):
            edit = step.edit
            if isinstance(edit, GapEdit) or (
                isinstance(edit, PaletteEdit) and edit.renumbers
            ):
                return None
            change = closing_change(edit, frame)
            if change is not None:
                back = change.lines_before == lines
                now = change.lines_after == self.closing(frame)
                return change if back and now else None
        return None

    def placement(self, frame: int) -> Placement | None:
        """The drawing the frame's closing lines were placed on: they follow
        its drawing from there if it was redrawn since
        (`ShotEngine.followed`); None when it has none, or that is not
        known (a project saved before it was kept)."""
        return self._placements.get(frame) if frame in self._closing else None

    def follow_redraw(
        self, frame: int, lines: ClosingLines, followed: Followed
    ) -> bool:
        """The frame's closing ``lines`` moved with its new drawing (not an
        edit: an undo puts back lines where they were placed, and they
        follow again); False when they are not its lines now (changed
        meanwhile). Its fills follow when it is adopted with the regions
        ``followed`` gives."""
        if self.closing(frame) != lines:
            return False
        if followed.lines != lines:
            if followed.lines:
                self._closing[frame] = followed.lines
            else:
                self._closing.pop(frame, None)
            self._new_revision()
        self._placements[frame] = followed.placed
        return True

    def left_gap(self, gap: int) -> GapEdit | None:
        """The gap change that took the project from ``gap`` to its gap now,
        when that is the latest gap change in the history: its fills before
        and after let a return to ``gap`` restore what was painted there."""
        for step in reversed(self.history.undo_stack):
            if isinstance(step.edit, PaletteEdit) and step.edit.renumbers:
                return None  # the fills kept then are numbered otherwise
            if isinstance(step.edit, GapEdit):
                edit = step.edit
                if edit.gap_before == gap and edit.gap_after == self.gap:
                    return edit
                return None
        return None

    def gap_edit(
        self,
        gap: int,
        fills: Mapping[int, FillMap],
        numberings: Mapping[int, Numbering] | None = None,
    ) -> GapEdit:
        """The edit that moves the project to gap ``gap`` with ``fills``
        (carried over to its segmentation, numbered as ``numberings`` say).
        Painted frames that ``fills`` leaves out (deleted on disk, before or
        during the change) keep their fills as they are, on the regions they
        were painted on: carried to the new gap's if the drawing comes back."""
        fills_after, numberings_after = dict(fills), dict(numberings or {})
        layouts_after: dict[int, str] = {}
        images_after: dict[int, StyleImage] = {}
        for frame in (set(self._fills) | set(self._images)) - set(fills_after):
            if not self.shot.gone(frame):
                continue  # left out on purpose: its fills fit no regions
            if frame in self._fills:
                fills_after[frame] = self._fills[frame]
            kept = self._kept_numbering(frame)
            if kept is not None:
                numberings_after[frame] = kept
            elif frame in self._layouts:
                layouts_after[frame] = self._layouts[frame]
            if frame in self._images:
                images_after[frame] = self._images[frame]
        return GapEdit(
            label=f"Close gaps up to {gap} px",
            gap_before=self.gap,
            gap_after=gap,
            fills_before=MappingProxyType(dict(self._fills)),
            fills_after=MappingProxyType(fills_after),
            images_before=MappingProxyType(dict(self._images)),
            layouts_before=MappingProxyType(dict(self._layouts)),
            numberings_before=MappingProxyType(self._kept_numberings(self._fills)),
            numberings_after=MappingProxyType(numberings_after),
            layouts_after=MappingProxyType(layouts_after),
            images_after=MappingProxyType(images_after),
        )


# -- saving and loading -------------------------------------------------------


def _stem(frame: int, fills: FillMap, gap: int, layout: str | None) -> str:
    """A frame's fill files' name, less the suffix: named by content, so a
    save finds what an earlier save wrote."""
    return f"{frame:06d}-{_digest(fills, gap, layout)}"


def _digest(fills: FillMap, gap: int, layout: str | None = None) -> str:
    h = hashlib.blake2b(digest_size=10)
    h.update(f"{VERSION}:{gap}:{len(fills)}:".encode())
    if layout is not None:  # not known: the name a save gave before layouts
        h.update(f"layout {layout}:".encode())
    names = FillMap.field_names()
    if not (fills.alternatives != UNPAINTED).any():
        # Fills without alternatives keep the names saves gave them before
        # alternatives were kept, so a project from then is not rewritten
        # (and every frame segmented again) on its first save.
        names = tuple(n for n in names if n != "alternatives")
    for name in names:
        h.update(np.ascontiguousarray(getattr(fills, name)).tobytes())
    return h.hexdigest()


def _encode_npz(fills: FillMap, numbering: Numbering | None) -> bytes:
    """A fill file; with the numbering the fills are numbered by, when known."""
    arrays = {
        "style": fills.style.astype(np.int32),
        "origin": fills.origin.astype(np.uint8),
        "confidence": fills.confidence.astype(np.float32),
        "flagged": fills.flagged.astype(bool),
        "alternatives": fills.alternatives.astype(np.int32),
    }
    if numbering is not None:
        arrays["numbering"] = np.frombuffer(numbering.packed, np.uint8)
        arrays["numbering_shape"] = np.asarray(numbering.shape, np.int64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


# What numpy's reader raises on a damaged or truncated .npz: its zip
# container (BadZipFile, EOFError, an unknown compression method, a flipped
# "encrypted" bit: RuntimeError), the compressed members (zlib.error) and
# the arrays inside (ValueError).
DAMAGED_NPZ = (
    OSError,
    KeyError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
)


def _decode_npz(
    path: Path, count: int, n_styles: int, layout: str | None
) -> tuple[FillMap, Numbering | None]:
    """A fill file's fills, and the numbering they are numbered by (named
    ``layout`` in the project file) when the file keeps one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {
                "style": data["style"].astype(np.int32),
                "origin": data["origin"].astype(np.uint8),
                "confidence": data["confidence"].astype(np.float32),
                "flagged": data["flagged"].astype(bool),
            }
            alternatives = _alternatives(data, count, n_styles)
            numbering = _numbering(data, count, layout)
    except FileNotFoundError:
        raise CadmiumError(f"{path}: fill file not found") from None
    except DAMAGED_NPZ as exc:
        raise CadmiumError(f"{path}: unreadable fill file ({exc})") from None
    if {len(a) for a in arrays.values()} != {count}:
        raise CadmiumError(f"{path}: expected {count} regions")
    style = arrays["style"]
    if ((style >= n_styles) | (style < UNPAINTED)).any():
        raise CadmiumError(f"{path}: fills name styles the palette does not have")
    return FillMap(**arrays, alternatives=alternatives), numbering


def _numbering(
    data: np.lib.npyio.NpzFile, count: int, layout: str | None
) -> Numbering | None:
    """A fill file's numbering, if it keeps one; like alternatives, a hint
    that never fails the frame (a damaged one is found when it is unpacked:
    `Numbering.under_line`)."""
    if layout is None or "numbering" not in data.files:
        return None
    try:
        packed, shape = data["numbering"], data["numbering_shape"]
    except DAMAGED_NPZ:
        return None
    if (
        packed.dtype != np.uint8
        or shape.shape != (2,)
        or not np.issubdtype(shape.dtype, np.integer)
    ):
        return None
    height, width = (int(n) for n in shape)
    return Numbering(layout, (height, width), count, packed.tobytes())


def _alternatives(data: np.lib.npyio.NpzFile, count: int, n_styles: int) -> np.ndarray:
    """A fill file's alternatives (FillMap.alternatives), none where the file
    has none that fit (written before they were kept, or damaged): they are
    a hint, so reading them never fails a frame's fills."""
    none = np.full((count, ALTERNATIVES), UNPAINTED, np.int32)
    if "alternatives" not in data.files:
        return none
    try:
        kept = data["alternatives"]
    except DAMAGED_NPZ:
        return none
    if kept.shape != none.shape or not np.issubdtype(kept.dtype, np.integer):
        return none
    kept = kept.astype(np.int32)
    return np.where((kept >= 0) & (kept < n_styles), kept, UNPAINTED)


def _relative(target: Path, base: Path) -> str:
    try:
        return os.path.relpath(target, base)
    except ValueError:  # another drive (Windows)
        return str(target.resolve())


def save_project(
    snap: Snapshot,
    path: str | Path,
    *,
    data_dir: Path | None = None,
    keep_also: Iterable[Path] = (),
    regions_of: Callable[[int], Regions] | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled = lambda: False,
) -> None:
    """Write a project file and its fill files (see the module docstring).

    regions_of: frame -> its Regions, to write the style-index images; None
                writes the region arrays only (autosave), and so does a
                frame whose line art cannot be read any more (its fills are
                kept, not lost with the save).
    keep_also:  other project files sharing ``data_dir`` whose fill files
                must survive the clean-up (the autosave beside a project).
    """
    path = project_file(Path(path))
    _check_writable(path)
    files = _NewFiles.made_at(data_dir or data_dir_for(path))
    try:
        entries: dict[str, dict[str, Any]] = {}
        frames = sorted(set(snap.fills) | set(snap.images))
        for done, frame in enumerate(frames, start=1):
            if cancelled():
                raise CadmiumError("save cancelled; the previous save is kept")
            entry = _saved_entry(snap, frame, files, regions_of is not None)
            if entry is None:
                entry = _write_entry(snap, frame, files, regions_of)
            if entry is not None:
                entries[str(frame)] = entry
            if progress is not None:
                progress(done, len(frames))
        document = _document(snap, path, files, entries)
        atomic_write_bytes(path, (json.dumps(document, indent=1) + "\n").encode())
    except BaseException:
        files.remove()
        raise
    _collect_garbage(files.folder, [path, *keep_also], also=snap.opened_images)
    # What a save killed half-way (kill -9, power cut) left: its own
    # temporary files, beside the project file and among the fill files.
    remove_stale_temporaries(path.parent, temporary_prefix(path.name))
    remove_stale_temporaries(files.folder)


def _document(
    snap: Snapshot, path: Path, files: _NewFiles, entries: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The project file's content, with the frames' ``entries`` (the
    placements of closing lines written to ``files`` on the way)."""
    shot_root = snap.shot.root.resolve()
    document = {
        "format": FORMAT,
        "version": VERSION,
        "shot": _relative(shot_root, path.parent.resolve()),
        "shot_absolute": str(shot_root),
        "data": _relative(files.folder.resolve(), path.parent.resolve()),
        "gap": snap.gap,
        "palette": snap.palette.to_json(),
        "keys": sorted(snap.keys),
        "frames": entries,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if snap.closing:
        document["closing"] = {
            str(frame): lines.to_json() for frame, lines in sorted(snap.closing.items())
        }
        placed = {
            str(frame): _placement_entry(frame, snap.placements[frame], files)
            for frame in sorted(snap.closing)
            if frame in snap.placements
        }
        if placed:
            document["placed"] = placed
    return document


@dataclass
class _NewFiles:
    """The fill folder a save writes into, and the files it wrote there. A
    save that fails removes them (no project file can name them: fill files
    are named by their content and written only when missing), and the
    folder if the save made it, so it leaves the folder as it found it."""

    folder: Path
    made: bool = False
    written: list[Path] = field(default_factory=list)

    @classmethod
    def made_at(cls, folder: Path) -> _NewFiles:
        made = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, made)

    def write(self, name: str, content: Callable[[], bytes]) -> Path:
        """The folder's file ``name``, written with ``content()`` if missing."""
        path = self.folder / name
        if not path.exists():
            atomic_write_bytes(path, content())
            self.written.append(path)
        return path

    def remove(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)
        if self.made:
            with contextlib.suppress(OSError):  # not empty: not only ours
                self.folder.rmdir()


def _check_writable(path: Path) -> None:
    """Refuse, before anything is written, to save over a read-only project
    file (no write bit at all: made read-only on purpose): the atomic
    replace needs only the folder to be writable, so it would overwrite the
    file (and make it writable) regardless. A file that is only someone
    else's (a colleague's, 0644, in a shared folder) is saved over, as
    before: the folder allows it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # a new file; or one the write itself will say is amiss
    if not mode & 0o222:
        raise CadmiumError(
            f"{path}: the file is read-only; nothing was saved (Save As keeps "
            "your work elsewhere)"
        )


def _saved_entry(
    snap: Snapshot, frame: int, files: _NewFiles, with_styles: bool
) -> dict[str, Any] | None:
    """The entry of a frame's fills already written to the fill folder by an
    earlier save (so the frame need not be segmented again), else None."""
    fills = snap.fills.get(frame)
    if fills is None or len(fills) == 0:
        return None
    layout = snap.layouts.get(frame)
    stem = _stem(frame, fills, snap.gap, layout)
    npz, png = files.folder / f"{stem}.npz", files.folder / f"{stem}.png"
    if not npz.is_file() or (with_styles and not png.is_file()):
        return None
    image = snap.images.get(frame)
    entry = _entry(fills, npz, layout)
    if with_styles:
        entry["styles"] = png.name
    elif image is not None:
        entry["styles"] = _image_entry(frame, image, files)
    return entry


def _write_entry(
    snap: Snapshot,
    frame: int,
    files: _NewFiles,
    regions_of: Callable[[int], Regions] | None,
) -> dict[str, Any] | None:
    """Write a frame's fill files; its entry in the project file (None for a
    frame with nothing painted)."""
    fills: FillMap | None = snap.fills.get(frame)
    image = snap.images.get(frame)
    layout, numbering = snap.layouts.get(frame), snap.numberings.get(frame)
    # A frame gone from the shot's line folder: its fills as they are.
    regions = _regions_or_none(regions_of, frame) if frame in snap.shot.line else None
    regions, fitted = _fitted_for_save(snap, frame, regions)
    if regions is not None and fitted is None and fills is not None and len(fills):
        # Paint the regions cannot take (numbered by a drawing the project
        # cannot place): saved as it is, never dropped.
        log.warning("frame %d: saved on the regions it was painted on", frame)
        regions = None
    elif regions is not None:
        fills, image = fitted, None
        layout, numbering = regions.layout, regions.numbering
    if fills is None or len(fills) == 0:
        if image is None:
            return None
        return {"regions": 0, "styles": _image_entry(frame, image, files)}
    stem = _stem(frame, fills, snap.gap, layout)
    if numbering is not None and numbering.layout != layout:
        numbering = None
    npz = files.write(f"{stem}.npz", lambda: _encode_npz(fills, numbering))
    entry = _entry(fills, npz, layout)
    if regions is not None:
        on = regions
        styles = files.write(
            f"{stem}.png", lambda: encode_png(encode_style_image(on, fills))
        )
        entry["styles"] = styles.name
    elif image is not None:
        entry["styles"] = _image_entry(frame, image, files)
    return entry


def _fitted_for_save(
    snap: Snapshot, frame: int, regions: Regions | None
) -> tuple[Regions | None, FillMap | None]:
    """(regions, the frame's fills fitted to them). When its saved paint
    cannot be read against them (a style image damaged, of another size, or
    naming styles the palette lacks) the frame is saved as it was, on no
    regions: the frame loader finds the same when it comes to the frame,
    and says so; a save neither fails for it (it did until the loader had
    come to the frame first) nor drops it."""
    if regions is None:
        return None, None
    try:
        return regions, snap.fills_for(frame, regions)
    except CadmiumError as exc:
        log.warning("frame %d saved as it was: %s", frame, exc)
        return None, None


def _placement_entry(frame: int, placed: Placement, files: _NewFiles) -> dict[str, Any]:
    """The project file's entry of where a frame's closing lines were
    placed: the drawing's name, and its segmentation in a file of its own
    (named by content, like fill files)."""
    numbering = placed.numbering
    h = hashlib.blake2b(digest_size=10)
    h.update(f"placed:{placed.drawing}:{numbering.layout}:{numbering.count}:".encode())
    h.update(numbering.packed)

    def content() -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            numbering=np.frombuffer(numbering.packed, np.uint8),
            numbering_shape=np.asarray(numbering.shape, np.int64),
        )
        return buffer.getvalue()

    npz = files.write(f"{frame:06d}-{h.hexdigest()}.npz", content)
    return {
        "drawing": placed.drawing,
        "layout": numbering.layout,
        "regions": numbering.count,
        "file": npz.name,
    }


def _read_placement(data_dir: Path, entry: object) -> Placement | None:
    """`_placement_entry`'s placement; None when it cannot be read (a hint:
    the frame's lines then stay where they are when it is redrawn)."""
    if not isinstance(entry, dict):
        return None
    try:
        drawing, layout = str(entry["drawing"]), str(entry["layout"])
        count = int(entry["regions"])
        with np.load(data_dir / Path(str(entry["file"])).name) as data:
            numbering = _numbering(data, count, layout)
    except (TypeError, *DAMAGED_NPZ):
        return None
    return None if numbering is None else Placement(drawing, numbering)


def _entry(fills: FillMap, npz: Path, layout: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"regions": len(fills), "fills": npz.name}
    if layout is not None:
        entry["layout"] = layout
    return entry


def _image_entry(frame: int, image: StyleImage, files: _NewFiles) -> str:
    """The project file's name for a frame's style image: the image itself,
    or, renumbered since styles were deleted, a copy numbered as the palette
    is now (written once, named by what it holds)."""
    if image.new_index is None:
        return _relative(image.path, files.folder)
    name = f"{frame:06d}-{image.digest()}.png"
    return files.write(name, lambda: encode_png(image.read())).name


def _regions_or_none(
    regions_of: Callable[[int], Regions] | None, frame: int
) -> Regions | None:
    if regions_of is None:
        return None
    try:
        return regions_of(frame)
    except CadmiumError as exc:
        log.warning("frame %d saved without its style image: %s", frame, exc)
        return None


def _referenced(saved: Path) -> set[str] | None:
    """The fill files a project file refers to; None when it cannot be read."""
    try:
        document = read_json(saved)
        return {
            Path(name).name
            for entry in document.get("frames", {}).values()
            for name in (entry.get("fills"), entry.get("styles"))
            if name
        } | {entry.get("file") for entry in document.get("placed", {}).values()}
    except (OSError, ValueError, AttributeError):
        return None


def _collect_garbage(
    data_dir: Path, project_files: Iterable[Path], also: Iterable[Path] = ()
) -> None:
    """Delete fill files no project file refers to any more, nor ``also``
    names (nothing at all when one of the project files cannot be read)."""
    here = data_dir.resolve()
    keep = {path.name for path in also if path.parent.resolve() == here}
    for saved in project_files:
        if saved.exists():
            names = _referenced(saved)
            if names is None:
                return
            keep |= names
    for entry in data_dir.iterdir():
        if _FILL_FILE.match(entry.name) and entry.name not in keep:
            entry.unlink(missing_ok=True)


def remove_autosave(
    autosave: Path, owner: Path | None, in_use: Iterable[Path] = ()
) -> None:
    """Delete an autosave and the fill files only it used.

    owner: the saved project the autosave sits beside; they share a fill
    folder, which stays with the fill files the project uses. None for an
    unsaved shot's autosave, whose fill folder is its own and goes whole.
    in_use: style images the open project may still read
    (`Project.opened_images`), which stay.
    Errors are ignored: an autosave left behind costs only disk space."""
    with contextlib.suppress(OSError):
        autosave.unlink(missing_ok=True)
        if owner is None:
            shutil.rmtree(data_dir_for(autosave), ignore_errors=True)
        elif owner.is_file() and data_dir_for(owner).is_dir():
            _collect_garbage(data_dir_for(owner), [owner], also=in_use)


def load_project(path: str | Path, *, history_limit: int = 200) -> Project:
    """Read a project file (a link's target: `project_file`); raises
    CadmiumError with a one-line reason."""
    given = Path(path)
    path = project_file(given)
    try:
        document = read_json(path)
    except FileNotFoundError:
        raise CadmiumError(f"{given}: project file not found") from None
    except (OSError, ValueError) as exc:
        raise CadmiumError(f"{path}: not a readable project ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CadmiumError(f"{path}: not a Cadmium project file")
    version = document.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CadmiumError(f"{path}: damaged project file (version {version!r})")
    if version > VERSION:
        raise CadmiumError(
            f"{path}: written by a newer Cadmium (project format {version}; this "
            f"one reads up to {VERSION})"
        )
    shot = _open_project_shot(path, document)
    try:
        palette = Palette.from_json(document["palette"])
        gap = document["gap"]
        keys = {int(k) for k in document.get("keys", [])}
        data_dir = path.parent / str(document["data"])
        frames = dict(document.get("frames", {}))
        closing = {
            int(frame): ClosingLines.from_json(value)
            for frame, value in dict(document.get("closing", {})).items()
        }
        placed_entries = {
            int(frame): entry
            for frame, entry in dict(document.get("placed", {})).items()
        }
    except (KeyError, TypeError, ValueError, OverflowError, CadmiumError) as exc:
        raise CadmiumError(f"{path}: damaged project file ({exc})") from None
    problem = gap_problem(gap)
    if problem is not None:
        raise CadmiumError(f"{path}: damaged project file (gap {gap!r}: {problem})")
    gap = int(gap)
    fills: dict[int, FillMap] = {}
    images: dict[int, StyleImage] = {}
    layouts: dict[int, str] = {}
    numberings: dict[int, Numbering] = {}
    lost: dict[int, str] = {}
    for name, entry in frames.items():
        try:
            frame = int(name)
        except ValueError:
            log.warning("%s: %r is not a frame number; skipped", path, name)
            continue
        if frame not in shot.line:
            # Kept out of sight, and saved again: it comes back painted
            # if its drawing does (Project.relist).
            log.warning("%s: frame %d is not in the shot's line folder", path, frame)
        if not isinstance(entry, dict) or not (
            entry.get("fills") or entry.get("styles")
        ):
            lost[frame] = "its entry names no fill file"
            continue
        styles = data_dir / str(entry["styles"]) if entry.get("styles") else None
        if styles is not None and styles.is_file():
            images[frame] = StyleImage(styles)
        layout = entry.get("layout")
        layout = layout if isinstance(layout, str) else None
        try:
            if entry.get("fills"):
                fills[frame], numbering = _decode_npz(
                    data_dir / str(entry["fills"]),
                    int(entry["regions"]),
                    len(palette),
                    layout,
                )
                if layout is not None:
                    layouts[frame] = layout
                if numbering is not None:
                    numberings[frame] = numbering
        except (CadmiumError, KeyError, TypeError, ValueError) as exc:
            if frame not in images:
                lost[frame] = _entry_problem(exc)
                continue
            # Said only in detail: should the image fail too, that is said.
            log.info("%s: frame %d read back from its style image", path, frame)
        if frame not in fills and frame in images:
            fills[frame] = FillMap.empty(0)  # fitted from the image when seen
        elif frame not in fills and styles is not None:
            lost[frame] = f"{styles}: style image not found"
    for frame, reason in sorted(lost.items()):
        # Said by the caller (a message, a refusal), and in detail here.
        log.info("%s: frame %d opens unpainted: %s", path, frame, reason)
    return Project(
        shot=shot,
        palette=palette,
        gap=gap,
        keys=keys,
        path=path,
        history=History(limit=history_limit),
        _fills=fills,
        _images=images,
        _closing={frame: lines for frame, lines in closing.items() if lines},
        _placements={
            frame: placed
            for frame, entry in placed_entries.items()
            if closing.get(frame)
            and (placed := _read_placement(data_dir, entry)) is not None
        },
        _layouts=layouts,
        _numberings=numberings,
        opened_images=frozenset(image.path for image in images.values()),
        lost_reasons=MappingProxyType(lost),
    )


def _entry_problem(exc: Exception) -> str:
    """Why a frame's entry gave no fills, for the user: a fill file's own
    error names the file; the entry's own faults are said as such."""
    if isinstance(exc, CadmiumError):
        return str(exc)
    if isinstance(exc, KeyError):
        return f"its entry has no {exc}"
    return f"its entry is damaged ({exc})"


def project_shot_folder(path: str | Path) -> Path | None:
    """The shot folder a project file names (as `load_project` finds it,
    without reading the shot), or None when the file cannot be read or
    names none: loading it says why."""
    file = project_file(Path(path))
    try:
        document = read_json(file)
        if not isinstance(document, dict):
            return None
        candidates = _shot_candidates(file, document)
    except (OSError, ValueError, RuntimeError, CadmiumError):  # (a link loop)
        return None
    return next((c for c in candidates if (c / "line").is_dir()), None)


def _open_project_shot(path: Path, document: dict[str, Any]) -> Shot:
    """The project's shot: where the file says, from the file's folder, or
    failing that where it was when saved. Its errors name the file."""
    candidates = _shot_candidates(path, document)
    for candidate in candidates:
        if (candidate / "line").is_dir():
            try:
                return open_shot(candidate, keys_from_color=False)
            except ShotError as exc:
                raise ShotError(f"{path}: {exc}") from None
    raise ShotError(f"{path}: its shot folder {candidates[0]} is gone")


def _shot_candidates(path: Path, document: dict[str, Any]) -> list[Path]:
    """Where a project's shot may be, in order: where the file says, from
    the file's folder, then where it was when saved."""
    relative, absolute = document.get("shot"), document.get("shot_absolute")
    if not isinstance(relative, str):
        raise CadmiumError(f"{path}: damaged project file (shot {relative!r})")
    joined = path.parent / relative
    # Written plainly where that is the same folder (not ".../proj/../shot":
    # the application suggests output folders beside it, and names it).
    plain = Path(os.path.normpath(joined))
    candidates = [plain if plain.resolve() == joined.resolve() else joined]
    if absolute and isinstance(absolute, str):
        candidates.append(Path(absolute))
    return candidates
