"""How each gap setting segments the held-out drawings: leaks and cuts.

Every frame is segmented with each gap setting and painted from its own
ground truth (each engine region takes its majority true colour, as in
the "self" protocol of `training.evaluate`, but over every frame of the
shot), so no matcher is involved:

    leak-free  segment accuracy of that painting. A part that leaked into
               a neighbour through a gap left open loses its colour.
    cut        share of the parts (at least 30 px) split into two or more
               regions, each at least 20 px and a tenth of the part: a
               closure drawn from a line end meant to stay open (a fold, a
               strand of hair). A cut costs a second click on a key and a
               harder case for the matcher, not a wrong colour.
    regions    regions per frame.

    python -m training.evaluate_gaps --gaps 0,4,6,8,12 --shots 8
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from skimage.measure import label as label_components
from tqdm import tqdm

from engine.fills import color_layer
from engine.regions import Regions
from training.evaluate import (
    add_shot_arguments,
    analyse_shot,
    generated_shots,
    sources_argument,
)
from training.metrics import frame_scores, nan_mean

MIN_PART = 30  # px: smaller parts are not counted as cut or not
MIN_PIECE = 20  # px, and MIN_PIECE_SHARE of the part
MIN_PIECE_SHARE = 0.1


def cut_parts(labels: np.ndarray, regions: Regions) -> tuple[int, int]:
    """(parts cut into several regions, parts counted) of one frame; parts
    are the connected components of the ground-truth labels, as the
    metric's segments."""
    parts = label_components(labels, background=0, connectivity=1)
    area = np.bincount(parts.ravel())
    inside = (parts > 0) & (regions.labels > 0)
    stride = np.int64(regions.count + 1)
    pairs, pixels = np.unique(
        parts[inside].astype(np.int64) * stride + regions.labels[inside],
        return_counts=True,
    )
    part = pairs // stride
    piece = pixels >= np.maximum(MIN_PIECE, MIN_PIECE_SHARE * area[part])
    pieces = np.bincount(part[piece], minlength=len(area))
    counted = area >= MIN_PART
    counted[0] = False  # the lines
    return int((pieces[counted] >= 2).sum()), int(counted.sum())


def gap_scores(shot: Any, gap: int) -> dict[str, float]:
    """Leak-free segment accuracy, cut share and regions per frame of one
    shot segmented with ``gap``."""
    frames, fills, palette = analyse_shot(shot, gap)
    accuracy, cut, counted = [], 0, 0
    for frame, frame_fills, labels, truth in zip(
        frames, fills, shot.labels, shot.color, strict=True
    ):
        painted = color_layer(frame.regions, frame_fills, palette)
        accuracy.append(frame_scores(painted, truth, labels)["segment_accuracy"])
        frame_cut, frame_counted = cut_parts(labels, frame.regions)
        cut, counted = cut + frame_cut, counted + frame_counted
    return {
        "leak_free": nan_mean(accuracy),
        "cut": cut / counted if counted else float("nan"),
        "regions": float(np.mean([f.regions.count for f in frames])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate_gaps", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--gaps", default="0,4,6,8,12", help="gap settings, px")
    add_shot_arguments(parser, seed=777, shots=8, frames=16)
    args = parser.parse_args(argv)
    try:
        gaps = [int(g) for g in args.gaps.split(",") if g.strip()]
    except ValueError:
        parser.error(f"--gaps {args.gaps!r}: use whole numbers, as 0,4,8")
    if not gaps or min(gaps) < 0:
        parser.error(f"--gaps {args.gaps!r}: use whole numbers of 0 or more")
    sources = sources_argument(parser, args.sources, args.art)
    shots = list(
        generated_shots(
            args.seed, args.shots, sources, args.size, args.frames, args.art
        )
    )
    if not shots:
        raise SystemExit("no shot could be made from --sources (see the warnings)")
    scores: dict[tuple[str, int], list[dict[str, float]]] = {}
    for shot in tqdm(shots, desc="shots", unit="shot", file=sys.stderr):
        for gap in gaps:
            result = gap_scores(shot, gap)
            for source in (shot.source, "all"):
                scores.setdefault((source, gap), []).append(result)
    width, height = args.size
    lines = [
        f"Seed {args.seed}, {width}x{height}, {args.frames} frames, art {args.art}",
        "",
        "| source | gap | leak-free segment acc. | parts cut | regions per frame |",
        "|---|---|---|---|---|",
    ]
    for source in ("all", *sources):
        for gap in gaps:
            rows = scores.get((source, gap), [])
            if not rows:
                continue
            mean = {k: nan_mean(r[k] for r in rows) for k in rows[0]}
            lines.append(
                f"| {source} ({len(rows)}) | {gap} | {mean['leak_free']:.4f} | "
                f"{mean['cut']:.2%} | {mean['regions']:.1f} |"
            )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
