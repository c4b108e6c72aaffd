"""Silence native log lines (MediaPipe/TFLite write to fd 2) around model creation only.

Textual draws on stderr too, so this must never wrap the app's lifetime: only the few
calls that create tasks or run their first inference."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_lock = threading.Lock()


@contextlib.contextmanager
def quiet_stderr():
    """Point fd 2 at /dev/null for the duration; restores it even on error."""
    with _lock:
        try:
            sys.stderr.flush()
        except Exception:
            pass
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
