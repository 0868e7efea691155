"""A shot on disk: line frames, painted keys and metadata, by frame number.

See ``shared/docs/shot-format.md``. Frames pair up across ``line/`` and
``color/`` by the number in their names, whatever the prefix, separator,
padding or extension, so ``A_0001.tga`` in ``line/`` pairs with ``0001.png``
in ``color/``. Output files keep the line frame's name with a ``.png``
extension.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import ShotError
from engine.gaps import gap_problem
from engine.imageio import IMAGE_SUFFIXES, atomic_write_bytes
from engine.jsonfile import read_json
from engine.palette import Palette

# The frame number is the last run of digits in the file stem.
_NUMBER = re.compile(r"(\d+)(?!.*\d)")
SHOT_FILE = "shot.json"


def frame_number(name: str) -> int | None:
    """The frame number carried by a file name, or None when it has none."""
    stem = Path(name).stem
    match = _NUMBER.search(stem)
    return int(match.group(1)) if match else None


def scan_frames(folder: Path) -> dict[int, Path]:
    """Image files of a folder by frame number; other files are ignored.

    Hidden files and files without a number are skipped. Two files with the
    same number are an error, since the pairing would be ambiguous. An entry
    named like a frame that is not a readable file (a broken link, a folder)
    is kept: reading it then says what is wrong, instead of the frame going
    missing without a word.
    """
    frames: dict[int, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        raise ShotError(f"{folder}: folder not found") from None
    except NotADirectoryError:
        raise ShotError(f"{folder}: not a folder") from None
    except OSError as exc:
        raise ShotError(f"{folder}: cannot list ({exc.strerror or exc})") from None
    for entry in entries:
        if not _is_image_name(entry.name):
            continue
        number = frame_number(entry.name)
        if number is None:
            continue
        if number in frames:
            raise ShotError(
                f"{folder}: frame {number} appears twice "
                f"({frames[number].name} and {entry.name}; a frame's number is "
                "the last number in its name)"
            )
        frames[number] = entry
    return frames


def unnumbered_images(folder: Path) -> list[str]:
    """Names of the image files in ``folder`` that `scan_frames` skips for
    having no frame number (``key.png``): for messages that would otherwise
    say a folder is empty."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        e.name
        for e in entries
        if _is_image_name(e.name) and frame_number(e.name) is None
    ]


def _is_image_name(name: str) -> bool:
    """Whether a shot folder's entry is named as an image it reads (hidden
    files are not: editors' and our own temporaries)."""
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class ShotMeta:
    """What ``shot.json`` may hold; every field is optional on disk."""

    fps: float = 24.0
    palette: Palette | None = None
    keys: tuple[int, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fps": self.fps}
        if self.palette is not None:
            data["palette"] = self.palette.to_json()
        if self.keys:
            data["keys"] = list(self.keys)
        if self.settings:
            data["settings"] = dict(self.settings)
        return data


def read_meta(path: Path) -> ShotMeta:
    if not path.exists():
        return ShotMeta()
    try:
        # (utf-8-sig: Windows editors may start the file with a byte-order mark.)
        data = read_json(path, encoding="utf-8-sig")
    except OSError as exc:
        raise ShotError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ShotError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ShotError(f"{path}: expected a JSON object")
    try:
        fps = float(data.get("fps", 24.0))
        keys = tuple(int(k) for k in data.get("keys", ()))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ShotError(f"{path}: bad fps or keys ({exc})") from None
    if not 0 < fps < math.inf:
        raise ShotError(f"{path}: fps {data['fps']!r}: use a number above 0")
    try:
        palette = Palette.from_json(data["palette"]) if "palette" in data else None
    except ShotError as exc:
        raise ShotError(f"{path}: {exc}") from None
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ShotError(f"{path}: settings must be an object")
    return ShotMeta(fps=fps, palette=palette, keys=keys, settings=settings)


def write_meta(path: Path, meta: ShotMeta) -> None:
    text = json.dumps(meta.to_json(), indent=2) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


@dataclass(frozen=True)
class Shot:
    """A shot folder: line frames by number, painted frames, metadata."""

    root: Path
    line: dict[int, Path]
    color: dict[int, Path]
    meta: ShotMeta
    labels: dict[int, Path] = field(default_factory=dict)

    @property
    def frames(self) -> list[int]:
        """Frame numbers of the line frames, in order."""
        return sorted(self.line)

    def gone(self, frame: int) -> bool:
        """Whether the frame's line file is gone from disk (deleted since
        the folder was read), or the frame is not in the shot. A broken
        link is not gone: reading it says what is wrong."""
        path = self.line.get(frame)
        return path is None or not os.path.lexists(path)

    def line_version(self, frame: int) -> FileVersion:
        """Which version of the frame's line art is on disk now."""
        return file_version(self.line[frame])

    def output_name(self, frame: int) -> str:
        """The file name outputs use for a frame: the line frame's, as PNG."""
        return self.line[frame].with_suffix(".png").name


# A file's modification time (ns), size and inode, or None when it cannot
# be read: line art redrawn on disk while a shot is open changes it (saved
# in place or replaced by a new file).
FileVersion = tuple[int, int, int] | None


def file_version(path: Path) -> FileVersion:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def shot_gap(shot: Shot, default: int) -> int:
    """The gap closing (px) shot.json's settings ask for, else ``default``.
    Checked where it is used (opening a shot, colorizing without --gap), not
    when shot.json is read, so a project, which keeps its own gap, opens
    whatever the file says; a bad value blames shot.json, not a flag."""
    if "gap" not in shot.meta.settings:
        return default
    value = shot.meta.settings["gap"]
    problem = gap_problem(value)
    if problem:
        where = shot.root / SHOT_FILE
        raise ShotError(f"{where}: settings.gap {json.dumps(value)}: {problem}")
    return int(value)


def _line_frames(line_dir: Path) -> dict[int, Path]:
    """`scan_frames` of a shot's line folder, which must hold some."""
    line = scan_frames(line_dir)
    if not line:
        raise ShotError(f"{line_dir}: no numbered line frames (PNG, TGA or TIFF)")
    return line


def rescan(shot: Shot) -> Shot:
    """The shot with its line frames as ``line/`` holds them now: frames
    drawn or deleted since it was opened (clean-up goes on while a shot is
    painted). ``shot`` itself when nothing changed. Raises ShotError when
    ``line/`` cannot be listed, holds two files of one number (often a
    save under way) or no frames at all (a disk unmounted, a folder being
    replaced): the caller keeps the shot it has rather than drop every
    frame."""
    line = _line_frames(shot.root / "line")
    if line == shot.line:
        return shot
    color = {n: p for n, p in shot.color.items() if n in line}
    labels = {n: p for n, p in shot.labels.items() if n in line}
    return replace(shot, line=line, color=color, labels=labels)


def open_shot(root: str | Path, *, keys_from_color: bool = True) -> Shot:
    """Read a shot folder's layout (no pixels are decoded here).
    keys_from_color: the colour frames are the keys, so one without its
    line frame is an error; a project keeps its own fills, and opens the
    folder without such colour frames (a drawing deleted on disk)."""
    root = Path(root)
    if not root.exists():
        raise ShotError(f"{root}: shot folder not found")
    if not root.is_dir():
        raise ShotError(f"{root}: not a folder")
    line_dir = root / "line"
    if not line_dir.is_dir():
        raise ShotError(f"{root}: no line/ folder (a shot needs line/<frame>.png)")
    line = _line_frames(line_dir)
    color = scan_frames(root / "color") if (root / "color").is_dir() else {}
    orphans = sorted(set(color) - set(line))
    if orphans and not keys_from_color:
        color = {n: p for n, p in color.items() if n in line}
    elif orphans:
        raise ShotError(
            f"{root / 'color'}: frame {orphans[0]} has no line frame "
            f"({color[orphans[0]].name})"
        )
    labels = scan_frames(root / "labels") if (root / "labels").is_dir() else {}
    return Shot(
        root=root,
        line=line,
        color=color,
        meta=read_meta(root / SHOT_FILE),
        labels=labels,
    )
