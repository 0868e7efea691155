"""Project files as studios keep them: reached through a link, read-only,
with a damaged fill file; saves that fail leave nothing behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_project import make_shot, new_project, paint_all

from engine import imageio
from engine.errors import CadmiumError
from engine.project import data_dir_for, load_project, save_project


@pytest.fixture()
def shot_dir(tmp_path: Path) -> Path:
    return make_shot(tmp_path / "shot")


def test_a_project_opened_through_a_link_keeps_its_paint_and_the_link(
    shot_dir: Path, tmp_path: Path
) -> None:
    """A "latest" link to a project elsewhere: its fill folder was looked
    for beside the link (every frame opened unpainted), and a save replaced
    the link with a file whose fills were in the wrong folder."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    real = tmp_path / "versions" / "scene.cadmium"
    real.parent.mkdir()
    save_project(project.snapshot(), real)
    link = tmp_path / "current" / "latest.cadmium"
    link.parent.mkdir()
    link.symlink_to(Path("..") / "versions" / "scene.cadmium")

    opened = load_project(link)
    assert opened.lost_frames == [] and opened.painted_frames == [1]
    paint_all(opened, engine, 3, 4)
    save_project(opened.snapshot(), link)

    assert link.is_symlink() and link.resolve() == real.resolve()
    assert not data_dir_for(link).exists()
    again = load_project(link)
    assert again.painted_frames == [1, 3]
    assert load_project(real).painted_frames == [1, 3]


def test_a_link_that_leads_round_in_a_loop_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a.cadmium", tmp_path / "b.cadmium"
    first.symlink_to(second.name)
    second.symlink_to(first.name)
    with pytest.raises(CadmiumError, match="not a readable project") as error:
        load_project(first)
    assert str(error.value).startswith(f"{first}: ")


def test_a_read_only_project_file_is_not_saved_over(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Its folder being writable, a save replaced a read-only (0444)
    project file with a writable one."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    path.chmod(0o444)
    before = path.read_bytes(), sorted(data_dir_for(path).iterdir())
    paint_all(project, engine, 3, 4)
    with pytest.raises(CadmiumError, match="read-only") as error:
        save_project(project.snapshot(), path)
    assert str(error.value).startswith(f"{path}: ")
    assert "Save As" in str(error.value)
    assert (path.read_bytes(), sorted(data_dir_for(path).iterdir())) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_a_colleagues_project_file_in_a_shared_folder_is_saved(
    shot_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file only someone else may write (0644, theirs), in a folder all
    may write: the save replaces it, as before. It was refused as
    'read-only' (os.access said no), blocking whoever saved after."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    path.chmod(0o644)
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    paint_all(project, engine, 3, 4)
    save_project(project.snapshot(), path)
    assert load_project(path).painted_frames == [1, 3]  # saved again


def test_a_save_soon_after_opening_keeps_a_frame_whose_style_image_is_damaged(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Frame 3's fill file is damaged and its style image is of another
    size. The first save after opening failed with a message naming no file
    ("style image does not match the frame's size"); once the frame loader
    had come to the frame, the next one worked. The save now works either
    way, keeps the frame as it was, and the message naming the frame's
    file is the loader's."""
    project, engine = new_project(shot_dir)
    for frame in (1, 3):
        paint_all(project, engine, frame, frame)
    path = tmp_path / "scene.cadmium"
    regions_of = lambda n: engine.frame(n).regions  # noqa: E731
    save_project(project.snapshot(), path, regions_of=regions_of)
    (npz,) = data_dir_for(path).glob("000003-*.npz")
    npz.write_bytes(b"damaged")
    (png,) = data_dir_for(path).glob("000003-*.png")
    cv2.imwrite(str(png), np.ones((20, 30), np.uint16))

    opened = load_project(path)
    paint_all(opened, engine, 2, 2)
    save_project(opened.snapshot(), path, regions_of=regions_of)  # before adopt
    again = load_project(path)
    assert again.painted_frames == [1, 2, 3]
    with pytest.raises(CadmiumError) as error:
        again.adopt(3, engine.frame(3).regions)
    assert str(error.value) == (
        f"{png}: style image of 30x20 pixels, for a frame of 128x96"
    )
    save_project(again.snapshot(), path, regions_of=regions_of)  # after adopt
    assert load_project(path).painted_frames == [1, 2]


def test_a_save_that_fails_leaves_the_fill_folder_as_it_was(
    shot_dir: Path, tmp_path: Path
) -> None:
    """A failed save (cancelled, a full disk) left the fill files it had
    written so far, which no project file names."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 1)
    path = tmp_path / "scene.cadmium"
    regions_of = lambda n: engine.frame(n).regions  # noqa: E731
    save_project(project.snapshot(), path, regions_of=regions_of)
    before = path.read_bytes(), sorted(data_dir_for(path).iterdir())
    for frame in (2, 3):
        paint_all(project, engine, frame, frame)
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) == 3  # after frame 2 was written

    with pytest.raises(CadmiumError, match="cancelled"):
        save_project(
            project.snapshot(), path, regions_of=regions_of, cancelled=cancelled
        )
    assert (path.read_bytes(), sorted(data_dir_for(path).iterdir())) == before


def test_a_save_as_that_fails_leaves_no_fill_folder_behind(
    shot_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Save As onto a full disk left a half-filled NAME.cadmium.fills/."""
    project, engine = new_project(shot_dir)
    for frame in (1, 2):
        paint_all(project, engine, frame, frame)
    write = imageio.atomic_write_bytes

    def full_disk(path: Path, data: bytes) -> None:
        if path.suffix == ".cadmium":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write(path, data)

    monkeypatch.setattr("engine.project.atomic_write_bytes", full_disk)
    path = tmp_path / "elsewhere" / "scene.cadmium"
    path.parent.mkdir()
    with pytest.raises(OSError, match="No space left"):
        save_project(
            project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions
        )
    assert list(path.parent.iterdir()) == []


def test_a_project_whose_shot_is_gone_says_so_once(
    shot_dir: Path, tmp_path: Path
) -> None:
    """It said "damaged project file (PATH: its shot folder ... is gone)":
    the path twice, and the file is not damaged."""
    project, _ = new_project(shot_dir)
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path)
    shot_dir.rename(tmp_path / "moved")
    with pytest.raises(CadmiumError) as error:
        load_project(path)
    assert str(error.value) == f"{path}: its shot folder {shot_dir} is gone"


def test_a_project_in_a_folder_beside_its_shot_names_the_shot_plainly(
    shot_dir: Path, tmp_path: Path
) -> None:
    """Saved in proj/ beside shot/, the shot opened as proj/../shot, and the
    application suggested proj/../shot_colorized for its outputs."""
    project, engine = new_project(shot_dir)
    paint_all(project, engine, 1, 2)
    path = tmp_path / "proj" / "scene.cadmium"
    path.parent.mkdir()
    save_project(project.snapshot(), path)
    assert load_project(path).shot.root == shot_dir
    # Reached through a link to a folder elsewhere, ".." is the real folder's
    # parent: the shot is found as before.
    (tmp_path / "elsewhere").mkdir()
    linked = tmp_path / "elsewhere" / "proj"
    linked.symlink_to(path.parent)
    assert load_project(linked / "scene.cadmium").shot.root.resolve() == shot_dir
