"""Numpy layers for the canvas and the timeline, and their conversion to QImage.

Each layer is straight-alpha RGBA8 at the frame's size; the canvas stacks
them with QPainter (colour, onion skins, lines, review overlays), so a fill
edit only rebuilds the colour layer: one table lookup over ``under_line``.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from engine.fills import FillMap, color_layer, painted_trace, region_colors
from engine.matching import Frame
from engine.palette import Palette

UNPAINTED_RGBA = (255, 0, 200, 150)
FLAGGED_RGBA = (255, 140, 0, 255)
# The selected region: a white band edged in black, unlike every other mark
# (closures cyan, flags orange, the fill check pink) and seen on any fill.
SELECTED_RGBA = (255, 255, 255, 255)
SELECTED_EDGE_RGBA = (0, 0, 0, 255)
CLOSURE_RGBA = (0, 190, 255, 255)
ONION_PREVIOUS = (220, 40, 40)
ONION_NEXT = (30, 170, 60)


def to_qimage(rgba: np.ndarray) -> QImage:
    """A QImage that owns a copy of an RGBA8 (or grey8) array."""
    array = np.ascontiguousarray(rgba)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(
            array.data, width, height, array.strides[0], QImage.Format.Format_Grayscale8
        )
    else:
        image = QImage(
            array.data, width, height, array.strides[0], QImage.Format.Format_RGBA8888
        )
    return image.copy()


def fitting(frame: Frame, fills: FillMap | None) -> FillMap | None:
    """``fills`` if they belong to this frame's segmentation, else None."""
    if fills is None or len(fills) != frame.regions.count:
        return None
    return fills


def color_rgba(frame: Frame, fills: FillMap | None, palette: Palette) -> np.ndarray:
    fills = fitting(frame, fills) or FillMap.empty(frame.regions.count)
    return color_layer(frame.regions, fills, palette)


def lines_with_trace_painted(
    lines: np.ndarray, frame: Frame, fills: FillMap | None, palette: Palette
) -> np.ndarray:
    """Colour-trace lines bounding regions whose style paints them, in that
    style's colour across their width, as the composite has them."""
    fills = fitting(frame, fills)
    if fills is None:
        return lines
    painted = painted_trace(frame.lineart, frame.regions, fills, palette)
    if painted is None:
        return lines
    window, owner = painted
    hide = owner > 0
    out = lines.copy()
    out[window][hide] = region_colors(fills, palette)[owner[hide]]
    return out


def _mask_layer(mask: np.ndarray, rgba: tuple[int, int, int, int]) -> np.ndarray:
    out = np.zeros(mask.shape + (4,), np.uint8)
    out[mask] = rgba
    return out


def unpainted_rgba(frame: Frame, fills: FillMap | None) -> np.ndarray:
    """The fill check: the pixels of every region left unpainted (but not
    of those cleared on purpose with Unpaint), highlighted."""
    fills = fitting(frame, fills) or FillMap.empty(frame.regions.count)
    lookup = np.zeros(frame.regions.count + 1, bool)
    lookup[1:] = fills.needs_paint
    return _mask_layer(lookup[frame.regions.labels], UNPAINTED_RGBA)


def outline_rgba(
    frame: Frame, regions: np.ndarray, rgba: tuple[int, int, int, int], width: int = 2
) -> np.ndarray:
    """A band ``width`` px wide just inside the given regions' borders."""
    lookup = np.zeros(frame.regions.count + 1, np.uint8)
    lookup[np.asarray(regions, np.int64) + 1] = 1
    inside = lookup[frame.regions.under_line]
    kernel = np.ones((3, 3), np.uint8)
    eroded = cv2.erode(inside, kernel, iterations=width, borderValue=1)
    # Region borders against each other also count (two flagged neighbours).
    ids = frame.regions.under_line
    edge = np.zeros(ids.shape, bool)
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[:, :-1] |= ids[:, 1:] != ids[:, :-1]
    edge[1:, :] |= ids[1:, :] != ids[:-1, :]
    edge[:-1, :] |= ids[1:, :] != ids[:-1, :]
    band = cv2.dilate(edge.astype(np.uint8), kernel, iterations=width - 1) > 0
    mask = (inside > 0) & ((eroded == 0) | band)
    return _mask_layer(mask, rgba)


def selected_rgba(frame: Frame, region: int) -> np.ndarray:
    """The selected region's outline, 3 px inside its border: a line of
    SELECTED_RGBA between two of SELECTED_EDGE_RGBA."""
    regions = np.array([region])
    layer = outline_rgba(frame, regions, SELECTED_EDGE_RGBA, width=3)
    middle = outline_rgba(frame, regions, SELECTED_RGBA, width=2)[..., 3] > 0
    middle &= outline_rgba(frame, regions, SELECTED_RGBA, width=1)[..., 3] == 0
    layer[middle] = SELECTED_RGBA
    return layer


def flagged_rgba(
    frame: Frame, fills: FillMap | None, *, painted_only: bool = False
) -> np.ndarray | None:
    """Outlines of flagged regions (``painted_only``: when the fill check
    already shows the unpainted ones)."""
    fills = fitting(frame, fills)
    if fills is None:
        return None
    flagged = fills.flagged & fills.painted if painted_only else fills.flagged
    if not flagged.any():
        return None
    return outline_rgba(frame, np.flatnonzero(flagged), FLAGGED_RGBA)


def closures_rgba(frame: Frame) -> np.ndarray | None:
    mask = frame.regions.closures.mask
    if not mask.any():
        return None
    return _mask_layer(mask, CLOSURE_RGBA)


def onion_rgba(
    lines: np.ndarray, tint: tuple[int, int, int], opacity: float
) -> np.ndarray:
    """Another frame's lines, tinted and faded."""
    out = np.empty(lines.shape, np.uint8)
    out[:, :, :3] = tint
    out[:, :, 3] = (lines[:, :, 3].astype(np.float32) * opacity).astype(np.uint8)
    return out


def thumbnail_rgba(
    ink: np.ndarray | None,
    labels: np.ndarray | None,
    fills: FillMap | None,
    palette: Palette,
) -> np.ndarray | None:
    """A small picture of a frame: its fills (when known) under its ink."""
    if ink is None and labels is None:
        return None
    shape = ink.shape if ink is not None else labels.shape  # type: ignore[union-attr]
    rgb = np.full(shape[:2] + (3,), 255, np.float32)
    if labels is not None and fills is not None and int(labels.max()) <= len(fills):
        colors = np.full((len(palette) + 1, 3), 255, np.float32)
        if len(palette):
            rgba = np.asarray(palette.colors(), np.float32)
            a = rgba[:, 3:4] / 255.0
            colors[:-1] = rgba[:, :3] * a + 255 * (1 - a)
        style = np.where(fills.painted, fills.style, len(palette))
        lookup = np.full((len(fills) + 1, 3), 255, np.float32)
        lookup[1:] = colors[np.minimum(style, len(palette))]
        small = lookup[labels]
        if small.shape[:2] != shape[:2]:
            small = cv2.resize(
                small, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST
            )
        rgb = small
    if ink is not None:
        rgb = rgb * (1.0 - ink[:, :, None].astype(np.float32) / 255.0)
    out = np.empty(shape[:2] + (4,), np.uint8)
    out[:, :, :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    out[:, :, 3] = 255
    return out
