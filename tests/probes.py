"""Probes into the engine shared by the test packages."""

from __future__ import annotations

from collections import Counter

import pytest

import engine.facade as facade
from engine.matching import Frame


def count_loads(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """How often each frame is read and segmented from now on."""
    counts: Counter[int] = Counter()
    load = facade.ShotEngine._load

    def counting_load(self: facade.ShotEngine, number: int) -> Frame:
        counts[number] += 1
        return load(self, number)

    monkeypatch.setattr(facade.ShotEngine, "_load", counting_load)
    return counts
