"""The ``cadmium`` console script's application side: ``cadmium`` alone and
``cadmium open [SHOT]``, as a user at a shell meets them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cadmium_app.cli import missing_display, x_display_problem

Completed = subprocess.CompletedProcess[str]


def cadmium_env() -> dict[str, str]:
    """The environment without any display or chosen Qt platform."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }


def cadmium_without_display(*args: str) -> Completed:
    return subprocess.run(
        [sys.executable, "-m", "cadmium_app.cli", *args],
        capture_output=True,
        text=True,
        env=cadmium_env(),
        timeout=120,
    )


def test_help_lists_open_and_says_what_no_command_does() -> None:
    result = cadmium_without_display("--help")
    assert result.returncode == 0
    assert "open" in result.stdout.split("positional arguments")[0]
    assert "open the desktop application" in result.stdout
    assert "With no command, cadmium opens the desktop application." in result.stdout


def test_open_has_its_own_help_and_starts_nothing() -> None:
    result = cadmium_without_display("open", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: cadmium open [-h] [SHOT]")
    assert result.stderr == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland")
@pytest.mark.parametrize("args", [(), ("open",), ("open", "shot"), ("-v", "open", "x")])
def test_no_display_is_one_line_and_status_2(args: tuple[str, ...]) -> None:
    result = cadmium_without_display(*args)
    assert result.returncode == 2
    assert result.stderr == (
        "cadmium: no display to open the application on "
        "(neither DISPLAY nor WAYLAND_DISPLAY is set)\n"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11")
def test_an_unreachable_x_display_is_one_line_and_status_2() -> None:
    if x_display_problem(":4242") is None:
        pytest.skip("no libxcb here, or an X server answers on :4242")
    # No server on display 4242: Qt would abort with a page of messages.
    result = subprocess.run(
        [sys.executable, "-m", "cadmium_app.cli", "open"],
        capture_output=True,
        text=True,
        env={**cadmium_env(), "DISPLAY": ":4242"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "cadmium: cannot reach the display DISPLAY=:4242 "
        "(no X server there, or this user may not use it)\n"
    )


def test_a_display_or_a_chosen_qt_platform_is_enough() -> None:
    assert missing_display({}, "linux") is not None
    assert missing_display({"DISPLAY": ":0"}, "linux", lambda display: None) is None
    assert missing_display({"DISPLAY": ":0"}, "linux", lambda d: f"{d} no") == ":0 no"
    assert missing_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert missing_display({}, "darwin") is None
    assert missing_display({}, "win32") is None


def test_ctrl_c_closes_the_window_without_a_traceback(tmp_path: Path) -> None:
    """As the README says to stop the first command: Ctrl+C in the terminal
    closes the window (nothing to save here) and the command ends cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cadmium_app.cli", "open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **cadmium_env(),
            "QT_QPA_PLATFORM": "offscreen",
            "CADMIUM_SETTINGS": str(tmp_path / "settings.json"),
        },
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        said = ""
        while "window open" not in said and process.poll() is None:
            said += process.stderr.readline()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


CTRL_C_BEFORE_THE_LOOP = """
import os, signal, sys
from PySide6.QtWidgets import QApplication

from cadmium_app.main import run_app

app = QApplication(sys.argv[:1])
start_loop = QApplication.exec


def ctrl_c_then_loop():
    os.kill(os.getpid(), signal.SIGINT)  # as the window shows, loop not running
    return start_loop()


app.exec = ctrl_c_then_loop
sys.exit(run_app(None))
"""


def test_ctrl_c_before_the_event_loop_runs_still_closes_the_window(
    tmp_path: Path,
) -> None:
    """A Ctrl+C in the moment between the window showing and Qt's loop
    starting (a busy machine) closed the window with no loop to end: the
    command hung. The close now waits for the loop."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_BEFORE_THE_LOOP)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **cadmium_env(),
            "QT_QPA_PLATFORM": "offscreen",
            "CADMIUM_SETTINGS": str(tmp_path / "settings.json"),
        },
    )
    assert done.returncode == 0, done.stderr
    assert "Ctrl+C: closing the window" in done.stderr
