"""Carrying a closing line through the sample shot: where it lands, and
how long it takes.

    python benchmarks/carry_closing.py              # about 1 min on the CPU
    python benchmarks/carry_closing.py --scales 1   # the sample's size only

Key 1's torso is parted by a closing line at three quarters of its height
(a shadow shape, as an animator draws one), and the line is carried frame
by frame to frames 2-11 (up to key 12) with the learned matcher, as
*Tools ▸ Carry closing lines forward* does. Per frame: the height of the
line within the region it parts (0: its top, 1: its bottom; 0.75 on key
1), whether it parts a region there, and the seconds taken. Run at the
sample's size (960 x 540) and scaled to HD and 4K (line art resized; the
gap setting scaled with it).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from engine.carry import resegment_fills
from engine.closing_carry import carry_through
from engine.closing_lines import ClosingLines, drawn_stroke
from engine.facade import ShotEngine, opening_gap
from engine.fills import FillMap
from engine.imageio import read_image, write_png
from engine.matching import Frame
from engine.palette import Palette
from engine.regions import Regions
from engine.shot import open_shot

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_shot"
TORSO = (834, 300)  # a pixel of the torso on frame 1, at the sample's size
SHARE = 0.75


def scaled_shot(scale: int, root: Path) -> Path:
    """The sample shot with its frames scaled by ``scale``."""
    if scale == 1:
        return SAMPLE
    shutil.copy(SAMPLE / "shot.json", root / "shot.json")
    for folder, how in (("line", cv2.INTER_CUBIC), ("color", cv2.INTER_NEAREST)):
        for path in sorted((SAMPLE / folder).glob("*.png")):
            image = read_image(path)
            size = (image.shape[1] * scale, image.shape[0] * scale)
            scaled = cv2.resize(image, size, interpolation=how)
            write_png(root / folder / path.name, scaled)
    return root


def height_share(regions: Regions, stroke: tuple[tuple[int, int], ...]) -> float:
    """The stroke's mean height within the region it parts (``regions``:
    the frame segmented without it), the one under its middle point."""
    (x0, y0), (x1, y1) = stroke[len(stroke) // 2 - 1], stroke[len(stroke) // 2]
    region = regions.region_at((x0 + x1) // 2, (y0 + y1) // 2)
    assert region is not None
    _, top, _, bottom = regions.table.bbox[region]
    return (float(np.mean([y for _, y in stroke])) - top) / max(bottom - top, 1)


def torso_line(
    frame: Frame, scale: int, share: float = SHARE, torso: int | None = None
) -> ClosingLines:
    """A closing line across the torso of sample frame 1 (``frame``: it
    analysed, scaled by ``scale``; or region ``torso`` of another) at
    ``share`` of its height."""
    regions = frame.regions
    if torso is None:
        torso = regions.region_at(TORSO[0] * scale, TORSO[1] * scale)
    assert torso is not None
    _, y0, _, y1 = regions.table.bbox[torso]
    y = int(y0 + share * (y1 - y0))
    row = np.flatnonzero(regions.labels[y] == torso + 1)
    path = [(float(row.min() + 2), float(y)), (float(row.max() - 2), float(y))]
    stroke = drawn_stroke(path, frame.lineart.line, 6.0 * scale)
    assert stroke is not None
    return ClosingLines((stroke,))


def run(scale: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shot = open_shot(scaled_shot(scale, Path(tmp)))
        gap = opening_gap(open_shot(SAMPLE)) * scale
        engine = ShotEngine(shot=shot, gap=gap, matcher="learned", cache_frames=64)
        start_plain = engine.frame(1)
        fills, _ = engine.key_fills(1, Palette())
        lines = torso_line(start_plain, scale)
        (stroke,) = lines.strokes
        start = engine.frame(1, lines)
        # The key's paint, both sides of the torso as it was; the frames
        # after it unpainted (the matcher leans on the key's colours).
        key = resegment_fills(fills, start_plain.regions, start.regions)
        height, width = start.image.shape[:2]
        print(f"\n{width} x {height}, gap {engine.gap} px")
        drawn = height_share(start_plain.regions, stroke)
        print(f"  frame  1: height {drawn:.2f} (drawn)")
        started = last = time.perf_counter()
        reached = 0
        for done in carry_through(
            start,
            key,
            lines,
            range(2, 12),
            analyse=engine.frame,
            segment=lambda frame, with_lines: (
                engine.analyse_image(frame.number, frame.image, with_lines).regions
            ),
            own=lambda _n: ClosingLines(),
            fills_on=lambda d: FillMap.empty(d.after.regions.count),
            matcher=engine.matcher,
        ):
            now = time.perf_counter()
            (moved,) = done.lines.strokes
            if moved is None:
                print(f"  frame {done.number:2d}: stopped ({now - last:.2f} s)")
                break
            reached += 1
            share = height_share(done.before.regions, moved)
            parts = done.after.regions.count - done.before.regions.count
            print(
                f"  frame {done.number:2d}: height {share:.2f}, parts {parts} "
                f"region(s), {now - last:.2f} s"
            )
            last = now
        total = time.perf_counter() - started
        print(f"  {reached} of 10 frames in {total:.1f} s")
        engine.close()


def run_scales(doc: str, run: Callable[[int], None]) -> None:
    """The command line of a benchmark run at the sample's size and scaled
    (``doc``: its docstring)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--scales", default="1,2,4", help="e.g. 1,2 (2: HD, 4: 4K)")
    args = parser.parse_args()
    for scale in (int(s) for s in args.scales.split(",")):
        run(scale)


if __name__ == "__main__":
    run_scales(__doc__, run)
