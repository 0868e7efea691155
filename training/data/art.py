"""Which art files a shot may draw from: all, the training share or the held-out share.

The Lottie animations and the clip art are one fixed pool for every seed.
Seeds keep training shots and evaluation shots apart, but not the drawings
in them: without a split, a "held-out" shot animates art the model has
trained on many times. Each file is put on one side by a hash of its
collection and file name (`art_name`), so the split is the same on every
machine and wherever the collection is installed, does not depend on which
other files are present, and a file keeps its side when files are added.
Variants of one drawing go to one side: files of the same name (one Lottie
animation in two repositories' folders) and OpenMoji's skin-tone variants
(1F44B-1F3FB.svg is 1F44B.svg recoloured; the line art is the same).

A model trained with ``art="train"`` can be scored on ``art="heldout"``:
drawings it has never seen. The procedural source draws no files; its seeds
keep it apart.
"""

from __future__ import annotations

import hashlib
import re

ART_POOLS = ("all", "train", "heldout")
HELD_OUT_SHARE = 0.2  # of each collection's drawings (variants count once)
# Names the split (salts the hash). Changing it makes another split: every
# held-out score then changes, and runs trained on the old one are not held
# out from the new one.
SPLIT = "cadmium-art"
# OpenMoji code points that only recolour a drawing: skin tones and the
# emoji presentation selector.
_RECOLOURS = re.compile(r"-(1F3F[B-F]|FE0F)(?=-|$)", re.IGNORECASE)


def art_name(collection: str, filename: str) -> str:
    """The name a file is split by: its collection and file name, without
    the parts that only recolour an OpenMoji drawing."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if collection == "openmoji":  # code points: 1f44b-1f3fb.SVG is 1F44B.svg
        code = re.sub(r"\.svg$", "", stem, flags=re.IGNORECASE).upper()
        stem = _RECOLOURS.sub("", code) + ".svg"
    return f"{collection}/{stem}"


def parse_art(text: str) -> str:
    """A validated art pool name."""
    if text not in ART_POOLS:
        raise ValueError(f"unknown art pool {text!r} (choose from {', '.join(ART_POOLS)})")
    return text


def held_out(name: str) -> bool:
    """Whether the file ``name`` (an `art_name`) is one of the held-out
    drawings."""
    digest = hashlib.sha256(f"{SPLIT}/{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < HELD_OUT_SHARE * 2**32


def in_pool(name: str, art: str) -> bool:
    """Whether a shot drawing from ``art`` may use the file ``name`` (an
    `art_name`)."""
    if parse_art(art) == "all":
        return True
    return held_out(name) == (art == "heldout")


def art_seen(recorded: str | None, run_config: dict) -> str:
    """The art a weights file has seen, from its record: ``recorded`` (its
    "art_seen", written since the split: a run on "train" that started from
    weights which saw all the art has seen all of it), else its run's
    config; runs from before the split drew all the art."""
    return recorded or run_config.get("art", "all")
