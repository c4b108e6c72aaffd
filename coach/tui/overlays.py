"""What the preview draws on top of the picture: the card quad, face boxes, hand points and a guide
showing where the card should be. Drawn on the small resized copy only, never on the frame
(which is also what gets saved), and mirrored together with the picture when the preview is.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from coach.tui.preview import to_canvas
from coach.types import Observation

ID1_ASPECT = 85.6 / 53.98  # ISO/IEC 7810 ID-1: the card shape the guide shows

# BGR
GUIDE = (200, 200, 200)
CARD = (0, 220, 255)
CARD_OUT = (0, 80, 255)  # card partly outside the frame
FACE = (255, 200, 0)
PRINTED_FACE = (160, 120, 120)
HAND = (255, 0, 255)

FINGERTIPS = (4, 8, 12, 16, 20)


def guide_rect(profile: str, width: int, height: int, obs: Optional[Observation]
               ) -> Optional[tuple[str, tuple[float, float, float, float]]]:
    """Where the person should put the card (or their head), in frame pixels: ("rect"|"ellipse", (x, y, w, h)).

    A hint for the eye, not a check: the checks decide with the profile's thresholds. For
    hand-held the card sits under the chin, about as wide as the face is tall, so both stay
    legible; without a face the guide takes the lower middle of the frame.
    """
    if width <= 0 or height <= 0:
        return None
    if profile == "card":
        w = min(0.7 * width, 0.7 * height * ID1_ASPECT)
        h = w / ID1_ASPECT
        return "rect", ((width - w) / 2, (height - h) / 2, w, h)
    if profile == "half-body":
        w, h = 0.22 * width, 0.36 * height
        return "ellipse", ((width - w) / 2, 0.12 * height, w, h)
    faces = obs.live_faces if obs is not None else []
    if faces:
        fx, fy, fw, fh = max(faces, key=lambda f: f.box[2] * f.box[3]).box
        w = 1.15 * max(fw, fh)
        h = w / ID1_ASPECT
        cx = fx + fw / 2
        top = min(fy + 1.15 * fh, height - h)
        return "rect", (cx - w / 2, top, w, h)
    w = 0.32 * width
    h = w / ID1_ASPECT
    return "rect", ((width - w) / 2, 0.58 * height, w, h)


def draw_overlays(canvas: np.ndarray, rect: tuple[int, int, int, int], frame_w: int, frame_h: int,
                  obs: Optional[Observation], profile: str) -> None:
    """Draw on `canvas` (BGR, modified in place) where the frame occupies `rect` = (x, y, w, h)."""
    ox, oy, w, h = rect
    if not w or not h:
        return
    sx, sy = w / frame_w, h / frame_h

    def pt(p) -> tuple[int, int]:
        return int(round(ox + p[0] * sx)), int(round(oy + p[1] * sy))

    guide = guide_rect(profile, frame_w, frame_h, obs)
    if guide is not None:
        kind, (gx, gy, gw, gh) = guide
        if kind == "rect":
            cv2.rectangle(canvas, pt((gx, gy)), pt((gx + gw, gy + gh)), GUIDE, 1, cv2.LINE_4)
        else:
            centre = pt((gx + gw / 2, gy + gh / 2))
            cv2.ellipse(canvas, centre, (max(1, int(gw * sx / 2)), max(1, int(gh * sy / 2))), 0, 0, 360,
                        GUIDE, 1, cv2.LINE_4)
    if obs is None:
        return
    for face in obs.faces:
        if face.on_hand:
            continue  # a hand, drawn as one below
        x, y, fw, fh = face.box
        cv2.rectangle(canvas, pt((x, y)), pt((x + fw, y + fh)), PRINTED_FACE if face.on_card else FACE, 1,
                      cv2.LINE_4)
    for hand in obs.hands:
        for i, p in enumerate(hand.points):
            q = pt(p)
            if i in FINGERTIPS:
                cv2.circle(canvas, q, 1, HAND, -1, cv2.LINE_4)
            elif 0 <= q[0] < canvas.shape[1] and 0 <= q[1] < canvas.shape[0]:
                canvas[q[1], q[0]] = HAND
    if obs.card is not None and len(obs.card.quad) == 4:
        poly = np.array([pt(p) for p in obs.card.quad], np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [poly], True, CARD if obs.card.in_frame else CARD_OUT, 1, cv2.LINE_4)


def prepare_preview(bgr: np.ndarray, obs: Optional[Observation], width: int, height: int, *, mirror: bool,
                    overlays: bool, profile: str, canvas: Optional[np.ndarray] = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Frame → RGB image of width × height (height even) ready for the Preview widget.

    Returns (rgb, canvas): pass `canvas` back next time to reuse the buffer. `bgr` is only read.
    """
    canvas, rect = to_canvas(bgr, width, height, canvas)
    if overlays:
        # overlay points are in the analysed frame's pixels; the preview image may be a reduced copy
        fw, fh = (obs.width, obs.height) if obs is not None else (bgr.shape[1], bgr.shape[0])
        draw_overlays(canvas, rect, fw, fh, obs, profile)
    if mirror:
        # mirror the whole canvas: picture and overlays together, letterbox stays symmetric
        cv2.flip(canvas, 1, dst=canvas)
    return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB), canvas
