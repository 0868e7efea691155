"""Shots from real clip art: OpenMoji and Openclipart, animated as cut-outs.

Every filled shape of an SVG becomes a part: it is rasterised alone (with
resvg, at a fixed resolution, no antialiasing), traced back to polygons
(rings with holes) and given the colour it shows in the full render. The
original outlines are dropped (OpenMoji keeps them in its ``line`` layer;
in Openclipart they are dark, thin shapes) and lines are redrawn along the
part boundaries, as for every source. Parts then move as an animator and a
camera would: per-part rotation and drift about their own centre, a global
sway with squash and stretch, a bend, parts that blink out and back, a prop
crossing in front, and a camera zoom and pan.

Where the art lives (nothing is downloaded at run time):
- OpenMoji: ``$CADMIUM_OPENMOJI`` or ``data/openmoji`` in the repository,
  the npm package ``openmoji`` unpacked (``color/svg/*.svg``, ``data/``).
- Openclipart: ``$CADMIUM_OPENCLIPART`` or ``/usr/share/openclipart/svg``
  (Debian package ``openclipart-svg``).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from training.data import shapes
from training.data.art import art_name, in_pool
from training.data.procedural import FPS, add_prop
from training.data.raster import color_frame, engine_line_mask, final_labels
from training.data.realism import (
    LineStyle,
    finish_line_art,
    render_drawing,
    sample_style,
)
from training.data.rig import Part, Scene, swing
from training.data.shot import GeneratedShot, build_palette

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
SHAPE_TAGS = {"path", "circle", "ellipse", "rect", "polygon", "polyline"}
SKIP_PARENTS = {"defs", "clipPath", "mask", "pattern", "marker", "symbol"}
MASK_PX = 512  # rasterisation size of a part (longer side)
MAX_PARTS = 80
OPENMOJI_LICENCE = (
    "OpenMoji graphics are licensed under the Creative Commons Attribution-"
    "ShareAlike 4.0 International licence (CC BY-SA 4.0), "
    "https://creativecommons.org/licenses/by-sa/4.0/ . All emojis designed by "
    "OpenMoji (https://openmoji.org/), the open-source emoji and icon project. "
    "This shot is derived from that artwork (animated, outlines redrawn) and is "
    "shared under the same licence."
)
OPENCLIPART_LICENCE = (
    "Openclipart artwork is dedicated to the public domain (CC0 / public domain "
    "dedication), https://openclipart.org/share ; packaged by Debian as "
    "openclipart-svg. This shot is derived from it (animated, outlines redrawn)."
)


def openmoji_root() -> Path | None:
    for base in (
        os.environ.get("CADMIUM_OPENMOJI"),
        REPO / "data" / "openmoji",
        REPO / "node_modules" / "openmoji",
    ):
        if base and (Path(base) / "color" / "svg").is_dir():
            return Path(base)
    return None


def openclipart_root() -> Path | None:
    for base in (os.environ.get("CADMIUM_OPENCLIPART"), "/usr/share/openclipart/svg"):
        if base and Path(base).is_dir():
            return Path(base)
    return None


@functools.lru_cache(maxsize=1)
def clipart_files() -> tuple[tuple[str, Path], ...]:
    """(collection, path) of every candidate SVG, OpenMoji first, sorted."""
    found: list[tuple[str, Path]] = []
    moji = openmoji_root()
    if moji:
        found += [
            ("openmoji", p) for p in sorted((moji / "color" / "svg").glob("*.svg"))
        ]
    clip = openclipart_root()
    if clip:
        for p in sorted(clip.glob("**/*.svg")):
            try:
                if p.stat().st_size < 60_000:
                    found.append(("openclipart", p))
            except OSError:
                continue
    return tuple(found)


@functools.lru_cache(maxsize=3)
def clipart_pool(art: str) -> tuple[tuple[str, Path], ...]:
    """The (collection, path) a shot drawing from ``art`` may use."""
    return tuple(
        (collection, path)
        for collection, path in clipart_files()
        if in_pool(art_name(collection, path.name), art)
    )


@dataclass(frozen=True)
class ArtPart:
    name: str
    rings: list[np.ndarray]  # float polygons in [0, 1] units of the longer side
    color: tuple[int, int, int, int]
    center: np.ndarray
    area: float  # share of the canvas


@dataclass(frozen=True)
class Art:
    parts: list[ArtPart]
    aspect: float  # width / height
    attribution: str
    licence: str


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _render(svg: bytes, width: int) -> np.ndarray:
    import resvg_py

    png = resvg_py.svg_to_bytes(
        svg_string=svg.decode("utf-8"),
        width=width,
        shape_rendering="crisp_edges",
        skip_system_fonts=True,
    )
    with Image.open(io.BytesIO(bytes(png))) as im:
        return np.asarray(im.convert("RGBA"))


def _shapes(root: ET.Element, collection: str) -> list[ET.Element]:
    """Leaf shapes that may be parts, in document (painter's) order."""
    out: list[ET.Element] = []

    def walk(node: ET.Element, in_line: bool) -> None:
        for child in node:
            tag = _tag(child)
            if tag in SKIP_PARENTS or tag in ("text", "image", "use"):
                continue
            line_layer = in_line or child.get("id") == "line"
            if tag in SHAPE_TAGS:
                fill = (child.get("fill") or "").lower()
                if (
                    "fill:none" in (child.get("style") or "").replace(" ", "")
                    or fill == "none"
                ):
                    continue
                # OpenMoji outlines; keep only filled dark blobs (pupils).
                if (
                    collection == "openmoji"
                    and line_layer
                    and fill in ("", "#000000", "#000")
                    and child.get("stroke") not in (None, "none")
                ):
                    continue
                out.append(child)
            else:
                walk(child, line_layer)

    walk(root, False)
    return out


@functools.lru_cache(maxsize=8)
def load_art(collection: str, path: str) -> Art | None:
    """Parts of one SVG, or None when it cannot be used."""
    try:
        text = Path(path).read_bytes()
        if collection == "openclipart" and re.search(
            rb"Gradient|<image|<text|filter=", text
        ):
            return None
        root = ET.fromstring(text)
    except (OSError, ET.ParseError) as exc:
        log.info("skipping %s: %s", path, exc)
        return None
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    leaves = _shapes(root, collection)
    if not 3 <= len(leaves) <= MAX_PARTS:
        return None
    try:
        full = _render(ET.tostring(root), MASK_PX)
    except (ValueError, OSError) as exc:
        log.info("skipping %s: %s", path, exc)
        return None
    h, w = full.shape[:2]
    saved = [(e.get("style"), e.get("visibility")) for e in leaves]
    for e in leaves:
        e.set("visibility", "hidden")
    masks = []
    for e, (style, _) in zip(leaves, saved, strict=True):
        e.set("visibility", "visible")
        e.set(
            "style",
            "fill:#000000;fill-opacity:1;opacity:1;stroke:none;visibility:visible",
        )
        try:
            masks.append(_render(ET.tostring(root), MASK_PX)[..., 3] > 127)
        except (ValueError, OSError):
            masks.append(np.zeros((h, w), bool))
        e.set("visibility", "hidden")
        if style is None:
            del e.attrib["style"]
        else:
            e.set("style", style)
    top = np.full((h, w), -1, np.int32)
    for i, m in enumerate(masks):
        top[m] = i
    packed = (
        full[..., 0].astype(np.int64) << 16
        | full[..., 1].astype(np.int64) << 8
        | full[..., 2]
    )
    parts: list[ArtPart] = []
    side = float(max(w, h))
    for i, (e, m) in enumerate(zip(leaves, masks, strict=True)):
        shown = (top == i) & (full[..., 3] > 127)
        if shown.sum() < 30:
            continue
        values, counts = np.unique(packed[shown], return_counts=True)
        c = int(values[np.argmax(counts)])
        color = ((c >> 16) & 255, (c >> 8) & 255, c & 255, 255)
        if sum(color[:3]) < 200 and _is_thin(m):
            continue  # a drawn outline (dark and thin): lines are redrawn
        contours, _ = cv2.findContours(
            m.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE
        )
        rings = [
            cv2.approxPolyDP(cnt, 0.6, True)[:, 0, :].astype(np.float64) / side
            for cnt in contours
            if len(cnt) >= 3
        ]
        rings = [r for r in rings if len(r) >= 3]
        if not rings:
            continue
        ys, xs = np.nonzero(m)
        parts.append(
            ArtPart(
                name=e.get("id") or f"{_tag(e)} {i + 1}",
                rings=rings,
                color=color,
                center=np.array([xs.mean(), ys.mean()]) / side,
                area=float(m.mean()),
            )
        )
    if len(parts) < 3:
        return None
    return Art(parts, w / h, *_credits(collection, Path(path), root))


def _is_thin(mask: np.ndarray) -> bool:
    """A shape no wider than a few pixels at MASK_PX: an outline, not a blob."""
    depth = cv2.distanceTransform(mask.view(np.uint8), cv2.DIST_L2, 3)
    inside = depth[mask]
    return bool(len(inside) == 0 or np.percentile(inside, 95) < 0.016 * MASK_PX)


@functools.lru_cache(maxsize=1)
def _openmoji_table() -> dict[str, dict[str, str]]:
    root = openmoji_root()
    if root is None:
        return {}
    try:
        rows = json.loads((root / "data" / "openmoji.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(r.get("hexcode")): r for r in rows}


def _credits(collection: str, path: Path, root: ET.Element) -> tuple[str, str]:
    if collection == "openmoji":
        row = _openmoji_table().get(path.stem, {})
        return (
            f'OpenMoji {path.stem} "{row.get("annotation", "?")}" by '
            f"{row.get('openmoji_author', 'the OpenMoji contributors')} "
            f"(openmoji {row.get('openmoji_date', '')}), file color/svg/{path.name} "
            "of the npm package openmoji.",
            OPENMOJI_LICENCE,
        )
    title = creator = ""
    for el in root.iter():
        tag = _tag(el)
        if tag == "title" and not title and el.text:
            title = el.text.strip()
        if tag == "creator":
            creator = " ".join(t.strip() for t in el.itertext() if t.strip())
    return (
        f'Openclipart "{title or path.stem}" by {creator or "unknown artist"}, '
        f"file {path} (Debian package openclipart-svg).",
        OPENCLIPART_LICENCE,
    )


def generate_clipart(
    seed: int,
    index: int,
    size: tuple[int, int],
    frames: int,
    style: LineStyle | None = None,
    attempts: int = 8,
    art: str = "all",
) -> GeneratedShot | None:
    """Shot ``index`` of the clip-art source, or None when no art is available.
    ``art``: the share of the files it may draw (training.data.art)."""
    try:
        import resvg_py  # noqa: F401
    except ImportError:
        log.warning("clipart source needs resvg-py (pip install resvg-py)")
        return None
    files = clipart_pool(art)
    if not files:
        log.warning("no OpenMoji or Openclipart SVGs found (art %s)", art)
        return None
    rng = np.random.default_rng([seed, index, 3])
    moji = [f for f in files if f[0] == "openmoji"]
    clip = [f for f in files if f[0] == "openclipart"]
    for _ in range(attempts):
        pool = moji if (moji and (not clip or rng.random() < 0.6)) else clip
        collection, path = pool[int(rng.integers(len(pool)))]
        art = load_art(collection, str(path))
        if art is not None:
            return _animate(
                art, collection, path, rng, seed, index, size, frames, style
            )
    return None


def _animate(
    art: Art,
    collection: str,
    path: Path,
    rng: np.random.Generator,
    seed: int,
    index: int,
    size: tuple[int, int],
    frames: int,
    style: LineStyle | None,
) -> GeneratedShot:
    w, h = size
    step = int(rng.choice([1, 2, 2, 3]))
    drawings = (frames + step - 1) // step
    sky = (255, 255, 255, 255) if rng.random() < 0.5 else _pale(rng)
    scene = Scene(size=size, background=sky)
    side = min(w, h) * rng.uniform(0.6, 0.95)  # px per art unit
    art_w, art_h = min(1.0, art.aspect), min(1.0, 1.0 / art.aspect)
    origin = np.array([w - side * art_w, h - side * art_h]) / 2
    freq = rng.uniform(0.5, 1.5)
    sway, squash = rng.uniform(0.0, 0.15), rng.uniform(0.0, 0.12)
    drift = rng.normal(0, 0.08, 2) * side

    def root_motion(t: float) -> np.ndarray:
        phase = 2 * np.pi * freq * t
        s = 1.0 + squash * np.sin(2 * phase)
        base = origin + np.array([art_w / 2, art_h]) * side  # squash about the feet
        return (
            shapes.translate(*(base + drift * t))
            @ shapes.rotate(sway * np.sin(phase))
            @ shapes.scale(side * s, side / s)
            @ shapes.translate(-art_w / 2, -art_h)
        )

    root = scene.add_bone(-1, root_motion)
    hidden = (
        set(
            rng.choice(
                len(art.parts), size=min(2, len(art.parts) // 4), replace=False
            ).tolist()
        )
        if rng.random() < 0.5
        else set()
    )
    gone_from = int(rng.integers(0, max(drawings, 1)))
    gone_to = gone_from + int(rng.integers(1, max(drawings // 2, 2)))
    amp = rng.uniform(0.02, 0.2)
    for i, part in enumerate(art.parts):
        cx, cy = part.center
        # Small parts move more, as eyes, hands and sparkles do.
        local = amp * (1.0 - min(part.area * 4, 0.9))
        bone = scene.add_bone(
            root,
            swing(
                cx, cy, 0.0, local, freq * rng.uniform(0.5, 2.0), rng.uniform(0, 6.3)
            ),
        )
        offset = shapes.translate(-cx, -cy)
        rings = [shapes.apply(offset, r) for r in part.rings]
        visible = (
            (lambda d, a=gone_from, b=gone_to: not a <= d < b) if i in hidden else None
        )
        scene.add_part(
            Part(
                name=part.name,
                bone=bone,
                polygons=rings,
                color=part.color,
                visible=visible,
                evenodd=True,
            )
        )
    bend = rng.uniform(0.0, 0.03) * side

    def warp(pts: np.ndarray, t: float) -> np.ndarray:
        k = 2 * np.pi / side
        return pts + np.stack(
            [bend * np.sin(pts[:, 1] * k + 2 * np.pi * freq * t), np.zeros(len(pts))],
            axis=1,
        )

    scene.warp = warp
    if rng.random() < 0.35:
        add_prop(scene, rng, "prop", size, h * rng.uniform(0.7, 1.0), frames / FPS)
    if style is None:
        style = sample_style(rng, size)
    zoom0 = rng.uniform(0.9, 1.2)
    zoom1 = zoom0 * (rng.uniform(0.8, 1.3) if rng.random() < 0.5 else 1.0)
    pan = rng.normal(0, 0.06, 2) * (w, h) if rng.random() < 0.5 else np.zeros(2)
    center = np.array([w / 2, h / 2])
    parent, trace, lut = scene.lookup_tables()
    draw_seed = int(rng.integers(2**31))
    line, color, labels, gaps = [], [], [], []
    for f in range(frames):
        drawing = f // step
        u = f / max(frames - 1, 1)
        zoom = zoom0 + (zoom1 - zoom0) * u
        camera = (
            shapes.translate(*center)
            @ shapes.scale(zoom)
            @ shapes.translate(*(-center - pan * u))
        )
        draw_rng = np.random.default_rng([draw_seed, drawing])
        partition = scene.rasterise(
            drawing * step / FPS, drawing, camera, style.jitter, draw_rng
        )
        lines, n_gaps = render_drawing(partition, parent, trace, style, draw_rng)
        finished = finish_line_art(lines, style, draw_rng)
        lab = final_labels(partition, engine_line_mask(finished, lines.ink))
        line.append(finished)
        color.append(color_frame(lab, lut))
        labels.append(lab)
        gaps.append(n_gaps)
    names = {1: "Background"} | {p.pid: p.name for p in scene.parts}
    colors = {1: sky} | {p.pid: p.color for p in scene.parts}
    return GeneratedShot(
        name=f"clipart_{seed}_{index:06d}",
        source="clipart",
        line=line,
        color=color,
        labels=labels,
        fps=FPS,
        palette=build_palette(names, colors),
        attribution=art.attribution,
        licence=art.licence,
        meta={
            "collection": collection,
            "file": path.name,
            "step": step,
            "line_style": style.to_json(),
            "gaps_per_frame": gaps,
            "has_gaps": any(gaps),
        },
    )


def _pale(rng: np.random.Generator) -> tuple[int, int, int, int]:
    rgb = (255 - rng.integers(0, 70, 3)).tolist()
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]), 255)
