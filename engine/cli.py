"""Command-line entry points that need no GUI: ``segment`` and ``colorize-shot``.

Every input problem ends in one line on stderr (``cadmium: <reason>``) and
exit status 2; the contract is in shared/docs/shot-format.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.errors import CadmiumError
from engine.facade import DEFAULT_GAP, MATCHERS, colorize_shot
from engine.imageio import read_image, write_png
from engine.propagation import PropagationSettings
from engine.regions import DEFAULT_MIN_AREA, Regions, segment_image

EXIT_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cadmium",
        description="Cadmium: segment, match and paint 2D animation shots.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command")

    seg = sub.add_parser("segment", help="split one line frame into regions")
    seg.add_argument("frame", type=Path, help="line-art frame (PNG, TGA, TIFF)")
    seg.add_argument("--out", type=Path, required=True, help="16-bit label map PNG")
    seg.add_argument("--gap", type=int, default=DEFAULT_GAP, help="close gaps up to PX")
    seg.add_argument("--threshold", type=float, default=None, help="ink threshold 0-1")
    seg.add_argument("--min-area", type=int, default=DEFAULT_MIN_AREA)
    seg.add_argument("--preview", type=Path, help="random-colour preview PNG")

    col = sub.add_parser("colorize-shot", help="paint every frame from the keys")
    col.add_argument("shots", type=Path, nargs="+", metavar="SHOT")
    col.add_argument("--out", type=Path, required=True, help="output folder")
    col.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    col.add_argument("--keys", type=_frame_list, help="key frames, e.g. 1,24")
    col.add_argument("--gap", type=int, default=None, help="close gaps up to PX")
    col.add_argument("--matcher", choices=MATCHERS, default="auto")
    col.add_argument(
        "--flag-below",
        type=float,
        default=PropagationSettings().flag_below,
        help="confidence under which a region is flagged for review",
    )
    col.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _frame_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 1,24") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="cadmium: %(message)s",
    )
    try:
        if args.command == "segment":
            return run_segment(args)
        if args.command == "colorize-shot":
            return run_colorize(args)
    except CadmiumError as exc:
        print(f"cadmium: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("cadmium: interrupted; nothing was written", file=sys.stderr)
        return 130
    parser.print_help()
    return 0


def run_segment(args: argparse.Namespace) -> int:
    if args.gap < 0:
        raise CadmiumError(f"--gap {args.gap}: must be 0 or more")
    image = read_image(args.frame)
    _, regions = segment_image(
        image, gap=args.gap, threshold=args.threshold, min_area=args.min_area
    )
    if regions.count > 65535:
        raise CadmiumError(f"{args.frame}: {regions.count} regions do not fit 16 bits")
    write_png(args.out, regions.labels.astype(np.uint16))
    if args.preview:
        write_png(args.preview, preview_image(regions))
    print(
        f"{args.frame}: {regions.count} regions, "
        f"{len(regions.closures.segments)} gap closures -> {args.out}"
    )
    return 0


def preview_image(regions: Regions, seed: int = 7) -> np.ndarray:
    """RGB: each region a random colour, lines black, gap closures magenta."""
    rng = np.random.default_rng(seed)
    colors = rng.integers(60, 256, size=(regions.count + 1, 3), dtype=np.uint8)
    colors[0] = 0
    image = colors[regions.labels]
    image[regions.closures.mask] = (255, 0, 255)
    return image


def run_colorize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = PropagationSettings(flag_below=args.flag_below)
    several = len(args.shots) > 1
    names = [shot.resolve().name for shot in args.shots]
    if several and len(set(names)) != len(names):
        raise CadmiumError("several shots share a folder name; outputs would collide")
    for shot in args.shots:
        out = args.out / shot.resolve().name if several else args.out
        bars: list[tqdm] = []

        def progress(
            done: int, total: int, shot: Path = shot, bars: list[tqdm] = bars
        ) -> None:
            # The bar appears with the first painted frame, after the inputs
            # were checked, so an input error prints one line and no bar.
            if not bars:
                bars.append(
                    tqdm(
                        total=total,
                        unit="frame",
                        desc=shot.name,
                        disable=args.quiet,
                        file=sys.stderr,
                    )
                )
            bars[0].update(done - bars[0].n)

        try:
            summary = colorize_shot(
                shot_path=shot,
                out=out,
                device=args.device,
                keys=args.keys,
                gap=args.gap,
                matcher=args.matcher,
                settings=settings,
                progress=progress,
            )
        finally:
            for bar in bars:
                bar.close()
        print(
            f"{shot}: {summary.frames} frames from keys "
            f"{','.join(map(str, summary.keys))} with {summary.matcher} in "
            f"{summary.seconds:.1f} s; {summary.flagged_regions} regions flagged, "
            f"{summary.unpainted_regions} unpainted -> {summary.out}"
        )
    return 0
