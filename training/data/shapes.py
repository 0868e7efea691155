"""Parametric outlines as float polygons, and 2D affine helpers.

Polygons are ``[N x 2]`` float64 arrays of (x, y); transforms are 3x3
matrices acting on column vectors, so ``A @ B`` applies ``B`` first.
"""

from __future__ import annotations

import numpy as np


def vertex_count(radius_px: float, lo: int = 12, hi: int = 160) -> int:
    """Enough vertices that chords stay within about a third of a pixel."""
    return int(np.clip(2.0 * np.pi * max(radius_px, 1.0) / 3.0, lo, hi))


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def capsule(length: float, radius: float, n: int) -> np.ndarray:
    """A limb from (0, 0) down to (0, length), round at both ends."""
    half = max(n // 2, 6)
    top = np.linspace(np.pi, 2.0 * np.pi, half)
    bottom = np.linspace(0.0, np.pi, half)
    pts_top = np.stack([radius * np.cos(top), radius * np.sin(top)], axis=1)
    pts_bottom = np.stack(
        [radius * np.cos(bottom), length + radius * np.sin(bottom)], axis=1
    )
    return np.concatenate([pts_top, pts_bottom])[::-1]


def rounded_rect(
    cx: float, cy: float, w: float, h: float, r: float, n: int
) -> np.ndarray:
    r = min(r, w / 2, h / 2)
    per = max(n // 4, 3)
    corners = (
        (w / 2 - r, h / 2 - r),
        (-w / 2 + r, h / 2 - r),
        (-w / 2 + r, -h / 2 + r),
        (w / 2 - r, -h / 2 + r),
    )
    pts = []
    for k, (ox, oy) in enumerate(corners):
        t = np.linspace(k * np.pi / 2, (k + 1) * np.pi / 2, per)
        pts.append(np.stack([cx + ox + r * np.cos(t), cy + oy + r * np.sin(t)], 1))
    return np.concatenate(pts)


def blob(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    n: int,
    rng: np.random.Generator,
    wobble: float = 0.15,
) -> np.ndarray:
    """An ellipse with a smooth random radius: hair, bushes, clouds, hills."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    radius = np.ones_like(t)
    for k in (2, 3, 5):
        radius += (
            wobble / k * rng.uniform(0.3, 1.0) * np.sin(k * t + rng.uniform(0, 6.3))
        )
    return np.stack([cx + rx * radius * np.cos(t), cy + ry * radius * np.sin(t)], 1)


def star(cx: float, cy: float, r_out: float, r_in: float, points: int) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, 2 * points, endpoint=False) - np.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, r_out, r_in)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def translate(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def rotate(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def scale(sx: float, sy: float | None = None) -> np.ndarray:
    return np.diag([sx, sx if sy is None else sy, 1.0])


def apply(matrix: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    return polygon @ matrix[:2, :2].T + matrix[:2, 2]


def boil(polygon: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Smoothly wobble an outline by about ``amount`` px, as a redraw does."""
    if amount <= 0 or len(polygon) < 4:
        return polygon
    n = len(polygon)
    phase = np.arange(n) * (2.0 * np.pi / n)
    offset = np.zeros_like(polygon)
    for k in (1, 2, 3, 5):
        amp = amount * rng.uniform(0.2, 1.0) / np.sqrt(k)
        offset += amp * np.sin(k * phase[:, None] + rng.uniform(0, 6.3, (1, 2)))
    return polygon + offset
