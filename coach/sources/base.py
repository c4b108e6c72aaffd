"""What every source shares: the `Source` interface, the newest-frame slot live sources read
through, and cheap JPEG helpers (structure check, size, decode)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Optional

import os

# FFmpeg (inside OpenCV) prints its errors on stderr, where Textual draws the screen; every failure
# it could report reaches the user as our own one-line message or a "reconnecting" status instead.
# Read once, when OpenCV first uses FFmpeg; set OPENCV_FFMPEG_LOGLEVEL=32 to see them again.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# Likewise OpenCV's own WARN lines (a stream read timing out on the reader thread, a camera index
# that does not open): the user sees our status/one-line error instead. OPENCV_LOG_LEVEL wins.
if "OPENCV_LOG_LEVEL" not in os.environ and hasattr(getattr(cv2, "utils", None), "logging"):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

from coach.types import Frame

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

# Backoff between reconnect attempts: doubles from the first value, capped so that a source that
# comes back is found again within about one second (the issue asks for 3 s).
BACKOFF_START = 0.1
BACKOFF_CAP = 1.0


class Source:
    """A place frames come from. Subclasses fill the attributes and implement `read`.

    Files (folders, recordings, videos) are not live: `read` returns the next frame at once and
    `ended` turns True when they are exhausted; the session paces them by `Frame.t`.
    Live sources (cameras, streams) never end by themselves: `read` returns the newest frame not
    yet returned, dropping older ones, and `status`/`fault` tell whether they are reconnecting.
    """

    name: str = ""
    live: bool = False
    mirror_default: bool = False
    resolution: Optional[tuple[int, int]] = None
    ended: bool = False
    status: str = "ok"  # "ok" | "reconnecting"
    fault: Optional[str] = None
    skipped: int = 0
    # Every time a live source goes from "ok" to "reconnecting", `drops` grows and `last_fault`
    # keeps the reason (it stays after recovery). A drop that is over before the next poll (a
    # stall ended by a reconnect that works at once) is visible only here, not in `status`.
    drops: int = 0
    last_fault: Optional[str] = None

    def _lost(self, reason: str) -> None:
        """Enter (or stay in) "reconnecting" with `reason`; called by reader threads."""
        if self.status != "reconnecting":
            self.last_fault = reason
            self.drops += 1
        self.fault = reason
        self.status = "reconnecting"

    def _back(self) -> None:
        if self.status != "ok":
            self.status, self.fault = "ok", None

    def read(self, timeout: float = 1.0) -> Optional[Frame]:  # pragma: no cover - interface
        raise NotImplementedError

    def peek(self, max_width: int = 640) -> Optional[Frame]:
        """The newest frame that arrived but was not read yet, for the preview only (it never
        consumes it). Live sources give it at their own rate while analysis runs, so the screen is
        not limited to the analysed fps; `image` may be a reduced copy (at least `max_width` wide
        when the source is that wide) and `jpeg` is None. Files: None (they are read in order)."""
        return None

    def close(self) -> None:
        """Idempotent; stops threads and releases files, sockets and devices."""

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} status={self.status} skipped={self.skipped}>"


# --------------------------------------------------------------------------- newest-frame slot
@dataclass
class _Slot:
    seq: int  # arrival number; gaps between returned frames are frames dropped for being old
    t: float  # time.monotonic() at arrival
    image: Optional[np.ndarray]  # decoded pixels (OpenCV sources) ...
    jpeg: Optional[bytes]  # ... or the still-encoded part (MJPEG: decoded only if it is read)


class NewestSlot:
    """Holds only the newest frame a reader thread delivered; `take` waits for one newer than the
    last taken. Older frames are simply overwritten, so a slow consumer never sees stale frames."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._slot: Optional[_Slot] = None
        self._taken = -1
        self._seq = 0
        self._last_t = float("-inf")
        self.closed = False

    def put(self, image: Optional[np.ndarray] = None, jpeg: Optional[bytes] = None) -> None:
        with self._cond:
            # strictly increasing even if two parts arrive within the clock's resolution
            t = max(time.monotonic(), self._last_t + 1e-6)
            self._last_t = t
            self._slot = _Slot(self._seq, t, image, jpeg)
            self._seq += 1
            self._cond.notify_all()

    def peek(self) -> Optional[_Slot]:
        """The newest frame not yet taken, without taking it (None if it was taken already)."""
        with self._cond:
            slot = self._slot
            return slot if slot is not None and slot.seq > self._taken else None

    @property
    def count(self) -> int:
        """How many frames were put so far."""
        return self._seq

    def take(self, timeout: float) -> Optional[_Slot]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self.closed and (self._slot is None or self._slot.seq <= self._taken):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self.closed or self._slot is None:
                return None
            self._taken = self._slot.seq
            slot, self._slot = self._slot, None  # free the bytes/pixels now they are handed over
            return slot

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._slot = None
            self._cond.notify_all()


class StopFlag(threading.Event):
    """Set by `close()`; reader threads sleep on it so that closing interrupts a backoff wait."""


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV logs WARN lines on stderr when a camera index or a file cannot be opened; we report
    that ourselves as one clear line, so silence OpenCV's own logger (not fd 2) meanwhile."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    old = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging.setLogLevel(old)


# --------------------------------------------------------------------------- JPEG helpers
def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def jpeg_size(data: bytes) -> Optional[tuple[int, int]]:
    """(width, height) of a structurally complete JPEG, else None — without decoding it.

    Walks the marker segments from SOI to the first scan (SOS), taking the size from the frame
    header (SOF), then requires an EOI marker after the scan. Entropy-coded data never contains
    FF D9 (FF bytes are stuffed), so a missing EOI means the part was cut short: the usual
    corruption on a dropping Wi-Fi link. Bytes after EOI (e.g. a phone's motion-photo trailer)
    are allowed. Cheap: a few `find` calls in C, no pixel work.
    """
    n = len(data)
    if n < 4 or not is_jpeg(data):
        return None
    pos = 2
    size: Optional[tuple[int, int]] = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:  # standalone markers
            pos += 2
            continue
        if marker == 0xD9:  # EOI before any scan
            return None
        seg_len = (data[pos + 2] << 8) | data[pos + 3]
        if seg_len < 2:
            return None
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 > n:
                return None
            h = (data[pos + 5] << 8) | data[pos + 6]
            w = (data[pos + 7] << 8) | data[pos + 8]
            size = (w, h)
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data, then EOI
            if size is None or size[0] == 0 or size[1] == 0:
                return None
            return size if data.find(b"\xff\xd9", pos + 2 + seg_len) >= 0 else None
        pos += 2 + seg_len
    return None


_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def decode_preview(data: bytes, width: int, max_width: int) -> Optional[np.ndarray]:
    """A reduced decode for the preview: libjpeg's DCT scaling (1/2, 1/4, 1/8) costs a fraction of
    a full decode. The largest reduction that stays at least `max_width` wide is used."""
    flag = cv2.IMREAD_COLOR
    for factor, reduced in _REDUCED:
        if width // factor >= max_width:
            flag = reduced
            break
    if jpeg_size(data) is None:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return img if img is not None and img.ndim == 3 else None


def peek_slot(slot: "NewestSlot", max_width: int, width: Optional[int]) -> Optional[Frame]:
    """Source.peek for the slot-based sources: pixels as they are, or a reduced JPEG decode."""
    s = slot.peek()
    if s is None:
        return None
    if s.image is not None:
        return Frame(image=s.image, index=s.seq, t=s.t)
    if s.jpeg is None:
        return None
    img = decode_preview(s.jpeg, width or 0, max_width)
    return None if img is None else Frame(image=img, index=s.seq, t=s.t)


def decode_image(data: bytes) -> Optional[np.ndarray]:
    """BGR uint8 pixels of an encoded image, or None when it does not decode.

    JPEGs are checked for completeness first: a truncated JPEG is refused here instead of being
    handed to libjpeg, which would print a warning on stderr (where Textual draws the screen).
    IMREAD_COLOR applies the EXIF orientation, so pixels are as a photo viewer shows the file.
    """
    if not data:
        return None
    if is_jpeg(data) and jpeg_size(data) is None:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
        return None
    return img
