"""Synthetic training shots with exact ground truth (line, colour, labels).

``generate_shot(seed, k, size=..., frames=..., sources=...)`` makes shot ``k``
in memory; ``write_shot`` writes it in the shot-format layout;
``training.data.dataset.ShotStream`` streams shots for training.
"""

from __future__ import annotations

from training.data.generate import generate_shot
from training.data.shot import GeneratedShot, write_shot

__all__ = ["GeneratedShot", "generate_shot", "write_shot"]
