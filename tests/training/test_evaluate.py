"""Scores and the evaluation protocols."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching import AssignmentMatcher, OverlapMatcher
from training.evaluate import (
    CHAINED,
    DIRECT,
    ReachableMatcher,
    evaluate,
    markdown_table,
)
from training.metrics import frame_scores

RED, GREEN, BLUE, NONE = (
    (255, 0, 0, 255),
    (0, 255, 0, 255),
    (0, 0, 255, 255),
    (0, 0, 0, 0),
)


def scene() -> tuple[np.ndarray, np.ndarray]:
    """Labels: background 1 (large), a 6x6 square 2, a 3x3 speck 3; lines 0."""
    labels = np.ones((20, 20), np.uint16)
    labels[2:10, 2:10] = 0
    labels[3:9, 3:9] = 2
    labels[13:18, 13:18] = 0
    labels[14:17, 14:17] = 3
    color = np.zeros((20, 20, 4), np.uint8)
    color[:] = RED
    color[labels == 2] = GREEN
    color[labels == 3] = BLUE
    return labels, color


def test_perfect_prediction_scores_one() -> None:
    labels, color = scene()
    scores = frame_scores(color, color, labels)
    assert all(v == pytest.approx(1.0) for v in scores.values())


def test_a_wrong_small_segment_counts_in_segments_not_much_in_pixels() -> None:
    labels, color = scene()
    predicted = color.copy()
    predicted[labels == 3] = GREEN
    scores = frame_scores(predicted, color, labels)
    assert scores["segment_accuracy"] == pytest.approx(2 / 3)
    assert scores["segment_accuracy_10"] == pytest.approx(1.0)  # 9 px is not > 10
    n_bg, n_sq, n_speck = (labels == 1).sum(), 36, 9
    assert scores["pixel_accuracy"] == pytest.approx(
        (n_bg + n_sq) / (n_bg + n_sq + n_speck)
    )
    assert scores["pixel_accuracy_fg"] == pytest.approx(n_sq / (n_sq + n_speck))


def test_unpainted_is_wrong_and_majority_decides() -> None:
    labels, color = scene()
    predicted = color.copy()
    predicted[labels == 2] = NONE
    predicted[labels == 1] = BLUE
    predicted[0, :5] = RED  # a few right pixels do not save the background
    scores = frame_scores(predicted, color, labels)
    assert scores["segment_accuracy"] == pytest.approx(1 / 3)


def test_protocols_run_on_a_generated_shot() -> None:
    from training.data.procedural import generate_procedural

    shot = generate_procedural(31337, 0, (192, 144), 6)
    matchers = {
        "assignment": (AssignmentMatcher(), DIRECT),
        "overlap": (OverlapMatcher(), CHAINED),
    }
    results = evaluate(matchers=matchers, shots=[shot])
    assert set(results) == {"procedural", "all"}
    assert set(results["all"]) == {"prev", "long", "ends"}
    for protocol in results["all"].values():
        for scores in protocol.values():
            assert 0.0 <= scores["segment_accuracy"] <= 1.0
    table = markdown_table(results, {"procedural": 1, "all": 1})
    assert "| all (1) | long | overlap |" in table


def test_the_self_protocol_is_an_upper_bound_for_every_matcher() -> None:
    from training.data.procedural import generate_procedural

    shot = generate_procedural(4321, 0, (192, 144), 6)
    matchers = {"assignment": (AssignmentMatcher(), DIRECT)}
    results = evaluate(
        matchers=matchers, shots=[shot], protocols=("prev", "long", "self")
    )["all"]
    ceiling = results["self"]["assignment"]["segment_accuracy"]
    assert ceiling > 0.9
    for protocol in ("prev", "long"):
        assert results[protocol]["assignment"]["segment_accuracy"] <= ceiling
    table = markdown_table({"all": results}, {"all": 1})
    assert "| all (1) | self | assignment |" in table


def test_the_reachable_ceiling_bounds_every_matcher_and_is_bounded_by_self() -> None:
    from training.data.procedural import generate_procedural

    shot = generate_procedural(4321, 1, (192, 144), 8)
    matchers = {
        "reachable": (ReachableMatcher(), DIRECT),
        "assignment": (AssignmentMatcher(), DIRECT),
        "overlap": (OverlapMatcher(), CHAINED),
    }
    results = evaluate(
        matchers=matchers, shots=[shot], protocols=("prev", "long", "ends", "self")
    )["all"]
    ceiling = results["self"]["reachable"]["segment_accuracy"]
    for protocol in ("prev", "long", "ends"):
        reachable = results[protocol]["reachable"]["segment_accuracy"]
        if protocol != "ends":  # "ends" scores one frame fewer than "self"
            assert reachable <= ceiling
        for name in ("assignment", "overlap"):
            assert results[protocol][name]["segment_accuracy"] <= reachable
