"""Shots from the designers' Lottie animations in ``shared/data/lottie``.

Each shot renders one animation (a window of its frames on ones, twos or
threes, with a slow camera zoom and pan) three times: colours, stroked line
art and unique ids (see :mod:`training.data.lottie_doc`). Regions are the
4-connected areas off the stroked lines; their colour is the majority of
the colour render and their identity the majority of the id render. Frames
that fail the README's checks are dropped (their numbers become holes, as
held drawings are in a shot folder).

Line realism: the stroked lines are kept as rendered (with binary, colour,
transparency, gaps and scan noise from the shot's style), or the lines are
redrawn over the region partition with pressure and boil.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rlottie_python import LottieAnimation

from training.data.lottie_doc import decode_ids, make_copies
from training.data.raster import (
    LineRender,
    color_frame,
    engine_line_mask,
    final_labels,
    nearest_fill,
)
from training.data.art import art_name, in_pool
from training.data.realism import (
    LineStyle,
    cut_gaps,
    finish_line_art,
    render_drawing,
    sample_style,
)
from training.data.shot import GeneratedShot, build_palette

log = logging.getLogger(__name__)

LOTTIE_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "lottie"
FPS = 24.0
PURITY = 0.99  # share of a region's pixels that must carry its colour
EDGE_MISS = 0.01  # share of strong colour edges allowed off the lines
MAX_LINE_SHARE = 0.25  # more ink than this is a stroke gone wrong, not line art


def lottie_root() -> Path:
    """The Lottie collection: $CADMIUM_LOTTIE, else shared/data/lottie beside
    the checkout, else the workplace's copy (for clones made elsewhere)."""
    candidates = (
        os.environ.get("CADMIUM_LOTTIE"),
        LOTTIE_ROOT,
        "/work/shared/data/lottie",
    )
    for candidate in candidates:
        if candidate and (Path(candidate) / "files").is_dir():
            return Path(candidate)
    return LOTTIE_ROOT


@functools.lru_cache(maxsize=1)
def lottie_files(root: str | None = None) -> tuple[Path, ...]:
    base = Path(root) if root else lottie_root()
    return tuple(sorted((base / "files").glob("**/*.json")))


@functools.lru_cache(maxsize=3)
def lottie_pool(art: str) -> tuple[Path, ...]:
    """The Lottie files a shot drawing from ``art`` may use."""
    return tuple(p for p in lottie_files() if in_pool(art_name("lottie", p.name), art))


@functools.lru_cache(maxsize=1)
def _sources_table(root: str) -> tuple[str, dict[str, str]]:
    path = Path(root) / "SOURCES.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "", {}
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `") and "`" in line[3:]:
            rows[line[3 : line.index("`", 3)]] = line
    return text, rows


@dataclass
class _Renderers:
    color: LottieAnimation
    line: LottieAnimation
    ids: LottieAnimation
    names: dict[int, str]
    frames: int
    fps: float
    size: tuple[int, int]  # native (w, h)


@functools.lru_cache(maxsize=4)
def _load(path: str, line_px: float, render_w: int) -> _Renderers:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    w, h = float(doc["w"]), float(doc["h"])
    color, line, ids, names = make_copies(doc, line_px, render_w / w)
    anims = [LottieAnimation.from_data(json.dumps(d)) for d in (color, line, ids)]
    return _Renderers(
        anims[0],
        anims[1],
        anims[2],
        names,
        int(anims[0].lottie_animation_get_totalframe()),
        float(doc.get("fr", 30.0)),
        (int(w), int(h)),
    )


def _render(anim: LottieAnimation, frame: int, size: tuple[int, int]) -> np.ndarray:
    image = anim.render_pillow_frame(frame_num=frame, width=size[0], height=size[1])
    return np.asarray(image)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA over white, as int32 RGB."""
    return np.clip(rgba[..., :3].astype(np.int32) + 255 - rgba[..., 3:4], 0, 255)


@dataclass(frozen=True)
class _Frame:
    ink: np.ndarray  # float32, stroked render's darkness
    identity: np.ndarray  # uint16 per pixel (0 on lines), 1 = background
    color: dict[int, tuple[int, int, int, int]]  # identity -> colour
    ok: bool
    why: str


def analyse(stroked: np.ndarray, colored: np.ndarray, ids: np.ndarray) -> _Frame:
    """Regions, identities and colours of one frame, and the README's checks."""
    lum = _over_white(stroked) @ np.array([0.299, 0.587, 0.114])
    line = lum < 128
    n, cc = cv2.connectedComponents((~line).view(np.uint8), connectivity=4)
    # Thin shapes leave seams broken by anti-aliasing: regions with no pixel
    # near white are lines.
    top = np.zeros(n)
    np.maximum.at(top, cc.ravel(), lum.ravel())
    seam = top < 200
    seam[0] = True
    line = line | seam[cc]
    cc[line] = 0

    rgb = _over_white(colored)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    uniform = cv2.dilate(packed.astype(np.float32), None) == cv2.erode(
        packed.astype(np.float32), None
    )
    region_color = _majority(cc, packed, uniform & (cc > 0), n)
    region_color_all = _majority(cc, packed, cc > 0, n)
    region_color = np.where(region_color < 0, region_color_all, region_color)

    # Purity, away from the antialiased fringe next to lines.
    inner = (cv2.erode((~line).view(np.uint8), None) > 0) & (cc > 0)
    ref = region_color[cc]
    diff = np.abs(_unpack(packed) - _unpack(np.maximum(ref, 0))).max(axis=-1)
    good = np.bincount(cc[inner], weights=(diff[inner] <= 24), minlength=n)
    total = np.bincount(cc[inner], minlength=n)
    bad_regions = (total >= 12) & (good < PURITY * total)
    ok, why = True, ""
    covered = float(line.mean())
    if covered > MAX_LINE_SHARE:
        ok, why = False, f"lines cover {100 * covered:.0f}% of the frame"
    elif bad_regions.any():
        ok, why = False, f"{int(bad_regions.sum())} regions of mixed colour"

    edges = np.zeros(line.shape, bool)
    d = np.abs(np.diff(rgb, axis=1)).max(axis=-1) > 64
    edges[:, :-1] |= d
    d = np.abs(np.diff(rgb, axis=0)).max(axis=-1) > 64
    edges[:-1, :] |= d
    near = cv2.dilate(line.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    missed = int((edges & ~near).sum())
    if ok and missed > max(20, EDGE_MISS * edges.sum()):
        ok, why = False, f"{missed} colour-edge px off the lines"

    pid, trusted = decode_ids(ids)
    region_id = _majority(cc, pid, trusted & (cc > 0), n)
    region_id = np.where(region_id < 0, 0, region_id) + 1  # background -> 1
    region_id[0] = 0
    identity = region_id[cc].astype(np.uint16)
    colors: dict[int, tuple[int, int, int, int]] = {}
    for r in np.unique(cc[cc > 0]):
        c = int(region_color[r])
        colors.setdefault(
            int(region_id[r]), ((c >> 16) & 255, (c >> 8) & 255, c & 255, 255)
        )
    ink = np.clip(1.0 - lum / 255.0, 0.0, 1.0).astype(np.float32)
    return _Frame(ink, identity, colors, ok, why)


def _unpack(packed: np.ndarray) -> np.ndarray:
    return np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], -1)


def _majority(
    cc: np.ndarray, values: np.ndarray, mask: np.ndarray, n: int
) -> np.ndarray:
    """Most frequent value per component over masked pixels (-1 where none)."""
    out = np.full(n, -1, np.int64)
    if not mask.any():
        return out
    comp = cc[mask].astype(np.int64)
    vals = values[mask].astype(np.int64)
    uniq, inverse = np.unique(vals, return_inverse=True)
    keys, counts = np.unique(comp * len(uniq) + inverse.ravel(), return_counts=True)
    comps, which = keys // len(uniq), keys % len(uniq)
    order = np.lexsort((-counts, comps))
    first = np.r_[True, comps[order][1:] != comps[order][:-1]]
    out[comps[order][first]] = uniq[which[order][first]]
    return out


def _boil(partition: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Wobble a partition by a smooth displacement field (ids stay exact)."""
    if amount <= 0:
        return partition
    h, w = partition.shape
    fields = []
    for _ in range(2):
        coarse = rng.normal(0, amount, (h // 32 + 2, w // 32 + 2)).astype(np.float32)
        fields.append(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(
        partition,
        xx + fields[0],
        yy + fields[1],
        cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_REPLICATE,
    )


def generate_lottie(
    seed: int,
    index: int,
    size: tuple[int, int],
    frames: int,
    style: LineStyle | None = None,
    attempts: int = 6,
    art: str = "all",
) -> GeneratedShot | None:
    """Shot ``index`` of the Lottie source, or None when no file works.
    ``art``: the share of the files it may draw (training.data.art)."""
    rng = np.random.default_rng([seed, index, 2])
    files = lottie_pool(art)
    if not files:
        log.warning("no Lottie files (art %s) under %s", art, lottie_root())
        return None
    if style is None:
        style = sample_style(rng, size)
    for _ in range(attempts):
        path = files[int(rng.integers(len(files)))]
        shot = _try_file(path, rng, seed, index, size, frames, style)
        if shot is not None:
            return shot
    return None


def _try_file(
    path: Path,
    rng: np.random.Generator,
    seed: int,
    index: int,
    size: tuple[int, int],
    frames: int,
    style: LineStyle,
) -> GeneratedShot | None:
    w, h = size
    zoom = float(rng.choice([1.0, rng.uniform(1.05, 1.4)]))
    redraw = bool(rng.random() < 0.6)
    line_px = max(style.width, 2.5)
    try:
        doc_size = json.loads(path.read_text(encoding="utf-8"))
        fit = min(w / float(doc_size["w"]), h / float(doc_size["h"]))
        view = (max(int(doc_size["w"] * fit), 8), max(int(doc_size["h"] * fit), 8))
        render = (int(view[0] * zoom), int(view[1] * zoom))
        anims = _load(str(path), line_px, render[0])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        log.info("skipping %s: %s", path.name, exc)
        return None
    step = int(rng.choice([1, 2, 2, 3]))
    rate = anims.fps / FPS
    span = int(np.ceil(frames * rate))
    start = int(rng.integers(0, max(anims.frames - span, 1)))
    pan0 = rng.uniform(0, 1, 2)
    pan1 = pan0 + rng.uniform(-0.5, 0.5, 2) if zoom > 1 else pan0
    pan1 = np.clip(pan1, 0, 1)
    draw_seed = int(rng.integers(2**31))

    line, color, labels, numbers, gaps = [], [], [], [], []
    colors_seen: dict[int, tuple[int, int, int, int]] = {}
    dropped: list[str] = []
    for f in range(frames):
        drawing = f // step
        source = (start + round(drawing * step * rate)) % max(anims.frames, 1)
        u = f / max(frames - 1, 1)
        p = pan0 + (pan1 - pan0) * u
        x0 = round(p[0] * (render[0] - view[0]))
        y0 = round(p[1] * (render[1] - view[1]))
        crops = []
        for anim in (anims.line, anims.color, anims.ids):
            full = _render(anim, source, render)
            crops.append(_place(full[y0 : y0 + view[1], x0 : x0 + view[0]], size))
        frame = analyse(*crops)
        if not frame.ok:
            dropped.append(f"{f + 1}: {frame.why}")
            continue
        draw_rng = np.random.default_rng([draw_seed, drawing])
        if redraw:
            partition = _boil(nearest_fill(frame.identity), style.jitter, draw_rng)
            zeros = np.zeros(int(partition.max()) + 1, np.int64)
            lines, n_gaps = render_drawing(
                partition, zeros, zeros.astype(np.uint8), style, draw_rng
            )
        else:
            ink = frame.ink
            if style.binary:
                ink = (ink >= 0.5).astype(np.float32)
            lines = LineRender(ink, np.zeros(ink.shape, np.uint8))
            n_gaps = int(draw_rng.poisson(style.gap_rate)) if style.gap_rate else 0
            if n_gaps:
                lines = cut_gaps(lines, frame.identity, n_gaps, style, draw_rng)
            partition = nearest_fill(frame.identity)
        finished = finish_line_art(lines, style, draw_rng)
        drawn = lines.ink if redraw else np.maximum(lines.ink, frame.ink)
        lab = final_labels(partition, engine_line_mask(finished, drawn))
        lut = np.zeros((int(lab.max()) + 1, 4), np.uint8)
        lut[1] = (255, 255, 255, 255)
        for pid, c in frame.color.items():
            if pid < len(lut):
                lut[pid] = c
                colors_seen.setdefault(pid, c)
        line.append(finished)
        color.append(color_frame(lab, lut))
        labels.append(lab)
        numbers.append(f + 1)
        gaps.append(n_gaps)
    if len(numbers) < max(2, int(0.75 * frames)):
        log.info(
            "skipping %s: %d of %d frames failed checks",
            path.name,
            frames - len(numbers),
            frames,
        )
        return None
    root = lottie_root()
    rel = path.relative_to(root / "files").as_posix()
    text, rows = _sources_table(str(root))
    attribution = (
        f"Derived from the Lottie animation `{rel}` (shared/data/lottie).\n\n"
        "| File | Repository | Path | Licence | sha256 | Size | Frames | fps "
        "| Identical copies | Known issues |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        + rows.get(rel, f"| `{rel}` | (row not found in SOURCES.md) |")
    )
    names = {1: "Background"} | {
        pid + 1: f"{anims.names.get(pid, 'shape')} {pid}" for pid in anims.names
    }
    return GeneratedShot(
        name=f"lottie_{seed}_{index:06d}",
        source="lottie",
        line=line,
        color=color,
        labels=labels,
        numbers=tuple(numbers),
        fps=FPS,
        palette=build_palette(names, colors_seen),
        attribution=attribution,
        licence="## SOURCES.md\n\n" + text,
        meta={
            "file": rel,
            "step": step,
            "first_source_frame": start,
            "zoom": zoom,
            "redrawn_lines": redraw,
            "line_style": style.to_json(),
            "gaps_per_frame": gaps,
            "has_gaps": any(gaps),
            "dropped_frames": dropped,
        },
    )


def _place(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre a rendered RGBA crop on a transparent canvas of ``size``."""
    w, h = size
    canvas = np.zeros((h, w, 4), np.uint8)
    ch, cw = crop.shape[:2]
    y, x = (h - ch) // 2, (w - cw) // 2
    canvas[y : y + ch, x : x + cw] = crop
    return canvas
