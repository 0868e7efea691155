"""The facade's choices that the command line and the application share."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from probes import count_loads

from engine.errors import CadmiumError
from engine.facade import batch_frames, make_matcher
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


def test_colorizing_reads_and_segments_every_frame_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_cli import make_shot

    import engine.facade as facade

    shot = make_shot(tmp_path / "shot", frames=12, keys=(1, 12))
    counts = count_loads(monkeypatch)
    summary = facade.colorize_shot(
        shot_path=shot, out=tmp_path / "out", matcher="assignment"
    )
    assert summary.frames == 12
    assert sorted(counts) == list(range(1, 13))
    assert counts == Counter(dict.fromkeys(range(1, 13), 1)), counts


def test_colorizing_in_batches_writes_what_frame_by_frame_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU path (frames read ahead, CNN features in batches), run on the
    CPU: same images, every frame still read once."""
    import numpy as np
    from test_cli import make_shot

    import engine.facade as facade
    from engine.imageio import read_image

    shot = make_shot(tmp_path / "shot", frames=10, keys=(1, 10))
    facade.colorize_shot(shot_path=shot, out=tmp_path / "single", matcher="learned")
    counts = count_loads(monkeypatch)
    monkeypatch.setattr(facade, "batch_frames", lambda matcher, size: 4)
    facade.colorize_shot(shot_path=shot, out=tmp_path / "batched", matcher="learned")
    assert counts == Counter(dict.fromkeys(range(1, 11), 1)), counts
    for name in sorted(p.name for p in (tmp_path / "single" / "color").iterdir()):
        np.testing.assert_array_equal(
            read_image(tmp_path / "single" / "color" / name),
            read_image(tmp_path / "batched" / "color" / name),
        )


def test_a_missing_gpu_is_an_error_not_a_quieter_matcher() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(CadmiumError, match="no CUDA GPU"):
        make_matcher(kind="auto", device="cuda")


def test_an_unreadable_frame_blocks_a_run_but_not_opening_the_shot(
    tmp_path: Path,
) -> None:
    """The command line writes every frame or nothing, so it refuses the
    shot; the application opens it and paints around the frame."""
    import numpy as np
    from test_cli import make_shot

    from engine.facade import ShotEngine
    from engine.imageio import write_png
    from engine.shot import open_shot

    root = make_shot(tmp_path / "shot", frames=4)
    (root / "line" / "sc01_0001.png").write_bytes(b"")  # the first frame too
    write_png(root / "line" / "sc01_0003.png", np.zeros((10, 10), np.uint8))
    engine = ShotEngine(shot=open_shot(root), matcher="assignment")
    with pytest.raises(CadmiumError, match=r"sc01_0001\.png: empty"):
        engine.check_sizes()
    # The shot's size comes from the first frame that can be read, and a
    # frame of another size is still refused, naming that frame.
    with pytest.raises(CadmiumError, match=r"sc01_0003\.png: size 10x10 differs"):
        engine.check_sizes(skip_unreadable=True)
    with pytest.raises(CadmiumError, match=r"from sc01_0002\.png's"):
        engine.check_sizes(skip_unreadable=True)


def test_a_frame_redrawn_on_disk_is_read_again_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine keeps analysed frames; one whose line art is saved over
    (clean-up goes on while a shot is painted) is read again, once."""
    import cv2
    from test_cli import make_shot

    from engine.facade import ShotEngine
    from engine.shot import open_shot

    shot = open_shot(make_shot(tmp_path / "shot", frames=3, keys=(1,)))
    engine = ShotEngine(shot=shot, matcher="assignment")
    counts = count_loads(monkeypatch)
    first = engine.frame(2)
    assert engine.frame(2) is first
    line = cv2.imread(str(shot.line[2]))
    cv2.line(line, (0, 0), (line.shape[1] - 1, line.shape[0] - 1), (0, 0, 0), 3)
    cv2.imwrite(str(shot.line[2]), line)
    redrawn = engine.frame(2)
    assert redrawn is not first
    assert redrawn.regions.count > first.regions.count  # the new line splits
    assert engine.frame(2) is redrawn
    assert counts == Counter({2: 2})


def test_colorizing_a_reviewed_project_segments_every_frame_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project propagated once, with touch-ups on some frames (as after a
    review): its frames were each segmented twice, once to learn whether
    they held the animator's paint and again when propagation reached them."""
    from test_cli import make_shot

    import engine.facade as facade
    from engine.palette import default_palette
    from engine.project import FillMode, Project, save_project
    from engine.shot import open_shot

    shot = open_shot(make_shot(tmp_path / "shot", frames=12, keys=()))
    engine = facade.ShotEngine(shot=shot, matcher="assignment")
    project = Project(shot=shot, palette=default_palette(), gap=engine.gap)

    def paint(frame: int, regions: range | list[int], style: int) -> None:
        count = engine.frame(frame).regions.count
        edit = project.fill_edit(frame, count, regions, style, FillMode.PAINT)
        assert edit is not None
        project.commit(edit)

    for key in (1, 12):
        paint(key, range(engine.frame(key).regions.count), 2)
    keys, painted = project.snapshot().propagation_inputs(
        lambda n: engine.frame(n).regions
    )
    run = engine.propagate(keys=keys, n_styles=len(project.palette), painted=painted)
    edit = project.propagation_edit({r.number: r.fills for r in run}, "Propagate")
    assert edit is not None
    project.commit(edit)
    for frame in (4, 7):
        paint(frame, [0], 5)  # a touch-up: stays the animator's
    path = tmp_path / "scene.cadmium"
    save_project(project.snapshot(), path, regions_of=lambda n: engine.frame(n).regions)

    counts = count_loads(monkeypatch)
    summary = facade.colorize_project(
        project_path=path, out=tmp_path / "out", matcher="assignment"
    )
    assert summary.frames == 12
    assert counts == Counter(dict.fromkeys(range(1, 13), 1)), counts
    for frame in (4, 7):  # the touch-ups are kept
        labels = engine.frame(frame).regions.labels
        y, x = np.argwhere(labels == 1)[0]  # region 0
        written = cv2.imread(str(tmp_path / "out/color" / f"sc01_{frame:04d}.png"))
        assert tuple(written[y, x][::-1]) == project.palette[5].color[:3]


def test_frames_are_read_while_the_matcher_is_made_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making the learned matcher takes seconds (torch, its weights); the
    application makes it ahead when a shot opens. Frames asked for
    meanwhile are read at once: they waited for it, showing "Finding
    regions…" until it was made."""
    import threading

    from test_cli import make_shot

    import engine.facade as facade
    from engine.shot import open_shot

    made = threading.Event()
    release = threading.Event()

    def slow_matcher(**_: object) -> AssignmentMatcher:
        made.set()
        release.wait(timeout=30)
        return AssignmentMatcher()

    monkeypatch.setattr(facade, "make_matcher", slow_matcher)
    engine = facade.ShotEngine(shot=open_shot(make_shot(tmp_path / "shot")))
    thread = engine.make_matcher_ahead()
    assert made.wait(timeout=10)
    reader = threading.Thread(target=engine.frame, args=(1,))
    reader.start()
    reader.join(timeout=10)
    read_meanwhile = not reader.is_alive()
    release.set()
    thread.join(timeout=10)
    assert read_meanwhile
    assert isinstance(engine.matcher, AssignmentMatcher)


def test_a_matcher_that_cannot_be_made_ahead_says_why_when_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_cli import make_shot

    import engine.facade as facade
    from engine.shot import open_shot

    def broken(**_: object) -> AssignmentMatcher:
        raise CadmiumError("learned matcher unavailable: no weights")

    monkeypatch.setattr(facade, "make_matcher", broken)
    engine = facade.ShotEngine(shot=open_shot(make_shot(tmp_path / "shot")))
    engine.make_matcher_ahead().join(timeout=10)
    with pytest.raises(CadmiumError, match="no weights"):
        engine.matcher  # noqa: B018
