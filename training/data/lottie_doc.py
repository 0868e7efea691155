"""Three copies of a Lottie document: colour, stroked line art, unique ids.

See ``shared/data/lottie/README.md``. The colour copy is the document as
made (solid layers turned into filled rectangles). The line copy replaces
every fill with a black stroke over the same fill in white, so later shapes
hide the outlines of what they cover exactly as they hide the colours. The
id copy gives every fill and stroke a unique flat colour (its index in
document order) and no outline, so the majority id under a region names the
shape it belongs to in every frame.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

Json = dict[str, Any]
ID_LEVELS = 16


def _static(value: Any) -> Json:
    return {"a": 0, "k": value}


def _numbers(value: Any) -> list[float] | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return [float(v) for v in value]
    return None


def _values(prop: Json | None) -> list[list[float]]:
    """Every value a property takes: its static value or its keyframes' values."""
    if not isinstance(prop, dict) or "k" not in prop:
        return []
    k = prop["k"]
    if isinstance(k, list) and k and isinstance(k[0], dict):
        out = []
        for key in k:
            if isinstance(key, dict):
                values = _numbers(key.get("s"))
                if values:
                    out.append(values)
        return out
    values = _numbers(k)
    return [values] if values else []


def _median_scale(prop: Json | None) -> float:
    """Static estimate of a scale property (percent) as a factor."""
    values = [abs(float(np.mean(v[:2]))) for v in _values(prop) if v]
    # A layer that grows from nothing is drawn mostly at its full size.
    values = [v for v in values if v >= 1.0]
    return float(np.median(values)) / 100.0 if values else 1.0


def _median(prop: Json | None, default: float) -> float:
    values = [float(v[0]) for v in _values(prop) if v]
    return float(np.median(values)) if values else default


def _stepped_opacity(prop: Json | None) -> tuple[Json, bool]:
    """Opacity stepped to 0 or 100 (hold keyframes); and whether ever visible."""
    if not isinstance(prop, dict):
        return _static(100), True
    k = prop.get("k")
    if isinstance(k, list) and k and isinstance(k[0], dict):
        keys = []
        seen = False
        for key in k:
            if not isinstance(key, dict):
                continue
            key = dict(key)
            values = _numbers(key.get("s"))
            if values:
                key["s"] = [100.0 if values[0] > 0 else 0.0]
                seen = seen or values[0] > 0
            key.pop("e", None)
            key["h"] = 1
            keys.append(key)
        return {"a": 1, "k": keys}, seen
    value = _median(prop, 100.0)
    return _static(100 if value > 0 else 0), value > 0


class _Rewriter:
    """Walks a document and rewrites its shape lists in place."""

    def __init__(
        self, doc: Json, mode: str, line_px: float, render_scale: float
    ) -> None:
        self.doc, self.mode = doc, mode
        self.line_px, self.render_scale = line_px, render_scale
        self.next_id = 1
        self.names: dict[int, str] = {}
        self.assets = {a.get("id"): a for a in doc.get("assets", []) if "layers" in a}
        self.done_assets: set[str] = set()

    def run(self) -> None:
        self.layers(self.doc.get("layers", []), 1.0)

    def layers(self, layers: list[Json], outer: float) -> None:
        by_index = {layer.get("ind"): layer for layer in layers}
        for layer in layers:
            _solid_to_shape(layer)
            if layer.get("td") == 1:
                continue  # matte sources stay as they are
            scale = outer * self.layer_scale(layer, by_index)
            if self.mode != "color":
                ks = layer.setdefault("ks", {})
                ks["o"], _ = _stepped_opacity(ks.get("o"))
            if layer.get("ty") == 4:
                layer["shapes"] = self.shapes(
                    layer.get("shapes", []), scale, str(layer.get("nm", "layer"))
                )
            elif layer.get("ty") == 0:
                ref = layer.get("refId")
                if ref in self.assets and ref not in self.done_assets:
                    self.done_assets.add(ref)
                    self.layers(self.assets[ref]["layers"], scale)

    def layer_scale(self, layer: Json, by_index: dict[Any, Json]) -> float:
        scale, seen = 1.0, set()
        while layer is not None and id(layer) not in seen:
            seen.add(id(layer))
            scale *= _median_scale(layer.get("ks", {}).get("s"))
            layer = by_index.get(layer.get("parent")) if "parent" in layer else None
        return max(scale, 1e-3)

    def shapes(self, items: list[Json], scale: float, name: str) -> list[Json]:
        for item in items:
            if item.get("ty") == "tr":
                scale *= max(_median_scale(item.get("s")), 1e-3)
        out: list[Json] = []
        for item in items:
            ty = item.get("ty")
            if ty == "gr":
                item["it"] = self.shapes(
                    item.get("it", []), scale, str(item.get("nm", name))
                )
                out.append(item)
            elif ty == "tr" and self.mode != "color":
                item["o"], _ = _stepped_opacity(item.get("o"))
                out.append(item)
            elif ty == "fl":
                out.extend(self.fill(item, scale, name))
            elif ty == "st":
                out.extend(self.stroke(item, scale, name))
            else:
                out.append(item)
        return out

    def new_id(self, name: str) -> list[float]:
        pid = self.next_id
        self.next_id += 1
        self.names[pid] = name
        return id_color(pid)

    def local_px(self, px: float, scale: float) -> float:
        return px / (self.render_scale * scale)

    def fill(self, item: Json, scale: float, name: str) -> list[Json]:
        if self.mode == "color":
            return [item]
        opacity, visible = _stepped_opacity(item.get("o"))
        if self.mode == "ids":
            out = dict(item, c=_static(self.new_id(name)), o=opacity)
            return [out]
        if not visible:
            return []
        static_value = _median(item.get("o"), 100.0)
        animated = len(_values(item.get("o"))) > 1
        translucent = not animated and 0 < static_value < 100
        stroke = {
            "ty": "st",
            "nm": "cadmium line",
            "c": _static([0, 0, 0, 1]),
            "o": opacity,
            "w": _static(self.local_px(self.line_px, scale)),
            "lc": 2,
            "lj": 2,
            "ml": 4,
        }
        white = dict(
            item, c=_static([1, 1, 1, 1]), o=_static(0) if translucent else opacity
        )
        return [stroke, white]

    def stroke(self, item: Json, scale: float, name: str) -> list[Json]:
        if self.mode == "color":
            return [item]
        opacity, visible = _stepped_opacity(item.get("o"))
        width = _median(item.get("w"), 1.0)
        if self.mode == "ids":
            return [dict(item, c=_static(self.new_id(name + " stroke")), o=opacity)]
        if not visible:
            return []
        color = _values(item.get("c"))
        rgb = (
            np.array(color[0][:3], float)
            if color and len(color[0]) >= 3
            else np.zeros(3)
        )
        px_local = self.local_px(self.line_px, scale)
        if (
            rgb.max() <= 1.0
            and float(rgb @ [0.299, 0.587, 0.114]) < 0.3
            and width <= 2.5 * px_local
        ):
            return [
                dict(
                    item,
                    c=_static([0, 0, 0, 1]),
                    o=opacity,
                    w=_static(max(width, px_local)),
                )
            ]
        inner = dict(
            item,
            c=_static([1, 1, 1, 1]),
            o=opacity,
            w=_static(max(width - px_local, 0.0)),
            lc=2,
        )
        outer = dict(
            item, c=_static([0, 0, 0, 1]), o=opacity, w=_static(width + px_local), lc=2
        )
        return [inner, outer]


def id_color(pid: int) -> list[float]:
    """An id as a colour: 16 levels per channel (4 bits), 17 apart.

    Levels this far apart survive the renderer's premultiplied alpha (mattes
    leave alpha at 251, not 255), where plain 8-bit codes would not.
    """
    pid %= ID_LEVELS**3
    digits = [(pid // ID_LEVELS**k) % ID_LEVELS for k in range(3)]
    return [d * 17 / 255.0 for d in digits] + [1.0]


def decode_ids(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(id per pixel, trusted) from a premultiplied RGBA render of the id copy.

    Empty pixels give id 0; partly covered edge pixels are not trusted.
    """
    alpha = rgba[..., 3].astype(np.float32)
    straight = (
        rgba[..., :3].astype(np.float32) * 255.0 / np.maximum(alpha, 1.0)[..., None]
    )
    digits = np.clip(np.round(straight / 17.0), 0, ID_LEVELS - 1).astype(np.int64)
    pid = digits[..., 0] + ID_LEVELS * digits[..., 1] + ID_LEVELS**2 * digits[..., 2]
    pid[alpha == 0] = 0
    return pid, (alpha >= 240) | (alpha == 0)


def _solid_to_shape(layer: Json) -> None:
    """A solid layer (ty 1) has no shape list: make it a filled rectangle."""
    if layer.get("ty") != 1:
        return
    w, h = float(layer.get("sw", 0)), float(layer.get("sh", 0))
    hexcolor = str(layer.get("sc", "#000000")).lstrip("#")[:6].ljust(6, "0")
    rgb = [int(hexcolor[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
    layer["ty"] = 4
    layer["shapes"] = [
        {
            "ty": "rc",
            "p": _static([w / 2, h / 2]),
            "s": _static([w, h]),
            "r": _static(0),
            "d": 1,
            "nm": "solid",
        },
        {
            "ty": "fl",
            "c": _static(rgb + [1.0]),
            "o": _static(100),
            "r": 1,
            "nm": "solid fill",
        },
    ]


def make_copies(
    doc: Json, line_px: float, render_scale: float
) -> tuple[Json, Json, Json, dict[int, str]]:
    """(colour, line, ids) documents and the name of every id."""
    copies = []
    names: dict[int, str] = {}
    for mode in ("color", "line", "ids"):
        new = copy.deepcopy(doc)
        rewriter = _Rewriter(new, mode, line_px, render_scale)
        rewriter.run()
        if mode == "ids":
            names = rewriter.names
        copies.append(new)
    return copies[0], copies[1], copies[2], names
