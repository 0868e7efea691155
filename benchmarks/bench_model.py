"""Speed and peak memory of the learned matcher at HD and 4K.

    python benchmarks/bench_model.py                 # CPU (and CUDA when present)
    python benchmarks/bench_model.py --sizes hd --devices cpu --threads 2

Sizes are WxH, or hd (1920x1080), 4k (3840x2160) or 360p.

Frames are procedural shots from the training-data generator (a character
on a set, drawn at the benchmark size), so region counts are realistic.
Stages, per frame unless noted:

    segment   engine segmentation (not the model; for scale)
    inputs    CNN channels, label grid, geometry, graph (numpy)
    encoder   CNN + per-region pooling + geometry MLP
    matcher   graph neural network for one key/target pair
    match     LearnedMatcher.match of two frames not yet cached
              (inputs + encoder for both, then the matcher)

Each size runs in a fresh process. Peak memory: CPU, the largest resident
set size seen (sampled every millisecond) during ``match`` above the size
before it; CUDA, torch.cuda.max_memory_allocated during ``match``.
Uses the shipped weights when present, else a freshly initialised model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPEATS = 5
NAMED_SIZES = {"360p": "640x360", "hd": "1920x1080", "4k": "3840x2160"}


def frame_size(text: str) -> str:
    """WxH for a size argument (WxH or a name); argparse's error otherwise."""
    text = NAMED_SIZES.get(text.lower(), text)
    try:
        w, h = (int(v) for v in text.split("x"))
    except ValueError:
        names = ", ".join(NAMED_SIZES)
        message = f"{text!r} is not WxH (such as 1920x1080) or one of {names}"
        raise argparse.ArgumentTypeError(message) from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"{text}: frames under 64 px a side")
    return f"{w}x{h}"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Samples the resident set size on a thread while the block runs."""

    def __enter__(self) -> PeakRss:
        self.base = _rss_mb()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.001)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def run_one(size: tuple[int, int], device: str, threads: int) -> dict[str, float]:
    import numpy as np
    import torch

    from engine.errors import ModelError
    from engine.features import collate, frame_inputs
    from engine.fills import FillMap
    from engine.learned import LearnedMatcher, MatchingModel, load_shipped_matcher
    from engine.lineart import ink_channels
    from engine.matching import Frame
    from engine.regions import segment_image
    from training.data.procedural import generate_procedural

    torch.set_num_threads(threads)
    try:
        matcher = load_shipped_matcher(device)
        weights = "shipped"
    except ModelError:
        matcher = LearnedMatcher(MatchingModel(), device=device)
        weights = "untrained"
    # A 2 x 2 mosaic of four shots: a busy frame, with about as many
    # regions as a crowd scene or a detailed character close-up.
    w, h = size
    shots = [generate_procedural(12345, i, (w // 2, h // 2), 4) for i in range(4)]

    def mosaic(frame: int) -> np.ndarray:
        # Shots come in several image modes; as grey ink on white they tile.
        tiles = [255 - ink_channels(shot.line[frame])[0] for shot in shots]
        return np.block([[tiles[0], tiles[1]], [tiles[2], tiles[3]]])

    lines = [mosaic(0), mosaic(-1)]

    def timed(fn, repeats: int = REPEATS) -> float:
        fn()  # warm-up
        times = []
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            fn()
            if device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - started) * 1000.0)
        return statistics.median(times)

    analysed = [segment_image(line, gap=2) for line in lines]
    frames = [
        Frame(i, line, *a)
        for i, (line, a) in enumerate(zip(lines, analysed, strict=True))
    ]
    fills = FillMap.empty(frames[0].regions.count)
    # Memory first, in a process that has not run the model yet, so the
    # allocator holds nothing back from earlier runs.
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        matcher.match(frames[0], fills, frames[1])
        peak_mb = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        with PeakRss() as rss:
            matcher.match(frames[0], fills, frames[1])
        peak_mb = rss.peak - rss.base

    seg_ms = timed(lambda: segment_image(lines[0], gap=2), 3)
    work_side = matcher.work_side
    inputs_ms = timed(lambda: frame_inputs(*analysed[0], work_side=work_side))
    data = collate([frame_inputs(*analysed[0], work_side=work_side)], matcher.device)

    def encode() -> None:
        with torch.inference_mode():
            matcher.model.encoder(data)

    encoder_ms = timed(encode)
    matcher_ms = timed(lambda: matcher.match(frames[0], fills, frames[1]))  # cached

    def cold_match() -> None:
        matcher.clear()
        matcher.match(frames[0], fills, frames[1])

    match_ms = timed(cold_match, 3)
    return {
        "regions": float(np.mean([f.regions.count for f in frames])),
        "segment_ms": seg_ms,
        "inputs_ms": inputs_ms,
        "encoder_ms": encoder_ms,
        "matcher_ms": matcher_ms,
        "match_ms": match_ms,
        "peak_mb": peak_mb,
        "weights": weights,
    }


def positive(text: str) -> int:
    """A whole number of 1 or more (argparse's error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1920x1080,3840x2160")
    parser.add_argument("--devices", default="auto", help="cpu,cuda or auto")
    parser.add_argument(
        "--threads", type=positive, default=2, help="CPU threads for torch"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        sizes = [frame_size(s) for s in args.sizes.split(",")]
    except argparse.ArgumentTypeError as exc:
        parser.error(f"--sizes: {exc}")
    if args.child:
        size_text, device = args.child.split(":")
        w, h = (int(v) for v in size_text.split("x"))
        sys.stdout.write(json.dumps(run_one((w, h), device, args.threads)) + "\n")
        return 0
    devices = args.devices.split(",")
    if devices == ["auto"]:
        import torch

        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    unknown = sorted(set(devices) - {"cpu", "cuda"})
    if unknown:
        parser.error(f"--devices: {', '.join(unknown)} (use cpu, cuda or auto)")
    if "cuda" in devices:
        import torch

        if not torch.cuda.is_available():
            parser.error("--devices: cuda: no CUDA GPU is available here")
    rows = []
    for device in devices:
        for size in sizes:
            out = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    f"--child={size}:{device}",
                    f"--threads={args.threads}",
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:  # its traceback's last line says why
                why = (out.stderr.strip().splitlines() or ["no output"])[-1]
                sys.stderr.write(f"bench_model: {device}, {size}: {why}\n")
                return 1
            result = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((device, size, result))
    sys.stdout.write(
        "| device | size | regions | segment ms | inputs ms | encoder ms | matcher ms "
        "| match ms (2 new frames) | peak MB |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    for device, size, r in rows:
        sys.stdout.write(
            f"| {device} ({r['weights']}) | {size} | {r['regions']:.0f} "
            f"| {r['segment_ms']:.0f} | {r['inputs_ms']:.0f} | {r['encoder_ms']:.0f} "
            f"| {r['matcher_ms']:.0f} "
            f"| {r['match_ms']:.0f} | {r['peak_mb']:.0f} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
