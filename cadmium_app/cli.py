"""The ``cadmium`` console script.

``cadmium`` alone, or ``cadmium open [SHOT]``, starts the desktop application;
every other command is the engine's command line, which never loads Qt.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

EXIT_NO_DISPLAY = 2
EXIT_INTERRUPTED = 130  # as the engine's command line says it


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
    from engine import cli as engine_cli

    parser = engine_cli.build_parser(add_open_command)
    parser.epilog = "With no command, cadmium opens the desktop application."
    return parser


def missing_display(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    x_problem: Callable[[str], str | None] | None = None,
) -> str | None:
    """Why no window can be shown, or None. On Linux Qt aborts the process
    (with a page of its own messages) when it finds no display, or cannot
    reach the X display it is given, so both are checked before Qt starts."""
    if not platform.startswith("linux"):
        return None
    if environ.get("QT_QPA_PLATFORM") or environ.get("WAYLAND_DISPLAY"):
        return None  # the user chose a platform (offscreen, vnc, eglfs...)
    display = environ.get("DISPLAY")
    if not display:
        return (
            "no display to open the application on "
            "(neither DISPLAY nor WAYLAND_DISPLAY is set)"
        )
    return (x_problem or x_display_problem)(display)


def x_display_problem(display: str) -> str | None:
    """Why the X display cannot be reached, or None. Asks libxcb, as Qt
    does; without libxcb it says nothing and leaves it to Qt."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL
    try:
        failed = xcb.xcb_connection_has_error(connection) != 0
    finally:
        xcb.xcb_disconnect(connection)
    if not failed:
        return None
    return (
        f"cannot reach the display DISPLAY={display} "
        "(no X server there, or this user may not use it)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    # The engine (torch, OpenCV) takes a second or more to import: Ctrl-C
    # then is one line too, not a traceback from inside an import.
    try:
        from engine import cli as engine_cli

        parser = build_parser()
    except KeyboardInterrupt:
        print("cadmium: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
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
