"""Probes into the engine shared by the test packages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import engine.facade as facade


def count_loads(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """How often each frame is read and segmented from now on."""
    counts: Counter[int] = Counter()
    load = facade.ShotEngine._load

    def counting_load(self: facade.ShotEngine, number: int, *rest: Any) -> Any:
        counts[number] += 1
        return load(self, number, *rest)

    monkeypatch.setattr(facade.ShotEngine, "_load", counting_load)
    return counts


def usage_error(
    main: Callable[[list[str]], int],
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> str:
    """What a command line tool prints on stderr when it refuses ``argv`` as
    a usage error (exit status 2), before doing any work."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err
