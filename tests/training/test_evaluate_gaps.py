from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from training.evaluate_gaps import gap_scores

RED, BLUE, SKY = (220, 40, 40, 255), (40, 40, 220, 255), (200, 220, 240, 255)


def box_shot(*, wall_gap: int, same_colour: bool) -> SimpleNamespace:
    """A box cut by a wall at x = 48 that stops ``wall_gap`` px short of the
    bottom edge; two parts (red | blue) or, with ``same_colour``, one part
    with a fold line."""
    h, w = 64, 96
    line = np.full((h, w), 255, np.uint8)
    line[4:6, 4:92] = line[58:60, 4:92] = 0
    line[4:60, 4:6] = line[4:60, 90:92] = 0
    line[4 : 58 - wall_gap, 47:49] = 0
    labels = np.ones((h, w), np.uint16)  # 1 = background, outside the box
    labels[6:58, 6:48] = 2
    labels[6:58, 48:90] = 2 if same_colour else 3
    labels[line == 0] = 0
    color = np.zeros((h, w, 4), np.uint8)
    color[labels == 1] = SKY
    color[labels == 2] = RED
    color[labels == 3] = BLUE
    return SimpleNamespace(line=[line], color=[color], labels=[labels])


def test_a_gap_wider_than_the_setting_leaks_and_a_wide_enough_setting_stops_it() -> (
    None
):
    shot = box_shot(wall_gap=6, same_colour=False)
    open_wall = gap_scores(shot, 4)
    closed = gap_scores(shot, 8)
    assert open_wall["leak_free"] < 0.7  # red and blue share a region: one is lost
    assert open_wall["regions"] == 2
    assert closed["leak_free"] == 1.0
    assert closed["regions"] == 3
    assert closed["cut"] == 0.0


def test_a_fold_line_ending_near_the_outline_is_cut_by_a_wide_setting() -> None:
    shot = box_shot(wall_gap=6, same_colour=True)
    assert gap_scores(shot, 4)["cut"] == 0.0
    wide = gap_scores(shot, 8)
    assert wide["cut"] == 0.5  # the inside of the box, of two parts
    assert wide["leak_free"] == 1.0  # both halves keep the part's colour


def test_the_command_prints_a_row_per_source_and_gap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from training.evaluate_gaps import main

    argv = ["--shots", "1", "--sources", "procedural", "--gaps", "0,8"]
    assert main([*argv, "--size", "192x144", "--frames", "4"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| ")]
    assert [r.split(" | ")[:2] for r in rows[1:]] == [
        ["| all (1)", "0"],
        ["| all (1)", "8"],
        ["| procedural (1)", "0"],
        ["| procedural (1)", "8"],
    ]
    for row in rows[1:]:
        leak_free = float(row.split(" | ")[2])
        assert 0.5 < leak_free <= 1.0
