"""End-to-end colorize speed: per-stage ms, frames per second, peak memory.

Makes a 100-frame procedural shot (keys every 12 frames, from its ground
truth) at 1920x1080 and 3840x2160 under /tmp (cached between runs), then
runs `cadmium colorize-shot` on it in a child process and reads the
per-frame timings from report.json.

    python benchmarks/bench_colorize.py [--frames 100] [--sizes hd,4k]
        [--device auto|cpu|cuda] [--matcher auto|learned|assignment|overlap]
        [--loader-threads N] [--writers N]

"Second half" is the rate once the run is going (model loaded, keys read,
the first batches through): what a long shot costs per frame.

Peak memory must not grow with the shot's length: compare
``--sizes 360p --frames 100`` with ``--sizes 360p --frames 1000``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine.imageio import write_png
from training.data.procedural import generate_procedural

SIZES = {"360p": (640, 360), "hd": (1920, 1080), "4k": (3840, 2160)}
KEY_EVERY = 12
SEED = 20261122


def make_shot(folder: Path, size: tuple[int, int], frames: int) -> Path:
    done = folder / ".complete"
    if done.exists():
        return folder
    shot = generate_procedural(seed=SEED, index=0, size=size, frames=frames)
    for i, (line, color) in enumerate(zip(shot.line, shot.color, strict=True)):
        number = i + 1
        write_png(folder / "line" / f"{number:04d}.png", line)
        if i % KEY_EVERY == 0:
            write_png(folder / "color" / f"{number:04d}.png", color)
    done.touch()
    return folder


def run(
    shot: Path, out: Path, device: str, matcher: str, loaders: int, writers: int
) -> tuple[float, float, list[float]]:
    """Wall seconds, peak RSS (MiB) and the seconds at which each frame was
    handed to the writers, of one colorize run."""
    # The run is the command line's own; a wrapper around StagedOutput.add
    # records when each frame is done, which splits the wall time into
    # start-up (model, CUDA, keys, the first batch) and the steady rate.
    # Loader and writer threads other than the engine's defaults (0) are
    # set on the classes, for trying other counts on a many-core machine.
    code = (
        "import functools, resource, sys, time\n"
        "from engine.cli import main\n"
        "from engine.facade import ShotEngine\n"
        "from engine.outputs import StagedOutput\n"
        "loaders, writers = int(sys.argv.pop(1)), int(sys.argv.pop(1))\n"
        "if loaders:\n"
        "    ShotEngine.__init__ = functools.partialmethod(\n"
        "        ShotEngine.__init__, loader_threads=loaders)\n"
        "if writers:\n"
        "    StagedOutput.WRITERS = writers\n"
        "done = []\n"
        "add = StagedOutput.add\n"
        "def timed_add(*args, **kwargs):\n"
        "    add(*args, **kwargs)\n"
        "    done.append(time.perf_counter() - t)\n"
        "StagedOutput.add = timed_add\n"
        "t = time.perf_counter()\n"
        "rc = main(sys.argv[1:])\n"
        "wall = time.perf_counter() - t\n"
        # VmHWM is this program's own peak. ru_maxrss also counts, on Linux,
        # what the parent held when it forked this process (the benchmark
        # holding the shot it has just made: 2.1 GB read at HD for 1.2 GB).
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "try:\n"
        "    with open('/proc/self/status') as status:\n"
        "        hwm = [l for l in status if l.startswith('VmHWM:')]\n"
        "    peak = int(hwm[0].split()[1]) / 1024\n"
        "except (OSError, IndexError, ValueError):\n"
        "    pass\n"
        "print(f'BENCH {wall} {peak}', *done)\n"
        "sys.exit(rc)\n"
    )
    args = [
        str(loaders),
        str(writers),
        "colorize-shot",
        str(shot),
        "--out",
        str(out),
        "--device",
        device,
        "--matcher",
        matcher,
        "--quiet",
    ]
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr.strip())
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH"))
    _, wall, peak, *done = line.split()
    return float(wall), float(peak), [float(x) for x in done]


def steady_rate(done: list[float]) -> tuple[float, float]:
    """Seconds to the first frame done, and frames per second over the
    second half of the shot (start-up and the first batches left out)."""
    half = len(done) // 2
    if len(done) - half < 2:
        return (done[0] if done else 0.0), 0.0
    return done[0], (len(done) - 1 - half) / max(done[-1] - done[half], 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--sizes", default="hd,4k")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--matcher", default="auto")
    parser.add_argument("--root", type=Path, default=Path("/tmp/cadmium-bench"))
    parser.add_argument(
        "--loader-threads", type=int, default=0, help="default: the engine's"
    )
    parser.add_argument("--writers", type=int, default=0, help="default: the engine's")
    args = parser.parse_args()
    for name in args.sizes.split(","):
        size = SIZES[name]
        started = time.perf_counter()
        shot = make_shot(args.root / f"shot_{name}_{args.frames}", size, args.frames)
        made = time.perf_counter() - started
        out = args.root / f"out_{name}"
        wall, peak, done = run(
            shot, out, args.device, args.matcher, args.loader_threads, args.writers
        )
        first, steady = steady_rate(done)
        report = json.loads((out / "report.json").read_text())
        stages: dict[str, list[float]] = {}
        for frame in report["frames"]:
            for stage, ms in frame["timings_ms"].items():
                stages.setdefault(stage, []).append(ms)
        regions = statistics.mean(f["regions"] for f in report["frames"])
        print(
            f"\n{name.upper()} {size[0]}x{size[1]}, {args.frames} frames, "
            f"~{regions:.0f} regions/frame, matcher {report['matcher']}, "
            f"device {args.device} (shot made in {made:.0f} s)"
        )
        for stage, values in stages.items():
            print(
                f"  {stage:<16} median {statistics.median(values):8.1f} ms  "
                f"p90 {float(np.percentile(values, 90)):8.1f} ms"
            )
        print(
            f"  end to end       {wall:.1f} s = {args.frames / wall:.2f} frames/s "
            f"({1000 * wall / args.frames:.0f} ms/frame), peak RSS {peak:.0f} MiB"
        )
        print(
            f"  first frame done after {first:.1f} s; second half of the shot "
            f"{steady:.2f} frames/s ({1000 / max(steady, 1e-9):.0f} ms/frame)"
        )


if __name__ == "__main__":
    main()
