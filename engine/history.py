"""Undo history of a project's edits, stored as diffs (Qt-free).

A fill edit records, for each frame it touched, which regions changed and
their fills before and after (style, origin, confidence, flag and
alternatives), like the label-layer history of napari, and which
segmentation those region numbers are of: a frame whose line art is redrawn
while the edit is in the history has other regions when it is undone, and
the diff is carried to them by position. One click, one drag of the fill
tool or one propagation run is one edit. Palette edits keep the palette
before and after (palettes are small and immutable); one that deletes a
style also keeps the fills of the frames it renumbered, before and after. A
gap change keeps the fills of the whole shot before and after, and a change
of one frame's closing lines that frame's (closing lines carried to several
frames are one such change per frame, undone together).

The application wraps each edit in a thin ``QUndoCommand``; this module knows
nothing of Qt, so the same history drives tests and scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.closing_lines import ClosingLines
from engine.fills import FillMap
from engine.palette import Palette
from engine.regions import Numbering
from engine.style_image import StyleImage

if TYPE_CHECKING:
    from engine.closing_redraw import Placement


@dataclass(frozen=True)
class RegionFills:
    """The fills of some regions of a frame: each FillMap array taken at
    those regions (``values``, in `FillMap.field_names` order)."""

    values: tuple[np.ndarray, ...]

    @staticmethod
    def take(fills: FillMap, regions: np.ndarray) -> RegionFills:
        return RegionFills(
            tuple(getattr(fills, name)[regions] for name in FillMap.field_names())
        )

    def put(self, fills: FillMap, regions: np.ndarray) -> FillMap:
        """A copy of ``fills`` with these values at ``regions``."""
        arrays = []
        for name, value in zip(FillMap.field_names(), self.values, strict=True):
            array = getattr(fills, name).copy()
            array[regions] = value
            arrays.append(array)
        return FillMap(*arrays)


@dataclass(frozen=True)
class FrameDiff:
    """What one edit changed on one frame.

    count:     the frame's region count (a diff only applies to fills of
               that segmentation).
    existed:   whether the frame had fills before the edit; undoing an edit
               that created a frame's fills removes them again.
    numbering: the segmentation ``regions`` number (None: not known; the
               diff applies to any of ``count`` regions).
    """

    frame: int
    count: int
    regions: np.ndarray  # int64 [k], sorted, unique
    before: RegionFills
    after: RegionFills
    existed: bool = True
    numbering: Numbering | None = None

    @property
    def visible(self) -> bool:
        """Whether it changes what the animator sees: a colour or a review
        flag (a frame's first fills always do: the timeline marks it)."""
        if not self.existed:
            return True
        names = FillMap.field_names()
        return any(
            not np.array_equal(self.before.values[i], self.after.values[i])
            for i in (names.index("style"), names.index("flagged"))
        )

    def merged(self, later: FrameDiff) -> FrameDiff:
        """This diff followed by ``later`` (same frame) as one diff."""
        regions = np.union1d(self.regions, later.regions).astype(np.int64)
        base = FillMap.empty(self.count)
        # Before: the earlier diff's values win; after: the later diff's.
        before = self.before.put(later.before.put(base, later.regions), self.regions)
        after = later.after.put(self.after.put(base, self.regions), later.regions)
        return FrameDiff(
            frame=self.frame,
            count=self.count,
            regions=regions,
            before=RegionFills.take(before, regions),
            after=RegionFills.take(after, regions),
            existed=self.existed,
            numbering=self.numbering,
        )

    def carried(self, source: np.ndarray, numbering: Numbering) -> FrameDiff:
        """This diff on another segmentation of the frame, ``numbering``,
        whose region ``j`` lies mostly on this one's region ``source[j]``
        (-1: none): each region there changes as its source region did."""
        position = np.full(self.count + 1, -1, np.int64)  # [-1]: no source
        position[self.regions] = np.arange(len(self.regions))
        taken = position[source]
        regions = np.flatnonzero(taken >= 0).astype(np.int64)
        rows = taken[regions]
        return FrameDiff(
            frame=self.frame,
            count=numbering.count,
            regions=regions,
            before=RegionFills(tuple(v[rows] for v in self.before.values)),
            after=RegionFills(tuple(v[rows] for v in self.after.values)),
            existed=self.existed,
            numbering=numbering,
        )

    def same_regions(self, other: FrameDiff) -> bool:
        """Whether both number the same segmentation (as far as known)."""
        if self.count != other.count:
            return False
        if self.numbering is None or other.numbering is None:
            return True
        return self.numbering.layout == other.numbering.layout


@dataclass(frozen=True)
class FillEdit:
    """One undoable change of fills (and of which frames are keys)."""

    label: str
    diffs: tuple[FrameDiff, ...]
    keys_added: frozenset[int] = frozenset()
    keys_removed: frozenset[int] = frozenset()
    # Edits made by one drag of the fill tool share a stroke id (0: none).
    stroke: int = 0
    # Frames known only by their saved style images when the edit was made
    # (a propagation over frames not shown yet): undoing it puts the image
    # back, to be read when the frame is next shown.
    images_before: Mapping[int, StyleImage] = field(default_factory=dict)

    @property
    def frames(self) -> tuple[int, ...]:
        changed = {d.frame for d in self.diffs} | self.keys_added | self.keys_removed
        return tuple(sorted(changed))

    @property
    def region_count(self) -> int:
        return sum(len(d.regions) for d in self.diffs)

    def merges_with(self, later: FillEdit) -> bool:
        """Whether ``later`` can fold into this edit: on each frame both
        change, they number the same regions."""
        mine = {d.frame: d for d in self.diffs}
        return all(
            d.frame not in mine or mine[d.frame].same_regions(d) for d in later.diffs
        )

    def merged(self, later: FillEdit) -> FillEdit:
        """This edit followed by ``later``, as one edit (see merges_with)."""
        by_frame = {d.frame: d for d in self.diffs}
        for diff in later.diffs:
            earlier = by_frame.get(diff.frame)
            by_frame[diff.frame] = diff if earlier is None else earlier.merged(diff)
        added = (self.keys_added - later.keys_removed) | later.keys_added
        removed = (self.keys_removed - later.keys_added) | later.keys_removed
        return FillEdit(
            label=self.label,
            diffs=tuple(by_frame[f] for f in sorted(by_frame)),
            keys_added=frozenset(added),
            keys_removed=frozenset(removed),
            stroke=self.stroke,
            images_before={**later.images_before, **self.images_before},
        )


@dataclass(frozen=True)
class PaletteEdit:
    """A change of the palette: styles added, renamed, recoloured or deleted.

    Deleting style ``deleted`` moves the styles after it up one place, so
    the fills of every frame that uses them are renumbered with it
    (``fills_before`` and ``fills_after``, only the frames that changed,
    numbered by the segmentations ``numberings`` holds, where known), and so
    is the reading of every saved style image (``images_before`` and
    ``images_after``)."""

    label: str
    before: Palette
    after: Palette
    deleted: int | None = None
    fills_before: Mapping[int, FillMap] = field(default_factory=dict)
    fills_after: Mapping[int, FillMap] = field(default_factory=dict)
    images_before: Mapping[int, StyleImage] = field(default_factory=dict)
    images_after: Mapping[int, StyleImage] = field(default_factory=dict)
    numberings: Mapping[int, Numbering] = field(default_factory=dict)
    layouts: Mapping[int, str] = field(default_factory=dict)  # where known
    # Frames known by their style images alone when the edit was made, and
    # fitted to their regions since (`Project.adopt`): their fills before and
    # after, read from the images both ways, and those regions' numbering.
    # Filled in place, so the edit stays the one its undo command holds.
    fitted: dict[int, tuple[FillMap, FillMap, Numbering]] = field(
        default_factory=dict, compare=False
    )

    def fills(self, forward: bool) -> dict[int, FillMap]:
        """The fills of every frame the edit renumbered, after it (forward)
        or before it."""
        side = 1 if forward else 0
        return {
            **(self.fills_after if forward else self.fills_before),
            **{frame: fitted[side] for frame, fitted in self.fitted.items()},
        }

    def numbering(self, frame: int) -> Numbering | None:
        """The segmentation the frame's fills (either side) are numbered by."""
        if frame in self.fitted:
            return self.fitted[frame][2]
        return self.numberings.get(frame)

    def layout(self, frame: int) -> str | None:
        """Its name (`Regions.layout`), where known."""
        numbering = self.numbering(frame)
        return numbering.layout if numbering else self.layouts.get(frame)

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.fills_after) | set(self.fitted)))

    @property
    def renumbers(self) -> bool:
        """Whether style indices mean other styles after this edit."""
        return self.deleted is not None


@dataclass(frozen=True)
class GapEdit:
    """A new gap-closing setting: every frame segmented anew and its fills
    carried over. Diffs name regions of one segmentation, so this edit keeps
    the whole shot's fills on both sides (one small FillMap per painted
    frame); undoing it restores the old segmentation's fills exactly, and
    with them every edit made before it."""

    label: str
    gap_before: int
    gap_after: int
    fills_before: Mapping[int, FillMap]
    fills_after: Mapping[int, FillMap]
    # Frames of a loaded project not yet fitted to the old segmentation.
    images_before: Mapping[int, StyleImage]
    # The segmentations the fills are numbered by (`Project._layouts`):
    # before, where known, with how each is numbered where that is known
    # too; after, with how each frame is numbered.
    layouts_before: Mapping[int, str] = field(default_factory=dict)
    numberings_before: Mapping[int, Numbering] = field(default_factory=dict)
    numberings_after: Mapping[int, Numbering] = field(default_factory=dict)
    # Frames the change could not segment anew (deleted on disk) keep their
    # fills as they were: the segmentations those are numbered by, and the
    # style images of frames not fitted yet.
    layouts_after: Mapping[int, str] = field(default_factory=dict)
    images_after: Mapping[int, StyleImage] = field(default_factory=dict)

    @property
    def frames(self) -> tuple[int, ...]:
        changed = set(self.fills_before) | set(self.fills_after)
        return tuple(sorted(changed | set(self.images_before)))

    def return_hints(
        self, frame: int, here: str, there: str
    ) -> tuple[FillMap | None, FillMap | None]:
        """For a return to ``gap_before`` (`engine.carry.return_fills`):
        the frame's fills as they arrived at ``gap_after`` and as they were
        before, each only while the frame is numbered as it was then (``here``:
        its layout now, ``there``: at the gap returned to). A frame redrawn
        since has other regions, which these would number wrongly."""
        return _return_hints(
            (self.fills_after.get(frame), self.numberings_after.get(frame), here),
            (self.fills_before.get(frame), self.layouts_before.get(frame), there),
        )


def _return_hints(
    arrived: tuple[FillMap | None, Numbering | None, str],
    earlier: tuple[FillMap | None, str | None, str],
) -> tuple[FillMap | None, FillMap | None]:
    """A segmentation change's fills after it, while the frame is numbered
    as it arrived (``(fills, numbering, layout now)``), and before it, while
    the segmentation returned to is the one they are numbered by (``(fills,
    their layout, where known, layout returned to)``; unknown: by count)."""
    arrived_fills, numbering, here = arrived
    if numbering is None or numbering.layout != here:
        arrived_fills = None
    earlier_fills, layout, there = earlier
    if layout is not None and layout != there:
        earlier_fills = None
    return arrived_fills, earlier_fills


@dataclass(frozen=True)
class ClosingEdit:
    """A frame's closing lines drawn, removed or opened by hand: the frame
    segmented anew and its fills carried over. Like a gap change, it keeps
    the frame's fills on both sides (each with the segmentation it is
    numbered by, where known), so undoing it restores them exactly."""

    label: str
    frame: int
    lines_before: ClosingLines
    lines_after: ClosingLines
    fills_before: FillMap | None
    fills_after: FillMap | None
    numbering_before: Numbering | None
    numbering_after: Numbering
    # The segmentation fills_before are numbered by, where only its name
    # is known, and the frame's saved style image, when its fills were
    # not fitted yet.
    layout_before: str | None = None
    image_before: StyleImage | None = None
    # The drawing the lines were placed on, before and after (None: not
    # known): an undo or redo puts them back there, and they follow the
    # drawing the frame has now from it (`engine.closing_redraw`).
    placed_before: Placement | None = None
    placed_after: Placement | None = None

    @property
    def frames(self) -> tuple[int, ...]:
        return (self.frame,)

    def return_hints(
        self, here: str, there: str
    ) -> tuple[FillMap | None, FillMap | None]:
        """For a change back to ``lines_before``: as `GapEdit.return_hints`."""
        before = self.numbering_before
        layout = before.layout if before is not None else self.layout_before
        return _return_hints(
            (self.fills_after, self.numbering_after, here),
            (self.fills_before, layout, there),
        )

    def side(
        self, forward: bool
    ) -> tuple[ClosingLines, FillMap | None, Numbering | None]:
        """The frame's closing lines, fills and their numbering after the
        edit (forward) or before it."""
        if forward:
            return self.lines_after, self.fills_after, self.numbering_after
        return self.lines_before, self.fills_before, self.numbering_before


@dataclass(frozen=True)
class ClosingCarry:
    """Closing lines carried to several frames (`engine.closing_carry`):
    a `ClosingEdit` per frame, one undo step."""

    label: str
    edits: tuple[ClosingEdit, ...]

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(edit.frame for edit in self.edits)

    def on(self, frame: int) -> ClosingEdit | None:
        """The change it made to ``frame`` (None: none)."""
        return next((edit for edit in self.edits if edit.frame == frame), None)


Edit = FillEdit | PaletteEdit | GapEdit | ClosingEdit | ClosingCarry


def closing_change(edit: Edit, frame: int) -> ClosingEdit | None:
    """The change ``edit`` made to ``frame``'s closing lines (None: none)."""
    if isinstance(edit, ClosingEdit):
        return edit if edit.frame == frame else None
    if isinstance(edit, ClosingCarry):
        return edit.on(frame)
    return None


@dataclass(frozen=True)
class Step:
    """An edit in the history, with the project's revisions before and after
    it: undoing it takes the project back to ``before``, so a document undone
    to the state it was saved in reads as saved again."""

    edit: Edit
    before: int
    after: int


@dataclass
class History:
    """Undo and redo stacks of edits, oldest first."""

    limit: int = 200
    undo_stack: list[Step] = field(default_factory=list)
    redo_stack: list[Step] = field(default_factory=list)

    def record(self, edit: Edit, before: int, after: int) -> None:
        """A new edit (already applied): it drops whatever could be redone."""
        self.undo_stack.append(Step(edit, before, after))
        self.redo_stack.clear()
        if self.limit > 0 and len(self.undo_stack) > self.limit:
            del self.undo_stack[: len(self.undo_stack) - self.limit]

    def can_merge_last_two(self) -> bool:
        """Whether the newest edit can fold into the one before it: fill
        edits of the same regions."""
        if len(self.undo_stack) < 2:
            return False
        earlier, later = (step.edit for step in self.undo_stack[-2:])
        return (
            isinstance(earlier, FillEdit)
            and isinstance(later, FillEdit)
            and earlier.merges_with(later)
        )

    def merge_last_two(self) -> Edit:
        """Fold the newest edit into the one before it (one fill stroke)."""
        if not self.can_merge_last_two():
            raise TypeError("only fill edits of the same regions merge")
        later = self.undo_stack.pop()
        earlier = self.undo_stack.pop()
        assert isinstance(earlier.edit, FillEdit) and isinstance(later.edit, FillEdit)
        merged = earlier.edit.merged(later.edit)
        self.undo_stack.append(Step(merged, earlier.before, later.after))
        return merged

    def take_undo(self) -> Step | None:
        if not self.undo_stack:
            return None
        step = self.undo_stack.pop()
        self.redo_stack.append(step)
        return step

    def take_redo(self) -> Step | None:
        if not self.redo_stack:
            return None
        step = self.redo_stack.pop()
        self.undo_stack.append(step)
        return step

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)


def frame_diff(
    frame: int,
    before: FillMap | None,
    after: FillMap,
    regions: Iterable[int] | np.ndarray | None = None,
    numbering: Numbering | None = None,
) -> FrameDiff | None:
    """The diff from ``before`` (None: no fills yet) to ``after`` over the
    regions that actually changed (among ``regions`` when given); both are
    numbered by ``numbering`` when it is known."""
    count = len(after)
    base = before if before is not None and len(before) == count else None
    old = base if base is not None else FillMap.empty(count)
    changed = old.differs(after)
    if regions is not None:
        mask = np.zeros(count, bool)
        chosen = regions if isinstance(regions, np.ndarray) else list(regions)
        mask[np.asarray(chosen, np.int64)] = True
        changed &= mask
    index = np.flatnonzero(changed).astype(np.int64)
    if len(index) == 0 and base is not None:
        return None
    return FrameDiff(
        frame=frame,
        count=count,
        regions=index,
        before=RegionFills.take(old, index),
        after=RegionFills.take(after, index),
        existed=base is not None,
        numbering=numbering if numbering and numbering.count == count else None,
    )
