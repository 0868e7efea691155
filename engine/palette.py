"""Named colour styles, as animators paint with them.

A fill stores a style's *index*, never its colour, so editing a style's colour
recolours every frame that uses it. Styles are kept in a fixed order: renaming
or recolouring a style does not move it and new styles are appended, so an
index only changes when a style before it is deleted (`renumbering` says how;
the project renumbers every frame's fills as one undoable edit).

Style names are unique within a palette: names read from a file that repeat
an earlier one get a number, as `Palette.with_style` gives them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import numpy as np

from engine.errors import ShotError

log = logging.getLogger(__name__)

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
        """The palette with ``style`` appended, and its index; a name already
        taken gets the first free number ("Skin 2")."""
        named = replace(
            style, name=_free_name(style.name, {s.name for s in self.styles})
        )
        return Palette(self.styles + (named,)), len(self.styles)

    def without(self, index: int) -> Palette:
        """The palette less the style at ``index``: the styles after it move
        up one place (see `renumbering`)."""
        if not 0 <= index < len(self.styles):
            raise IndexError(f"no style {index} in a palette of {len(self.styles)}")
        return Palette(self.styles[:index] + self.styles[index + 1 :])

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
        """Styles in file order; a repeated name gets a number (and a log
        line), so every style can be told apart in the palette panel."""
        if not isinstance(data, list):
            raise ShotError("palette: expected a list of styles")
        read = [Style.from_json(item) for item in data]
        taken = {style.name for style in read}  # names the file gives itself
        styles: list[Style] = []
        seen: set[str] = set()
        for style in read:
            if style.name in seen:
                name = _free_name(style.name, taken)
                log.warning(
                    "palette: a second style named %r is read as %r", style.name, name
                )
                style = replace(style, name=name)
                taken.add(name)
            seen.add(style.name)
            styles.append(style)
        return Palette(tuple(styles))


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with the first number from 2 that is not taken
    (in any case: "skin" beside "Skin" would be two styles that look alike)."""
    taken = {t.casefold() for t in taken}
    free, suffix = name, 2
    while free.casefold() in taken:
        free = f"{name} {suffix}"
        suffix += 1
    return free


def renumbering(count: int, deleted: int, replacement: int | None) -> np.ndarray:
    """int32 [count]: each old style index's new one once style ``deleted``
    of ``count`` is gone. Later styles move up one place; ``deleted`` itself
    becomes ``replacement`` (its new index), or UNPAINTED when None."""
    if not 0 <= deleted < count:
        raise IndexError(f"no style {deleted} in a palette of {count}")
    if replacement is not None and not (
        0 <= replacement < count and replacement != deleted
    ):
        raise ValueError(f"style {replacement} cannot replace style {deleted}")
    new = np.arange(count, dtype=np.int32)
    new[deleted + 1 :] -= 1
    new[deleted] = UNPAINTED if replacement is None else new[replacement]
    return new


def default_palette() -> Palette:
    """The palette shipped in resources/palette.json."""
    text = resources.files("cadmium_resources").joinpath("palette.json").read_text()
    return Palette.from_json(json.loads(text))
