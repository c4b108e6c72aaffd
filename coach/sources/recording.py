"""Replaying a recording folder written by `Recorder` (see recordings/README.md).

An interrupted recording (Ctrl-C, power loss, full disk) may end with a half-written manifest
line or lack its last frame files: it replays up to what exists, and what is missing or corrupt
is counted in `skipped`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from coach.errors import SourceError
from coach.sources.base import Source, decode_image, is_jpeg
from coach.types import Frame

MANIFEST = "manifest.jsonl"


def _entries(folder: Path) -> tuple[list[tuple[float, str]], int]:
    """(t, file) per readable manifest line, and how many lines were unusable."""
    try:
        raw = (folder / MANIFEST).read_bytes()
    except OSError as err:
        raise SourceError(f"cannot read {folder / MANIFEST}: {err.strerror or err}") from None
    entries: list[tuple[float, str]] = []
    bad = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            t = float(rec["t"])
            name = str(rec["file"])
        except (ValueError, KeyError, TypeError):
            bad += 1  # typically the last line, cut short when the recording was interrupted
            continue
        # a manifest names files inside its own folder only
        if Path(name).name != name or name in ("", ".", ".."):
            bad += 1
            continue
        entries.append((t, name))
    return entries, bad


class RecordingSource(Source):
    live = False
    mirror_default = False

    def __init__(self, folder: Path):
        entries, bad = _entries(folder)
        if not entries:
            raise SourceError(f"recording {folder} has no frames (its {MANIFEST} lists none): record again with R")
        self.name = f"recording {folder}/"
        self._folder = folder
        self._entries = entries
        self._pos = 0
        self._index = 0
        self._last_t = float("-inf")
        self.skipped = bad
        self.ended = False
        self.status = "ok"
        self.fault = None
        self.resolution = None
        self._closed = False

    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        while not self._closed and self._pos < len(self._entries):
            t, name = self._entries[self._pos]
            self._pos += 1
            try:
                data = (self._folder / name).read_bytes()
            except OSError:
                data = b""
            image = decode_image(data)
            if image is None:
                self.skipped += 1
                continue
            # Frame.t must strictly increase; a hand-edited manifest might repeat a time
            t = t if t > self._last_t else self._last_t + 1e-6
            self._last_t = t
            image.flags.writeable = False
            frame = Frame(image=image, index=self._index, t=t, jpeg=data if is_jpeg(data) else None, name=name)
            self._index += 1
            self.resolution = (frame.width, frame.height)
            return frame
        self.ended = True
        return None

    def close(self) -> None:
        self._closed = True
        self.ended = True
