"""A graph neural network that matches the regions of two frames.

Like SuperGlue and LightGlue for keypoints, each layer lets every region
look first at its own frame, then at the other one:

    self-attention   along the frame's region adjacency graph (each region
                     attends to itself and the regions across its lines),
                     with the shared boundary's length and colour-trace share
                     as edge attributes (torch-geometric TransformerConv);
    cross-attention  to every region of the other frame (dense, per pair),
                     with a learned locality bias per head: the logit of
                     region j drops with the squared distance between the
                     two centroids, by a learned rate (sharp heads look
                     nearby, flat heads look everywhere; like ALiBi, but in
                     the image plane).

Before the first layer the key's regions also learn how the key is
painted: a linear read of each key region's style code (engine.features.
style_codes: a random code per style, zero when unpainted) is added to its
descriptor, so self-attention can tell which neighbours share a colour and
treat a part cut up by lines as one. The read starts at zero, so weights
trained without it load and behave as before (a warm restart).

With ``rounds`` 2 or more, the layers and scores run again: in each round
after the first, every target region also reads its tentative colours (the
key's style codes averaged by its match probabilities of the round before,
through a linear read that starts at zero), so self-attention can see
which of its neighbours look like the same part. Training passes gradients
through every round; only the last round's scores are returned.

Otherwise both frames go through the same weights, and nothing depends on
the order in which regions are numbered: graph attention and dense
attention are permutation equivariant, and so is the output.

After the last layer, a target region i scores every key region j by a dot
product of projected descriptors minus a learned multiple of their squared
centroid distance, and "no match" by a learned score of its own (a shared
bias plus a linear read of the region's descriptor). A softmax over the key
regions and the dustbin, per target row, gives the many-to-one assignment:
several target regions may pick one key region (a region split by a new
line), and no key region is ever forced to be used.

Pairs are batched: regions of all frames are concatenated (graph attention
is blind to the batch because no edge crosses frames) and cross-attention
runs on a padded [B x M x D] view, padding masked out in its bias. The
padded layout is worked out once per forward (`DenseLayout`), with one
read of sizes back from the device: on a GPU every such read waits for all
the work queued before it, and a layer's hundreds of small kernels then
run one at a time instead of queued ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch_geometric.nn import TransformerConv
from torch_geometric.utils import add_self_loops

from engine.model.conf import merge_conf

# A finite "minus infinity" for masked logits, safe in half precision.
NEG_INF = -1e4
# Region pairs (over the batch) whose distances, attention biases and scores
# are held at once: larger frames are worked through in slices of target
# rows, so memory grows with the output matrix alone (thousands of specks or
# screentone dots), not with heads x pairs. Ordinary frames (a few hundred
# regions) are one slice. On the CPU, slices of a million pairs held more
# and ran no faster (benchmarks/bench_regions.py).
SLICE_PAIRS = 1 << 18


def row_slices(batch: int, rows: int, columns: int) -> list[slice]:
    """Slices of ``rows`` of at most SLICE_PAIRS pairs each over the batch."""
    step = max(1, SLICE_PAIRS // max(1, batch * columns))
    return [slice(start, start + step) for start in range(0, max(rows, 1), step)]


def locality_bias(
    rates: torch.Tensor,
    position: torch.Tensor,
    other: torch.Tensor,
    other_mask: torch.Tensor,
) -> torch.Tensor:
    """Additive attention bias [B x H x M x K]: minus each head's rate times
    the squared centroid distance; NEG_INF on the other frame's padding.
    rates [H], position [B x M x 2], other [B x K x 2], other_mask [B x K]."""
    dist2 = (position[:, :, None, :] - other[:, None, :, :]).square().sum(-1)
    bias = -rates[None, :, None, None] * dist2[:, None]
    return bias.masked_fill(~other_mask[:, None, None, :], NEG_INF)


@dataclass(frozen=True)
class DenseLayout:
    """Where each region of a concatenated batch sits in the padded
    [B x M] view: its pair (``batch``) and its row within the pair
    (``row``); ``mask`` [B x M] marks the real rows. Moving between the two
    views is indexing with these, which needs no size from the device."""

    batch: torch.Tensor
    row: torch.Tensor
    mask: torch.Tensor

    @staticmethod
    def of(batch: torch.Tensor, pairs: int, rows: int) -> DenseLayout:
        """``batch`` [N] sorted pair numbers, ``pairs`` and ``rows`` (B, M)
        known on the host."""
        counts = region_counts(batch, pairs)
        starts = torch.cumsum(counts, 0) - counts
        row = torch.arange(len(batch), device=batch.device) - starts[batch]
        mask = torch.zeros(pairs, rows, dtype=torch.bool, device=batch.device)
        mask[batch, row] = True
        return DenseLayout(batch, row, mask)

    def dense(self, x: torch.Tensor) -> torch.Tensor:
        """[N x ...] -> [B x M x ...], zeros in the padding."""
        out = x.new_zeros(*self.mask.shape, *x.shape[1:])
        out[self.batch, self.row] = x
        return out

    def flat(self, dense: torch.Tensor) -> torch.Tensor:
        """[B x M x ...] -> [N x ...], the real rows in region order."""
        return dense[self.batch, self.row]


def region_counts(batch: torch.Tensor, pairs: int) -> torch.Tensor:
    """[B] regions per pair, computed on the device without a read back
    (bincount would read the largest pair number first)."""
    ones = torch.ones_like(batch)
    return torch.zeros(pairs, dtype=batch.dtype, device=batch.device).scatter_add_(
        0, batch, ones
    )


def batch_sizes(
    batch0: torch.Tensor, batch1: torch.Tensor, pairs: int | None = None
) -> tuple[int, int, int]:
    """Pairs B (from the batch vectors, unless given) and the most regions of
    a key (M0) and of a target (M1) in a pair: one read from the device when
    B is given, two when it is not."""
    sides = (batch0, batch1)
    if pairs is None:
        tops = [b.max() for b in sides if len(b)]
        pairs = int(torch.stack(tops).max()) + 1 if tops else 1
    most = [region_counts(b, pairs).max() if len(b) else b.new_zeros(()) for b in sides]
    rows0, rows1 = torch.stack(most).tolist()
    return pairs, int(rows0), int(rows1)


class Update(nn.Module):
    """x + MLP([x, message]), the residual update of SuperGlue."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2 * dim, 2 * dim),
            nn.LayerNorm(2 * dim),
            nn.GELU(),
            nn.Linear(2 * dim, dim),
        )

    def forward(self, x: torch.Tensor, message: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(torch.cat([x, message], dim=-1))


class GraphSelfAttention(nn.Module):
    """Attention from each region to itself and its graph neighbours."""

    def __init__(self, dim: int, heads: int, edge_dim: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.conv = TransformerConv(
            dim, dim // heads, heads=heads, edge_dim=edge_dim, root_weight=False
        )
        # torch-geometric builds the skip projection even without
        # root_weight, and never runs it. Frozen, so that DistributedDataParallel
        # does not wait for its gradient; it stays in the state dict, as in
        # the shipped weights.
        self.conv.lin_skip.requires_grad_(False)
        self.update = Update(dim)

    def forward(
        self, x: torch.Tensor, edges: torch.Tensor, edge_attr: torch.Tensor
    ) -> torch.Tensor:
        return self.update(x, self.conv(x, edges, edge_attr))


class CrossAttention(nn.Module):
    """Every region attends to every region of the other frame of its pair."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.update = Update(dim)

    def forward(
        self,
        x: torch.Tensor,
        other: torch.Tensor,
        rates: torch.Tensor,
        position: torch.Tensor,
        other_position: torch.Tensor,
        other_mask: torch.Tensor,
    ) -> torch.Tensor:
        """x [B x M x D], other [B x K x D], rates [H] (locality_bias),
        position [B x M x 2], other_position [B x K x 2], other_mask [B x K]
        -> [B x M x D]. The attention runs over slices of rows (row_slices):
        each row's message depends on that row alone."""
        b, m, d = x.shape
        h = self.heads
        q = self.q(x).view(b, m, h, d // h).transpose(1, 2)
        k, v = self.kv(other).view(b, -1, 2, h, d // h).permute(2, 0, 3, 1, 4)
        parts = []
        for rows in row_slices(b, m, other.shape[1]):
            bias = locality_bias(rates, position[:, rows], other_position, other_mask)
            parts.append(
                F.scaled_dot_product_attention(
                    q[:, :, rows], k, v, attn_mask=bias.to(q.dtype)
                )
            )
        message = torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]
        message = self.out(message.transpose(1, 2).reshape(b, m, d))
        return self.update(x, message)


class GraphMatcher(nn.Module):
    """Two frames' region descriptors and graphs -> match log-probabilities."""

    default_conf: ClassVar[dict[str, Any]] = {
        "dim": 64,  # descriptor width; must equal the encoder's output
        "heads": 4,  # attention heads (dim must be a multiple)
        "layers": 5,  # self + cross layer pairs
        "edge_dim": 3,  # edge attributes (engine.features.EDGE_DIM)
        # Initial locality rates of the cross-attention heads, per squared
        # distance in units of the frame's long side (learned, in log space,
        # from there): 400 is a reach of about 0.05 frame, 1 the whole frame.
        # Nearest centroid alone is right for about 3 regions in 4 between
        # neighbouring drawings, so the network starts from there.
        "locality": [400.0, 100.0, 20.0, 1.0],
        "score_locality": 300.0,  # the same for the final match score
        # Width of the key's style codes (engine.features.style_codes); 0 =
        # the key's fills are not an input (weights from before run 5).
        "style_codes": 16,
        # Rounds of matching. From the second on, each target region also
        # reads its tentative colours: the key's style codes averaged by its
        # match probabilities of the round before, so it can see which of its
        # neighbours look like the same part. 1 = a single round (weights
        # from before the rounds); more need style codes.
        "rounds": 1,
    }

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conf = conf = merge_conf(self.default_conf, conf, "GraphMatcher")
        dim, heads = conf["dim"], conf["heads"]
        self.self_layers = nn.ModuleList(
            [
                GraphSelfAttention(dim, heads, conf["edge_dim"])
                for _ in range(conf["layers"])
            ]
        )
        self.cross_layers = nn.ModuleList(
            [CrossAttention(dim, heads) for _ in range(conf["layers"])]
        )
        if len(conf["locality"]) != heads:
            raise ValueError("GraphMatcher locality: one rate per head")
        # Log rates: a rate must move over orders of magnitude in training.
        rates = torch.tensor(conf["locality"], dtype=torch.float32)
        self.locality = nn.Parameter(rates.log())
        self.score_locality = nn.Parameter(
            torch.tensor(float(conf["score_locality"])).log()
        )
        # The key's styles, read into its descriptors; zero at the start.
        self.key_style: nn.Linear | None = None
        if conf["style_codes"] > 0:
            self.key_style = nn.Linear(conf["style_codes"] + 1, dim)
            nn.init.zeros_(self.key_style.weight)
            nn.init.zeros_(self.key_style.bias)
        rounds = conf["rounds"]
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"GraphMatcher rounds {rounds!r}: use 1 or more")
        if rounds > 1 and self.key_style is None:
            raise ValueError(f"GraphMatcher rounds {rounds}: needs style codes")
        # The target's tentative colours, read the same way; zero at the
        # start. No bias: a target with no tentative colour (an unpainted
        # key) reads nothing, and its later rounds repeat the first.
        self.target_style: nn.Linear | None = None
        if rounds > 1:
            self.target_style = nn.Linear(conf["style_codes"] + 1, dim, bias=False)
            nn.init.zeros_(self.target_style.weight)
        self.project = nn.Linear(dim, dim)
        self.dustbin = nn.Linear(dim, 1)
        # "No match" starts unlikely: most regions do have a match.
        self.dustbin_bias = nn.Parameter(torch.tensor(-4.0))
        # Small initial scores: an untrained network matches by the locality
        # term alone (nearest centroid) instead of by noise.
        with torch.no_grad():
            self.project.weight.mul_(0.1)
            self.project.bias.zero_()
            self.dustbin.weight.mul_(0.1)
            self.dustbin.bias.zero_()

    def pass_through(self, first: int) -> None:
        """Make layers ``first`` onwards leave the descriptors unchanged
        (each update's last linear at zero): the network then computes what
        the first ``first`` layers compute, which starts a deeper network
        from a shallower one's weights (engine.learned.neutral_start)."""
        with torch.no_grad():
            for layer in (*self.self_layers[first:], *self.cross_layers[first:]):
                last = layer.update.mlp[-1]
                last.weight.zero_()
                last.bias.zero_()

    def forward(
        self, data: dict[str, torch.Tensor], pairs: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Key frame "0", target frame "1"; B pairs, regions concatenated.
        ``pairs`` is B when the caller knows it (one read from the device
        fewer: see batch_sizes).

        descriptors0 [N0 x D], position0 [N0 x 2] (centroid over the frame's
        long side), batch0 [N0] (pair of each region, sorted), edges0
        [2 x E0], edge_attr0 [E0 x A]; the same with "1". Optional
        style_codes0 [N0 x (style_codes + 1)]: the key's fills (absent = an
        unpainted key).
        Returns:
          log_probs  [B x M1 x (M0 + 1)]: per target region, log-probabilities
                     over the key regions and "no match" (last column);
                     M0, M1 = most regions in a key / target frame of the batch.
          mask0      [B x M0] bool, real key regions.
          mask1      [B x M1] bool, real target regions.
        """
        x0, x1 = data["descriptors0"], data["descriptors1"]
        codes = None
        if self.key_style is not None:
            codes = data.get("style_codes0")
            if codes is None:
                codes = x0.new_zeros(x0.shape[0], self.key_style.in_features)
            codes = codes.to(x0.dtype)
            x0 = x0 + self.key_style(codes)
        batch0, batch1 = data["batch0"], data["batch1"]
        size, rows0, rows1 = batch_sizes(batch0, batch1, pairs)
        layout0 = DenseLayout.of(batch0, size, rows0)
        layout1 = DenseLayout.of(batch1, size, rows1)
        graphs = []
        for k in ("0", "1"):
            n = data["descriptors" + k].shape[0]
            edges, attr = add_self_loops(
                data["edges" + k], data["edge_attr" + k], fill_value=0.0, num_nodes=n
            )
            graphs.append((edges, attr))
        p0 = layout0.dense(data["position0"])
        p1 = layout1.dense(data["position1"])
        log_probs = self.match_round(x0, x1, graphs, (layout0, layout1), (p0, p1))
        for _ in range(1, self.conf["rounds"]):
            assert self.target_style is not None and codes is not None
            # Each target region's expected key style code: its tentative colour.
            tentative = torch.einsum(
                "bmk,bkc->bmc",
                log_probs[..., :-1].exp().to(codes.dtype),
                layout0.dense(codes),
            )
            # The round's matrix goes before the next is made (memory grows
            # with it: engine.learned.PAIR_BYTES), unless autograd keeps it.
            del log_probs
            x1_read = x1 + self.target_style(layout1.flat(tentative))
            log_probs = self.match_round(
                x0, x1_read, graphs, (layout0, layout1), (p0, p1)
            )
        return {"log_probs": log_probs, "mask0": layout0.mask, "mask1": layout1.mask}

    def match_round(
        self,
        x0: torch.Tensor,
        x1: torch.Tensor,
        graphs: list[tuple[torch.Tensor, torch.Tensor]],
        layouts: tuple[DenseLayout, DenseLayout],
        positions: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """The layers and the scores, from region descriptors x0 [N0 x D],
        x1 [N1 x D] to log_probs [B x M1 x (M0 + 1)] (see forward)."""
        layout0, layout1 = layouts
        p0, p1 = positions
        mask0, mask1 = layout0.mask, layout1.mask
        rates = self.locality.exp()
        for self_layer, cross_layer in zip(
            self.self_layers, self.cross_layers, strict=True
        ):
            x0 = self_layer(x0, *graphs[0])
            x1 = self_layer(x1, *graphs[1])
            d0, d1 = layout0.dense(x0), layout1.dense(x1)
            # Both frames update from the other's state before this layer.
            x0 = layout0.flat(cross_layer(d0, d1, rates, p0, p1, mask1))
            x1 = layout1.flat(cross_layer(d1, d0, rates, p1, p0, mask0))
        d0 = layout0.dense(self.project(x0))
        d1 = layout1.dense(self.project(x1))
        dust = layout1.dense(self.dustbin(x1) + self.dustbin_bias)
        score_rate = self.score_locality.exp()[None]  # one "head"
        parts = []
        for rows in row_slices(d0.shape[0], d1.shape[1], d0.shape[1]):
            sim = torch.einsum("bmd,bkd->bmk", d1[:, rows], d0) / d0.shape[-1] ** 0.5
            sim = sim + locality_bias(score_rate, p1[:, rows], p0, mask0)[:, 0]
            logits = torch.cat([sim, dust[:, rows]], dim=-1).float()
            parts.append(F.log_softmax(logits, dim=-1))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
