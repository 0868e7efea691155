"""The in-memory generated shot and its writer in the shot-format layout.

A generated shot is a shot plus ground truth: ``line/``, ``color/`` and
``labels/`` frames (see ``shared/docs/shot-format.md``). Label value 0 marks
line pixels; any other value names one object part, the same part in every
frame of the shot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.imageio import atomic_write_bytes, write_png

SOURCES = ("procedural", "lottie", "clipart")


@dataclass(frozen=True)
class PaletteEntry:
    """One named colour of a shot's palette."""

    name: str
    color: tuple[int, int, int, int]
    paint_trace: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "color": "#{:02x}{:02x}{:02x}{:02x}".format(*self.color),
        }
        if self.paint_trace:
            data["paint_trace"] = True
        return data


@dataclass(frozen=True)
class GeneratedShot:
    """A synthetic shot with exact ground truth.

    line:        per frame, uint8 line art: grey [H x W], RGB or RGBA [H x W x C].
    color:       per frame, uint8 RGBA [H x W x 4] flat colours; line pixels
                 carry the nearest region's colour.
    labels:      per frame, uint16 [H x W] part identity, 0 on line pixels.
    numbers:     frame numbers (1-based; holes are dropped frames).
    palette:     the shot's named colours.
    attribution: who made the art this was derived from ("" when procedural).
    meta:        generation settings (line style, gaps, noise, timing, ...).
    """

    name: str
    source: str
    line: list[np.ndarray]
    color: list[np.ndarray]
    labels: list[np.ndarray]
    numbers: tuple[int, ...] = ()
    fps: float = 24.0
    palette: tuple[PaletteEntry, ...] = ()
    attribution: str = ""
    licence: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.numbers:
            object.__setattr__(self, "numbers", tuple(range(1, len(self.line) + 1)))
        if (
            not len(self.line)
            == len(self.color)
            == len(self.labels)
            == len(self.numbers)
        ):
            raise ValueError("line, color, labels and numbers differ in length")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return int(self.labels[0].shape[1]), int(self.labels[0].shape[0])

    def __len__(self) -> int:
        return len(self.line)


def frame_name(number: int) -> str:
    return f"{number:04d}.png"


def write_shot(shot: GeneratedShot, folder: str | Path) -> Path:
    """Write a shot folder: line/, color/, labels/, shot.json and attribution."""
    folder = Path(folder)
    for sub in ("line", "color", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number, line, color, labels in zip(
        shot.numbers, shot.line, shot.color, shot.labels, strict=True
    ):
        name = frame_name(number)
        write_png(folder / "line" / name, line)
        write_png(folder / "color" / name, color)
        write_png(folder / "labels" / name, labels.astype(np.uint16))
    meta = {
        "fps": shot.fps,
        "keys": [shot.numbers[0]],
        "palette": [entry.to_json() for entry in shot.palette],
        "settings": {"source": shot.source, "name": shot.name, **shot.meta},
    }
    text = json.dumps(meta, indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(folder / "shot.json", text.encode("utf-8"))
    if shot.attribution:
        notice = shot.attribution.rstrip() + "\n"
        if shot.licence:
            notice += "\n" + shot.licence.rstrip() + "\n"
        atomic_write_bytes(folder / "ATTRIBUTION.md", notice.encode("utf-8"))
    return folder


def build_palette(
    names: dict[int, str],
    colors: dict[int, tuple[int, int, int, int]],
    trace: dict[int, bool] | None = None,
) -> tuple[PaletteEntry, ...]:
    """One entry per distinct colour, named after the first part using it."""
    seen: dict[tuple[int, int, int, int], PaletteEntry] = {}
    used_names: set[str] = set()
    for pid in sorted(colors):
        color = colors[pid]
        if color in seen:
            continue
        base = names.get(pid, f"Style {len(seen) + 1}")
        name, suffix = base, 2
        while name in used_names:
            name, suffix = f"{base} {suffix}", suffix + 1
        used_names.add(name)
        seen[color] = PaletteEntry(name, color, bool(trace and trace.get(pid)))
    return tuple(seen.values())
