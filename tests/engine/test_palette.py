"""Named styles: unique names, and how deleting one renumbers the rest."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from engine.errors import ShotError
from engine.fills import ORIGIN_ANIMATOR, ORIGIN_NONE, ORIGIN_PROPAGATED, FillMap
from engine.palette import UNPAINTED, Palette, Style, renumbering


def palette(*names: str) -> Palette:
    return Palette(tuple(Style(n, (i, i, i, 255)) for i, n in enumerate(names)))


def test_a_repeated_name_in_a_file_gets_a_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = [
        {"name": "Skin", "color": "#f0c8a0"},
        {"name": "Skin", "color": "#d0a080"},
        {"name": "Skin 2", "color": "#000000"},
        {"name": "Skin", "color": "#ffffff"},
    ]
    with caplog.at_level(logging.WARNING):
        read = Palette.from_json(data)
    # A name the file gives a style itself is kept.
    assert [s.name for s in read.styles] == ["Skin", "Skin 3", "Skin 2", "Skin 4"]
    assert [s.color[0] for s in read.styles] == [0xF0, 0xD0, 0x00, 0xFF]
    assert "second style named 'Skin'" in caplog.text
    # Adding a style names it the same way.
    grown, index = read.with_style(Style("Skin", (1, 2, 3, 255)))
    assert index == 4 and grown[4].name == "Skin 5"
    # Names that differ only in case look alike: one gets a number too.
    grown, index = grown.with_style(Style("skin", (1, 2, 3, 255)))
    assert grown[index].name == "skin 6" and grown[index - 1].name == "Skin 5"
    grown, index = grown.with_style(Style("SKIN 5", (1, 2, 3, 255)))
    assert grown[index].name == "SKIN 5 2"


def test_a_bad_style_entry_is_one_clear_error() -> None:
    with pytest.raises(ShotError, match="bad style entry"):
        Palette.from_json([{"name": "Skin"}])


def test_deleting_a_style_moves_the_later_ones_up() -> None:
    styles = palette("Skin", "Hair", "Shirt", "Shoes")
    assert [s.name for s in styles.without(1).styles] == ["Skin", "Shirt", "Shoes"]
    assert renumbering(4, 1, None).tolist() == [0, UNPAINTED, 1, 2]
    # The deleted style's regions take the replacement's new index.
    assert renumbering(4, 1, 3).tolist() == [0, 2, 1, 2]
    assert renumbering(4, 2, 0).tolist() == [0, 1, 0, 2]
    with pytest.raises(IndexError):
        styles.without(4)
    with pytest.raises(ValueError, match="cannot replace"):
        renumbering(4, 1, 1)


def test_renumbered_fills_keep_their_colours_and_blank_the_deleted_ones() -> None:
    styles = palette("Skin", "Hair", "Shirt", "Shoes")
    fills = FillMap(
        style=np.array([0, 1, 2, 3, UNPAINTED], np.int32),
        origin=np.array([1, 1, 2, 2, 0], np.uint8),
        confidence=np.array([1, 1, 0.4, 0.9, 0], np.float32),
        flagged=np.array([False, False, True, False, False]),
    )
    new_index = renumbering(4, 1, None)
    after = fills.renumbered(new_index)
    kept = styles.without(1)
    colours = [kept[s].color if s >= 0 else None for s in after.style]
    assert colours == [styles[0].color, None, styles[2].color, styles[3].color, None]
    # The deleted style's region is blank again; the rest keep their fill.
    assert after.origin.tolist() == [ORIGIN_ANIMATOR, ORIGIN_NONE] + [
        ORIGIN_PROPAGATED,
        ORIGIN_PROPAGATED,
        ORIGIN_NONE,
    ]
    assert after.flagged.tolist() == [False, False, True, False, False]
    assert after.confidence[1] == 0 and after.confidence[2] == pytest.approx(0.4)
