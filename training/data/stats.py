"""Throughput and content statistics of the generated data, per source.

    python -m training.data.stats --shots 20 --frames 16 --size 512x512 \
        --sources procedural,lottie,clipart [--check]

Regions per frame are label components; motion per frame is the mean
centroid displacement (px) of the identities present in two consecutive
frames. ``--check`` also regenerates each shot with clean lines and reports
the share of regions the engine's segmentation finds as labelled.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage.measure import label as label_components
from tqdm import tqdm

from training.data.__main__ import at_least, parse_size, positive
from training.data.checks import check_frame
from training.data.generate import parse_sources
from training.data.realism import clean_style
from training.data.shot import GeneratedShot


def _make(
    source: str, seed: int, k: int, size: tuple[int, int], frames: int, clean: bool
) -> GeneratedShot | None:
    style = clean_style(size) if clean else None
    if source == "procedural":
        from training.data.procedural import generate_procedural

        return generate_procedural(seed, k, size, frames, style=style)
    if source == "lottie":
        from training.data.lottie import generate_lottie

        return generate_lottie(seed, k, size, frames, style=style)
    from training.data.clipart import generate_clipart

    return generate_clipart(seed, k, size, frames, style=style)


def centroids(labels: np.ndarray) -> dict[int, np.ndarray]:
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs].astype(np.int64)
    count = np.bincount(ids)
    cx = np.bincount(ids, weights=xs) / np.maximum(count, 1)
    cy = np.bincount(ids, weights=ys) / np.maximum(count, 1)
    return {int(i): np.array([cx[i], cy[i]]) for i in np.flatnonzero(count)}


def describe(values: list[float]) -> str:
    if not values:
        return "n/a"
    v = np.asarray(values)
    p90 = np.percentile(v, 90)
    return f"mean {v.mean():.1f}, median {np.median(v):.1f}, p90 {p90:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.stats")
    parser.add_argument("--shots", type=positive, default=10)
    parser.add_argument("--frames", type=positive, default=16)
    parser.add_argument("--size", type=parse_size, default=(512, 512))
    parser.add_argument("--seed", type=at_least(0), default=0)
    parser.add_argument("--sources", default="procedural,lottie,clipart")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    try:
        sources = parse_sources(args.sources)
    except ValueError as exc:
        parser.error(f"--sources: {exc}")
    for source in sources:
        regions: list[float] = []
        motion: list[float] = []
        frames = shots = 0
        gt = matched = 0
        elapsed = 0.0
        for k in tqdm(range(args.shots), desc=source, leave=False):
            began = time.perf_counter()
            shot = _make(source, args.seed, k, args.size, args.frames, False)
            elapsed += time.perf_counter() - began
            if shot is None:
                continue
            shots += 1
            frames += len(shot)
            previous: dict[int, np.ndarray] | None = None
            for labels in shot.labels:
                comps = label_components(labels, background=0, connectivity=1)
                regions.append(float(comps.max()))
                now = centroids(labels)
                if previous is not None:
                    common = sorted(set(now) & set(previous))
                    if common:
                        moves = [np.linalg.norm(now[i] - previous[i]) for i in common]
                        motion.append(float(np.mean(moves)))
                previous = now
            if args.check:
                clean = _make(source, args.seed, k, args.size, args.frames, True)
                for line, labels in (
                    zip(clean.line, clean.labels, strict=True) if clean else ()
                ):
                    result = check_frame(line, labels)
                    gt += result.regions
                    matched += result.matched
        minutes = max(elapsed, 1e-9) / 60
        print(
            f"{source}: {shots} shots, {frames} frames in {elapsed:.1f} s -> "
            f"{shots / minutes:.1f} shots/min, {frames / minutes:.0f} frames/min"
        )
        print(f"  regions per frame: {describe(regions)}")
        print(f"  motion per frame (px): {describe(motion)}")
        if args.check:
            print(
                f"  engine agreement on clean frames: {matched}/{gt} regions "
                f"({100 * matched / max(gt, 1):.2f}%)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
