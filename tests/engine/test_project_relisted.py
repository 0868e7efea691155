"""Frames drawn into and deleted from a shot's line folder while its project
is open (`Project.relist`): a deleted frame leaves the shot, its paint kept
out of sight through saves and gap changes; back on disk, it is painted
again, carried to its regions if it was redrawn."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_project_redrawn import draw_two_boxes, paint_two_boxes, styles_at

from engine.errors import ShotError
from engine.facade import ShotEngine
from engine.project import load_project, save_project
from engine.regions import Regions
from engine.shot import open_shot, rescan


def regions_on_disk(engine: ShotEngine) -> Callable[[int], Regions]:
    """The engine's regions of a frame, as saving asks for them; a frame
    not in its shot fails the test (nothing may ask)."""

    def regions_of(frame: int) -> Regions:
        if frame not in engine.shot.line:
            raise AssertionError(f"frame {frame} is not in the shot: not to be read")
        return engine.frame(frame).regions

    return regions_of


def test_a_painted_frame_deleted_on_disk_keeps_its_paint_through_a_save(
    tmp_path: Path,
) -> None:
    """Frame 1, painted, is deleted on disk: it leaves the shot's frames and
    the painted frames, propagation and saving do not read it, and the
    save keeps its paint. Its drawing back, redrawn (the boxes swap
    region numbers), in the project opened from that save, each box has its
    own colour again."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    project.keys.add(1)
    kept = tmp_path / "kept.png"
    shutil.move(drawing, kept)
    added, removed = project.relist(rescan(project.shot))
    engine.set_shot(project.shot)
    assert (added, removed) == ([], [1])
    assert project.shot.frames == [2] and project.painted_frames == []
    keys, painted = project.snapshot().propagation_inputs(regions_on_disk(engine))
    assert keys == {} and not painted.read and not painted.later

    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=regions_on_disk(engine))
    loaded = load_project(path)
    assert loaded.shot.frames == [2] and loaded.painted_frames == []
    assert 1 in loaded.keys

    shutil.move(kept, drawing)
    draw_two_boxes(drawing, right_box_top=20)
    added, removed = loaded.relist(rescan(loaded.shot))
    assert (added, removed) == ([1], [])
    assert loaded.painted_frames == [1] and loaded.status(1).key
    redrawn = ShotEngine(shot=loaded.shot, gap=loaded.gap).frame(1).regions
    assert styles_at(loaded.adopt(1, redrawn), redrawn) == [3, 5, 1]


def test_a_gap_change_keeps_the_paint_of_a_frame_deleted_on_disk(
    tmp_path: Path,
) -> None:
    """A gap change carries the fills of the frames it can read; a frame
    deleted on disk keeps its own, on its old regions, and comes back
    painted at the new gap. Undone, the project is as it was."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    kept = tmp_path / "kept.png"
    shutil.move(drawing, kept)
    project.relist(rescan(project.shot))
    edit = project.gap_edit(project.gap + 4, {})
    project.commit(edit)
    shutil.move(kept, drawing)
    project.relist(rescan(project.shot))
    regions = ShotEngine(shot=project.shot, gap=project.gap).frame(1).regions
    assert styles_at(project.adopt(1, regions), regions) == [3, 5, 1]
    project.undo()
    assert project.gap == engine.gap
    regions = engine.frame(1).regions
    assert styles_at(project.fills_for(1, regions), regions) == [3, 5, 1]


def test_a_project_takes_only_a_rescan_of_its_own_shot(tmp_path: Path) -> None:
    project, engine, _ = paint_two_boxes(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "shot", other)

    with pytest.raises(ValueError, match="not this project's"):
        project.relist(open_shot(other))
    with pytest.raises(ValueError, match="not this engine's"):
        engine.set_shot(open_shot(other))
    assert rescan(project.shot) is project.shot
    # Nothing on disk any more: the rescan refuses, the project keeps it all.
    shutil.rmtree(tmp_path / "shot" / "line")
    with pytest.raises(ShotError):
        rescan(project.shot)
    assert project.shot.frames == [1, 2] and project.painted_frames == [1]


def test_a_gap_change_keeps_a_deleted_frame_saved_by_an_older_cadmium(
    tmp_path: Path,
) -> None:
    """A project saved before fills named their segmentation (no layout),
    its frame 1 deleted on disk while it was closed: a gap change keeps
    the frame's fills and style image; back, the frame is painted."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=regions_on_disk(engine))
    document = json.loads(path.read_text())
    for entry in document["frames"].values():
        entry.pop("layout", None)
    path.write_text(json.dumps(document))
    kept = tmp_path / "kept.png"
    shutil.move(drawing, kept)
    loaded = load_project(path)
    assert loaded.fills(1) is not None and 1 not in loaded.shot.line
    loaded.commit(loaded.gap_edit(loaded.gap + 4, {}))
    shutil.move(kept, drawing)
    loaded.relist(rescan(loaded.shot))
    regions = ShotEngine(shot=loaded.shot, gap=loaded.gap).frame(1).regions
    assert styles_at(loaded.adopt(1, regions), regions) == [3, 5, 1]


def test_a_project_opens_while_a_deleted_key_s_colour_frame_remains(
    tmp_path: Path,
) -> None:
    """A key read from color/ whose drawing is deleted from line/: the
    project saved then opens (the shot alone would be refused: its colour
    frames are its keys), its paint kept for the drawing's return."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    color = tmp_path / "shot" / "color"
    color.mkdir()
    shutil.copy(drawing, color / "0001.png")
    drawing.unlink()
    project.relist(rescan(project.shot))
    engine.set_shot(project.shot)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=regions_on_disk(engine))
    with pytest.raises(ShotError, match="has no line frame"):
        open_shot(tmp_path / "shot")
    loaded = load_project(path)
    assert loaded.shot.frames == [2] and loaded.fills(1) is not None
