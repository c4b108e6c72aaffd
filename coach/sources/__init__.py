"""Where frames come from: `open_source(spec)` for a camera index, a stream URL, a video file,
an image folder or a recording; and `Recorder`, which writes recordings.

    src = open_source("http://192.168.1.5:8080/video")
    frame = src.read(timeout=1.0)   # live: the newest frame not yet returned; files: the next one
    src.close()
"""

from __future__ import annotations

import re
from pathlib import Path

from coach.errors import SourceError
from coach.sources.base import Source
from coach.sources.recorder import Recorder

__all__ = ["open_source", "Source", "Recorder", "SourceError"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def open_source(spec: str, fps: float = 30.0) -> Source:
    """Open what `spec` names. Digits → camera index; http(s):// or rtsp:// → stream; a folder →
    recording (it has manifest.jsonl) or image folder; a file → video (an image file → one frame).
    Raises SourceError with one clear line when it cannot be opened."""
    spec = (spec or "").strip()
    if not spec:
        raise SourceError("no source given: pass a camera index, a stream URL, a video, an image folder or a recording")
    if fps <= 0:
        raise SourceError(f"--fps must be positive, got {fps:g}")
    if spec.isdigit():
        from coach.sources.camera import open_camera

        return open_camera(int(spec))
    if _URL.match(spec):
        from coach.sources.stream import URL_EXAMPLE, open_stream

        scheme = spec.split("://", 1)[0].lower()
        if scheme not in ("http", "https", "rtsp", "rtsps"):
            raise SourceError(f"unsupported URL scheme {scheme!r} in {spec!r}: use http://, https:// or rtsp://, "
                              f"{URL_EXAMPLE}")
        return open_stream(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        from coach.sources.recording import MANIFEST, RecordingSource

        if (path / MANIFEST).is_file():
            return RecordingSource(path)
        from coach.sources.folder import open_folder

        return open_folder(path, fps)
    if path.is_file():
        from coach.sources.folder import is_image_name, open_image_file

        if is_image_name(path):
            return open_image_file(path, fps)
        from coach.sources.video import VideoSource

        return VideoSource(path, fps)
    if path.exists():
        raise SourceError(f"{spec} is neither a file nor a folder: pass a video, an image folder or a recording")
    raise SourceError(f"no such file or folder: {spec} (pass a camera index like 0, a stream URL like "
                      "http://PHONE:8080/video, a video, an image folder or a recording)")
