"""The networks, one per file: the line-art CNN and the region graph matcher.

The full model with its loading and caching is `engine.learned`.
"""

from __future__ import annotations

from engine.model.backbone import Backbone
from engine.model.conf import merge_conf
from engine.model.matcher import GraphMatcher

__all__ = ["Backbone", "GraphMatcher", "merge_conf"]
