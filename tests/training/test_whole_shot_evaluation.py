from __future__ import annotations

import pytest
from probes import usage_error

from engine.matching import OverlapMatcher
from engine.propagation import PropagationSettings
from training.data.procedural import generate_procedural
from training.evaluate import ReachableMatcher
from training.evaluate_shots import main, shot_scores


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
