"""The learned region matcher: CNN + geometry region features, matched by a
graph neural network (engine.features, engine.model).

`LearnedMatcher` implements engine.matching's Matcher protocol. A frame's
region descriptors (the CNN's share of the work) are cached by frame number,
so a frame is encoded once however many keys it is matched against; the
cache checks that the frame's segmentation is still the one it encoded.

Weights ship as ``resources/matcher.safetensors`` (package
``cadmium_resources``), with the model configuration inside the file's
metadata, so the network is rebuilt from the file alone. Nothing is ever
unpickled.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from engine.errors import CadmiumError, ModelError
from engine.features import RegionEncoder, collate, frame_inputs, style_codes
from engine.fills import FillMap
from engine.imageio import atomic_write_bytes
from engine.jsonfile import parse_json
from engine.matching import Correspondence, Frame
from engine.model.conf import merge_conf
from engine.model.matcher import GraphMatcher, row_slices
from engine.palette import UNPAINTED

log = logging.getLogger(__name__)

SHIPPED_FILE = "matcher.safetensors"
FORMAT = "cadmium-region-matcher"
FORMAT_VERSION = "1"
# Strength of the mutual re-ranking (see `mutual_rerank`). On held-out
# generated shots (seed 777) 1.0 gained about one point of segment accuracy
# over 0 in every protocol; 3 and 10 gained less.
DEFAULT_MUTUAL = 1.0
# Memory a match holds per pair of key and target regions (the score matrix
# and its re-ranking; attention biases and weights go in slices), with some
# margin: benchmarks/bench_regions.py measures 13 / 15 / 14 bytes a pair at
# 1,297 / 2,692 / 5,185 regions a frame on the CPU.
PAIR_BYTES = 20


class MatchingModel(nn.Module):
    """Region encoder and graph matcher, with one configuration."""

    default_conf: ClassVar[dict[str, Any]] = {
        "encoder": {},  # see engine.features.RegionEncoder.default_conf
        "matcher": {},  # see engine.model.matcher.GraphMatcher.default_conf
        # Long side (px) of the frame the CNN sees; larger frames are shrunk
        # (see engine.features). Part of the model: it sets the scale the
        # CNN was trained at.
        "work_side": 384,
    }

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conf = conf = merge_conf(self.default_conf, conf, "MatchingModel")
        self.encoder = RegionEncoder(conf["encoder"])
        matcher_conf = {"dim": self.encoder.dim, **conf["matcher"]}
        self.matcher = GraphMatcher(matcher_conf)
        conf["encoder"], conf["matcher"] = self.encoder.conf, self.matcher.conf
        if self.matcher.conf["dim"] != self.encoder.dim:
            raise ValueError("matcher dim differs from the encoder's output dim")

    def forward(self, data: dict[str, Any]) -> dict[str, torch.Tensor]:
        """B pairs in one batch of 2B frames of one size: the B keys first,
        then the B targets (see engine.features.collate for the keys).

        Pairs that share frames (training draws several pairs from one shot)
        may have each frame encoded once: ``frames`` is then the collated
        distinct frames (the encoder's input) and ``region_index`` [N] long
        gives, for each region of the 2B frames above, its row among the
        distinct frames' regions; the 2B frames' entries then need only
        position, batch, edges, edge_attr and counts. Optional
        ``style_codes0`` [N0 x C]: the keys' fills (engine.features.
        style_codes), in the keys' region order.

        Returns GraphMatcher's outputs: log_probs [B x M1 x (M0 + 1)],
        mask0 [B x M0], mask1 [B x M1].
        """
        if "frames" in data:
            encoded = self.encoder(data["frames"])["descriptors"]
            descriptors = encoded[data["region_index"]]
        else:
            descriptors = self.encoder(data)["descriptors"]
        counts = data["counts"]
        b = len(counts) // 2
        n0 = int(sum(counts[:b]))
        batch, edges, attr = data["batch"], data["edges"], data["edge_attr"]
        key_edges = edges[0] < n0
        styles = {k: data[k] for k in ("style_codes0",) if k in data}
        return self.matcher(
            {
                **styles,
                "descriptors0": descriptors[:n0],
                "position0": data["position"][:n0],
                "batch0": batch[:n0],
                "edges0": edges[:, key_edges],
                "edge_attr0": attr[key_edges],
                "descriptors1": descriptors[n0:],
                "position1": data["position"][n0:],
                "batch1": batch[n0:] - b,
                "edges1": edges[:, ~key_edges] - n0,
                "edge_attr1": attr[~key_edges],
            },
            pairs=b,
        )


@dataclass(frozen=True)
class _Encoded:
    # The label map these descriptors belong to, weakly: the cache must not
    # keep a dropped frame's label map alive (33 MB at 4K, 16 frames).
    labels: weakref.ref[np.ndarray]
    descriptors: torch.Tensor  # [n x D]
    position: torch.Tensor  # [n x 2]
    edges: torch.Tensor  # [2 x E]
    edge_attr: torch.Tensor  # [E x A]


def free_memory(device: torch.device) -> int | None:
    """Bytes free for new work on ``device`` (None where it is not known)."""
    if device.type == "cuda":
        # Free on the card, plus what torch holds cached for reuse.
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(
            device
        )
        return int(torch.cuda.mem_get_info(device)[0]) + int(cached)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class LearnedMatcher:
    """The Matcher protocol over a MatchingModel, with a per-frame cache."""

    name = "learned"

    def __init__(
        self,
        model: MatchingModel,
        *,
        device: str = "cpu",
        cache_frames: int = 16,
        work_side: int | None = None,
        mutual: float = DEFAULT_MUTUAL,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.work_side = work_side or int(model.conf["work_side"])
        self.cache_frames = cache_frames
        self.mutual = mutual
        self._cache: OrderedDict[int, _Encoded] = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, frame: Frame) -> _Encoded | None:
        """The frame's descriptors if cached for its current segmentation."""
        labels = frame.regions.labels
        with self._lock:
            hit = self._cache.get(frame.number)
            encoded_labels = hit.labels() if hit is not None else None
            if encoded_labels is None or not (
                encoded_labels is labels
                or (
                    encoded_labels.shape == labels.shape
                    and np.array_equal(encoded_labels, labels)
                )
            ):
                return None
            self._cache.move_to_end(frame.number)
            return hit

    def encode(self, frame: Frame) -> _Encoded:
        """A frame's region descriptors, from the cache when still valid."""
        hit = self._cached(frame)
        if hit is not None:
            return hit
        return self._encode_batch([frame])[0]

    def prepare(self, frames: Sequence[Frame], batch: int = 8) -> None:
        """Encode the frames not cached yet, ``batch`` frames per CNN call
        (frames of one work size share a call; on a GPU this is what keeps
        it busy). Matching them afterwards reuses these descriptors."""
        todo: dict[int, Frame] = {}
        for frame in frames:
            if frame.regions.count and self._cached(frame) is None:
                todo[frame.number] = frame
        todo_frames = list(todo.values())[: self.cache_frames]
        for start in range(0, len(todo_frames), max(batch, 1)):
            self._encode_batch(todo_frames[start : start + max(batch, 1)])

    def _encode_batch(self, frames: Sequence[Frame]) -> list[_Encoded]:
        inputs = [
            frame_inputs(f.lineart, f.regions, work_side=self.work_side) for f in frames
        ]
        encoded: list[_Encoded | None] = [None] * len(frames)
        # One CNN call per work size (frames of a shot all share one).
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, item in enumerate(inputs):
            by_shape.setdefault(item.image.shape, []).append(i)
        for members in by_shape.values():
            data = collate([inputs[i] for i in members], self.device)
            with torch.inference_mode():
                descriptors = self.model.encoder(data)["descriptors"]
            start = 0
            for i in members:
                item, end = inputs[i], start + inputs[i].count
                encoded[i] = _Encoded(
                    weakref.ref(frames[i].regions.labels),
                    descriptors[start:end],
                    data["position"][start:end],
                    torch.from_numpy(item.edges).to(self.device),
                    torch.from_numpy(item.edge_attr).to(self.device),
                )
                start = end
        done = [e for e in encoded if e is not None]
        with self._lock:
            for frame, item in zip(frames, done, strict=True):
                self._cache[frame.number] = item
                self._cache.move_to_end(frame.number)
            while len(self._cache) > self.cache_frames:
                self._cache.popitem(last=False)
        return done

    def _check_memory(self, key: Frame, target: Frame) -> None:
        """Refuse, with the reason, a pair whose match would not fit in the
        memory free now (it grows with the product of the region counts:
        thousands of specks or screentone dots), instead of the system
        killing the process half-way."""
        need = PAIR_BYTES * key.regions.count * target.regions.count
        free = free_memory(self.device)
        if free is None or need <= free:
            return
        raise CadmiumError(
            f"frames {key.number} and {target.number}: matching "
            f"{key.regions.count} regions with {target.regions.count} needs "
            f"about {need / 2**30:.1f} GB, and {free / 2**30:.1f} GB is free "
            "(specks or screentone in the line art?); the assignment matcher "
            "needs far less"
        )

    def match(self, key: Frame, key_fills: FillMap, target: Frame) -> Correspondence:
        return self.match_many(key, key_fills, [target])[0]

    def match_many(
        self, key: Frame, key_fills: FillMap, targets: Sequence[Frame]
    ) -> list[Correspondence]:
        """``match(key, key_fills, t)`` for every target, the pairs through
        the graph network together: on a GPU one pass costs about as much
        for eight pairs as for one (hundreds of small kernels, each a
        launch), so propagation matches a batch of frames to their keys in
        one call."""
        n_key = key.regions.count
        if n_key == 0:  # nothing to match to: every region is "no match"
            return [
                Correspondence(np.ones((t.regions.count, 1), np.float32))
                for t in targets
            ]
        # Targets without regions take no part (nothing to match).
        present = [t for t in targets if t.regions.count]
        empty = np.zeros((0, n_key + 1), np.float32)
        if not present:
            return [Correspondence(empty) for _ in targets]
        for target in present:
            self._check_memory(key, target)
        k = self.encode(key)
        styles = {}
        width = int(self.model.matcher.conf["style_codes"])
        if width > 0:
            if len(key_fills) != n_key:
                raise ValueError(
                    f"key frame {key.number}: {len(key_fills)} fills for "
                    f"{n_key} regions"
                )
            # Only settled fills are shown: a fill flagged for review (the
            # frame before, painted by propagation) must not mislead the match.
            codes = style_codes(
                np.where(key_fills.settled, key_fills.style, UNPAINTED), width
            )
            styles["style_codes0"] = torch.from_numpy(codes).to(self.device)
        encoded = [self.encode(t) for t in present]
        pairs = len(present)
        counts = [t.regions.count for t in present]
        # Pair i's regions: the key again, then its target; edges are
        # numbered within their frame, so each copy's are shifted past the
        # regions before it.
        offsets = np.cumsum([0, *counts[:-1]]).tolist()
        pair_of = np.repeat(np.arange(pairs), counts)
        with torch.inference_mode():
            out = self.model.matcher(
                {
                    **{name: v.repeat(pairs, 1) for name, v in styles.items()},
                    "descriptors0": k.descriptors.repeat(pairs, 1),
                    "position0": k.position.repeat(pairs, 1),
                    "batch0": torch.arange(pairs, device=self.device).repeat_interleave(
                        n_key
                    ),
                    "edges0": torch.cat(
                        [k.edges + i * n_key for i in range(pairs)], dim=1
                    ),
                    "edge_attr0": k.edge_attr.repeat(pairs, 1),
                    "descriptors1": torch.cat([t.descriptors for t in encoded]),
                    "position1": torch.cat([t.position for t in encoded]),
                    "batch1": torch.from_numpy(pair_of).to(self.device),
                    "edges1": torch.cat(
                        [t.edges + offsets[i] for i, t in enumerate(encoded)], dim=1
                    ),
                    "edge_attr1": torch.cat([t.edge_attr for t in encoded]),
                },
                pairs=pairs,
            )
            all_log_probs = out["log_probs"]
            del out
            probs = []
            for i, target in enumerate(present):
                log_probs = all_log_probs[i, : target.regions.count].float()
                if self.mutual > 0:
                    log_probs = mutual_rerank(log_probs, self.mutual)
                # In place from here: at thousands of regions a frame, every
                # copy of the matrix is hundreds of megabytes.
                prob = log_probs.exp_().cpu().numpy()
                prob /= prob.sum(axis=1, keepdims=True)
                probs.append(prob)
            del all_log_probs
        found = iter(probs)
        return [
            Correspondence(next(found) if t.regions.count else empty) for t in targets
        ]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def mutual_rerank(log_probs: torch.Tensor, strength: float) -> torch.Tensor:
    """Re-rank each target row's key regions by how much each key region
    prefers that target over the other targets (a dual softmax).

    log_probs [M1 x (M0 + 1)]. Every row keeps its "no match" probability;
    its key-region share is redistributed by softmax(L + strength * C), C the
    column-normalised log-probabilities. Two target regions competing for one
    key region then settle on the one that fits it better, as a one-to-one
    assignment would, while a split region still keeps its key region.

    Worked through in slices of rows (engine.model.matcher.row_slices), so
    a large pair of frames needs the output matrix and a slice, no more.
    """
    rows, columns = log_probs.shape[0], log_probs.shape[1] - 1
    slices = row_slices(1, rows, columns)
    keys = log_probs[:, :-1]
    total = keys[slices[0]].logsumexp(dim=0, keepdim=True)
    for part in slices[1:]:
        total = torch.logaddexp(total, keys[part].logsumexp(dim=0, keepdim=True))
    out = torch.empty_like(log_probs)
    for part in slices:
        block, dust = keys[part], log_probs[part, -1:]
        reranked = (block + strength * (block - total)).log_softmax(dim=1)
        matched = torch.log1p(-dust.exp().clamp(max=1 - 1e-6))
        out[part, :-1] = reranked + matched
        out[part, -1:] = dust
    return out


# -- weights on disk -------------------------------------------------------


def save_matcher(model: MatchingModel, path: str | Path, info: dict[str, Any]) -> None:
    """Weights and configuration as safetensors; ``info`` values (step,
    metrics, run config, data version) go into the metadata as JSON. Written
    atomically: a process killed while saving leaves the previous file."""
    from safetensors.torch import save

    state = {
        k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_conf": json.dumps(model.conf, sort_keys=True),
    }
    metadata.update({k: json.dumps(v, sort_keys=True) for k, v in info.items()})
    atomic_write_bytes(path, save(state, metadata=metadata))


def read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file held in memory."""
    if len(data) < 8:
        raise ModelError("matcher weights: file too short to be safetensors")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ModelError("matcher weights: truncated safetensors header")
    try:
        header = parse_json(data[8 : 8 + header_len])
    except ValueError as exc:
        raise ModelError(f"matcher weights: unreadable header ({exc})") from None
    return dict(header.get("__metadata__") or {})


# Parameters added to the network since weights were first shipped, each
# initialised so that it leaves the network as it was: weights saved without
# them can start a training run (a warm restart) with them.
NEUTRAL_ADDITIONS = (
    "matcher.key_style.",  # the key's style read (run 5)
    "matcher.target_style.",  # the target's tentative colours (rounds > 1)
)
LAYER_PREFIXES = ("matcher.self_layers.", "matcher.cross_layers.")


def neutral_start(model: MatchingModel, missing: Sequence[str]) -> list[str]:
    """After loading older or shallower weights with ``strict=False``: the
    names in ``missing`` that start out leaving the network as the weights
    had it, which are parameters added since (NEUTRAL_ADDITIONS) and graph
    layers beyond the last one the weights have (made pass-through here, so
    a 7-layer network starts as the 5-layer one it was loaded from). Any
    other missing name (a layer below the last one, say) is left out of the
    list, for the caller to refuse the weights."""
    layers = int(model.matcher.conf["layers"])
    present = {
        int(name[len(prefix) :].split(".")[0])
        for name in model.state_dict()
        for prefix in LAYER_PREFIXES
        if name.startswith(prefix) and name not in missing
    }
    first = max(present) + 1 if present else 0
    if first < layers:
        model.matcher.pass_through(first)
        log.info(
            "graph layers %d-%d start as pass-through (the weights have %d)",
            first + 1,
            layers,
            first,
        )
    added = tuple(f"{p}{i}." for p in LAYER_PREFIXES for i in range(first, layers))
    return [n for n in missing if n.startswith((*NEUTRAL_ADDITIONS, *added))]


def rebuild_model(conf: dict[str, Any]) -> MatchingModel:
    """The network a saved configuration describes. Saved configurations
    are complete, so a key they lack is one added since: it takes the value
    that matches how those weights were trained, not today's default."""
    if not isinstance(conf, dict):
        raise ValueError("model configuration is not a mapping")
    conf = json.loads(json.dumps(conf))
    # Before run 5 the key's fills were not an input.
    conf.setdefault("matcher", {}).setdefault("style_codes", 0)
    return MatchingModel(conf)


def model_from_bytes(
    data: bytes, source: str = "weights"
) -> tuple[MatchingModel, dict[str, Any]]:
    """Rebuild a MatchingModel from safetensors bytes (config from metadata).

    Returns the model (on the CPU, eval mode) and its decoded metadata.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    meta = read_metadata(data)
    if meta.get("format") != FORMAT:
        raise ModelError(f"{source}: not a Cadmium region-matcher file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{source}: format version {meta.get('format_version')!r} unsupported"
        )
    info: dict[str, Any] = {}
    for k, v in meta.items():
        try:
            info[k] = parse_json(v)
        except ValueError:
            info[k] = v
    try:
        model = rebuild_model(info["model_conf"])
        state = load(data)
        model.load_state_dict(state, strict=True)
    except (ValueError, RuntimeError, KeyError, SafetensorError) as exc:
        raise ModelError(f"{source}: weights do not fit the network ({exc})") from None
    return model.eval(), info


def load_matcher(path: str | Path, *, device: str = "cpu") -> LearnedMatcher:
    """A LearnedMatcher from a safetensors file written by `save_matcher`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read matcher weights ({exc})") from None
    model, _ = model_from_bytes(data, str(path))
    return LearnedMatcher(model, device=device)


def load_shipped_matcher(device: str = "cpu") -> LearnedMatcher:
    """The matcher with the weights shipped in the cadmium_resources package."""
    resource = files("cadmium_resources") / SHIPPED_FILE
    if not resource.is_file():
        raise ModelError(
            f"no shipped matcher weights ({SHIPPED_FILE} not in resources)"
        )
    model, info = model_from_bytes(resource.read_bytes(), SHIPPED_FILE)
    log.info("learned matcher: shipped weights, step %s", info.get("step"))
    return LearnedMatcher(model, device=device)
