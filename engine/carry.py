"""Carrying fills from one segmentation of a frame to another of it: its
line art redrawn while it is painted, a newer engine, another gap setting.

Fills go by position: each new region takes the fill of the old region
under most of its pixels. A drawing moved as a whole (a scan registered
again) is followed first. A part moved on its own further than its width
lands on a neighbour's old place: its new region and its old one each
overlap nothing of the other drawing well (intersection over union under
`EXPLAINED`, and neither is the other's largest overlap). Such regions are
paired one to one by place, size and shape (`Carrying.counterpart`); a
paired region takes its counterpart's fill, and is flagged for review where
that is a colour other than that of the region now lying where the part
was, which becomes its first guess (`Carrying.moved`). A redraw that joins
parts (a line rubbed out, a gap opened too wide to close) gives the joined
region the colour of the part under most of it; where a part it swallowed
was painted otherwise, it is flagged, that colour its first guess
(`Carrying.joins`).

Undo diffs follow the same regions (`Carrying.source`, `FrameDiff.carried`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from engine.errors import CadmiumError
from engine.fills import (
    ALTERNATIVES,
    FillMap,
    most_counted,
    pair_counts,
    region_majority,
)
from engine.matching import AssignmentMatcher, table_descriptors
from engine.palette import UNPAINTED
from engine.regions import Numbering, Regions, measure

# A region is accounted for by the other segmentation when one region there
# covers it this well (intersection over union); the rest are matched by
# place, size and shape to find parts that moved on their own.
EXPLAINED = 0.5
# An old region with no new one of its own was joined to the new region
# holding at least this share of its pixels.
JOINED = 0.9
# A region partly in a strip a whole drawing's shift uncovered at the
# frame's edge keeps the paint of the old region under it when that covers
# at least this share of it; less, and it came into view.
IN_VIEW = 0.25
# Past this many such regions on either side (a drawing replaced by another)
# they are not matched; fills go by position alone.
MOST_UNEXPLAINED = 2000
# Region boundaries are compared at most this wide (px) to find a drawing's
# shift: 4K at half size, which still finds it to the pixel, in about 50 ms.
SHIFT_WIDTH = 1920


@dataclass(frozen=True)
class Carrying:
    """How fills of one segmentation of a frame (the old) go to another
    (the new), per new region.

    under:        int64 [n], the old region under most of its pixels (-1: none).
    counterpart:  int64 [n], for a region that no old region overlaps well,
                  the old region, likewise overlapped by no new one well,
                  most like it in place, size and shape (a part moved
                  further than its width); -1 for the others, or when there
                  is none.
    joined:       int64 [J x 3], (new region, old region, pixels): old
                  regions other than ``under`` with at least `JOINED` of
                  their pixels in that new one and no new region of their
                  own (the parts were joined; by new region).
    """

    under: np.ndarray
    counterpart: np.ndarray
    joined: np.ndarray

    @property
    def source(self) -> np.ndarray:
        """The old region each new region's fill (and history) comes from:
        its counterpart, else the one under it (-1: none)."""
        return np.where(self.counterpart >= 0, self.counterpart, self.under)

    def fills(self, fills: FillMap) -> FillMap:
        """``fills`` (of the old regions) on the new: each region takes the
        fill of its `source`, paired ones are checked (`checked`), and
        those that `joins` parts painted otherwise are flagged, the
        swallowed part's colour their first guess."""
        paired = np.flatnonzero(self.counterpart >= 0)
        carried = self.checked(_carried(fills, self.source), paired)
        lost = self._lost(fills)
        joins = lost != UNPAINTED
        if not joins.any():
            return carried
        return _flagged(carried, joins, lost)

    def joins(self, fills: FillMap) -> np.ndarray:
        """bool [n], of ``fills`` on the old regions: new regions that joined
        an old one painted otherwise than the region their fill comes from
        (its colour is lost unless someone looks). A part left unpainted
        on either side loses nothing."""
        return self._lost(fills) != UNPAINTED

    def _lost(self, fills: FillMap) -> np.ndarray:
        """Per new region, the style of the largest part it joined that was
        painted otherwise than its own fill (UNPAINTED: none)."""
        n = len(self.under)
        lost = np.full(n, UNPAINTED, np.int64)
        if not len(fills) or not len(self.joined):
            return lost
        new, old, pixels = self.joined.T
        source = self.source[new]
        own = np.where(source >= 0, fills.style[np.maximum(source, 0)], UNPAINTED)
        other = fills.style[old]
        differs = (own != UNPAINTED) & (other != UNPAINTED) & (own != other)
        part, _ = most_counted(new[differs], old[differs], pixels[differs], n)
        found = part >= 0
        lost[found] = fills.style[part[found]]
        return lost

    def checked(self, fills: FillMap, regions: np.ndarray) -> FillMap:
        """``fills``, on the new regions, with those of ``regions`` that are
        `moved` flagged for review, the colour where the part was as their
        first guess. For fills just carried, and for an undo or redo carried
        here (what they put back was recorded before the part moved)."""
        moved, there = self._moved(fills, regions)
        if not moved.any():
            return fills
        return _flagged(fills, moved, there)

    def moved(self, fills: FillMap) -> np.ndarray:
        """bool [n], of fills on the new regions: paired regions painted
        otherwise than the region lying where their part was (the part
        moved, or the pairing is wrong). A part left unpainted is a problem
        already."""
        return self._moved(fills, np.flatnonzero(self.counterpart >= 0))[0]

    def _moved(
        self, fills: FillMap, regions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`moved` among ``regions``, and per region the style where its
        part was (UNPAINTED where none is known)."""
        n = len(self.under)
        moved = np.zeros(n, bool)
        there = np.full(n, UNPAINTED, np.int64)
        paired = regions[self.counterpart[regions] >= 0]
        if not len(fills) or not len(paired):
            return moved, there
        # Per old region, an unpaired new region lying on it (its place now).
        home = np.full(int(self.under.max()) + 2, -1, np.int64)  # [-1]: none
        unpaired = np.flatnonzero((self.counterpart < 0) & (self.under >= 0))
        home[self.under[unpaired]] = unpaired
        place = home[self.under[paired]]
        known = place >= 0
        there[paired[known]] = fills.style[place[known]]
        own = fills.style[paired]
        moved[paired] = known & (own != UNPAINTED) & (own != there[paired])
        return moved, there


def carrying(old: Numbering, under_line: np.ndarray, count: int) -> Carrying | None:
    """How fills of ``old`` go to another segmentation of the frame (its
    under-line map and region count); None when ``old`` cannot be read or
    is of another size.

    A drawing moved as a whole is followed: the old map is moved by the
    shift between the two (phase correlation of their region boundaries)
    when that puts more pixels on the same region. Unmoved, a 3 px nudge of
    a sample frame gave 4 regions (thin shading strips) a neighbour's
    colour; moved, none."""
    old_map = old.under_line() if old.shape == under_line.shape else None
    if old_map is None:
        return None
    old_area = np.bincount(old_map.ravel(), minlength=old.count + 1)[1:]
    overlap = _Overlap.of(old_map, old.count, under_line, count)
    dx, dy = drawing_shift(old_map, under_line)
    if (dx, dy) != (0, 0):
        moved = _shifted(old_map, dx, dy)
        moved_overlap = _Overlap.of(moved, old.count, under_line, count)
        if moved_overlap.agreeing > overlap.agreeing:
            overlap, old_map = moved_overlap, moved
    counterpart = overlap.counterparts(old_map, under_line)
    return Carrying(overlap.under, counterpart, overlap.joined(counterpart, old_area))


def _shifted(labels: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """int32 ``labels`` moved by (dx, dy), the strips it uncovers at the
    edges 0 (no old region): what came into the frame there was never
    painted. Rolled round instead, a region lying wholly in such a strip
    (sky above a hat whose brim came into view) took the colour of the
    frame's far edge (the ground), silently."""
    height, width = labels.shape
    moved = np.zeros((height, width), np.int32)
    if abs(dx) >= width or abs(dy) >= height:
        return moved
    moved[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = labels[
        max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved


@dataclass(frozen=True)
class _Overlap:
    """The pixels each new region shares with each old one (pairs that
    share any), and the old region under most of each new one."""

    new: np.ndarray  # int64 [P], new region index
    old: np.ndarray  # int64 [P], old region label (0: none)
    pixels: np.ndarray  # int64 [P]
    under: np.ndarray  # int64 [n new], old region index under most (-1)
    agreeing: int  # pixels on the region under them, in all

    @staticmethod
    def of(
        old_map: np.ndarray, old_count: int, under_line: np.ndarray, count: int
    ) -> _Overlap:
        new, old, pixels = pair_counts(under_line, count, old_map, old_count + 1)
        # Old label 0 is a strip a shift uncovered at the frame's edge: a
        # region lying mostly there came into view (never painted); one
        # that grew into it keeps what it was.
        real = old > 0
        best, votes = most_counted(new[real], old[real], pixels[real], count)
        area = np.bincount(new, weights=pixels, minlength=count)
        uncovered = area - np.bincount(new[real], weights=pixels[real], minlength=count)
        found = (best > 0) & ((uncovered == 0) | (votes >= IN_VIEW * area))
        return _Overlap(
            new=new,
            old=old,
            pixels=pixels,
            under=np.where(found, best - 1, -1),
            agreeing=int(votes[found].sum()),
        )

    def counterparts(self, old_map: np.ndarray, under_line: np.ndarray) -> np.ndarray:
        """`Carrying.counterpart`, from the old map the overlap was counted on."""
        counterpart = np.full(len(self.under), -1, np.int64)
        lost_new, lost_old = self._unaccounted()
        if not len(lost_new) or not len(lost_old):
            return counterpart
        if max(len(lost_new), len(lost_old)) > MOST_UNEXPLAINED:
            return counterpart
        shape = (int(under_line.shape[0]), int(under_line.shape[1]))
        rows, cols, _ = AssignmentMatcher().pairs(
            table_descriptors(measure(under_line, lost_new + 1), shape),
            table_descriptors(measure(old_map, lost_old), shape),
        )
        counterpart[lost_new[rows]] = lost_old[cols] - 1
        return counterpart

    def joined(self, counterpart: np.ndarray, old_area: np.ndarray) -> np.ndarray:
        """`Carrying.joined`, given each old region's whole area in px
        (``old_area``, before any shift: a region moved mostly out of the
        frame was not joined to what is left of it)."""
        real = self.old > 0
        new, old, pixels = self.new[real], self.old[real] - 1, self.pixels[real]
        kept = np.zeros(len(old_area) + 1, bool)  # [-1]: none
        kept[self.under] = True
        kept[counterpart] = True
        swallowed = ~kept[old] & (pixels >= JOINED * old_area[old])
        return np.stack([new[swallowed], old[swallowed], pixels[swallowed]], axis=1)

    def _unaccounted(self) -> tuple[np.ndarray, np.ndarray]:
        """New regions (indices) and old ones (labels) that no region of the
        other segmentation overlaps well: intersection over union under
        `EXPLAINED`, and not each other's largest overlap either (a thin
        strip whose lines were inked thicker may keep less than half)."""
        count = len(self.under)
        real = self.old > 0
        new, old, pixels = self.new[real], self.old[real], self.pixels[real]
        if not len(pixels):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        n_old = int(old.max()) + 1
        new_area = np.bincount(new, weights=pixels, minlength=count)
        old_area = np.bincount(old, weights=pixels, minlength=n_old)
        iou = pixels / (new_area[new] + old_area[old] - pixels)
        new_best, old_best = np.zeros(count), np.zeros(n_old)
        np.maximum.at(new_best, new, iou)
        np.maximum.at(old_best, old, iou)
        old_top, _ = most_counted(old, new, pixels, n_old)  # each old's largest
        under = self.under + 1  # old labels, 0: none
        mutual_new = (under > 0) & (old_top[under] == np.arange(count))
        mutual_old = (old_top >= 0) & (
            under[np.maximum(old_top, 0)] == np.arange(n_old)
        )
        lost_new = (new_best < EXPLAINED) & ~mutual_new & (new_area > 0)
        lost_old = (old_best < EXPLAINED) & ~mutual_old & (old_area > 0)
        return np.flatnonzero(lost_new), np.flatnonzero(lost_old)


def drawing_shift(before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    """(dx, dy), whole pixels, that moves the drawing of label map
    ``before`` onto that of ``after``, by phase correlation of their region
    boundaries ((0, 0) for a drawing changed only in places)."""
    step = -(-max(before.shape) // SHIFT_WIDTH)

    def boundaries(labels: np.ndarray) -> np.ndarray:
        edge = region_edges(labels)
        if step > 1:
            size = (labels.shape[1] // step, labels.shape[0] // step)
            edge = cv2.resize(edge, size, interpolation=cv2.INTER_AREA)
        return edge

    (x, y), _ = cv2.phaseCorrelate(boundaries(before), boundaries(after))
    return round(x * step), round(y * step)


def region_edges(labels: np.ndarray) -> np.ndarray:
    """float32 [H x W]: where a label map changes label, on the pixels
    both sides of each change (so centred on it: 0 to 4 per pixel)."""
    across, down = edges_by_axis(labels)
    return across + down


def edges_by_axis(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`region_edges` of changes along x (``across``: vertical boundaries)
    and along y (``down``), apart: 0 to 2 per pixel each."""
    across = np.zeros(labels.shape, np.float32)
    change = labels[:, 1:] != labels[:, :-1]
    across[:, 1:] += change
    across[:, :-1] += change
    down = np.zeros(labels.shape, np.float32)
    change = labels[1:, :] != labels[:-1, :]
    down[1:, :] += change
    down[:-1, :] += change
    return across, down


class CarryCache:
    """`carrying` results by (from, to) layout, the most recent kept.
    Thread-safe: the thread that loads a redrawn frame works out how to
    carry its fills (most of a second at 4K) before the project, on the GUI
    thread, carries them; undo and redo over it carry each diff alike."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], Carrying] = OrderedDict()

    def get(
        self, old: Numbering, new: Numbering, under_line: np.ndarray | None = None
    ) -> Carrying | None:
        """From ``old`` to ``new`` (``under_line``: new's map, when at hand);
        None when ``old`` cannot be read."""
        key = (old.layout, new.layout)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        new_map = under_line if under_line is not None else new.under_line()
        found = None if new_map is None else carrying(old, new_map, new.count)
        if found is not None:
            with self._lock:
                self._items[key] = found
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return found


def carry(
    fills: FillMap,
    numbering: Numbering,
    regions: Regions,
    cache: CarryCache | None = None,
) -> FillMap | None:
    """``fills``, numbered by the segmentation ``numbering``, on ``regions``
    (`Carrying.fills`; how, remembered in ``cache`` when given); None when
    that cannot be read (damaged) or is not of these fills."""
    if len(fills) != numbering.count:
        return None
    cache = cache if cache is not None else CarryCache()
    found = cache.get(numbering, regions.numbering, regions.under_line)
    return None if found is None else found.fills(fills)


def resegment_fills(fills: FillMap, old: Regions, new: Regions) -> FillMap:
    """Carry fills over to another segmentation of the same frame (a gap
    setting changed: nothing moves): each new region takes the whole fill
    (style, origin, confidence, review flag) of the old region that covers
    most of its pixels."""
    return _carried(fills, _covering(old.under_line, old.count, new))


def return_fills(
    fills: FillMap,
    regions: Regions,
    earlier_regions: Regions,
    *,
    arrived_as: FillMap | None,
    earlier: FillMap | None,
) -> FillMap:
    """Carry ``fills`` back to a segmentation the frame had before (a gap
    setting left, and now returned to).

    ``earlier`` is the frame's fills on ``earlier_regions`` when the setting
    was left, and ``arrived_as`` what they became on ``regions``. A region
    whose fill has not changed since gets its earlier fill back exactly (a
    lower gap may have run it together with a neighbour and given both one
    colour); a region repainted since takes the fill carried over."""
    source = _covering(regions.under_line, regions.count, earlier_regions)
    carried = _carried(fills, source)
    if (
        earlier is None
        or arrived_as is None
        or len(earlier) != earlier_regions.count
        or len(arrived_as) != len(fills)
    ):
        return carried
    repainted = np.append(fills.differs(arrived_as), False)[source]  # -1: False
    return carried.where(repainted, earlier)


def _covering(old_under_line: np.ndarray, old_count: int, new: Regions) -> np.ndarray:
    """Per new region, the old region (of an under-line map of ``old_count``
    regions) covering most of its pixels (-1: none)."""
    if old_under_line.shape != new.shape:
        raise CadmiumError("the two segmentations are of different sizes")
    best, _ = region_majority(new, old_under_line, old_count + 1, valid=None)
    return np.where(best > 0, best - 1, -1)  # majority 0: no old region


def _flagged(fills: FillMap, which: np.ndarray, guess: np.ndarray) -> FillMap:
    """``fills`` with the regions of ``which`` (bool) flagged for review,
    each region's ``guess`` (a style) put first among its alternatives."""
    alternatives = fills.alternatives.copy()
    for region in np.flatnonzero(which):
        guesses = [int(guess[region]), *fills.alternatives[region].tolist()]
        kept = [g for g in dict.fromkeys(guesses) if g != UNPAINTED]
        row = kept[:ALTERNATIVES] + [UNPAINTED] * (ALTERNATIVES - len(kept))
        alternatives[region] = row
    return fills.replace(flagged=fills.flagged | which, alternatives=alternatives)


def _carried(fills: FillMap, source: np.ndarray) -> FillMap:
    """Per new region, the fill of its ``source`` region (-1: unpainted)."""
    empty = FillMap.empty(len(source))
    if len(fills) == 0:
        return empty
    taken = FillMap(
        *(getattr(fills, name)[np.maximum(source, 0)] for name in FillMap.field_names())
    )
    return taken.where(source >= 0, empty)
