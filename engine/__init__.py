"""Cadmium's engine: shot I/O, segmentation, matching and propagation.

Qt-free. The application and the command line go through `engine.facade`.
"""

from __future__ import annotations

# First: it sets OpenCV's frame-size limit, which OpenCV reads when imported.
import engine.imageio  # noqa: F401  # isort: skip
from engine.errors import CadmiumError
from engine.facade import ShotEngine, colorize_shot
from engine.regions import Regions, segment_image
from engine.shot import Shot, open_shot

__all__ = [
    "CadmiumError",
    "Regions",
    "Shot",
    "ShotEngine",
    "colorize_shot",
    "open_shot",
    "segment_image",
]
