"""Accuracy of two inference-time variants of the learned matcher, tried and
not shipped: the evaluation of training.evaluate with the shipped weights
wrapped.

    python benchmarks/inference_variants.py --variant mirror     # 2 minutes
    python benchmarks/inference_variants.py --variant capacity

mirror:    each pair is matched as it is and mirrored left to right (the
           training data is mirrored too), and the two probability matrices
           are averaged: twice the cost of a match.
capacity:  a few rounds that scale each key region's column towards the area
           it can take (its share of the key's painted area, times the
           frame's), so two large regions do not both go to one small one.

Measured on the 48 validation shots (seed 777; segment accuracy, previous
frame / long range / first and last keys), against the shipped matcher's
0.934 / 0.834 / 0.888: mirror 0.936 / 0.837 / 0.893, capacity 0.934 /
0.830 / 0.886. Further arguments go to training.evaluate (--seed 779,
--shots 4, ...).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

import training.evaluate as evaluate
from engine.fills import FillMap
from engine.matching import Correspondence, Frame, Matcher

CAPACITY_ROUNDS = 3
CAPACITY_STRENGTH = 0.5  # exponent of each round's scaling
# Mirrored frames are cached by the inner matcher under numbers past these.
MIRROR_NUMBERS = 10**6


def mirrored(frame: Frame) -> Frame:
    """The frame flipped left to right, its regions numbered as before."""
    regions, lineart = frame.regions, frame.lineart
    width = regions.shape[1]
    table = regions.table
    bbox = table.bbox.copy()
    bbox[:, 0], bbox[:, 2] = width - table.bbox[:, 2], width - table.bbox[:, 0]
    centroid = table.centroid.copy()
    centroid[:, 0] = (width - 1) - table.centroid[:, 0]

    def flip(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array[:, ::-1])

    return replace(
        frame,
        number=frame.number + MIRROR_NUMBERS,
        image=flip(frame.image),
        lineart=replace(
            lineart,
            ink=flip(lineart.ink),
            line=flip(lineart.line),
            trace_hue=flip(lineart.trace_hue),
        ),
        regions=replace(
            regions,
            labels=flip(regions.labels),
            under_line=flip(regions.under_line),
            table=replace(table, bbox=bbox, centroid=centroid),
        ),
    )


class Variant:
    """A matcher whose correspondences one variant post-processes."""

    name = "learned"

    def __init__(self, inner: Matcher, variant: str) -> None:
        self.inner = inner
        self.variant = variant

    def clear(self) -> None:
        getattr(self.inner, "clear", lambda: None)()

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        prob = self.inner.match(key, key_fills, target).prob.astype(np.float64)
        if self.variant == "mirror":
            flipped = self.inner.match(mirrored(key), key_fills, mirrored(target))
            prob = 0.5 * (prob + flipped.prob)
        elif key.regions.count and target.regions.count:
            prob = by_capacity(prob, key, target)
        prob /= prob.sum(axis=1, keepdims=True)
        return Correspondence(prob.astype(np.float32))


def by_capacity(prob: np.ndarray, key: Frame, target: Frame) -> np.ndarray:
    """Rows rescaled so each key region's matched area nears its own."""
    target_area = target.regions.table.area.astype(np.float64)
    key_area = key.regions.table.area.astype(np.float64)
    capacity = key_area * target_area.sum() / max(key_area.sum(), 1.0)
    for _ in range(CAPACITY_ROUNDS):
        load = (prob[:, :-1] * target_area[:, None]).sum(axis=0)
        ratio = np.clip(capacity / np.maximum(load, 1e-9), 0.1, 10.0)
        prob[:, :-1] *= ratio[None, :] ** CAPACITY_STRENGTH
        prob /= prob.sum(axis=1, keepdims=True)
    return prob


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=("mirror", "capacity"), required=True)
    args, rest = parser.parse_known_args()
    load = evaluate.load_weights

    def load_variant(weights: str | None, device: str = "cpu") -> tuple[Matcher, str]:
        matcher, seen = load(weights, device)
        # Room for each frame and its mirror image.
        if hasattr(matcher, "cache_frames"):
            matcher.cache_frames *= 4
        return Variant(matcher, args.variant), seen

    evaluate.load_weights = load_variant
    return evaluate.main(["--matchers", "learned", *rest])


if __name__ == "__main__":
    raise SystemExit(main())
