"""The ``cadmium`` console script.

``cadmium`` alone, or ``cadmium open SHOT``, starts the desktop application;
every other command is the engine's command line, which never loads Qt.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] == "open":
        from cadmium_app.main import run_app

        shot = args[1] if len(args) > 1 else None
        return run_app(shot)
    from engine.cli import main as engine_main

    return engine_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
