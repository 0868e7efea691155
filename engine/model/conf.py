"""Network configurations: packaged defaults merged with the user's settings."""

from __future__ import annotations

import copy
from typing import Any


def merge_conf(
    default: dict[str, Any], conf: dict[str, Any] | None, owner: str
) -> dict[str, Any]:
    """``conf`` over a deep copy of ``default``; nested dicts merge key by key.

    An empty dict in the defaults stands for a sub-network's configuration:
    it is taken as given and checked by that sub-network's own defaults.

    A key the defaults do not know is a mistake (a typo, or a config written
    for another version of the network) and raises ValueError naming it, so
    a setting is never silently ignored.
    """
    merged = copy.deepcopy(default)
    for key, value in (conf or {}).items():
        if key not in default:
            raise ValueError(f"{owner}: unknown configuration key {key!r}")
        if isinstance(default[key], dict) and default[key]:
            if not isinstance(value, dict):
                raise ValueError(f"{owner}: configuration key {key!r} takes a dict")
            merged[key] = merge_conf(default[key], value, f"{owner}.{key}")
        elif isinstance(default[key], dict) and not isinstance(value, dict):
            raise ValueError(f"{owner}: configuration key {key!r} takes a dict")
        else:
            merged[key] = copy.deepcopy(value)
    return merged
