"""The Qt-free project: fill edits as diffs, undo, save/load, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.carry import resegment_fills
from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.fills import ALTERNATIVES, ORIGIN_ANIMATOR, ORIGIN_PROPAGATED, FillMap
from engine.history import History, PaletteEdit
from engine.palette import UNPAINTED, default_palette
from engine.project import (
    FillMode,
    Project,
    _digest,
    autosave_path_for,
    data_dir_for,
    load_project,
    remove_autosave,
    save_project,
)
from engine.regions import Regions
from engine.shot import open_shot

REPO = Path(__file__).resolve().parents[2]


def make_shot(root: Path, frames: int = 5) -> Path:
    """A small shot: a ring with a dot inside and a box, moving a little."""
    (root / "line").mkdir(parents=True)
    for i in range(1, frames + 1):
        image = np.full((96, 128, 3), 255, np.uint8)
        cx = 40 + 2 * i
        cv2.circle(image, (cx, 48), 22, (0, 0, 0), 2, cv2.LINE_AA)
        cv2.circle(image, (cx, 48), 8, (0, 0, 0), 2, cv2.LINE_AA)
        cv2.rectangle(image, (80 - i, 25), (115 - i, 75), (0, 0, 0), 2)
        cv2.imwrite(str(root / "line" / f"A_{i:04d}.png"), image)
    return root


@pytest.fixture()
def shot_dir(tmp_path: Path) -> Path:
    return make_shot(tmp_path / "shot")


def new_project(shot_dir: Path) -> tuple[Project, ShotEngine]:
    shot = open_shot(shot_dir)
    engine = ShotEngine(shot=shot, matcher="assignment")
    return Project(shot=shot, palette=default_palette(), gap=engine.gap), engine


def paint_all(project: Project, engine: ShotEngine, frame: int, style: int) -> None:
    count = engine.frame(frame).regions.count
    edit = project.fill_edit(frame, count, range(count), style, FillMode.PAINT)
    assert edit is not None
    project.commit(edit)


def test_fill_undo_redo_and_auto_key(shot_dir: Path) -> None:
    project, engine = new_project(shot_dir)
    regions = engine.frame(1).regions
    inner = regions.region_at(42, 48)
    assert inner is not None
    edit = project.fill_edit(1, regions.count, [inner], 4, FillMode.PAINT)
    assert edit is not None and edit.keys_added == {1}
    project.commit(edit)
    fills = project.fills(1)
    assert fills is not None and fills.style[inner] == 4
    assert fills.origin[inner] == ORIGIN_ANIMATOR and 1 in project.keys
    # Painting the same again changes nothing, so makes no edit.
    assert project.fill_edit(1, regions.count, [inner], 4, FillMode.PAINT) is None
    # "Paint unpainted" leaves painted regions alone.
    assert (
        project.fill_edit(1, regions.count, [inner], 2, FillMode.PAINT_UNPAINTED)
        is None
    )
    painted = project.revision
    project.undo()
    assert project.fills(1) is None and 1 not in project.keys
    # Undone to where it started, the project is that revision again (what
    # the application compares with the revision it saved).
    assert project.revision == 0
    project.redo()
    assert project.fills(1).style[inner] == 4  # type: ignore[union-attr]
    assert project.revision == painted
    unpaint = project.fill_edit(1, regions.count, [inner], 0, FillMode.UNPAINT)
    assert unpaint is not None
    project.commit(unpaint)
    assert project.fills(1).style[inner] == UNPAINTED  # type: ignore[union-attr]
    assert not project.history.can_redo


def test_stroke_merges_into_one_undo_step(shot_dir: Path) -> None:
    project, engine = new_project(shot_dir)
    count = engine.frame(1).regions.count
    for region in range(count):
        edit = project.fill_edit(1, count, [region], 3, FillMode.PAINT, stroke=7)
        assert edit is not None
        project.commit(edit)
        if region:
            project.history.merge_last_two()
    assert len(project.history.undo_stack) == 1
    project.undo()
    assert project.fills(1) is None and project.revision == 0
    # A new edit after an undo is a revision never seen before.
    paint_all(project, engine, 1, 2)
    assert project.revision > count


def test_propagation_edit_keeps_animator_fills(shot_dir: Path) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    count = engine.frame(2).regions.count

    def run(targets: list[int]) -> dict[int, FillMap]:
        keys, painted = project.snapshot().propagation_inputs(
            lambda n: engine.frame(n).regions
        )
        assert set(keys) == {1}
        results = engine.propagate(
            keys=keys, n_styles=len(project.palette), painted=painted, targets=targets
        )
        return {r.number: r.fills for r in results}

    edit = project.propagation_edit(run([2, 3]), "Propagate")
    assert edit is not None and edit.frames == (2, 3)
    project.commit(edit)
    assert (project.fills(3).style == 2).all()  # type: ignore[union-attr]
    # A correction on a propagated frame does not make it a key ...
    fix = project.fill_edit(2, count, [0], 5, FillMode.PAINT)
    assert fix is not None and not fix.keys_added
    project.commit(fix)
    results = run([2, 3])
    # ... and survives the next run, like fills painted while a run is going.
    project.commit(project.fill_edit(3, count, [1], 6, FillMode.PAINT))  # type: ignore[arg-type]
    edit = project.propagation_edit(results, "Propagate")
    assert edit is None or 2 not in edit.frames
    assert project.fills(2).style[0] == 5  # type: ignore[union-attr]
    assert project.fills(3).style[1] == 6  # type: ignore[union-attr]
    project.undo()
    project.undo()
    project.undo()
    assert project.fills(3) is None


def test_a_propagation_changing_nothing_visible_is_no_undo_step(
    shot_dir: Path,
) -> None:
    """Run again, propagation ranks a region's other guesses differently and
    is surer of its colour: nothing on screen changes, so nothing is added
    to undo (an undo that shows nothing looks broken)."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    keys, painted = project.snapshot().propagation_inputs(
        lambda n: engine.frame(n).regions
    )
    [first] = engine.propagate(
        keys=keys, n_styles=len(project.palette), painted=painted, targets=[2]
    )
    edit = project.propagation_edit({2: first.fills}, "Propagate")
    assert edit is not None
    project.commit(edit)
    again = FillMap(*(getattr(first.fills, n).copy() for n in FillMap.field_names()))
    again.alternatives[0] = [7, 8, UNPAINTED]
    again.confidence[0] = 0.99
    assert again.differs(first.fills).any()
    assert project.propagation_edit({2: again}, "Propagate") is None
    # A flag raised or lowered is seen: that is an undo step.
    again.flagged[0] = not first.fills.flagged[0]
    assert project.propagation_edit({2: again}, "Propagate") is not None


def test_history_limit() -> None:
    history = History(limit=2)
    for n, label in enumerate("abc"):
        edit = PaletteEdit(label, default_palette(), default_palette())
        history.record(edit, n, n + 1)
    assert [step.edit.label for step in history.undo_stack] == ["b", "c"]


def test_save_and_load_restore_every_fill(shot_dir: Path, tmp_path: Path) -> None:
    project, engine = new_project(shot_dir)
    for frame in (1, 3):
        paint_all(project, engine, frame, frame)
    path = tmp_path / "work" / "scene.cadmium"
    path.parent.mkdir()
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    loaded = load_project(path)
    assert loaded.keys == project.keys and loaded.gap == project.gap
    assert loaded.palette == project.palette
    assert loaded.painted_frames == [1, 3]
    for frame in (1, 3):
        a, b = project.fills(frame), loaded.fills(frame)
        assert a is not None and b is not None
        for name in ("style", "origin", "confidence", "flagged"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
    # Saving again writes no new fill files, keeps exactly the referenced
    # ones, and segments only the frames painted since (a save of a long shot
    # must not segment every painted frame again).
    before = sorted(p.name for p in data_dir_for(path).iterdir())
    segmented: list[int] = []

    def regions_of(n: int):  # type: ignore[no-untyped-def]
        segmented.append(n)
        return engine.frame(n).regions

    save_project(loaded.snapshot(), path, regions_of=regions_of)
    assert sorted(p.name for p in data_dir_for(path).iterdir()) == before
    assert len(before) == 4  # one .npz and one .png per painted frame
    assert segmented == []
    loaded.adopt(2, engine.frame(2).regions)
    paint_all(loaded, engine, 2, 2)
    save_project(loaded.snapshot(), path, regions_of=regions_of)
    assert segmented == [2]
    assert load_project(path).painted_frames == [1, 2, 3]


def test_propagations_next_guesses_survive_undo_save_and_load(
    shot_dir: Path, tmp_path: Path
) -> None:
    """What S offers first comes back with the fills: after an undo, and in
    a project saved and opened again; a fill file saved before guesses were
    kept opens with none."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    count = engine.frame(2).regions.count
    guesses = np.full((count, ALTERNATIVES), UNPAINTED, np.int32)
    guesses[:, 0] = 3

    def propagated(first_guess: int, flagged: bool = False) -> FillMap:
        alternatives = guesses.copy()
        alternatives[0, 0] = first_guess
        painted = FillMap.empty(count).with_styles(
            np.arange(count), 2, ORIGIN_PROPAGATED
        )
        painted.flagged[0] = flagged
        return painted.replace(alternatives=alternatives)

    project.commit(project.propagation_edit({2: propagated(4)}, "Propagate"))  # type: ignore[arg-type]
    # Run again: the guesses and a flag differ; undo brings both back.
    edit = project.propagation_edit({2: propagated(5, flagged=True)}, "Propagate")
    assert edit is not None
    project.commit(edit)
    assert project.fills(2).alternatives[0, 0] == 5  # type: ignore[union-attr]
    project.undo()
    assert project.fills(2).alternatives[:, 0].tolist() == [4] + [3] * (count - 1)  # type: ignore[union-attr]
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    loaded = load_project(path)
    assert np.array_equal(loaded.fills(2).alternatives, project.fills(2).alternatives)  # type: ignore[union-attr]
    (fill_file,) = data_dir_for(path).glob("000002-*.npz")
    with np.load(fill_file) as data:
        older = {k: data[k] for k in data.files if k != "alternatives"}
    np.savez_compressed(fill_file, **older)  # type: ignore[arg-type]
    loaded = load_project(path)
    fills = loaded.fills(2)
    assert fills is not None and (fills.style == 2).all()
    assert (fills.alternatives == UNPAINTED).all()
    # Damaged alternatives are a hint lost, not the frame (nor a fall back
    # on its style image).
    for image in data_dir_for(path).glob("000002-*.png"):
        image.unlink()
    np.savez_compressed(fill_file, **older, alternatives=np.array([[None]] * count))  # type: ignore[arg-type]
    fills = load_project(path).fills(2)
    assert fills is not None and (fills.style == 2).all()


def test_fills_without_alternatives_keep_the_names_earlier_saves_gave_them() -> None:
    """A project saved before alternatives were kept is not rewritten, and
    its frames segmented again, on its first save since: this digest is the
    name Cadmium gave these fills then."""
    fills = FillMap.empty(4).with_styles(
        np.arange(4), np.array([0, 1, 1, 2], np.int32), ORIGIN_PROPAGATED
    )
    assert _digest(fills, 8) == "7597d76c5e90e44eeb34"
    guessed = fills.alternatives.copy()
    guessed[0, 0] = 1
    assert _digest(fills.replace(alternatives=guessed), 8) != "7597d76c5e90e44eeb34"


def test_a_save_clears_what_a_killed_save_left(shot_dir: Path, tmp_path: Path) -> None:
    """A save killed half-way (kill -9, power cut) leaves its temporary
    files; the next save removes them, and never one a write under way has."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 1)
    path = tmp_path / "scene.cadmium"
    data = data_dir_for(path)
    data.mkdir()
    killed = [path.parent / ".scene.cadmium.k1ll3d.tmp", data / ".ab12.npz.x9z.tmp"]
    writing = data / ".cd34.npz.n0w.tmp"
    theirs = path.parent / ".notes.txt.tmp"  # not the project's: not ours to touch
    for file in (*killed, writing, theirs):
        file.write_bytes(b"half")
    an_hour_ago = time.time() - 3700
    for file in (*killed, theirs):
        os.utime(file, (an_hour_ago, an_hour_ago))
    save_project(project.snapshot(), path)
    assert not any(file.exists() for file in killed)
    assert writing.exists() and theirs.exists()
    assert load_project(path).painted_frames == [1]


def test_a_frame_unreadable_since_it_was_painted_still_saves(
    shot_dir: Path, tmp_path: Path
) -> None:
    project, engine = new_project(shot_dir)
    for frame in (1, 2):
        paint_all(project, engine, frame, frame)
    # The line file of frame 2 is damaged on disk after it was painted.
    (shot_dir / "line" / "A_0002.png").write_bytes(b"not a png")
    fresh = ShotEngine(shot=project.shot, matcher="assignment")
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: fresh.frame(n).regions)
    loaded = load_project(path)
    assert loaded.painted_frames == [1, 2]
    kept = loaded.fills(2)
    assert kept is not None and (kept.style == 2).all()


def test_missing_or_damaged_fill_files_lose_only_their_frame(
    shot_dir: Path, tmp_path: Path
) -> None:
    project, engine = new_project(shot_dir)
    for frame in (1, 2, 3):
        paint_all(project, engine, frame, frame)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    data = data_dir_for(path)
    for name in data.glob("000002-*"):  # frame 2: both files gone
        name.unlink()
    for name in data.glob("000003-*.npz"):  # frame 3: only its style image left
        name.unlink()
    loaded = load_project(path)
    assert loaded.lost_frames == [2]
    assert loaded.painted_frames == [1, 3]
    # The style image of frame 3 is damaged too: adopting it fails once, and
    # the frame is then unpainted rather than failing every time it is seen.
    for name in data.glob("000003-*.png"):
        name.write_bytes(b"damaged")
    regions = engine.frame(3).regions
    with pytest.raises(CadmiumError, match="000003-"):
        loaded.adopt(3, regions)
    assert loaded.adopt(3, regions) is None
    assert loaded.painted_frames == [1]


def test_fills_survive_a_new_segmentation(shot_dir: Path, tmp_path: Path) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 4)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    document = json.loads(path.read_text())
    document["frames"]["1"]["regions"] = 99  # as if the engine segments differently
    (data_dir_for(path) / document["frames"]["1"]["fills"]).unlink()
    path.write_text(json.dumps(document))
    loaded = load_project(path)
    fitted = loaded.adopt(1, engine.frame(1).regions)
    assert fitted is not None and (fitted.style == 4).all()
    assert (fitted.origin == ORIGIN_ANIMATOR).all()
    # And fills carry over to another gap setting.
    other = ShotEngine(shot=project.shot, gap=6, matcher="assignment")
    moved = resegment_fills(
        project.fills(1),  # type: ignore[arg-type]
        engine.frame(1).regions,
        other.frame(1).regions,
    )
    assert (moved.style == 4).all()


def test_autosave_shares_files_with_the_project(shot_dir: Path, tmp_path: Path) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 1)
    path = tmp_path / "scene.cadmium"
    auto = autosave_path_for(path)

    def regions(n: int):  # type: ignore[no-untyped-def]
        return engine.frame(n).regions

    save_project(project.snapshot(), path, keep_also=[auto], regions_of=regions)
    paint_all(project, engine, 2, 2)
    save_project(
        project.snapshot(), auto, data_dir=data_dir_for(path), keep_also=[path]
    )
    recovered = load_project(auto)
    assert recovered.painted_frames == [1, 2]
    assert load_project(path).painted_frames == [1]


def test_next_problem_walks_frames_and_regions(shot_dir: Path) -> None:
    project, engine = new_project(shot_dir)
    count = engine.frame(1).regions.count
    project.commit(project.fill_edit(1, count, range(1, count), 1, FillMode.PAINT))  # type: ignore[arg-type]
    assert project.next_problem(1, None) == (1, 0)
    assert project.next_problem(1, 0) == (2, None)  # frame 2 has no fills
    assert project.status(1).unpainted == 1 and project.status(1).key
    for frame in project.shot.frames[1:]:
        n = engine.frame(frame).regions.count
        project.commit(project.fill_edit(frame, n, range(n), 1, FillMode.PAINT))  # type: ignore[arg-type]
    assert project.next_problem(1, 0) == (1, 0)  # the last one left: itself
    project.commit(project.fill_edit(1, count, [0], 1, FillMode.PAINT))  # type: ignore[arg-type]
    assert project.next_problem(1, 0) is None
    # A region cleared with Unpaint is empty on purpose: not a problem.
    project.commit(project.fill_edit(1, count, [0], 0, FillMode.UNPAINT))  # type: ignore[arg-type]
    assert project.next_problem(1, 0) is None and project.status(1).unpainted == 0


def test_accepting_flagged_fills_keeps_their_colours_for_good(shot_dir: Path) -> None:
    """A flagged fill the animator finds right is accepted as it is: no
    flag, sure, and a later propagation leaves it alone; unpainted flagged
    regions have no colour to accept. One undo step gives the flags back."""
    project, engine = new_project(shot_dir)
    count = engine.frame(2).regions.count
    flagged = FillMap(
        style=np.array([3] * (count - 1) + [UNPAINTED], np.int32),
        origin=np.full(count, ORIGIN_PROPAGATED, np.uint8),
        confidence=np.full(count, 0.4, np.float32),
        flagged=np.ones(count, bool),
    )
    project.commit(project.propagation_edit({2: flagged}, "Propagate"))  # type: ignore[arg-type]
    # The timeline counts each region once: unpainted, or painted and flagged.
    assert (project.status(2).unpainted, project.status(2).flagged) == (1, count - 1)
    # One region (Accept on the region Next problem went to) ...
    edit = project.accept_edit(2, count, [0])
    assert edit is not None and edit.label == "Accept" and not edit.keys_added
    project.commit(edit)
    fills = project.fills(2)
    assert fills is not None
    assert fills.style[0] == 3 and not fills.flagged[0] and fills.confidence[0] == 1
    assert fills.origin[0] == ORIGIN_ANIMATOR
    assert project.next_problem(2, None) == (2, 1)
    # ... then the whole frame: every painted flag; the unpainted one stays.
    edit = project.accept_edit(2, count)
    assert edit is not None and edit.label == f"Accept {count - 2} regions"
    project.commit(edit)
    fills = project.fills(2)
    assert fills is not None
    assert (fills.style == flagged.style).all()
    assert fills.flagged.tolist() == [False] * (count - 1) + [True]
    assert project.accept_edit(2, count) is None  # nothing left to accept
    assert project.accept_edit(2, count + 1) is None  # stale segmentation
    assert project.accept_edit(4, count) is None  # a frame without fills
    # Propagation never repaints what was accepted.
    other = flagged.replace(style=np.full(count, 5, np.int32))
    project.commit(project.propagation_edit({2: other}, "Propagate"))  # type: ignore[arg-type]
    fills = project.fills(2)
    assert fills is not None and (fills.style[:-1] == 3).all() and fills.style[-1] == 5
    project.undo()
    project.undo()
    fills = project.fills(2)
    assert fills is not None and fills.flagged[1:].all() and not fills.flagged[0]


def test_bad_project_files(tmp_path: Path, shot_dir: Path) -> None:
    bad = tmp_path / "x.cadmium"
    bad.write_text("{not json")
    with pytest.raises(CadmiumError, match="not a readable project"):
        load_project(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(CadmiumError, match="not a Cadmium project"):
        load_project(bad)
    project, _ = new_project(shot_dir)
    save_project(project.snapshot(), bad)
    os.rename(shot_dir, tmp_path / "moved")
    with pytest.raises(CadmiumError, match="is gone"):
        load_project(bad)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(version="abc"), "damaged project file"),
        (lambda d: d.update(version=[1]), "damaged project file"),
        (lambda d: d.update(version=None), "damaged project file"),
        (lambda d: d.update(gap=-3), "damaged project file"),
        (lambda d: d.update(gap=100000), "damaged project file"),
        (lambda d: d.update(gap=2.7), "damaged project file"),
        (lambda d: d.update(keys=["one"]), "damaged project file"),
        (lambda d: d.update(shot=5), r"damaged project file \(shot 5\)"),
        (
            lambda d: d.update(version=7),
            r"written by a newer Cadmium \(project format 7; this one reads up to 1\)",
        ),
    ],
)
def test_a_hand_edited_project_file_is_one_line_error(
    tmp_path: Path, shot_dir: Path, edit: Callable[[dict], None], message: str
) -> None:
    """Every such edit raised a bare ValueError or TypeError, which the
    application showed as a traceback in the terminal and no message."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(CadmiumError, match=message) as error:
        load_project(path)
    assert str(error.value).startswith(f"{path}: ")


def test_hand_edited_frame_entries_lose_only_their_frame(
    tmp_path: Path, shot_dir: Path
) -> None:
    project, engine = new_project(shot_dir)
    for frame in (1, 2, 3):
        paint_all(project, engine, frame, 2)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    document = json.loads(path.read_text())
    document["frames"]["x"] = document["frames"]["1"]  # no frame number
    document["frames"]["2"] = "oops"  # not an entry
    document["frames"]["3"] = {"regions": 5}  # neither fills nor styles
    path.write_text(json.dumps(document))
    loaded = load_project(path)
    assert loaded.lost_frames == [2, 3]
    assert loaded.fills(1) is not None and loaded.fills(2) is None


def test_a_style_image_naming_styles_the_palette_lacks_is_refused(
    shot_dir: Path, tmp_path: Path
) -> None:
    """A palette cut short by hand: the frame read back from its style
    image would name styles that do not exist (propagation then failed
    with an IndexError); reading it is a one-line error instead."""
    path = tmp_path / "scene.cadmium"
    _, regions_of = saved_with_frame_3_as_image(shot_dir, path, {1: 5, 3: 7})
    document = json.loads(path.read_text())
    document["palette"] = document["palette"][:6]
    path.write_text(json.dumps(document))
    loaded = load_project(path)
    with pytest.raises(CadmiumError, match="names style 8, and the palette has 6"):
        loaded.snapshot().propagation_inputs(regions_of)
    with pytest.raises(CadmiumError, match="names style 8"):
        loaded.adopt(3, regions_of(3))
    assert loaded.fills(3) is None  # it opens unpainted, once


SAVER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from engine.facade import ShotEngine
    from engine.fills import FillMap
    from engine.project import load_project, save_project

    project = load_project(sys.argv[1])
    engine = ShotEngine(shot=project.shot, matcher="assignment")
    for frame in project.shot.frames:
        count = engine.frame(frame).regions.count
        project.set_fills(frame, FillMap.empty(count).with_styles(
            np.arange(count), 7, 1))

    def progress(done, total):
        print("wrote", done, flush=True)
        time.sleep(0.3)

    save_project(project.snapshot(), sys.argv[1],
                 regions_of=lambda n: engine.frame(n).regions, progress=progress)
    print("saved", flush=True)
    """
)


@pytest.mark.parametrize("kill_after", [1, 3])
def test_killed_mid_save_loses_no_saved_work(
    shot_dir: Path, tmp_path: Path, kill_after: int
) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    paint_all(project, engine, 4, 3)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    child = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    for _ in range(kill_after):
        assert child.stdout.readline().startswith("wrote")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    loaded = load_project(path)
    assert loaded.painted_frames == [1, 4]
    for frame, style in ((1, 2), (4, 3)):
        fills = loaded.fills(frame)
        assert isinstance(fills, FillMap) and (fills.style == style).all()


def test_only_frames_touched_up_during_a_run_it_did_not_paint_become_keys(
    shot_dir: Path,
) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 3, 2)  # a key, then unmarked: painted, not a key
    project.commit(project.key_edit(3, False) or pytest.fail("no unmark"))
    project.begin_propagation([2, 3, 4])
    count = engine.frame(4).regions.count
    touch_up = project.fill_edit(4, count, [0], 2, FillMode.PAINT)
    assert touch_up is not None and not touch_up.keys_added  # the run will paint it
    project.commit(touch_up)
    # Begun again before it ended (its result came too late to use), the run
    # still counts frame 4 as bare when it first began: the touch-up waits
    # for its fills, and makes a key only if this run paints nothing either.
    project.begin_propagation([2, 3, 4])
    assert 4 in project.awaiting_propagation
    keys = project.end_propagation()  # the run painted nothing (cancelled)
    assert keys is not None and keys.keys_added == {4}
    assert project.awaiting_propagation == frozenset()


def test_a_fill_file_damaged_any_way_loses_only_its_frame(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Truncated, overwritten or bit-flipped: a damaged .npz is one frame
    opening unpainted (and named), never a project that cannot open."""
    project, engine = new_project(shot_dir)
    for frame in (1, 2):
        paint_all(project, engine, frame, frame)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    (fill_file,) = data_dir_for(path).glob("000002-*.npz")
    for name in data_dir_for(path).glob("000002-*.png"):
        name.unlink()  # no style image to fall back on
    good = fill_file.read_bytes()
    rng = np.random.default_rng(5)
    damaged = [good[:100], good[: len(good) // 2], good[:-1]]
    # The "encrypted" bit of a member's flags, in the central directory.
    central = good.index(b"PK\x01\x02") + 8
    damaged.append(good[:central] + bytes([good[central] | 1]) + good[central + 1 :])
    for _ in range(60):
        flipped = np.frombuffer(good, np.uint8).copy()
        at = rng.integers(len(flipped), size=int(rng.integers(1, 6)))
        flipped[at] = rng.integers(256, size=len(at))
        damaged.append(flipped.tobytes())
    lost = 0
    for data in damaged:
        fill_file.write_bytes(data)
        loaded = load_project(path)  # never raises
        assert 1 in loaded.painted_frames
        lost += loaded.lost_frames == [2]
    assert lost >= 3  # at least the truncated ones are named as lost


def colours(project: Project, frame: int) -> list[tuple[int, ...] | None]:
    """What a frame shows, region by region (None: unpainted)."""
    fills = project.fills(frame)
    assert fills is not None
    return [project.palette[s].color if s >= 0 else None for s in fills.style]


def test_deleting_a_style_keeps_every_frame_s_colours_and_undoes(
    shot_dir: Path, tmp_path: Path
) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 4)
    paint_all(project, engine, 2, 6)
    count = engine.frame(2).regions.count
    edit = project.fill_edit(2, count, [0], 2, FillMode.PAINT)
    assert edit is not None
    project.commit(edit)
    paint_all(project, engine, 3, 1)
    shown = {f: colours(project, f) for f in (1, 2, 3)}
    old = project.palette
    # Style 2 goes; its region is repainted with style 6 (5 after).
    deletion = project.style_deletion(2, replacement=6)
    assert deletion.frames == (1, 2)  # frame 3 uses style 1 only
    project.commit(deletion)
    assert len(project.palette) == len(old) - 1
    assert old[2] not in project.palette.styles
    assert colours(project, 1) == shown[1]
    assert colours(project, 2) == [old[6].color] * count
    assert colours(project, 3) == shown[3]
    # A save and a reload show the same.
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    loaded = load_project(path)
    assert loaded.palette == project.palette
    assert all(colours(loaded, f) == colours(project, f) for f in (1, 2, 3))
    # Undo brings the style and every fill back; redo deletes it again.
    project.undo()
    assert project.palette == old
    assert {f: colours(project, f) for f in (1, 2, 3)} == shown
    fills = project.fills(2)
    assert fills is not None and fills.style[0] == 2
    project.redo()
    assert colours(project, 2) == [old[6].color] * count
    # Deleting a style used nowhere changes no frame but still renumbers.
    generation = project.generation
    unused = project.style_deletion(0, None)
    assert unused.frames == (1, 2, 3) and unused.renumbers
    project.commit(unused)
    assert project.generation == generation + 1
    assert colours(project, 1) == shown[1]


def test_deleting_a_style_with_no_replacement_leaves_its_regions_to_paint(
    shot_dir: Path,
) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 3)
    project.commit(project.style_deletion(3, None))
    fills = project.fills(1)
    assert fills is not None and not fills.painted.any()
    assert fills.needs_paint.all()  # Next problem finds them
    assert 1 in project.keys


def test_deleting_a_style_renumbers_frames_known_only_by_their_style_images(
    shot_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "scene.cadmium"
    engine, _ = saved_with_frame_3_as_image(shot_dir, path, {1: 5, 3: 7, 4: 8})
    # Frame 4's region fills no longer fit (its drawing was changed since):
    # it is read back from its style image when it is next seen.
    document = json.loads(path.read_text())
    document["frames"]["4"]["regions"] = 99
    npz = data_dir_for(path) / document["frames"]["4"]["fills"]
    np.savez(
        npz,
        **{
            k: np.zeros(99, t)
            for k, t in (
                ("style", np.int32),
                ("origin", np.uint8),
                ("confidence", np.float32),
                ("flagged", bool),
            )
        },
    )
    path.write_text(json.dumps(document))
    loaded = load_project(path)
    assert loaded.style_use(7) == (0, 1)  # frame 3: a frame, regions unknown
    loaded.commit(loaded.style_deletion(5, None))
    assert loaded.generation == 1
    old = default_palette()  # the palette painted with
    for frame, style in ((3, 7), (4, 8)):
        fitted = loaded.adopt(frame, engine.frame(frame).regions)
        assert fitted is not None
        assert colours(loaded, frame) == [old[style].color] * len(fitted)
        assert (fitted.origin == ORIGIN_ANIMATOR).all()
    fills = loaded.fills(1)
    assert fills is not None and not fills.painted.any()
    # Undone, the images read the old way again.
    again = load_project(path)
    again.commit(again.style_deletion(5, None))
    again.undo()
    fitted = again.adopt(3, engine.frame(3).regions)
    assert fitted is not None and (fitted.style == 7).all()
    # Saved without segmenting (an autosave) after a deletion, frame 3's
    # image is written renumbered: it reopens in its colour.
    third = load_project(path)
    third.commit(third.style_deletion(0, None))
    autosave = autosave_path_for(path)
    save_project(third.snapshot(), autosave, data_dir=data_dir_for(path))
    reopened = load_project(autosave)
    fitted = reopened.adopt(3, engine.frame(3).regions)
    assert fitted is not None and (fitted.style == 6).all()
    assert colours(reopened, 3) == [old[7].color] * len(fitted)


def test_a_gap_change_before_a_deletion_is_not_returned_to_exactly(
    shot_dir: Path,
) -> None:
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 4)
    fills = project.fills(1)
    assert fills is not None
    project.commit(project.gap_edit(6, {1: fills}))
    assert project.left_gap(engine.gap) is not None
    project.commit(project.style_deletion(0, None))
    # The fills kept by the gap change name styles by their old numbers.
    assert project.left_gap(engine.gap) is None


def saved_with_frame_3_as_image(
    shot_dir: Path, path: Path, styles: dict[int, int]
) -> tuple[ShotEngine, Callable[[int], Regions]]:
    """Frames painted with ``styles`` (frame -> style) and saved to ``path``;
    then frame 3's region fills are lost, so a project opened from it
    knows frame 3 by its style image alone."""
    project, engine = new_project(shot_dir)
    for frame, style in styles.items():
        paint_all(project, engine, frame, style)
    regions_of = lambda n: engine.frame(n).regions  # noqa: E731
    save_project(project.snapshot(), path, regions_of=regions_of)
    for name in data_dir_for(path).glob("000003-*.npz"):
        name.unlink()
    return engine, regions_of


def test_a_save_after_a_deletion_keeps_what_the_project_still_reads(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Frame 3 is known only by its style image. Deleting a style and saving
    writes the frame anew, renumbered; its old image is no longer named by
    the file but is still what the open project reads the frame from, and
    what an undo of the deletion brings back. Neither the save's clean-up
    nor the autosave's removes it, and undo and redo recolour the frame
    even after it was fitted in between."""
    path = tmp_path / "scene.cadmium"
    engine, regions_of = saved_with_frame_3_as_image(shot_dir, path, {1: 5, 3: 7})
    loaded = load_project(path)
    old = loaded.palette
    deletion = loaded.style_deletion(5, None)
    loaded.commit(deletion)
    # As the application saves: beside its autosave, then the autosave goes.
    autosave = autosave_path_for(path)
    save_project(loaded.snapshot(), path, keep_also=[autosave], regions_of=regions_of)
    remove_autosave(autosave, path, loaded.opened_images)
    fitted = loaded.adopt(3, engine.frame(3).regions)
    assert fitted is not None
    assert colours(loaded, 3) == [old[7].color] * len(fitted)
    # The deletion now names frame 3 too, and is still the edit its undo
    # command holds (the application checks that the stacks agree).
    assert loaded.history.undo_stack[-1].edit is deletion
    assert 3 in deletion.frames
    assert loaded.undo() is deletion
    loaded.redo()
    loaded.undo()
    assert colours(loaded, 3) == [old[7].color] * len(fitted)
    fills = loaded.fills(3)
    assert fills is not None and (fills.style == 7).all()
    loaded.redo()
    fills = loaded.fills(3)
    assert fills is not None and (fills.style == 6).all()
    assert colours(loaded, 3) == [old[7].color] * len(fitted)
    # Saved from a session with nothing left to undo, the old image goes.
    save_project(loaded.snapshot(), path, regions_of=regions_of)
    reopened = load_project(path)
    save_project(reopened.snapshot(), path, regions_of=regions_of)
    named = json.loads(path.read_text())["frames"]["3"]["styles"]
    assert sorted(p.name for p in data_dir_for(path).glob("000003-*.png")) == [named]


def test_a_job_reading_a_snapshot_keeps_its_style_images_through_a_save(
    shot_dir: Path, tmp_path: Path
) -> None:
    """An export or a gap change reads frames from the snapshot it took.
    Frame 3, known by its style image alone, is shown, touched up and saved
    meanwhile: the image the snapshot reads from stays until the project is
    closed."""
    path = tmp_path / "scene.cadmium"
    engine, regions_of = saved_with_frame_3_as_image(shot_dir, path, {3: 7})
    loaded = load_project(path)
    snap = loaded.snapshot()
    regions = engine.frame(3).regions
    loaded.adopt(3, regions)
    touch_up = loaded.fill_edit(3, regions.count, [0], 2, FillMode.PAINT)
    assert touch_up is not None
    loaded.commit(touch_up)
    save_project(loaded.snapshot(), path, regions_of=regions_of)
    fills = snap.fills_for(3, regions)
    assert fills is not None and (fills.style == 7).all()


def test_undoing_a_propagation_over_a_frame_not_shown_yet_keeps_its_paint(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Frame 3, known by its style image alone, is painted by a run before
    it is ever shown; undoing the run brings its painting back."""
    path = tmp_path / "scene.cadmium"
    engine, _ = saved_with_frame_3_as_image(shot_dir, path, {3: 7})
    loaded = load_project(path)
    regions = engine.frame(3).regions
    painted = loaded.snapshot().fills_for(3, regions)
    assert painted is not None
    # What a run gives a frame it found painted: the animator's fills.
    edit = loaded.propagation_edit({3: painted}, "Propagate")
    assert edit is not None
    loaded.commit(edit)
    loaded.undo()
    fills = loaded.adopt(3, regions)
    assert fills is not None and (fills.style == 7).all()
    loaded.redo()
    fills = loaded.fills(3)
    assert fills is not None and (fills.style == 7).all()
