"""How often the app's "Neighbour's style" (S) offers the right colour for a
region propagation painted wrong.

    python benchmarks/neighbour_styles.py            # 8 shots a source, a minute
    python benchmarks/neighbour_styles.py --shots 4

Validation shots (seed 777, 640x360, 16 frames, as training.evaluate
makes them), each frame matched directly to the first (the long-range
protocol) with the shipped weights; every region painted a colour other
than its true one is looked up in `engine.fills.neighbour_styles` of the
painted frame, the list S steps through. Prints how many presses of S
reach the true colour, or that no neighbour has it (its neighbours are
painted wrong too, or the colour belongs farther away).
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from engine.fills import ORIGIN_PROPAGATED, FillMap, neighbour_styles
from engine.matching import vote
from engine.palette import UNPAINTED
from training.evaluate import analyse_shot, generated_shots, load_weights

SOURCES = ("procedural", "lottie", "clipart")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=8, help="shots per source")
    args = parser.parse_args()
    torch.set_num_threads(2)
    matcher, _ = load_weights(None)
    presses: Counter[int] = Counter()  # 0: no neighbour has the true colour
    for shot in generated_shots(777, args.shots, SOURCES, (640, 360), 16):
        frames, truth, palette = analyse_shot(shot)
        getattr(matcher, "clear", lambda: None)()
        for frame, true in zip(frames[1:], truth[1:], strict=True):
            corr = matcher.match(frames[0], truth[0], frame)
            scores = vote(corr, truth[0], len(palette)).scores
            painted = scores.argmax(axis=1).astype(np.int32)
            painted[painted == len(palette)] = UNPAINTED
            n = len(painted)
            fills = FillMap.empty(n).with_styles(
                np.arange(n), painted, ORIGIN_PROPAGATED
            )
            wrong = (painted != UNPAINTED) & (true.style != UNPAINTED)
            wrong &= painted != true.style
            for region in np.flatnonzero(wrong).tolist():
                offers = neighbour_styles(frame.regions, fills, region)
                want = int(true.style[region])
                presses[offers.index(want) + 1 if want in offers else 0] += 1
    total = sum(presses.values())
    print(f"regions painted a wrong colour: {total} ({len(SOURCES)} sources)")
    reached = 0
    for count in sorted(k for k in presses if k):
        reached += presses[count]
        print(
            f"  right after {count} press{'es' if count > 1 else ''} of S: "
            f"{presses[count]} ({presses[count] / total:.1%}; "
            f"{reached / total:.1%} so far)"
        )
    print(f"  no neighbour has it: {presses[0]} ({presses[0] / total:.1%})")


if __name__ == "__main__":
    main()
