"""Write generated shots to disk in the shot-format layout.

    python -m training.data OUT --shots N --frames F --size WxH --seed S \
        --sources procedural,lottie,clipart

Shot ``k`` goes to ``OUT/<source>_<seed>_<k>/`` and depends only on the
seed and ``k`` (same seed, same bytes).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from training.data.art import ART_POOLS
from training.data.generate import generate_shot, parse_sources
from training.data.shot import write_shot


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WxH") from None
    if w < 32 or h < 32:
        raise argparse.ArgumentTypeError("size must be at least 32x32")
    return w, h


def at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``least`` or more."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            message = f"{text!r} is not a whole number"
            raise argparse.ArgumentTypeError(message) from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value

    return parse


positive = at_least(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.data",
        description="Generate animated line-art shots with exact ground truth.",
    )
    parser.add_argument("out", type=Path, help="output folder (one folder per shot)")
    parser.add_argument("--shots", type=positive, default=10)
    parser.add_argument("--frames", type=positive, default=16)
    parser.add_argument("--size", type=parse_size, default=(512, 512), help="WxH")
    parser.add_argument("--seed", type=at_least(0), default=0)
    parser.add_argument(
        "--start", type=at_least(0), default=0, help="first shot index"
    )
    parser.add_argument(
        "--sources",
        default="procedural",
        help="comma-separated mix of procedural, lottie, clipart",
    )
    parser.add_argument(
        "--art",
        choices=ART_POOLS,
        default="all",
        help="art files the Lottie and clip-art shots may draw (default all)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        sources = parse_sources(args.sources)
    except ValueError as exc:
        parser.error(str(exc))
    counts: dict[str, int] = {}
    frames = 0
    began = time.perf_counter()
    for index in tqdm(
        range(args.start, args.start + args.shots),
        desc="shots",
        unit="shot",
        file=sys.stderr,
    ):
        shot = generate_shot(
            args.seed,
            index,
            size=args.size,
            frames=args.frames,
            sources=sources,
            art=args.art,
        )
        try:
            write_shot(shot, args.out / shot.name)
        except OSError as exc:
            where = exc.filename or args.out / shot.name
            raise SystemExit(f"{where}: cannot write ({exc.strerror or exc})") from None
        counts[shot.source] = counts.get(shot.source, 0) + 1
        frames += len(shot)
    minutes = (time.perf_counter() - began) / 60
    mix = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(
        f"{args.shots} shots ({mix}), {frames} frames in {minutes * 60:.1f} s "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
