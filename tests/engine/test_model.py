"""The networks and region features: shapes, configuration, equivariance."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine.features import (
    EDGE_DIM,
    GEOMETRY_DIM,
    FrameInputs,
    RegionEncoder,
    collate,
    frame_inputs,
    style_codes,
)
from engine.learned import MatchingModel, neutral_start
from engine.model.backbone import Backbone
from engine.model.matcher import GraphMatcher
from engine.regions import segment_image

torch.set_num_threads(2)


def drawing(
    width: int = 160, height: int = 120, dx: int = 0, split: bool = False
) -> np.ndarray:
    """A face-like drawing: head, two eyes with pupils, a mouth, and a 4x3 px
    box that owns no centre of the 1/4 feature grid."""
    image = np.full((height, width, 3), 255, np.uint8)
    cx, cy = width // 2 + dx, height // 2
    cv2.circle(image, (cx, cy), 45, (0, 0, 0), 2)
    for ex in (cx - 18, cx + 18):
        cv2.circle(image, (ex, cy - 12), 9, (0, 0, 0), 2)
        cv2.circle(image, (ex, cy - 12), 4, (0, 0, 0), 1)
    cv2.ellipse(image, (cx, cy + 18), (16, 7), 0, 0, 360, (0, 0, 0), 2)
    cv2.rectangle(image, (9, 1), (14, 5), (0, 0, 0), 1)  # inside: x 10..13, y 2..4
    if split:  # a new line across the head, between eyes and mouth, halves it
        cv2.line(image, (cx - 45, cy + 5), (cx + 45, cy + 5), (0, 0, 0), 2)
    return image


def inputs_of(image: np.ndarray, work_side: int | None = 384) -> FrameInputs:
    lineart, regions = segment_image(image, gap=0)
    return frame_inputs(lineart, regions, work_side=work_side)


def test_backbone_output_is_a_quarter_grid_at_any_size() -> None:
    net = Backbone({"dim": 32})
    for h, w in ((64, 64), (61, 83), (37, 130)):
        out = net({"image": torch.rand(2, 3, h, w)})["features"]
        assert out.shape == (2, 32, -(-h // 4), -(-w // 4))
        assert out.dtype == torch.float32


def test_unknown_configuration_key_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'widht'"):
        Backbone({"widht": 3})
    with pytest.raises(ValueError, match="'layer'"):
        GraphMatcher({"layer": 3})
    with pytest.raises(ValueError, match="'depth'"):
        MatchingModel({"matcher": {"depth": 2}})


def test_frame_inputs_shapes() -> None:
    image = drawing()
    lineart, regions = segment_image(image, gap=0)
    inputs = frame_inputs(lineart, regions, work_side=None)
    n = regions.count
    assert n >= 7
    assert inputs.image.shape == (3, 120, 160)
    assert inputs.grid.shape == (30, 40)
    assert inputs.grid.min() >= -1 and inputs.grid.max() < n
    assert inputs.geometry.shape == (n, GEOMETRY_DIM)
    assert np.isfinite(inputs.geometry).all()
    assert inputs.anchor.shape == (n, 2)
    assert inputs.edges.shape == (2, 2 * len(regions.graph.edges))
    assert inputs.edge_attr.shape == (inputs.edges.shape[1], EDGE_DIM)


def test_large_frames_are_shrunk_to_the_work_side() -> None:
    inputs = inputs_of(drawing(640, 480), work_side=320)
    assert inputs.image.shape == (3, 240, 320)
    assert inputs.grid.shape == (60, 80)


def test_every_region_gets_a_descriptor_even_below_the_grid() -> None:
    inputs = inputs_of(drawing())
    encoder = RegionEncoder({"backbone": {"dim": 32}}).eval()
    owned = np.bincount(inputs.grid[inputs.grid >= 0], minlength=inputs.count)
    assert (owned == 0).any()  # the tiny dot owns no cell centre
    with torch.no_grad():
        desc = encoder(collate([inputs]))["descriptors"]
    assert desc.shape == (inputs.count, 32)
    assert torch.isfinite(desc).all()
    assert desc.abs().sum(dim=1).min() > 0


def test_matching_model_batches_pairs_and_rows_are_distributions() -> None:
    model = MatchingModel(
        {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    )
    model.eval()
    a, b, c = (
        inputs_of(drawing()),
        inputs_of(drawing(dx=6)),
        inputs_of(drawing(split=True)),
    )
    data = collate([a, a, b, c])  # pairs (a -> b) and (a -> c)
    with torch.no_grad():
        out = model(data)
    m1 = max(b.count, c.count)
    assert out["log_probs"].shape == (2, m1, a.count + 1)
    assert out["mask0"].shape == (2, a.count)
    assert out["mask1"].shape == (2, m1)
    rows = out["log_probs"][out["mask1"]].exp().sum(dim=-1)
    torch.testing.assert_close(rows, torch.ones_like(rows))
    # Key columns of a pair's padding get no probability.
    assert out["mask1"][0].sum() == b.count and out["mask1"][1].sum() == c.count


class DeviceReads(TorchDispatchMode):
    """Counts the operations that read a tensor's values back to the host
    to decide what to do next: on a GPU each waits for all queued work."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        name = func.overloadpacket.__name__
        flat = [a for a in args if isinstance(a, list | tuple)]
        masks = [
            t
            for group in flat
            for t in group
            if isinstance(t, torch.Tensor) and t.dtype == torch.bool
        ]
        if name in ("_local_scalar_dense", "nonzero", "masked_select") or (
            name.startswith("index") and masks
        ):
            self.reads.append(name)
        return func(*args, **(kwargs or {}))


def test_the_graph_network_reads_sizes_from_the_device_once_per_pass() -> None:
    """Each layer's padded view comes from indices worked out once, not from
    sizes read back layer by layer (19 reads for these three layers
    before): a GPU runs the layers' small kernels queued ahead instead of
    one at a time. (The one read left, of the sizes, is a tolist, which
    this counter does not see on the CPU.)"""
    model = MatchingModel(
        {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 3}}
    ).eval()
    a, b, c = (
        inputs_of(drawing()),
        inputs_of(drawing(dx=6)),
        inputs_of(drawing(split=True)),
    )
    data = collate([a, a, b, c])
    with torch.no_grad():
        descriptors = model.encoder(data)["descriptors"]
        n0 = 2 * a.count
        key_edges = data["edges"][0] < n0
        pairs = {
            "descriptors0": descriptors[:n0],
            "position0": data["position"][:n0],
            "batch0": data["batch"][:n0],
            "edges0": data["edges"][:, key_edges],
            "edge_attr0": data["edge_attr"][key_edges],
            "descriptors1": descriptors[n0:],
            "position1": data["position"][n0:],
            "batch1": data["batch"][n0:] - 2,
            "edges1": data["edges"][:, ~key_edges] - n0,
            "edge_attr1": data["edge_attr"][~key_edges],
        }
        expected = model(data)["log_probs"]
        with DeviceReads() as counter:
            out = model.matcher(pairs, pairs=2)["log_probs"]
    torch.testing.assert_close(out, expected)
    assert counter.reads == []


def test_large_frames_are_matched_in_slices_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frames of thousands of regions are worked through in slices of target
    rows (memory); slicing changes no output and no gradient, padded
    batches included."""
    import engine.model.matcher as matcher_module

    torch.manual_seed(3)
    model = MatchingModel(
        {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    )
    a, b, c = (
        inputs_of(drawing()),
        inputs_of(drawing(dx=6)),
        inputs_of(drawing(split=True)),
    )
    data = collate([a, b, c, a])  # pairs (a -> b) and (c -> a), padded

    def run() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad()
        out = model(data)["log_probs"]
        out[out > -100].sum().backward()
        grads = {
            name: p.grad.clone()
            for name, p in model.named_parameters()
            if p.grad is not None
        }
        return out.detach(), grads

    whole, whole_grads = run()
    monkeypatch.setattr(matcher_module, "SLICE_PAIRS", 2 * max(a.count, c.count))
    assert len(matcher_module.row_slices(2, a.count, c.count)) > 3
    sliced, sliced_grads = run()
    torch.testing.assert_close(sliced, whole)
    assert sliced_grads.keys() == whole_grads.keys()
    assert "matcher.locality" in whole_grads
    for name, grad in whole_grads.items():
        torch.testing.assert_close(sliced_grads[name], grad, atol=1e-5, rtol=1e-4)


def test_key_regions_sharing_a_style_share_a_code_and_unpainted_get_none() -> None:
    codes = style_codes(np.array([3, 3, -1, 5]), 8)
    assert codes.shape == (4, 9)
    np.testing.assert_array_equal(codes[0], codes[1])
    assert not codes[2].any()
    assert not np.allclose(codes[0, :8], codes[3, :8])
    assert codes[[0, 1, 3], 8].tolist() == [1, 1, 1]  # "painted"
    # Outside training, renumbering the palette changes nothing.
    np.testing.assert_array_equal(style_codes(np.array([9, 9, -1, 0]), 8), codes)
    drawn = style_codes(np.array([3, 3, 5]), 8, np.random.default_rng(0))
    np.testing.assert_array_equal(drawn[0], drawn[1])
    assert not np.allclose(drawn[0], codes[0])


def test_the_key_style_read_starts_at_zero_then_the_fills_count() -> None:
    torch.manual_seed(0)
    model = MatchingModel(
        {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    ).eval()
    key, target = inputs_of(drawing()), inputs_of(drawing(dx=6))
    plain = collate([key, target])
    painted = dict(plain)
    painted["style_codes0"] = torch.from_numpy(
        style_codes(np.arange(key.count) % 3, 16)
    )
    with torch.no_grad():
        before = model(plain)["log_probs"]
        torch.testing.assert_close(model(painted)["log_probs"], before)
        torch.nn.init.normal_(model.matcher.key_style.weight)
        assert not torch.allclose(model(painted)["log_probs"], before)


@pytest.mark.parametrize("rounds", [1, 2])
def test_every_trainable_parameter_learns_from_the_loss(rounds: int) -> None:
    """DistributedDataParallel waits for a gradient of every trainable
    parameter: one the forward pass never uses stops a multi-GPU run."""
    model = MatchingModel(
        {
            "encoder": {"backbone": {"dim": 32}},
            "matcher": {"layers": 2, "rounds": rounds},
        }
    )
    key, target = inputs_of(drawing()), inputs_of(drawing(dx=6))
    data = collate([key, target])
    data["style_codes0"] = torch.from_numpy(style_codes(np.arange(key.count) % 3, 16))
    model(data)["log_probs"][0, :, 0].sum().backward()
    unused = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert unused == []


def test_a_deeper_network_starts_as_the_shallower_one_it_is_loaded_from() -> None:
    torch.manual_seed(0)
    conf = {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    shallow = MatchingModel(conf).eval()
    deep = MatchingModel({**conf, "matcher": {"layers": 4}}).eval()
    loaded = deep.load_state_dict(shallow.state_dict(), strict=False)
    added = neutral_start(deep, loaded.missing_keys)
    assert sorted(added) == sorted(loaded.missing_keys)  # all of layers 2 and 3
    data = collate([inputs_of(drawing()), inputs_of(drawing(dx=6))])
    with torch.no_grad():
        torch.testing.assert_close(deep(data)["log_probs"], shallow(data)["log_probs"])
    # Weights with a hole in their layers are not a shallower network.
    holed = {
        k: v
        for k, v in shallow.state_dict().items()
        if ".self_layers.0." not in k and ".cross_layers.0." not in k
    }
    fresh = MatchingModel({**conf, "matcher": {"layers": 4}})
    missing = fresh.load_state_dict(holed, strict=False).missing_keys
    assert not any("_layers.0." in k for k in neutral_start(fresh, missing))


def test_a_second_round_starts_as_one_round_then_reads_tentative_colours() -> None:
    torch.manual_seed(0)
    conf = {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    once = MatchingModel(conf).eval()
    twice = MatchingModel({**conf, "matcher": {"layers": 2, "rounds": 2}}).eval()
    loaded = twice.load_state_dict(once.state_dict(), strict=False)
    assert (
        sorted(neutral_start(twice, loaded.missing_keys))
        == sorted(loaded.missing_keys)
        == ["matcher.target_style.weight"]
    )
    key, target = inputs_of(drawing()), inputs_of(drawing(dx=6))
    data = collate([key, target]) | {
        "style_codes0": torch.from_numpy(style_codes(np.arange(key.count) % 3, 16))
    }
    with torch.no_grad():
        before = once(data)["log_probs"]
        torch.testing.assert_close(twice(data)["log_probs"], before)
        torch.nn.init.normal_(twice.matcher.target_style.weight)
        assert not torch.allclose(twice(data)["log_probs"], before)
        # What the target reads is its tentative colours: with every key
        # region unpainted it has none, and the second round repeats the first.
        blank = data | {"style_codes0": torch.zeros_like(data["style_codes0"])}
        torch.testing.assert_close(twice(blank)["log_probs"], once(blank)["log_probs"])


def test_more_rounds_need_the_key_fills_and_a_whole_number() -> None:
    with pytest.raises(ValueError, match="rounds 2: needs style codes"):
        GraphMatcher({"style_codes": 0, "rounds": 2})
    for bad in (0, 2.0, "2", True):
        with pytest.raises(ValueError, match=f"rounds {bad!r}: use 1 or more"):
            GraphMatcher({"rounds": bad})


def test_the_second_round_reads_the_key_codes_weighted_by_the_first_round() -> None:
    """What a target region reads is its tentative colour: the key's style
    codes averaged by its first-round match probabilities (the "no match"
    column left out)."""
    torch.manual_seed(0)
    conf = {"encoder": {"backbone": {"dim": 32}}, "matcher": {"layers": 2}}
    once = MatchingModel(conf).eval()
    twice = MatchingModel({**conf, "matcher": {"layers": 2, "rounds": 2}}).eval()
    twice.load_state_dict(once.state_dict(), strict=False)
    torch.nn.init.normal_(twice.matcher.key_style.weight)
    once.matcher.key_style.load_state_dict(twice.matcher.key_style.state_dict())
    key, target = inputs_of(drawing()), inputs_of(drawing(dx=6, split=True))
    codes = torch.from_numpy(style_codes(np.arange(key.count) % 3 - 1, 16))
    data = collate([key, target]) | {"style_codes0": codes}
    read: list[torch.Tensor] = []
    twice.matcher.target_style.register_forward_hook(
        lambda _m, args, _out: read.append(args[0])
    )
    with torch.no_grad():
        first = once(data)["log_probs"][0, : target.count]
        twice(data)
    expected = first[:, :-1].exp() @ codes
    (tentative,) = read
    torch.testing.assert_close(tentative, expected, atol=1e-5, rtol=1e-4)


def _permuted(inputs: FrameInputs, perm: np.ndarray) -> FrameInputs:
    """The same frame with region i renumbered perm_inv[i]: new region k is
    old region perm[k]."""
    inverse = np.argsort(perm)
    grid = np.where(inputs.grid >= 0, inverse[np.maximum(inputs.grid, 0)], -1)
    return FrameInputs(
        image=inputs.image,
        grid=grid,
        anchor=inputs.anchor[perm],
        position=inputs.position[perm],
        geometry=inputs.geometry[perm],
        edges=inverse[inputs.edges],
        edge_attr=inputs.edge_attr,
    )


@pytest.mark.parametrize("rounds", [1, 2])
def test_permuting_region_order_permutes_the_output(rounds: int) -> None:
    torch.manual_seed(0)
    model = MatchingModel(
        {
            "encoder": {"backbone": {"dim": 32}},
            "matcher": {"layers": 3, "rounds": rounds},
        }
    )
    model.eval()
    torch.nn.init.normal_(model.matcher.key_style.weight)  # the key's fills count
    if model.matcher.target_style is not None:  # and the target's tentative ones
        torch.nn.init.normal_(model.matcher.target_style.weight)
    key, target = inputs_of(drawing()), inputs_of(drawing(dx=8, split=True))
    rng = np.random.default_rng(3)
    pk, pt = rng.permutation(key.count), rng.permutation(target.count)
    codes = torch.from_numpy(style_codes(rng.integers(-1, 3, key.count), 16))
    data = collate([key, target]) | {"style_codes0": codes}
    permuted = collate([_permuted(key, pk), _permuted(target, pt)]) | {
        "style_codes0": codes[pk]
    }
    with torch.no_grad():
        ref = model(data)["log_probs"][0]
        out = model(permuted)["log_probs"][0]
    columns = np.append(pk, key.count)  # the dustbin stays last
    torch.testing.assert_close(out, ref[pt][:, columns], atol=1e-4, rtol=1e-4)
