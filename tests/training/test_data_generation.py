"""Generated training shots: ground truth agrees with the engine, is stable
over time and is reproducible from the seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image
from engine.palette import Palette
from engine.shot import open_shot
from training.data.checks import check_frame
from training.data.procedural import generate_procedural
from training.data.realism import clean_style
from training.data.shot import GeneratedShot, write_shot

SIZE = (320, 240)


@pytest.fixture(scope="module")
def clean_shots() -> list[GeneratedShot]:
    return [
        generate_procedural(11, k, SIZE, 6, style=clean_style(SIZE)) for k in range(3)
    ]


def test_labels_agree_with_engine_segmentation(
    clean_shots: list[GeneratedShot],
) -> None:
    regions = matched = impure = 0
    for shot in clean_shots:
        for line, labels in zip(shot.line, shot.labels, strict=True):
            result = check_frame(line, labels)
            regions += result.regions
            matched += result.matched
            impure += result.impure
    assert regions > 100
    assert matched >= 0.99 * regions
    assert impure == 0  # every engine region carries one label


def test_every_region_has_one_label_and_one_colour(
    clean_shots: list[GeneratedShot],
) -> None:
    for shot in clean_shots:
        for color, labels in zip(shot.color, shot.labels, strict=True):
            assert labels.dtype == np.uint16 and color.dtype == np.uint8
            assert color.shape == labels.shape + (4,)
            packed = color.reshape(-1, 4).astype(np.int64) @ (1 << np.arange(0, 32, 8))
            ids = labels.ravel()
            region = ids > 0
            pairs = np.unique(np.stack([ids[region], packed[region]]), axis=1)
            # One flat colour per label.
            assert len(np.unique(pairs[0])) == pairs.shape[1]


def test_identities_are_stable_across_frames(clean_shots: list[GeneratedShot]) -> None:
    for shot in clean_shots:
        first: dict[int, tuple[int, ...]] = {}
        previous: dict[int, np.ndarray] = {}
        for color, labels in zip(shot.color, shot.labels, strict=True):
            ys, xs = np.nonzero(labels)
            ids = labels[ys, xs]
            for pid in np.unique(ids):
                sel = ids == pid
                c = tuple(int(v) for v in color[ys[sel][0], xs[sel][0]])
                assert first.setdefault(int(pid), c) == c  # same part, same paint
                centroid = np.array([xs[sel].mean(), ys[sel].mean()])
                if pid in previous and sel.sum() > 200:
                    assert np.linalg.norm(centroid - previous[pid]) < 0.3 * max(SIZE)
                previous[int(pid)] = centroid
        # The background and the big parts are in every frame.
        assert 1 in first and len(first) > 15


def test_same_seed_gives_the_same_shot() -> None:
    a = generate_procedural(5, 3, SIZE, 5)
    b = generate_procedural(5, 3, SIZE, 5)
    c = generate_procedural(5, 4, SIZE, 5)
    for x, y in zip(
        a.line + a.color + a.labels, b.line + b.color + b.labels, strict=True
    ):
        assert np.array_equal(x, y)
    assert a.meta == b.meta and a.palette == b.palette
    assert not all(
        np.array_equal(x, y) for x, y in zip(a.labels, c.labels, strict=True)
    )


def test_write_shot_is_a_readable_shot(tmp_path: Path) -> None:
    shot = generate_procedural(2, 0, SIZE, 4)
    folder = write_shot(shot, tmp_path / "shot")
    opened = open_shot(folder)
    assert opened.frames == [1, 2, 3, 4]
    assert sorted(opened.color) == sorted(opened.labels) == opened.frames
    assert [p.name for p in opened.line.values()] == [
        f"000{i}.png" for i in range(1, 5)
    ]
    labels = read_image(opened.labels[2])
    assert labels.dtype == np.uint16 and np.array_equal(labels, shot.labels[1])
    meta = json.loads((folder / "shot.json").read_text())
    palette = Palette.from_json(meta["palette"])
    assert len(palette) >= 10 and meta["keys"] == [1] and meta["fps"] == 24.0
    assert opened.meta.keys == (1,)
    # Written twice, byte for byte the same.
    again = write_shot(generate_procedural(2, 0, SIZE, 4), tmp_path / "again")
    for name in ("line/0003.png", "color/0003.png", "labels/0003.png", "shot.json"):
        assert (folder / name).read_bytes() == (again / name).read_bytes()


def test_drawings_move_on_ones_twos_or_threes() -> None:
    steps = set()
    for k in range(6):
        shot = generate_procedural(3, k, SIZE, 7)
        step = shot.meta["step"]
        steps.add(step)
        moved = [
            not np.array_equal(shot.labels[f], shot.labels[f - step])
            for f in range(step, len(shot), step)
        ]
        assert any(moved)
    assert steps <= {1, 2, 3} and len(steps) > 1
