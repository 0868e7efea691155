"""Lottie and clip-art sources, the on-the-fly dataset and the command lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from probes import usage_error

from engine.imageio import read_image
from engine.shot import open_shot
from training.data.__main__ import main as generate_main
from training.data.checks import check_frame
from training.data.contact_sheet import main as sheet_main
from training.data.dataset import ShotStream
from training.data.generate import generate_shot, parse_sources
from training.data.realism import clean_style
from training.data.stats import main as stats_main

SIZE = (256, 192)


def _agreement(shot) -> tuple[int, int]:
    regions = matched = 0
    for line, labels in zip(shot.line, shot.labels, strict=True):
        result = check_frame(line, labels)
        regions += result.regions
        matched += result.matched
    return regions, matched


def test_lottie_shot_has_ground_truth_and_attribution(tmp_path: Path) -> None:
    lottie = pytest.importorskip("training.data.lottie")
    if not lottie.lottie_files():
        pytest.skip("shared/data/lottie is not here")
    shot = lottie.generate_lottie(1, 0, SIZE, 4, style=clean_style(SIZE))
    assert shot is not None and shot.source == "lottie"
    regions, matched = _agreement(shot)
    assert regions > 0 and matched >= 0.95 * regions
    folder = tmp_path / "lottie"
    from training.data.shot import write_shot

    write_shot(shot, folder)
    notice = (folder / "ATTRIBUTION.md").read_text()
    assert "SOURCES.md" in notice and shot.meta["file"] in notice
    assert open_shot(folder).labels


def test_clipart_shot_when_art_is_installed() -> None:
    pytest.importorskip("resvg_py")
    clipart = pytest.importorskip("training.data.clipart")
    if not clipart.clipart_files():
        pytest.skip("no OpenMoji or Openclipart SVGs on this machine")
    shot = clipart.generate_clipart(4, 1, SIZE, 3, style=clean_style(SIZE))
    assert shot is not None and shot.attribution and shot.licence
    regions, matched = _agreement(shot)
    assert regions > 0 and matched >= 0.99 * regions


def test_stream_is_indexed_by_shot_number() -> None:
    stream = ShotStream(9, size=(128, 96), frames=3, length=3, start=2)
    shots = list(stream)
    assert [s.name for s in shots] == [f"procedural_9_{k:06d}" for k in (2, 3, 4)]
    again = stream[3]
    assert all(
        np.array_equal(a, b) for a, b in zip(shots[1].labels, again.labels, strict=True)
    )
    assert len(stream) == 3


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        parse_sources("procedural,video")
    assert generate_shot(0, 0, size=(96, 96), frames=2).source == "procedural"


def test_command_lines_are_deterministic(tmp_path: Path, capsys) -> None:
    args = ["--shots", "2", "--frames", "3", "--size", "128x96", "--seed", "4"]
    assert generate_main([str(tmp_path / "a"), *args]) == 0
    assert generate_main([str(tmp_path / "b"), *args]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == 2 * (3 * 3 + 1)
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (
            tmp_path / "b" / rel
        ).read_bytes()
    shot_dir = next((tmp_path / "a").iterdir())
    out = tmp_path / "sheet.png"
    assert sheet_main([str(shot_dir), "--out", str(out), "--thumb", "64"]) == 0
    sheet = read_image(out)
    assert sheet.ndim == 3 and sheet.shape[0] >= 3 * 48
    assert "2 shots" in capsys.readouterr().out


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "shots"
    with pytest.raises(SystemExit) as stop:
        generate_main([str(out), "--shots", "1", "--frames", "2", "--size", "64x64"])
    message = str(stop.value)
    assert message.startswith(f"{out / 'procedural_0_000000'}") and "\n" not in message
    assert message.endswith(": cannot write (Not a directory)")


def test_a_contact_sheet_refused_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate_main([str(tmp_path), "--shots", "1", "--frames", "2"]) == 0
    shot = str(next(tmp_path.iterdir()))
    for bad in (["--frames", "0"], ["--thumb", "-1"]):
        error = usage_error(sheet_main, [shot, "--out", "s.png", *bad], capsys)
        assert "less than 1" in error
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "sheet.png"
    assert sheet_main([shot, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "cannot write (" in error


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--shots", "0"], "argument --shots: 0 is less than 1"),
        (["--frames", "0"], "argument --frames: 0 is less than 1"),
        (["--seed", "-1"], "argument --seed: -1 is less than 0"),
        (["--start", "-1"], "argument --start: -1 is less than 0"),
    ],
)
def test_the_generator_refuses_bad_arguments_in_one_line(
    tmp_path: Path, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shots"
    assert words in usage_error(generate_main, [str(out), *argv], capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--seed", "-1"], "argument --seed: -1 is less than 0"),
        (["--frames", "0"], "argument --frames: 0 is less than 1"),
        (["--shots", "0"], "argument --shots: 0 is less than 1"),
        (["--sources", "procedural,video"], "--sources: unknown source 'video'"),
    ],
)
def test_stats_refuse_bad_arguments_in_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert words in usage_error(stats_main, ["--size", "64x64", *argv], capsys)


def test_a_source_without_its_art_is_left_out_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from training.data import lottie
    from training.pairs import available_sources

    monkeypatch.setattr(lottie, "lottie_pool", lambda art: ())
    assert available_sources(["procedural", "lottie"], "heldout") == ("procedural",)
    assert "data source lottie left out: no Lottie files (art heldout)" in caplog.text
