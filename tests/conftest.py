from __future__ import annotations

import sys
from pathlib import Path

# tests/drawing.py is shared by the test packages.
sys.path.insert(0, str(Path(__file__).parent))
