"""Memory and time of one learned match as the region count grows.

    python benchmarks/bench_regions.py                  # 40, 28, 20 px grids
    python benchmarks/bench_regions.py --steps 16 --threads 2

Frames are 1920x1080 grids of rings, one ring every STEP px (the second
frame shifted by 3 px), so the region count is set by STEP. The graph
network attends across the two frames, so its memory grows with the product
of the region counts; ``engine.learned.PAIR_BYTES`` (the memory a match is
refused without) comes from these figures. Each step runs in a fresh
process; peak memory is the largest resident set size seen during the
match above the size before it (bench_model's PeakRss).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def run_one(step: int, threads: int) -> dict[str, float]:
    import cv2
    import numpy as np
    import torch
    from bench_model import PeakRss

    from engine.fills import FillMap
    from engine.learned import load_shipped_matcher
    from engine.matching import Frame
    from engine.regions import segment_image

    torch.set_num_threads(threads)
    image = np.full((1080, 1920), 255, np.uint8)
    for x in range(step // 2, 1920, step):
        for y in range(step // 2, 1080, step):
            cv2.circle(image, (x, y), step // 3, 0, 1)
    images = (image, np.roll(image, 3, axis=1))
    frames = [Frame(i, im, *segment_image(im, gap=2)) for i, im in enumerate(images)]
    matcher = load_shipped_matcher("cpu")
    key, target = frames
    with PeakRss() as rss:
        started = time.perf_counter()
        matcher.match(key, FillMap.empty(key.regions.count), target)
        seconds = time.perf_counter() - started
    pairs = key.regions.count * target.regions.count
    peak = (rss.peak - rss.base) * 2**20
    return {
        "regions": key.regions.count,
        "seconds": seconds,
        "peak_mb": peak / 2**20,
        "bytes_per_pair": peak / pairs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="40,28,20", help="ring spacings in px")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.threads)))
        return 0
    print("| regions | match | peak extra memory | bytes per region pair |")
    print("|---|---|---|---|")
    for step in (int(s) for s in args.steps.split(",")):
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(step)]
            + ["--threads", str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {row['regions']:,} | {row['seconds']:.1f} s | "
            f"{row['peak_mb']:,.0f} MB | {row['bytes_per_pair']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
