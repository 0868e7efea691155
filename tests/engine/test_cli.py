"""The command line as a render farm or an animator uses it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import open_circle

from engine.cli import main
from engine.imageio import read_image, write_png
from engine.regions import segment_image

Completed = subprocess.CompletedProcess[str]


def run_cli(*args: str) -> Completed:
    return subprocess.run(
        [sys.executable, "-m", "cadmium_app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_shot(root: Path, frames: int = 6, keys: tuple[int, ...] = (1,)) -> Path:
    """A box with a disc inside sliding right, and a still circle."""
    palette = [
        (230, 60, 50, 255),
        (40, 90, 220, 255),
        (250, 220, 60, 255),
        (90, 200, 120, 255),
    ]
    for f in range(1, frames + 1):
        image = np.full((120, 200), 255, np.uint8)
        dx = 2 * f
        cv2.rectangle(image, (10 + dx, 20), (80 + dx, 100), 0, 2, cv2.LINE_AA)
        cv2.circle(image, (45 + dx, 60), 15, 0, 2, cv2.LINE_AA)
        cv2.circle(image, (150, 60), 25, 0, 2, cv2.LINE_AA)
        write_png(root / "line" / f"sc01_{f:04d}.png", image)
        if f in keys:
            regions = segment_image(image)[1]
            color = np.zeros((120, 200, 4), np.uint8)
            for i in range(regions.count):
                color[regions.labels == i + 1] = palette[i % len(palette)]
            write_png(root / "color" / f"{f:04d}.png", color)
    return root


def test_segment_writes_a_16_bit_label_map_and_preview(tmp_path: Path) -> None:
    frame = tmp_path / "frame.png"
    write_png(frame, open_circle(3))
    out, preview = tmp_path / "labels.png", tmp_path / "preview.png"
    assert (
        main(
            [
                "segment",
                str(frame),
                "--out",
                str(out),
                "--gap",
                "4",
                "--preview",
                str(preview),
            ]
        )
        == 0
    )
    labels = read_image(out)
    assert labels.dtype == np.uint16
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    assert read_image(preview).shape == (160, 200, 3)
    main(["segment", str(frame), "--out", str(out), "--gap", "2"])
    assert set(np.unique(read_image(out)).tolist()) == {0, 1}


def test_colorize_shot_writes_the_contracted_outputs(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot")
    out = tmp_path / "out"
    result = run_cli(
        "colorize-shot", str(shot), "--out", str(out), "--matcher", "assignment"
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (shot / "line").iterdir())
    assert sorted(p.name for p in (out / "color").iterdir()) == names
    assert sorted(p.name for p in (out / "composite").iterdir()) == names
    report = json.loads((out / "report.json").read_text())
    assert [f["frame"] for f in report["frames"]] == [1, 2, 3, 4, 5, 6]
    assert report["frames"][3]["keys_used"] == [1]
    # nothing was written inside the shot
    assert sorted(p.name for p in shot.iterdir()) == ["color", "line"]
    # the disc in the moving box keeps its colour on the last frame
    key = read_image(shot / "color" / "0001.png")
    last = read_image(out / "color" / "sc01_0006.png")
    assert tuple(last[60, 45 + 12]) == tuple(key[60, 45 + 2])
    assert last.shape == (120, 200, 4)


def test_several_shots_in_one_command(tmp_path: Path) -> None:
    a = make_shot(tmp_path / "a", frames=3)
    b = make_shot(tmp_path / "b", frames=2)
    out = tmp_path / "out"
    result = run_cli(
        "colorize-shot",
        str(a),
        str(b),
        "--out",
        str(out),
        "--matcher",
        "overlap",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert len(list((out / "a" / "color").iterdir())) == 3
    assert len(list((out / "b" / "composite").iterdir())) == 2


def test_a_batch_of_linked_shots_writes_under_the_links_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Links sh010 and sh020 to versions/3/shot and versions/4/shot: the
    batch was refused ("several shots share a folder name"), and a single
    link's outputs went to OUT/<its target's name>."""
    links = []
    for name, version in (("sh010", 3), ("sh020", 4)):
        make_shot(tmp_path / "versions" / str(version) / "shot", frames=2)
        links.append(tmp_path / name)
        links[-1].symlink_to(Path("versions") / str(version) / "shot")
    out = tmp_path / "out"
    result = run_batch(capsys, links, out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sh010", "sh020"]
    assert len(list((out / "sh020" / "color").iterdir())) == 2


@pytest.mark.skipif(sys.platform != "linux", reason="names of any bytes")
def test_a_shot_named_in_another_encoding_prints_its_summary(tmp_path: Path) -> None:
    """A folder named in Latin-1 (from a Windows share) under a UTF-8
    locale: the outputs were written, then printing the summary line ended
    the run in a UnicodeEncodeError traceback (exit status 1)."""
    shot = make_shot(tmp_path / "caf\udce9", frames=2)  # the byte 0xe9
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "colorize-shot", str(shot)]
        + ["--out", str(tmp_path / "out"), "--matcher", "overlap"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # strict, as a locale's
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{tmp_path}/caf\\udce9: 2 frames")


def test_a_bad_shot_in_a_batch_is_reported_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = make_shot(tmp_path / "a", frames=3)
    empty = tmp_path / "empty"
    (empty / "line").mkdir(parents=True)
    c = make_shot(tmp_path / "c", frames=2)
    out = tmp_path / "out"
    result = run_batch(capsys, [a, empty, c], out)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and str(empty) in errors[0]
    assert errors[1] == f"cadmium: 1 of 3 shots failed ({empty}); the others are done"
    assert len(list((out / "a" / "color").iterdir())) == 3
    assert len(list((out / "c" / "color").iterdir())) == 2
    assert not (out / "empty").exists()


def test_a_batch_writing_into_one_of_its_shots_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """colorize-shot b a --out a/out: b's outputs went inside shot a before
    a's own run was refused."""
    a = make_shot(tmp_path / "a", frames=2)
    b = make_shot(tmp_path / "b", frames=2)
    before = sorted(p.relative_to(a) for p in a.rglob("*"))
    out = a / "out"
    result = run_main(
        capsys, "colorize-shot", str(b), str(a), "--out", str(out), "--quiet"
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"cadmium: {out}: the output folder must be outside every shot ({a} is one)\n"
    )
    assert sorted(p.relative_to(a) for p in a.rglob("*")) == before


def test_a_key_region_painted_in_two_colours_is_flagged_and_named(
    tmp_path: Path,
) -> None:
    """A gap too wide to close joins the inside of a ring to the paper
    around it: the key paints them apart, the engine sees one region. Its
    majority colour is used, flagged for review, and the run says so."""
    shot = tmp_path / "shot"
    line = open_circle(20)
    for number in (1, 2):
        write_png(shot / "line" / f"{number:04d}.png", line)
    yy, xx = np.mgrid[: line.shape[0], : line.shape[1]]
    key = np.zeros((*line.shape, 4), np.uint8)
    key[...] = (40, 90, 220, 255)  # the paper, blue
    key[(yy - 80) ** 2 + (xx - 100) ** 2 < 48**2] = (230, 60, 50, 255)  # red inside
    write_png(shot / "color" / "0001.png", key)
    out = tmp_path / "out"
    result = run_cli(
        "colorize-shot", str(shot), "--out", str(out), "--matcher", "overlap"
    )
    assert result.returncode == 0, result.stderr
    assert "key 0001.png: a region painted in two colours (at x" in result.stderr
    assert "is flagged for review with its main colour" in result.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["frames"][0]["flagged"]) == 1
    assert report["frames"][1]["flagged"]  # and what depends on it


def test_keys_that_are_not_flat_paint_are_warned_of(tmp_path: Path) -> None:
    """A key saved by mistake (noise, a photo) or an empty one still runs,
    and the run says which key looks wrong and how."""
    shot = tmp_path / "shot"
    line = np.full((160, 160), 255, np.uint8)
    for at in range(0, 160, 20):  # a grid of 64 cells
        line[:, at : at + 2] = 0
        line[at : at + 2, :] = 0
    for number in (1, 2, 3):
        write_png(shot / "line" / f"{number:04d}.png", line)
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 4), np.uint8)
    noise[..., 3] = 255
    write_png(shot / "color" / "0001.png", noise)
    write_png(shot / "color" / "0003.png", np.zeros((160, 160, 4), np.uint8))
    result = run_cli(
        "colorize-shot",
        str(shot),
        "--out",
        str(tmp_path / "out"),
        "--matcher",
        "overlap",
    )
    assert result.returncode == 0, result.stderr
    assert "key 0001.png: 64 of 64 regions have no main colour" in result.stderr
    assert "key 0003.png: nothing painted (all transparent)" in result.stderr
    # The noise gave no colour: no style per speck, nothing painted from it,
    # every region left for review.
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["palette"] == []
    assert all(len(f["flagged"]) == 64 for f in report["frames"])


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> Completed:
    """The command run in this process (faster), seen as a subprocess."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def run_batch(
    capsys: pytest.CaptureFixture[str], shots: list[Path], out: Path
) -> Completed:
    """colorize-shot on several shots at once (the overlap matcher)."""
    args = ["--out", str(out), "--matcher", "overlap", "--quiet"]
    return run_main(capsys, "colorize-shot", *map(str, shots), *args)


def _one_line_error(result: Completed, *words: str) -> None:
    assert result.returncode == 2
    # Off a terminal no progress bar stands before it, even mid-run.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cadmium: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_input_gives_one_line_errors_and_writes_nothing(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=3)
    out = tmp_path / "out"

    def colorize(*extra: str) -> Completed:
        return run_cli(
            "colorize-shot",
            str(shot),
            "--out",
            str(out),
            "--matcher",
            "assignment",
            *extra,
        )

    _one_line_error(colorize("--keys", "2"), "no painted color/ frame")
    _one_line_error(
        run_cli("colorize-shot", str(tmp_path / "nope"), "--out", str(out)), "not found"
    )
    _one_line_error(
        run_cli("colorize-shot", str(shot), "--out", str(shot / "inside")),
        "outside the shot",
    )

    corrupt = shot / "line" / "sc01_0002.png"
    good = corrupt.read_bytes()
    corrupt.write_bytes(good[:80])
    _one_line_error(colorize(), "sc01_0002.png")
    corrupt.write_bytes(b"")
    _one_line_error(colorize(), "sc01_0002.png", "empty")
    corrupt.write_bytes(good)
    # A frame that is a broken link, or a folder named like a frame, is not
    # skipped without a word (the output would miss that frame).
    broken = shot / "line" / "sc01_0004.png"
    broken.symlink_to(tmp_path / "gone.png")
    _one_line_error(colorize(), "sc01_0004.png", "broken link")
    broken.unlink()
    broken.mkdir()
    _one_line_error(colorize(), "sc01_0004.png", "folder")
    broken.rmdir()

    write_png(shot / "color" / "0001.png", np.zeros((50, 50, 4), np.uint8))
    _one_line_error(colorize(), "0001.png", "differs")
    assert not out.exists() or not any(out.iterdir())


def test_no_keys_and_empty_folders(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=2, keys=())
    _one_line_error(
        run_cli("colorize-shot", str(shot), "--out", str(tmp_path / "o")), "no keys"
    )
    # A key painted but named without a frame number is named, not ignored.
    (shot / "color").mkdir(exist_ok=True)
    write_png(shot / "color" / "key.png", np.zeros((50, 50, 4), np.uint8))
    _one_line_error(
        run_cli("colorize-shot", str(shot), "--out", str(tmp_path / "o")),
        "color/key.png: no frame number in its name, so it is not read as a key: "
        "name it like its line frame (sc01_0001.png)",
    )
    empty = tmp_path / "empty" / "line"
    empty.mkdir(parents=True)
    _one_line_error(
        run_cli("colorize-shot", str(empty.parent), "--out", str(tmp_path / "o")),
        "no numbered line frames",
    )


@pytest.mark.parametrize("content", [b"", b"GIF89a not really", b"\x89PNG\r\n\x1a\n"])
def test_segment_bad_frames(tmp_path: Path, content: bytes) -> None:
    frame = tmp_path / "bad frame 01.png"
    frame.write_bytes(content)
    _one_line_error(
        run_cli("segment", str(frame), "--out", str(tmp_path / "l.png")),
        "bad frame 01.png",
    )
    assert not (tmp_path / "l.png").exists()


def test_a_killed_runs_staging_folder_is_cleared_by_the_next_run(
    tmp_path: Path,
) -> None:
    import os
    import socket

    from engine.outputs import STAGING_PREFIX, new_staging

    host = socket.gethostname().replace("-", "_")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = tmp_path / f"{STAGING_PREFIX}{host}-{dead.pid}-1"
    running = tmp_path / f"{STAGING_PREFIX}{host}-{os.getppid()}-2"
    elsewhere = tmp_path / f"{STAGING_PREFIX}farm_node_7-{dead.pid}-3"
    for folder in (abandoned, running, elsewhere):
        (folder / "color").mkdir(parents=True)
    staging = new_staging(tmp_path)
    assert not abandoned.exists()
    assert running.exists() and elsewhere.exists()  # maybe still writing
    assert staging.parent == tmp_path and not staging.exists()


@pytest.mark.parametrize("gap", ['"wide"', "null", "100"])
def test_a_bad_gap_in_shot_json_is_blamed_on_shot_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gap: str
) -> None:
    shot = make_shot(tmp_path / "shot", frames=2)
    (shot / "shot.json").write_text(f'{{"settings": {{"gap": {gap}}}}}')
    result = run_main(
        capsys, "colorize-shot", str(shot), "--out", str(tmp_path / "out")
    )
    _one_line_error(result, str(shot / "shot.json"), f"settings.gap {gap}:")
    assert "--gap" not in result.stderr  # a flag never given
    assert not (tmp_path / "out").exists()


def test_segment_never_overwrites_its_input_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.png"
    write_png(frame, open_circle(3))
    line_art = frame.read_bytes()
    (tmp_path / "link.png").symlink_to(frame)
    for option, same in (
        ("--out", str(frame)),
        ("--out", str(tmp_path / "." / "link.png")),
        ("--preview", str(frame)),
    ):
        extra = (
            [option, same] if option == "--out" else ["--out", "l.png", option, same]
        )
        result = run_main(capsys, "segment", str(frame), *extra)
        _one_line_error(result, f"{option} {same}", "is the input frame")
    assert frame.read_bytes() == line_art


def test_segment_refuses_a_folder_or_an_unwritable_place_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.png"
    write_png(frame, open_circle(3))
    labels = tmp_path / "labels.png"
    result = run_main(capsys, "segment", str(frame), "--out", str(tmp_path))
    _one_line_error(result, f"--out {tmp_path}", "is a folder")
    jpeg = tmp_path / "labels.jpg"  # 16-bit labels have no JPEG
    result = run_main(capsys, "segment", str(frame), "--out", str(jpeg))
    _one_line_error(result, f"--out {jpeg}", "name a .png file")
    assert not jpeg.exists()
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    preview = blocker / "preview.png"
    result = run_main(
        capsys, "segment", str(frame), "--out", str(labels), "--preview", str(preview)
    )
    _one_line_error(result, f"--preview {preview}", "is not a folder")
    assert not labels.exists()  # no half result
    result = run_main(
        capsys, "segment", str(frame), "--out", str(labels), "--preview", str(labels)
    )
    _one_line_error(result, "is the --out file too")
    assert not labels.exists()


def test_gap_and_flag_below_are_checked_alike_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.png"
    write_png(frame, open_circle(3))
    shot = make_shot(tmp_path / "shot", frames=2)
    out = str(tmp_path / "out")
    for gap in ("1000", "-1", "65"):
        reason = f"--gap {gap}: use a whole number of px from 0 (off) to 64"
        segment = run_main(
            capsys, "segment", str(frame), "--out", "l.png", "--gap", gap
        )
        _one_line_error(segment, reason)
        colorize = run_main(
            capsys, "colorize-shot", str(shot), "--out", out, "--gap", gap
        )
        _one_line_error(colorize, reason)
    for value in ("2", "nan", "-0.1", "inf"):
        result = run_main(
            capsys, "colorize-shot", str(shot), "--out", out, "--flag-below", value
        )
        _one_line_error(result, "--flag-below", "use a number from 0 to 1")
    for option, value, reason in (
        ("--threshold", "nan", "between 0 and 1"),
        ("--threshold", "inf", "between 0 and 1"),
        ("--threshold", "5", "between 0 and 1"),
        ("--min-area", "-5", "0 or more"),
    ):
        result = run_main(
            capsys, "segment", str(frame), "--out", "l.png", option, value
        )
        _one_line_error(
            result,
            f"{option} {float(value) if option == '--threshold' else value}",
            reason,
        )
    assert not (tmp_path / "l.png").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "failure",
    [
        MemoryError("Unable to allocate 2.15 GiB"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried ..."),
        cv2.error("(-4:Insufficient memory) Failed to allocate 1024000000 bytes"),
    ],
)
def test_running_out_of_memory_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    import engine.cli

    def colorize_shot(**kwargs: object) -> object:
        raise failure

    monkeypatch.setattr(engine.cli, "colorize_shot", colorize_shot)
    shot = make_shot(tmp_path / "shot", frames=2)
    result = run_main(capsys, "colorize-shot", str(shot), "--out", str(tmp_path / "o"))
    _one_line_error(result, "not enough memory")


def test_ctrl_c_on_a_later_shot_says_which_shots_are_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.cli

    shots = [make_shot(tmp_path / name, frames=2) for name in ("a", "b", "c")]
    out = tmp_path / "out"
    real = engine.cli.colorize_shot

    def colorize_shot(**kwargs: object) -> object:
        if kwargs["shot_path"] == shots[2]:
            raise KeyboardInterrupt
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.cli, "colorize_shot", colorize_shot)
    result = run_batch(capsys, shots, out)
    assert result.returncode == 130
    assert result.stderr == (
        f"cadmium: interrupted; nothing was written for {shots[2]}; "
        "the 2 shot(s) before it are done\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]


# Ctrl-C while the engine is still being imported (torch and OpenCV take a
# second or more): the import of OpenCV is where it lands here.
INTERRUPTED_WHILE_IMPORTING = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "cv2":
            raise KeyboardInterrupt

sys.meta_path.insert(0, CtrlC())
from cadmium_app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_while_starting_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WHILE_IMPORTING, "segment", "a.png"]
        + ["--out", str(tmp_path / "b.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 130
    assert result.stderr == "cadmium: interrupted; nothing was written\n"


# SIGTERM sent by the run to itself once the first frame is staged, as a
# scheduler or `timeout` would send it.
TERMINATED_MID_RUN = """
import os, signal, sys
import engine.facade as facade
from engine.outputs import STAGING_PREFIX
from cadmium_app.cli import main

out = sys.argv[-1]
original = facade.propagate

def propagate(**kwargs):
    for result in original(**kwargs):
        yield result
        staged = any(p.startswith(STAGING_PREFIX) for p in os.listdir(out))
        print("staged" if staged else "not staged", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

facade.propagate = propagate
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_ends_a_run_like_ctrl_c_with_status_143(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=4)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", TERMINATED_MID_RUN, "colorize-shot", str(shot)]
        + ["--matcher", "assignment", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout == "staged\n"
    assert result.returncode == 143
    assert result.stderr == "cadmium: terminated; nothing was written\n"
    assert not out.exists()  # made by the run, so removed with its staging


# SIGTERM as the outputs start to be put in place: delivered once they all
# are, so the run is done and must say so.
TERMINATED_WHILE_PUBLISHING = """
import os, signal, sys
import engine.outputs as outputs
from cadmium_app.cli import main

original = outputs._swap_in

def swap_in(*args):
    os.kill(os.getpid(), signal.SIGTERM)
    original(*args)

outputs._swap_in = swap_in
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_while_outputs_are_put_in_place_says_they_were_written(
    tmp_path: Path,
) -> None:
    """It said "nothing was written", though every output was replaced."""
    shot = make_shot(tmp_path / "shot", frames=3)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", TERMINATED_WHILE_PUBLISHING, "colorize-shot"]
        + [str(shot), "--matcher", "assignment", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 143
    assert result.stderr == (
        "cadmium: terminated; the outputs were written before it stopped\n"
    )
    assert len(list((out / "color").iterdir())) == 3
    assert len(json.loads((out / "report.json").read_text())["frames"]) == 3


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_while_a_batch_s_shot_is_put_in_place_counts_it_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.outputs

    shots = [make_shot(tmp_path / name, frames=2) for name in ("a", "b", "c")]
    out = tmp_path / "out"
    original = engine.outputs._swap_in

    def swap_in(staging: Path, out_dir: Path, *args: object) -> None:
        if out_dir.name == "b":
            os.kill(os.getpid(), signal.SIGINT)
        original(staging, out_dir, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.outputs, "_swap_in", swap_in)
    # A stopped run leaves both signals ignored (for its exit): put back.
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = run_batch(capsys, shots, out)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert result.returncode == 130
    assert result.stderr == (
        f"cadmium: interrupted; the 2 shot(s) up to and including {shots[1]} are done\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]
    assert (out / "b" / "report.json").exists()


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    shot = make_shot(tmp_path / "shot", frames=3)
    command = ["colorize-shot", str(shot), "--matcher", "assignment", "--out"]
    piped = run_cli(*command, str(tmp_path / "piped"))
    assert piped.returncode == 0 and piped.stderr == ""
    pty = pytest.importorskip("pty")
    import fcntl
    import termios

    parent, child = pty.openpty()
    # A terminal 100 columns wide (a new one is 0 wide: no room for a bar).
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with subprocess.Popen(
        [sys.executable, "-m", "cadmium_app.cli", *command, str(tmp_path / "tty")],
        stdout=subprocess.DEVNULL,
        stderr=child,
    ) as process:
        os.close(child)
        seen = b""
        with contextlib.suppress(OSError):  # EIO once the child is gone
            while chunk := os.read(parent, 4096):
                seen += chunk
        os.close(parent)
    assert process.returncode == 0
    assert b"3/3" in seen and b"frame" in seen


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header reads fine but that holds no pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_size_mismatch_names_the_frame_the_shots_size_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shot = make_shot(tmp_path / "shot", frames=2)
    (shot / "line" / "sc01_0001.png").write_bytes(_png_header_only(16000, 16000))
    result = run_main(
        capsys, "colorize-shot", str(shot), "--out", str(tmp_path / "out")
    )
    _one_line_error(
        result,
        f"{shot / 'line' / 'sc01_0002.png'}: size 200x120 differs from "
        "sc01_0001.png's 16000x16000",
    )


def hd_open_circle(gap: int) -> np.ndarray:
    """An HD frame (1920 x 1080) of one circle in 4 px line, open by ``gap``
    px on its right."""
    image = np.full((1080, 1920), 255, np.uint8)
    cv2.circle(image, (960, 540), 300, 0, 4)
    image[540 - gap // 2 : 540 - gap // 2 + gap, 1250:1270] = 255
    return image


def test_larger_frames_close_larger_gaps_unless_told(tmp_path: Path) -> None:
    """8 px at the sizes the default was measured on, in proportion on
    larger frames: an HD drawing's 10 px gap closes (12 px at HD), and
    --gap or shot.json still say exactly what to close."""
    frame = tmp_path / "frame.png"
    write_png(frame, hd_open_circle(10))
    out = tmp_path / "labels.png"
    assert main(["segment", str(frame), "--out", str(out)]) == 0
    assert len(np.unique(read_image(out))) == 3  # lines, inside, outside
    main(["segment", str(frame), "--out", str(out), "--gap", "8"])
    assert len(np.unique(read_image(out))) == 2  # leaked: one region
    shot = tmp_path / "shot"
    for number in (1, 2):
        write_png(shot / "line" / f"{number:04d}.png", hd_open_circle(10))
    key = np.zeros((1080, 1920, 4), np.uint8)
    key[540, 960] = (200, 30, 30, 255)  # a dot inside: the inside is the key's
    key = cv2.dilate(key, np.ones((9, 9), np.uint8))
    write_png(shot / "color" / "0001.png", key)
    colorize = ["colorize-shot", str(shot), "--matcher", "overlap", "--out"]
    assert main([*colorize, str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gap"] == 12
    assert main([*colorize, str(tmp_path / "out8"), "--gap", "8"]) == 0
    assert json.loads((tmp_path / "out8" / "report.json").read_text())["gap"] == 8
