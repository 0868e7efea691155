"""Whole-shot accuracy of propagation, as an animator would use it: keys
every N frames (from ground truth), every other frame painted by
engine.propagation, scored with the paint-bucket metrics.

Besides the metrics of shot-format.md it reports how the review flags
behave, over the engine's regions of the non-key frames:

    flagged      share of regions flagged for review
    silent       share of regions painted wrong *without* a flag: the
                 errors an animator would not be pointed to
    flag_recall  share of wrong regions that were flagged

and what reviewing the flagged regions by keyboard takes (docs/app.md), as
shares of the flagged regions that have a true colour:

    A            painted right: A keeps the colour
    S            the first style S offers is right: S, Return
    SS           the second is: S, S, Return
    palette      neither: the style is picked by hand

Matchers: those of the application (learned, assignment, overlap) and
"reachable", the perfect matcher of training.evaluate: the ceiling the keys
and the segmentation leave (a part that neither key has is unreachable).

    python -m training.evaluate_shots --shots 6 --frames 36 --key-every 12 \
        --size 640x360 --seed 424242 --matchers learned,assignment,overlap
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
from tqdm import tqdm

from engine.facade import MATCHERS, make_matcher
from engine.fills import FillMap, color_layer, other_styles
from engine.gaps import DEFAULT_GAP
from engine.matching import Frame, Matcher
from engine.palette import UNPAINTED
from engine.propagation import PropagationSettings, propagate
from training.evaluate import (
    ReachableMatcher,
    add_gap_argument,
    add_shot_arguments,
    analyse_shot,
    choices,
    generated_shots,
    load_learned,
    positive,
    sources_argument,
    start_shot,
)
from training.metrics import METRICS, frame_scores, mean_scores, nan_mean

FLAG_METRICS = ("flagged", "silent", "flag_recall")
REVIEW_METRICS = ("A", "S", "SS", "palette")


def shot_scores(
    shot: Any,
    matcher: Matcher,
    key_every: int,
    settings: PropagationSettings,
    sweep: tuple[float, ...] = (),
    gap: int = DEFAULT_GAP,
) -> dict[str, float]:
    """Scores of one shot; with ``sweep``, also the flag metrics as they
    would be at each of those thresholds (``flagged@0.7`` ...): flags do not
    change what is painted, so one pass gives them all."""
    frames, truth, palette = analyse_shot(shot, gap)
    numbers = [f.number for f in frames]
    keys = numbers[::key_every]
    by_number = {f.number: f for f in frames}

    def analyse(number: int) -> Frame:
        return by_number[number]

    start_shot(matcher, frames, truth)
    results = propagate(
        frames=numbers,
        keys={k: truth[k - 1] for k in keys},
        analyse=analyse,
        matcher=matcher,
        n_styles=len(palette),
        targets=[n for n in numbers if n not in keys],
        settings=settings,
    )
    scores, flagged, silent, wrong_total, caught, regions = [], 0, 0, 0, 0, 0
    review = dict.fromkeys(REVIEW_METRICS, 0)
    swept = {t: np.zeros(2, np.int64) for t in sweep}  # flagged, caught
    for result in results:
        frame = by_number[result.number]
        fills: FillMap = result.fills
        colors = color_layer(frame.regions, fills, palette)
        i = result.number - 1
        scores.append(frame_scores(colors, shot.color[i], shot.labels[i]))
        expected = truth[i].style
        wrong = (fills.style != expected) & (expected != UNPAINTED)
        regions += len(wrong)
        flagged += int(fills.flagged.sum())
        silent += int((wrong & ~fills.flagged).sum())
        wrong_total += int(wrong.sum())
        caught += int((wrong & fills.flagged).sum())
        for region in np.flatnonzero(fills.flagged & (expected != UNPAINTED)).tolist():
            review[review_keys(frame, fills, region, int(expected[region]))] += 1
        for t, counts in swept.items():
            flags = (fills.style == UNPAINTED) | (fills.confidence < t)
            counts += (int(flags.sum()), int((wrong & flags).sum()))
    result_scores = mean_scores(scores)
    result_scores["flagged"] = flagged / max(regions, 1)
    result_scores["silent"] = silent / max(regions, 1)
    result_scores["flag_recall"] = caught / wrong_total if wrong_total else float("nan")
    reviewed = sum(review.values())
    for name, count in review.items():
        result_scores[name] = count / reviewed if reviewed else float("nan")
    for t, (t_flagged, t_caught) in swept.items():
        result_scores[f"flagged@{t:g}"] = t_flagged / max(regions, 1)
        result_scores[f"silent@{t:g}"] = (wrong_total - t_caught) / max(regions, 1)
        result_scores[f"flag_recall@{t:g}"] = (
            t_caught / wrong_total if wrong_total else float("nan")
        )
    return result_scores


def review_keys(frame: Frame, fills: FillMap, region: int, true: int) -> str:
    """How a flagged region is mended by keyboard (REVIEW_METRICS)."""
    if fills.style[region] == true:
        return "A"
    offers = other_styles(frame.regions, fills, region).styles[:2]
    return ("S", "SS")[offers.index(true)] if true in offers else "palette"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate_shots", description=__doc__.splitlines()[0]
    )
    add_shot_arguments(parser, seed=424242, shots=6, frames=36)
    parser.add_argument("--key-every", type=positive, default=12)
    parser.add_argument("--matchers", default="learned,assignment,overlap")
    parser.add_argument("--weights", default=None, help="learned: file to load")
    add_gap_argument(parser)
    parser.add_argument(
        "--flag-below",
        type=float,
        default=PropagationSettings().flag_below,
        help="review-flag threshold (default: the application's)",
    )
    parser.add_argument(
        "--chain-after",
        type=int,
        default=None,
        help="frames from the key beyond which the frame before votes too "
        "(default: the application's; a large number turns it off)",
    )
    parser.add_argument(
        "--chain-weight",
        type=float,
        default=None,
        help="weight of the frame before's vote (default: the application's)",
    )
    parser.add_argument(
        "--flag-sweep",
        default="",
        help="also print the flag metrics at these thresholds, e.g. 0.5,0.7,0.8",
    )
    args = parser.parse_args(argv)
    try:
        sweep = tuple(float(t) for t in args.flag_sweep.split(",") if t.strip())
    except ValueError:
        parser.error(f"--flag-sweep {args.flag_sweep!r}: use numbers, as 0.5,0.7")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sources = sources_argument(parser, args.sources, args.art)
    names = choices(parser, "--matchers", args.matchers, (*MATCHERS, "reachable"))
    if args.weights and "learned" not in names:
        parser.error("--weights: no learned matcher in --matchers to load them into")

    matchers: dict[str, Matcher] = {}
    for name in names:
        if name == "learned":
            matchers[name] = load_learned(args.weights, art=args.art)
        elif name == "reachable":
            matchers[name] = ReachableMatcher()
        else:
            matchers[name] = make_matcher(kind=name)
    settings = PropagationSettings(flag_below=args.flag_below)
    if args.chain_after is not None:
        settings = replace(settings, chain_after=args.chain_after)
    if args.chain_weight is not None:
        settings = replace(settings, chain_weight=args.chain_weight)
    per: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    started = time.perf_counter()
    shots = generated_shots(
        args.seed, args.shots, sources, args.size, args.frames, args.art
    )
    for shot in tqdm(shots, total=args.shots * len(sources), leave=False):
        for name, matcher in matchers.items():
            per[(shot.source, name)].append(
                shot_scores(shot, matcher, args.key_every, settings, sweep, args.gap)
            )
    if not per:
        raise SystemExit("no shot could be made from --sources (see the warnings)")
    columns = (*METRICS, *FLAG_METRICS)
    print(
        f"\nWhole shots, {args.frames} frames at {args.size[0]}x{args.size[1]}, "
        f"a key every {args.key_every} frames, seed {args.seed}, art {args.art} "
        f"({time.perf_counter() - started:.0f} s)\n"
    )
    print("| source | shots | matcher | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 3) + "|")
    for source in [*sources, "all"]:
        for name in matchers:
            if source == "all":
                rows = [s for (src, m), v in per.items() if m == name for s in v]
            else:
                rows = per.get((source, name), [])
            if not rows:
                continue
            mean = {k: nan_mean([r[k] for r in rows]) for k in columns}
            cells = " | ".join(f"{mean[k]:.3f}" for k in columns)
            print(f"| {source} | {len(rows)} | {name} | {cells} |")
    print(
        "\nReviewing the flagged regions by keyboard (all sources; share of "
        "flagged regions: A keeps a right colour, S then Return or S, S then "
        "Return mends a wrong one, else the palette)\n"
    )
    print("| matcher | " + " | ".join(REVIEW_METRICS) + " |")
    print("|---" * (len(REVIEW_METRICS) + 1) + "|")
    for name in matchers:
        rows = [s for (_, m), v in per.items() if m == name for s in v]
        cells = " | ".join(
            f"{nan_mean([r[k] for r in rows]):.3f}" for k in REVIEW_METRICS
        )
        print(f"| {name} | {cells} |")
    if sweep:
        print("\nReview flags at other thresholds (all sources)\n")
        print("| matcher | flag below | " + " | ".join(FLAG_METRICS) + " |")
        print("|---" * (len(FLAG_METRICS) + 2) + "|")
        for name in matchers:
            rows = [s for (_, m), v in per.items() if m == name for s in v]
            for t in sweep:
                cells = " | ".join(
                    f"{nan_mean([r[f'{k}@{t:g}'] for r in rows]):.3f}"
                    for k in FLAG_METRICS
                )
                print(f"| {name} | {t:g} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
