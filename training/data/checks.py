"""Ground truth against the engine: do the labels and the line art agree?

Both measures are vectorised over pixels: one connected-components pass,
then counts of (component, engine region) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.measure import label as label_components

from engine.regions import DEFAULT_MIN_AREA, segment_image


@dataclass(frozen=True)
class Agreement:
    """How one frame's labels compare with the engine's segmentation.

    regions:       connected label components (the ground-truth regions).
    matched:       of those, the ones the engine finds as one region of its
                   own (mutual best overlap, both ways at least ``purity``).
    engine:        regions the engine found.
    impure:        engine regions whose labelled pixels carry more than one
                   label beyond ``1 - purity``.
    """

    regions: int
    matched: int
    engine: int
    impure: int

    @property
    def ratio(self) -> float:
        return self.matched / max(self.regions, 1)


def _pair_counts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    keep = (a > 0) & (b > 0)
    av, bv = a[keep].astype(np.int64), b[keep].astype(np.int64)
    span = int(bv.max(initial=0)) + 1
    keys, counts = np.unique(av * span + bv, return_counts=True)
    return keys // span, keys % span, counts


def compare(
    labels: np.ndarray, engine_labels: np.ndarray, purity: float = 0.95
) -> Agreement:
    """Compare a label map (0 = line) with an engine label map (0 = line)."""
    gt = label_components(labels, background=0, connectivity=1)
    gt_area = np.bincount(gt.ravel())
    gt_area[0] = 0
    n_gt = int((gt_area >= DEFAULT_MIN_AREA).sum())
    ga, eb, counts = _pair_counts(gt, engine_labels)
    n_engine = int(engine_labels.max(initial=0))
    if len(counts) == 0:
        return Agreement(n_gt, 0, n_engine, 0)
    # Best engine region per gt component, and best component per engine region.
    order = np.lexsort((-counts, ga))
    first = np.r_[True, ga[order][1:] != ga[order][:-1]]
    best_e = dict(zip(ga[order][first], eb[order][first], strict=True))
    order_e = np.lexsort((-counts, eb))
    first_e = np.r_[True, eb[order_e][1:] != eb[order_e][:-1]]
    best_g = dict(zip(eb[order_e][first_e], ga[order_e][first_e], strict=True))
    per_gt = np.bincount(ga, weights=counts, minlength=len(gt_area))
    per_engine = np.bincount(eb, weights=counts, minlength=n_engine + 1)
    matched = 0
    for g, e, c in zip(ga, eb, counts, strict=True):
        if gt_area[g] < DEFAULT_MIN_AREA or best_e[g] != e or best_g[e] != g:
            continue
        if c >= purity * per_gt[g] and c >= purity * per_engine[e]:
            matched += 1
    # Purity of engine regions over identities (not components).
    la, _lb, lcounts = _pair_counts(engine_labels, labels)
    per_region = np.bincount(la, weights=lcounts, minlength=n_engine + 1)
    top = np.zeros(n_engine + 1)
    np.maximum.at(top, la, lcounts)
    impure = int(((top < purity * per_region) & (per_region > 0)).sum())
    return Agreement(n_gt, matched, n_engine, impure)


def check_frame(
    line: np.ndarray, labels: np.ndarray, purity: float = 0.95
) -> Agreement:
    """Segment a line frame with the engine and compare it with its labels."""
    _, regions = segment_image(line)
    return compare(labels, regions.labels, purity)
