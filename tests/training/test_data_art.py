"""The split of the art files between training and held-out evaluation."""

from __future__ import annotations

import pytest

from training.data.art import HELD_OUT_SHARE, held_out, in_pool, parse_art
from training.data.generate import generate_shot

NAMES = [f"openclipart/animals/creature_{k:04d}.svg" for k in range(3000)]


def test_every_file_is_on_exactly_one_side_and_a_fifth_is_held_out() -> None:
    train = {n for n in NAMES if in_pool(n, "train")}
    heldout = {n for n in NAMES if in_pool(n, "heldout")}
    assert not train & heldout
    assert train | heldout == set(NAMES) == {n for n in NAMES if in_pool(n, "all")}
    assert len(heldout) / len(NAMES) == pytest.approx(HELD_OUT_SHARE, abs=0.03)


def test_a_file_keeps_its_side_whatever_else_is_there() -> None:
    # The side comes from the name alone: adding or losing other files, or
    # another machine's folder, never moves a drawing into training.
    sides = [held_out(n) for n in NAMES]
    assert [held_out(n) for n in reversed(NAMES)] == sides[::-1]
    assert held_out("lottie/walk.json") == held_out("lottie/walk.json")


def test_an_unknown_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown art pool 'test'"):
        parse_art("test")
    with pytest.raises(ValueError, match="unknown art pool"):
        generate_shot(1, 0, size=(128, 96), frames=2, art="test")


def test_held_out_lottie_shots_draw_only_held_out_files() -> None:
    lottie = pytest.importorskip("training.data.lottie")
    if not lottie.lottie_files():
        pytest.skip("shared/data/lottie is not here")
    base = lottie.lottie_root() / "files"
    heldout = {p.relative_to(base).as_posix() for p in lottie.lottie_pool("heldout")}
    train = {p.relative_to(base).as_posix() for p in lottie.lottie_pool("train")}
    assert heldout and train and not heldout & train
    assert len(heldout) + len(train) == len(lottie.lottie_files())
    drawn = set()
    for index in range(3):
        shot = generate_shot(
            777, index, size=(160, 120), frames=2, sources=("lottie",), art="heldout"
        )
        if shot.source == "lottie":
            drawn.add(shot.meta["file"])
    assert drawn and drawn <= heldout


def test_clip_art_pools_split_each_collection() -> None:
    clipart = pytest.importorskip("training.data.clipart")
    files = clipart.clipart_files()
    if not files:
        pytest.skip("no OpenMoji or Openclipart SVGs on this machine")
    heldout, train = clipart.clipart_pool("heldout"), clipart.clipart_pool("train")
    assert not set(heldout) & set(train)
    assert len(heldout) + len(train) == len(files)
    for collection in {c for c, _ in files}:
        share = sum(c == collection for c, _ in heldout) / sum(
            c == collection for c, _ in files
        )
        assert share == pytest.approx(HELD_OUT_SHARE, abs=0.05)


def test_variants_of_one_drawing_are_split_together() -> None:
    from training.data.art import art_name

    waves = ["1F44B.svg", "1F44B-1F3FB.svg", "1f44b-1f3ff.SVG", "1F44B-FE0F.svg"]
    assert {art_name("openmoji", n) for n in waves} == {"openmoji/1F44B.svg"}
    couple = "1F9D1-1F3FB-200D-1F91D-200D-1F9D1-1F3FC.svg"
    assert art_name("openmoji", couple) == "openmoji/1F9D1-200D-1F91D-200D-1F9D1.svg"
    # One Lottie animation kept in two repositories' folders is one drawing.
    assert art_name("lottie", "lottie-ios/C.json") == art_name("lottie", "C.json")
