"""Output folders of a shot, as shared/docs/shot-format.md contracts them:
``color/``, ``composite/`` (and, from the application, ``line/``) with the
line frames' names, and ``report.json``.

Every writer stages its files inside the output folder and swaps them into
place only when the whole shot succeeded, so a failure or a cancel leaves
the previous outputs as they were.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from engine.errors import CadmiumError
from engine.fills import FillMap, color_layer, composite
from engine.imageio import (
    atomic_write_bytes,
    resolved,
    same_path,
    to_rgba8,
    write_png,
)
from engine.jsonfile import read_json
from engine.lineart import ink_channels, to_8bit
from engine.matching import Frame
from engine.palette import Palette
from engine.regions import Regions
from engine.shot import Shot

LAYERS = ("color", "line", "composite")
REPORT = "report.json"
# Left in every output folder Cadmium publishes, naming the shot the outputs
# came from: a folder holding color/ or line/ without it (or report.json) is
# someone's shot, and one with another shot's outputs may be a shot in use
# (the application's exports open as shots), so neither is replaced.
MARK = ".cadmium-output"


def _outputs_shot(folder: Path) -> Path | None:
    """The shot whose outputs ``folder`` holds, as its mark or report.json
    name it, when that shot is a folder on this machine; None when neither
    names one that is (a shot since moved, or named from another machine's
    mount of a shared disk, is not held against the folder)."""
    for name in (MARK, REPORT):
        try:
            shot = read_json(folder / name)["shot"]
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if isinstance(shot, str) and Path(shot).is_absolute() and Path(shot).is_dir():
            return Path(shot)
    return None


def _is_cadmium_report(path: Path) -> bool:
    """Whether ``path`` reads as a report.json Cadmium wrote: an object
    naming the shot and listing its frames."""
    try:
        document = read_json(path)
    except (OSError, ValueError):
        return False
    return (
        isinstance(document, dict)
        and isinstance(document.get("shot"), str)
        and isinstance(document.get("frames"), list)
    )


def check_out_folder(shot: Shot, out: str | Path) -> Path:
    """The resolved output folder: never the shot folder, inside it, or a
    folder whose outputs would replace it; never a folder holding work that
    Cadmium did not write (another shot's painted keys, say)."""
    root = shot.root.resolve()
    target = resolved(Path(out))
    if target.is_relative_to(root):
        raise CadmiumError(f"{out}: the output folder must be outside the shot folder")
    for name in (*LAYERS, REPORT):
        if root.is_relative_to(target / name):
            raise CadmiumError(
                f"{out}: its {name} would replace the shot folder {shot.root}"
            )
    if target.exists() and not target.is_dir():
        raise CadmiumError(f"{out}: exists and is not a folder")
    # Outputs from before folders were marked are known by their report
    # (colorize-shot always wrote one). Anything else a run would replace (a
    # report.json of another tool's, a composite/ folder alone) may be
    # someone's work: the folder is refused, and it is kept.
    ours = (target / MARK).exists() or _is_cadmium_report(target / REPORT)
    foreign = [n for n in (*LAYERS, "shot.json", REPORT) if (target / n).exists()]
    if foreign and not ours:
        what = f"a {foreign[0]}" if "." in foreign[0] else f"a {foreign[0]}/ folder"
        raise CadmiumError(
            f"{out}: holds {what} that Cadmium did not write (a shot, or another "
            "tool's work?); choose an empty folder or an earlier output folder"
        )
    other = _outputs_shot(target) if foreign else None
    if other is not None and not same_path(other, root):
        raise CadmiumError(
            f"{out}: holds the outputs of another shot ({other}); choose another "
            f"folder (or delete {out}/{MARK} to let this shot's replace them)"
        )
    return target


def _cannot_write(where: Path, exc: OSError) -> CadmiumError:
    """An output-side OSError as the one-line error the user sees: it names
    the file that failed, or ``where`` (the output folder) when that file is
    in our hidden staging folder, a name the user never gave."""
    what = Path(exc.filename) if exc.filename else where
    if any(part.startswith(STAGING_PREFIX) for part in what.parts):
        what = where
    return CadmiumError(f"{what}: cannot write ({exc.strerror or exc})")


def line_rgba(image: np.ndarray) -> np.ndarray:
    """The line art as a straight-alpha RGBA8 layer: each line pixel's own
    colour at its ink as alpha, so that laid over a fill it gives what
    `engine.fills.composite` gives (no halo), and over nothing the line alone.
    Line art on a transparent background keeps its own alpha."""
    rgba = to_rgba8(to_8bit(image))
    if rgba[:, :, 3].min() < 255:
        return rgba
    ink = ink_channels(image)[0]
    # rgb = c * k + (1 - k)  =>  c = (rgb - (1 - k)) / k, in 0..255 integers.
    k = np.maximum(ink.astype(np.int32), 1)[:, :, None]
    own = (rgba[:, :, :3].astype(np.int32) - (255 - k)) * 255 // k
    out = np.empty_like(rgba)
    out[:, :, :3] = np.clip(own, 0, 255).astype(np.uint8)
    out[:, :, 3] = ink
    return out


def write_frame_layers(
    staging: Path,
    name: str,
    frame: Frame,
    fills: FillMap,
    palette: Palette,
    layers: Iterable[str] = ("color", "composite"),
) -> None:
    """One frame's layers into ``staging/<layer>/<name>``."""
    layers = tuple(layers)
    color = color_layer(frame.regions, fills, palette)
    if "color" in layers:
        write_png(staging / "color" / name, color)
    if "line" in layers:
        write_png(staging / "line" / name, line_rgba(frame.image))
    if "composite" in layers:
        image = composite(
            frame.image, frame.lineart, frame.regions, fills, palette, color=color
        )
        write_png(staging / "composite" / name, image)


def frame_report(
    *,
    number: int,
    name: str,
    regions: Regions,
    fills: FillMap,
    palette: Palette,
    **extra: Any,
) -> dict[str, Any]:
    """A frame's entry in report.json: its regions, the unpainted count (and
    how many of them are to paint: not left so on purpose) and
    every flagged region with its position, size, confidence, style and the
    styles propagation ranked next ("alternatives", most likely first)."""
    table = regions.table
    flagged = []
    for i in np.flatnonzero(fills.flagged).tolist():
        style = int(fills.style[i])
        flagged.append(
            {
                "region": i,
                "centroid": [round(float(v), 1) for v in table.centroid[i]],
                "area": int(table.area[i]),
                "confidence": round(float(fills.confidence[i]), 3),
                "style": palette[style].name if style >= 0 else None,
                "alternatives": [
                    palette[a].name for a in fills.guesses(i) if a < len(palette)
                ],
            }
        )
    return {
        "frame": number,
        "file": name,
        "regions": regions.count,
        "unpainted": int((~fills.painted).sum()),
        # Of those, the regions not left unpainted on purpose (Unpaint).
        "to_paint": int(fills.needs_paint.sum()),
        "flagged": flagged,
        **extra,
    }


STAGING_PREFIX = ".cadmium-staging-"
# The note a Ctrl-C or SIGTERM carries when it came while a run put its
# outputs in place: it is delivered once they all are (`_signals_deferred`),
# so that run is done, not "nothing was written".
WRITTEN_BEFORE_STOP = "the outputs were written before it stopped"
STALE_SECONDS = 24 * 3600


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap check elsewhere: never delete another's work
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_staging(out_dir: Path) -> Path:
    """A fresh staging folder's path in ``out_dir`` (not created yet).

    Its name carries this host and process id, so staging folders that a
    killed run left behind (hidden, but possibly gigabytes) are recognised
    and removed here: this host's whose process is gone, and anyone's not
    touched for a day (a render farm may share the output folder).
    """
    host = socket.gethostname().replace("-", "_") or "host"
    for entry in out_dir.glob(STAGING_PREFIX + "*"):
        parts = entry.name[len(STAGING_PREFIX) :].split("-")
        try:
            stale = time.time() - entry.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
            pid = int(parts[1])
            stale = stale or (pid != os.getpid() and not _alive(pid))
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
    return out_dir / f"{STAGING_PREFIX}{host}-{os.getpid()}-{time.time_ns()}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def restore_set_aside(out_dir: Path) -> None:
    """Finish what a run killed while swapping its outputs in left: when a
    previous output is still set aside (``.color.old``) with nothing in its
    place, the swap was cut short, and every set-aside output goes back
    (the previous outputs, whole); when each has its new one in place, the
    swap was done and the set-aside ones go."""
    with _publishing(out_dir):
        set_aside = [
            name for name in (*LAYERS, REPORT) if _present(out_dir / f".{name}.old")
        ]
        cut_short = any(not _present(out_dir / name) for name in set_aside)
        for name in set_aside:
            old, target = out_dir / f".{name}.old", out_dir / name
            with contextlib.suppress(OSError):
                if cut_short:
                    if _present(target):
                        _remove(target)
                    old.rename(target)
                else:
                    _remove(old)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def publish(staging: Path, out_dir: Path, names: Iterable[str], *, shot: Path) -> None:
    """Swap staged outputs of ``shot`` into ``out_dir``, replacing a previous
    run's: all of them, or none when a move fails (the previous ones are put
    back)."""
    with _publishing(out_dir):
        # Another run may have published another shot here since this one
        # checked the folder at its start.
        other = _outputs_shot(out_dir)
        if other is not None and not same_path(other, shot):
            raise CadmiumError(
                f"{out_dir}: took the outputs of another shot ({other}) while "
                "this run went on; nothing was written"
            )
        _swap_in(staging, out_dir, list(names), shot)


@contextlib.contextmanager
def _publishing(out_dir: Path) -> Iterator[None]:
    """One publish at a time into ``out_dir``, across processes: a lock on
    the folder itself (none where folders cannot be locked: Windows)."""
    try:
        import fcntl

        folder = os.open(out_dir, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # and the lock with it


def _swap_in(staging: Path, out_dir: Path, names: list[str], shot: Path) -> None:
    set_aside: list[str] = []  # previous outputs moved to .<name>.old
    placed: list[str] = []
    try:
        mark = {"written_by": "Cadmium", "shot": str(shot.resolve())}
        atomic_write_bytes(out_dir / MARK, (json.dumps(mark) + "\n").encode())
        for name in names:
            target, old = out_dir / name, out_dir / f".{name}.old"
            _remove(old)  # left by a run killed while swapping
            if target.exists() or target.is_symlink():
                target.rename(old)
                set_aside.append(name)
        for name in names:
            (staging / name).rename(out_dir / name)
            placed.append(name)
    except BaseException as exc:
        for name in reversed(placed):
            with contextlib.suppress(OSError):
                (out_dir / name).rename(staging / name)
        for name in reversed(set_aside):
            with contextlib.suppress(OSError):
                (out_dir / f".{name}.old").rename(out_dir / name)
        if not isinstance(exc, OSError):
            raise
        reason = exc.strerror or str(exc)
        if exc.filename and STAGING_PREFIX not in str(exc.filename):
            reason = f"{exc.filename}: {reason}"  # one of the user's to see to
            parts = Path(exc.filename).parts
            if any(p.startswith(".") and p.endswith(".old") for p in parts):
                reason += " (an earlier run's outputs, set aside: remove them)"
        raise CadmiumError(
            f"{out_dir}: could not put the outputs in place ({reason}); "
            "the previous ones are kept"
        ) from None
    for name in set_aside:
        with contextlib.suppress(OSError):
            _remove(out_dir / f".{name}.old")


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (they are delivered
    at its end), so an interrupted run never leaves outputs half swapped.
    Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda n, _f: caught.append(n)) for s in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        for number in caught[:1]:
            signal.raise_signal(number)


class StagedOutput:
    """Frames' layers written into a staging folder inside the output folder
    while the work goes on, and swapped into place together by `publish`.

        with StagedOutput(shot, out, layers=("color", "composite")) as staged:
            for ...:
                staged.add(number, frame, fills, palette, keys_used=[1])
            staged.publish(report={"keys": [1]})

    PNGs are encoded on writer threads (zlib releases the GIL): two, or
    half the cores up to eight. Writing two PNGs a frame is the slowest
    stage once matching runs on a GPU: on a 16-core machine with an H100,
    HD went from 10 to 17 frames a second with 8 writers instead of 4
    (README, "Speed and memory"). The frames waiting for them are bounded
    (four HD frames' worth, at least one per thread), so a long shot never
    piles up in memory, and a writer's error surfaces at the next `add`.
    Leaving the block without `publish` (an error, a cancel) removes the
    staging folder and leaves the output folder as it was.
    """

    WRITERS = max(2, min(8, (os.cpu_count() or 2) // 2))

    def __init__(
        self,
        shot: Shot,
        out: str | Path,
        *,
        layers: Iterable[str] = ("color", "composite"),
    ) -> None:
        self.layers = tuple(layers)
        unknown = set(self.layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer {sorted(unknown)[0]!r}")
        self.shot = shot
        self.out_dir = check_out_folder(shot, out)
        # A folder made here and never published to is removed again: a
        # cancelled run leaves nothing behind.
        self._made_out_dir = not self.out_dir.exists()
        self._published = False
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            restore_set_aside(self.out_dir)
            self.staging = new_staging(self.out_dir)
        except OSError as exc:
            raise _cannot_write(self.out_dir, exc) from None
        try:
            for layer in self.layers:
                (self.staging / layer).mkdir(parents=True)
        except OSError as exc:
            self._remove_unpublished()
            raise _cannot_write(self.out_dir, exc) from None
        # report.json entries by frame number.
        self.frames: dict[int, dict[str, Any]] = {}
        self._pending: list[Future[None]] = []
        self._writer = ThreadPoolExecutor(
            max_workers=self.WRITERS, thread_name_prefix="cadmium-write"
        )

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None and self._published:
            error.add_note(WRITTEN_BEFORE_STOP)
        self.close()

    def add(
        self,
        number: int,
        frame: Frame,
        fills: FillMap,
        palette: Palette,
        *,
        timings_ms: Mapping[str, float] | None = None,
        **report: Any,
    ) -> None:
        """Queue frame ``number``'s layers; its report.json entry gets
        ``report`` besides the regions, flags and unpainted count. With
        ``timings_ms`` the entry also gets those stage times plus
        ``queue_write_ms`` (queueing, waiting for a writer included)."""
        name = self.shot.output_name(number)
        entry = self.frames[number] = frame_report(
            number=number,
            name=name,
            regions=frame.regions,
            fills=fills,
            palette=palette,
            **report,
        )
        started = time.perf_counter()
        self._pending.append(
            self._writer.submit(
                write_frame_layers,
                self.staging,
                name,
                frame,
                fills,
                palette,
                self.layers,
            )
        )
        height, width = frame.regions.shape
        most = max(self.WRITERS, min(4, 4 * 1920 * 1080 // max(width * height, 1)))
        while len(self._pending) > most:
            self._written(self._pending.pop(0))
        if timings_ms is not None:
            queued = {"queue_write_ms": (time.perf_counter() - started) * 1000}
            entry["timings_ms"] = {
                k: round(v, 2) for k, v in {**timings_ms, **queued}.items()
            }

    def publish(self, report: dict[str, Any] | None = None) -> Path:
        """Wait for the writers, write report.json (the shot, ``report`` and
        every frame's entry, in frame order) when given, and swap it all in."""
        self.wait()
        names = list(self.layers)
        if report is not None:
            document = {
                "shot": str(self.shot.root.resolve()),
                **report,
                "frames": [self.frames[n] for n in sorted(self.frames)],
            }
            try:
                atomic_write_bytes(
                    self.staging / REPORT,
                    (json.dumps(document, indent=1) + "\n").encode(),
                )
            except OSError as exc:
                raise _cannot_write(self.out_dir, exc) from None
            names.append(REPORT)
        with _signals_deferred():
            publish(self.staging, self.out_dir, names, shot=self.shot.root)
            self._published = True
        return self.out_dir

    def wait(self) -> None:
        """Wait until every queued frame is written (raises its error)."""
        for future in self._pending:
            self._written(future)
        self._pending.clear()

    def _written(self, future: Future[None]) -> None:
        """Wait for one frame's files; a write error as a one-line error."""
        try:
            future.result()
        except OSError as exc:
            raise _cannot_write(self.out_dir, exc) from None

    def close(self) -> None:
        """Stop the writers and remove what is left of the staging folder."""
        for future in self._pending:
            future.cancel()
        self._writer.shutdown(wait=True)
        self._remove_unpublished()

    def _remove_unpublished(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._made_out_dir and not self._published:
            with contextlib.suppress(OSError):
                # Only if nothing else is there: another run may have
                # published into the folder meanwhile, mark included.
                if set(os.listdir(self.out_dir)) <= {MARK}:
                    (self.out_dir / MARK).unlink(missing_ok=True)
                    self.out_dir.rmdir()
