"""Fills and their undo history when a frame's line art is redrawn while it
is painted: fills, and every diff of the history, follow their pixels to the
new regions (by position), whether the project was saved, autosaved or kept
open meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import figure

from engine import carry as carry_module
from engine.carry import return_fills
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.fills import ORIGIN_ANIMATOR, ORIGIN_PROPAGATED, FillMap
from engine.palette import UNPAINTED, default_palette
from engine.project import (
    FillMode,
    Project,
    Snapshot,
    data_dir_for,
    load_project,
    save_project,
)
from engine.regions import Regions
from engine.shot import open_shot


def draw_two_boxes(path: Path, right_box_top: int) -> None:
    """A box on the left and one on the right; raised above the left box's
    top, the right box is numbered before it (regions are numbered in
    reading order), with the same number of regions."""
    image = np.full((96, 128, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 30), (50, 80), (0, 0, 0), 2)
    cv2.rectangle(image, (70, right_box_top), (110, 80), (0, 0, 0), 2)
    cv2.imwrite(str(path), image)


def paint_two_boxes(
    tmp_path: Path, *, paper: bool = True
) -> tuple[Project, ShotEngine, Path]:
    """A shot of two boxes, the left painted 3, the right 5, around them 1
    (unless not ``paper``), as the application paints: on the regions of
    the frame shown (`Project.adopt`)."""
    line = tmp_path / "shot" / "line"
    line.mkdir(parents=True)
    for frame in (1, 2):
        draw_two_boxes(line / f"A_{frame:04d}.png", right_box_top=40)
    engine = ShotEngine(shot=open_shot(tmp_path / "shot"), matcher="assignment")
    project = Project(shot=engine.shot, palette=default_palette(), gap=engine.gap)
    regions = engine.frame(1).regions
    project.adopt(1, regions)
    paints = (((30, 60), 3), ((90, 60), 5), ((5, 5), 1))
    for (x, y), style in paints if paper else paints[:2]:
        region = regions.region_at(x, y)
        assert region is not None
        edit = project.fill_edit(1, regions.count, [region], style, FillMode.PAINT)
        assert edit is not None
        project.commit(edit)
    return project, engine, line / "A_0001.png"


def styles_at(fills: FillMap | None, regions: Regions) -> list[int]:
    """The styles of the left box, the right box and the paper around them."""
    assert fills is not None
    return [
        int(fills.style[regions.region_at(x, y)])  # type: ignore[index]
        for x, y in ((30, 60), (90, 60), (5, 5))
    ]


def test_fills_stay_on_their_boxes_when_redrawn_line_art_keeps_its_region_count(
    tmp_path: Path,
) -> None:
    """The line art of a painted frame is redrawn after a save: the right box
    raised, so the boxes swap numbers and the count stays the same. Each box
    keeps its colour (read back from the saved style image), not the colour
    of the other's number."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    saved = json.loads(path.read_text())["frames"]["1"]
    painted = engine.frame(1).regions
    assert saved["layout"] == painted.layout
    draw_two_boxes(drawing, right_box_top=20)
    redrawn = engine.frame(1).regions  # read again: the file changed
    assert redrawn.count == painted.count
    assert redrawn.layout != painted.layout
    loaded = load_project(path)
    assert styles_at(loaded.adopt(1, redrawn), redrawn) == [3, 5, 1]
    # Saved again, the frame's fills are those of the new drawing.
    save_project(loaded.snapshot(), path, regions_of=lambda n: redrawn)
    again = load_project(path)
    assert styles_at(again.adopt(1, redrawn), redrawn) == [3, 5, 1]


def test_line_art_redrawn_while_the_project_is_open_keeps_each_box_s_colour(
    tmp_path: Path,
) -> None:
    """Nothing saved: the frame, painted and shown, is redrawn and analysed
    again (as when it falls out of the engine's cache); its fills are carried
    to the new regions by position."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    project.adopt(1, engine.frame(1).regions)
    draw_two_boxes(drawing, right_box_top=20)
    redrawn = ShotEngine(shot=project.shot, matcher="assignment").frame(1).regions
    # A propagation over the new drawing that is never committed (refused:
    # the window was busy) leaves what the project knows of the old one.
    results = project.snapshot().fills_for(1, redrawn)
    assert results is not None
    project.propagation_edit({1: results}, "Propagate", {1: redrawn.numbering})
    fills = project.adopt(1, redrawn)
    assert styles_at(fills, redrawn) == [3, 5, 1]
    assert fills is not None and (fills.origin == ORIGIN_ANIMATOR).all()
    # Painting on goes on from the new regions.
    assert project.fill_edit(1, redrawn.count, [0], 4, FillMode.PAINT) is not None


def test_an_autosave_of_redrawn_line_art_carries_its_fills_or_says_it_cannot(
    tmp_path: Path,
) -> None:
    """An autosave keeps no style image, but its fill files keep how their
    regions were numbered: a frame redrawn since opens painted by position.
    One written before they kept it opens the frame unpainted and says so
    once, instead of painting each box the other's colour."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    path = tmp_path / "scene.cadmium"
    project.adopt(1, engine.frame(1).regions)
    save_project(project.snapshot(), path)  # as an autosave: no style images
    draw_two_boxes(drawing, right_box_top=20)
    redrawn = ShotEngine(shot=project.shot, matcher="assignment").frame(1).regions
    assert styles_at(load_project(path).adopt(1, redrawn), redrawn) == [3, 5, 1]
    (fill_file,) = data_dir_for(path).glob("000001-*.npz")
    with np.load(fill_file) as data:
        older = {k: data[k] for k in data.files if not k.startswith("numbering")}
    np.savez_compressed(fill_file, **older)  # type: ignore[arg-type]
    loaded = load_project(path)
    with pytest.raises(CadmiumError, match="line art"):
        loaded.adopt(1, redrawn)
    assert loaded.adopt(1, redrawn) is None
    assert loaded.painted_frames == []
    # A project saved before layouts were kept opens as it did: by count.
    document = json.loads(path.read_text())
    del document["frames"]["1"]["layout"]
    path.write_text(json.dumps(document))
    assert load_project(path).adopt(1, redrawn) is not None


def test_a_gap_change_and_its_undo_keep_which_regions_fills_are_numbered_by(
    tmp_path: Path,
) -> None:
    """Redrawn since the save and not shown yet, frame 1 is carried to a new
    gap; an autosave then still knows how its regions are numbered (so a
    second redraw recovers by position), and undoing the gap change puts
    back fills the project knows are of the old drawing (not taken by
    count: the boxes would swap)."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    draw_two_boxes(drawing, right_box_top=20)
    gap = project.gap + 1
    moved = ShotEngine(shot=project.shot, gap=gap, matcher="assignment").frame(1)
    loaded = load_project(path)
    carried = loaded.snapshot().fills_for(1, moved.regions)  # as the gap job does
    assert carried is not None
    edit = loaded.gap_edit(gap, {1: carried}, {1: moved.regions.numbering})
    loaded.commit(edit)
    autosave = tmp_path / "auto.cadmium"
    save_project(loaded.snapshot(), autosave)
    assert json.loads(autosave.read_text())["frames"]["1"]["layout"]
    draw_two_boxes(drawing, right_box_top=30)
    again = ShotEngine(shot=project.shot, gap=gap, matcher="assignment").frame(1)
    recovered = load_project(autosave).adopt(1, again.regions)
    assert styles_at(recovered, again.regions) == [3, 5, 1]
    loaded.undo()
    old_gap = ShotEngine(shot=project.shot, matcher="assignment").frame(1).regions
    assert styles_at(loaded.adopt(1, old_gap), old_gap) == [3, 5, 1]


def redraw(drawing: Path, project: Project, right_box_top: int = 20) -> Regions:
    """Frame 1 redrawn on disk (the right box raised: the boxes swap numbers,
    the count stays) and analysed anew, as the application sees it next."""
    draw_two_boxes(drawing, right_box_top=right_box_top)
    engine = ShotEngine(shot=project.shot, gap=project.gap, matcher="assignment")
    return engine.frame(1).regions


def region(regions: Regions, x: int, y: int) -> int:
    found = regions.region_at(x, y)
    assert found is not None
    return int(found)


def propagate_paper(
    project: Project, regions: Regions, style: int, began: Snapshot | None = None
) -> None:
    """A propagation that paints the paper ``style``, flagged for review
    (numbered by ``regions``, as a run over the frame as it is on disk),
    begun when the project was ``began`` (by default, now)."""
    results = FillMap.empty(regions.count)
    paper = np.array([region(regions, 5, 5)])
    results = results.with_styles(paper, style, ORIGIN_PROPAGATED)
    results.flagged[paper] = True
    seen = (began or project.snapshot()).numberings
    edit = project.propagation_edit(
        {1: results}, "Propagate", {1: regions.numbering}, seen
    )
    assert edit is not None
    project.commit(edit)


def test_propagation_over_a_frame_redrawn_since_keeps_the_animator_s_paint(
    tmp_path: Path,
) -> None:
    """A frame redrawn since it was saved, not shown yet, is propagated over:
    its paint, carried to the new regions first, stays the animator's (the
    run cannot repaint it), the paper the run painted is its own, and undo
    takes back only that."""
    project, engine, drawing = paint_two_boxes(tmp_path, paper=False)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    loaded = load_project(path)
    redrawn = redraw(drawing, loaded)
    propagate_paper(loaded, redrawn, 2)
    fills = loaded.adopt(1, redrawn)
    assert styles_at(fills, redrawn) == [3, 5, 2]
    assert fills is not None and fills.flagged[region(redrawn, 5, 5)]
    loaded.undo()
    assert styles_at(loaded.adopt(1, redrawn), redrawn) == [3, 5, UNPAINTED]


def test_undo_after_the_line_art_is_redrawn_takes_back_the_same_box(
    tmp_path: Path,
) -> None:
    """Painted, then redrawn while the project is open (the boxes swap
    numbers): each undo takes back the paint it made, on the box it was
    made on, and redo puts it back there (review R1)."""
    project, _, drawing = paint_two_boxes(tmp_path)
    redrawn = redraw(drawing, project)
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, 5, 1]
    project.undo()  # the paper
    project.undo()  # the right box
    assert styles_at(project.fills(1), redrawn) == [3, UNPAINTED, UNPAINTED]
    project.redo()
    assert styles_at(project.fills(1), redrawn) == [3, 5, UNPAINTED]
    # Redrawn once more while that undo is in the history: both steps again.
    again = redraw(drawing, project, right_box_top=30)
    project.adopt(1, again)
    project.undo()
    assert styles_at(project.fills(1), again) == [3, UNPAINTED, UNPAINTED]
    project.redo()
    project.redo()
    assert styles_at(project.fills(1), again) == [3, 5, 1]


def test_undoing_a_propagation_over_a_redrawn_frame_keeps_the_paint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Painted in this session (no save, so no style image to fall back on),
    redrawn, then propagated over before it is shown again: undoing the run
    leaves the animator's paint on its boxes (it took it all away: R4)."""
    project, _, drawing = paint_two_boxes(tmp_path, paper=False)
    redrawn = redraw(drawing, project)
    # The run reads the frame's paint on its thread, carried to the new
    # regions; the project, on the GUI thread, does not work that out again.
    assert styles_at(project.snapshot().fills_for(1, redrawn), redrawn) == [3, 5, -1]
    worked_out: list[int] = []
    how = carry_module.carrying
    monkeypatch.setattr(
        carry_module,
        "carrying",
        lambda *args: worked_out.append(1) or how(*args),
    )
    propagate_paper(project, redrawn, 2)
    assert worked_out == []
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, 5, 2]
    project.undo()
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, 5, UNPAINTED]
    project.undo()  # the right box, painted before the redraw
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, UNPAINTED, UNPAINTED]


def test_undoing_a_style_deletion_after_a_redraw_keeps_each_box_s_colour(
    tmp_path: Path,
) -> None:
    """A style deleted (the styles after it move up), the frame redrawn,
    then the deletion undone: each box gets its own colour back, not the
    other's (R3)."""
    project, _, drawing = paint_two_boxes(tmp_path)
    project.commit(project.style_deletion(2, None))  # 3 and 5 become 2 and 4
    redrawn = redraw(drawing, project)
    assert styles_at(project.adopt(1, redrawn), redrawn) == [2, 4, 1]
    project.undo()
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, 5, 1]
    project.redo()
    assert styles_at(project.adopt(1, redrawn), redrawn) == [2, 4, 1]


def test_undoing_a_style_deletion_after_a_redraw_keeps_review_flags(
    tmp_path: Path,
) -> None:
    """A saved project reopened, its frame redrawn before it is shown, a
    style it does not use deleted, then the frame shown (carried by the
    numbering saved with it) and the deletion undone: the frame keeps its
    fills whole, review flag included, instead of a reading of its style
    image, which keeps colours alone (R7)."""
    project, engine, drawing = paint_two_boxes(tmp_path, paper=False)
    propagate_paper(project, engine.frame(1).regions, 1)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    loaded = load_project(path)
    redrawn = redraw(drawing, loaded)
    loaded.commit(loaded.style_deletion(7, None))
    fills = loaded.adopt(1, redrawn)
    assert fills is not None and fills.flagged[region(redrawn, 5, 5)]
    loaded.undo()
    fills = loaded.adopt(1, redrawn)
    assert styles_at(fills, redrawn) == [3, 5, 1]
    assert fills is not None and fills.flagged[region(redrawn, 5, 5)]


def test_undoing_a_gap_change_after_a_redraw_carries_the_old_gap_s_fills(
    tmp_path: Path,
) -> None:
    """Gap changed, the frame redrawn at the new gap, the gap change undone:
    the fills of the old gap are carried to the redrawn frame at that gap
    (the frame opened unpainted, with an error, before)."""
    project, engine, drawing = paint_two_boxes(tmp_path)
    project.adopt(1, engine.frame(1).regions)
    gap = project.gap + 1
    moved = ShotEngine(shot=project.shot, gap=gap, matcher="assignment").frame(1)
    carried = project.snapshot().fills_for(1, moved.regions)
    assert carried is not None
    project.commit(project.gap_edit(gap, {1: carried}, {1: moved.regions.numbering}))
    redrawn = redraw(drawing, project)
    assert styles_at(project.adopt(1, redrawn), redrawn) == [3, 5, 1]
    project.undo()
    old_gap = redraw(drawing, project)
    assert styles_at(project.adopt(1, old_gap), old_gap) == [3, 5, 1]


def test_a_run_that_read_a_frame_before_it_was_redrawn_paints_the_new_drawing(
    tmp_path: Path,
) -> None:
    """A propagation reads frame 1; clean-up then splits the left box with a
    line, the window reads the frame again and the animator paints the new
    lower half. When the run lands, its paint (numbered by the drawing it
    read) is carried to the new drawing: the lower half keeps the animator's
    colour, the paper takes the run's, and the frame is numbered as shown."""
    project, engine, drawing = paint_two_boxes(tmp_path, paper=False)
    old = engine.frame(1).regions  # what the run read
    began = project.snapshot()
    image = cv2.imread(str(drawing))
    cv2.line(image, (10, 60), (50, 60), (0, 0, 0), 2)  # splits the left box
    cv2.imwrite(str(drawing), image)
    split = engine.frame(1).regions
    assert split.count == old.count + 1
    project.adopt(1, split)
    lower = region(split, 30, 70)
    edit = project.fill_edit(1, split.count, [lower], 7, FillMode.PAINT)
    assert edit is not None
    project.commit(edit)
    propagate_paper(project, old, 2, began)
    fills = project.fills(1)
    assert fills is not None and len(fills) == split.count
    assert styles_at(fills, split) == [3, 5, 2]
    assert int(fills.style[lower]) == 7
    assert project.adopt(1, split) is fills  # numbered as shown: nothing to carry


def test_returning_to_a_gap_after_a_redraw_keeps_each_part_s_colour(
    tmp_path: Path,
) -> None:
    """At 0 px a box split by a line with a 5 px gap is one region (two at
    8 px). Gap 8 to 0, a touch-up, the right box redrawn (its top raised
    between the split box's parts, so regions are numbered otherwise with
    the same count), back to 8: what was painted at 8 comes back only where
    it is numbered as it was; the parts keep their colours, not each
    other's."""
    high, low = 8, 0
    points = {
        "upper": (40, 30),
        "lower": (40, 90),
        "right": (120, 100),
        "paper": (5, 5),
    }

    def draw(right_top: int) -> None:
        image = np.full((120, 160, 3), 255, np.uint8)
        cv2.rectangle(image, (10, 10), (70, 110), (0, 0, 0), 2)
        cv2.line(image, (10, 60), (62, 60), (0, 0, 0), 2)  # a 5 px gap
        cv2.rectangle(image, (90, right_top), (150, 110), (0, 0, 0), 2)
        cv2.imwrite(str(line / "A_0001.png"), image)

    def styles(fills: FillMap | None, regions: Regions) -> dict[str, int]:
        assert fills is not None
        return {k: int(fills.style[region(regions, *xy)]) for k, xy in points.items()}

    line = tmp_path / "shot" / "line"
    line.mkdir(parents=True)
    draw(right_top=70)
    shot = open_shot(tmp_path / "shot")
    at_high = ShotEngine(shot=shot, gap=high, matcher="assignment")
    at_low = ShotEngine(shot=shot, gap=low, matcher="assignment")
    project = Project(shot=shot, palette=default_palette(), gap=high)
    before = at_high.frame(1).regions
    project.adopt(1, before)
    painted = {"upper": 4, "lower": 6, "right": 5, "paper": 1}
    for name, style in painted.items():
        edit = project.fill_edit(
            1, before.count, [region(before, *points[name])], style, FillMode.PAINT
        )
        assert edit is not None
        project.commit(edit)
    after = at_low.frame(1).regions
    fills = return_fills(project.fills(1), before, after, arrived_as=None, earlier=None)  # type: ignore[arg-type]
    project.commit(project.gap_edit(low, {1: fills}, {1: after.numbering}))
    project.adopt(1, after)
    touch_up = project.fill_edit(
        1, after.count, [region(after, 5, 5)], 2, FillMode.PAINT
    )
    assert touch_up is not None
    project.commit(touch_up)
    draw(right_top=50)
    now_low, now_high = at_low.frame(1).regions, at_high.frame(1).regions
    assert (now_low.count, now_high.count) == (after.count, before.count)
    project.adopt(1, now_low)
    left = project.left_gap(high)
    assert left is not None
    arrived, earlier = left.return_hints(1, now_low.layout, now_high.layout)
    assert arrived is None and earlier is None  # numbered by the old drawing
    current = project.fills(1)
    assert current is not None
    back = return_fills(current, now_low, now_high, arrived_as=arrived, earlier=earlier)
    # The split box was one region at 0 px: both parts take its colour.
    merged = int(current.style[region(now_low, *points["upper"])])
    assert merged in (4, 6)
    assert styles(back, now_high) == {
        "upper": merged,
        "lower": merged,
        "right": 5,
        "paper": 2,
    }
    # Not redrawn, the parts get their own colours back exactly.
    draw(right_top=70)
    project.adopt(1, at_low.frame(1).regions)
    arrived, earlier = left.return_hints(1, after.layout, before.layout)
    back = return_fills(
        project.fills(1), after, before, arrived_as=arrived, earlier=earlier
    )  # type: ignore[arg-type]
    assert styles(back, before) == {**painted, "paper": 2}


def test_a_save_keeps_paint_it_cannot_place_on_the_frame_s_regions(
    tmp_path: Path,
) -> None:
    """Fills of a frame numbered by regions the project cannot place on the
    frame's regions now (no numbering, no style image: a project from
    before either was kept, redrawn since) are saved as they are, not
    dropped from the file."""
    project, _, drawing = paint_two_boxes(tmp_path)
    painted = project.fills(1)
    assert painted is not None
    bare = Project(shot=project.shot, palette=project.palette, gap=project.gap)
    bare.set_fills(1, painted)  # numbering not known
    draw_two_boxes(drawing, right_box_top=20)
    cv2.imwrite(
        str(drawing), cv2.line(cv2.imread(str(drawing)), (0, 5), (127, 5), (0, 0, 0), 2)
    )
    engine = ShotEngine(shot=project.shot, matcher="assignment")
    assert engine.frame(1).regions.count != len(painted)
    path = tmp_path / "scene.cadmium"
    save_project(bare.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    assert json.loads(path.read_text())["frames"]["1"]["regions"] == len(painted)
    loaded = load_project(path).fills(1)
    assert loaded is not None and not loaded.differs(painted).any()


def test_undo_across_a_redraw_that_moved_a_part_follows_the_part(
    tmp_path: Path,
) -> None:
    """The hand redrawn 40 px away, onto the paper, keeps its colour,
    flagged. Undoing a paint goes to the part it was made on, wherever it
    is now: the paper's leaves the hand as it is (it gave the hand the
    paper's old fill, dropping the flag), the hand's unpaints the hand and
    leaves the paper, and redoing it paints the hand flagged again (it
    came back unflagged, as recorded before the hand moved)."""
    line = tmp_path / "shot" / "line"
    line.mkdir(parents=True)
    for frame in (1, 2):
        cv2.imwrite(str(line / f"F_{frame:04d}.png"), figure(120))
    engine = ShotEngine(shot=open_shot(tmp_path / "shot"), matcher="assignment")
    project = Project(shot=engine.shot, palette=default_palette(), gap=engine.gap)
    regions = engine.frame(1).regions

    def paint(x: int, y: int, style: int) -> None:
        edit = project.fill_edit(
            1, regions.count, [region(regions, x, y)], style, FillMode.PAINT
        )
        assert edit is not None
        project.commit(edit)

    project.adopt(1, regions)
    paint(60, 90, 3)  # the body
    paint(200, 140, 1)  # the paper
    paint(128, 68, 5)  # the hand
    paint(200, 140, 2)  # the paper again
    cv2.imwrite(str(line / "F_0001.png"), figure(160))
    redrawn = ShotEngine(shot=project.shot, gap=project.gap, matcher="assignment")
    after = redrawn.frame(1).regions
    hand, paper = region(after, 168, 68), region(after, 200, 140)

    def hand_and_paper() -> tuple[int, bool, int]:
        fills = project.adopt(1, after)
        assert fills is not None
        return (
            int(fills.style[hand]),
            bool(fills.flagged[hand]),
            int(fills.style[paper]),
        )

    assert hand_and_paper() == (5, True, 2)
    assert project.take_moved_parts(1) == 1
    assert project.take_moved_parts(1) == 0  # said once
    project.undo()  # the paper's second paint
    assert hand_and_paper() == (5, True, 1)
    project.undo()  # the hand's
    assert hand_and_paper() == (UNPAINTED, False, 1)
    project.redo()  # painted again where it is now: flagged again, as it came
    assert hand_and_paper() == (5, True, 1)
    fills = project.fills(1)
    assert fills is not None and fills.guesses(hand)[0] == 1
