"""Fills saved as style-index images, and read back after styles are deleted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from drawing import blank, circle

from engine.fills import ORIGIN_ANIMATOR, ORIGIN_NONE, ORIGIN_PROPAGATED, FillMap
from engine.imageio import write_png
from engine.palette import UNPAINTED, renumbering
from engine.regions import Regions, segment_image
from engine.style_image import StyleImage, decode_style_image, encode_style_image


def rings() -> tuple[Regions, FillMap]:
    """Three rings (four regions): styles 0, 1, unpainted and 3; the first
    two the animator's, the last propagated."""
    image = blank(200, 160)
    for r in (20, 40, 60):
        circle(image, (100, 80), r)
    _, regions = segment_image(image)
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(3), np.array([0, 1, UNPAINTED]), ORIGIN_ANIMATOR
    )
    fills = fills.with_styles(np.array([3]), 3, ORIGIN_PROPAGATED)
    return regions, fills


def test_fills_survive_a_round_trip_through_a_style_image() -> None:
    regions, fills = rings()
    restored = decode_style_image(regions, encode_style_image(regions, fills))
    assert restored.style.tolist() == fills.style.tolist()
    assert restored.origin.tolist() == fills.origin.tolist()


def test_an_image_reads_as_its_fills_renumbered_over_every_deletion(
    tmp_path: Path,
) -> None:
    regions, fills = rings()
    path = tmp_path / "styles.png"
    write_png(path, encode_style_image(regions, fills))
    # Style 1 deleted, then style 0 (of three left) repainted as style 2.
    steps = (renumbering(4, 1, None), renumbering(3, 0, 2))
    image, expected = StyleImage(path), fills
    for new_index in steps:
        image, expected = image.renumbered(new_index), expected.renumbered(new_index)
    read = decode_style_image(regions, image.read())
    assert read.style.tolist() == expected.style.tolist()
    assert read.style.tolist() == [1, UNPAINTED, UNPAINTED, 1]
    origins = [ORIGIN_ANIMATOR, ORIGIN_NONE, ORIGIN_NONE, ORIGIN_PROPAGATED]
    assert read.origin.tolist() == origins
    assert image.shows(1) and not image.shows(0)
    assert StyleImage(path).shows(3)  # as written
