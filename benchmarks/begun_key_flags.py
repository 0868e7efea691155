"""Review flags around a key the animator has only begun.

    python benchmarks/begun_key_flags.py            # about 10 s on the CPU

The sample shot is propagated from its three keys (1, 12, 24) as the
application's "Propagate all" does, then again after one stroke on frame 6
(its largest region, in the colour the first run gave it): the first paint
on a bare frame makes it a key, blank elsewhere; then once more, as an
animator propagating twice would. A last run has frame 6 finished instead
(every region, as the first run painted it). Prints the
regions flagged for review in each run, frame by frame, and the regions
whose colour the stroke changed. Blank key regions say nothing
(engine.matching.Vote.blank), so the begun key flags what the finished one
does; before, its blank regions counted as doubt and the stroke flagged
nearly every region of frames 3-11. Propagated again, the begun key also
votes with what the first run painted, doubt included (a few more flags).
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
    # Propagating again: the begun key now also holds what the first run
    # painted around the stroke (the animator's paint stays the stroke).
    again = propagate_all({**keys, STROKE_FRAME: begun[STROKE_FRAME]})
    # For comparison: frame 6 finished, every region painted by the animator
    # as the first run painted it.
    everything = np.arange(regions.count)
    finished = FillMap.empty(regions.count).with_styles(
        everything, three[STROKE_FRAME].style, ORIGIN_ANIMATOR
    )
    done = propagate_all({**keys, STROKE_FRAME: finished})
    done[STROKE_FRAME] = finished
    runs = {
        "keys 1/12/24": three,
        "+ one stroke on 6": begun,
        "again": again,
        "+ 6 finished": done,
    }
    print("frame | " + " | ".join(runs) + "   (regions flagged for review)")
    for number in sorted(three):
        if number <= 12:
            cells = [
                f"{int(r[number].flagged.sum()):{len(n)}d}" for n, r in runs.items()
            ]
            print(f"{number:5d} | " + " | ".join(cells))
    totals = [sum(int(f.flagged.sum()) for f in r.values()) for r in runs.values()]
    print(
        "whole shot: "
        + ", ".join(f"{t} ({n})" for t, n in zip(totals, runs, strict=True))
    )
    changed = sum(int((begun[n].style != f.style).sum()) for n, f in three.items())
    counted = sum(len(f) for f in three.values())
    print(f"regions whose colour the stroke changed: {changed} of {counted}")


if __name__ == "__main__":
    main()
