"""Application settings: the packaged defaults, then the user's overrides.

The defaults live in ``cadmium_app/defaults.json``, except those the engine
owns (gap closing, the review-flag threshold), which come from it so the
application and the command line agree. A user file (``$CADMIUM_SETTINGS``
or ``settings.json`` in the platform's config folder) may override any of them;
a key that is not a setting, a value of the wrong type or one out of its
range is an error that names it. Window geometry is not a setting: it lives
in ``QSettings``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from engine.facade import DEVICES, MATCHERS
from engine.gaps import DEFAULT_GAP, gap_problem
from engine.propagation import PropagationSettings

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True)
class AppSettings:
    matcher: str  # auto | learned | assignment | overlap
    device: str  # auto | cpu | cuda
    # Gap closing (px) when the shot's shot.json names none, for frames up to
    # 1280 px on their long side; larger frames in proportion (default_gap).
    gap: int
    flag_below: float  # confidence under which propagated regions are flagged
    autosave_seconds: int  # 0 turns autosave off
    autosave_dir: str  # "" = the platform's application data folder
    onion_opacity: float
    thumbnail_width: int
    frame_cache: int  # analysed frames kept in memory
    undo_limit: int


# Allowed values: a tuple of choices, or an inclusive (low, high) range where
# None is unbounded. The gap has the engine's own check.
_CHOICES: dict[str, tuple[str, ...]] = {"matcher": MATCHERS, "device": DEVICES}
_RANGES: dict[str, tuple[float, float | None]] = {
    "flag_below": (0, 1),
    "autosave_seconds": (0, 86400),  # a day; Qt's timer stops at 24.8 days
    "onion_opacity": (0, 1),
    "thumbnail_width": (16, 512),
    "frame_cache": (1, None),
    "undo_limit": (0, None),  # 0: no limit (Qt's undo stack)
}


def _value_problem(key: str, value: Any) -> str | None:
    """Why a value of the right type is still not allowed, or None."""
    if key == "gap":
        return gap_problem(value)
    if key in _CHOICES and value not in _CHOICES[key]:
        return f"use one of {', '.join(_CHOICES[key])}"
    if key in _RANGES:
        low, high = _RANGES[key]
        if high is None and not value >= low:  # NaN too
            return f"use a number of at least {low}"
        if high is not None and not low <= value <= high:
            return f"use a number from {low} to {high}"
    return None


def _check(values: dict[str, Any], origin: str) -> dict[str, Any]:
    known = {f.name: _TYPES[str(f.type)] for f in fields(AppSettings)}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{origin}: unknown setting {key!r}")
        wanted = known[key]
        ok = isinstance(value, wanted) and not (
            wanted is not bool and isinstance(value, bool)
        )
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ValueError(
                f"{origin}: setting {key!r} must be {wanted.__name__}, got {value!r}"
            )
        problem = _value_problem(key, value)
        if problem:
            raise ValueError(f"{origin}: setting {key!r} is {value!r}: {problem}")
    return {k: (float(v) if known[k] is float else v) for k, v in values.items()}


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: unreadable settings ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: settings must be a JSON object")
    return data


def default_settings() -> AppSettings:
    text = resources.files("cadmium_app").joinpath("defaults.json").read_text()
    engine = {"gap": DEFAULT_GAP, "flag_below": PropagationSettings().flag_below}
    return AppSettings(**engine, **_check(json.loads(text), "defaults.json"))


def load_settings(user_file: Path | None = None, **overrides: Any) -> AppSettings:
    """Defaults, then ``user_file`` (if it exists), then ``overrides``."""
    settings = default_settings()
    if user_file is not None and user_file.exists():
        settings = replace(settings, **_check(_read(user_file), str(user_file)))
    if overrides:
        settings = replace(settings, **_check(overrides, "overrides"))
    return settings
