"""Fills saved as images: a style-index image per frame, read back against
any segmentation of the frame (another gap setting, a newer engine).

A pixel holds its region's style + 1 (0 unpainted), under lines too, with
the high bit set on the animator's fills. A project keeps the image of each
saved frame (`StyleImage`) for the day its saved region fills stop fitting
the frame's regions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import CadmiumError
from engine.fills import (
    ORIGIN_ANIMATOR,
    ORIGIN_NONE,
    ORIGIN_PROPAGATED,
    FillMap,
    region_majority,
)
from engine.imageio import read_image
from engine.palette import UNPAINTED
from engine.regions import Regions

ANIMATOR_BIT = 0x8000


def encode_style_image(regions: Regions, fills: FillMap) -> np.ndarray:
    """uint16 [H x W]: style + 1 per pixel (0 unpainted), under lines too; the
    high bit marks the animator's fills."""
    lookup = np.zeros(regions.count + 1, np.uint16)
    value = np.where(fills.painted, fills.style + 1, 0).astype(np.uint16)
    lookup[1:] = value | np.where(fills.by_animator, ANIMATOR_BIT, 0).astype(np.uint16)
    return lookup[regions.under_line]


def decode_style_image(regions: Regions, image: np.ndarray) -> FillMap:
    """Fills of ``regions`` read from an `encode_style_image` image, whatever
    segmentation wrote it: each region takes its pixels' majority value."""
    if image.ndim != 2:
        raise CadmiumError("not a style image (it holds colours, not style numbers)")
    if image.shape != regions.shape:
        (height, width), (rows, columns) = image.shape, regions.shape
        raise CadmiumError(
            f"style image of {width}x{height} pixels, for a frame of {columns}x{rows}"
        )
    values, inverse = np.unique(image, return_inverse=True)
    best, _ = region_majority(
        regions, inverse.reshape(image.shape), len(values), valid=None
    )
    value = np.where(best >= 0, values[np.maximum(best, 0)], 0).astype(np.int64)
    style = ((value & (ANIMATOR_BIT - 1)) - 1).astype(np.int32)
    animator = (value & ANIMATOR_BIT) != 0
    painted = style != UNPAINTED
    origin = np.where(
        animator, ORIGIN_ANIMATOR, np.where(painted, ORIGIN_PROPAGATED, ORIGIN_NONE)
    )
    return FillMap(
        style=style,
        origin=origin.astype(np.uint8),
        confidence=np.where(painted, 1.0, 0.0).astype(np.float32),
        flagged=np.zeros(len(style), bool),
    )


@dataclass(frozen=True)
class StyleImage:
    """A frame's saved style-index image (`encode_style_image`), read when
    its saved region fills do not fit the frame's regions any more.

    ``new_index`` says how its style numbers read since styles were deleted
    (`engine.palette.renumbering`, composed over every deletion; None: as
    written), so an image never needs rewriting, or its frame segmenting,
    when a style goes."""

    path: Path
    new_index: tuple[int, ...] | None = None

    def renumbered(self, new_index: np.ndarray) -> StyleImage:
        """This image as read after one more deletion."""
        if self.new_index is None:
            composed = new_index
        else:
            now = np.asarray(self.new_index, np.int64)
            composed = np.where(now >= 0, new_index[np.maximum(now, 0)], UNPAINTED)
        return StyleImage(self.path, tuple(int(i) for i in composed))

    def read(self) -> np.ndarray:
        """The image's pixels, numbered as the palette is now. A deleted
        style's pixels read as blank (nobody's fill), as
        `FillMap.renumbered` makes its regions."""
        return self.numbered(read_image(self.path))

    def numbered(self, image: np.ndarray) -> np.ndarray:
        """The pixels of this image's file, as `read` gives them (for
        several readings of one file, read once)."""
        if self.new_index is None or image.dtype != np.uint16 or image.ndim != 2:
            return image
        style = np.arange(1 << 16, dtype=np.int64)
        number = (style & (ANIMATOR_BIT - 1)) - 1
        known = (number >= 0) & (number < len(self.new_index))
        moved = np.asarray(self.new_index, np.int64)[np.where(known, number, 0)]
        table = np.where(
            known,
            np.where(moved >= 0, (moved + 1) | (style & ANIMATOR_BIT), 0),
            style,
        ).astype(np.uint16)
        return table[image]

    def shows(self, index: int) -> bool:
        """Whether some pixel is painted with style ``index`` (False when the
        image cannot be read: it then paints nothing)."""
        try:
            pixels = self.read()
        except CadmiumError:
            return False
        return bool(((pixels & (ANIMATOR_BIT - 1)) == index + 1).any())

    def digest(self) -> str:
        """Names the image as read: its file, and its renumbering."""
        h = hashlib.blake2b(digest_size=10)
        h.update(str(self.path.resolve()).encode())
        h.update(repr(self.new_index).encode())
        return h.hexdigest()
