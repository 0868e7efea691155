"""Output folders: written while the work goes on, swapped in all at once."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli import make_shot

from engine.errors import CadmiumError
from engine.facade import ShotEngine
from engine.fills import FillMap
from engine.outputs import MARK, STAGING_PREFIX, StagedOutput
from engine.palette import Palette
from engine.shot import open_shot


def staged_frames(tmp_path: Path) -> tuple[ShotEngine, Palette]:
    shot = open_shot(make_shot(tmp_path / "shot", frames=3))
    engine = ShotEngine(shot=shot, gap=4, matcher="assignment")
    return engine, shot.meta.palette or Palette()


def test_frames_added_in_any_order_are_reported_in_frame_order(
    tmp_path: Path,
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = tmp_path / "out"
    with StagedOutput(engine.shot, out) as staged:
        for number in (3, 1, 2):
            frame = engine.frame(number)
            fills = FillMap.empty(frame.regions.count)
            staged.add(number, frame, fills, palette, keys_used=[])
        # Nothing shows in the output folder before publishing.
        assert [p.name for p in out.iterdir()] == [staged.staging.name]
        staged.publish({"matcher": "assignment"})
    report = json.loads((out / "report.json").read_text())
    assert [f["frame"] for f in report["frames"]] == [1, 2, 3]
    assert report["matcher"] == "assignment"
    names = sorted(p.name for p in (out / "color").iterdir())
    assert names == [f"sc01_{i:04d}.png" for i in (1, 2, 3)]
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_a_failed_run_leaves_the_previous_outputs_as_they_were(
    tmp_path: Path,
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = earlier_output(tmp_path)
    with pytest.raises(RuntimeError), StagedOutput(engine.shot, out) as staged:
        add_blank_frame(staged, engine, palette)
        raise RuntimeError("the run failed")
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"
    assert sorted(p.name for p in out.iterdir()) == ["color", "report.json"]


def earlier_output(tmp_path: Path) -> Path:
    """An output folder as an earlier run left it: its colour frame and
    report."""
    out = tmp_path / "out"
    (out / "color").mkdir(parents=True)
    (out / "color" / "sc01_0001.png").write_bytes(b"earlier run")
    earlier = {"shot": str(tmp_path / "shot"), "run": "earlier", "frames": []}
    (out / "report.json").write_text(json.dumps(earlier))
    return out


def add_blank_frame(staged: StagedOutput, engine: ShotEngine, palette: Palette) -> None:
    """Frame 1, unpainted, as a run under way adds it."""
    frame = engine.frame(1)
    staged.add(1, frame, FillMap.empty(frame.regions.count), palette)


def when_staged_moves_to(
    monkeypatch: pytest.MonkeyPatch, target: Path, event: Callable[[], None]
) -> None:
    """Run ``event`` as a staged output is about to move to ``target``."""
    rename = Path.rename

    def hooked(self: Path, to: Path) -> Path:
        if Path(to) == target and STAGING_PREFIX in str(self):
            event()
        return rename(self, to)

    monkeypatch.setattr(Path, "rename", hooked)


def test_a_swap_that_fails_halfway_puts_the_earlier_outputs_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = earlier_output(tmp_path)

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", str(out / "report.json"))

    when_staged_moves_to(monkeypatch, out / "report.json", refuse)
    with (
        pytest.raises(CadmiumError, match="previous ones are kept"),
        StagedOutput(engine.shot, out) as staged,
    ):
        add_blank_frame(staged, engine, palette)
        staged.publish({"run": "new"})
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"
    assert json.loads((out / "report.json").read_text())["run"] == "earlier"
    assert not list(out.glob(".*.old")) and not list(out.glob(STAGING_PREFIX + "*"))


def test_a_set_aside_output_that_cannot_be_removed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .color.old holding files the user may not delete (someone else's,
    on a farm) stops the swap: the message says which file."""
    engine, palette = staged_frames(tmp_path)
    out = earlier_output(tmp_path)
    stuck = out / ".color.old" / "theirs.png"
    stuck.parent.mkdir()
    stuck.write_bytes(b"not ours to delete")
    rmtree = shutil.rmtree

    def refuse(path: Path, *args: object, **kwargs: object) -> None:
        if Path(path).name == ".color.old":
            raise PermissionError(13, "Permission denied", str(stuck))
        rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with (
        pytest.raises(CadmiumError) as failed,
        StagedOutput(engine.shot, out) as staged,
    ):
        add_blank_frame(staged, engine, palette)
        staged.publish({"run": "new"})
    assert f"{stuck}: Permission denied (an earlier run's outputs, set aside: " in str(
        failed.value
    )
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"


def test_the_next_run_puts_back_outputs_a_killed_swap_left_set_aside(
    tmp_path: Path,
) -> None:
    """Killed (kill -9, power cut) between moving the previous outputs aside
    and moving the new ones in, a run left color/ hidden as .color.old;
    the next run, even one that is cancelled, shows the previous outputs
    again, whole."""
    engine, palette = staged_frames(tmp_path)
    out = earlier_output(tmp_path)
    (out / MARK).write_text(json.dumps({"shot": str(engine.shot.root.resolve())}))
    # The swap got as far as: every output set aside, the new composite/ in.
    for name in ("color", "report.json"):
        (out / name).rename(out / f".{name}.old")
    (out / "composite").mkdir()
    (out / ".composite.old").mkdir()
    (out / ".composite.old" / "sc01_0001.png").write_bytes(b"earlier composite")
    with StagedOutput(engine.shot, out, layers=("color", "composite")) as staged:
        add_blank_frame(staged, engine, palette)  # then cancelled: not published
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"
    assert (out / "composite" / "sc01_0001.png").read_bytes() == b"earlier composite"
    assert json.loads((out / "report.json").read_text())["run"] == "earlier"
    assert not list(out.glob(".*.old"))
    # A swap killed after every new output was in place: the old ones go.
    (out / ".color.old").mkdir()
    with StagedOutput(engine.shot, out, layers=("color",)):
        pass
    assert not list(out.glob(".*.old"))
    assert (out / "color" / "sc01_0001.png").read_bytes() == b"earlier run"


def test_outputs_never_replace_a_shot(tmp_path: Path) -> None:
    """Neither the shot itself (a shot folder named like an output layer,
    with OUT its parent) nor another shot's painted keys."""
    shot = open_shot(make_shot(tmp_path / "cut" / "composite", frames=2))
    with pytest.raises(CadmiumError, match="would replace the shot folder"):
        StagedOutput(shot, tmp_path / "cut")
    other = make_shot(tmp_path / "other", frames=2)
    with pytest.raises(
        CadmiumError, match="holds a color/ folder that Cadmium did not"
    ):
        StagedOutput(shot, other)
    (other / "composite").mkdir()  # a shot with renders: still a shot
    with pytest.raises(CadmiumError, match="Cadmium did not write"):
        StagedOutput(shot, other)
    assert (other / "color" / "0001.png").exists()
    # An earlier output folder (marked when published) is replaced.
    out = tmp_path / "out"
    with StagedOutput(shot, out, layers=("color",)) as staged:
        staged.publish()
    with StagedOutput(shot, out, layers=("color",)) as staged:
        staged.publish()
    assert sorted(p.name for p in out.iterdir()) == [".cadmium-output", "color"]
    # Another shot's outputs are not: the application's exports open as
    # shots, and a painted project may stand on them.
    second = open_shot(make_shot(tmp_path / "second", frames=2))
    with pytest.raises(CadmiumError, match="outputs of another shot"):
        StagedOutput(second, out)


def test_two_runs_into_one_folder_never_mix_two_shots(tmp_path: Path) -> None:
    first = open_shot(make_shot(tmp_path / "first", frames=2))
    second = open_shot(make_shot(tmp_path / "second", frames=2))
    out = tmp_path / "out"
    with StagedOutput(first, out, layers=("color",)) as slow:  # makes out/
        with StagedOutput(second, out, layers=("color",)) as fast:
            fast.publish()
        with pytest.raises(CadmiumError, match="outputs of another shot"):
            slow.publish()
    # The slow run cleaned up after itself and nothing of the fast one.
    mark = json.loads((out / MARK).read_text())
    assert mark["shot"] == str(second.root.resolve())
    assert sorted(p.name for p in out.iterdir()) == [MARK, "color"]


def test_an_output_folder_that_cannot_be_made_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    engine, _ = staged_frames(tmp_path)
    (tmp_path / "a file").write_text("not a folder")
    with pytest.raises(CadmiumError, match="cannot write") as error:
        StagedOutput(engine.shot, tmp_path / "a file" / "out")
    assert "\n" not in str(error.value)


def test_a_read_only_output_folder_is_named_not_the_hidden_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = staged_frames(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    mkdir = Path.mkdir

    def read_only(self: Path, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if STAGING_PREFIX in str(self):  # as on a read-only mount
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(CadmiumError) as error:
        StagedOutput(engine.shot, out)
    assert str(error.value) == f"{out}: cannot write (Read-only file system)"


def test_a_cancelled_run_removes_the_folder_it_made(tmp_path: Path) -> None:
    engine, palette = staged_frames(tmp_path)
    out = tmp_path / "new" / "out"
    with StagedOutput(engine.shot, out) as staged:
        add_blank_frame(staged, engine, palette)
    assert not out.exists()


def test_earlier_outputs_are_replaced_even_unmarked_or_from_a_moved_shot(
    tmp_path: Path,
) -> None:
    shot = open_shot(make_shot(tmp_path / "shot", frames=2))
    # A colorize run's outputs from before folders were marked: color/,
    # composite/ and its report.json.
    old_export = tmp_path / "old_export"
    for layer in ("color", "composite"):
        (old_export / layer).mkdir(parents=True)
    report = {"shot": str(tmp_path / "elsewhere"), "frames": []}
    (old_export / "report.json").write_text(json.dumps(report))
    # Outputs whose mark names a shot folder since moved (or on another
    # machine's mount of a shared disk).
    moved = tmp_path / "moved"
    (moved / "color").mkdir(parents=True)
    (moved / MARK).write_text(json.dumps({"shot": str(tmp_path / "gone")}))
    for out in (old_export, moved):
        with StagedOutput(shot, out, layers=("color",)) as staged:
            staged.publish()
        assert json.loads((out / MARK).read_text())["shot"] == str(shot.root.resolve())


@pytest.mark.parametrize(
    "case", ["another tool's report.json", "composite/ alone", "report.json alone"]
)
def test_a_folder_that_only_looks_like_outputs_is_never_replaced(
    tmp_path: Path, case: str
) -> None:
    """Another tool's report.json beside a shot's painted keys or alone, or
    someone's composite/ folder, is not Cadmium's to replace (all were, and
    their files were lost)."""
    shot = open_shot(make_shot(tmp_path / "shot", frames=2))
    out = tmp_path / "work"
    if case == "composite/ alone":
        (out / "composite").mkdir(parents=True)
        (out / "composite" / "mine.txt").write_text("mine")
    elif case == "report.json alone":
        out.mkdir()
        (out / "report.json").write_text('{"tool": "other"}')
    else:
        (out / "color").mkdir(parents=True)
        (out / "color" / "0001.png").write_bytes(b"a painted key")
        (out / "report.json").write_text('{"status": "approved"}')
    before = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*.*"))
    with pytest.raises(CadmiumError, match="that Cadmium did not write") as error:
        StagedOutput(shot, out, layers=("color", "composite"))
    assert "\n" not in str(error.value)
    assert ("a report.json" in str(error.value)) == (case == "report.json alone")
    after = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*.*"))
    assert after == before


def test_ctrl_c_while_outputs_are_swapped_in_waits_for_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, palette = staged_frames(tmp_path)
    out = earlier_output(tmp_path)
    # Between two moves:
    when_staged_moves_to(
        monkeypatch, out / "color", lambda: os.kill(os.getpid(), signal.SIGINT)
    )
    with (
        pytest.raises(KeyboardInterrupt),
        StagedOutput(engine.shot, out, layers=("color", "composite")) as staged,
    ):
        add_blank_frame(staged, engine, palette)
        staged.publish({"run": "new"})
    # Delivered once every output was in place: all new, none half swapped.
    assert json.loads((out / "report.json").read_text())["run"] == "new"
    assert (out / "color" / "sc01_0001.png").read_bytes() != b"earlier run"
    assert (out / "composite").is_dir() and (out / MARK).exists()
    assert not list(out.glob(".*.old")) and not list(out.glob(STAGING_PREFIX + "*"))
