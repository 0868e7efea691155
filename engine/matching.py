"""Region correspondence between a painted key and another frame, and the
colour vote that turns it into fills.

A matcher maps every region of a *target* frame to a distribution over the
key's regions plus a "no match" option. Several target regions may take the
same key region (a region that splits), and a region's colour is the style
with the largest summed probability over all key regions painted with it.

Two matchers need no model and serve as baselines:

- `OverlapMatcher`: a region takes the key regions under its pixels, in
  proportion to the overlap. Exact when nothing moves; the classic
  "paint-through" of ink-and-paint tools.
- `AssignmentMatcher`: SciPy's linear assignment on centroid distance, area
  ratio and shape, one to one, with a cost above which a region is left
  unmatched.

The learned matcher (engine.learned) implements the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.fills import FillMap
from engine.lineart import LineArt
from engine.regions import Regions, RegionTable


@dataclass(frozen=True)
class Frame:
    """One analysed frame: what every matcher and view starts from."""

    number: int
    image: np.ndarray
    lineart: LineArt
    regions: Regions
    timings: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Correspondence:
    """prob: float32 [n_target x (n_key + 1)], rows sum to 1; the last column
    is "no match"."""

    prob: np.ndarray

    @property
    def n_target(self) -> int:
        return int(self.prob.shape[0])

    @property
    def n_key(self) -> int:
        return int(self.prob.shape[1]) - 1

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """Per target region: best key region (-1 = no match) and its score."""
        best = self.prob.argmax(axis=1)
        score = self.prob[np.arange(self.n_target), best]
        best = np.where(best == self.n_key, -1, best)
        return best.astype(np.int64), score.astype(np.float32)


class Matcher(Protocol):
    """Anything that gives correspondences between a key and a target."""

    name: str

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        """Correspondence from ``target``'s regions to ``key``'s."""
        ...


@dataclass(frozen=True)
class Vote:
    """Colour vote of one key for a target frame's regions.

    scores: float32 [n_target x n_styles + 1]; the last column is the mass on
    "no match" or on unpainted key regions.
    blank: float32 [n_target] or None (none), the part of that last column
    on key regions nobody has painted yet: the blank regions of a key the
    animator has only begun. There the key says nothing, so propagation
    fills that share with what the other votes say instead of counting it
    as doubt (engine.propagation.combine_votes).
    """

    scores: np.ndarray
    blank: np.ndarray | None = None


def vote(corr: Correspondence, key_fills: FillMap, n_styles: int) -> Vote:
    """Sum match probabilities over all key regions painted with each style.

    A key region votes with its fill's confidence (1 for animator fills, less
    for propagated ones used as a stepping stone); the rest of its mass, and
    all of an unpainted or flagged region's, goes to "unknown": a fill still
    to be reviewed is a guess, and passing it on would lift the guess over
    the flag threshold in the frames that follow. The share on key regions
    that are blank (unpainted by anyone, not pinned empty, not flagged) is
    also given as ``blank``: see `Vote`.
    """
    painted = key_fills.settled
    style = np.where(painted, key_fills.style, n_styles)
    weight = np.where(painted, key_fills.confidence, 0.0).astype(np.float32)
    weight = np.append(weight, 0.0)  # the "no match" column
    column = np.append(style, n_styles)
    onehot = np.zeros((len(column), n_styles + 1), np.float32)
    onehot[np.arange(len(column)), column] = 1.0
    scores = (corr.prob * weight[None, :]) @ onehot
    scores[:, n_styles] += (corr.prob * (1.0 - weight[None, :])).sum(axis=1)
    said_nothing = corr.prob[:, :-1] @ key_fills.blank.astype(np.float32)
    return Vote(scores.astype(np.float32), said_nothing.astype(np.float32))


class OverlapMatcher:
    """Each region takes the key regions under its pixels (no motion model)."""

    name = "overlap"

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        return overlap_correspondence(key.regions, target.regions)


def overlap_correspondence(key: Regions, target: Regions) -> Correspondence:
    n_key, n_target = key.count, target.count
    if key.shape != target.shape:
        raise ValueError("overlap needs frames of one size")
    mask = target.labels > 0
    t = target.labels[mask].astype(np.int64) - 1
    k = key.under_line[mask].astype(np.int64) - 1
    k = np.where(k < 0, n_key, k)
    counts = np.bincount(t * (n_key + 1) + k, minlength=n_target * (n_key + 1))
    prob = counts.reshape(n_target, n_key + 1).astype(np.float32)
    prob /= np.maximum(prob.sum(axis=1, keepdims=True), 1.0)
    empty = prob.sum(axis=1) == 0
    prob[empty, n_key] = 1.0
    return Correspondence(prob)


def shape_descriptors(regions: Regions) -> np.ndarray:
    """float32 [n x 6]: centroid and size normalised by frame size, log area,
    compactness and bbox aspect; comparable across frames of one shot."""
    return table_descriptors(regions.table, regions.shape)


def table_descriptors(table: RegionTable, shape: tuple[int, int]) -> np.ndarray:
    """`shape_descriptors` of measured regions of a frame of ``shape``."""
    height, width = shape
    scale = float(max(height, width))
    area = table.area.astype(np.float32)
    box_w = (table.bbox[:, 2] - table.bbox[:, 0]).astype(np.float32)
    box_h = (table.bbox[:, 3] - table.bbox[:, 1]).astype(np.float32)
    compact = 4 * np.pi * area / np.maximum(table.perimeter, 1.0) ** 2
    return np.stack(
        [
            table.centroid[:, 0] / scale,
            table.centroid[:, 1] / scale,
            np.log1p(area),
            np.clip(compact, 0, 1),
            np.log((box_w + 1) / (box_h + 1)),
            table.touches_border.astype(np.float32),
        ],
        axis=1,
    ).astype(np.float32)


class AssignmentMatcher:
    """One-to-one assignment on position, size and shape (SciPy)."""

    name = "assignment"

    # Weights of the cost terms, and the cost above which a pair is refused.
    position_weight: float = 8.0
    area_weight: float = 1.0
    shape_weight: float = 1.0
    max_cost: float = 2.5

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        return self.correspond(key.regions, target.regions)

    def correspond(self, key: Regions, target: Regions) -> Correspondence:
        n_key, n_target = key.count, target.count
        prob = np.zeros((n_target, n_key + 1), np.float32)
        prob[:, n_key] = 1.0
        if n_key == 0 or n_target == 0:
            return Correspondence(prob)
        rows, cols, cost = self.pairs(shape_descriptors(target), shape_descriptors(key))
        # An assigned pair always outvotes "no match"; its cost only lowers
        # the confidence, so doubtful pairs get flagged rather than dropped.
        confidence = (0.5 + 0.5 * np.exp(-cost)).astype(np.float32)
        prob[rows, n_key] = 1.0 - confidence
        prob[rows, cols] = confidence
        return Correspondence(prob)

    def pairs(
        self, a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One-to-one pairs of regions described by ``a`` and ``b``
        (`shape_descriptors`): (rows of a, rows of b, cost), those within
        ``max_cost``."""
        position = np.linalg.norm(a[:, None, :2] - b[None, :, :2], axis=2)
        area = np.abs(a[:, None, 2] - b[None, :, 2])
        shape = np.abs(a[:, None, 3] - b[None, :, 3]) + 0.5 * np.abs(
            a[:, None, 4] - b[None, :, 4]
        )
        border = np.abs(a[:, None, 5] - b[None, :, 5])
        cost = (
            self.position_weight * position
            + self.area_weight * area
            + self.shape_weight * (shape + border)
        )
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] <= self.max_cost
        return rows[ok], cols[ok], cost[rows[ok], cols[ok]]
