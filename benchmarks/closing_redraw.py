"""A closing line following its frame's redrawn drawing: where it lands,
and how long it takes.

    python benchmarks/closing_redraw.py              # about 20 s on the CPU
    python benchmarks/closing_redraw.py --scales 1   # the sample's size only

Frame 1 of the sample shot has its torso parted by a closing line (as in
`carry_closing.py`); its drawing is then redrawn moved as a whole, and
with only the half of the frame the figure stands in moved (a part
nudged in clean-up). Per case: whether the line, left where it was,
still parts the torso; where it lands when it follows (its offset from
where it was, against the drawing's own move); whether it parts the torso
there; and the seconds following takes (the boundaries matched, and the
frame segmented again with the line moved), beyond the frame's analysis.
Run at the sample's size (960 x 540) and scaled to HD and 4K.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
from carry_closing import SAMPLE, run_scales, torso_line  # benchmarks/, a script

from engine.closing_lines import ClosingLines
from engine.closing_redraw import Placement, Redraw
from engine.facade import opening_gap
from engine.imageio import read_image
from engine.matching import Frame
from engine.regions import segment_image
from engine.shot import open_shot

MOVES = ((2, 1), (6, 3), (20, 10))  # px at the sample's size


def analyse(image: np.ndarray, lines: ClosingLines, gap: int) -> Frame:
    lineart, regions = segment_image(image, gap=gap, closing=lines)
    return Frame(1, image, lineart, regions)


def run(scale: int) -> None:
    image = read_image(sorted((SAMPLE / "line").glob("*.png"))[0])
    if scale > 1:
        size = (image.shape[1] * scale, image.shape[0] * scale)
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    gap = opening_gap(open_shot(SAMPLE)) * scale
    plain = analyse(image, ClosingLines(), gap)
    lines = torso_line(plain, scale)
    drawn = analyse(image, lines, gap)
    (stroke,) = lines.strokes
    height, width = image.shape[:2]
    print(f"\n{width} x {height}, gap {gap} px")
    for dx, dy in ((x * scale, y * scale) for x, y in MOVES):
        whole = np.roll(image, (dy, dx), axis=(0, 1))
        part = image.copy()
        half = width // 2  # the figure stands in the right half
        part[:, half:] = np.roll(image[:, half:], (dy, dx), axis=(0, 1))
        for name, redrawn in (("whole drawing", whole), ("right half", part)):
            alone = analyse(redrawn, ClosingLines(), gap).regions.count
            before = analyse(redrawn, lines, gap)
            left = "parts" if before.regions.count > alone else "parts nothing"
            started = time.perf_counter()
            followed = Redraw(lines, Placement.of(drawn)).follow(
                before, lambda other, redrawn=redrawn: analyse(redrawn, other, gap)
            )
            seconds = time.perf_counter() - started
            assert followed is not None
            (moved,) = followed.lines.strokes
            off = np.subtract(moved, stroke)
            after = followed.frame.regions.count
            there = "parts" if after > alone else "parts nothing"
            print(
                f"  moved ({dx:3d},{dy:3d}) {name:13s}: left there it {left}; "
                f"followed, its ends moved ({off[0][0]},{off[0][1]}) and "
                f"({off[-1][0]},{off[-1][1]}), it {there}; {seconds:.2f} s"
            )


if __name__ == "__main__":
    run_scales(__doc__, run)
