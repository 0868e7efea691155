"""Cadmium's desktop application (PySide6), the only package that imports Qt.

Start it with ``cadmium`` or ``cadmium open SHOT``; see docs/app.md.
"""

from __future__ import annotations
