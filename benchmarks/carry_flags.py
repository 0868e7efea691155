"""How well flags find paint carried wrong when a frame is redrawn.

    python benchmarks/carry_flags.py                  # about 30 seconds
    python benchmarks/carry_flags.py --shots 8 --sources procedural,lottie,clipart

Paint follows a redrawn frame's new lines by position (`engine.carry`);
regions that neither drawing accounts for are matched by place, size and
shape, and flagged where their colour by position disagrees; regions
that join parts painted otherwise are flagged too. Two measures:

- Motion: each frame's true fills (generated shots, seed 777 as in
  training.evaluate) carried to the frame ``--steps`` later, far more
  change than a touch-up. Printed, in regions: wrong by position alone
  (before parts were paired), wrong, wrong and not flagged (silent), and
  right but flagged (a review for nothing).
- Touch-ups: the sample shot's keys with their lines inked 2 px thicker,
  and nudged 3x2 px as a whole: regions flagged (all needless).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from engine.carry import carrying
from engine.fills import FillMap, key_from_color
from engine.imageio import read_image
from engine.matching import Frame
from engine.palette import Palette
from engine.regions import Regions, segment_image
from training.evaluate import analyse_shot, generated_shots

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_shot"
GAP = 8  # the application's at the evaluation's size
Analysed = tuple[list[Frame], list[FillMap], Palette]  # training.evaluate.analyse_shot


def carried_flags(
    before: Regions, fills: FillMap, after: Regions
) -> tuple[FillMap, np.ndarray, FillMap]:
    """The fills carried, which regions the carry flagged (parts moved,
    or joined to parts painted otherwise), and the fills carried by
    position alone."""
    how = carrying(before.numbering, after.under_line, after.count)
    assert how is not None
    by_position = replace(how, counterpart=np.full_like(how.counterpart, -1))
    carried = how.fills(fills)
    flagged = how.moved(carried) | how.joins(fills)
    return carried, flagged, by_position.fills(fills)


def motion(shots: list[Analysed], step: int) -> dict[str, int]:
    """Counts over carries of true fills ``step`` frames on: regions,
    wrong by position alone, wrong, wrong and not flagged, right but
    flagged."""
    found = dict.fromkeys(("regions", "by position", "wrong", "silent", "needless"), 0)
    for frames, truth, _ in shots:
        for t in range(0, len(frames) - step, 3):
            before, after = frames[t].regions, frames[t + step].regions
            carried, flagged, by_position = carried_flags(before, truth[t], after)
            real = truth[t + step].painted
            true = truth[t + step].style
            bad = (carried.style != true) & real
            found["regions"] += int(real.sum())
            found["by position"] += int(((by_position.style != true) & real).sum())
            found["wrong"] += int(bad.sum())
            found["silent"] += int((bad & ~flagged).sum())
            found["needless"] += int((~bad & real & flagged).sum())
    return found


def touch_ups() -> dict[str, tuple[int, int]]:
    """Per touch-up, (regions flagged, regions) over the sample's keys."""
    changes: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "lines 2 px thicker": lambda im: cv2.erode(im, np.ones((3, 3), np.uint8)),
        "nudged 3x2 px": lambda im: np.roll(im, (2, 3), axis=(0, 1)),
    }
    found = dict.fromkeys(changes, (0, 0))
    for path in sorted((SAMPLE / "color").glob("*.png")):
        line, color = read_image(SAMPLE / "line" / path.name), read_image(path)
        before = segment_image(line, gap=GAP)[1]
        key = key_from_color(before, color, Palette()).fills
        for name, change in changes.items():
            after = segment_image(change(line), gap=GAP)[1]
            _, flagged, _ = carried_flags(before, key, after)
            flags, regions = found[name]
            found[name] = (flags + int(flagged.sum()), regions + after.count)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=int, default=4, help="per source")
    parser.add_argument("--sources", default="procedural,lottie")
    parser.add_argument("--steps", default="1,2", help="frames between the two")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sources = tuple(args.sources.split(","))
    shots = [
        analyse_shot(shot, GAP)
        for shot in generated_shots(777, args.shots, sources, (640, 360), 16)
    ]
    print(f"motion ({len(shots)} shots: {args.sources})")
    print(
        "frames on | regions | wrong by position alone | wrong | "
        "wrong, not flagged | right, flagged"
    )
    for step in (int(s) for s in args.steps.split(",")):
        n = motion(shots, step)
        share = {k: f"{v} ({v / max(n['regions'], 1):.1%})" for k, v in n.items()}
        print(
            f"{step} | {n['regions']} | {share['by position']} | {share['wrong']} | "
            f"{share['silent']} | {share['needless']}"
        )
    print("touch-up (sample keys) | regions flagged")
    for name, (flags, regions) in touch_ups().items():
        print(f"{name} | {flags} of {regions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
