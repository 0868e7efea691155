"""Output folders: written while the work goes on, swapped in all at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import make_shot

from engine.facade import ShotEngine
from engine.fills import FillMap
from engine.outputs import STAGING_PREFIX, StagedOutput
from engine.palette import Palette
from engine.shot import open_shot


def staged_frames(tmp_path: Path) -> tuple[ShotEngine, Palette]:
    shot = open_shot(make_shot(tmp_path / "shot", frames=3))
    engine = ShotEngine(shot=shot, gap=4, matcher="assignment")
    return engine, shot.meta.palette or Palette()


def test_frames_added_in_any_order_are_reported_in_frame_order(
    tmp_path: Path,
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = tmp_path / "out"
    with StagedOutput(engine.shot, out) as staged:
        for number in (3, 1, 2):
            frame = engine.frame(number)
            fills = FillMap.empty(frame.regions.count)
            staged.add(number, frame, fills, palette, keys_used=[])
        # Nothing shows in the output folder before publishing.
        assert [p.name for p in out.iterdir()] == [staged.staging.name]
        staged.publish({"matcher": "assignment"})
    report = json.loads((out / "report.json").read_text())
    assert [f["frame"] for f in report["frames"]] == [1, 2, 3]
    assert report["matcher"] == "assignment"
    names = sorted(p.name for p in (out / "color").iterdir())
    assert names == [f"sc01_{i:04d}.png" for i in (1, 2, 3)]
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_a_failed_run_leaves_the_previous_outputs_as_they_were(
    tmp_path: Path,
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = tmp_path / "out"
    (out / "color").mkdir(parents=True)
    (out / "color" / "sc01_0001.png").write_bytes(b"earlier run")
    with pytest.raises(RuntimeError), StagedOutput(engine.shot, out) as staged:
        frame = engine.frame(1)
        staged.add(1, frame, FillMap.empty(frame.regions.count), palette)
        raise RuntimeError("the run failed")
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"
    assert sorted(p.name for p in out.iterdir()) == ["color"]


def test_a_cancelled_run_removes_the_folder_it_made(tmp_path: Path) -> None:
    engine, palette = staged_frames(tmp_path)
    out = tmp_path / "new" / "out"
    with StagedOutput(engine.shot, out) as staged:
        frame = engine.frame(1)
        staged.add(1, frame, FillMap.empty(frame.regions.count), palette)
    assert not out.exists()
