"""Small line-art frames drawn with OpenCV, with known answers."""

from __future__ import annotations

import cv2
import numpy as np


def blank(width: int = 200, height: int = 160, value: int = 255) -> np.ndarray:
    return np.full((height, width), value, np.uint8)


def circle(
    image: np.ndarray,
    center: tuple[int, int],
    radius: int,
    *,
    thickness: int = 2,
    antialiased: bool = False,
    color: int | tuple[int, ...] = 0,
) -> np.ndarray:
    kind = cv2.LINE_AA if antialiased else cv2.LINE_8
    cv2.circle(image, center, radius, color, thickness, kind)
    return image


def open_circle(gap: int, *, radius: int = 50, thickness: int = 2) -> np.ndarray:
    """A circle with a horizontal gap of exactly ``gap`` px in its right side."""
    image = circle(blank(), (100, 80), radius, thickness=thickness)
    x = 100 + radius
    top = 80 - gap // 2
    image[top : top + gap, x - thickness - 2 : x + thickness + 3] = 255
    return image


def figure(hand_x: int) -> np.ndarray:
    """A body, and a hand of 16 x 16 px beside it at ``hand_x`` (240 x 160)."""
    image = blank(240, 160)
    cv2.rectangle(image, (20, 40), (100, 140), 0, 2)
    cv2.rectangle(image, (hand_x, 60), (hand_x + 16, 76), 0, 2)
    return image
