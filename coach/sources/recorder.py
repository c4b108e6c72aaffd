"""Recording raw frames to `recordings/<YYYYmmdd-HHMMSS>/` (format: recordings/README.md).

Why it is built this way:
- frames are identity documents: the folder is 0700 and every file 0600 from its creation
  (os.open with a mode, so there is no moment where another user could read them);
- an interrupted recording must replay: each frame file is written completely before its
  manifest line, and the manifest line is flushed and fsynced, so the manifest never names a
  frame that is not on disk (a power cut can at worst cut the last line short, which the reader
  skips);
- a failed write (full disk, folder removed) raises CoachError with one line, removes the
  half-written frame file, and stops the recording; the session reports it and goes on.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import IO, Optional

import cv2

from coach.errors import CoachError
from coach.sources.recording import MANIFEST
from coach.types import Frame

JPEG_QUALITY = 95
_os_write = os.write  # one name to stand in for a full disk in tests


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file with mode 0600; never leaves a partial file behind."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = _os_write(fd, view)
            view = view[n:]
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)


def _why(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "the disk is full"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return err.strerror or str(err)


class Recorder:
    def __init__(self, root: Path = Path("recordings")):
        self.root = Path(root)
        self.path: Optional[Path] = None  # the folder being recorded into
        self.frames = 0
        self._manifest: Optional[IO[str]] = None
        self._t0: Optional[float] = None
        self._last_t = float("-inf")

    @property
    def active(self) -> bool:
        return self._manifest is not None

    def start(self) -> Path:
        """Create root/<YYYYmmdd-HHMMSS>/ (0700) and an empty manifest; return the folder."""
        if self.active:
            assert self.path is not None
            return self.path
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            for n in range(100):  # two recordings within one second get -1, -2, ...
                folder = self.root / (stamp if n == 0 else f"{stamp}-{n}")
                try:
                    folder.mkdir(mode=0o700)
                    break
                except FileExistsError:
                    continue
            else:
                raise CoachError(f"cannot create a recording folder in {self.root}: too many recordings this second")
            os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
            fd = os.open(folder / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._manifest = os.fdopen(fd, "w", encoding="utf-8")
        except OSError as err:
            raise CoachError(f"cannot record into {self.root}: {_why(err)} (choose a writable folder)") from None
        self.path = folder
        self.frames = 0
        self._t0 = None
        self._last_t = float("-inf")
        return folder

    def write(self, frame: Frame) -> None:
        """Append one frame: the source's JPEG bytes when it had them, else one encode at q95.
        Raises CoachError (and stops recording) if the frame cannot be written."""
        if self._manifest is None or self.path is None:
            raise CoachError("not recording: press R to start a recording")
        if frame.jpeg is not None:
            data = frame.jpeg
        else:
            ok, enc = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise CoachError("cannot encode a frame as JPEG for the recording")
            data = enc.tobytes()
        if self._t0 is None:
            self._t0 = frame.t
        # seconds since the first recorded frame, strictly increasing like Frame.t
        t = max(frame.t - self._t0, self._last_t + 1e-6) if self.frames else 0.0
        name = f"{self.frames:06d}.jpg"
        where = self.path
        try:
            _write_private(where / name, data)
        except OSError as err:
            self._abort()
            raise CoachError(f"recording stopped: cannot write to {where}: {_why(err)}") from None
        try:
            line = json.dumps({"index": self.frames, "t": t, "file": name}) + "\n"
            self._manifest.write(line)
            self._manifest.flush()
            os.fsync(self._manifest.fileno())
        except OSError as err:
            try:  # the manifest does not name it: do not leave an orphan frame behind
                os.unlink(where / name)
            except OSError:
                pass
            self._abort()
            raise CoachError(f"recording stopped: cannot write to {where}: {_why(err)}") from None
        self._last_t = t
        self.frames += 1

    def _abort(self) -> None:
        m, self._manifest = self._manifest, None
        if m is not None:
            try:
                m.close()
            except OSError:
                pass

    def stop(self) -> Optional[Path]:
        """Close the recording; returns its folder (None if nothing was being recorded)."""
        if self._manifest is None:
            return None
        m, self._manifest = self._manifest, None
        try:
            m.flush()
            os.fsync(m.fileno())
            m.close()
        except OSError:
            pass
        return self.path
