"""Synthetic training shots with exact ground truth (line, colour, labels)."""

from __future__ import annotations

from training.data.shot import GeneratedShot, write_shot

__all__ = ["GeneratedShot", "write_shot"]
