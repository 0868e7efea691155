"""Region features: one descriptor per region, from the CNN and from geometry.

Two steps, kept apart so the first can run in data loaders and the second
on the accelerator:

1. `frame_inputs` (numpy, no model): the CNN's input channels at the *work
   resolution*, the label map sampled on the CNN's output grid, a geometry
   vector per region and the adjacency graph with edge attributes.
2. `RegionEncoder` (torch): runs the backbone, pools its features per region
   by scatter-mean over the sampled label map, and adds an MLP encoding of the
   geometry.

Why a work resolution: the CNN sees a frame scaled so its long side is at
most ``work_side`` px. Line art carries no texture that needs full HD to be
recognised, the receptive field then covers the same share of a drawing at
any frame size (the model trains on small frames), and the backbone's cost
stops growing with the frame: an HD and a 4K frame cost the same. Geometry is
measured on the full-resolution regions, in units of the frame's size.

Regions too small to own a cell centre of the output grid (at HD, anything
under about 40 px) take the features bilinearly interpolated at their
centroid instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
from torch import nn
from torch_geometric.utils import scatter

from engine.lineart import LineArt
from engine.model.backbone import Backbone
from engine.model.conf import merge_conf
from engine.regions import Regions

# Distance to the nearest line is given in work-resolution px over this, and
# clipped to 1: beyond it the CNN's receptive field tells "far" well enough.
DISTANCE_SCALE = 24.0
GEOMETRY_DIM = 16
EDGE_DIM = 3
STRIDE = Backbone.stride


@dataclass(frozen=True)
class FrameInputs:
    """Everything the encoder needs about one frame, as numpy arrays.

    image:     float32 [3 x h x w], CNN channels at the work resolution.
    grid:      int64 [h4 x w4], region index at each output cell's centre
               (-1 on lines); h4 = ceil(h / 4), w4 = ceil(w / 4).
    anchor:    float32 [n x 2], region centroids in output-grid cells (x, y).
    position:  float32 [n x 2], region centroids over the frame's long side.
    geometry:  float32 [n x GEOMETRY_DIM], see `region_geometry`.
    edges:     int64 [2 x E], directed adjacency (both directions, no loops).
    edge_attr: float32 [E x EDGE_DIM], see `graph_edges`.
    """

    image: np.ndarray
    grid: np.ndarray
    anchor: np.ndarray
    position: np.ndarray
    geometry: np.ndarray
    edges: np.ndarray
    edge_attr: np.ndarray

    @property
    def count(self) -> int:
        return int(self.geometry.shape[0])


def work_scale(shape: tuple[int, int], work_side: int | None) -> float:
    """Scale from the frame to the work resolution (never upscales)."""
    if not work_side:
        return 1.0
    return min(1.0, float(work_side) / float(max(shape)))


def frame_channels(lineart: LineArt, scale: float) -> np.ndarray:
    """float32 [3 x h x w]: ink, scaled distance to lines, colour-trace mask."""
    ink = lineart.ink
    trace = lineart.trace.view(np.uint8) * np.uint8(255)
    height, width = ink.shape
    if scale < 1.0:
        size = (max(round(width * scale), 1), max(round(height * scale), 1))
        ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
        trace = cv2.resize(trace, size, interpolation=cv2.INTER_AREA)
        # Thin lines turn grey when shrunk; anything visibly inked blocks.
        line = (ink > 64).view(np.uint8)
    else:
        line = lineart.line.view(np.uint8)
    distance = cv2.distanceTransform(1 - line, cv2.DIST_L2, 3)
    channels = np.empty((3, *ink.shape), np.float32)
    channels[0] = ink * (1.0 / 255.0)
    channels[1] = np.minimum(distance * (1.0 / DISTANCE_SCALE), 1.0)
    channels[2] = trace * (1.0 / 255.0)
    return channels


def sample_grid(
    labels: np.ndarray, work_shape: tuple[int, int], scale: float
) -> np.ndarray:
    """int64 [h4 x w4]: region index at the centre of each output cell."""
    h, w = work_shape
    h4, w4 = -(-h // STRIDE), -(-w // STRIDE)
    height, width = labels.shape
    # Cell i covers work pixels [4i, 4i + 4); its centre maps back to the
    # frame through the scale.
    ys = np.minimum(
        ((np.arange(h4) * STRIDE + 1.5) / scale).astype(np.int64), height - 1
    )
    xs = np.minimum(
        ((np.arange(w4) * STRIDE + 1.5) / scale).astype(np.int64), width - 1
    )
    return labels[ys[:, None], xs[None, :]].astype(np.int64) - 1


def region_geometry(regions: Regions) -> np.ndarray:
    """float32 [n x GEOMETRY_DIM], in units of the frame, resolution-free.

    0-1 centroid x, y (frame centre = 0, edges = +-0.5)
    2   log area share of the frame (scaled)
    3-6 bbox x0, y0, x1, y1 (frame centre = 0)
    7-8 bbox width, height
    9   compactness 4 pi area / perimeter^2
    10-11 spread: standard deviation of x and y over the region's pixels
    12  correlation of x and y (orientation of elongated regions)
    13  touches the frame border
    14  share of the boundary on colour-trace lines
    15  log number of neighbours (scaled)
    """
    height, width = regions.shape
    table = regions.table
    n = regions.count
    size = np.array([width, height], np.float64)
    area = table.area.astype(np.float64)
    safe_area = np.maximum(area, 1.0)
    # Second moments from the horizontal runs of the label map: the sums of
    # x and x^2 over a run have closed forms, so the work grows with the
    # number of runs (about the boundary length), not with the pixel count.
    _, var_x, var_y, cov = _run_moments(regions.labels, n)
    vxx, vyy = var_x / width**2, var_y / height**2
    vxy = cov / (width * height)
    corr = vxy / np.sqrt(np.maximum(vxx * vyy, 1e-12))
    degree = np.bincount(regions.graph.edges.ravel(), minlength=n).astype(np.float64)
    bbox = table.bbox.astype(np.float64) / np.concatenate([size, size]) - 0.5
    centroid = table.centroid.astype(np.float64) / size - 0.5
    compact = (
        4.0 * np.pi * area / np.maximum(table.perimeter.astype(np.float64), 1.0) ** 2
    )
    geometry = np.stack(
        [
            centroid[:, 0],
            centroid[:, 1],
            np.log(safe_area / (height * width)) / 6.0 + 1.0,
            bbox[:, 0],
            bbox[:, 1],
            bbox[:, 2],
            bbox[:, 3],
            bbox[:, 2] - bbox[:, 0],
            bbox[:, 3] - bbox[:, 1],
            np.clip(compact, 0.0, 1.0),
            np.sqrt(vxx) * 4.0,
            np.sqrt(vyy) * 4.0,
            np.clip(corr, -1.0, 1.0),
            table.touches_border.astype(np.float64),
            table.trace_boundary.astype(np.float64),
            np.log1p(degree) / 2.0,
        ],
        axis=1,
    )
    return geometry.astype(np.float32).reshape(n, GEOMETRY_DIM)


def _run_moments(
    labels: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per region (labels 1..n): mean (x, y) [n x 2], var x, var y, cov xy, in px."""
    width = labels.shape[1]
    change = np.empty(labels.shape, bool)
    change[:, 0] = True
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, labels.size))
    run_label = labels.ravel()[starts].astype(np.int64)
    keep = run_label > 0
    starts, lengths, index = starts[keep], lengths[keep], run_label[keep] - 1
    y = (starts // width).astype(np.float64)
    a = (starts % width).astype(np.float64)  # first x of the run
    b = a + lengths - 1  # last x of the run
    count = lengths.astype(np.float64)

    def squares_to(k: np.ndarray) -> np.ndarray:  # 0^2 + 1^2 + ... + k^2
        return k * (k + 1) * (2 * k + 1) / 6.0

    sum_x = (a + b) * count / 2.0
    sum_xx = squares_to(b) - squares_to(a - 1)
    total = np.maximum(np.bincount(index, count, minlength=n), 1.0)
    mx = np.bincount(index, sum_x, minlength=n) / total
    my = np.bincount(index, y * count, minlength=n) / total
    var_x = np.bincount(index, sum_xx, minlength=n) / total - mx * mx
    var_y = np.bincount(index, y * y * count, minlength=n) / total - my * my
    cov = np.bincount(index, y * sum_x, minlength=n) / total - mx * my
    mean = np.stack([mx, my], axis=1)
    return mean, np.maximum(var_x, 0.0), np.maximum(var_y, 0.0), cov


def graph_edges(regions: Regions) -> tuple[np.ndarray, np.ndarray]:
    """Directed adjacency [2 x E] and attributes [E x EDGE_DIM]: log shared
    boundary (in frame units), colour-trace share, and a constant 1 that lets
    attention tell a neighbour from the self loop it adds (attributes 0)."""
    graph = regions.graph
    side = float(max(regions.shape))
    if len(graph.edges) == 0:
        return np.zeros((2, 0), np.int64), np.zeros((0, EDGE_DIM), np.float32)
    edges = np.concatenate([graph.edges.T, graph.edges.T[::-1]], axis=1)
    length = np.log1p(graph.length.astype(np.float32) * (400.0 / side)) / 4.0
    attr = np.stack([length, graph.trace, np.ones_like(length)], axis=1)
    return edges.astype(np.int64), np.concatenate([attr, attr]).astype(np.float32)


def frame_inputs(
    lineart: LineArt, regions: Regions, *, work_side: int | None
) -> FrameInputs:
    """The encoder's inputs for one analysed frame."""
    scale = work_scale(regions.shape, work_side)
    image = frame_channels(lineart, scale)
    grid = sample_grid(regions.labels, image.shape[1:], scale)
    anchor = regions.table.centroid.astype(np.float32) * (scale / STRIDE) - 0.5 * (
        1.0 - 1.0 / STRIDE
    )
    edges, edge_attr = graph_edges(regions)
    return FrameInputs(
        image=image,
        grid=grid,
        anchor=anchor.astype(np.float32).reshape(-1, 2),
        position=(regions.table.centroid / float(max(regions.shape)))
        .astype(np.float32)
        .reshape(-1, 2),
        geometry=region_geometry(regions),
        edges=edges,
        edge_attr=edge_attr,
    )


# Seed of the fixed style codes used outside training (see `style_codes`).
STYLE_CODE_SEED = 20261122


def style_codes(
    styles: np.ndarray, width: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """One key's fills as matcher input: float32 [n x (width + 1)].

    ``styles`` int [n] names each region's style (any integer id; negative =
    unpainted). Every style gets a random code of ``width`` normal values and
    the last column says "painted"; unpainted regions get a zero row. The
    codes say only which regions share a style: the network learns from them
    that several key regions are one part. Training draws fresh codes from
    ``rng`` for every key, so nothing else can be learned from them; without
    ``rng`` the k-th style met in region order gets the k-th of a fixed list
    of codes (seeded by STYLE_CODE_SEED), so the palette's order, names and
    hues never change a match.
    """
    styles = np.asarray(styles, np.int64)
    codes = np.zeros((len(styles), width + 1), np.float32)
    painted = styles >= 0
    _, first, inverse = np.unique(
        styles[painted], return_index=True, return_inverse=True
    )
    if rng is not None:
        table = rng.standard_normal((len(first), width))
    else:
        rank = np.argsort(np.argsort(first))  # styles in order of appearance
        table = np.array(
            [
                np.random.default_rng([STYLE_CODE_SEED, int(r)]).standard_normal(width)
                for r in rank
            ]
        ).reshape(len(first), width)
    codes[painted, :width] = table[inverse.reshape(-1)]
    codes[painted, width] = 1.0
    return codes


def _offsets(counts: list[int]) -> np.ndarray:
    """First batch-wide region index of each frame."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _cat(
    arrays: list[np.ndarray], device: torch.device | str, axis: int = 0
) -> torch.Tensor:
    return torch.from_numpy(np.concatenate(arrays, axis=axis)).to(device)


def collate_graphs(
    frames: list[FrameInputs], device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """The matcher's view of a batch of frames: position [N x 2], batch [N]
    (frame of each region), edges [2 x E] (batch-wide region numbers),
    edge_attr [E x EDGE_DIM] and counts (list of n per frame)."""
    counts = [f.count for f in frames]
    offsets = _offsets(counts)
    return {
        "position": _cat([f.position for f in frames], device),
        "batch": _cat([np.full(c, i, np.int64) for i, c in enumerate(counts)], device),
        "edges": _cat(
            [f.edges + o for f, o in zip(frames, offsets, strict=True)], device, axis=1
        ),
        "edge_attr": _cat([f.edge_attr for f in frames], device),
        "counts": counts,
    }


def collate(
    frames: list[FrameInputs], device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Batch frames of one work size: regions are numbered through the batch.

    Returns `collate_graphs`' entries and the encoder's: image
    [B x 3 x h x w], grid [B x h4 x w4] (batch-wide region index, -1 none),
    anchor [N x 2] and geometry [N x G].
    """
    offsets = _offsets([f.count for f in frames])
    grid = np.stack(
        [
            np.where(f.grid >= 0, f.grid + o, -1)
            for f, o in zip(frames, offsets, strict=True)
        ]
    )
    return {
        "image": torch.from_numpy(np.stack([f.image for f in frames])).to(device),
        "grid": torch.from_numpy(grid).to(device),
        "anchor": _cat([f.anchor for f in frames], device),
        "geometry": _cat([f.geometry for f in frames], device),
        **collate_graphs(frames, device),
    }


def bilinear_at(
    features: torch.Tensor, batch: torch.Tensor, xy: torch.Tensor
) -> torch.Tensor:
    """features [B x D x h x w] sampled at cell coordinates xy [N x 2] of the
    frames ``batch`` [N] -> [N x D] (coordinates clamped to the grid)."""
    _, dim, h, w = features.shape
    x = xy[:, 0].clamp(0, w - 1)
    y = xy[:, 1].clamp(0, h - 1)
    x0, y0 = x.floor().long(), y.floor().long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    flat = features.permute(0, 2, 3, 1).reshape(-1, dim)
    base = batch * (h * w)

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return flat[base + yy * w + xx]

    return (
        at(y0, x0) * (1 - fx) * (1 - fy)
        + at(y0, x1) * fx * (1 - fy)
        + at(y1, x0) * (1 - fx) * fy
        + at(y1, x1) * fx * fy
    )


class RegionEncoder(nn.Module):
    """Backbone features pooled per region, plus a geometry encoding."""

    default_conf: ClassVar[dict[str, Any]] = {
        "backbone": {},  # see Backbone.default_conf
        "geometry_hidden": 64,  # hidden width of the geometry MLP
        # Sines and cosines of the centroid at 1, 2, 4, ... cycles per frame.
        # Dot-product attention compares positions through them directly
        # (their products are a kernel of the displacement), which a plain
        # MLP of raw coordinates would have to learn slowly.
        "fourier_bands": 6,
    }

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conf = conf = merge_conf(self.default_conf, conf, "RegionEncoder")
        self.backbone = Backbone(conf["backbone"])
        self.conf["backbone"] = self.backbone.conf
        dim = self.backbone.conf["dim"]
        hidden = conf["geometry_hidden"]
        bands = conf["fourier_bands"]
        self.register_buffer(
            "frequencies",
            2.0 * torch.pi * 2.0 ** torch.arange(bands, dtype=torch.float32),
            persistent=False,
        )
        self.geometry_mlp = nn.Sequential(
            nn.Linear(GEOMETRY_DIM + 4 * bands, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, dim),
        )
        self.norm = nn.LayerNorm(dim)
        self.dim = dim

    def forward(self, data: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """image [B x 3 x h x w], grid [B x h4 x w4], anchor [N x 2],
        geometry [N x G], batch [N] -> descriptors [N x D]."""
        features = self.backbone({"image": data["image"]})["features"]
        _, dim, h, w = features.shape
        grid = data["grid"]
        if grid.shape[-2:] != (h, w):
            raise ValueError(
                f"label grid {tuple(grid.shape)} does not fit features {h}x{w}"
            )
        n = data["geometry"].shape[0]
        flat = features.permute(0, 2, 3, 1).reshape(-1, dim)
        index = grid.reshape(-1)
        owned = index >= 0
        pooled = scatter(flat[owned], index[owned], dim=0, dim_size=n, reduce="mean")
        cells = torch.bincount(index[owned], minlength=n)
        if bool((cells == 0).any()):
            at_centroid = bilinear_at(features, data["batch"], data["anchor"])
            pooled = torch.where((cells > 0).unsqueeze(1), pooled, at_centroid)
        geometry = data["geometry"]
        # Centroids span 1 across the frame: band k turns 2^k times over it.
        angles = (geometry[:, :2, None] * self.frequencies).flatten(1)
        encoded = torch.cat([geometry, angles.sin(), angles.cos()], dim=1)
        descriptors = self.norm(pooled + self.geometry_mlp(encoded))
        return {"descriptors": descriptors}
