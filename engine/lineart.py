"""Line extraction: which pixels are lines, how dark, and which are colour-trace.

Studios hand over line art in many forms: binary or antialiased, black or
coloured ink, on white paper, on a transparent background, or scanned with
paper noise. All of them reduce to one quantity per pixel, *ink*: how much the
pixel differs from an empty background.

    ink = alpha * (1 - min(R, G, B))

is 0 on white or on transparent pixels and 1 on opaque black or on any fully
saturated colour, and it falls off smoothly across antialiased edges. A pixel
is a line when its ink is above a threshold (Otsu's by default, clamped so a
nearly empty frame cannot push it to an extreme).

Colour-trace lines (red, green or blue lines drawn for shadow and highlight
boundaries) split regions like any line, but they are reported separately so
fills can paint over them. A line pixel is colour-trace when its colour is
both saturated and bright: ``(max - min) / ink > 0.5`` and ``max > 0.5``.
That holds across the antialiased edge of a red line (255,128,128 has
chroma 0.5 at ink 0.5) and fails for dark coloured ink such as navy or brown.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Colour-trace hues, as stored in LineArt.trace_hue.
TRACE_NONE, TRACE_RED, TRACE_GREEN, TRACE_BLUE = 0, 1, 2, 3

# Otsu's threshold is kept inside this band: lines are never the faintest
# 25% of ink, and never need more than 75% to count.
THRESHOLD_BAND = (0.25, 0.75)

# Colour-trace lines go with black (or grey) ink lines. A frame with less
# than this share of its line pixels in black ink is drawn in coloured line
# (a blue pencil, say): its lines are all ink lines, none colour-trace.
LEAST_BLACK_INK = 0.02


@dataclass(frozen=True)
class LineArt:
    """The lines of one frame.

    ink:        uint8 [H x W], 0 = empty background, 255 = full ink.
    line:       bool [H x W], ink above the threshold (colour-trace included).
    trace_hue:  uint8 [H x W], TRACE_RED/GREEN/BLUE on colour-trace line
                pixels, TRACE_NONE elsewhere.
    threshold:  the ink threshold that was used, in [0, 1].
    """

    ink: np.ndarray
    line: np.ndarray
    trace_hue: np.ndarray
    threshold: float

    @property
    def trace(self) -> np.ndarray:
        """bool [H x W]: colour-trace line pixels."""
        return self.trace_hue != TRACE_NONE

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.line.shape[0]), int(self.line.shape[1]))


def to_8bit(image: np.ndarray) -> np.ndarray:
    """8-bit view of a decoded frame (16-bit frames keep their high byte)."""
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    return image


def ink_channels(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ink, channel max and channel min of a frame, each uint8 [H x W]."""
    image = to_8bit(image)
    if image.ndim == 2:
        return cv2.subtract(255, image), image, image
    r, g, b = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    low = cv2.min(cv2.min(r, g), b)
    high = cv2.max(cv2.max(r, g), b)
    ink = cv2.subtract(255, low)
    if image.shape[2] == 4:
        ink = cv2.multiply(ink, image[:, :, 3], scale=1.0 / 255.0)
    return ink, high, low


def auto_threshold(ink: np.ndarray) -> float:
    """Otsu's threshold on the ink histogram (uint8), clamped to THRESHOLD_BAND."""
    otsu, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low, high = THRESHOLD_BAND
    return float(np.clip(otsu / 255.0, low, high))


def extract_lines(image: np.ndarray, *, threshold: float | None = None) -> LineArt:
    """Find the line pixels of a decoded frame (any mode, 8 or 16 bit)."""
    ink, high, low = ink_channels(image)
    if threshold is None:
        threshold = auto_threshold(ink)
    line = ink > round(threshold * 255)
    trace_hue = np.zeros(line.shape, np.uint8)
    image8 = to_8bit(image)
    if image8.ndim == 3:
        chroma = cv2.subtract(high, low)
        if image8.shape[2] == 4:
            chroma = cv2.multiply(chroma, image8[:, :, 3], scale=1.0 / 255.0)
        # chroma / ink > 0.5, kept in integers: 2 * chroma > ink
        saturated = cv2.compare(chroma, cv2.multiply(ink, 0.5), cv2.CMP_GT) > 0
        is_trace = line & saturated & (high > 127)
        lines = int(np.count_nonzero(line))
        if np.count_nonzero(is_trace) > (1.0 - LEAST_BLACK_INK) * lines:
            is_trace[:] = False  # coloured line art: no black ink at all
        if is_trace.any():
            ys, xs = np.nonzero(is_trace)
            trace_hue[ys, xs] = image8[ys, xs, :3].argmax(axis=1).astype(np.uint8) + 1
    return LineArt(ink=ink, line=line, trace_hue=trace_hue, threshold=threshold)


def to_alpha(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 4:
        scale = 65535.0 if image.dtype == np.uint16 else 255.0
        return image[:, :, 3].astype(np.float32) / scale
    return np.ones(image.shape[:2], np.float32)
