"""JSON read from disk (project files, shot.json, output marks and reports,
weights' headers), which may hold anything.

Python's parser raises RecursionError, not ValueError, on arrays or objects
nested a few thousand deep (``[[[[...``), which every reader's ``except
ValueError`` let through as a traceback. Here it is one more ValueError, so
a reader catches (OSError, ValueError) and nothing else.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

from engine.imageio import pipe_or_device


def parse_json(text: str | bytes) -> Any:
    """``json.loads``; JSON nested too deep to parse raises ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deep to read") from None


def read_json(path: Path, *, encoding: str = "utf-8") -> Any:
    """A JSON file's content. Raises OSError when it cannot be read and
    ValueError when it is not JSON (bad text encoding and nesting too deep
    included); a named pipe or a device is refused with an OSError
    (reading one waits for a writer, forever)."""
    if pipe_or_device(path):
        raise OSError(errno.EINVAL, "not a file but a pipe or a device", str(path))
    return parse_json(path.read_text(encoding=encoding))
