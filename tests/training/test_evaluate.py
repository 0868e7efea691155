"""Scores and the evaluation protocols."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from probes import usage_error

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


TINY = ["--sources", "procedural", "--shots", "1", "--size", "128x96", "--frames", "3"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--shots", "0"], "argument --shots: 0 is less than 1"),
        (["--threads", "0"], "argument --threads: 0 is less than 1"),
        (["--size", "640by360"], "size '640by360' is not WxH"),
        (["--gap", "-1"], "argument --gap: -1 is less than 0"),
        (["--sources", "procedral"], "--sources: unknown data source 'procedral'"),
        (["--protocols", "prev,lnog"], "--protocols: unknown protocol 'lnog'"),
        (["--matchers", "learned,overlpa"], "--matchers: unknown matcher 'overlpa'"),
        (["--art", "test"], "argument --art: invalid choice: 'test'"),
        (["--seed", "-1"], "argument --seed: -1 is less than 0"),
        (
            ["--weights", "w.safetensors", "--matchers", "overlap"],
            "--weights: no learned matcher in --matchers",
        ),
    ],
)
def test_bad_arguments_are_one_line_before_any_work(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.evaluate import main

    assert words in usage_error(main, argv, capsys)


def test_a_gpu_asked_for_on_a_machine_without_one_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from training.evaluate import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    error = usage_error(main, [*TINY, "--device", "cuda"], capsys)
    assert "--device: device cuda: no CUDA GPU is available here" in error


def test_weights_that_cannot_be_loaded_are_one_line(tmp_path: Path) -> None:
    from training.evaluate import main

    broken = tmp_path / "cut.safetensors"
    broken.write_bytes(b"\x10\x00")
    for weights in (tmp_path / "missing.safetensors", broken, tmp_path / "x.pt"):
        with pytest.raises(SystemExit) as stop:
            main([*TINY, "--weights", str(weights)])
        message = str(stop.value)
        assert message.startswith(f"{weights}: cannot load matcher weights (")
        assert "\n" not in message


def test_results_are_written_as_strict_json_into_a_new_folder(tmp_path: Path) -> None:
    from training.evaluate import main, write_json

    out = tmp_path / "new" / "folder" / "results.json"
    assert main([*TINY, "--matchers", "overlap", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["counts"] == {"procedural": 1, "all": 1}
    assert not list(out.parent.glob("*.tmp*"))
    # A metric with nothing to measure is NaN in memory and null on disk.
    write_json(out, {"pixel_accuracy_fg": float("nan"), "rows": [1.0, float("inf")]})
    assert json.loads(out.read_text(), parse_constant=pytest.fail) == {
        "pixel_accuracy_fg": None,
        "rows": [1.0, None],
    }


def test_a_shot_its_source_cannot_make_is_left_out_not_scored_as_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training.data import generate
    from training.evaluate import generated_shots

    monkeypatch.setitem(generate.GENERATORS, "lottie", lambda *args: None)
    shots = list(generated_shots(5, 2, ("procedural", "lottie"), (128, 96), 2))
    assert [s.source for s in shots] == ["procedural", "procedural"]
    assert len({s.name for s in shots}) == 2


def test_a_held_out_score_of_weights_that_saw_all_the_art_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from training.data.art import art_seen
    from training.evaluate import art_warning, load_learned, load_weights

    _, seen = load_weights(None)  # the shipped weights: runs before the split
    assert seen == "all"
    load_learned(None, art="heldout")
    assert "not a held-out score" in caplog.text
    assert art_warning("all", seen) is None
    assert art_warning("heldout", art_seen(None, {"art": "train"})) is None
    # A run on the training share begun from weights that saw everything.
    assert art_seen("all", {"art": "train"}) == "all"


def test_the_learned_matchers_working_size_can_be_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--work-side runs the CNN at another size than the weights' own (a
    question asked of the model, not of the shots)."""
    import training.evaluate as evaluate

    seen: list[int] = []
    scored = evaluate.evaluate

    def noting(**kwargs):  # type: ignore[no-untyped-def]
        seen.extend(m.work_side for m, _ in kwargs["matchers"].values())
        return scored(**kwargs)

    monkeypatch.setattr(evaluate, "evaluate", noting)
    argv = [*TINY, "--matchers", "learned", "--protocols", "prev", "--work-side", "96"]
    assert evaluate.main(argv) == 0
    assert seen == [96]
