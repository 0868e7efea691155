"""Project files as studios keep them: reached through a link, read-only,
with a damaged fill file; saves that fail leave nothing behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from test_project import make_shot, new_project, paint_all

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
