"""Line realism shared by every source: how the lines of a shot are drawn.

A :class:`LineStyle` is drawn once per shot (an animator's pen and a
studio's scanner do not change within a shot); boil, pressure and gaps vary
per drawing. Gaps and scan noise change the line art only: labels follow the
drawn parts, and ``meta`` records that gaps exist so an evaluation can close
them or skip those frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from training.data.raster import LineRender, draw_lines, line_image, pressure_field

INK_COLORS = ((0, 0, 0), (0, 0, 0), (0, 0, 0), (38, 24, 18), (20, 24, 48), (50, 50, 50))


@dataclass(frozen=True)
class LineStyle:
    """How a shot's lines look."""

    width: float  # px, mean width of ink lines
    trace_width: float  # px, mean width of colour-trace lines
    pressure: float  # relative width variation over a drawing, 0..0.6
    jitter: float  # px, boil of shape outlines between drawings
    binary: bool  # non-antialiased lines
    mode: str  # "rgba" (transparent), "rgb" or "grey" (on white)
    ink_rgb: tuple[int, int, int]
    gap_rate: float  # expected gaps per drawing
    # px: each gap erases a disc as wide as the thickest line plus gap_size,
    # so the opening along the line is about line width + gap_size long.
    gap_size: float
    scan_noise: float  # 0 = clean; else grain sigma (0..1 scale)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def clean_style(size: tuple[int, int]) -> LineStyle:
    """A plain antialiased black line on white, no gaps, no noise."""
    return LineStyle(
        width=_base_width(size),
        trace_width=max(_base_width(size) * 0.75, 2.0),
        pressure=0.0,
        jitter=0.0,
        binary=False,
        mode="rgb",
        ink_rgb=(0, 0, 0),
        gap_rate=0.0,
        gap_size=0.0,
        scan_noise=0.0,
    )


def _base_width(size: tuple[int, int]) -> float:
    # About 3 px at 1080p, never below the 2 px the ground truth relies on.
    return max(2.0, 3.0 * min(size) / 1080.0 * 1.4)


def sample_style(rng: np.random.Generator, size: tuple[int, int]) -> LineStyle:
    """A random but plausible line style for a shot of this frame size."""
    base = _base_width(size) * rng.uniform(0.8, 1.6)
    mode = str(rng.choice(["rgba", "rgb", "rgb", "grey"]))
    noisy = mode != "rgba" and rng.random() < 0.3
    gaps = rng.random() < 0.25
    return LineStyle(
        width=float(base),
        trace_width=float(max(base * rng.uniform(0.6, 0.9), 2.0)),
        pressure=float(rng.uniform(0.0, 0.5)),
        jitter=float(rng.choice([0.0, rng.uniform(0.2, 1.2)])),
        binary=bool(rng.random() < 0.3),
        mode=mode,
        ink_rgb=tuple(int(c) for c in INK_COLORS[rng.integers(len(INK_COLORS))]),
        gap_rate=float(rng.uniform(1.0, 4.0)) if gaps else 0.0,
        gap_size=float(rng.uniform(2.0, 5.0)) if gaps else 0.0,
        scan_noise=float(rng.uniform(0.01, 0.04)) if noisy else 0.0,
    )


def render_drawing(
    partition: np.ndarray,
    parent: np.ndarray,
    trace: np.ndarray,
    style: LineStyle,
    rng: np.random.Generator,
) -> tuple[LineRender, int]:
    """Lines of one drawing with pressure and gaps; returns (lines, gap count)."""
    shape = partition.shape
    if style.pressure > 0:
        width: np.ndarray | float = pressure_field(
            rng, shape, style.width, style.pressure
        )
        trace_width: np.ndarray | float = width * (style.trace_width / style.width)
    else:
        width, trace_width = style.width, style.trace_width
    lines = draw_lines(
        partition, parent, trace, width, trace_width, binary=style.binary
    )
    gaps = 0
    if style.gap_rate > 0:
        gaps = int(rng.poisson(style.gap_rate))
        if gaps:
            lines = cut_gaps(lines, partition, gaps, style, rng)
    return lines, gaps


def cut_gaps(
    lines: LineRender,
    partition: np.ndarray,
    count: int,
    style: LineStyle,
    rng: np.random.Generator,
) -> LineRender:
    """Erase the line across its whole width at ``count`` random places:
    discs of diameter (thickest line width + ``style.gap_size``)."""
    ys, xs = np.nonzero(lines.ink >= 1.0)
    if len(ys) == 0:
        return lines
    ink = lines.ink.copy()
    picks = rng.integers(0, len(ys), count)
    radius = int(np.ceil(style.width * (1.0 + style.pressure) / 2 + style.gap_size / 2))
    for i in picks:
        cv2.circle(ink, (int(xs[i]), int(ys[i])), radius, 0.0, -1)
    return LineRender(ink, lines.kind)


def finish_line_art(
    lines: LineRender, style: LineStyle, rng: np.random.Generator
) -> np.ndarray:
    """The line image of a drawing, with scan grain and dust when scanned."""
    ink = lines.ink
    if style.scan_noise > 0:
        ink = cv2.GaussianBlur(ink, (0, 0), 0.6)
        dust = rng.random(ink.shape, np.float32) < 2e-5
        ink = np.maximum(ink, cv2.dilate(dust.view(np.uint8), None).astype(np.float32))
        grain = rng.normal(0.0, style.scan_noise, ink.shape).astype(np.float32)
        ink = np.clip(ink + grain + style.scan_noise, 0.0, 1.0)
    return line_image(ink, lines.kind, style.ink_rgb, mode=style.mode)
