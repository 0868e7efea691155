"""From a partition map to line art, labels and flat colours.

Every source (procedural, Lottie, clip art) ends in a *partition*: a uint16
map in which each pixel holds the id of the part visible there, background
included, with no line pixels yet. Lines are then drawn along every boundary
between two ids, so line art and ground truth cannot disagree:

- Boundary pixels are marked on *both* sides of each 4-neighbour id change.
  A pixel of one id is then never 4-adjacent to an unmarked pixel of another,
  and since every marked pixel gets full ink whatever the width (the width is
  never below 2 px), the engine's 4-connected regions are exactly the id
  components, at any threshold in its 0.25..0.75 band.
- Ink falls off with the distance to the nearest boundary pixel, which gives
  antialiased lines (or binary ones) of a width that may vary over the frame.
- Labels are the partition where ink is below one half, with components
  smaller than the engine's speck size set to 0, as the engine merges them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.measure import label as label_components

from engine.lineart import extract_lines
from engine.regions import DEFAULT_MIN_AREA

# Line kinds: black (or dark) ink and the three colour-trace hues.
INK, TRACE_RED, TRACE_GREEN, TRACE_BLUE = 0, 1, 2, 3
TRACE_RGB = {
    TRACE_RED: (235, 20, 20),
    TRACE_GREEN: (20, 190, 40),
    TRACE_BLUE: (25, 60, 235),
}
SUBPIXEL_BITS = 4


def fill_polygon(
    target: np.ndarray,
    polygon: np.ndarray | list[np.ndarray],
    value: int,
    *,
    clip_to: int | None = None,
) -> None:
    """Fill a float polygon [N x 2] (x, y px), or rings of one shape, into ``target``.

    Several rings are filled in one pass, so inner rings cut holes. With
    ``clip_to``, only pixels that currently hold that id change (a shadow
    inside its part, a pupil inside its eye); the work stays inside the
    polygon's bounding box.
    """
    rings = polygon if isinstance(polygon, list) else [polygon]
    rings = [r for r in rings if len(r) >= 3]
    if not rings:
        return
    pts = [np.round(r * (1 << SUBPIXEL_BITS)).astype(np.int32) for r in rings]
    if clip_to is None:
        cv2.fillPoly(target, pts, int(value), cv2.LINE_8, SUBPIXEL_BITS)
        return
    h, w = target.shape
    every = np.concatenate(rings)
    x0 = max(int(np.floor(every[:, 0].min())) - 1, 0)
    y0 = max(int(np.floor(every[:, 1].min())) - 1, 0)
    x1 = min(int(np.ceil(every[:, 0].max())) + 2, w)
    y1 = min(int(np.ceil(every[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    offset = np.array([x0, y0]) << SUBPIXEL_BITS
    cv2.fillPoly(mask, [p - offset for p in pts], 1, cv2.LINE_8, SUBPIXEL_BITS)
    crop = target[y0:y1, x0:x1]
    crop[(mask > 0) & (crop == clip_to)] = value


@dataclass(frozen=True)
class LineRender:
    """Lines drawn over a partition.

    ink:   float32 [H x W] in [0, 1].
    kind:  uint8 [H x W], line kind (INK or TRACE_*) of the nearest boundary.
    """

    ink: np.ndarray
    kind: np.ndarray


def boundary_kinds(
    partition: np.ndarray, parent: np.ndarray, trace: np.ndarray
) -> np.ndarray:
    """uint8 [H x W]: 255 off boundaries, else the line kind of the boundary.

    A boundary between a part and the part it is clipped to (``parent``)
    takes the part's ``trace`` kind; every other boundary is INK.
    """
    kinds = np.full(partition.shape, 255, np.uint8)
    for a_sl, b_sl in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
    ):
        a, b = partition[a_sl], partition[b_sl]
        differ = a != b
        if not differ.any():
            continue
        av, bv = a[differ], b[differ]
        kind = np.where(
            parent[av] == bv, trace[av], np.where(parent[bv] == av, trace[bv], INK)
        ).astype(np.uint8)
        for sl in (a_sl, b_sl):
            view = kinds[sl]
            current = view[differ]
            # INK wins over a trace kind where two boundaries share a pixel.
            view[differ] = np.minimum(current, kind)
    return kinds


def draw_lines(
    partition: np.ndarray,
    parent: np.ndarray,
    trace: np.ndarray,
    width: np.ndarray | float,
    trace_width: np.ndarray | float,
    *,
    binary: bool = False,
) -> LineRender:
    """Ink of lines along every id boundary of the partition.

    ``width`` and ``trace_width`` are line widths in px (scalars or [H x W]
    fields, for pressure), clamped to at least 2 px.
    """
    kinds = boundary_kinds(partition, parent, trace)
    on_boundary = kinds != 255
    if not on_boundary.any():
        zeros = np.zeros(partition.shape, np.float32)
        return LineRender(zeros, np.zeros(partition.shape, np.uint8))
    free = (~on_boundary).view(np.uint8)
    dist, nearest = cv2.distanceTransformWithLabels(
        free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE, labelType=cv2.DIST_LABEL_PIXEL
    )
    # DIST_LABEL_PIXEL numbers the zero pixels of its input (the boundary) in
    # raster order, from 1.
    lookup = np.concatenate([[INK], kinds[on_boundary]]).astype(np.uint8)
    kind = lookup[nearest]
    w_ink = np.maximum(np.asarray(width, np.float32), 2.0)
    w_trace = np.maximum(np.asarray(trace_width, np.float32), 2.0)
    half = 0.5 * np.where(kind == INK, w_ink, w_trace)
    ink = half - dist
    if binary:
        ink = (ink >= 0.5).astype(np.float32)
    else:
        ink = np.clip(ink, 0.0, 1.0).astype(np.float32)
    return LineRender(ink, kind)


def pressure_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    base: float,
    amount: float,
    cell: int = 48,
) -> np.ndarray:
    """A smooth width field: ``base * (1 + amount * noise)``, noise in [-1, 1]."""
    h, w = shape
    gh, gw = max(h // cell, 1) + 2, max(w // cell, 1) + 2
    coarse = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return (base * (1.0 + amount * np.clip(field, -1.0, 1.0))).astype(np.float32)


def engine_line_mask(art: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Line pixels of a finished frame as the engine sees them (its own ink
    threshold), together with the drawn ink. Labels are cut wherever either
    says "line", so a tiny region that faint antialiased ink covers entirely
    is line in the ground truth too, as it is to the engine."""
    return extract_lines(art).line | (ink >= 0.5)


def final_labels(
    partition: np.ndarray, line: np.ndarray, min_area: int = DEFAULT_MIN_AREA
) -> np.ndarray:
    """uint16 labels: the partition off the lines, 0 on lines and on specks."""
    labels = np.where(line, 0, partition).astype(np.uint16)
    components = label_components(labels, background=0, connectivity=1)
    area = np.bincount(components.ravel())
    small = area < min_area
    small[0] = False
    if small.any():
        labels[small[components]] = 0
    return labels


def nearest_fill(labels: np.ndarray) -> np.ndarray:
    """Every pixel's nearest nonzero label (nonzero pixels keep their own)."""
    zero = labels == 0
    if not zero.any() or zero.all():
        return labels
    _, nearest = cv2.distanceTransformWithLabels(
        zero.view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    lookup = np.concatenate([[0], labels[~zero]]).astype(labels.dtype)
    return lookup[nearest]


def color_frame(labels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """uint8 RGBA flat colours from a label map and an id -> RGBA table."""
    return lut[nearest_fill(labels)]


def line_image(
    ink: np.ndarray,
    kind: np.ndarray,
    ink_rgb: tuple[int, int, int],
    *,
    mode: str,
) -> np.ndarray:
    """Line art as an image: mode "rgba" (transparent), "rgb" or "grey" on white."""
    rgb = np.empty(ink.shape + (3,), np.float32)
    rgb[:] = ink_rgb
    for trace_kind, color in TRACE_RGB.items():
        rgb[kind == trace_kind] = color
    if mode == "rgba":
        out = np.empty(ink.shape + (4,), np.uint8)
        out[..., :3] = np.where(ink[..., None] > 0, rgb, 255).astype(np.uint8)
        out[..., 3] = np.round(ink * 255.0).astype(np.uint8)
        return out
    over_white = rgb * ink[..., None] + 255.0 * (1.0 - ink[..., None])
    if mode == "grey":
        return np.round(over_white.min(axis=2)).astype(np.uint8)
    return np.round(over_white).astype(np.uint8)
