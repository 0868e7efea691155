"""Review flags around a key the animator has only begun.

    python benchmarks/begun_key_flags.py            # about 10 s on the CPU

The sample shot is propagated from its three keys (1, 12, 24) as the
application's "Propagate all" does, then again after one stroke on frame 6
(its largest region, in the colour the first run gave it): the first paint
on a bare frame makes it a key, blank elsewhere. Prints the regions flagged
for review in each run, frame by frame, and the regions whose colour the
stroke changed. Blank key regions say nothing (engine.matching.Vote.blank);
before they did, the stroke flagged nearly every region of frames 3-11.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.facade import ShotEngine
from engine.fills import ORIGIN_ANIMATOR, FillMap
from engine.palette import Palette
from engine.shot import open_shot

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_shot"
KEYS = (1, 12, 24)
STROKE_FRAME = 6


def main() -> None:
    shot = open_shot(SAMPLE)
    engine = ShotEngine(shot=shot, matcher="learned", cache_frames=len(shot.frames))
    palette = Palette()
    keys: dict[int, FillMap] = {}
    for number in KEYS:
        keys[number], palette = engine.key_fills(number, palette)

    def propagate_all(keys: dict[int, FillMap]) -> dict[int, FillMap]:
        runs = engine.propagate(keys=keys, n_styles=len(palette), painted=keys)
        # The begun key is painted too, like any frame with blank regions.
        return {r.number: r.fills for r in runs if r.number not in KEYS}

    three = propagate_all(keys)
    regions = engine.frame(STROKE_FRAME).regions
    largest = int(np.argmax(regions.table.area))
    stroke = FillMap.empty(regions.count).with_styles(
        np.array([largest]), int(three[STROKE_FRAME].style[largest]), ORIGIN_ANIMATOR
    )
    begun = propagate_all({**keys, STROKE_FRAME: stroke})
    print("frame | flagged, keys 1/12/24 | flagged, plus one stroke on frame 6")
    for number in sorted(three):
        if number <= 12:
            print(
                f"{number:5d} | {int(three[number].flagged.sum()):21d} | "
                f"{int(begun[number].flagged.sum()):d}"
            )
    total = sum(int(f.flagged.sum()) for f in three.values())
    after = sum(int(f.flagged.sum()) for f in begun.values())
    changed = sum(int((begun[n].style != f.style).sum()) for n, f in three.items())
    counted = sum(len(f) for f in three.values())
    print(f"whole shot: {total} flagged, {after} with the stroke")
    print(f"regions whose colour the stroke changed: {changed} of {counted}")


if __name__ == "__main__":
    main()
