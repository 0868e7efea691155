"""One entry point over the sources: shot ``index`` of a seed.

A shot depends only on (seed, index, size, frames, sources, art): the source is
drawn from the mix with the shot's own generator, and each source seeds its
own generators from (seed, index), so shots can be made in any order, in
any worker, and come out byte-identical.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from training.data.art import parse_art
from training.data.shot import SOURCES, GeneratedShot

log = logging.getLogger(__name__)

Generator = Callable[[int, int, tuple[int, int], int, str], GeneratedShot | None]


def _procedural(
    seed: int, index: int, size: tuple[int, int], frames: int, art: str
) -> GeneratedShot:
    from training.data.procedural import generate_procedural

    return generate_procedural(seed, index, size, frames)  # draws no art files


def _lottie(
    seed: int, index: int, size: tuple[int, int], frames: int, art: str
) -> GeneratedShot | None:
    from training.data.lottie import generate_lottie

    return generate_lottie(seed, index, size, frames, art=art)


def _clipart(
    seed: int, index: int, size: tuple[int, int], frames: int, art: str
) -> GeneratedShot | None:
    from training.data.clipart import generate_clipart

    return generate_clipart(seed, index, size, frames, art=art)


GENERATORS: dict[str, Generator] = {
    "procedural": _procedural,
    "lottie": _lottie,
    "clipart": _clipart,
}


def parse_sources(text: str | Sequence[str]) -> tuple[str, ...]:
    """'procedural,lottie' (or a sequence) to a validated tuple of sources."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    names = [s for s in names if s]
    unknown = [s for s in names if s not in SOURCES]
    if unknown or not names:
        raise ValueError(
            f"unknown source {unknown[0]!r}"
            if unknown
            else "no source given" + f" (choose from {', '.join(SOURCES)})"
        )
    return tuple(names)


def generate_shot(
    seed: int,
    index: int,
    *,
    size: tuple[int, int] = (512, 512),
    frames: int = 16,
    sources: Sequence[str] = ("procedural",),
    art: str = "all",
) -> GeneratedShot:
    """Shot ``index`` for a seed; sources that cannot make it fall back in order.
    ``art``: which share of the art files it may draw (training.data.art)."""
    sources = parse_sources(sources)
    parse_art(art)
    rng = np.random.default_rng([seed, index, 0])
    first = int(rng.integers(len(sources)))
    order = list(sources[first:]) + list(sources[:first])
    if "procedural" not in order:
        order.append("procedural")
    for name in order:
        shot = GENERATORS[name](seed, index, size, frames, art)
        if shot is not None:
            return shot
        log.warning("source %s could not make shot %d; falling back", name, index)
    raise RuntimeError("unreachable: the procedural source always makes a shot")
