from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.errors import ShotError
from engine.imageio import write_png
from engine.shot import frame_number, open_shot, rescan, shot_gap


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("0001.png", 1),
        ("A_0001.png", 1),
        ("cut12.0001.tga", 1),
        ("animation0001.tif", 1),
        ("frame-7.png", 7),
        ("x000000.png", 0),
        ("shot3_v2_0042.png", 42),
        ("notes.png", None),
    ],
)
def test_frame_numbers_from_any_naming(name: str, number: int | None) -> None:
    assert frame_number(name) == number


def _frame(path: Path, size: tuple[int, int] = (40, 30)) -> None:
    write_png(path, np.full((size[1], size[0]), 255, np.uint8))


def test_frames_pair_by_number_with_holes_and_other_names(tmp_path: Path) -> None:
    for n in (0, 1, 2, 5):
        _frame(tmp_path / "line" / f"cut12.{n:04d}.png")
    _frame(tmp_path / "color" / "2.png")
    (tmp_path / "line" / "README.txt").write_text("ignored")
    (tmp_path / "line" / ".hidden0003.png").write_text("ignored")
    shot = open_shot(tmp_path)
    assert shot.frames == [0, 1, 2, 5]
    assert list(shot.color) == [2]
    assert shot.output_name(5) == "cut12.0005.png"


def test_tga_frames_are_renamed_to_png_for_output(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "line").mkdir()
    Image.new("RGB", (10, 10), "white").save(tmp_path / "line" / "A_0001.tga")
    assert open_shot(tmp_path).output_name(1) == "A_0001.png"


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda root: None, "not found"),
        (lambda root: root.mkdir(), "no line/"),
        (lambda root: (root / "line").mkdir(parents=True), "no numbered line frames"),
    ],
)
def test_missing_or_empty_shots(tmp_path: Path, setup, words: str) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "shot"
    setup(root)
    with pytest.raises(ShotError, match=words):
        open_shot(root)


def test_duplicate_frame_numbers_are_refused(tmp_path: Path) -> None:
    _frame(tmp_path / "line" / "a_0001.png")
    _frame(tmp_path / "line" / "b_001.png")
    with pytest.raises(ShotError, match="appears twice"):
        open_shot(tmp_path)


def test_a_version_after_the_frame_number_is_explained(tmp_path: Path) -> None:
    """shot_0001_v2.png carries frame 2 by the contract's rule (the last
    number): frames saved with a version suffix collide, and the error
    says why."""
    _frame(tmp_path / "line" / "shot_0001_v2.png")
    _frame(tmp_path / "line" / "shot_0002_v2.png")
    with pytest.raises(ShotError, match="the last number in its name"):
        open_shot(tmp_path)


def test_a_rescan_finds_the_frames_drawn_and_deleted_since_opening(
    tmp_path: Path,
) -> None:
    """Clean-up goes on while a shot is open: frames are drawn into line/
    and deleted from it. A rescan sees both; its colour frame goes with a
    deleted drawing; nothing changed gives the same shot back."""
    for n in (1, 2, 3):
        _frame(tmp_path / "line" / f"A_{n:04d}.png")
    _frame(tmp_path / "color" / "0002.png")
    shot = open_shot(tmp_path)
    assert rescan(shot) is shot
    (tmp_path / "line" / "A_0002.png").unlink()
    _frame(tmp_path / "line" / "A_0004.png")
    _frame(tmp_path / "line" / "A_0010.png")
    now = rescan(shot)
    assert now.frames == [1, 3, 4, 10]
    assert now.root == shot.root and now.color == {}
    assert now.output_name(10) == "A_0010.png"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda line: _frame(line / "B_0001.png"), "appears twice"),
        (lambda line: (line / "A_0001.png").unlink(), "no numbered line frames"),
        (lambda line: (line / "A_0001.png").rename(line / "x.png"), "no numbered"),
    ],
)
def test_a_rescan_that_would_lose_the_shot_s_frames_is_refused(
    tmp_path: Path,
    change,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    """Two files of one number (a save under way), no frames left (a folder
    emptied or unmounted): an error, so the caller keeps what it has."""
    line = tmp_path / "line"
    _frame(line / "A_0001.png")
    shot = open_shot(tmp_path)
    change(line)
    with pytest.raises(ShotError, match=words):
        rescan(shot)


def test_colour_frame_without_line_frame_is_refused(tmp_path: Path) -> None:
    _frame(tmp_path / "line" / "0001.png")
    _frame(tmp_path / "color" / "0002.png")
    with pytest.raises(ShotError, match="no line frame"):
        open_shot(tmp_path)


@pytest.mark.parametrize("gap", ['"wide"', "null", "100", "-1", "true", "8.5", "[8]"])
def test_a_bad_gap_in_shot_json_names_the_file_and_the_setting(
    tmp_path: Path, gap: str
) -> None:
    _frame(tmp_path / "line" / "0001.png")
    (tmp_path / "shot.json").write_text(f'{{"settings": {{"gap": {gap}}}}}')
    shot = open_shot(tmp_path)  # a project keeps its own gap: it still opens
    with pytest.raises(ShotError) as error:
        shot_gap(shot, 8)
    message = str(error.value)
    assert message.startswith(str(tmp_path / "shot.json"))
    assert f"settings.gap {gap}: use a whole number of px from 0 (off) to 64" in message
    assert "\n" not in message


@pytest.mark.parametrize("fps", ["0", "-24", "1e999", '"NaN"', '"inf"'])
def test_an_fps_that_is_no_frame_rate_is_refused(tmp_path: Path, fps: str) -> None:
    _frame(tmp_path / "line" / "0001.png")
    (tmp_path / "shot.json").write_text(f'{{"fps": {fps}}}')
    with pytest.raises(ShotError, match=r"shot.json: fps .*: use a number above 0"):
        open_shot(tmp_path)


@pytest.mark.parametrize(("gap", "read"), [("0", 0), ("64", 64), ("12.0", 12)])
def test_a_good_gap_in_shot_json_is_read_as_whole_px(
    tmp_path: Path, gap: str, read: int
) -> None:
    _frame(tmp_path / "line" / "0001.png")
    (tmp_path / "shot.json").write_text(f'{{"settings": {{"gap": {gap}}}}}')
    gap = shot_gap(open_shot(tmp_path), 8)
    assert gap == read and isinstance(gap, int)


def test_shot_json_from_a_windows_editor_is_read(tmp_path: Path) -> None:
    _frame(tmp_path / "line" / "0001.png")
    text = '{"fps": 25, "palette": [{"name": "skin", "color": "#f0c8a0"}]}'
    (tmp_path / "shot.json").write_bytes(b"\xef\xbb\xbf" + text.encode())  # BOM
    meta = open_shot(tmp_path).meta
    assert meta.fps == 25
    assert meta.palette is not None
    assert meta.palette[0].color == (0xF0, 0xC8, 0xA0, 255)


def test_a_shot_json_that_cannot_be_read_says_so_not_bad_json(
    tmp_path: Path,
) -> None:
    _frame(tmp_path / "line" / "0001.png")
    (tmp_path / "shot.json").mkdir()  # or unreadable: no permission
    with pytest.raises(ShotError) as error:
        open_shot(tmp_path)
    assert str(error.value) == f"{tmp_path / 'shot.json'}: cannot read (Is a directory)"


@pytest.mark.parametrize(
    "style",
    [
        '{"name": "skin", "color": 112233}',  # a number is not read as hex
        '{"name": "skin", "color": "#12345g"}',
        '{"name": "skin", "color": "#+12345"}',
        '{"name": "skin", "color": "#112233", "paint_trace": "false"}',
        '"skin"',
    ],
)
def test_a_bad_palette_style_in_shot_json_is_refused_naming_the_file(
    tmp_path: Path, style: str
) -> None:
    _frame(tmp_path / "line" / "0001.png")
    (tmp_path / "shot.json").write_text(f'{{"palette": [{style}]}}')
    with pytest.raises(ShotError) as error:
        open_shot(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'shot.json'}: palette: bad style entry")
    assert "\n" not in message
