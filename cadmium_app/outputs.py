"""Output folders: colour, line and composite layers of every frame, with
the line frames' names (see shared/docs/shot-format.md), and a report.

Qt-free; the application calls it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.errors import CadmiumError
from engine.fills import FillMap
from engine.matching import Frame
from engine.outputs import LAYERS, StagedOutput
from engine.project import Snapshot

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def add_remaining_frames(
    staged: StagedOutput,
    snap: Snapshot,
    *,
    frame_of: Callable[[int], Frame],
    progress: Progress | None = None,
    cancelled: Cancelled = lambda: False,
    **report: Any,
) -> None:
    """Add every frame of the shot that ``staged`` does not have yet, painted
    as the snapshot has it; each report entry also gets ``report``."""
    todo = [n for n in snap.shot.frames if n not in staged.frames]
    for done, number in enumerate(todo, start=1):
        if cancelled():
            raise CadmiumError("cancelled; nothing was written")
        frame = frame_of(number)
        regions = frame.regions
        fills = snap.fills_for(number, regions)
        if fills is None:
            fills = FillMap.empty(regions.count)
        staged.add(
            number,
            frame,
            fills,
            snap.palette,
            key=number in snap.keys,
            timings_ms=dict(frame.timings),
            **report,
        )
        if progress is not None:
            progress(done, len(todo))


def write_outputs(
    snap: Snapshot,
    out: str | Path,
    *,
    frame_of: Callable[[int], Frame],
    layers: Iterable[str] = LAYERS,
    progress: Progress | None = None,
    cancelled: Cancelled = lambda: False,
) -> tuple[Path, dict[int, dict[str, Any]]]:
    """Write OUT/<layer>/<frame name> for every frame of the shot as the
    snapshot paints it, with the line frames' names. Everything is staged
    inside OUT and moved into place only when complete. Returns the folder
    and each frame's report entry (`engine.outputs.frame_report`)."""
    with StagedOutput(snap.shot, out, layers=layers) as staged:
        add_remaining_frames(
            staged, snap, frame_of=frame_of, progress=progress, cancelled=cancelled
        )
        return staged.publish(), staged.frames
