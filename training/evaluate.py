"""Score the region matcher against the baselines on held-out generated shots.

    python -m training.evaluate                       # the shipped weights
    python -m training.evaluate --weights runs/cpu/best.safetensors
    python -m training.evaluate --weights runs/cpu/ckpt.pt --shots 10 --size 640x360

Shots come from the data generator with ``--seed`` (default 777; training
uses seed 1 and its periodic validation 900001), ``--shots`` per source.
Every frame is segmented by the engine with gaps closed up to ``--gap`` px
(default 8, the application's on frames up to 1280 px on their long side;
on larger ones the application closes more, 12 px at HD and 24 at 4K:
engine.gaps.default_gap), keys are painted from the ground-truth colours,
and the other frames are painted by `engine.propagation.propagate`, as the
application does. Protocols:

    prev   key = the previous frame (each frame on its own)
    long   key = the first frame; every later frame matched to it directly
    ends   keys = the first and the last frame
    self   (not by default) every frame painted from its own ground truth
           through the engine's regions: the ceiling segmentation leaves to
           any matcher (``--protocols self --matchers overlap``)

Matchers: "learned" and "assignment" match each frame to its key(s)
directly; "learned-app" (optional) propagates as the application does by
default (engine.propagation.PropagationSettings: beyond 3 frames from the
key, the frame before votes too); "overlap" is chained from the key (each
frame also takes the colours of the frame before, as painted by the same
pass: propagation with chain_after=0), which is how paint-through is used in
practice. "reachable" (not by default) is a perfect matcher: each region
goes to the key regions of its true colour, or to "no match" when the key
has none (a part that appears), propagated like "learned": the ceiling the
keys and the segmentation leave to any matcher under each protocol.

Scores are those of training.metrics, per shot over the non-key frames,
then averaged over shots, per data source and over all. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CadmiumError
from engine.facade import DEVICES, resolve_device
from engine.fills import FillMap, color_layer, fills_from_color
from engine.gaps import DEFAULT_GAP
from engine.imageio import atomic_write_bytes
from engine.matching import (
    AssignmentMatcher,
    Correspondence,
    Frame,
    Matcher,
    OverlapMatcher,
)
from engine.palette import UNPAINTED, Palette
from engine.propagation import PropagationSettings, propagate
from engine.regions import segment_image
from training.data.__main__ import at_least, parse_size, positive
from training.data.art import ART_POOLS, art_seen
from training.metrics import METRICS, frame_scores, mean_scores
from training.pairs import available_sources

log = logging.getLogger("evaluate")

PROTOCOLS = ("prev", "long", "ends")
# Also known: "self", the segmentation ceiling (no matching; see run_protocol).
ALL_PROTOCOLS = (*PROTOCOLS, "self")
MATCHERS = ("learned", "learned-app", "assignment", "overlap", "reachable")
DIRECT = PropagationSettings(chain_after=10**9)
CHAINED = PropagationSettings(chain_after=0)


def load_learned(weights: str | None, device: str = "cpu", art: str = "all") -> Matcher:
    """The learned matcher from shipped weights, a .safetensors or a ckpt.pt,
    to score on shots drawing ``art``: warns when that is held-out art the
    weights have seen."""
    matcher, seen = load_weights(weights, device)
    warning = art_warning(art, seen)
    if warning:
        log.warning("%s", warning)
    return matcher


def load_weights(weights: str | None, device: str = "cpu") -> tuple[Matcher, str]:
    """The learned matcher (shipped weights when ``weights`` is None, else a
    .safetensors or a ckpt.pt) and the art its weights have seen
    (training.data.art.art_seen). A file that cannot be loaded stops the
    tool with one line."""
    from importlib.resources import files

    import torch

    from engine.learned import (
        SHIPPED_FILE,
        LearnedMatcher,
        model_from_bytes,
        rebuild_model,
    )

    name = weights or f"shipped {SHIPPED_FILE}"
    try:
        if weights is not None and weights.endswith(".pt"):
            ckpt = torch.load(weights, map_location="cpu", weights_only=True)
            model = rebuild_model(json.loads(ckpt["model_conf"]))
            model.load_state_dict(ckpt["model"])
            seen = art_seen(ckpt.get("art_seen"), json.loads(ckpt["config"]))
        else:
            where = (
                Path(weights) if weights else files("cadmium_resources") / SHIPPED_FILE
            )
            model, info = model_from_bytes(where.read_bytes(), name)
            seen = art_seen(info.get("art_seen"), info.get("run_config") or {})
    except Exception as exc:  # missing, truncated, foreign: each is one line
        raise SystemExit(f"{name}: cannot load matcher weights ({exc})") from None
    return LearnedMatcher(model.eval(), device=device), seen


def art_warning(art: str, seen: str) -> str | None:
    """Why a score on ``art`` of weights that have seen ``seen`` is not a
    held-out score, if it is meant to be one and is not."""
    if art != "heldout" or seen == "train":
        return None
    return (
        f"these weights were trained on art {seen!r}, which includes the "
        "held-out files: the score is not a held-out score"
    )


class ReachableMatcher:
    """The perfect matcher, from the ground truth of the shot being scored:
    a target region's probability is spread over the key regions painted
    with its true colour, or all on "no match" when the key has none.

    Its ceiling is on the engine's regions, each with its majority true
    colour (as the "self" protocol's): where one region spans two true
    segments, the metric's segments could in principle fare otherwise."""

    name = "reachable"

    def __init__(self) -> None:
        self.truth: dict[int, FillMap] = {}  # frame number -> true fills

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        true_style = self.truth[target.number].style
        if len(true_style) != target.regions.count:
            raise ValueError(
                f"frame {target.number}: truth for {len(true_style)} regions, "
                f"the frame has {target.regions.count} (truth of another shot?)"
            )
        same = (true_style[:, None] == key_fills.style[None, :]) & (
            key_fills.style[None, :] != UNPAINTED
        )
        prob = np.zeros((len(true_style), len(key_fills) + 1), np.float32)
        prob[:, :-1] = same
        prob[~same.any(axis=1), -1] = 1.0
        return Correspondence(prob / prob.sum(axis=1, keepdims=True))


def start_shot(matcher: Matcher, frames: list[Frame], truth: list[FillMap]) -> None:
    """Ready a matcher for the next shot: the perfect matcher takes its
    truth, and cached frames go (frame numbers repeat from shot to shot)."""
    if isinstance(matcher, ReachableMatcher):
        matcher.truth = {f.number: t for f, t in zip(frames, truth, strict=True)}
    clear = getattr(matcher, "clear", None)
    if clear is not None:
        clear()


def analyse_shot(
    shot: Any, gap: int = DEFAULT_GAP
) -> tuple[list[Frame], list[FillMap], Palette]:
    """Engine frames of a generated shot (gaps closed up to ``gap`` px) and
    ground-truth fills of each."""
    frames, fills = [], []
    palette = Palette()
    for i, line in enumerate(shot.line):
        lineart, regions = segment_image(line, gap=gap)
        frames.append(Frame(number=i + 1, image=line, lineart=lineart, regions=regions))
        frame_fills, palette = fills_from_color(regions, shot.color[i], palette)
        fills.append(frame_fills)
    return frames, fills, palette


def run_protocol(
    protocol: str,
    matcher: Matcher,
    settings: PropagationSettings,
    frames: list[Frame],
    truth_fills: list[FillMap],
    palette: Palette,
    shot: Any,
) -> dict[str, float]:
    """Mean scores over the non-key frames of one shot."""
    n = len(frames)
    numbers = [f.number for f in frames]

    def analyse(number: int) -> Frame:
        return frames[number - 1]

    def painted(keys: list[int], targets: list[int]) -> dict[int, FillMap]:
        results = propagate(
            frames=numbers,
            keys={k: truth_fills[k - 1] for k in keys},
            analyse=analyse,
            matcher=matcher,
            n_styles=len(palette),
            targets=targets,
            settings=settings,
        )
        return {r.number: r.fills for r in results}

    if protocol == "prev":
        predicted = {}
        for t in numbers[1:]:
            predicted.update(painted([t - 1], [t]))
    elif protocol == "long":
        predicted = painted([1], numbers[1:])
    elif protocol == "ends":
        predicted = painted([1, n], numbers[1:-1])
    elif protocol == "self":
        # Each frame painted from its own ground truth through the engine's
        # regions: the ceiling that segmentation leaves to any matcher.
        predicted = {t: truth_fills[t - 1] for t in numbers[1:]}
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    scores = []
    for number, fills in predicted.items():
        frame = frames[number - 1]
        colors = color_layer(frame.regions, fills, palette)
        scores.append(
            frame_scores(colors, shot.color[number - 1], shot.labels[number - 1])
        )
    return mean_scores(scores)


def evaluate(
    *,
    matchers: dict[str, tuple[Matcher, PropagationSettings]],
    shots: list[Any],
    protocols: tuple[str, ...] = PROTOCOLS,
    gap: int = DEFAULT_GAP,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """results[source][protocol][matcher] -> mean scores over the shots
    (source "all" pools every shot)."""
    per_shot: dict[tuple[str, str, str], list[dict[str, float]]] = defaultdict(list)
    for shot in shots:
        frames, truth_fills, palette = analyse_shot(shot, gap)
        for name, (matcher, settings) in matchers.items():
            start_shot(matcher, frames, truth_fills)
            for protocol in protocols:
                scores = run_protocol(
                    protocol, matcher, settings, frames, truth_fills, palette, shot
                )
                for source in (shot.source, "all"):
                    per_shot[(source, protocol, name)].append(scores)
        progress(shot.name)
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (source, protocol, name), scores in per_shot.items():
        results.setdefault(source, {}).setdefault(protocol, {})[name] = mean_scores(
            scores
        )
    return results


def markdown_table(results: dict[str, Any], counts: dict[str, int]) -> str:
    header = (
        "| source (shots) | protocol | matcher | "
        + " | ".join(
            ["segment acc", "segment acc >10 px", "pixel acc", "pixel acc w/o bg"]
        )
        + " |"
    )
    lines = [header, "|" + "---|" * 7]
    sources = sorted(s for s in results if s != "all") + ["all"]
    for source in sources:
        for protocol in ALL_PROTOCOLS:
            for name, scores in results[source].get(protocol, {}).items():
                cells = " | ".join(f"{scores[m]:.4f}" for m in METRICS)
                shots = counts.get(source, 0)
                lines.append(f"| {source} ({shots}) | {protocol} | {name} | {cells} |")
    return "\n".join(lines)


def generated_shots(
    seed: int,
    per_source: int,
    sources: tuple[str, ...],
    size: tuple[int, int],
    frames: int,
    art: str = "all",
) -> Iterator[Any]:
    """``per_source`` shots of each source, made one at a time. A shot its
    source could not make (the generator fell back to another source) is
    left out, so no source is scored on another's shots and no shot twice."""
    from training.data.generate import generate_shot

    for source in sources:
        for index in range(per_source):
            shot = generate_shot(
                seed, index, size=size, frames=frames, sources=(source,), art=art
            )
            if shot.source == source:
                yield shot
            else:
                log.warning("%s could not make shot %d: left out", source, index)


def add_shot_arguments(
    parser: argparse.ArgumentParser, *, seed: int, shots: int, frames: int
) -> None:
    """The arguments that choose the generated shots a tool scores."""
    parser.add_argument(
        "--seed", type=at_least(0), default=seed, help="never a train seed"
    )
    parser.add_argument(
        "--shots", type=positive, default=shots, help="shots per source"
    )
    parser.add_argument("--size", type=parse_size, default=(640, 360), help="WxH")
    parser.add_argument("--frames", type=at_least(2), default=frames)
    parser.add_argument("--sources", default="procedural,lottie,clipart")
    parser.add_argument(
        "--art",
        choices=ART_POOLS,
        default="all",
        help="art files the Lottie and clip-art shots draw: all, or the share "
        "training never sees (heldout; see training/data/art.py)",
    )


def choices(
    parser: argparse.ArgumentParser, option: str, text: str, known: Sequence[str]
) -> list[str]:
    """A comma-separated list of ``known`` names; anything else (or nothing)
    is a usage error naming the option."""
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in known] or ([] if names else [""])
    if unknown:
        parser.error(
            f"{option}: unknown {option[2:-1]} {unknown[0]!r} "
            f"(choose from {', '.join(known)})"
        )
    return names


def sources_argument(
    parser: argparse.ArgumentParser, text: str, art: str = "all"
) -> tuple[str, ...]:
    try:
        return available_sources([s for s in text.split(",") if s], art)
    except ValueError as exc:
        parser.error(f"--sources: {exc}")


def write_json(path: Path, document: Any) -> None:
    """Results as strict JSON (NaN, for a metric with nothing to measure, is
    null), written atomically; the folder is made if missing."""

    def strict(value: Any) -> Any:
        if isinstance(value, float) and not np.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [strict(v) for v in value]
        return value

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(strict(document), indent=2).encode())
    except OSError as exc:
        raise SystemExit(f"{path}: cannot write ({exc.strerror or exc})") from None


def add_gap_argument(parser: argparse.ArgumentParser) -> None:
    """``--gap``: the gap closing the frames are segmented with."""
    parser.add_argument(
        "--gap",
        type=at_least(0),
        default=DEFAULT_GAP,
        help=f"close gaps up to PX (default {DEFAULT_GAP})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--weights", help=".safetensors or ckpt.pt (default: shipped weights)"
    )
    add_shot_arguments(parser, seed=777, shots=16, frames=16)
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--matchers", default="learned,assignment,overlap")
    parser.add_argument(
        "--mutual", type=float, default=None, help="learned: mutual re-ranking strength"
    )
    parser.add_argument(
        "--work-side",
        type=positive,
        default=None,
        help="learned: the CNN's working size, px on the long side (default: "
        "the weights' own, 512)",
    )
    add_gap_argument(parser)
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    parser.add_argument("--threads", type=positive, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    import torch

    torch.set_num_threads(args.threads)
    sources = sources_argument(parser, args.sources, args.art)
    protocols = tuple(choices(parser, "--protocols", args.protocols, ALL_PROTOCOLS))
    names = choices(parser, "--matchers", args.matchers, MATCHERS)
    if args.weights and not {"learned", "learned-app"} & set(names):
        parser.error("--weights: no learned matcher in --matchers to load them into")
    try:
        device = resolve_device(args.device)
    except CadmiumError as exc:  # cuda asked for on a machine without one
        parser.error(f"--device: {exc}")
    learned: Matcher | None = None
    matchers: dict[str, tuple[Matcher, PropagationSettings]] = {}
    for name in names:
        if name in ("learned", "learned-app") and learned is None:
            learned = load_learned(args.weights, device, args.art)
        if name == "learned":
            matchers[name] = (learned, DIRECT)
        elif name == "learned-app":
            # As the application propagates: the key, and past chain_after
            # frames from it also the frame before.
            matchers["learned (app defaults)"] = (learned, PropagationSettings())
        elif name == "assignment":
            matchers[name] = (AssignmentMatcher(), DIRECT)
        elif name == "reachable":
            matchers[name] = (ReachableMatcher(), DIRECT)
        elif name == "overlap":
            matchers["overlap (chained)"] = (OverlapMatcher(), CHAINED)
    for matcher, _ in matchers.values():
        if args.mutual is not None and hasattr(matcher, "mutual"):
            matcher.mutual = args.mutual
        if args.work_side is not None and hasattr(matcher, "work_side"):
            matcher.work_side = args.work_side
    started = time.time()
    shots = list(
        generated_shots(
            args.seed, args.shots, sources, args.size, args.frames, args.art
        )
    )
    if not shots:
        raise SystemExit("no shot could be made from --sources (see the warnings)")
    counts: dict[str, int] = defaultdict(int)
    for shot in shots:
        counts[shot.source] += 1
        counts["all"] += 1
    results = evaluate(
        matchers=matchers,
        shots=shots,
        protocols=protocols,
        gap=args.gap,
        progress=lambda name: log.info("scored %s", name),
    )
    table = markdown_table(results, counts)
    width, height = args.size
    sys.stdout.write(
        f"Seed {args.seed}, {width}x{height}, {args.frames} frames, gap {args.gap}, "
        f"art {args.art}\n\n{table}\n"
    )
    log.info("%d shots in %.1f s", len(shots), time.time() - started)
    if args.json:
        write_json(
            args.json,
            {
                "args": vars(args) | {"json": str(args.json)},
                "counts": counts,
                "results": results,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
