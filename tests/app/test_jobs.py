"""Long work off the GUI thread: a task that runs out of memory (frames too
large for the machine) says so in words, not with the allocator's repr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import open_and_wait, wait_job
from pytestqt.qtbot import QtBot

from cadmium_app.jobs import Job
from cadmium_app.window import MainWindow
from engine.errors import OUT_OF_MEMORY


def test_a_task_out_of_memory_says_so_in_words(
    qtbot: QtBot, window: MainWindow
) -> None:
    def work(progress, cancelled):  # type: ignore[no-untyped-def]
        raise MemoryError((8000, 12000), np.dtype(np.int32))

    failed: list[str] = []
    job = Job("Reading 1 painted keys…", work)
    job.failed.connect(failed.append)
    window.session.jobs.submit(job)
    wait_job(qtbot, job)
    assert failed == [f"Reading 1 painted keys failed: {OUT_OF_MEMORY}"]


def test_a_frame_out_of_memory_says_so_in_words(
    qtbot: QtBot, window: MainWindow, shot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_and_wait(qtbot, window, shot_dir)
    engine = window.session.engine
    assert engine is not None

    def too_large(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise MemoryError((8000, 12000), np.dtype(np.int32))

    monkeypatch.setattr(engine, "frame", too_large)
    window.session.set_frame(4)
    frames = window.session.frames
    qtbot.waitUntil(lambda: 4 in frames.errors)
    assert frames.errors[4] == f"frame 4: {OUT_OF_MEMORY}"
