"""Contact sheet: a PNG grid of a shot's line, colour and label frames.

    python -m training.data.contact_sheet SHOT --out sheet.png [--frames 8]

Rows are line art (composited over a grey checkerboard, so transparent
backgrounds show), flat colours and labels (one arbitrary colour per
identity, the same colour in every frame; lines black).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from engine.errors import CadmiumError
from engine.imageio import read_image, to_rgba8, write_png
from engine.shot import open_shot
from training.data.__main__ import positive


def label_colors(labels: np.ndarray) -> np.ndarray:
    """RGB [H x W x 3]: a fixed pseudo-random colour per label, 0 black."""
    value = labels.astype(np.uint32)
    rgb = (
        np.stack(
            [
                (value * 2654435761) >> 24,
                (value * 40503 + 7919) >> 8,
                (value * 97 + 31) * 37,
            ],
            axis=-1,
        ).astype(np.uint32)
        & 0xFF
    )
    rgb = (rgb // 2 + 96).astype(np.uint8)
    rgb[labels == 0] = 0
    return rgb


def over_checker(image: np.ndarray, cell: int = 8) -> np.ndarray:
    rgba = to_rgba8(image).astype(np.float32) / 255.0
    h, w = rgba.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where(((yy // cell + xx // cell) % 2) == 0, 0.85, 0.7)[..., None]
    out = rgba[..., :3] * rgba[..., 3:] + board * (1.0 - rgba[..., 3:])
    return np.round(out * 255).astype(np.uint8)


def build_sheet(shot_dir: Path, frames: int = 8, thumb: int = 256) -> np.ndarray:
    shot = open_shot(shot_dir)
    numbers = shot.frames
    pick = np.unique(
        np.linspace(0, len(numbers) - 1, min(frames, len(numbers))).astype(int)
    )
    rows: list[list[np.ndarray]] = [[], [], []]
    for i in pick:
        n = numbers[i]
        tiles = [over_checker(read_image(shot.line[n]))]
        tiles.append(
            over_checker(read_image(shot.color[n])) if n in shot.color else None
        )
        tiles.append(
            label_colors(read_image(shot.labels[n])) if n in shot.labels else None
        )
        h, w = tiles[0].shape[:2]
        scale = thumb / max(h, w)
        size = (max(int(w * scale), 1), max(int(h * scale), 1))
        for row, tile in zip(rows, tiles, strict=True):
            if tile is None:
                tile = np.zeros_like(tiles[0])
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
            row.append(
                np.pad(
                    cv2.resize(tile, size, interpolation=interp),
                    ((2, 2), (2, 2), (0, 0)),
                    constant_values=40,
                )
            )
    return np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.data.contact_sheet",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("shot", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=positive, default=8)
    parser.add_argument("--thumb", type=positive, default=256, help="tile size in px")
    args = parser.parse_args(argv)
    try:
        sheet = build_sheet(args.shot, args.frames, args.thumb)
        write_png(args.out, sheet)
    except CadmiumError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = exc.filename or args.out
        print(f"error: {where}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
