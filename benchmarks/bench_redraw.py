"""What a frame redrawn on disk costs while a shot is open.

    python benchmarks/bench_redraw.py                 # HD and 4K
    python benchmarks/bench_redraw.py --sizes hd --repeat 5

A frame of the sample shot, scaled to each size, is segmented as drawn and
again with its drawing moved 6 px (the "redraw"). Timed, median of
``--repeat``: packing a segmentation's numbering (done on the frame-loading
thread when a frame is analysed), working out where each new region's paint
comes from (`engine.carry.carrying`, on the loading thread too,
cached: see `Project.carry_ahead`), the same when the drawing's right half
moved on its own (a tenth of the frame's height: its parts are matched by
place, size and shape to be flagged), carrying the fills and an undo diff
by it (on the GUI thread), and looking for changed line files (a stat per
frame, on the GUI thread; ``--files`` of them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from engine.carry import carrying
from engine.fills import ORIGIN_ANIMATOR, FillMap
from engine.history import frame_diff
from engine.regions import Numbering, segment_image
from engine.shot import file_version

SIZES = {"hd": (1920, 1080), "4k": (3840, 2160)}
SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_shot" / "line"


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(size: tuple[int, int], gap: int, repeat: int) -> dict[str, float]:
    drawing = cv2.imread(str(sorted(SAMPLE.glob("*.png"))[5]))
    drawing = cv2.resize(drawing, size, interpolation=cv2.INTER_CUBIC)
    _, before = segment_image(drawing, gap=gap)
    _, after = segment_image(np.roll(drawing, 6, axis=1), gap=gap)
    half = drawing.copy()
    right = half[:, size[0] // 2 :]
    right[:] = np.roll(right, size[1] // 10, axis=0)
    _, half_moved = segment_image(half, gap=gap)
    old = before.numbering
    everything = np.arange(before.count)
    fills = FillMap.empty(before.count).with_styles(everything, 1, ORIGIN_ANIMATOR)
    diff = frame_diff(0, FillMap.empty(before.count), fills, numbering=old)
    assert diff is not None
    how = carrying(old, after.under_line, after.count)
    assert how is not None
    return {
        "regions": float(before.count),
        "pack_ms": median_ms(
            lambda: Numbering.of(after.under_line, after.count), repeat
        ),
        "packed_kb": len(old.packed) / 1024,
        "source_ms": median_ms(
            lambda: carrying(old, after.under_line, after.count), repeat
        ),
        "part_moved_ms": median_ms(
            lambda: carrying(old, half_moved.under_line, half_moved.count), repeat
        ),
        "carry_fills_ms": median_ms(lambda: how.fills(fills), repeat),
        "carry_diff_ms": median_ms(
            lambda: diff.carried(how.source, after.numbering), repeat
        ),
    }


def stat_ms(files: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"{i:04d}.png" for i in range(files)]
        for path in paths:
            path.write_bytes(b"\x89PNG")
        return median_ms(lambda: [file_version(p) for p in paths], repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="hd,4k", help="hd, 4k or both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args(argv)
    gaps = {"hd": 12, "4k": 24}  # the application's defaults at these sizes
    print(
        "size | regions | pack | packed | where paint goes | a part moved | "
        "carry fills | carry diff"
    )
    for name in args.sizes.split(","):
        r = run(SIZES[name], gaps[name], args.repeat)
        print(
            f"{name} | {r['regions']:.0f} | {r['pack_ms']:.0f} ms | "
            f"{r['packed_kb']:.0f} KB | {r['source_ms']:.0f} ms | "
            f"{r['part_moved_ms']:.0f} ms | "
            f"{r['carry_fills_ms']:.2f} ms | {r['carry_diff_ms']:.2f} ms"
        )
    print(f"stat of {args.files} line files: {stat_ms(args.files, args.repeat):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
