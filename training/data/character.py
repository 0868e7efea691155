"""Procedural cartoon characters: cut-out rigs with many small regions.

A character is a torso, a head and limbs, each an outlined part, with eyes
(pupils, highlights, blinks), buttons, blush and shadow/highlight regions
bounded by colour-trace lines, animated by articulated motion: walks, waves
and hops with squash and stretch.
"""

from __future__ import annotations

import colorsys

import numpy as np

from training.data import shapes
from training.data.raster import (
    INK,
    TRACE_BLUE,
    TRACE_GREEN,
    TRACE_RED,
)
from training.data.rig import Part, Scene, swing

RGBA = tuple[int, int, int, int]
FPS = 24.0


def hsv_color(h: float, s: float, v: float) -> RGBA:
    r, g, b = colorsys.hsv_to_rgb(
        h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1))
    )
    return (int(r * 255), int(g * 255), int(b * 255), 255)


def shade(color: RGBA, factor: float) -> RGBA:
    """Darker (factor < 1) or lighter (factor > 1) version of a colour."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in color[:3]))
    if factor < 1:
        return hsv_color(h + 0.02, s * 1.1 + 0.05, v * factor)
    return hsv_color(h, s * 0.6, min(1.0, v * factor + 0.1))


def random_color(rng: np.random.Generator, s: tuple[float, float] = (0.3, 0.9)) -> RGBA:
    return hsv_color(rng.random(), rng.uniform(*s), rng.uniform(0.45, 0.95))


def _blinks(rng: np.random.Generator, drawings: int) -> set[int]:
    closed: set[int] = set()
    for _ in range(rng.integers(0, 3)):
        start = int(rng.integers(0, max(drawings, 1)))
        closed.update(range(start, start + int(rng.integers(1, 3))))
    return closed


class PartBuilder:
    """Adds parts to a scene in painter's order, naming them per owner."""

    def __init__(self, scene: Scene, owner: str, px: float) -> None:
        self.scene, self.owner, self.px = scene, owner, px

    def n(self, radius: float) -> int:
        return shapes.vertex_count(radius * self.px)

    def part(
        self,
        name: str,
        bone: int,
        polys: list[np.ndarray],
        color: RGBA,
        clip_to: Part | None = None,
        trace: int = INK,
        visible=None,
    ) -> Part:
        return self.scene.add_part(
            Part(
                name=f"{self.owner} {name}",
                bone=bone,
                polygons=polys,
                color=color,
                clip_to=clip_to.pid if clip_to else 0,
                trace=trace,
                visible=visible,
            )
        )


def add_character(
    scene: Scene,
    rng: np.random.Generator,
    name: str,
    x: float,
    y: float,
    height_px: float,
    drawings: int,
    step: int,
) -> None:
    """A cut-out character whose hips start at (x, y) world px."""
    px = height_px  # local units: 1.0 = character height
    b = PartBuilder(scene, name, px)
    skin = hsv_color(
        rng.uniform(0.02, 0.1), rng.uniform(0.2, 0.6), rng.uniform(0.55, 0.98)
    )
    shirt, pants, hair = random_color(rng), random_color(rng), random_color(rng)
    shoe = shade(random_color(rng), 0.6)
    white: RGBA = (250, 250, 246, 255)
    pupil = hsv_color(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.4))
    action = str(rng.choice(["walk", "wave", "hop", "idle"]))
    speed = rng.uniform(0.05, 0.25) * px * rng.choice([-1, 1])
    if action in ("wave", "idle"):
        speed *= 0.2
    freq = rng.uniform(0.8, 1.6)
    hop = action == "hop"
    big_head = rng.uniform(0.8, 1.3)
    wide = rng.uniform(0.8, 1.25)

    def root_motion(t: float) -> np.ndarray:
        phase = 2 * np.pi * freq * t
        lift = abs(np.sin(phase)) * (0.12 if hop else 0.015)
        squash = 0.08 * np.cos(2 * phase) if hop else 0.02 * np.sin(2 * phase)
        lean = 0.06 * np.sin(phase) if action != "idle" else 0.03 * np.sin(phase)
        return (
            shapes.translate(x + speed * t, y - lift * px)
            @ shapes.rotate(lean)
            @ shapes.scale(px * (1 + squash), px / (1 + squash))
        )

    root = scene.add_bone(-1, root_motion)
    swing_amp = {"walk": 0.5, "hop": 0.25, "wave": 0.1, "idle": 0.05}[action]
    legs, arms = [], []
    for side in (-1, 1):
        hip = scene.add_bone(
            root,
            swing(0.07 * side * wide, 0.0, 0.0, swing_amp, freq, np.pi * (side > 0)),
        )
        knee = scene.add_bone(
            hip, swing(0, 0.21, 0.15, 0.5 * swing_amp, freq, np.pi * (side > 0) + 1.0)
        )
        legs.append((hip, knee))
        if action == "wave" and side > 0:
            shoulder = scene.add_bone(
                root, swing(0.15 * wide, -0.36, -2.6, 0.15, freq * 1.5, 0.0)
            )
            elbow = scene.add_bone(shoulder, swing(0, 0.17, -0.6, 0.6, freq * 1.5, 0.5))
        else:
            shoulder = scene.add_bone(
                root,
                swing(
                    0.15 * side * wide,
                    -0.36,
                    -0.2 * side,
                    swing_amp * 0.8,
                    freq,
                    np.pi * (side < 0),
                ),
            )
            elbow = scene.add_bone(
                shoulder, swing(0, 0.17, 0.2 * side, 0.3 * swing_amp, freq, 0.3)
            )
        arms.append((shoulder, elbow))
    neck = scene.add_bone(
        root, swing(0, -0.42, 0.0, 0.08, freq * 0.5, rng.uniform(0, 6))
    )

    def limb(
        bones: tuple[int, int],
        upper: RGBA,
        lower: RGBA,
        end: RGBA,
        label: str,
        leg: bool,
    ) -> None:
        top, mid = bones
        r0, r1 = (0.055, 0.045) if leg else (0.042, 0.036)
        upper_part = b.part(
            f"{label} upper",
            top,
            [shapes.capsule(0.21 if leg else 0.17, r0 * wide, b.n(r0))],
            upper,
        )
        if rng.random() < 0.6:
            b.part(
                f"{label} upper shadow",
                top,
                [shapes.ellipse(r0 * 1.1, 0.1, r0 * 0.7, 0.16, b.n(0.1))],
                shade(upper, 0.75),
                upper_part,
                TRACE_RED,
            )
        b.part(
            f"{label} lower",
            mid,
            [shapes.capsule(0.2 if leg else 0.16, r1 * wide, b.n(r1))],
            lower,
        )
        if leg:
            b.part(
                f"{label} shoe",
                mid,
                [shapes.ellipse(0.04, 0.23, 0.085, 0.045, b.n(0.085))],
                end,
            )
        else:
            hand = b.part(
                f"{label} hand",
                mid,
                [shapes.ellipse(0, 0.2, 0.048, 0.05, b.n(0.05))],
                end,
            )
            if rng.random() < 0.5:
                b.part(
                    f"{label} hand highlight",
                    mid,
                    [shapes.ellipse(-0.02, 0.185, 0.02, 0.018, b.n(0.02))],
                    shade(end, 1.25),
                    hand,
                    TRACE_BLUE,
                )

    # Far limbs first: the torso occludes them as they swing.
    limb(legs[0], pants, pants, shoe, "far leg", True)
    limb(arms[0], shirt, skin, skin, "far arm", False)
    limb(legs[1], pants, pants, shoe, "near leg", True)

    torso_w, torso_h = 0.3 * wide, 0.44
    if rng.random() < 0.5:
        torso_poly = shapes.ellipse(0, -0.2, torso_w / 2, torso_h / 2, b.n(0.22))
    else:
        torso_poly = shapes.rounded_rect(0, -0.2, torso_w, torso_h, 0.07, b.n(0.22))
    torso = b.part("shirt", root, [torso_poly], shirt)
    b.part(
        "shirt shadow",
        root,
        [shapes.ellipse(torso_w * 0.45, -0.16, 0.1, 0.28, b.n(0.2))],
        shade(shirt, 0.72),
        torso,
        TRACE_RED,
    )
    if rng.random() < 0.6:
        b.part(
            "belt",
            root,
            [shapes.rounded_rect(0, -0.03, torso_w * 1.1, 0.045, 0.01, b.n(0.1))],
            shade(pants, 0.5),
            torso,
        )
    button_color = random_color(rng)
    for k in range(int(rng.integers(0, 5))):
        b.part(
            f"button {k + 1}",
            root,
            [shapes.ellipse(0, -0.34 + 0.075 * k, 0.017, 0.017, b.n(0.017))],
            button_color,
        )
    if rng.random() < 0.5:
        b.part(
            "pocket",
            root,
            [shapes.rounded_rect(-torso_w * 0.22, -0.27, 0.07, 0.06, 0.012, b.n(0.05))],
            shade(shirt, 0.88),
        )

    hr = 0.15 * big_head
    ears = [
        shapes.ellipse(s * hr * 0.98, -0.15, 0.035, 0.05, b.n(0.05)) for s in (-1, 1)
    ]
    b.part("ears", neck, ears, skin)
    head = b.part(
        "head", neck, [shapes.ellipse(0, -0.15, hr, hr * 1.05, b.n(hr))], skin
    )
    b.part(
        "head shadow",
        neck,
        [shapes.ellipse(hr * 0.95, -0.1, hr * 0.5, hr * 1.2, b.n(hr))],
        shade(skin, 0.8),
        head,
        TRACE_RED,
    )
    for s in (-1, 1):
        if rng.random() < 0.6:
            b.part(
                f"blush {'left' if s < 0 else 'right'}",
                neck,
                [shapes.ellipse(s * hr * 0.55, -0.09, 0.03, 0.018, b.n(0.03))],
                hsv_color(0.98, 0.45, 0.98),
                head,
                TRACE_GREEN,
            )
    hair_part = b.part(
        "hair",
        neck,
        [shapes.blob(0, -0.15 - hr * 0.75, hr * 1.1, hr * 0.5, b.n(hr), rng)],
        hair,
    )
    b.part(
        "hair highlight",
        neck,
        [shapes.ellipse(-hr * 0.35, -0.15 - hr * 0.95, hr * 0.3, hr * 0.12, b.n(0.05))],
        shade(hair, 1.3),
        hair_part,
        TRACE_BLUE,
    )

    closed = _blinks(rng, drawings)
    look = rng.uniform(-0.3, 0.3)
    eye_bone = scene.add_bone(
        neck,
        lambda t: shapes.translate(0.012 * np.sin(2 * np.pi * 0.7 * t + look), 0.0),
    )
    for s in (-1, 1):
        side = "left" if s < 0 else "right"
        ex, ey = s * hr * 0.38, -0.16
        eye = b.part(
            f"eye {side}",
            neck,
            [shapes.ellipse(ex, ey, hr * 0.22, hr * 0.3, b.n(hr * 0.3))],
            white,
            visible=lambda d: d not in closed,
        )
        pup = b.part(
            f"pupil {side}",
            eye_bone,
            [shapes.ellipse(ex, ey + 0.01, hr * 0.13, hr * 0.17, b.n(hr * 0.17))],
            pupil,
            eye,
        )
        b.part(
            f"eye highlight {side}",
            eye_bone,
            [
                shapes.ellipse(
                    ex - hr * 0.05, ey - 0.01, hr * 0.06, hr * 0.06, b.n(0.01)
                )
            ],
            white,
            pup,
        )
        b.part(
            f"eyelid {side}",
            neck,
            [shapes.ellipse(ex, ey, hr * 0.24, hr * 0.07, b.n(hr * 0.24))],
            shade(skin, 0.9),
            visible=lambda d: d in closed,
        )
    b.part(
        "nose",
        neck,
        [shapes.ellipse(0, -0.105, 0.02, 0.017, b.n(0.02))],
        shade(skin, 0.92),
    )
    talk = rng.uniform(1.0, 3.0)
    mouth_bone = scene.add_bone(
        neck,
        lambda t: (
            shapes.translate(0, -0.055)
            @ shapes.scale(1.0, 0.5 + 0.5 * abs(np.sin(talk * t)))
        ),
    )
    mouth = b.part(
        "mouth",
        mouth_bone,
        [shapes.ellipse(0, 0, hr * 0.33, hr * 0.22, b.n(hr * 0.3))],
        hsv_color(0.99, 0.7, 0.45),
    )
    b.part(
        "tongue",
        mouth_bone,
        [shapes.ellipse(0, hr * 0.18, hr * 0.2, hr * 0.14, b.n(hr * 0.2))],
        hsv_color(0.97, 0.45, 0.95),
        mouth,
    )
    if rng.random() < 0.4:
        start = int(rng.integers(0, max(drawings - 2, 1)))
        b.part(
            "sweat drop",
            neck,
            [shapes.ellipse(hr * 1.05, -0.25, 0.022, 0.035, b.n(0.035))],
            (170, 220, 255, 255),
            visible=lambda d: start <= d < start + 3 + drawings // 3,
        )
    limb(arms[1], shirt, skin, skin, "near arm", False)
