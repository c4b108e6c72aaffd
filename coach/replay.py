"""`coach replay --headless`: a Session without a screen, printing one JSON event per line on stdout."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any, Optional, TextIO

from coach.types import Event


def open_source(spec: str, fps: float = 30.0) -> Any:
    from coach.sources import open_source as _open

    return _open(spec, fps=fps)


def make_analyzer(models_dir: Optional[Path]) -> Any:
    from coach.vision.analyzer import Analyzer

    # VIDEO mode: a session feeds strictly increasing frame times. fast: hands and pose overlap the
    # card stage on a 2-thread pool; every frame is still analysed in order, so the decisions do
    # not depend on timing and a --fast replay decides what a real-time one would.
    return Analyzer(models_dir, mode="video", fast=True)


def event_printer(stream: TextIO) -> Any:
    def emit(event: Event) -> None:
        stream.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        stream.flush()  # a reader (test, pipe) sees each event when it happens

    return emit


def run_headless(source: str, out_dir: Path = Path("captures"), fast: bool = False,
                 max_seconds: Optional[float] = None, profile: str = "hand-held", fps: float = 30.0,
                 lang: str = "en", models_dir: Optional[Path] = None, *, stream: Optional[TextIO] = None,
                 profiles_file: Optional[Path] = None) -> int:
    """Replay `source` through the coach. Bad source / models → CoachError (the CLI exits 2)."""
    from coach.session import Session

    src = open_source(source, fps=fps)
    try:
        analyzer = make_analyzer(models_dir)
        try:
            session = Session(src, analyzer, profile=profile, lang=lang, out_dir=Path(out_dir), auto=True,
                              fast=fast, max_seconds=max_seconds, on_event=event_printer(stream or sys.stdout),
                              profiles_file=profiles_file)
            previous = _stop_on_sigterm(session)
            try:
                session.run()  # Ctrl-C: run() still prints its summary, then the CLI reports the interrupt
            finally:
                _restore_sigterm(previous)
        finally:
            analyzer.close()
    finally:
        src.close()
    return 0


def _stop_on_sigterm(session: Any) -> Any:
    """SIGTERM ends the replay like the end of the source (summary printed), not mid-line."""
    try:
        return signal.signal(signal.SIGTERM, lambda signum, frame: session.stop())
    except ValueError:  # not the main thread (e.g. called from a test thread)
        return None


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        try:
            signal.signal(signal.SIGTERM, previous)
        except ValueError:
            pass
