"""How often the app's "Other likely style" (S) offers the right colour for
a region propagation painted wrong.

    python benchmarks/other_styles.py            # 8 shots a source, half a minute
    python benchmarks/other_styles.py --shots 4

Validation shots (seed 777, 640x360, 16 frames, as training.evaluate
makes them), each frame painted from the first alone (the long-range
protocol) with the shipped weights, as propagation paints it
(`engine.propagation.combine_votes`); every region painted a colour other
than its true one is looked up in `engine.fills.other_styles`, the list S
steps through: propagation's next guesses, then the neighbours' styles.
Prints how many presses of S reach the true colour, or that none does, and
for comparison the same with the neighbours' styles alone (what S offered
before propagation kept its next guesses).
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from engine.fills import neighbour_styles, other_styles
from engine.matching import vote
from engine.palette import UNPAINTED
from engine.propagation import PropagationSettings, combine_votes
from training.evaluate import analyse_shot, generated_shots, load_weights

SOURCES = ("procedural", "lottie", "clipart")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=8, help="shots per source")
    args = parser.parse_args()
    torch.set_num_threads(2)
    matcher, _ = load_weights(None)
    presses: Counter[int] = Counter()  # 0: S never offers the true colour
    around: Counter[int] = Counter()  # the same, neighbours' styles alone
    for shot in generated_shots(777, args.shots, SOURCES, (640, 360), 16):
        frames, truth, palette = analyse_shot(shot)
        getattr(matcher, "clear", lambda: None)()
        for frame, true in zip(frames[1:], truth[1:], strict=True):
            corr = matcher.match(frames[0], truth[0], frame)
            ballot = vote(corr, truth[0], len(palette))
            fills = combine_votes([(ballot, 1.0)], PropagationSettings(), len(palette))
            wrong = fills.painted & (true.style != UNPAINTED)
            wrong &= fills.style != true.style
            for region in np.flatnonzero(wrong).tolist():
                want = int(true.style[region])
                offers = other_styles(frame.regions, fills, region).styles
                presses[offers.index(want) + 1 if want in offers else 0] += 1
                nearby = neighbour_styles(frame.regions, fills, region)
                around[nearby.index(want) + 1 if want in nearby else 0] += 1
    total = sum(presses.values())
    print(f"regions painted a wrong colour: {total} ({len(SOURCES)} sources)")
    report("S (next guesses, then neighbours)", presses, total)
    report("neighbours' styles alone", around, total)


def report(what: str, presses: Counter[int], total: int) -> None:
    print(what)
    reached = 0
    for count in sorted(k for k in presses if k)[:4]:
        reached += presses[count]
        print(
            f"  right after {count} press{'es' if count > 1 else ''}: "
            f"{presses[count]} ({presses[count] / total:.1%}; "
            f"{reached / total:.1%} so far)"
        )
    print(f"  never: {presses[0]} ({presses[0] / total:.1%})")


if __name__ == "__main__":
    main()
