"""Image folders (sorted by name, one frame per file at `fps`) and single image files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from coach.errors import SourceError
from coach.sources.base import IMAGE_EXTS, Source, decode_image, is_jpeg
from coach.types import Frame


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS


def _listed(folder: Path) -> list[Path]:
    """Regular, non-hidden files of the folder sorted by name (sub-folders are not entered)."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as err:
        raise SourceError(f"cannot read folder {folder}: {err.strerror or err}") from None
    return [p for p in entries if not p.name.startswith(".") and p.is_file()]


class FileListSource(Source):
    """Frames from a list of files, in order. Files that are not images or do not decode are
    skipped and counted in `skipped`; they get no frame index. Frame.t = index / fps."""

    live = False
    mirror_default = False

    def __init__(self, files: list[Path], fps: float, name: str):
        if fps <= 0:
            raise SourceError(f"--fps must be positive, got {fps}")
        self.name = name
        self._files = files
        self._fps = float(fps)
        self._pos = 0
        self._index = 0
        self.ended = False
        self.status = "ok"
        self.fault = None
        self.skipped = 0
        self.resolution = None
        self._closed = False

    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        while not self._closed and self._pos < len(self._files):
            path = self._files[self._pos]
            self._pos += 1
            frame = self._load(path)
            if frame is None:
                self.skipped += 1
                continue
            self._index += 1
            self.resolution = (frame.width, frame.height)
            return frame
        self.ended = True
        return None

    def _load(self, path: Path) -> Optional[Frame]:
        if not is_image_name(path):
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None  # vanished or unreadable since listing: skip like a corrupt file
        image = decode_image(data)
        if image is None:
            return None
        image.flags.writeable = False  # Frame.image is never modified after creation
        return Frame(image=image, index=self._index, t=self._index / self._fps,
                     jpeg=data if is_jpeg(data) else None, name=path.name)

    def close(self) -> None:
        self._closed = True
        self.ended = True


def open_folder(folder: Path, fps: float) -> FileListSource:
    files = _listed(folder)
    if not any(is_image_name(p) for p in files):
        raise SourceError(f"no images in folder {folder}: put .jpg/.png files there or pass a video or URL")
    return FileListSource(files, fps, name=f"folder {folder}/")


def open_image_file(path: Path, fps: float) -> FileListSource:
    """A single photo: one frame (lets `coach replay photo.jpg` work like a one-image folder)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"cannot read {path}: {err.strerror or err}") from None
    if decode_image(data) is None:
        raise SourceError(f"{path} is not an image that can be decoded (corrupt or truncated?)")
    return FileListSource([path], fps, name=f"image {path.name}")
