"""Errors that reach the animator as one line of text.

Every failure caused by the input (a corrupt frame, a missing folder, frames
of different sizes) raises a `CadmiumError` whose message names the file and
the reason. The command line prints it and exits non-zero; the application
shows it in a message box. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CadmiumError(Exception):
    """A problem with the user's input, worded for the user."""


class ImageError(CadmiumError):
    """An image file could not be read or written."""


class ShotError(CadmiumError):
    """A shot folder is missing, empty or inconsistent."""


class ModelError(CadmiumError):
    """Model weights are missing, unreadable or do not fit the network."""


OUT_OF_MEMORY = "not enough memory for these frames (too large, or too many regions)"


def out_of_memory(exc: BaseException) -> bool:
    """An allocation that failed, however the library says it: numpy's
    MemoryError, OpenCV's "Insufficient memory", torch's allocator. Not a
    bug: the frames are too large for this machine, and the animator is
    told so in words, not with the allocator's message."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return "Insufficient memory" in text or "can't allocate memory" in text
