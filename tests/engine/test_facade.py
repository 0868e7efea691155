"""The facade's choices that the command line and the application share."""

from __future__ import annotations

from types import SimpleNamespace

from engine.facade import batch_frames
from engine.matching import AssignmentMatcher


class _Prepares:
    name = "fake"

    def __init__(self, device: str) -> None:
        self.device = SimpleNamespace(type=device)

    def prepare(self, frames: object) -> None:
        pass


def test_frames_are_batched_on_a_gpu_only() -> None:
    assert batch_frames(_Prepares("cuda"), (1920, 1080)) == 8
    assert batch_frames(_Prepares("cuda"), (3840, 2160)) == 2
    assert batch_frames(_Prepares("cuda"), (8192, 8192)) == 1
    assert batch_frames(_Prepares("cpu"), (1920, 1080)) == 1
    assert batch_frames(AssignmentMatcher(), (1920, 1080)) == 1
