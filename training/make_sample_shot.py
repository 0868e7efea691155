"""Make the sample shot bundled in resources/sample_shot.

A procedural character shot from the training-data generator (original
work, no third-party art), with line art for every frame and painted keys
on frames 1, 12 and 24 only: what an animator hands to Cadmium.

    python -m training.make_sample_shot [--out resources/sample_shot]
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import replace
from pathlib import Path

from engine.imageio import atomic_write_bytes, write_png
from training.data.procedural import generate_procedural
from training.data.realism import clean_style
from training.data.shot import frame_name

SEED, INDEX, SIZE, FRAMES = 7, 1, (960, 540), 24
KEYS = (1, 12, 24)

README = f"""# Sample shot

{FRAMES} frames of line art at {SIZE[0]}x{SIZE[1]} and painted keys on frames
{", ".join(map(str, KEYS))}, made by the training-data generator's procedural
source (seed {SEED}, shot {INDEX}): `python -m training.make_sample_shot`.
Original procedural art, no third-party material; it ships under the
project's licence.

Try it: `cadmium open resources/sample_shot`, or
`cadmium colorize-shot resources/sample_shot --out /tmp/sample_out`.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("resources/sample_shot"))
    args = parser.parse_args()
    # Antialiased ink with pressure, a little boil and a few small gaps, but
    # no scan grain: grain would make the bundled PNGs ten times larger.
    style = replace(
        clean_style(SIZE), pressure=0.3, jitter=0.5, gap_rate=1.5, gap_size=2.5
    )
    shot = generate_procedural(
        seed=SEED, index=INDEX, size=SIZE, frames=FRAMES, style=style
    )
    shutil.rmtree(args.out, ignore_errors=True)
    for i, (line, color) in enumerate(zip(shot.line, shot.color, strict=True)):
        number = i + 1
        write_png(args.out / "line" / frame_name(number), line, compression=9)
        if number in KEYS:
            write_png(args.out / "color" / frame_name(number), color, compression=9)
    meta = {
        "fps": shot.fps,
        "keys": list(KEYS),
        "palette": [entry.to_json() for entry in shot.palette],
        # The generator's gaps reach 5-6 px on long lines: at 4 the hill leaks
        # into the background on some frames; 6 closes them all (8 adds none).
        "settings": {"gap": 6},
    }
    text = json.dumps(meta, indent=2) + "\n"
    atomic_write_bytes(args.out / "shot.json", text.encode())
    atomic_write_bytes(args.out / "README.md", README.encode())
    print(f"wrote {FRAMES} frames, keys {KEYS} -> {args.out}")


if __name__ == "__main__":
    main()
