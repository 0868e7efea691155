"""Procedural cartoon shots: outlined characters and props on a simple set.

Characters are cut-out rigs (torso, head, limbs) with many small regions
(eyes with pupils and highlights, buttons, blush) beside large flat ones,
shadow and highlight regions bounded by colour-trace lines, and articulated
motion: walks, waves and hops with squash and stretch. Props bounce or
slide in from outside the frame, eyes blink, drops of sweat pop in and out,
and the camera pans and zooms. Drawings are held on ones, twos or threes.
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
    color_frame,
    final_labels,
)
from training.data.realism import (
    LineStyle,
    finish_line_art,
    render_drawing,
    sample_style,
)
from training.data.rig import Part, Scene, static, swing
from training.data.shot import GeneratedShot, build_palette

RGBA = tuple[int, int, int, int]
FPS = 24.0


def _rgba(h: float, s: float, v: float) -> RGBA:
    r, g, b = colorsys.hsv_to_rgb(
        h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1))
    )
    return (int(r * 255), int(g * 255), int(b * 255), 255)


def _shade(color: RGBA, factor: float) -> RGBA:
    """Darker (factor < 1) or lighter (factor > 1) version of a colour."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in color[:3]))
    if factor < 1:
        return _rgba(h + 0.02, s * 1.1 + 0.05, v * factor)
    return _rgba(h, s * 0.6, min(1.0, v * factor + 0.1))


def _random_color(
    rng: np.random.Generator, s: tuple[float, float] = (0.3, 0.9)
) -> RGBA:
    return _rgba(rng.random(), rng.uniform(*s), rng.uniform(0.45, 0.95))


def _blinks(rng: np.random.Generator, drawings: int) -> set[int]:
    closed: set[int] = set()
    for _ in range(rng.integers(0, 3)):
        start = int(rng.integers(0, max(drawings, 1)))
        closed.update(range(start, start + int(rng.integers(1, 3))))
    return closed


class _Builder:
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
    b = _Builder(scene, name, px)
    skin = _rgba(rng.uniform(0.02, 0.1), rng.uniform(0.2, 0.6), rng.uniform(0.55, 0.98))
    shirt, pants, hair = _random_color(rng), _random_color(rng), _random_color(rng)
    shoe = _shade(_random_color(rng), 0.6)
    white: RGBA = (250, 250, 246, 255)
    pupil = _rgba(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.4))
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
                _shade(upper, 0.75),
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
                    _shade(end, 1.25),
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
        _shade(shirt, 0.72),
        torso,
        TRACE_RED,
    )
    if rng.random() < 0.6:
        b.part(
            "belt",
            root,
            [shapes.rounded_rect(0, -0.03, torso_w * 1.1, 0.045, 0.01, b.n(0.1))],
            _shade(pants, 0.5),
            torso,
        )
    button_color = _random_color(rng)
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
            _shade(shirt, 0.88),
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
        _shade(skin, 0.8),
        head,
        TRACE_RED,
    )
    for s in (-1, 1):
        if rng.random() < 0.6:
            b.part(
                f"blush {'left' if s < 0 else 'right'}",
                neck,
                [shapes.ellipse(s * hr * 0.55, -0.09, 0.03, 0.018, b.n(0.03))],
                _rgba(0.98, 0.45, 0.98),
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
        _shade(hair, 1.3),
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
            _shade(skin, 0.9),
            visible=lambda d: d in closed,
        )
    b.part(
        "nose",
        neck,
        [shapes.ellipse(0, -0.105, 0.02, 0.017, b.n(0.02))],
        _shade(skin, 0.92),
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
        _rgba(0.99, 0.7, 0.45),
    )
    b.part(
        "tongue",
        mouth_bone,
        [shapes.ellipse(0, hr * 0.18, hr * 0.2, hr * 0.14, b.n(hr * 0.2))],
        _rgba(0.97, 0.45, 0.95),
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


def add_prop(
    scene: Scene,
    rng: np.random.Generator,
    name: str,
    size: tuple[int, int],
    ground: float,
    duration: float,
) -> None:
    w, h = size
    r = rng.uniform(0.04, 0.12) * min(w, h)
    kind = str(rng.choice(["ball", "box", "star"]))
    b = _Builder(scene, name, 1.0)
    enters = rng.random() < 0.4
    x0 = -r * 1.5 if enters else rng.uniform(0.1, 0.9) * w
    vx = (
        w * rng.uniform(0.3, 0.8) if enters else rng.uniform(-0.15, 0.15) * w
    ) / duration
    if enters and rng.random() < 0.5:
        x0, vx = w + r * 1.5, -vx
    bounce = rng.uniform(1.0, 2.5)
    height = rng.uniform(0.1, 0.35) * h if kind == "ball" else 0.0
    spin = rng.uniform(-2.0, 2.0)

    def motion(t: float) -> np.ndarray:
        phase = (bounce * t) % 1.0
        lift = 4 * height * phase * (1 - phase)
        squash = (
            1.0
            + (0.25 if kind == "ball" else 0.0)
            * max(0.0, 0.15 - phase * (1 - phase))
            / 0.15
        )
        return (
            shapes.translate(x0 + vx * t, ground - r / squash - lift)
            @ shapes.scale(squash, 1.0 / squash)
            @ shapes.rotate(spin * t if kind != "ball" else 0.0)
        )

    bone = scene.add_bone(-1, motion)
    color = _random_color(rng)
    n = shapes.vertex_count(r)
    if kind == "ball":
        ball = b.part("ball", bone, [shapes.ellipse(0, 0, r, r, n)], color)
        b.part(
            "ball shadow",
            bone,
            [shapes.ellipse(r * 0.7, r * 0.5, r * 0.8, r * 0.9, n)],
            _shade(color, 0.7),
            ball,
            TRACE_RED,
        )
        b.part(
            "ball highlight",
            bone,
            [shapes.ellipse(-r * 0.4, -r * 0.4, r * 0.22, r * 0.16, n // 2)],
            _shade(color, 1.4),
            ball,
            TRACE_BLUE,
        )
        if rng.random() < 0.5:
            b.part(
                "ball stripe",
                bone,
                [shapes.rounded_rect(0, 0, r * 2.2, r * 0.35, r * 0.05, n)],
                _random_color(rng),
                ball,
            )
    elif kind == "box":
        box = b.part(
            "box", bone, [shapes.rounded_rect(0, 0, 2 * r, 1.6 * r, r * 0.1, n)], color
        )
        b.part(
            "box side shadow",
            bone,
            [shapes.rounded_rect(r * 0.85, 0, r * 0.5, 1.8 * r, 0.0, n)],
            _shade(color, 0.7),
            box,
            TRACE_RED,
        )
        b.part(
            "box label",
            bone,
            [shapes.rounded_rect(-r * 0.2, 0, r * 0.9, r * 0.6, r * 0.08, n)],
            _random_color(rng, (0.1, 0.4)),
        )
    else:
        st = b.part(
            "star",
            bone,
            [shapes.star(0, 0, r, r * 0.45, int(rng.integers(4, 7)))],
            color,
        )
        b.part(
            "star core",
            bone,
            [shapes.ellipse(0, 0, r * 0.28, r * 0.28, n // 2)],
            _shade(color, 1.3),
            st,
            TRACE_GREEN,
        )


def add_set(scene: Scene, rng: np.random.Generator, horizon: float) -> None:
    """Hills, clouds and ground: large flat regions, wider than the frame."""
    w, h = scene.size
    b = _Builder(scene, "set", 1.0)
    bone = scene.add_bone(-1, static(np.eye(3)))
    for k in range(int(rng.integers(0, 3))):
        cx, rx = rng.uniform(-0.2, 1.2) * w, rng.uniform(0.2, 0.5) * w
        b.part(
            f"hill {k + 1}",
            bone,
            [
                shapes.blob(
                    cx,
                    horizon,
                    rx,
                    rx * rng.uniform(0.3, 0.6),
                    shapes.vertex_count(rx),
                    rng,
                    0.08,
                )
            ],
            _random_color(rng, (0.2, 0.5)),
        )
    for k in range(int(rng.integers(0, 3))):
        cx, cy = rng.uniform(0, 1) * w, rng.uniform(0.05, 0.35) * h
        rx = rng.uniform(0.06, 0.14) * w
        puffs = [
            shapes.ellipse(
                cx + dx * rx,
                cy + dy * rx,
                rx * s,
                rx * s * 0.75,
                shapes.vertex_count(rx),
            )
            for dx, dy, s in ((0, 0, 1.0), (-0.8, 0.2, 0.7), (0.8, 0.15, 0.75))
        ]
        cloud = b.part(f"cloud {k + 1}", bone, puffs, (252, 252, 255, 255))
        b.part(
            f"cloud {k + 1} shade",
            bone,
            [
                shapes.ellipse(
                    cx, cy + rx * 0.7, rx * 1.6, rx * 0.4, shapes.vertex_count(rx)
                )
            ],
            (215, 222, 240, 255),
            cloud,
            TRACE_BLUE,
        )
    xs = np.linspace(-0.6 * w, 1.6 * w, 48)
    top = horizon + rng.uniform(-0.02, 0.02) * h * np.sin(xs / w * rng.uniform(3, 9))
    ground = np.concatenate(
        [np.stack([xs, top], 1), [[1.6 * w, 2.0 * h], [-0.6 * w, 2.0 * h]]]
    )
    b.part("ground", bone, [ground], _random_color(rng, (0.2, 0.6)))


def generate_procedural(
    seed: int,
    index: int,
    size: tuple[int, int],
    frames: int,
    style: LineStyle | None = None,
) -> GeneratedShot:
    """Shot ``index`` of the procedural source for a seed."""
    rng = np.random.default_rng([seed, index, 1])
    w, h = size
    step = int(rng.choice([1, 2, 2, 3]))
    drawings = (frames + step - 1) // step
    duration = frames / FPS
    sky = (
        (255, 255, 255, 255) if rng.random() < 0.3 else _random_color(rng, (0.05, 0.3))
    )
    scene = Scene(size=size, background=sky)
    horizon = rng.uniform(0.55, 0.8) * h
    if rng.random() < 0.85:
        add_set(scene, rng, horizon)
    ground = horizon + rng.uniform(0.05, 0.15) * h
    for k in range(int(rng.choice([0, 1, 1, 1, 2, 3]))):
        add_prop(scene, rng, f"prop {k + 1}", size, ground, duration)
    for k in range(int(rng.choice([1, 1, 2]))):
        height = rng.uniform(0.3, 0.75) * h
        add_character(
            scene,
            rng,
            f"character {k + 1}",
            rng.uniform(0.2, 0.8) * w,
            ground - 0.45 * height,
            height,
            drawings,
            step,
        )
    if style is None:
        style = sample_style(rng, size)

    zoom0 = rng.uniform(0.9, 1.3)
    zoom1 = zoom0 * (rng.uniform(0.8, 1.25) if rng.random() < 0.5 else 1.0)
    pan = rng.normal(0, 0.08, 2) * (w, h) if rng.random() < 0.6 else np.zeros(2)
    center = np.array([w / 2, h / 2])
    parent, trace, lut = scene.lookup_tables()
    shot_seed = int(rng.integers(2**31))

    line, color, labels = [], [], []
    gaps: list[int] = []
    cache: dict[
        tuple[int, float, float, float], tuple[np.ndarray, np.ndarray, np.ndarray, int]
    ] = {}
    for f in range(frames):
        drawing = f // step
        u = f / max(frames - 1, 1)
        zoom = zoom0 + (zoom1 - zoom0) * u
        shift = pan * u
        camera = (
            shapes.translate(*center)
            @ shapes.scale(zoom)
            @ shapes.translate(*(-center - shift))
        )
        key = (
            drawing,
            round(float(zoom), 6),
            round(float(shift[0]), 3),
            round(float(shift[1]), 3),
        )
        if key not in cache:
            draw_rng = np.random.default_rng([shot_seed, drawing])
            partition = scene.rasterise(
                drawing * step / FPS, drawing, camera, style.jitter, draw_rng
            )
            lines, n_gaps = render_drawing(partition, parent, trace, style, draw_rng)
            lab = final_labels(partition, lines.ink >= 0.5)
            cache = {
                key: (
                    finish_line_art(lines, style, draw_rng),
                    color_frame(lab, lut),
                    lab,
                    n_gaps,
                )
            }
        art, col, lab, n_gaps = cache[key]
        line.append(art)
        color.append(col)
        labels.append(lab)
        gaps.append(n_gaps)

    names = {1: "Background"} | {p.pid: p.name.capitalize() for p in scene.parts}
    colors = {1: sky} | {p.pid: p.color for p in scene.parts}
    traced = {p.pid: p.trace != INK for p in scene.parts}
    return GeneratedShot(
        name=f"procedural_{seed}_{index:06d}",
        source="procedural",
        line=line,
        color=color,
        labels=labels,
        fps=FPS,
        palette=build_palette(names, colors, traced),
        meta={
            "step": step,
            "line_style": style.to_json(),
            "gaps_per_frame": gaps,
            "has_gaps": any(gaps),
            "parts": {str(p.pid): p.name for p in scene.parts},
        },
    )
