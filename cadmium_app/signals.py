"""Signals sent from worker threads.

A worker may report after the window that was listening has closed; then
Qt raises "Signal source has been deleted", which only means nobody is left
to tell.

PySide6 6.12.0 leaks a reference to ``True`` on every ``emit`` and aborts
Python 3.11 after a few hundred emits; pyproject.toml keeps PySide6 below
6.12, and tests/app/test_views.py watches for the leak.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import SignalInstance


def emit_from_worker(signal: SignalInstance, *args: Any) -> bool:
    """``signal.emit(*args)``, or False (and nothing sent) when the receiving
    side was deleted meanwhile, as when the window closes under a job."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted"
        return False
    return True
