"""Gap closing: invisible segments that stop fills leaking through small gaps.

Animators draw closed shapes with open lines. Like the "close gaps" option of
Toon Boom Harmony, OpenToonz and Krita, Cadmium bridges a gap of at most
``max_gap`` pixels between a line end and a nearby line. Closures are kept
apart from the drawing: they act as lines for segmentation only, are never
painted into any output, and are returned as segments the application draws.

How line ends are found, without a skeleton (skeletonising an HD frame costs
more than the whole segmentation budget):

1. The distance transform of the line mask gives each line pixel its depth;
   the pixels at a local maximum of depth form the line's centre (its ridge).
2. Around each ridge pixel, a ring just wider than the line is sampled. On
   the middle of a stroke the ring crosses the line twice, at a junction
   three times or more, at a stroke's end exactly once. The line samples on
   the ring point back along the stroke, so their mean direction gives the
   stroke's direction too.
3. From each end, rays fanned around the stroke's direction look for the
   first line pixel after leaving the stroke; the shortest hit within
   ``max_gap`` becomes a closure segment.

Steps 1 and 2 hold for lines a few px thick. On thicker lines (a 4K frame,
a broad brush) the 3x3 distance transform's ridge has plateaus and spurs
whose rings stay inside the stroke (stray "ends" all along it), and a blunt
or notched stroke end pokes through a ring just wider than the line (the
end is missed). So when the frame's lines are about 5 px thick or more
(line_width: a 4K frame's), ends are found on a copy of the line mask
shrunk by the whole factor that brings its lines back to about END_WIDTH
px, and moved back onto the full-size line; rays, gap sizes and the
connectivity test stay at full size. A gap up to about two shrunk pixels
wide may vanish from the copy or show no end there: it is closed whole
instead, as the pixels a closing that wide fills, where they form a short
channel through a line (open to the background at both ends; a dent in a
stroke's edge opens once). Such a channel is sometimes a narrow part of a
region, which is then cut in two; that costs far less than a leak (both
halves are matched). Lines thinner than 5 px are handled exactly as before
(SHRINK_FROM). On seven frames of the sample shot scaled up 3 and 4 times,
all 25 gaps its own size closes at 6 px close at 18 and 24 px, against 12
to 15 before, with no leak and one cut (one leak scaled linearly to 4x);
at 2x (HD) all 25 close with no leak, since lines from 3 px thick also
try a slightly wider ring for tips that taper (TAPERED_FROM), against 20 to
22 before (`python benchmarks/bench_gaps_scaled.py`).

The ring is drawn half a pixel outside the stroke's edge, so even a
one-pixel gap leaves the ring crossing the stroke once. Closures only ever
start at line ends: a morphological closing would also fill every small
region a few pixels across (an eye's highlight, a sliver between two close
lines), which is not a gap. And a closure must join two lines that are not
already connected close by, so a tight loop is never bridged across.

Regions are 4-connected and closures are drawn 8-connected, so a drawn
closure never lets a fill through diagonally.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

# Gaps closed when a shot names no setting, in px at the frame's size. At 4
# px, parts of the validation drawings leaked into each other through gaps
# in their outlines; at 8 px few do, and a few more parts are cut in two by
# a closure from a line end meant to stay open, which costs far less (both
# halves are matched). Measured in the README, "Gap closing".
DEFAULT_GAP = 8
# DEFAULT_GAP holds for frames up to this many px on their long side; larger
# frames close gaps in proportion (12 px at HD, 24 at 4K): a drawing
# rendered larger has larger gaps. On the held-out drawings rendered at HD,
# 8 px left parts leaking (leak-free 0.984, 1.5% of parts cut) where 12
# closes them (0.993, 2.0%); 16 and 20 close no more and cut more (3% and
# 5%). At 4K, 8 and 12 px leave 0.991 and 16 or 24 px 0.992, with the same
# cuts (`python -m training.evaluate_gaps --size 1920x1080 --shots 4
# --frames 8 --gaps 8,12,16,20`; `--size 3840x2160 --shots 3 --frames 4`).
GAP_REFERENCE_SIDE = 1280
# The widest gap any command or shot.json may ask for: past it, closures
# bridge lines that were drawn apart on purpose.
MAX_GAP = 64

RING_SAMPLES = 16
RAY_ANGLES_DEG = (-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0)
RAY_STEP = 0.5
# The widest end ring, in px. Thick lines are shrunk to about END_WIDTH px
# before their ends are found (find_thick_line_ends), so rings stay small;
# this bounds them on a frame whose lines vary widely in width.
MAX_RING = 12
# Line ends are found where the frame's lines are about this thick (px);
# see end_scale.
END_WIDTH = 2.0
# The smallest factor lines are shrunk by. Lines about 3-5 px thick (an HD
# frame's) keep the full-size end finder: shrunk by 2, a gap about as wide
# as the line fell between the shrunk copy's ends and the narrow gaps
# closed whole, and a drawing that closes at full size leaked (a test);
# from 3 (a 4K frame's lines) the shrunk copy finds what the full-size
# finder misses.
SHRINK_FROM = 3
# How far outside a stroke's edge its end ring is drawn, in px. The closer,
# the narrower a gap can be and still show its two ends.
RING_MARGIN = 1.0
# On lines TAPERED_FROM px thick or more (an HD frame's, found at full
# size), a ridge pixel whose ring does not show an end is tried again on a
# ring half a pixel wider: a stroke that narrows to its tip over a few px
# (a drawing scaled up, a brush) reaches past the first ring ahead, so its
# end went unseen and its gap stayed open. On seven sample frames at HD
# this closes all 25 gaps the sample closes at its own size, with no leak
# (20 and 3 leaks before); on generated drawings rendered at HD it leaves
# the leaks as they were and cuts a few more parts (1.5% against 1.2% at
# 8 px, `python -m training.evaluate_gaps --size 1920x1080 --shots 4
# --frames 8`). Thinner lines keep the one ring: on the validation
# drawings at 640x360 the wider one leaked more and cut more (leak-free
# 0.995 against 0.997, cuts 2.3% against 1.4% at 8 px).
TAPERED_FROM = 3.0
WIDER_RING_STEPS = 1  # the wider ring's extra radius, in half px
# Rays off the stroke's axis cost a little more, so a straight-ahead hit wins
# over a slightly nearer one to the side.
ANGLE_PENALTY = 0.3


def default_gap(size: tuple[int, int], base: int = DEFAULT_GAP) -> int:
    """The gap closing (px) for frames of ``size`` (width, height) when
    nothing names one: ``base`` up to GAP_REFERENCE_SIDE px on the long
    side, in proportion beyond, at most MAX_GAP."""
    scale = max(1.0, max(size) / GAP_REFERENCE_SIDE)
    return min(MAX_GAP, int(np.floor(base * scale + 0.5)))


def gap_problem(gap: object) -> str | None:
    """Why ``gap`` is not a gap-closing distance, worded for the user, or
    None when it is one (a whole number of px from 0 to MAX_GAP)."""
    if (
        isinstance(gap, int | float)
        and not isinstance(gap, bool)
        and 0 <= gap <= MAX_GAP
        and float(gap).is_integer()
    ):
        return None
    return f"use a whole number of px from 0 (off) to {MAX_GAP}"


@dataclass(frozen=True)
class Closures:
    """Gap closures of one frame.

    segments: int32 [K x 4] as (x0, y0, x1, y1), line end to the line hit.
    mask:     bool [H x W], every closure pixel (segments and 1-2 px bridges).
    """

    segments: np.ndarray
    mask: np.ndarray

    @staticmethod
    def none(shape: tuple[int, int]) -> Closures:
        return Closures(np.zeros((0, 4), np.int32), np.zeros(shape, bool))


def close_gaps(line: np.ndarray, max_gap: int) -> Closures:
    """Closures for every gap of at most ``max_gap`` px in a line mask."""
    if max_gap <= 0 or not line.any():
        return Closures.none(line.shape)
    line_u8 = line.view(np.uint8) if line.dtype == np.bool_ else line.astype(np.uint8)

    thickness = line_width(line_u8)
    factor = end_scale(thickness)
    canvas = np.zeros(line.shape, np.uint8)
    if factor == 1:
        ends, directions, depth = find_line_ends(
            line, line_u8, tapered=thickness >= TAPERED_FROM
        )
        segments = cast_closure_rays(line, ends, directions, depth, max_gap)
    else:
        ends, directions, depth = find_thick_line_ends(line, line_u8, factor)
        channels, across = narrow_gaps(line_u8, min(2 * factor, max_gap), thickness)
        canvas |= channels
        segments = np.concatenate(
            [cast_closure_rays(line, ends, directions, depth, max_gap), across]
        )
    for x0, y0, x1, y1 in segments.tolist():
        cv2.line(canvas, (x0, y0), (x1, y1), 1, 1, cv2.LINE_8)
    return Closures(segments=segments, mask=canvas.astype(bool) & ~line)


def line_width(line_u8: np.ndarray) -> float:
    """The frame's typical line thickness in px: twice the line area over
    its edge pixels (a stroke w px wide and L long has wL px, about 2L of
    them on its edge). Lines 1 or 2 px thick read about 2."""
    inner = cv2.erode(
        line_u8,
        np.ones((3, 3), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=1,
    )
    area = cv2.countNonZero(line_u8)
    width = 2.0 * area / max(area - cv2.countNonZero(inner), 1)
    # No stroke is thicker than the frame: ink with (almost) no edge (a
    # black card, a frame filled but for a speck) would otherwise read tens
    # of thousands of px, and shrinking by that crashed OpenCV.
    return min(width, float(min(line_u8.shape)))


def end_scale(thickness: float) -> int:
    """The whole factor that shrinks lines ``thickness`` px thick to about
    END_WIDTH px, from SHRINK_FROM up (1: ends are found at full size)."""
    factor = int(np.floor(thickness / END_WIDTH + 0.5))
    return factor if factor >= SHRINK_FROM else 1


def find_thick_line_ends(
    line: np.ndarray, line_u8: np.ndarray, factor: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """find_line_ends on the mask shrunk ``factor`` times (a shrunk pixel is
    line when at least half of it is), in full-size px."""
    small = _shrink(line_u8, factor) >= 128
    ends, directions, depth = find_line_ends(small, small.view(np.uint8))
    ends, found = _onto_line(line, ends * factor + (factor - 1) / 2.0, factor)
    return ends[found], directions[found], depth[found] * factor


def _shrink(mask_u8: np.ndarray, factor: int) -> np.ndarray:
    """How much (0-255) of each ``factor`` x ``factor`` block of a 0/1 mask
    is set; past the frame's edge counts as set (as line, in
    find_line_ends)."""
    height, width = mask_u8.shape
    small_h, small_w = -(-height // factor), -(-width // factor)
    padded = np.full((small_h * factor, small_w * factor), 255, np.uint8)
    padded[:height, :width] = mask_u8 * np.uint8(255)
    return cv2.resize(padded, (small_w, small_h), interpolation=cv2.INTER_AREA)


def _onto_line(
    line: np.ndarray, points: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each point moved to the nearest line pixel at most ``radius`` px away
    on each axis (a closure starts on its line), and which points had one."""
    moved = np.zeros_like(points)
    found = np.zeros(len(points), bool)
    for k, (x, y) in enumerate(np.rint(points).astype(int).tolist()):
        top, left = max(y - radius, 0), max(x - radius, 0)
        wy, wx = np.nonzero(line[top : y + radius + 1, left : x + radius + 1])
        if len(wx):
            best = np.argmin((wx + left - x) ** 2 + (wy + top - y) ** 2)
            moved[k] = (wx[best] + left, wy[best] + top)
            found[k] = True
    return moved, found


def narrow_gaps(
    line_u8: np.ndarray, width: int, thickness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaps at most ``width`` px wide across lines ``thickness`` px thick:
    each group of pixels a closing that wide fills, kept when it opens onto
    the background in two places (a channel through a line; a dent in a
    stroke's edge, or the corner between two strokes, opens once) and runs
    no further than about a line's thickness (a longer channel is a sliver
    between two lines, a region of its own). Returns their mask (uint8 0/1)
    and one segment across each, for drawing."""
    none = np.zeros(line_u8.shape, np.uint8), np.zeros((0, 4), np.int32)
    # A closing by a disk k px across (k odd: even ones are off centre)
    # fills gaps up to k - 1 px.
    size = 2 * (width // 2) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    closed = cv2.morphologyEx(line_u8, cv2.MORPH_CLOSE, kernel)
    narrow = cv2.subtract(closed, line_u8)
    points = cv2.findNonZero(narrow)  # far faster than np.nonzero on a frame
    if points is None:
        return none
    xs, ys = points.reshape(-1, 2).T
    # The filled pixels are few: group them 8-connected as points.
    part = _cluster(np.stack([xs, ys], axis=1).astype(np.float32), radius=1.5)
    n_parts = int(part.max()) + 1
    part = part.astype(np.int64)
    # Where each group opens onto the background: its pixels' 4-neighbours
    # that the closing left empty, grouped 8-connected (never across groups).
    height, width_px = line_u8.shape
    mouths = []
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width_px)
        ny, nx, owner = ny[inside], nx[inside], part[inside]
        empty = closed[ny, nx] == 0
        mouths.append(np.stack([nx[empty], ny[empty], owner[empty]], axis=1))
    mouths = np.unique(np.concatenate(mouths), axis=0)
    if len(mouths) == 0:
        return none
    # (Groups far apart in a third axis never join.)
    spread = mouths.astype(np.float64) * [1.0, 1.0, 4.0]
    opening = _cluster(spread, radius=1.5)
    openings = np.unique(np.stack([mouths[:, 2], opening], axis=1), axis=0)
    joins = np.bincount(openings[:, 0], minlength=n_parts) >= 2
    across = []
    for label in np.nonzero(joins)[0].tolist():
        pts = np.stack([xs[part == label], ys[part == label]], axis=1).astype(
            np.float32
        )
        (cx, cy), (w, h), angle = cv2.minAreaRect(pts)
        if max(w, h) > 1.5 * thickness:
            joins[label] = False
            continue
        # Across the gap: along the rectangle's short side, a pixel past it.
        theta = np.deg2rad(angle + (0.0 if w < h else 90.0))
        half = min(w, h) / 2.0 + 1.0
        ux, uy = np.cos(theta) * half, np.sin(theta) * half
        across.append([cx - ux, cy - uy, cx + ux, cy + uy])
    keep = joins[part]
    if not keep.any():
        return none
    mask = np.zeros(line_u8.shape, np.uint8)
    mask[ys[keep], xs[keep]] = 1
    across = np.clip(
        np.rint(np.asarray(across)),
        0,
        [width_px - 1, height - 1, width_px - 1, height - 1],
    ).astype(np.int32)
    return mask, across


def find_line_ends(
    line: np.ndarray, line_u8: np.ndarray, tapered: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stroke ends of a line mask (``tapered``: also those a ring half a
    pixel wider shows; see TAPERED_FROM).

    Returns ends (float32 [E x 2], x and y), unit directions pointing out of
    the stroke (float32 [E x 2]) and each end's line depth in px ([E]).
    """
    depth = cv2.distanceTransform(line_u8, cv2.DIST_L2, 3)
    ridge = line & (depth >= cv2.dilate(depth, np.ones((3, 3), np.uint8)) - 1e-3)
    ys, xs = np.nonzero(ridge)
    if len(xs) == 0:
        empty = np.zeros((0, 2), np.float32)
        return empty, empty, np.zeros(0, np.float32)
    # Rings are sampled as integer offsets into a padded copy of the mask,
    # one offset table per ring radius (radii are quantised to 0.5 px).
    angles = np.linspace(0.0, 2.0 * np.pi, RING_SAMPLES, endpoint=False)
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    # (A frame that is all line has no zero for the distance transform, whose
    # values are then near float32's maximum: clip before doubling.)
    near = np.minimum(depth[ys, xs], MAX_RING)
    radius_step = np.minimum(np.rint((near + RING_MARGIN) * 2), 2 * MAX_RING).astype(
        np.int32
    )
    pad = MAX_RING + 1
    # Outside the frame counts as line: a stroke running off the edge is
    # closed by the edge, not open.
    padded = np.pad(line, pad, constant_values=True)
    stride = padded.shape[1]
    steps = np.arange(2 * MAX_RING + 1)
    offsets = np.rint(steps[:, None] / 2 * sin[None, :]).astype(
        np.int64
    ) * stride + np.rint(steps[:, None] / 2 * cos[None, :]).astype(
        np.int64
    )  # [radius step x RING_SAMPLES]
    base = (ys.astype(np.int64) + pad) * stride + xs + pad
    flat = padded.ravel()
    on_line = flat[base[:, None] + offsets[radius_step]]
    is_end = _arcs(on_line) == 1
    if tapered:  # see TAPERED_FROM
        wider_step = np.minimum(radius_step + WIDER_RING_STEPS, 2 * MAX_RING)
        wider = flat[base[:, None] + offsets[wider_step]]
        use_wider = ~is_end & (_arcs(wider) == 1)
        on_line = np.where(use_wider[:, None], wider, on_line)
        is_end |= use_wider
    if not is_end.any():
        empty = np.zeros((0, 2), np.float32)
        return empty, empty, np.zeros(0, np.float32)
    xs, ys = xs[is_end].astype(np.float32), ys[is_end].astype(np.float32)
    samples = on_line[is_end].astype(np.float32)
    back = np.stack([samples @ cos, samples @ sin], axis=1)
    norm = np.linalg.norm(back, axis=1, keepdims=True)
    forward = -back / np.maximum(norm, 1e-6)
    points = np.stack([xs, ys], axis=1)
    # Several ridge pixels near one end pass the test; keep the tip-most.
    groups = _cluster(points, radius=2.0)
    tip_score = (points * forward).sum(axis=1)
    order = np.lexsort((-tip_score, groups))
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
    return (
        points[first],
        forward[first],
        depth[ys[first].astype(int), xs[first].astype(int)],
    )


def _arcs(on_ring: np.ndarray) -> np.ndarray:
    """Per ring (a row of samples in order around it), how many separate
    runs of line it crosses."""
    return (on_ring & ~np.roll(on_ring, 1, axis=1)).sum(axis=1)


def _cluster(points: np.ndarray, radius: float) -> np.ndarray:
    """Connected groups of points closer than ``radius`` (group id per point)."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(points)
    graph = coo_matrix(
        (np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    _, groups = connected_components(graph, directed=False)
    return groups


def cast_closure_rays(
    line: np.ndarray,
    ends: np.ndarray,
    directions: np.ndarray,
    depth: np.ndarray,
    max_gap: int,
) -> np.ndarray:
    """Closure segments [K x 4] from line ends to the nearest line ahead."""
    if len(ends) == 0:
        return np.zeros((0, 4), np.int32)
    height, width = line.shape
    angles = np.deg2rad(np.asarray(RAY_ANGLES_DEG, np.float32))
    cos, sin = np.cos(angles), np.sin(angles)
    dx, dy = directions[:, 0:1], directions[:, 1:2]
    ray_x = dx * cos[None, :] - dy * sin[None, :]  # [E x A]
    ray_y = dx * sin[None, :] + dy * cos[None, :]
    reach = float(max_gap) + 3.0
    steps = np.arange(RAY_STEP, reach + depth.max() + RAY_STEP, RAY_STEP, np.float32)
    px = ends[:, 0, None, None] + ray_x[:, :, None] * steps[None, None, :]
    py = ends[:, 1, None, None] + ray_y[:, :, None] * steps[None, None, :]
    ix, iy = np.rint(px).astype(np.int32), np.rint(py).astype(np.int32)
    inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    hit = np.ones(ix.shape, bool)  # the frame's edge stops a fill too
    hit[inside] = line[iy[inside], ix[inside]]
    left = np.logical_or.accumulate(~hit, axis=2)  # has left its own stroke
    exit_step = np.argmax(~hit, axis=2)
    landed = hit & np.concatenate([np.zeros_like(left[:, :, :1]), left[:, :, :-1]], 2)
    has_hit = landed.any(axis=2)
    hit_step = np.argmax(landed, axis=2)
    gap = (hit_step - exit_step).astype(np.float32) * RAY_STEP
    ok = has_hit & (gap <= max_gap) & left.any(axis=2)
    cost = np.where(
        ok, gap * (1.0 + ANGLE_PENALTY * np.abs(angles) / angles.max()), np.inf
    )
    best = np.argmin(cost, axis=1)
    chosen = np.isfinite(cost[np.arange(len(ends)), best])
    if not chosen.any():
        return np.zeros((0, 4), np.int32)
    rows = np.nonzero(chosen)[0]
    cols = best[rows]
    hx = np.clip(ix[rows, cols, hit_step[rows, cols]], 0, width - 1)
    hy = np.clip(iy[rows, cols, hit_step[rows, cols]], 0, height - 1)
    start = np.rint(ends[rows]).astype(np.int32)
    segments = np.stack([start[:, 0], start[:, 1], hx, hy], axis=1).astype(np.int32)
    return segments[[joins_separate_lines(line, seg) for seg in segments]]


def joins_separate_lines(line: np.ndarray, segment: np.ndarray) -> bool:
    """Whether a closure joins two lines that are not already connected close
    by. A real gap separates two line ends (or an end and another line);
    a tight loop such as an eye highlight's outline is one line all around,
    and bridging it would cut its region away."""
    x0, y0, x1, y1 = (int(v) for v in segment)
    reach = int(np.ceil(np.hypot(x1 - x0, y1 - y0))) + 3
    top, left = max(y0 - reach, 0), max(x0 - reach, 0)
    crop = line[top : y0 + reach + 1, left : x0 + reach + 1].view(np.uint8)
    _, parts = cv2.connectedComponents(np.ascontiguousarray(crop), connectivity=8)
    return bool(parts[y0 - top, x0 - left] != parts[y1 - top, x1 - left])
