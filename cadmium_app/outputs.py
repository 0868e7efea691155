"""Output folders: colour, line and composite layers of every frame, with
the line frames' names (see shared/docs/shot-format.md), and a report.

Qt-free; the application calls it from a worker thread.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import CadmiumError
from engine.fills import FillMap
from engine.imageio import atomic_write_bytes
from engine.matching import Frame
from engine.outputs import (
    LAYERS,
    check_out_folder,
    frame_report,
    new_staging,
    publish,
    write_frame_layers,
)
from engine.project import Snapshot

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


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
    out_dir = check_out_folder(shot, out)
    staging = new_staging(out_dir)
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
            write_frame_layers(staging, name, frame, chosen, snap.palette, layers)
            entry = frame_report(
                number=number,
                name=name,
                regions=regions,
                fills=chosen,
                palette=snap.palette,
                key=number in snap.keys,
            )
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
        publish(staging, out_dir, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
