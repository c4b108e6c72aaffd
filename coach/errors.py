"""Errors that reach the user as one clear line (what went wrong, and what to do)."""

from __future__ import annotations


class CoachError(Exception):
    """A problem the user can fix. The CLI prints str(err) on one line and exits with `code`."""

    code = 2

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


class ModelError(CoachError):
    """A MediaPipe model is missing, truncated or does not verify."""


class SourceError(CoachError):
    """A source cannot be opened (bad URL, no such camera, missing file, empty folder)."""
