"""Which art files a shot may draw from: all, the training share or the held-out share.

The Lottie animations and the clip art are one fixed pool for every seed.
Seeds keep training shots and evaluation shots apart, but not the drawings
in them: without a split, a "held-out" shot animates art the model has
trained on many times. Each file is put on one side by a hash of its name
(relative to its collection), so the split is the same on every machine,
does not depend on which other files are present, and a file keeps its side
when files are added.

A model trained with ``art="train"`` can be scored on ``art="heldout"``:
drawings it has never seen. The procedural source draws no files; its seeds
keep it apart.
"""

from __future__ import annotations

import hashlib

ART_POOLS = ("all", "train", "heldout")
HELD_OUT_SHARE = 0.2  # of the files of each collection, by name hash


def parse_art(text: str) -> str:
    """A validated art pool name."""
    if text not in ART_POOLS:
        raise ValueError(f"unknown art pool {text!r} (choose from {', '.join(ART_POOLS)})")
    return text


def held_out(name: str) -> bool:
    """Whether the file ``name`` (collection-relative, with / separators) is
    one of the held-out drawings."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") < HELD_OUT_SHARE * 2**32


def in_pool(name: str, art: str) -> bool:
    """Whether a shot drawing from ``art`` may use the file ``name``."""
    if parse_art(art) == "all":
        return True
    return held_out(name) == (art == "heldout")
