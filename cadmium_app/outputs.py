"""Output folders: colour, line and composite layers of every frame, with
the line frames' names (see shared/docs/shot-format.md), and a report.

Qt-free; the application calls it from a worker thread.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CadmiumError
from engine.fills import FillMap, color_layer, composite
from engine.imageio import atomic_write_bytes, to_rgba8, write_png
from engine.lineart import ink_channels, to_8bit
from engine.matching import Frame
from engine.project import Snapshot
from engine.regions import Regions

LAYERS = ("color", "line", "composite")
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def line_rgba(image: np.ndarray) -> np.ndarray:
    """The line art as a straight-alpha RGBA8 layer: each line pixel's own
    colour at its ink as alpha, so that laid over a fill it gives what
    `engine.fills.composite` gives (no halo), and over nothing the line alone.
    Line art on a transparent background keeps its own alpha."""
    rgba = to_rgba8(to_8bit(image))
    if rgba[:, :, 3].min() < 255:
        return rgba
    ink = ink_channels(image)[0]
    # rgb = c * k + (1 - k)  =>  c = (rgb - (1 - k)) / k, in 0..255 integers.
    k = np.maximum(ink.astype(np.int32), 1)[:, :, None]
    own = (rgba[:, :, :3].astype(np.int32) - (255 - k)) * 255 // k
    out = np.empty_like(rgba)
    out[:, :, :3] = np.clip(own, 0, 255).astype(np.uint8)
    out[:, :, 3] = ink
    return out


def write_outputs(
    snap: Snapshot,
    out: str | Path,
    *,
    frame_of: Callable[[int], Frame],
    layers: Iterable[str] = LAYERS,
    fills: Mapping[int, FillMap] | None = None,
    report: Mapping[str, Any] | None = None,
    keys_used: Mapping[int, tuple[int, ...]] | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled = lambda: False,
) -> Path:
    """Write OUT/<layer>/<frame name> for every frame of the shot, with the
    line frames' names, and OUT/report.json when ``report`` is given.

    ``fills`` overrides the snapshot's fills for some frames. Everything is
    staged inside OUT and moved into place only when complete.
    """
    layers = tuple(layers)
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layer {sorted(unknown)[0]!r}")
    shot = snap.shot
    out_dir = Path(out).resolve()
    root = shot.root.resolve()
    if out_dir == root or root in out_dir.parents:
        raise CadmiumError(f"{out}: the output folder must be outside the shot folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise CadmiumError(f"{out}: exists and is not a folder")
    staging = out_dir / f".cadmium-staging-{int(time.time() * 1000)}"
    frames_report: list[dict[str, Any]] = []
    try:
        for layer in layers:
            (staging / layer).mkdir(parents=True)
        for done, number in enumerate(shot.frames, start=1):
            if cancelled():
                raise CadmiumError("cancelled; nothing was written")
            frame = frame_of(number)
            regions = frame.regions
            chosen = (fills or {}).get(number)
            if chosen is None or len(chosen) != regions.count:
                chosen = snap.fills_for(number, regions)
            if chosen is None:
                chosen = FillMap.empty(regions.count)
            name = shot.output_name(number)
            color = color_layer(regions, chosen, snap.palette)
            if "color" in layers:
                write_png(staging / "color" / name, color)
            if "line" in layers:
                write_png(staging / "line" / name, line_rgba(frame.image))
            if "composite" in layers:
                image = composite(
                    frame.image,
                    frame.lineart,
                    regions,
                    chosen,
                    snap.palette,
                    color=color,
                )
                write_png(staging / "composite" / name, image)
            entry = _frame_report(number, name, regions, chosen, snap)
            if keys_used is not None:
                entry["keys_used"] = list(keys_used.get(number, ()))
            frames_report.append(entry)
            if progress is not None:
                progress(done, len(shot.frames))
        names = list(layers)
        if report is not None:
            document = {**report, "frames": frames_report}
            atomic_write_bytes(
                staging / "report.json",
                (json.dumps(document, indent=1) + "\n").encode(),
            )
            names.append("report.json")
        _publish(staging, out_dir, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _frame_report(
    number: int, name: str, regions: Regions, fills: FillMap, snap: Snapshot
) -> dict[str, Any]:
    flagged = [
        {
            "region": int(i),
            "centroid": [round(float(v), 1) for v in regions.table.centroid[i]],
            "area": int(regions.table.area[i]),
            "confidence": round(float(fills.confidence[i]), 3),
            "style": snap.palette[int(fills.style[i])].name
            if fills.style[i] >= 0
            else None,
        }
        for i in np.flatnonzero(fills.flagged)
    ]
    return {
        "frame": number,
        "file": name,
        "key": number in snap.keys,
        "regions": regions.count,
        "unpainted": int((~fills.painted).sum()),
        "flagged": flagged,
    }


def _publish(staging: Path, out_dir: Path, names: Iterable[str]) -> None:
    """Swap staged outputs into ``out_dir``, replacing a previous run's."""
    for name in names:
        target, old = out_dir / name, out_dir / f".{name}.old"
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        if target.exists():
            target.rename(old)
        (staging / name).rename(target)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
