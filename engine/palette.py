"""Named colour styles, as animators paint with them.

A fill stores a style's *index*, never its colour, so editing a style's colour
recolours every frame that uses it. Styles are kept in a fixed order: a
style's index is stable for the life of a palette (renaming or recolouring
does not move it; new styles are appended).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from engine.errors import ShotError

UNPAINTED = -1


@dataclass(frozen=True)
class Style:
    """A named paint colour.

    ``paint_trace`` makes colour-trace lines that bound a region of this style
    take the style's colour, as shadow and highlight lines usually do once a
    shot is painted.
    """

    name: str
    color: tuple[int, int, int, int]
    paint_trace: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "color": "#{:02x}{:02x}{:02x}{:02x}".format(*self.color),
            "paint_trace": self.paint_trace,
        }

    @staticmethod
    def from_json(data: Any) -> Style:
        try:
            if not isinstance(data, dict):
                raise TypeError("expected an object with a name and a color")
            name, color, trace = data["name"], data["color"], data.get("paint_trace")
            if not isinstance(name, str) or not isinstance(color, str):
                raise TypeError('name and color are strings, as "#rrggbb"')
            if not isinstance(trace, bool | None):
                raise TypeError("paint_trace is true or false")
            return Style(name, parse_color(color), bool(trace))
        except (KeyError, TypeError, ValueError) as exc:
            raise ShotError(f"palette: bad style entry {data!r} ({exc})") from None


_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def parse_color(text: str) -> tuple[int, int, int, int]:
    """'#rrggbb' or '#rrggbbaa' to an RGBA tuple."""
    match = _HEX_COLOR.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"colour {text!r} is not #rrggbb or #rrggbbaa")
    digits = match.group(1)
    values = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    if len(values) == 3:
        values.append(255)
    return (values[0], values[1], values[2], values[3])


@dataclass(frozen=True)
class Palette:
    """An ordered list of styles; a fill refers to a style by its index."""

    styles: tuple[Style, ...] = ()

    def __len__(self) -> int:
        return len(self.styles)

    def __getitem__(self, index: int) -> Style:
        return self.styles[index]

    def index_of(self, name: str) -> int:
        for i, style in enumerate(self.styles):
            if style.name == name:
                return i
        raise KeyError(name)

    def index_of_color(self, color: tuple[int, int, int, int]) -> int | None:
        for i, style in enumerate(self.styles):
            if style.color == color:
                return i
        return None

    def with_style(self, style: Style) -> tuple[Palette, int]:
        """The palette with ``style`` appended, and its index."""
        names = {s.name for s in self.styles}
        name = style.name
        suffix = 2
        while name in names:
            name = f"{style.name} {suffix}"
            suffix += 1
        return Palette(self.styles + (replace(style, name=name),)), len(self.styles)

    def replaced(self, index: int, style: Style) -> Palette:
        styles = list(self.styles)
        styles[index] = style
        return Palette(tuple(styles))

    def colors(self) -> list[tuple[int, int, int, int]]:
        return [s.color for s in self.styles]

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.styles]

    @staticmethod
    def from_json(data: Any) -> Palette:
        if not isinstance(data, list):
            raise ShotError("palette: expected a list of styles")
        return Palette(tuple(Style.from_json(item) for item in data))


def default_palette() -> Palette:
    """The palette shipped in resources/palette.json."""
    text = resources.files("cadmium_resources").joinpath("palette.json").read_text()
    return Palette.from_json(json.loads(text))
