"""Command-line entry points that need no GUI: ``segment`` and ``colorize-shot``.

Every input problem ends in one line on stderr (``cadmium: <reason>``) and
exit status 2; Ctrl-C ends in 130 and SIGTERM in 143, each with one line and
nothing left half-written. The contract is in shared/docs/shot-format.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import cv2
import numpy as np

from engine.errors import OUT_OF_MEMORY, CadmiumError, out_of_memory
from engine.facade import (
    DEFAULT_GAP,
    DEVICES,
    MATCHERS,
    check_gap_option,
    colorize_project,
    colorize_shot,
)
from engine.gaps import GAP_REFERENCE_SIDE, MAX_GAP, default_gap
from engine.imageio import (
    atomic_write_bytes,
    encode_png,
    image_size,
    read_image,
    resolved,
    same_path,
)
from engine.outputs import WRITTEN_BEFORE_STOP
from engine.project import PROJECT_SUFFIX, project_shot_folder
from engine.propagation import PropagationSettings
from engine.regions import DEFAULT_MIN_AREA, Regions, segment_image

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt so
    the run unwinds the same way (staged outputs removed, threads stopped).
    A BaseException, so no ``except Exception`` on the way swallows it."""


def build_parser(
    add_commands: Callable[
        [argparse._SubParsersAction[argparse.ArgumentParser]], object
    ]
    | None = None,
) -> argparse.ArgumentParser:
    """The ``cadmium`` parser; ``add_commands`` adds commands listed before
    the engine's (the application's ``open``), without the engine knowing
    them."""
    parser = argparse.ArgumentParser(
        prog="cadmium",
        description="Cadmium: segment, match and paint 2D animation shots.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command")
    if add_commands is not None:
        add_commands(sub)

    seg = sub.add_parser("segment", help="split one line frame into regions")
    seg.add_argument("frame", type=Path, help="line-art frame (PNG, TGA, TIFF)")
    seg.add_argument("--out", type=Path, required=True, help="16-bit label map PNG")
    seg.add_argument(
        "--gap",
        type=int,
        default=None,
        help=f"close gaps up to PX (0-{MAX_GAP}; default {DEFAULT_GAP} on frames "
        f"up to {GAP_REFERENCE_SIDE} px, in proportion on larger ones)",
    )
    seg.add_argument("--threshold", type=float, default=None, help="ink threshold 0-1")
    seg.add_argument("--min-area", type=int, default=DEFAULT_MIN_AREA)
    seg.add_argument("--preview", type=Path, help="random-colour preview PNG")

    col = sub.add_parser("colorize-shot", help="paint every frame from the keys")
    col.add_argument(
        "shots",
        type=Path,
        nargs="+",
        metavar="SHOT",
        help="a shot folder, or a project saved by the application (.cadmium: "
        "its painting, keys, gap and closing lines)",
    )
    col.add_argument("--out", type=Path, required=True, help="output folder")
    col.add_argument("--device", choices=DEVICES, default="auto")
    col.add_argument("--keys", type=_frame_list, help="key frames, e.g. 1,24")
    col.add_argument(
        "--gap",
        type=int,
        default=None,
        help=f"close gaps up to PX (0-{MAX_GAP}; default: shot.json's, else "
        f"{DEFAULT_GAP} on frames up to {GAP_REFERENCE_SIDE} px, in proportion "
        "on larger ones)",
    )
    col.add_argument("--matcher", choices=MATCHERS, default="auto")
    col.add_argument(
        "--flag-below",
        type=float,
        default=PropagationSettings().flag_below,
        help="confidence (0-1) under which a region is flagged for review",
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
    return run(parser, parser.parse_args(argv))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the engine command ``args`` names; its exit status."""
    _paths_print_safely()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="cadmium: %(message)s",
    )
    with _stop_signals_raise():
        try:
            if args.command == "segment":
                return run_segment(args)
            if args.command == "colorize-shot":
                return run_colorize(args)
        except CadmiumError as exc:
            print(f"cadmium: {exc}", file=sys.stderr)
            return EXIT_INPUT
        except (MemoryError, RuntimeError, cv2.error) as exc:
            if not out_of_memory(exc):
                raise
            print(f"cadmium: {OUT_OF_MEMORY}", file=sys.stderr)
            return EXIT_INPUT
        except KeyboardInterrupt as exc:
            print(f"cadmium: interrupted; {_unwritten(exc)}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Terminated as exc:
            print(f"cadmium: terminated; {_unwritten(exc)}", file=sys.stderr)
            return EXIT_TERMINATED
    parser.print_help()
    return 0


def _paths_print_safely() -> None:
    """Let stdout print any path, as stderr does: a name that is not valid
    in its encoding (Latin-1 from a Windows share, under a UTF-8 locale)
    ended a run whose outputs were written in a UnicodeEncodeError
    traceback when the summary line named it."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)  # (a text stream's)
    if reconfigure is not None and getattr(sys.stdout, "errors", None) == "strict":
        reconfigure(errors="backslashreplace")


def _unwritten(stop: BaseException) -> str:
    """What a stop left unwritten: a note added where the run knew (several
    shots, some done), else nothing at all."""
    notes = getattr(stop, "__notes__", None)
    return notes[-1] if notes else "nothing was written"


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """SIGTERM (schedulers, ``timeout``, ``kill``) raises `Terminated` and
    Ctrl-C `KeyboardInterrupt` in the main thread while the block runs. After
    the first, both are ignored: a second must not cut the clean-up of the
    first short (nor the interpreter's exit, where torch would print)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    stopped = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        stopped = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        if not stopped:
            for sig, handler in previous.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def run_segment(args: argparse.Namespace) -> int:
    if args.gap is not None:
        check_gap_option(args.gap)
    if args.threshold is not None and not 0 < args.threshold < 1:  # NaN too
        raise CadmiumError(
            f"--threshold {args.threshold}: use a number between 0 and 1"
        )
    if args.min_area < 0:
        raise CadmiumError(f"--min-area {args.min_area}: use 0 or more px")
    destinations = {"--out": args.out}
    if args.preview:
        destinations["--preview"] = args.preview
    for option, path in destinations.items():
        check_destination(path, option, args.frame)
    if args.preview and same_path(args.preview, args.out):
        raise CadmiumError(f"--preview {args.preview}: is the --out file too")
    image = read_image(args.frame)
    gap = args.gap if args.gap is not None else default_gap(image_size(image))
    _, regions = segment_image(
        image, gap=gap, threshold=args.threshold, min_area=args.min_area
    )
    if regions.count > 65535:
        raise CadmiumError(f"{args.frame}: {regions.count} regions do not fit 16 bits")
    # Both encoded before either is written: nothing can fail half-way but
    # the disk itself.
    images = {"--out": regions.labels.astype(np.uint16)}
    if args.preview:
        images["--preview"] = preview_image(regions)
    encoded = {option: encode_png(image) for option, image in images.items()}
    for option, data in encoded.items():
        try:
            atomic_write_bytes(destinations[option], data)
        except OSError as exc:
            raise CadmiumError(
                f"{option} {destinations[option]}: cannot write ({exc.strerror or exc})"
            ) from None
    print(
        f"{args.frame}: {regions.count} regions, "
        f"{len(regions.closures.segments)} gap closures -> {args.out}"
    )
    return 0


def check_destination(path: Path, option: str, source: Path) -> None:
    """Refuse, before anything is written, an output file that would replace
    ``source`` or cannot be written."""
    if path.is_dir():
        raise CadmiumError(f"{option} {path}: is a folder; name the PNG to write")
    if path.suffix.lower() != ".png":
        raise CadmiumError(f"{option} {path}: writes PNG; name a .png file")
    if same_path(path, source):
        raise CadmiumError(
            f"{option} {path}: is the input frame, which it would overwrite"
        )
    folder = path.parent
    while not folder.exists():  # missing folders are made when writing
        folder = folder.parent
    if not folder.is_dir():
        raise CadmiumError(f"{option} {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CadmiumError(f"{option} {path}: cannot write into {folder}")


def preview_image(regions: Regions, seed: int = 7) -> np.ndarray:
    """RGB: each region a random colour, lines black, gap closures magenta."""
    rng = np.random.default_rng(seed)
    colors = rng.integers(60, 256, size=(regions.count + 1, 3), dtype=np.uint8)
    colors[0] = 0
    image = colors[regions.labels]
    image[regions.closures.mask] = (255, 0, 255)
    return image


def _output_name(shot: Path) -> str:
    """The folder a shot's outputs go to in a batch: the shot folder's
    name, or the project file's without its suffix, as named (a link's own
    name: a farm links shots in under its names, and their targets' may
    repeat, as versions/3/shot and versions/4/shot)."""
    if shot.suffix == PROJECT_SUFFIX:
        return shot.stem
    if shot.name in ("", ".."):  # ".", "..", "/": no name of its own
        return resolved(shot).name
    return shot.name


def run_colorize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if not 0 <= args.flag_below <= 1:  # NaN too
        raise CadmiumError(f"--flag-below {args.flag_below}: use a number from 0 to 1")
    settings = PropagationSettings(flag_below=args.flag_below)
    several = len(args.shots) > 1
    projects = [shot for shot in args.shots if shot.suffix == PROJECT_SUFFIX]
    for option in ("keys", "gap"):
        if projects and getattr(args, option) is not None:
            raise CadmiumError(
                f"--{option}: {projects[0]} is a project, which has its own "
                f"{option} (change them in the application)"
            )
    names = [_output_name(shot) for shot in args.shots]
    if several and len(set(names)) != len(names):
        raise CadmiumError("several shots share a folder name; outputs would collide")
    # Nothing is ever written inside a shot, another of the batch's included
    # (each run checks its own shot), a project's shot folder too.
    out_root = resolved(args.out)
    for shot in args.shots if several else ():
        folder = project_shot_folder(shot) if shot.suffix == PROJECT_SUFFIX else shot
        if folder is not None and out_root.is_relative_to(resolved(folder)):
            raise CadmiumError(
                f"{args.out}: the output folder must be outside every shot "
                f"({folder} is one)"
            )
    finished: list[Path] = []
    failed: list[Path] = []
    for shot in args.shots:
        out = args.out / _output_name(shot) if several else args.out
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
                        # None: only on a terminal, so a log or a pipe
                        # gets the summary or the error alone.
                        disable=True if args.quiet else None,
                        file=sys.stderr,
                    )
                )
            bars[0].update(done - bars[0].n)

        try:
            if shot.suffix == PROJECT_SUFFIX:
                summary = colorize_project(
                    project_path=shot,
                    out=out,
                    device=args.device,
                    matcher=args.matcher,
                    settings=settings,
                    progress=progress,
                )
            else:
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
        except (KeyboardInterrupt, Terminated) as stop:
            if WRITTEN_BEFORE_STOP in getattr(stop, "__notes__", ()):
                finished.append(shot)  # it came as the outputs were put in place
                if several:
                    stop.add_note(
                        f"the {len(finished)} shot(s) up to and including {shot} "
                        "are done"
                    )
            elif finished:
                stop.add_note(
                    f"nothing was written for {shot}; the {len(finished)} "
                    "shot(s) before it are done"
                )
            raise
        except (CadmiumError, MemoryError, RuntimeError, cv2.error) as exc:
            # One bad shot of a batch is reported and the others still run.
            if not several or not (isinstance(exc, CadmiumError) or out_of_memory(exc)):
                raise
            reason = str(exc) if isinstance(exc, CadmiumError) else OUT_OF_MEMORY
            if not reason.startswith((str(shot), str(resolved(shot)))):
                reason = f"{shot}: {reason}"
            print(f"cadmium: {reason}", file=sys.stderr)
            failed.append(shot)
            continue
        finally:
            for bar in bars:
                bar.close()
        finished.append(shot)
        print(
            f"{shot}: {summary.frames} frames from keys "
            f"{','.join(map(str, summary.keys))} with {summary.matcher} in "
            f"{summary.seconds:.1f} s; {summary.flagged_regions} regions flagged, "
            f"{summary.unpainted_regions} unpainted -> {summary.out}"
        )
    if failed:
        print(
            f"cadmium: {len(failed)} of {len(args.shots)} shots failed "
            f"({', '.join(map(str, failed))}); the others are done",
            file=sys.stderr,
        )
        return EXIT_INPUT
    return 0


if __name__ == "__main__":  # python -m engine.cli: the commands without Qt
    raise SystemExit(main())
