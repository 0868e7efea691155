"""Closing lines drawn by hand: they split regions where drawn, open the
automatic closures they name, never show in any output, and travel with
the project (undo, save, load) while the shot folder stays untouched."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from probes import count_loads

from engine.carry import resegment_fills
from engine.cli import main
from engine.closing_lines import (
    ClosingLines,
    closure_near,
    drawn_stroke,
    opened_closures,
)
from engine.closing_redraw import Placement
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.gaps import Closures
from engine.imageio import read_image
from engine.palette import default_palette
from engine.project import FillMode, Project, load_project, save_project
from engine.regions import Regions, segment_image
from engine.shot import open_shot


def open_box(gap_from: int = 40) -> np.ndarray:
    """A box 140 x 70 px whose middle wall stops at y ``gap_from``, short
    of the floor (at y 80)."""
    image = np.full((100, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (20, 10), (160, 80), (0, 0, 0), 2)
    cv2.line(image, (90, 10), (90, gap_from), (0, 0, 0), 2)
    return image


def stroke_across_gap(image: np.ndarray) -> tuple[tuple[int, int], ...]:
    """A stroke down from below the wall to just above the floor, as drawn
    with a mouse: neither end on a line."""
    lineart, _ = segment_image(image)
    stroke = drawn_stroke([(90.4, 46), (90.6, 60), (90.2, 75)], lineart.line, 6)
    assert stroke is not None
    return stroke


def test_a_stroke_drawn_short_of_the_lines_reaches_them_and_closes_the_gap() -> None:
    image = open_box()
    _, open_regions = segment_image(image)
    stroke = stroke_across_gap(image)
    lineart, closed = segment_image(image, closing=ClosingLines().adding(stroke))
    assert lineart.line[stroke[0][1], stroke[0][0]]  # on the wall's end
    assert lineart.line[stroke[-1][1], stroke[-1][0]]  # on the floor
    assert closed.count == open_regions.count + 1
    left, right = closed.region_at(50, 45), closed.region_at(130, 45)
    assert left is not None and right is not None and left != right
    # Invisible: the frame's lines are the drawing's alone.
    assert np.array_equal(lineart.line, segment_image(image)[0].line)


def test_a_stroke_ends_reach_only_as_far_as_asked() -> None:
    lineart, _ = segment_image(open_box())
    stroke = drawn_stroke([(90, 46), (90, 75)], lineart.line, 2)
    assert stroke == ((90, 46), (90, 75))  # 5 px from each line: left as drawn
    assert drawn_stroke([(90.2, 60), (90.4, 60.3)], lineart.line, 8) is None


def test_an_opening_drops_the_automatic_closure_there_only() -> None:
    image = open_box(gap_from=74)  # the wall stops 5 px above the floor
    _, closed = segment_image(image, gap=8)
    assert len(closed.closures.segments) == 1
    x0, y0, x1, y1 = closed.closures.segments[0]
    at = ((x0 + x1) // 2, (y0 + y1) // 2)
    _, opened = segment_image(image, gap=8, closing=ClosingLines().opening(at))
    assert opened.count == closed.count - 1
    assert len(opened.closures.segments) == 0
    far = ClosingLines().opening((40, 40))
    _, kept = segment_image(image, gap=8, closing=far)
    assert kept.layout == closed.layout


def test_closing_lines_read_back_from_their_json() -> None:
    lines = ClosingLines().adding([(1, 2), (30, 4), (30, 40)]).opening((7, 8))
    text = json.dumps(lines.to_json())
    assert ClosingLines.from_json(json.loads(text)) == lines
    for damaged in (
        {"strokes": [[1, 2, 3]]},
        {"strokes": [[1, 2]]},  # one point is not a line
        {"strokes": [[1, 2, 3, True]]},
        {"openings": [[-1, 2]]},
        {"lines": []},
        [1, 2],
    ):
        with pytest.raises(CadmiumError, match="closing lines"):
            ClosingLines.from_json(damaged)
    with pytest.raises(CadmiumError, match="outside any frame"):
        ClosingLines.from_json({"strokes": [[1, 2, 30, 70000]]})


def paint_box_shot(tmp_path: Path) -> tuple[Project, ShotEngine]:
    """A shot of two open-box frames, frame 1 painted: outside 1, box 3."""
    line = tmp_path / "shot" / "line"
    line.mkdir(parents=True)
    for frame in (1, 2):
        cv2.imwrite(str(line / f"{frame:04d}.png"), open_box())
    engine = ShotEngine(shot=open_shot(tmp_path / "shot"), gap=0, matcher="overlap")
    project = Project(shot=engine.shot, palette=default_palette(), gap=0)
    regions = engine.frame(1).regions
    project.adopt(1, regions)
    for (x, y), style in (((5, 5), 1), ((50, 45), 3)):
        region = regions.region_at(x, y)
        assert region is not None
        edit = project.fill_edit(1, regions.count, [region], style, FillMode.PAINT)
        assert edit is not None
        project.commit(edit)
    return project, engine


def close_frame(
    project: Project, engine: ShotEngine, frame: int, lines: ClosingLines
) -> None:
    """As the application does: the frame segmented with the new lines, its
    fills carried, the edit committed."""
    before = regions_of(project, engine, frame)
    after = engine.frame(frame, lines).regions
    fills = project.fills_for(frame, before)
    carried = resegment_fills(fills, before, after) if fills is not None else None
    placed = Placement.of(engine.frame(frame, lines))
    project.commit(
        project.closing_edit(
            frame, lines, carried, after.numbering, "Closing line", placed
        )
    )


def regions_of(project: Project, engine: ShotEngine, frame: int) -> Regions:
    """The frame's regions with the project's closing lines on it."""
    return engine.frame(frame, project.closing(frame)).regions


def styles_at(
    project: Project, engine: ShotEngine, frame: int, *points: tuple[int, int]
) -> list[int]:
    regions = regions_of(project, engine, frame)
    fills = project.fills_for(frame, regions)
    assert fills is not None
    return [int(fills.style[regions.region_at(x, y)]) for x, y in points]


def test_closing_a_painted_region_keeps_both_sides_painted_and_undo_restores_it(
    tmp_path: Path,
) -> None:
    project, engine = paint_box_shot(tmp_path)
    before = project.fills(1)
    assert before is not None
    lines = ClosingLines().adding(stroke_across_gap(open_box()))
    close_frame(project, engine, 1, lines)
    split = regions_of(project, engine, 1)
    assert split.count == len(before) + 1
    assert styles_at(project, engine, 1, (50, 45), (130, 45), (5, 5)) == [3, 3, 1]
    # The sides are regions of their own now: one takes another style.
    right = split.region_at(130, 45)
    project.commit(project.fill_edit(1, split.count, [right], 5, FillMode.PAINT))
    assert styles_at(project, engine, 1, (50, 45), (130, 45)) == [3, 5]
    project.undo()
    project.undo()
    assert not project.closing(1)
    after_undo = project.fills(1)
    assert after_undo is not None and not after_undo.differs(before).any()
    assert project.fills_for(1, engine.frame(1).regions) is after_undo
    project.redo()
    project.redo()
    assert styles_at(project, engine, 1, (50, 45), (130, 45)) == [3, 5]


def test_closing_lines_are_saved_with_the_project_and_fit_its_fills(
    tmp_path: Path,
) -> None:
    project, engine = paint_box_shot(tmp_path)
    lines = ClosingLines().adding(stroke_across_gap(open_box())).opening((5, 95))
    close_frame(project, engine, 1, lines)
    path = tmp_path / "scene.cadmium"
    frame_of = engine.analyser(project.snapshot().closing)
    save_project(project.snapshot(), path, regions_of=lambda n: frame_of(n).regions)
    shot_files = sorted(p.name for p in (tmp_path / "shot").rglob("*"))
    assert shot_files == ["0001.png", "0002.png", "line"]  # the shot untouched
    loaded = load_project(path)
    assert loaded.closing(1) == lines
    assert not loaded.closing(2)
    reopened = ShotEngine(shot=loaded.shot, gap=0, matcher="overlap")
    regions = reopened.frame(1, loaded.closing(1)).regions
    assert regions.layout == regions_of(project, engine, 1).layout
    fitted = loaded.adopt(1, regions)
    saved = project.fills(1)
    assert fitted is not None and saved is not None
    assert not fitted.differs(saved).any()


def test_a_damaged_closing_entry_is_named_when_the_project_opens(
    tmp_path: Path,
) -> None:
    project, _ = paint_box_shot(tmp_path)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    document = json.loads(path.read_text())
    document["closing"] = {"1": {"strokes": [[1, 2, 3]]}}
    path.write_text(json.dumps(document))
    with pytest.raises(CadmiumError, match=r"damaged project file.*closing lines"):
        load_project(path)


def test_an_engine_keeps_a_frame_analysed_with_and_without_closing_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, engine = paint_box_shot(tmp_path)
    loads = count_loads(monkeypatch)
    lines = ClosingLines().adding(stroke_across_gap(open_box()))
    plain = engine.frame(2)
    closed = engine.frame(2, lines)
    assert closed.regions.count == plain.regions.count + 1
    # A change being worked out needs both: neither pushes the other out.
    assert engine.frame(2) is plain and engine.frame(2, lines) is closed
    assert loads[2] == 2


def test_a_closure_without_a_segment_is_found_and_opened_by_its_pixels() -> None:
    # Thick lines close their narrowest gaps whole: pixels, no segment.
    mask = np.zeros((40, 40), bool)
    mask[10:14, 20] = True
    closures = Closures(np.zeros((0, 4), np.int32), mask)
    at = closure_near(closures, 22.0, 12.0, 3.0)
    assert at is not None and mask[at[1], at[0]]
    assert closure_near(closures, 30.0, 30.0, 3.0) is None
    _, opened = opened_closures(closures.segments, mask, [at])
    assert not opened.any()


def test_colorize_shot_on_a_saved_project_paints_as_its_closing_lines_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A render farm colorizes the project the animator saved: the key's box
    # parted by a closing line and its halves painted apart, the line
    # carried to frame 2.
    project, engine = paint_box_shot(tmp_path)
    lines = ClosingLines().adding(stroke_across_gap(open_box()))
    for frame in (1, 2):
        close_frame(project, engine, frame, lines)
    split = regions_of(project, engine, 1)
    right = split.region_at(130, 45)
    project.commit(project.fill_edit(1, split.count, [right], 5, FillMode.PAINT))
    assert project.keys == {1}
    path = tmp_path / "scene.cadmium"
    frame_of = engine.analyser(project.snapshot().closing)
    save_project(project.snapshot(), path, regions_of=lambda n: frame_of(n).regions)
    out = tmp_path / "out"
    args = ["colorize-shot", str(path), "--out", str(out), "--matcher", "overlap"]
    assert main([*args, "--quiet"]) == 0
    assert "2 frames from keys 1 with overlap" in capsys.readouterr().out
    color = read_image(out / "color" / "0002.png")
    palette = project.palette
    assert tuple(color[45, 50]) == palette[3].color
    assert tuple(color[45, 130]) == palette[5].color
    # The project's own gap and keys: the shot folder's options are refused.
    assert main([*args, "--gap", "4"]) == 2
    assert "is a project, which has its own gap" in capsys.readouterr().err
