"""Video files, decoded by OpenCV's FFmpeg backend. Frame.t is the frame's presentation time
(CAP_PROP_POS_MSEC), falling back to index / fps when the container gives none."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import cv2

from coach.errors import SourceError
from coach.sources.base import Source, quiet_opencv
from coach.types import Frame


class VideoSource(Source):
    live = False
    mirror_default = False

    def __init__(self, path: Path, fps: float = 30.0):
        with quiet_opencv():
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {path} as a video: pass a video file (mp4, mov, avi, mkv), "
                              "an image folder, a recording or a URL")
        vfps = cap.get(cv2.CAP_PROP_FPS)
        # the container's rate when it is sane, else the --fps the user gave
        self._fps = vfps if math.isfinite(vfps) and 1.0 <= vfps <= 1000.0 else float(fps)
        self._cap = cap
        self.name = f"video {path.name}"
        self._index = 0
        self._last_t = float("-inf")
        self.ended = False
        self.status = "ok"
        self.fault = None
        self.skipped = 0
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.resolution = (w, h) if w > 0 and h > 0 else None
        # decode the first frame now: a file OpenCV "opens" but cannot decode is a bad input
        self._pending = self._decode()
        if self._pending is None:
            self.close()
            raise SourceError(f"{path} has no video frames that can be decoded")

    def _decode(self) -> Optional[Frame]:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            return None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        t = msec / 1000.0 if math.isfinite(msec) and msec >= 0 else self._index / self._fps
        if t <= self._last_t:  # no or repeated timestamps: fall back to the frame count
            t = max(self._index / self._fps, self._last_t + 1e-6)
        self._last_t = t
        image.flags.writeable = False
        frame = Frame(image=image, index=self._index, t=t)
        self._index += 1
        self.resolution = (frame.width, frame.height)
        return frame

    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        frame = self._decode()
        if frame is None:
            self.ended = True
            self._release()
        return frame

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._release()
        self._pending = None
        self.ended = True
