from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_cli import make_shot

from engine.closing_lines import ClosingLines
from engine.errors import CadmiumError
from engine.facade import ShotEngine, colorize_shot
from engine.fills import ORIGIN_ANIMATOR, ORIGIN_PROPAGATED, FillMap, color_layer
from engine.imageio import read_image, write_png
from engine.matching import Correspondence, Frame, OverlapMatcher, Vote, vote
from engine.palette import UNPAINTED, Palette, Style
from engine.propagation import (
    PropagationSettings,
    combine_votes,
    neighbouring_keys,
    propagate,
)
from engine.regions import segment_image
from engine.shot import open_shot


@pytest.mark.parametrize(
    ("frame", "keys", "expected"),
    [
        (5, [1, 12], (1, 12)),
        (1, [1, 12], (None, 12)),  # a key looks at the other keys
        (13, [1, 12], (12, None)),
        (0, [1, 12], (None, 1)),
        (7, [2, 4, 9, 30], (4, 9)),  # holes in the numbering
    ],
)
def test_key_selection(frame: int, keys: list[int], expected: tuple) -> None:  # type: ignore[type-arg]
    assert neighbouring_keys(frame, keys) == expected


def test_vote_sums_probability_over_key_regions_of_one_style() -> None:
    # target region 0 splits its mass over key regions 0 and 1, both "red"
    corr = Correspondence(np.array([[0.3, 0.3, 0.4, 0.0]], np.float32))
    fills = FillMap.empty(3).with_styles(
        np.arange(3), np.array([0, 0, 1]), ORIGIN_ANIMATOR
    )
    scores = vote(corr, fills, n_styles=2).scores
    assert scores[0].tolist() == pytest.approx([0.6, 0.4, 0.0])


def test_unmatched_regions_are_left_unpainted_and_flagged() -> None:
    corr = Correspondence(np.array([[0.1, 0.9], [0.8, 0.2]], np.float32))
    fills = FillMap.empty(1).with_styles(np.array([0]), 3, ORIGIN_ANIMATOR)
    result = combine_votes([(vote(corr, fills, 4), 1.0)], PropagationSettings(), 4)
    assert result.style[0] == UNPAINTED and result.flagged[0]
    assert result.style[1] == 3 and not result.flagged[1]
    assert result.origin[1] == ORIGIN_PROPAGATED


def _key_votes(
    near: list[list[float]], far: list[list[float]]
) -> list[tuple[Vote, float]]:
    """Votes of a nearer key (weight 0.75) and a farther one (0.25), each
    with one region per style: style 0 "red", style 1 "blue"."""
    fills = FillMap.empty(2).with_styles(
        np.arange(2), np.array([0, 1]), ORIGIN_ANIMATOR
    )
    return [
        (vote(Correspondence(np.array(near, np.float32)), fills, 2), 0.75),
        (vote(Correspondence(np.array(far, np.float32)), fills, 2), 0.25),
    ]


def test_a_part_only_the_farther_key_has_takes_its_colour_flagged() -> None:
    # Region 0 appears after the nearer key (no match there); the farther
    # key has it, painted blue. Region 1 neither key can place.
    votes = _key_votes(near=[[0, 0, 1], [0, 0, 1]], far=[[0, 1, 0], [0, 0, 1]])
    result = combine_votes(votes, PropagationSettings(), 2)
    assert result.style[0] == 1 and result.flagged[0]
    assert result.confidence[0] == pytest.approx(0.25)
    assert result.style[1] == UNPAINTED and result.flagged[1]


def test_when_both_keys_place_a_region_the_nearer_one_weighs_more() -> None:
    votes = _key_votes(near=[[1, 0, 0]], far=[[0, 1, 0]])
    result = combine_votes(votes, PropagationSettings(), 2)
    assert result.style[0] == 0 and result.confidence[0] == pytest.approx(0.75)
    agreeing = combine_votes(
        _key_votes([[1, 0, 0]], [[1, 0, 0]]), PropagationSettings(), 2
    )
    assert agreeing.style[0] == 0 and not agreeing.flagged[0]


def test_one_vote_is_taken_as_it_is_ties_going_to_the_style() -> None:
    scores = np.array([[0.3, 0.1, 0.3, 0.3], [0.1, 0.1, 0.1, 0.7]], np.float32)
    result = combine_votes([(Vote(scores), 1.0)], PropagationSettings(), 3)
    assert result.style[0] == 0 and result.flagged[0]
    assert result.confidence[0] == pytest.approx(0.3)
    assert result.style[1] == UNPAINTED


def test_propagation_keeps_its_next_guesses_most_likely_first() -> None:
    """What S offers first: per region, the styles the votes ranked after
    the one painted (for a region left unpainted, its best ones), never a
    style no vote gave anything."""
    scores = np.array(
        [
            [0.5, 0.1, 0.0, 0.3, 0.0, 0.1],  # painted 0; then 3, then 1
            [0.0, 0.0, 0.2, 0.0, 0.0, 0.8],  # unpainted; 2 the only guess
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],  # sure: no other guess
        ],
        np.float32,
    )
    result = combine_votes([(Vote(scores), 1.0)], PropagationSettings(), 5)
    assert result.style.tolist() == [0, UNPAINTED, 4]
    assert result.alternatives.tolist() == [
        [3, 1, UNPAINTED],
        [2, UNPAINTED, UNPAINTED],
        [UNPAINTED, UNPAINTED, UNPAINTED],
    ]
    # Two keys: ranked by the weighted votes together.
    both = combine_votes(
        _key_votes([[0.6, 0.4, 0]], [[0, 1, 0]]), PropagationSettings(), 2
    )
    assert both.style[0] == 1 and both.alternatives[0].tolist()[0] == 0


def test_a_vote_of_weight_zero_changes_nothing() -> None:
    [(near, _), (far, _)] = _key_votes(near=[[0, 0, 1]], far=[[0, 1, 0]])
    alone = combine_votes([(near, 1.0)], PropagationSettings(), 2)
    with_zero = combine_votes([(near, 1.0), (far, 0.0)], PropagationSettings(), 2)
    assert with_zero.style.tolist() == alone.style.tolist() == [UNPAINTED]
    with pytest.raises(ValueError):
        combine_votes([(near, 0.0)], PropagationSettings(), 2)


def test_the_frame_before_alone_can_paint_a_region_but_only_flagged() -> None:
    # Neither key places region 0; the frame before (weight 0.3) has it red.
    keys = _key_votes(near=[[0, 0, 1]], far=[[0, 0, 1]])
    before_fills = FillMap.empty(1).with_styles(np.array([0]), 0, ORIGIN_ANIMATOR)
    before = vote(Correspondence(np.array([[1, 0]], np.float32)), before_fills, 2)
    result = combine_votes([*keys, (before, 0.3)], PropagationSettings(), 2)
    assert result.style[0] == 0 and result.flagged[0]


def test_a_fill_flagged_for_review_is_not_passed_on() -> None:
    fills = FillMap.empty(2).with_styles(
        np.arange(2), np.array([0, 1]), ORIGIN_ANIMATOR
    )
    doubtful = replace(fills, flagged=np.array([True, False]))
    corr = Correspondence(np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    scores = vote(corr, doubtful, n_styles=2).scores
    assert scores.tolist() == [[0, 0, 1], [0, 1, 0]]


def test_blank_regions_of_a_key_say_nothing() -> None:
    """A key the animator has only begun: its blank regions neither vote nor
    count as doubt, so the other key's vote stands with its own confidence."""
    begun = FillMap.empty(2).with_styles(np.array([0]), 0, ORIGIN_ANIMATOR)
    full = FillMap.empty(2).with_styles(np.arange(2), np.array([0, 1]), ORIGIN_ANIMATOR)
    # Target region 0 is key region 0 (painted red in both keys); region 1
    # is key region 1: blank in the nearer key, blue in the farther one.
    corr = Correspondence(np.array([[0.95, 0.0, 0.05], [0.0, 1.0, 0.0]], np.float32))
    near = vote(corr, begun, 2)
    assert near.blank is not None and near.blank.tolist() == pytest.approx([0, 1])
    result = combine_votes(
        [(near, 0.75), (vote(corr, full, 2), 0.25)], PropagationSettings(), 2
    )
    assert result.style.tolist() == [0, 1]
    assert result.confidence.tolist() == pytest.approx([0.95, 1.0])
    assert not result.flagged.any()
    # Blank in every key: unknown, left to paint, as before.
    alone = combine_votes([(near, 1.0)], PropagationSettings(), 2)
    assert alone.style[1] == UNPAINTED and alone.flagged[1]


def test_one_stroke_on_a_bare_frame_leaves_its_neighbours_as_they_were(
    tmp_path: Path,
) -> None:
    """The first paint on a bare in-between frame makes it a key, blank but
    for that stroke. The frames around it keep the fills and the review
    flags the other keys give them (before, nearly every region was
    flagged: the blank key's "unknown" halved every confidence)."""
    shot = make_shot(tmp_path / "shot", frames=7, keys=(1, 7))
    engine = _engine(shot)
    key1, palette = engine.key_fills(1, Palette())
    key7, palette = engine.key_fills(7, palette)
    keys = {1: key1, 7: key7}
    before = {
        r.number: r.fills for r in engine.propagate(keys=keys, n_styles=len(palette))
    }
    frame4 = engine.frame(4)
    region = frame4.regions.region_at(150, 60)
    assert region is not None
    stroke = FillMap.empty(frame4.regions.count).with_styles(
        np.array([region]), int(before[4].style[region]), ORIGIN_ANIMATOR
    )
    after = {
        r.number: r.fills
        for r in engine.propagate(keys={**keys, 4: stroke}, n_styles=len(palette))
    }
    for number in (2, 3, 5, 6):
        assert np.array_equal(after[number].style, before[number].style), number
        assert not before[number].flagged.any()
        assert not after[number].flagged.any(), number
    # The begun key's own blank regions are painted like any other frame's.
    assert (after[4].style != UNPAINTED).all()


def test_a_vote_that_says_almost_nothing_is_not_scaled_up() -> None:
    """A region matched 0.1% to a painted key region and 99.9% to a blank
    one: with no other key to fill the blank share, it stays unknown."""
    begun = FillMap.empty(2).with_styles(np.array([0]), 0, ORIGIN_ANIMATOR)
    corr = Correspondence(np.array([[0.001, 0.999, 0.0]], np.float32))
    alone = combine_votes([(vote(corr, begun, 2), 1.0)], PropagationSettings(), 2)
    assert alone.style[0] == UNPAINTED and alone.flagged[0]
    # Two keys blank there: still unknown, however they are weighed.
    both = [(vote(corr, begun, 2), 0.75), (vote(corr, begun, 2), 0.25)]
    result = combine_votes(both, PropagationSettings(), 2)
    assert result.style[0] == UNPAINTED and result.flagged[0]


def test_a_key_holding_propagated_fills_votes_with_them() -> None:
    """A frame marked as a key (Shift+K) after propagation painted it: its
    fills are propagation's, and it is a key all the same."""
    image = np.full((40, 60), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (30, 30), 0, 1)
    lineart, regions = segment_image(image)
    n = regions.count
    frames = {f: Frame(f, image, lineart, regions) for f in (1, 2, 3, 4)}
    painted = (np.arange(n) % 2).astype(np.int32)
    key1 = FillMap.empty(n).with_styles(np.arange(n), painted, ORIGIN_ANIMATOR)
    marked = FillMap(
        style=painted,
        origin=np.full(n, ORIGIN_PROPAGATED, np.uint8),
        confidence=np.full(n, 0.95, np.float32),
        flagged=np.zeros(n, bool),
    )
    results = propagate(
        frames=[1, 2, 3, 4],
        keys={1: key1, 3: marked},
        analyse=frames.__getitem__,
        matcher=OverlapMatcher(),
        n_styles=2,
        targets=[4],
    )
    fills = next(iter(results)).fills
    assert fills.style.tolist() == painted.tolist()
    assert not fills.flagged.any()


def test_a_key_region_it_could_not_read_stays_flagged_run_after_run() -> None:
    """A key region left unpainted and flagged when the key was read (no
    main colour) is painted by the first run from the other key, flagged;
    the next run, which sees that paint as the key's, keeps the flag: only
    the animator clears it (Accept, or painting it)."""
    image = np.full((40, 60), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (30, 30), 0, 1)
    lineart, regions = segment_image(image)
    n = regions.count
    frames = {f: Frame(f, image, lineart, regions) for f in (1, 2, 3)}
    styles = (np.arange(n) % 2).astype(np.int32)
    key3 = FillMap.empty(n).with_styles(np.arange(n), styles, ORIGIN_ANIMATOR)
    key1 = key3.with_styles(np.array([0]), UNPAINTED, ORIGIN_PROPAGATED)
    key1.flagged[0] = True  # unread
    keys = {1: key1, 3: key3}
    for run in range(2):
        results = propagate(
            frames=[1, 2, 3],
            keys=keys,
            analyse=frames.__getitem__,
            matcher=OverlapMatcher(),
            n_styles=2,
            targets=[1],
        )
        fills = next(iter(results)).fills
        assert fills.style[0] == styles[0] and fills.flagged[0], run
        assert not fills.flagged[1:].any()
        keys = {**keys, 1: fills}  # what the project holds for the key now


def _engine(root: Path) -> ShotEngine:
    return ShotEngine(shot=open_shot(root), matcher="overlap")


def test_partial_keys_are_never_overwritten(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=4, keys=(1,))
    engine = _engine(shot)
    key, palette = engine.key_fills(1, Palette())
    # the animator painted frame 3 partly, with a colour the key does not use
    palette, mine = palette.with_style(Style("mine", (1, 2, 3, 255)))
    frame3 = engine.frame(3)
    region = frame3.regions.region_at(150, 60)
    assert region is not None
    partial = FillMap.empty(frame3.regions.count).with_styles(
        np.array([region]), mine, ORIGIN_ANIMATOR
    )
    results = {
        r.number: r
        for r in engine.propagate(
            keys={1: key}, n_styles=len(palette), painted={1: key, 3: partial}
        )
    }
    fills3 = results[3].fills
    assert fills3.style[region] == mine and fills3.origin[region] == ORIGIN_ANIMATOR
    others = np.arange(frame3.regions.count) != region
    assert (fills3.style[others] != UNPAINTED).all()
    assert np.array_equal(results[1].fills.style, key.style)


def test_an_unreadable_frame_is_skipped_only_when_the_caller_says_so(
    tmp_path: Path,
) -> None:
    shot = make_shot(tmp_path / "shot", frames=5, keys=(1,))
    line = shot / "line" / "sc01_0003.png"
    line.write_bytes(line.read_bytes()[:200])  # header intact, pixels cut
    engine = _engine(shot)
    key, palette = engine.key_fills(1, Palette())
    run = {"keys": {1: key}, "n_styles": len(palette)}
    with pytest.raises(CadmiumError, match=r"sc01_0003\.png"):
        list(engine.propagate(**run))
    skipped: dict[int, str] = {}
    done = engine.propagate(
        **run, unreadable=lambda n, exc: skipped.__setitem__(n, str(exc))
    )
    assert [r.number for r in done] == [1, 2, 4, 5]  # the key, as it is
    assert list(skipped) == [3] and "sc01_0003.png" in skipped[3]


def test_recolouring_a_style_recolours_every_frame(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=3)
    engine = _engine(shot)
    key, palette = engine.key_fills(1, Palette())
    results = list(engine.propagate(keys={1: key}, n_styles=len(palette)))
    changed = palette.replaced(0, Style(palette[0].name, (9, 9, 9, 255)))
    for result in results:
        regions = engine.frame(result.number).regions
        before = color_layer(regions, result.fills, palette)
        after = color_layer(regions, result.fills, changed)
        was = np.all(before == palette[0].color, axis=2)
        assert was.any()
        assert np.all(after[was] == (9, 9, 9, 255))
        assert np.array_equal(after[~was], before[~was])


def test_flagged_regions_appear_in_the_report(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=3)
    # a new closed shape appears on frame 3: nothing in the key matches it
    path = shot / "line" / "sc01_0003.png"
    image = read_image(path)
    cv2.rectangle(image, (120, 100), (195, 115), 0, 2)
    write_png(path, image)
    colorize_shot(
        shot_path=shot,
        out=tmp_path / "out",
        matcher="assignment",
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    frame3 = report["frames"][2]
    assert frame3["flagged"], frame3
    entry = frame3["flagged"][0]
    assert {"region", "centroid", "confidence", "style", "area"} <= set(entry)
    # The styles propagation ranked next, by name (what to try instead).
    names = {style["name"] for style in report["palette"]}
    flagged = [e for frame in report["frames"] for e in frame["flagged"]]
    assert all(set(e["alternatives"]) <= names - {e["style"]} for e in flagged)
    # The learned matcher spreads some doubt over other key regions: guesses.
    colorize_shot(shot_path=shot, out=tmp_path / "learned", matcher="learned")
    report = json.loads((tmp_path / "learned" / "report.json").read_text())
    flagged = [e for frame in report["frames"] for e in frame["flagged"]]
    assert any(e["alternatives"] for e in flagged)


def test_a_key_region_of_no_main_colour_is_painted_from_the_other_keys_flagged(
    tmp_path: Path,
) -> None:
    """A key region no colour covers half of (noise, soft shading, parts
    run together through a gap left open) takes the colour the other keys
    give it, and stays flagged for review: the key had paint there that
    nobody matched (at HD with the gap too small, a leak painted 750,000 px
    of a key frame Background with no flag)."""
    shot = make_shot(tmp_path / "shot", frames=3, keys=(1, 3))
    key = read_image(shot / "color" / "0001.png")
    _, regions = segment_image(read_image(shot / "line" / "sc01_0001.png"))
    inside = regions.labels == regions.labels[60, 150]  # the still circle
    noise = np.random.default_rng(0).integers(0, 256, key.shape, np.uint8)
    key[inside] = noise[inside]
    key[..., 3] = 255
    write_png(shot / "color" / "0001.png", key)
    colorize_shot(shot_path=shot, out=tmp_path / "out", matcher="overlap")
    painted = read_image(tmp_path / "out" / "color" / "sc01_0001.png")
    other_key = read_image(shot / "color" / "0003.png")
    assert tuple(painted[60, 150]) == tuple(other_key[60, 150])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    flagged = report["frames"][0]["flagged"]
    assert [e["centroid"] for e in flagged if e["area"] > 1000] == [
        pytest.approx([150, 60], abs=1)
    ]


def test_chaining_uses_the_previous_painted_frame(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=8)
    engine = _engine(shot)
    key, palette = engine.key_fills(1, Palette())
    calls: list[tuple[int, int]] = []

    class Recording(OverlapMatcher):
        def match(
            self, key: Frame, key_fills: FillMap, target: Frame
        ) -> Correspondence:
            calls.append((key.number, target.number))
            return super().match(key, key_fills, target)

    list(
        propagate(
            frames=engine.shot.frames,
            keys={1: key},
            analyse=engine.frame,
            matcher=Recording(),
            n_styles=len(palette),
            settings=PropagationSettings(chain_after=3),
        )
    )
    assert (1, 4) in calls and (3, 4) not in calls
    assert (1, 6) in calls and (5, 6) in calls


def test_a_gap_change_during_analysis_never_caches_the_old_segmentation(
    tmp_path: Path,
) -> None:
    import threading

    from drawing import open_circle

    root = tmp_path / "shot"
    write_png(root / "line" / "0001.png", open_circle(3))
    engine = ShotEngine(shot=open_shot(root), gap=0, matcher="overlap")
    started, release = threading.Event(), threading.Event()
    analyse = engine.analyse_image

    def slow(number: int, image: np.ndarray, closing: ClosingLines) -> Frame:
        frame = analyse(number, image, closing)
        started.set()
        release.wait(5)
        return frame

    engine.analyse_image = slow  # type: ignore[method-assign]
    worker = threading.Thread(target=engine.frame, args=(1,))
    worker.start()
    assert started.wait(5)  # the analysis under way, with the old gap
    engine.set_gap(4)
    release.set()
    worker.join(5)
    assert not worker.is_alive()
    engine.analyse_image = analyse  # type: ignore[method-assign]
    assert engine.frame(1).regions.count == 2  # segmented with the new gap
