"""Closing lines carried between two keys that both have them: where each
in-between's line lands, and how long it takes.

    python benchmarks/carry_between.py                  # about 1 min on the CPU
    python benchmarks/carry_between.py --scales 1 --to 0.6

The torso of sample key 1 is parted at 0.75 of its height and that of key
12 at ``--to`` (a shadow that grows), as an animator draws them; key 1's
line is carried to frames 2-11 as *Tools ▸ Carry closing lines forward*
does when key 12 has lines too: carried from each key (learned matcher),
and put in between by timing (`engine.closing_between`). Per frame: the
line's height within the torso carried from key 1 alone, from key 12
alone, and in between, against the height timing asks for (linear from
0.75 to ``--to``); how many lines the frame ends with, and the regions
they part. Run at the sample's size and scaled to HD and 4K.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from carry_closing import SAMPLE, SHARE, TORSO, height_share, scaled_shot, torso_line

from engine.carry import resegment_fills
from engine.closing_between import blend_carried
from engine.closing_carry import CarriedFrame, carry_through
from engine.closing_lines import ClosingLines
from engine.facade import ShotEngine, opening_gap
from engine.fills import FillMap
from engine.matching import Frame
from engine.palette import Palette
from engine.regions import Regions
from engine.shot import open_shot

FIRST, LAST = 1, 12


def run(scale: int, to: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shot = open_shot(scaled_shot(scale, Path(tmp)))
        gap = opening_gap(open_shot(SAMPLE)) * scale
        engine = ShotEngine(shot=shot, gap=gap, matcher="learned", cache_frames=64)

        def trial(frame: Frame, with_lines: ClosingLines) -> Regions:
            return engine.analyse_image(frame.number, frame.image, with_lines).regions

        def chain(key: int, share: float, frames: list[int]) -> dict[int, CarriedFrame]:
            plain = engine.frame(key)
            fills, _ = engine.key_fills(key, Palette())
            first_fills, _ = engine.key_fills(FIRST, Palette())
            torso = None
            if key != FIRST:  # the largest region of the shirt's colour
                first = engine.frame(FIRST).regions
                shirt = first_fills.style[
                    first.region_at(TORSO[0] * scale, TORSO[1] * scale)
                ]
                ours = np.flatnonzero(fills.style == shirt)
                torso = int(ours[np.argmax(plain.regions.table.area[ours])])
            lines = torso_line(plain, scale, share, torso)
            start = engine.frame(key, lines)
            walk = carry_through(
                start,
                resegment_fills(fills, plain.regions, start.regions),
                lines,
                frames,
                analyse=engine.frame,
                segment=trial,
                own=lambda _n: ClosingLines(),
                fills_on=lambda d: FillMap.empty(d.after.regions.count),
                matcher=engine.matcher,
            )
            return {done.number: done for done in walk}

        started = time.perf_counter()
        inbetweens = list(range(FIRST + 1, LAST))
        forward = chain(FIRST, SHARE, inbetweens)
        back = chain(LAST, to, inbetweens[::-1])
        width, height = engine.size
        print(
            f"\n{width} x {height}, gap {engine.gap} px; height from key 1, "
            f"from key 12, in between (timing asks)"
        )
        for number in inbetweens:
            if number not in forward:
                print(f"  frame {number:2d}: not reached from key 1")
                continue
            share = (number - FIRST) / (LAST - FIRST)
            done, _ = blend_carried(
                forward[number],
                back.get(number),
                share,
                analyse=engine.frame,
                segment=trial,
            )
            plain = done.before.regions

            def at(d: CarriedFrame | None, plain: Regions = plain) -> str:
                found = [] if d is None else d.lines.carried.strokes
                return f"{height_share(plain, found[0]):.2f}" if found else "  - "

            lines = done.lines.lines.strokes
            heights = ", ".join(f"{height_share(plain, s):.2f}" for s in lines)
            asked = SHARE + (to - SHARE) * share
            parts = done.after.regions.count - plain.count
            print(
                f"  frame {number:2d}: {at(forward[number])}  {at(back.get(number))}"
                f"  {heights} ({asked:.2f}); {len(lines)} line(s), parts {parts}"
            )
        print(f"  in {time.perf_counter() - started:.1f} s")
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,2,4", help="e.g. 1,2 (2: HD, 4: 4K)")
    parser.add_argument("--to", type=float, default=0.55, help="key 12's height")
    args = parser.parse_args()
    for scale in (int(s) for s in args.scales.split(",")):
        run(scale, args.to)


if __name__ == "__main__":
    main()
