"""Procedural cartoon shots: outlined characters and props on a simple set.

Characters are cut-out rigs (torso, head, limbs) with many small regions
(eyes with pupils and highlights, buttons, blush) beside large flat ones,
shadow and highlight regions bounded by colour-trace lines, and articulated
motion: walks, waves and hops with squash and stretch. Props bounce or
slide in from outside the frame, eyes blink, drops of sweat pop in and out,
and the camera pans and zooms. Drawings are held on ones, twos or threes.
"""

from __future__ import annotations

import numpy as np

from training.data import shapes
from training.data.character import (
    FPS,
    PartBuilder,
    add_character,
    random_color,
    shade,
)
from training.data.raster import (
    INK,
    TRACE_BLUE,
    TRACE_GREEN,
    TRACE_RED,
    color_frame,
    engine_line_mask,
    final_labels,
)
from training.data.realism import (
    LineStyle,
    finish_line_art,
    render_drawing,
    sample_style,
)
from training.data.rig import Scene, static
from training.data.shot import GeneratedShot, build_palette


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
    b = PartBuilder(scene, name, 1.0)
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
    color = random_color(rng)
    n = shapes.vertex_count(r)
    if kind == "ball":
        ball = b.part("ball", bone, [shapes.ellipse(0, 0, r, r, n)], color)
        b.part(
            "ball shadow",
            bone,
            [shapes.ellipse(r * 0.7, r * 0.5, r * 0.8, r * 0.9, n)],
            shade(color, 0.7),
            ball,
            TRACE_RED,
        )
        b.part(
            "ball highlight",
            bone,
            [shapes.ellipse(-r * 0.4, -r * 0.4, r * 0.22, r * 0.16, n // 2)],
            shade(color, 1.4),
            ball,
            TRACE_BLUE,
        )
        if rng.random() < 0.5:
            b.part(
                "ball stripe",
                bone,
                [shapes.rounded_rect(0, 0, r * 2.2, r * 0.35, r * 0.05, n)],
                random_color(rng),
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
            shade(color, 0.7),
            box,
            TRACE_RED,
        )
        b.part(
            "box label",
            bone,
            [shapes.rounded_rect(-r * 0.2, 0, r * 0.9, r * 0.6, r * 0.08, n)],
            random_color(rng, (0.1, 0.4)),
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
            shade(color, 1.3),
            st,
            TRACE_GREEN,
        )


def add_set(scene: Scene, rng: np.random.Generator, horizon: float) -> None:
    """Hills, clouds and ground: large flat regions, wider than the frame."""
    w, h = scene.size
    b = PartBuilder(scene, "set", 1.0)
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
            random_color(rng, (0.2, 0.5)),
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
    b.part("ground", bone, [ground], random_color(rng, (0.2, 0.6)))


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
    sky = (255, 255, 255, 255) if rng.random() < 0.3 else random_color(rng, (0.05, 0.3))
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
            finished = finish_line_art(lines, style, draw_rng)
            lab = final_labels(partition, engine_line_mask(finished, lines.ink))
            cache = {key: (finished, color_frame(lab, lut), lab, n_gaps)}
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
