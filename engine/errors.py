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
