"""The ``cadmium`` console script.

``cadmium`` alone, or ``cadmium open [SHOT]``, starts the desktop application;
every other command is the engine's command line, which never loads Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine import cli as engine_cli

EXIT_NO_DISPLAY = 2


def add_open_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser(
        "open",
        help="open the desktop application (the default)",
        description="Open the desktop application, and SHOT in it when given.",
    )
    command.add_argument(
        "shot", type=Path, nargs="?", metavar="SHOT", help="shot folder or project"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = engine_cli.build_parser(add_open_command)
    parser.epilog = "With no command, cadmium opens the desktop application."
    return parser


def missing_display(
    environ: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> str | None:
    """Why no window can be shown, or None. On Linux Qt aborts the process
    (with a page of its own messages) when it finds no display, so it is
    checked before Qt starts."""
    if not platform.startswith("linux"):
        return None
    if any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY")):
        return None
    if environ.get("QT_QPA_PLATFORM"):
        return None  # the user chose a platform (offscreen, vnc, eglfs...)
    return (
        "no display to open the application on "
        "(neither DISPLAY nor WAYLAND_DISPLAY is set)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in (None, "open"):
        return engine_cli.run(parser, args)
    problem = missing_display()
    if problem:
        print(f"cadmium: {problem}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    from cadmium_app.main import run_app

    shot = getattr(args, "shot", None)
    return run_app(None if shot is None else str(shot))


if __name__ == "__main__":
    raise SystemExit(main())
