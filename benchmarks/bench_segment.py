"""Milliseconds per frame for line extraction + segmentation, one core.

Frames are procedural characters from the training-data generator (outlined
parts, small eyes and buttons beside large flat regions, colour-trace lines,
antialiased lines with pressure and small gaps), rendered at 1920x1080 and
3840x2160.

    python benchmarks/bench_segment.py [--frames 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2

from engine.lineart import extract_lines
from engine.regions import segment
from training.data.procedural import generate_procedural

SIZES = {"HD 1920x1080": (1920, 1080), "4K 3840x2160": (3840, 2160)}
GAPS = (0, 4, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="frames per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per frame")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # the budget is per core

    print(f"{'size':<14} {'gap':>4} {'regions':>8} {'ms/frame':>9} {'ns/pixel':>9}")
    for label, size in SIZES.items():
        frames = [
            generate_procedural(seed=1234, index=i, size=size, frames=1).line[0]
            for i in range(args.frames)
        ]
        pixels = size[0] * size[1]
        for gap in GAPS:
            times, counts = [], []
            for image in frames:
                segment(extract_lines(image), gap=gap)  # warm up
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    regions = segment(extract_lines(image), gap=gap)
                    times.append(time.perf_counter() - start)
                counts.append(regions.count)
            ms = statistics.median(times) * 1000
            print(
                f"{label:<14} {gap:>4} {statistics.mean(counts):>8.0f} "
                f"{ms:>9.1f} {ms * 1e6 / pixels:>9.2f}"
            )


if __name__ == "__main__":
    main()
