"""Region segmentation: the enclosed spaces between lines, with their table
and adjacency graph.

Conventions used throughout Cadmium:

- A *label map* holds 0 on line pixels and ``1..n`` on the ``n`` regions.
- Everything indexed by region (the table, features, fills) uses the *region
  index* ``i = label - 1``, in ``0..n-1``.

The whole pass is vectorised: one connected-components labelling, one
labelled distance transform for the under-line map, and bincounts over the
region boundaries. Nothing loops over regions touching the whole frame.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from scipy import ndimage

from engine.closing_lines import ClosingLines, opened_closures
from engine.gaps import Closures, close_gaps
from engine.lineart import LineArt, extract_lines

# Enclosed areas smaller than this (in px) are specks: antialiasing slivers,
# scan dust between lines. They join the nearest region.
DEFAULT_MIN_AREA = 12


@dataclass(frozen=True)
class RegionTable:
    """Per-region measurements, row ``i`` for region label ``i + 1``.

    area:           int64 [n], pixels (line pixels excluded).
    bbox:           int32 [n x 4], (x0, y0, x1, y1), x1 and y1 exclusive.
    centroid:       float32 [n x 2], (x, y).
    perimeter:      float32 [n], boundary length in px (frame edge included).
    touches_border: bool [n], the region reaches the frame's edge.
    trace_boundary: float32 [n], share of the boundary on colour-trace lines.
    """

    area: np.ndarray
    bbox: np.ndarray
    centroid: np.ndarray
    perimeter: np.ndarray
    touches_border: np.ndarray
    trace_boundary: np.ndarray

    def __len__(self) -> int:
        return len(self.area)


@dataclass(frozen=True)
class RegionGraph:
    """Region adjacency: regions that face each other across one line.

    edges:        int64 [E x 2], region indices, ``edges[:, 0] < edges[:, 1]``.
    length:       float32 [E], length of the shared boundary in px.
    trace:        float32 [E], share of that boundary on colour-trace lines.
    """

    edges: np.ndarray
    length: np.ndarray
    trace: np.ndarray


@dataclass(frozen=True)
class Numbering:
    """Which region each pixel of a frame belongs to (a `Regions` under-line
    map), packed small (40 KB for a drawn frame at HD, a few hundred KB for
    a busy one): what fills numbered by one segmentation need to be carried
    by position to another of the frame (its line art redrawn, a newer
    engine), kept where the segmentation itself is not."""

    layout: str  # names it (Regions.layout)
    shape: tuple[int, int]
    count: int
    packed: bytes  # the map, zlib-compressed, uint16 (int32 past 65,535)

    @staticmethod
    def of(under_line: np.ndarray, count: int) -> Numbering:
        canonical = np.ascontiguousarray(under_line, np.int32)
        narrow = canonical.astype(np.uint16) if count < 2**16 else canonical
        shape = (int(canonical.shape[0]), int(canonical.shape[1]))
        return Numbering(
            layout=layout_of(canonical),
            shape=shape,
            count=count,
            packed=zlib.compress(narrow.tobytes(), 1),
        )

    def under_line(self) -> np.ndarray | None:
        """The map, int32 [H x W]; None when the packed bytes are not the
        map their layout names (damaged on disk)."""
        dtype = np.uint16 if self.count < 2**16 else np.int32
        try:
            raw = zlib.decompress(self.packed)
            flat = np.frombuffer(raw, dtype)
            under_line = flat.reshape(self.shape).astype(np.int32)
        except (zlib.error, ValueError):
            return None
        if layout_of(under_line) != self.layout:
            return None
        return under_line


def layout_of(under_line: np.ndarray) -> str:
    """`Regions.layout` of an under-line map (int32, contiguous)."""
    h = hashlib.blake2b(digest_size=10)
    h.update(f"{under_line.shape}:".encode())
    h.update(memoryview(under_line).cast("B"))
    return h.hexdigest()


@dataclass(frozen=True)
class Regions:
    """The segmentation of one frame.

    labels:      int32 [H x W], 0 on lines (and closures), 1..n on regions.
    under_line:  int32 [H x W], every pixel's region label: line pixels take
                 the nearest region's, so a fill drawn from this map runs
                 under antialiased lines without leaving a halo.
    closures:    the automatic gap closures used (invisible; see engine.gaps),
                 less those the frame's closing lines open.
    table:       per-region measurements.
    graph:       region adjacency graph.
    """

    labels: np.ndarray
    under_line: np.ndarray
    closures: Closures
    table: RegionTable
    graph: RegionGraph

    @property
    def count(self) -> int:
        return len(self.table)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.labels.shape[0]), int(self.labels.shape[1]))

    @property
    def layout(self) -> str:
        """A name for this segmentation, the same for the same regions: fills
        numbered by these regions fit another segmentation only if its
        layout is the same (a frame whose line art was redrawn, or that a
        newer engine segments otherwise, may keep its region count and still
        number its regions otherwise)."""
        return self.numbering.layout

    @cached_property
    def numbering(self) -> Numbering:
        return Numbering.of(self.under_line, self.count)

    def region_at(self, x: int, y: int) -> int | None:
        """Region index under a pixel (line pixels give their nearest region)."""
        if not (0 <= y < self.labels.shape[0] and 0 <= x < self.labels.shape[1]):
            return None
        label = int(self.under_line[y, x])
        return label - 1 if label > 0 else None


def segment_image(
    image: np.ndarray,
    *,
    gap: int = 0,
    threshold: float | None = None,
    min_area: int = DEFAULT_MIN_AREA,
    closing: ClosingLines | None = None,
) -> tuple[LineArt, Regions]:
    """Line extraction and segmentation of a decoded frame."""
    lineart = extract_lines(image, threshold=threshold)
    return lineart, segment(lineart, gap=gap, min_area=min_area, closing=closing)


def segment(
    lineart: LineArt,
    *,
    gap: int = 0,
    min_area: int = DEFAULT_MIN_AREA,
    closing: ClosingLines | None = None,
) -> Regions:
    """Split a frame into regions, closing gaps of up to ``gap`` px, and
    as the frame's closing lines drawn by hand say. The automatic closing
    sees the drawing alone, so a line drawn in one place never changes
    the closures found in another."""
    closures = close_gaps(lineart.line, gap)
    barrier = lineart.line
    if closing:
        closures = Closures(
            *opened_closures(closures.segments, closures.mask, closing.openings)
        )
        barrier = barrier | closing.mask(barrier.shape)
    barrier = barrier | closures.mask
    free = (~barrier).view(np.uint8)
    n_cc, cc, stats, centroids = cv2.connectedComponentsWithStats(
        free, connectivity=4, ltype=cv2.CV_32S
    )
    cc_area = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    cc_area[0] = 0  # label 0 is the barrier
    keep = cc_area >= min_area
    if n_cc > 1 and not keep[1:].any():
        keep[int(np.argmax(cc_area))] = True  # a frame of specks keeps its largest
    keep[0] = False
    new_label = np.cumsum(keep).astype(np.int32) * keep
    count = int(new_label.max()) if n_cc > 1 else 0
    labels = new_label[cc]
    under_line = _nearest_region(labels) if count else np.zeros_like(labels)

    # Specks join the region that surrounds them: the under-line map already
    # knows it, so one pixel of each speck decides.
    target = new_label.astype(np.int64).copy()
    speck = (~keep) & (cc_area > 0)
    if speck.any():
        speck_pixels = np.flatnonzero(speck[cc])
        speck_ids, first = np.unique(cc.ravel()[speck_pixels], return_index=True)
        target[speck_ids] = under_line.ravel()[speck_pixels[first]]
        labels.ravel()[speck_pixels] = under_line.ravel()[speck_pixels]

    table_base = _merge_component_stats(target, stats, centroids, cc_area, count)
    graph, perimeter, trace_len = _adjacency(under_line, lineart.trace, count)
    border = _border_counts(under_line, count)
    perimeter = perimeter + border
    table = RegionTable(
        area=table_base[0],
        bbox=table_base[1],
        centroid=table_base[2],
        perimeter=perimeter.astype(np.float32),
        touches_border=border > 0,
        trace_boundary=(trace_len / np.maximum(perimeter, 1)).astype(np.float32),
    )
    return Regions(
        labels=labels,
        under_line=under_line,
        closures=closures,
        table=table,
        graph=graph,
    )


def measure(label_map: np.ndarray, labels: np.ndarray) -> RegionTable:
    """Measurements of the regions ``labels`` (from 1) of a label map, such
    as an under-line map, where a region is every pixel of its label (lines
    included, when it is one) and its perimeter counts where that meets
    another label or the frame's edge. For a few regions of a map whose
    segmentation is gone (a drawing since redrawn); trace_boundary is 0."""
    n = len(labels)
    area = np.zeros(n, np.int64)
    bbox = np.zeros((n, 4), np.int32)
    centroid = np.zeros((n, 2), np.float32)
    perimeter = np.zeros(n, np.float32)
    touches = np.zeros(n, bool)
    boxes = ndimage.find_objects(label_map, max_label=int(labels.max()) if n else 0)
    height, width = label_map.shape
    for i, label in enumerate(labels):
        box = boxes[int(label) - 1]
        if box is None:
            continue
        rows, cols = box
        inside = label_map[box] == label
        ys, xs = np.nonzero(inside)
        area[i] = len(xs)
        bbox[i] = (cols.start, rows.start, cols.stop, rows.stop)
        centroid[i] = (xs.mean() + cols.start, ys.mean() + rows.start)
        padded = np.pad(inside, 1)
        perimeter[i] = np.count_nonzero(padded[:, 1:] != padded[:, :-1]) + (
            np.count_nonzero(padded[1:, :] != padded[:-1, :])
        )
        touches[i] = (
            rows.start == 0
            or cols.start == 0
            or rows.stop == height
            or cols.stop == width
        )
    return RegionTable(
        area=area,
        bbox=bbox,
        centroid=centroid,
        perimeter=perimeter,
        touches_border=touches,
        trace_boundary=np.zeros(n, np.float32),
    )


def _nearest_region(labels: np.ndarray) -> np.ndarray:
    """Every pixel's nearest region label (region pixels keep their own)."""
    lines = (labels == 0).view(np.uint8)
    _, nearest = cv2.distanceTransformWithLabels(
        lines, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # DIST_LABEL_PIXEL numbers the zero pixels of its input (our region
    # pixels) from 1 in raster order.
    lookup = np.empty(int(nearest.max()) + 1, np.int32)
    lookup[0] = 0
    region_values = labels[labels > 0]
    lookup[1 : len(region_values) + 1] = region_values
    return lookup[nearest]


def _merge_component_stats(
    target: np.ndarray,
    stats: np.ndarray,
    centroids: np.ndarray,
    cc_area: np.ndarray,
    count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area, bbox and centroid per region from per-component statistics."""
    valid = (target > 0) & (cc_area > 0)
    index = target[valid] - 1
    weights = cc_area[valid]
    area = np.bincount(index, weights=weights, minlength=count).astype(np.int64)
    safe = np.maximum(area, 1)
    cx = np.bincount(index, weights=centroids[valid, 0] * weights, minlength=count)
    cy = np.bincount(index, weights=centroids[valid, 1] * weights, minlength=count)
    centroid = np.stack([cx / safe, cy / safe], axis=1).astype(np.float32)
    x0 = stats[valid, cv2.CC_STAT_LEFT]
    y0 = stats[valid, cv2.CC_STAT_TOP]
    x1 = x0 + stats[valid, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[valid, cv2.CC_STAT_HEIGHT]
    bbox = np.zeros((count, 4), np.int32)
    bbox[:, 0:2] = np.iinfo(np.int32).max
    np.minimum.at(bbox[:, 0], index, x0)
    np.minimum.at(bbox[:, 1], index, y0)
    np.maximum.at(bbox[:, 2], index, x1)
    np.maximum.at(bbox[:, 3], index, y1)
    return area, bbox, centroid


def _adjacency(
    under_line: np.ndarray, trace: np.ndarray, count: int
) -> tuple[RegionGraph, np.ndarray, np.ndarray]:
    """The adjacency graph, per-region boundary length and trace length.

    Two regions are neighbours where their under-line territories touch,
    which is along the middle of the line that separates them.
    """
    pairs_a, pairs_b, on_trace = [], [], []
    for a, b, ta, tb in (
        (under_line[:, :-1], under_line[:, 1:], trace[:, :-1], trace[:, 1:]),
        (under_line[:-1, :], under_line[1:, :], trace[:-1, :], trace[1:, :]),
    ):
        differ = a != b
        pairs_a.append(a[differ])
        pairs_b.append(b[differ])
        on_trace.append(ta[differ] | tb[differ])
    a = np.concatenate(pairs_a).astype(np.int64) - 1
    b = np.concatenate(pairs_b).astype(np.int64) - 1
    tr = np.concatenate(on_trace)
    valid = (a >= 0) & (b >= 0)
    a, b, tr = a[valid], b[valid], tr[valid]
    perimeter = (
        np.bincount(a, minlength=count) + np.bincount(b, minlength=count)
    ).astype(np.float64)
    trace_len = np.bincount(a, weights=tr, minlength=count) + np.bincount(
        b, weights=tr, minlength=count
    )
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys, inverse, length = np.unique(
        lo * max(count, 1) + hi, return_inverse=True, return_counts=True
    )
    trace_share = np.bincount(inverse, weights=tr, minlength=len(keys)) / np.maximum(
        length, 1
    )
    edges = np.stack([keys // max(count, 1), keys % max(count, 1)], axis=1)
    graph = RegionGraph(
        edges=edges.astype(np.int64),
        length=length.astype(np.float32),
        trace=trace_share.astype(np.float32),
    )
    return graph, perimeter, trace_len


def _border_counts(under_line: np.ndarray, count: int) -> np.ndarray:
    edge = np.concatenate(
        [under_line[0], under_line[-1], under_line[1:-1, 0], under_line[1:-1, -1]]
    ).astype(np.int64)
    edge = edge[edge > 0] - 1
    return np.bincount(edge, minlength=count).astype(np.float64)
