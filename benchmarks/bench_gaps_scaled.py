"""Gap closing at every frame size: the sample shot's frames scaled up.

    python benchmarks/bench_gaps_scaled.py                 # about 20 s on the CPU
    python benchmarks/bench_gaps_scaled.py --gap 8 --scales 1,2,4

Each frame of the sample shot (960x540, lines about 2 px thick) is scaled up
2, 3 and 4 times (4x is 3840x2160), as a drawing rendered at HD or 4K has
lines as much thicker, and segmented with the gap scaled too. Against the
frame at its own size it counts, over the frames:

- closed: the gaps closed at 1x closed again (a closure near both ends);
- leaks:  regions at 1x that run into another region (what paints wrong);
- cuts:   regions at 1x cut in two (both halves are matched: little harm);
- ms:     the median time of gap closing alone, per frame.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from engine.gaps import close_gaps
from engine.imageio import read_image
from engine.lineart import extract_lines
from engine.regions import DEFAULT_MIN_AREA, Regions, segment

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_shot" / "line"
INTERPOLATIONS = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR}
# A region smaller than this at 1x is not counted (a speck, a sliver).
COUNTED_AREA = 30


def closed_again(small: np.ndarray, big: np.ndarray, scale: int) -> int:
    """How many 1x closures have a closure at ``scale`` near both ends."""
    if len(small) == 0 or len(big) == 0:
        return 0
    near = 3 * scale + 2
    found = 0
    for x0, y0, x1, y1 in (small * scale + (scale - 1) / 2).tolist():
        ends = big.astype(np.float64)
        same = (np.hypot(ends[:, 0] - x0, ends[:, 1] - y0) < near) & (
            np.hypot(ends[:, 2] - x1, ends[:, 3] - y1) < near
        )
        flipped = (np.hypot(ends[:, 0] - x1, ends[:, 1] - y1) < near) & (
            np.hypot(ends[:, 2] - x0, ends[:, 3] - y0) < near
        )
        found += bool((same | flipped).any())
    return found


def leaks_and_cuts(small: Regions, big: Regions, scale: int) -> tuple[int, int]:
    """1x regions merged into another at ``scale``, and 1x regions split."""
    inside = cv2.erode((small.labels > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(inside)
    before = small.labels[ys, xs]
    after = big.labels[ys * scale + scale // 2, xs * scale + scale // 2]
    owners: dict[int, int] = {}
    cuts = 0
    for region in np.unique(before):
        landed = after[before == region]
        if len(landed) < COUNTED_AREA:
            continue
        values, counts = np.unique(landed, return_counts=True)
        cuts += int((counts >= 0.1 * len(landed)).sum() > 1)
        owner = int(values[np.argmax(counts)])
        owners[owner] = owners.get(owner, 0) + 1
    return sum(n - 1 for n in owners.values()), cuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=int, default=6, help="gap at 1x (the sample's)")
    parser.add_argument("--scales", default="1,2,3,4")
    parser.add_argument("--frames", default="1,4,8,12,16,20,24")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    frames = [int(f) for f in args.frames.split(",")]
    print(f"sample frames {args.frames}, gap {args.gap} px at 1x, scaled")
    print("| interpolation | scale | size | closed | leaks | cuts | ms |")
    print("|---|---|---|---|---|---|---|")
    for name, interpolation in INTERPOLATIONS.items():
        totals = {s: [0, 0, 0, 0] for s in scales}  # closed, of, leaks, cuts
        times: dict[int, list[float]] = {s: [] for s in scales}
        sizes: dict[int, str] = {}
        for number in frames:
            image = read_image(SAMPLE / f"{number:04d}.png")
            small = segment(extract_lines(image), gap=args.gap)
            for scale in scales:
                big_image = cv2.resize(
                    image, None, fx=scale, fy=scale, interpolation=interpolation
                )
                lines = extract_lines(big_image)
                gap = args.gap * scale
                started = time.perf_counter()
                close_gaps(lines.line, gap)
                times[scale].append((time.perf_counter() - started) * 1000)
                big = segment(lines, gap=gap, min_area=DEFAULT_MIN_AREA * scale**2)
                leaks, cuts = leaks_and_cuts(small, big, scale)
                found = closed_again(
                    small.closures.segments, big.closures.segments, scale
                )
                total = totals[scale]
                total[0] += found
                total[1] += len(small.closures.segments)
                total[2] += leaks
                total[3] += cuts
                sizes[scale] = f"{big_image.shape[1]}x{big_image.shape[0]}"
        for scale in scales:
            closed, of, leaks, cuts = totals[scale]
            ms = statistics.median(times[scale])
            print(
                f"| {name} | {scale}x | {sizes[scale]} | {closed}/{of} | {leaks} "
                f"| {cuts} | {ms:.0f} |"
            )


if __name__ == "__main__":
    main()
