"""Training pairs: generated shots -> segmented frames -> (key, target) pairs
with their ground-truth correspondence.

Ground truth of a pair. Each engine region takes, as its *identity*, the
majority ground-truth label over its pixels (the generator's labels are
stable across frames). Target region i corresponds to every key region with
its identity (several when the key's part is split into several regions),
and to "no match" when no key region has it. Regions without any labelled
pixel carry identity -1 and are left out of the loss.

Each region also carries its part's *colour*, and a second truth adds to
the first every key region of the target region's colour: the application
paints a region with the colour its matches vote for, so a
fragment matched to another part of the same colour (the other eye, a
sleeve cut off by the arm) is painted right. See `train.match_loss`.

Segmentation is the engine's own (`engine.regions.segment_image`), with the
application's default gap closing, so training sees the regions inference
will see.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from engine.features import (
    FrameInputs,
    collate,
    collate_graphs,
    frame_inputs,
    style_codes,
)
from engine.fills import region_majority
from engine.gaps import DEFAULT_GAP
from engine.regions import Regions, segment_image
from training.metrics import packed_colors

log = logging.getLogger(__name__)

# Which training.data module makes each source (clip art may not exist yet).
SOURCE_MODULES = {
    "procedural": "training.data.procedural",
    "lottie": "training.data.lottie",
    "clipart": "training.data.clipart",
}


def available_sources(wanted: Sequence[str], art: str = "all") -> tuple[str, ...]:
    """The sources of ``wanted`` that can make shots on this machine (their
    generator and their share ``art`` of the art files are here); each one
    left out is logged, so a run records the sources it really drew from."""
    unknown = sorted(set(wanted) - set(SOURCE_MODULES))
    if unknown:
        raise ValueError(
            f"unknown data source {unknown[0]!r} (use {', '.join(SOURCE_MODULES)})"
        )
    found = []
    for source in wanted:
        missing = _missing_for(source, art)
        if missing:
            log.warning("data source %s left out: %s", source, missing)
        else:
            found.append(source)
    return tuple(found)


def _missing_for(source: str, art: str) -> str | None:
    """What the source needs and this machine lacks, or None."""
    if importlib.util.find_spec(SOURCE_MODULES[source]) is None:
        return f"no module {SOURCE_MODULES[source]}"
    if source == "lottie":
        from training.data.lottie import lottie_pool, lottie_root

        if not lottie_pool(art):
            return f"no Lottie files (art {art}) under {lottie_root()}"
    if source == "clipart":
        if importlib.util.find_spec("resvg_py") is None:
            return "resvg-py is not installed (pip install resvg-py)"
        from training.data.clipart import clipart_pool

        if not clipart_pool(art):
            return (
                f"no OpenMoji or Openclipart SVGs (art {art}; "
                "training/data/get_art.sh fetches them)"
            )
    return None


def data_version() -> str:
    """A short digest of the data generator's code: shots made by the same
    version from the same seeds are the same shots."""
    digest = hashlib.sha1()
    folder = Path(__file__).parent / "data"
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def region_identity(regions: Regions, truth: np.ndarray) -> np.ndarray:
    """int64 [n]: majority ground-truth label per region (-1: none)."""
    n_values = int(truth.max()) + 1
    best, _ = region_majority(regions, truth, n_values, valid=truth > 0)
    return best.astype(np.int64)


def part_colors(labels: np.ndarray, color: np.ndarray) -> np.ndarray:
    """int64 [max label + 1]: each part's colour packed as the metric packs
    it (`training.metrics.packed_colors`; the colour at the part's first
    pixel, a generated part having one flat colour), -1 for label values
    that do not occur."""
    lut = np.full(int(labels.max()) + 1, -1, np.int64)
    values, first = np.unique(labels.reshape(-1), return_index=True)
    lut[values] = packed_colors(color).reshape(-1)[first]
    return lut


def correspondence_truth(key_id: np.ndarray, target_id: np.ndarray) -> np.ndarray:
    """bool [n_target x (n_key + 1)]: the correct columns of each target row
    (the last column is "no match"). Rows of unknown targets are all False."""
    known = target_id >= 0
    same = (target_id[:, None] == key_id[None, :]) & known[:, None]
    dustbin = known & ~same.any(axis=1)
    return np.concatenate([same, dustbin[:, None]], axis=1)


@dataclass(frozen=True)
class SegmentedFrame:
    inputs: FrameInputs
    identity: np.ndarray  # int64 [n], -1 unknown
    color: np.ndarray  # int64 [n], packed colour of the identity's part, -1 unknown


@dataclass(frozen=True)
class Pair:
    key: SegmentedFrame
    target: SegmentedFrame
    distance: int  # frames between key and target


def augment_frame(
    line: np.ndarray, labels: np.ndarray, flip: bool, turns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same mirror and quarter turns applied to line art and labels."""
    if flip:
        line, labels = line[:, ::-1], labels[:, ::-1]
    if turns:
        line, labels = np.rot90(line, turns), np.rot90(labels, turns)
    return np.ascontiguousarray(line), np.ascontiguousarray(labels)


def segment_frame(
    line: np.ndarray,
    labels: np.ndarray,
    colors: np.ndarray,
    work_side: int,
    gap: int = DEFAULT_GAP,
) -> SegmentedFrame:
    """Segment one frame; ``colors`` is `part_colors` of the shot's frame."""
    lineart, regions = segment_image(line, gap=gap)
    inputs = frame_inputs(lineart, regions, work_side=work_side)
    identity = region_identity(regions, labels)
    return SegmentedFrame(
        inputs, identity, np.where(identity >= 0, colors[identity], -1)
    )


def drawing_starts(numbers: int, step: int) -> list[int]:
    """Frame indices where a new drawing begins (on ``step``s)."""
    return list(range(0, numbers, max(step, 1)))


def sample_pairs(
    shot: Any,
    rng: np.random.Generator,
    count: int,
    work_side: int,
    long_share: float = 0.5,
    *,
    flip: bool = False,
    turns: int = 0,
    gap: int = DEFAULT_GAP,
) -> list[Pair]:
    """``count`` pairs from one shot: short range (the next one to three
    drawings) or long range (anywhere in the shot), either direction; the
    shot is mirrored and turned by ``turns`` quarter turns first."""
    frames = len(shot.line)
    step = int(shot.meta.get("step", 1)) if hasattr(shot, "meta") else 1
    starts = drawing_starts(frames, step)
    # One object per frame: pairs sharing a frame share it (and collate_pairs
    # encodes it once).
    cache: dict[int, SegmentedFrame] = {}

    def frame(i: int) -> SegmentedFrame:
        if i not in cache:
            colors = part_colors(shot.labels[i], shot.color[i])
            line, labels = augment_frame(shot.line[i], shot.labels[i], flip, turns)
            cache[i] = segment_frame(line, labels, colors, work_side, gap)
        return cache[i]

    pairs = []
    for _ in range(count):
        if len(starts) < 2:
            a = b = 0
        elif rng.random() < long_share:
            a, b = sorted(rng.choice(len(starts), 2, replace=False).tolist())
        else:
            a = int(rng.integers(len(starts) - 1))
            b = min(a + int(rng.integers(1, 4)), len(starts) - 1)
        ia, ib = starts[a], starts[b]
        if rng.random() < 0.5:
            ia, ib = ib, ia
        pairs.append(Pair(frame(ia), frame(ib), abs(ib - ia)))
    return pairs


def _padded_truth(pairs: list[Pair], field: str) -> np.ndarray:
    """bool [B x M1 x (M0 + 1)]: `correspondence_truth` of each pair on the
    regions' ``field`` ("identity" or "color"), padded like log_probs."""
    m0 = max(p.key.inputs.count for p in pairs)
    m1 = max(p.target.inputs.count for p in pairs)
    truth = np.zeros((len(pairs), m1, m0 + 1), bool)
    for b, p in enumerate(pairs):
        t = correspondence_truth(getattr(p.key, field), getattr(p.target, field))
        n1, n0 = t.shape[0], t.shape[1] - 1
        truth[b, :n1, :n0] = t[:, :n0]
        truth[b, :n1, m0] = t[:, n0]
    return truth


def key_style_codes(
    pairs: list[Pair],
    width: int,
    rng: np.random.Generator | None = None,
    unpainted: float = 0.0,
) -> np.ndarray:
    """The keys' fills as the matcher sees them (engine.features.style_codes
    of the parts' colours), keys concatenated: [sum of key regions x (width
    + 1)]. With ``rng`` codes are drawn afresh for this batch, and keys are
    shown as an animator may leave them: each colour of a key unpainted with
    probability ``unpainted``, and with the same probability the whole key;
    without it, codes are the fixed ones."""
    codes = []
    for pair in pairs:
        # Unknown parts and transparent colours (packed 0) are unpainted.
        styles = np.where(pair.key.color > 0, pair.key.color, -1)
        if rng is not None and unpainted > 0:
            if rng.random() < unpainted:
                styles[:] = -1
            values = np.unique(styles[styles >= 0])
            hidden = values[rng.random(len(values)) < unpainted]
            styles[np.isin(styles, hidden)] = -1
        codes.append(style_codes(styles, width, rng))
    return np.concatenate(codes)


def collate_pairs(
    pairs: list[Pair],
    device: torch.device | str = "cpu",
    *,
    style_width: int = 0,
    rng: np.random.Generator | None = None,
    unpainted: float = 0.0,
) -> dict[str, Any]:
    """Model input (keys first, then targets; see MatchingModel.forward) with
    each distinct frame encoded once, and the ground truth, padded like the
    model's log_probs [B x M1 x (M0 + 1)] (the dustbin stays the last
    column): ``truth`` (the same part; "no match" for a part the key lacks)
    and ``color_truth`` (``truth``, or a part of the same colour), both
    bool. With ``style_width`` > 0 the keys' fills are input too
    (`key_style_codes`)."""
    slots = [p.key for p in pairs] + [p.target for p in pairs]
    distinct: dict[int, int] = {}  # id of a frame -> its place in frames
    frames: list[SegmentedFrame] = []
    for frame in slots:
        if id(frame) not in distinct:
            distinct[id(frame)] = len(frames)
            frames.append(frame)
    starts = np.cumsum([0] + [f.inputs.count for f in frames])
    data = collate_graphs([f.inputs for f in slots], device)
    data["frames"] = collate([f.inputs for f in frames], device)
    index = np.concatenate(
        [np.arange(f.inputs.count) + starts[distinct[id(f)]] for f in slots]
    ).astype(np.int64)
    data["region_index"] = torch.from_numpy(index).to(device)
    if style_width > 0:
        codes = key_style_codes(pairs, style_width, rng, unpainted)
        data["style_codes0"] = torch.from_numpy(codes).to(device)
    truth = _padded_truth(pairs, "identity")
    # A part that is not in the key may still be painted right by a part of
    # its colour; "no match" stays right for it.
    color_truth = truth | _padded_truth(pairs, "color")
    data["truth"] = torch.from_numpy(truth).to(device)
    data["color_truth"] = torch.from_numpy(color_truth).to(device)
    data["distance"] = torch.tensor([p.distance for p in pairs], device=device)
    return data


class PairBatches(torch.utils.data.IterableDataset):
    """Endless batches of pairs made on the fly from generated shots.

    Each batch is ``shots_per_batch`` fresh shots of one size (drawn from
    ``sizes``), ``pairs_per_shot`` pairs each. Shot k of the stream depends
    only on (seed, k); workers and distributed ranks take disjoint indices.
    """

    def __init__(
        self,
        *,
        seed: int,
        sizes: Sequence[tuple[int, int]],
        frames: int,
        sources: Sequence[str],
        shots_per_batch: int,
        pairs_per_shot: int,
        work_side: int,
        long_share: float = 0.5,
        gap: int = DEFAULT_GAP,
        art: str = "all",
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
    ) -> None:
        super().__init__()
        self.seed, self.sizes, self.frames = seed, list(sizes), frames
        self.sources = tuple(sources)
        self.shots_per_batch, self.pairs_per_shot = shots_per_batch, pairs_per_shot
        self.work_side, self.long_share, self.gap = work_side, long_share, gap
        self.art = art  # the share of the art files (training.data.art)
        self.rank, self.world_size = rank, world_size
        self.start = start  # batches already used (a resumed run skips them)

    def __iter__(self) -> Iterator[list[Pair]]:
        from training.data.generate import generate_shot

        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        if info is not None:
            # Data workers share the machine with the training process.
            cv2.setNumThreads(1)
            torch.set_num_threads(1)
        stream = self.rank * workers + worker
        streams = self.world_size * workers
        batch_index = self.start * streams + stream
        while True:
            rng = np.random.default_rng([self.seed, batch_index, 99])
            size = self.sizes[int(rng.integers(len(self.sizes)))]
            # Quarter turns are shared by the batch (frames of one shape);
            # they give portrait frames and characters lying down.
            turns = int(rng.integers(4)) if rng.random() < 0.3 else 0
            pairs: list[Pair] = []
            for s in range(self.shots_per_batch):
                index = batch_index * self.shots_per_batch + s
                shot = generate_shot(
                    self.seed,
                    index,
                    size=size,
                    frames=self.frames,
                    sources=self.sources,
                    art=self.art,
                )
                pairs += sample_pairs(
                    shot,
                    rng,
                    self.pairs_per_shot,
                    self.work_side,
                    self.long_share,
                    flip=bool(rng.random() < 0.5),
                    turns=turns,
                    gap=self.gap,
                )
            yield pairs
            batch_index += streams
