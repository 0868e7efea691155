from __future__ import annotations

import numpy as np
import pytest
from drawing import blank, circle
from probes import usage_error

from engine.fills import ORIGIN_PROPAGATED, FillMap
from engine.matching import Frame, OverlapMatcher
from engine.propagation import PropagationSettings
from engine.regions import segment_image
from training.data.procedural import generate_procedural
from training.evaluate import ReachableMatcher
from training.evaluate_shots import REVIEW_METRICS, main, review_keys, shot_scores


def test_a_still_shot_is_painted_perfectly_from_one_key() -> None:
    moving = generate_procedural(seed=5, index=0, size=(256, 192), frames=2)
    still = type(moving)(
        name="still",
        source="procedural",
        line=[moving.line[0]] * 4,
        color=[moving.color[0]] * 4,
        labels=[moving.labels[0]] * 4,
    )
    scores = shot_scores(still, OverlapMatcher(), 12, PropagationSettings())
    assert scores["segment_accuracy"] == pytest.approx(1.0)
    assert scores["silent"] == 0.0 and scores["flagged"] == 0.0


def test_the_table_has_a_row_per_source_and_matcher(capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(
            [
                "--shots",
                "1",
                "--frames",
                "4",
                "--key-every",
                "3",
                "--size",
                "160x120",
                "--sources",
                "procedural",
                "--matchers",
                "overlap,assignment,reachable",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "| procedural | 1 | overlap |" in table
    assert "| all | 1 | assignment |" in table
    assert "| all | 1 | reachable |" in table
    assert "Reviewing the flagged regions by keyboard" in table
    assert "| overlap | " in table.split("by keyboard")[1]


def test_each_flagged_region_is_mended_one_way_by_keyboard() -> None:
    image = circle(blank(), (50, 80), 12)  # a ring in a field: two regions
    lineart, regions = segment_image(image)
    frame = Frame(1, image, lineart, regions)
    ring = regions.region_at(50, 80)
    assert ring is not None
    fills = FillMap.empty(regions.count).with_styles(
        np.arange(regions.count), 0, ORIGIN_PROPAGATED
    )
    alternatives = fills.alternatives.copy()
    alternatives[ring] = [3, 4, -1]
    fills = fills.replace(alternatives=alternatives)
    assert review_keys(frame, fills, ring, 0) == "A"
    assert review_keys(frame, fills, ring, 3) == "S"
    assert review_keys(frame, fills, ring, 4) == "SS"
    assert review_keys(frame, fills, ring, 5) == "palette"
    shot = generate_procedural(seed=8, index=0, size=(256, 192), frames=8)
    scores = shot_scores(shot, OverlapMatcher(), 4, PropagationSettings(flag_below=0.9))
    assert scores["flagged"] > 0
    assert sum(scores[k] for k in REVIEW_METRICS) == pytest.approx(1.0)


def test_the_perfect_matcher_paints_nothing_wrong_without_a_flag() -> None:
    shot = generate_procedural(seed=8, index=0, size=(256, 192), frames=12)
    scores = shot_scores(shot, ReachableMatcher(), 6, PropagationSettings())
    assert scores["silent"] == 0.0
    assert scores["segment_accuracy"] > 0.9


def test_a_flag_sweep_agrees_with_a_run_at_that_threshold() -> None:
    shot = generate_procedural(seed=8, index=0, size=(256, 192), frames=8)
    swept = shot_scores(
        shot, OverlapMatcher(), 4, PropagationSettings(flag_below=0.6), (0.9,)
    )
    direct = shot_scores(shot, OverlapMatcher(), 4, PropagationSettings(flag_below=0.9))
    for metric in ("flagged", "silent", "flag_recall"):
        assert swept[f"{metric}@0.9"] == pytest.approx(direct[metric], nan_ok=True)
    assert swept["segment_accuracy"] == pytest.approx(direct["segment_accuracy"])
    assert swept["flagged@0.9"] >= swept["flagged"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--key-every", "0"], "argument --key-every: 0 is less than 1"),
        (["--shots", "0"], "argument --shots: 0 is less than 1"),
        (["--flag-sweep", "0.5,high"], "--flag-sweep '0.5,high': use numbers"),
        (["--matchers", "overlap,bogus"], "--matchers: unknown matcher 'bogus'"),
        (["--weights", "w.pt", "--matchers", "overlap"], "no learned matcher"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert words in usage_error(main, argv, capsys)
