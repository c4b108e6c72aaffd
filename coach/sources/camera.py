"""Local cameras (V4L2 on Linux): MJPG at the highest of 1920×1080 / 1280×720 the camera gives,
a one-frame buffer, read on a thread keeping the newest frame; and `coach cameras`."""

from __future__ import annotations

import os
import sys
import threading
from typing import Callable, Optional

import click
import cv2
import numpy as np

from coach.errors import SourceError
from coach.sources.base import quiet_opencv
from coach.sources.stream import CaptureSource

SIZES = ((1920, 1080), (1280, 720))  # asked in this order; the first the camera accepts wins
FIRST_FRAME_TIMEOUT = 3.0
PHONE_HINT = ("use a phone as camera: IP Webcam (Android) → --source http://PHONE:8080/video, "
              "DroidCam → --source http://PHONE:4747/video")


def _backend() -> int:
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def device_exists(index: int) -> bool:
    """On Linux a camera index is /dev/videoN; checking the node first avoids a slow, noisy open."""
    if sys.platform.startswith("linux"):
        return os.path.exists(f"/dev/video{index}")
    return True


def negotiate(cap: "cv2.VideoCapture") -> tuple[int, int]:
    """Ask for MJPG (the only format USB cameras give at full HD and 30 fps), then the largest
    size of SIZES the camera accepts; a one-frame buffer so reads are never stale.
    Returns what the driver reports back (the first frame's shape is the final word)."""
    cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
    w = h = 0
    for want_w, want_h in SIZES:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, want_w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, want_h)
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if (w, h) == (want_w, want_h):
            break
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return w, h


def _read_with_deadline(cap: "cv2.VideoCapture", seconds: float) -> tuple[bool, Optional[np.ndarray]]:
    """cap.read() on a helper thread: a wedged driver must not hang `coach` or `coach cameras`.
    Returns (finished, image)."""
    out: list[Optional[np.ndarray]] = [None]

    def work() -> None:
        ok, img = cap.read()
        out[0] = img if ok and img is not None and img.size else None

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(seconds)
    return (not t.is_alive()), out[0]


def open_capture(index: int, capture_factory: Callable[..., "cv2.VideoCapture"] = cv2.VideoCapture
                 ) -> tuple["cv2.VideoCapture", np.ndarray]:
    """Open and negotiate camera `index`, returning it with its first frame; SourceError if not."""
    if not device_exists(index):
        raise SourceError(f"no camera {index} (/dev/video{index} does not exist): connect one, "
                          f"see `coach cameras`, or {PHONE_HINT}")
    with quiet_opencv():
        cap = capture_factory(index, _backend())
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"camera {index} cannot be opened (in use by another program, or no permission "
                          f"to /dev/video{index}?)")
    negotiate(cap)
    finished, image = _read_with_deadline(cap, FIRST_FRAME_TIMEOUT)
    if image is None:
        if finished:  # never release a capture another thread is still reading from
            cap.release()
        raise SourceError(f"camera {index} opened but gave no picture within {FIRST_FRAME_TIMEOUT:g} s")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image.flags.writeable = False
    return cap, image


class CameraSource(CaptureSource):
    lost_reason = "camera disconnected"
    reopen_reason = "camera disconnected"


def open_camera(index: int, capture_factory: Callable[..., "cv2.VideoCapture"] = cv2.VideoCapture) -> CameraSource:
    cap, image = open_capture(index, capture_factory)

    def reopen() -> "cv2.VideoCapture":
        c, _ = open_capture(index, capture_factory)
        return c

    return CameraSource(f"camera {index}", reopen, cap, image, mirror_default=True)


def probe(index: int) -> Optional[tuple[int, int]]:
    """The resolution camera `index` gives after negotiation, or None when it is not a camera
    (many /dev/videoN nodes are metadata nodes of the same device)."""
    try:
        cap, image = open_capture(index)
    except SourceError:
        return None
    cap.release()
    return int(image.shape[1]), int(image.shape[0])


def run_cameras_command(max_index: int = 10) -> int:
    """`coach cameras`: one line per camera found with the resolution it gives; exit 1 if none."""
    found = 0
    for index in range(max(0, max_index) + 1):
        if not device_exists(index):
            continue
        size = probe(index)
        if size is None:
            continue
        found += 1
        note = "" if size[0] >= 1920 else "  (low: a phone gives a sharper card, see README)"
        click.echo(f"camera {index}: {size[0]}×{size[1]}{note}  → coach --source {index}")
    if not found:
        click.echo(f"no cameras found (checked indices 0–{max(0, max_index)}); {PHONE_HINT}")
        return 1
    return 0
