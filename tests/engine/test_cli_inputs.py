"""The command line on input that is damaged or out of the ordinary:
projects reached through links or with unreadable paint, JSON nested too
deep to parse, output folders holding another tool's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from test_cli import Completed, _one_line_error, make_shot, run_cli, run_main

from engine.facade import ShotEngine
from engine.palette import default_palette
from engine.project import FillMode, Project, data_dir_for, save_project
from engine.shot import open_shot


def saved_project(root: Path, painted: tuple[int, ...] = (1, 3)) -> Path:
    """A project of a 4-frame shot with ``painted`` frames painted whole
    (each its own style), keys all, saved as root/proj/scene.cadmium."""
    shot = open_shot(make_shot(root / "shot", frames=4, keys=()))
    engine = ShotEngine(shot=shot, matcher="assignment")
    project = Project(shot=shot, palette=default_palette(), gap=engine.gap)
    for frame in painted:
        count = engine.frame(frame).regions.count
        edit = project.fill_edit(frame, count, range(count), frame, FillMode.PAINT)
        assert edit is not None
        project.commit(edit)
    path = root / "proj" / "scene.cadmium"
    path.parent.mkdir()
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)
    return path


def colorize(capsys: pytest.CaptureFixture[str], target: Path, out: Path) -> Completed:
    return run_main(
        capsys, "colorize-shot", str(target), "--out", str(out), "--matcher", "overlap"
    )


def test_a_project_reached_through_a_link_renders_its_paint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its fill folder was looked for beside the link: every frame opened
    unpainted, and the run failed for want of a painted key."""
    real = saved_project(tmp_path)
    link = tmp_path / "latest.cadmium"
    link.symlink_to(real.relative_to(tmp_path))
    result = colorize(capsys, link, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["keys"] == [1, 3]


def test_a_batch_writing_into_a_project_s_shot_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """colorize-shot other scene.cadmium --out shot/out: other's outputs
    went inside the project's shot folder before the project's own run was
    refused."""
    project = saved_project(tmp_path)
    other = make_shot(tmp_path / "other", frames=2)
    shot = tmp_path / "shot"
    before = sorted(p.relative_to(shot) for p in shot.rglob("*"))
    out = shot / "out"
    args = [str(other), str(project), "--out", str(out), "--matcher", "overlap"]
    result = run_main(capsys, "colorize-shot", *args, "--quiet")
    assert result.returncode == 2
    assert result.stderr == (
        f"cadmium: {out}: the output folder must be outside every shot "
        f"({shot} is one)\n"
    )
    assert sorted(p.relative_to(shot) for p in shot.rglob("*")) == before


def edited(path: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    """The project file at ``path``, edited as by hand."""
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize("damage", ["fill files gone", "entry not an entry"])
def test_a_project_whose_saved_paint_cannot_be_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """Key 3's paint unreadable: the run said so in a warning, rendered every
    frame from key 1 alone, and exited 0 (the contract: bad input ends in
    a one-line reason and a non-zero status)."""
    path = saved_project(tmp_path)
    fill_file = next(data_dir_for(path).glob("000003-*.npz"))
    if damage == "fill files gone":
        for name in data_dir_for(path).glob("000003-*"):
            name.unlink()
        words: tuple[str, ...] = (str(fill_file), "not found")
    else:
        edited(path, lambda d: d["frames"].update({"3": "hello"}))
        words = ("its entry names no fill file",)
    result = colorize(capsys, path, tmp_path / "out")
    _one_line_error(
        result, f"cadmium: {path}: the saved paint of frame 3 cannot be read", *words
    )
    assert not (tmp_path / "out").exists()


def test_a_propagated_frame_whose_saved_paint_is_lost_is_painted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a key: the run paints it from the keys as it paints every such
    frame, says so, and renders (it was refused like a lost key)."""
    path = saved_project(tmp_path)
    edited(path, lambda d: d.update(keys=[1]))  # frame 3 painted, not a key
    for name in data_dir_for(path).glob("000003-*"):
        name.unlink()
    result = colorize(capsys, path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["keys"] == [1]
    assert len(report["frames"]) == 4


@pytest.mark.parametrize("which", ["frame", "project file", "shot.json"])
def test_a_pipe_named_like_a_frame_project_or_shot_json_is_one_line_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    """colorize-shot waited forever on a named pipe (line/sc01_0002.png, a
    project file, shot.json)."""
    if which == "project file":
        target = pipe = tmp_path / "scene.cadmium"
    else:
        target = make_shot(tmp_path / "shot", frames=3)
        pipe = target / ("shot.json" if which == "shot.json" else "line/sc01_0002.png")
        pipe.unlink(missing_ok=True)
    os.mkfifo(pipe)
    # Should it wait again, a writer that comes and goes ends the wait.
    unblock = threading.Timer(10, lambda: os.close(os.open(pipe, os.O_RDWR)))
    unblock.daemon = True
    unblock.start()
    result = colorize(capsys, target, tmp_path / "out")
    unblock.cancel()
    _one_line_error(result, str(pipe), "not a file but a pipe")


@pytest.mark.parametrize("damage", ["palette cut short", "style image resized"])
def test_a_style_image_that_cannot_be_read_is_one_line_naming_it(
    tmp_path: Path, damage: str
) -> None:
    """Frame 3 read back from its style image, which cannot be read either:
    warnings that frames were read back came first, then a line naming the
    style image's file name alone, or nothing at all ("style image does not
    match the frame's size"): neither the project, the frame nor where the
    file is."""
    path = saved_project(tmp_path)
    (style_image,) = data_dir_for(path).glob("000003-*.png")
    if damage == "palette cut short":
        edited(path, lambda d: d.update(palette=d["palette"][:2]))
        words = ("names style 4, and the palette has 2",)
    else:
        (fill_file,) = data_dir_for(path).glob("000003-*.npz")
        fill_file.write_bytes(b"damaged")
        cv2.imwrite(str(style_image), np.ones((50, 100), np.uint16))
        words = ("style image of 100x50 pixels, for a frame of 200x120",)
    # In a process of its own: the warnings it logged went to its stderr.
    result = run_cli(
        "colorize-shot",
        str(path),
        "--out",
        str(tmp_path / "out"),
        "--matcher",
        "overlap",
    )
    _one_line_error(
        result,
        f"cadmium: {path}: the saved paint of frame 3 cannot be read: {style_image}: ",
        *words,
    )
    assert not (tmp_path / "out").exists()


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("project", ("scene.cadmium", "not a readable project", "nested too deep")),
        ("shot.json", ("shot.json", "not valid JSON")),
        ("report.json", ("out: holds", "Cadmium did not write")),
    ],
)
def test_json_nested_too_deep_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, words: tuple[str]
) -> None:
    """A project file, shot.json or an output folder's report.json holding
    ``[[[[...`` ended in a RecursionError traceback."""
    shot = make_shot(tmp_path / "shot", frames=2)
    out = tmp_path / "out"
    target = shot
    if where == "project":
        target = tmp_path / "scene.cadmium"
        target.write_text(DEEP)
    elif where == "shot.json":
        (shot / "shot.json").write_text(DEEP)
    else:
        (out / "color").mkdir(parents=True)
        (out / "report.json").write_text(DEEP)
    result = run_main(capsys, "colorize-shot", str(target), "--out", str(out))
    _one_line_error(result, *words)


def test_an_output_mark_nested_too_deep_still_marks_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hidden mark says the folder holds Cadmium's outputs, whatever
    else it fails to say: they are replaced, without a traceback."""
    shot = make_shot(tmp_path / "shot", frames=2)
    out = tmp_path / "out"
    (out / "color").mkdir(parents=True)
    (out / ".cadmium-output").write_text(DEEP)
    result = run_main(
        capsys, "colorize-shot", str(shot), "--out", str(out), "--matcher", "overlap"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "color").iterdir()) == [
        "sc01_0001.png",
        "sc01_0002.png",
    ]


def test_the_engine_command_line_runs_as_a_module() -> None:
    """``python -m engine.cli`` (the commands without Qt) did nothing."""
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "colorize-shot", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: cadmium colorize-shot" in result.stdout


def test_links_that_loop_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project, or an output folder, named by a link that leads round in
    a loop ended in a RuntimeError traceback (resolving the path)."""
    shot = make_shot(tmp_path / "shot", frames=2)
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.cadmium").symlink_to(f"{other}.cadmium")
        (tmp_path / f"out_{name}").symlink_to(f"out_{other}")
    project = tmp_path / "a.cadmium"
    result = colorize(capsys, project, tmp_path / "out")
    _one_line_error(result, f"{project}: not a readable project")
    batch = [str(project), str(shot), "--out", str(tmp_path / "batch")]
    result = run_main(capsys, "colorize-shot", *batch, "--matcher", "overlap")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (tmp_path / "batch" / "shot" / "color").is_dir()
    _one_line_error(colorize(capsys, shot, tmp_path / "out_a"), "out_a: cannot write")
