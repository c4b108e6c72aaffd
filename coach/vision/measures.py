"""Numbers measured on the pixels of one frame, each a small pure function; `measure` combines them.

Units (also in coach.types.Measures):
  exposure         mean luma (BT.601 Y, 0..255) of the subject: face box(es) + card quad when
                   found, else the whole frame.
  face_sharpness   focus of the largest live face: mean Tenengrad gradient energy of the face
                   crop resized to 128x128 px, divided by the crop's luma contrast (std). Unitless,
                   independent of face size and exposure; sharp faces ~ >= 0.5, blurred < 0.3
                   (see the calibration table in the helper report / tests).
  card_sharpness   focus of the card's text at full resolution: 90th percentile of the
                   rectified card's gradient magnitude / its text contrast (p95 - p5 luma),
                   measured without upscaling. Unitless, roughly 1 / edge width in px.
  glare            fraction 0..1 of the card area covered by specular blobs (near-white, low
                   saturation, clearly brighter than the card's own background).
  backlight        face mean luma / background mean luma (border band of the frame outside the
                   person); < 1 means the face is darker than the background.
  card_tilt        degrees between the card plane and the sensor plane (pinhole model, focal
                   length 0.9 x the frame's long side).
  fingers_on_text  count of fingertips (hand landmarks 4, 8, 12, 16, 20) inside the card's inner
                   text/portrait area (quad shrunk by 12 % of its width/height on every side).
"""

from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from coach.types import Card, Face, Hand, Measures, Pose
from coach.vision import geometry as g

FINGERTIPS = (4, 8, 12, 16, 20)
TEXT_BORDER = 0.12  # fraction of the card's width/height that counts as border (thumbs may rest there)
FACE_SIZE = 128  # face crops are resized to this before measuring focus
GLARE_LUMA = 240
GLARE_MAX_SAT = 0.25  # HSV saturation 0..1
GLARE_MIN_BLOB_FRAC = 0.0015  # a blob counts when >= this fraction of the card (>= ~50 px on a 300 px card)


def _luma(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return bgr
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _clip_box(box: Sequence[float], w: int, h: int) -> tuple[int, int, int, int] | None:
    x, y, bw, bh = box
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(w, int(round(x + bw))), min(h, int(round(y + bh)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1, y1


def _quad_mask(shape: tuple[int, int], quad: Sequence[Sequence[float]]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(g.order_quad(quad)).astype(np.int32), 255)
    return m


def live_faces(faces: Sequence[Face]) -> list[Face]:
    return [f for f in faces if not f.on_card]


def main_face(faces: Sequence[Face]) -> Face | None:
    live = live_faces(faces)
    if not live:
        return None
    return max(live, key=lambda f: f.box[2] * f.box[3])


# --------------------------------------------------------------------------- printed faces
def mark_printed_faces(faces: list[Face], card: Card | None) -> list[Face]:
    """Flag faces printed on the card (on_card=True): box centre inside the card quad, or the
    box mostly (>= 50 %) inside it. Returns the same list (faces are updated in place)."""
    if card is None:
        return faces
    quad = g.order_quad(card.quad)
    for f in faces:
        x, y, w, h = f.box
        centre = np.array([[x + w / 2.0, y + h / 2.0]])
        inside = bool(g.points_in_quad(centre, quad)[0])
        if not inside and w > 0 and h > 0:
            box = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
            inter, _ = cv2.intersectConvexConvex(box, quad.astype(np.float32))
            inside = float(inter) >= 0.5 * w * h
        if inside:
            f.on_card = True
    return faces


# --------------------------------------------------------------------------- exposure
def exposure(bgr: np.ndarray, card: Card | None = None, faces: Sequence[Face] = ()) -> float:
    """Mean luma 0..255 of the subject: live face boxes + card quad, else the whole frame."""
    y = _luma(bgr)
    h, w = y.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for f in live_faces(faces):
        b = _clip_box(f.box, w, h)
        if b:
            mask[b[1]:b[3], b[0]:b[2]] = 255
    if card is not None:
        mask |= _quad_mask((h, w), card.quad)
    if cv2.countNonZero(mask) < 16:
        return float(y.mean())
    return float(cv2.mean(y, mask=mask)[0])


# --------------------------------------------------------------------------- sharpness
def focus_ratio(gray: np.ndarray) -> float:
    """Tenengrad energy / contrast on a fixed-size grey patch: sqrt(mean(gx^2+gy^2)) / std.
    Unitless; blur lowers it, exposure and patch size do not."""
    g32 = gray.astype(np.float32)
    gx = cv2.Sobel(g32, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g32, cv2.CV_32F, 0, 1, ksize=3)
    energy = float(np.sqrt(np.mean(gx * gx + gy * gy)))
    contrast = float(g32.std())
    if contrast < 1.0:
        return 0.0
    return energy / (8.0 * contrast)


def face_sharpness(bgr: np.ndarray, faces: Sequence[Face]) -> Optional[float]:
    """Focus of the largest live face (see focus_ratio), on the face box resized to 128x128."""
    f = main_face(faces)
    if f is None:
        return None
    y = _luma(bgr)
    h, w = y.shape[:2]
    x, yy, bw, bh = f.box
    # inner part of the box: eyes, nose, mouth (the box edge often cuts hair / background)
    inner = (x + 0.15 * bw, yy + 0.15 * bh, 0.7 * bw, 0.7 * bh)
    b = _clip_box(inner, w, h)
    if b is None:
        return None
    crop = y[b[1]:b[3], b[0]:b[2]]
    interp = cv2.INTER_AREA if crop.shape[0] > FACE_SIZE else cv2.INTER_CUBIC
    crop = cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=interp)
    return focus_ratio(crop)


def rectify_card(bgr: np.ndarray, card: Card, max_width: int = 1200) -> np.ndarray:
    """The card warped flat at its natural pixel size (never upscaled), BGR."""
    q = g.order_quad(card.quad)
    sides = g.side_lengths(q)
    wpx = max(sides[0], sides[2])
    hpx = max(sides[1], sides[3])
    s = min(1.0, max_width / max(wpx, 1.0))
    W, H = max(8, int(round(wpx * s))), max(8, int(round(hpx * s)))
    dst = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float32)
    M = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(bgr, M, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def card_sharpness(bgr: np.ndarray, card: Card | None) -> Optional[float]:
    """Text-edge sharpness of the rectified card (full resolution, inner 90 %): p90 of gradient
    magnitude over the strongest 10 % of edge pixels divided by text contrast (p95 - p5 luma).
    A step edge blurred over w px gives roughly 1/w, so the value reads as 1 / edge width."""
    if card is None:
        return None
    flat = _luma(rectify_card(bgr, card))
    H, W = flat.shape[:2]
    m = int(round(0.05 * min(H, W)))
    inner = flat[m:H - m, m:W - m] if min(H, W) > 4 * m + 8 else flat
    if inner.size < 64:
        return None
    f = inner.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    mag = cv2.magnitude(gx, gy)
    lo, hi = np.percentile(f, (5, 95))
    contrast = float(hi - lo)
    if contrast < 8.0:
        return 0.0
    return float(np.percentile(mag, 99) / contrast)


# --------------------------------------------------------------------------- glare
def glare(bgr: np.ndarray, card: Card | None) -> Optional[float]:
    """Fraction of the card covered by specular blobs: luma > 240, saturation < 0.25, clearly
    above the card's own background (median luma + 25), blobs >= 0.15 % of the card."""
    if card is None:
        return None
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    h, w = bgr.shape[:2]
    mask = _quad_mask((h, w), card.quad)
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw < 4 or bh < 4:
        return None
    roi = bgr[y:y + bh, x:x + bw]
    m = mask[y:y + bh, x:x + bw] > 0
    area = int(m.sum())
    if area < 16:
        return None
    hsv = cv2.cvtColor(roi, cv2.COLOR_BGR2HSV)
    lum = _luma(roi)
    bg = float(np.median(lum[m]))
    thr = max(GLARE_LUMA, min(254.0, bg + 25.0))
    spec = (lum >= thr) & (hsv[:, :, 1] <= GLARE_MAX_SAT * 255) & m
    n, labels, stats, _ = cv2.connectedComponentsWithStats(spec.astype(np.uint8), connectivity=8)
    min_blob = max(20.0, GLARE_MIN_BLOB_FRAC * area)
    total = int(sum(stats[i, cv2.CC_STAT_AREA] for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_blob))
    return float(total / area)


# --------------------------------------------------------------------------- backlight
def backlight(bgr: np.ndarray, faces: Sequence[Face], pose: Pose | None = None) -> Optional[float]:
    """Face luma / background luma. Background: a band along the top and side borders of the
    frame (8 % wide), excluding the columns the face occupies below the top band."""
    f = main_face(faces)
    if f is None:
        return None
    y = _luma(bgr).astype(np.float32)
    h, w = y.shape[:2]
    b = _clip_box((f.box[0] + 0.2 * f.box[2], f.box[1] + 0.2 * f.box[3], 0.6 * f.box[2], 0.6 * f.box[3]), w, h)
    if b is None:
        return None
    face_l = float(y[b[1]:b[3], b[0]:b[2]].mean())
    band = max(2, int(0.08 * min(h, w)))
    mask = np.zeros((h, w), bool)
    mask[:band, :] = True
    mask[:, :band] = True
    mask[:, w - band:] = True
    fb = _clip_box(f.box, w, h)
    if fb:
        mask[fb[1]:fb[3], fb[0]:fb[2]] = False
    bg = float(y[mask].mean()) if mask.any() else float(y.mean())
    return face_l / max(bg, 1.0)


# --------------------------------------------------------------------------- card geometry
def card_tilt(card: Card | None, width: int, height: int) -> Optional[float]:
    """Degrees between the card plane and the sensor plane (focal guess 0.9 x long side)."""
    if card is None:
        return None
    _, tilt = g.plane_pose(card.quad, width, height)
    return float(tilt)


def fingers_on_text(card: Card | None, hands: Sequence[Hand]) -> Optional[int]:
    """Fingertips (landmarks 4, 8, 12, 16, 20) inside the card quad shrunk by 12 % per side."""
    if card is None:
        return None
    inner = g.shrink_quad(card.quad, TEXT_BORDER)
    tips = [h.points[i] for h in hands for i in FINGERTIPS if i < len(h.points)]
    if not tips:
        return 0
    return int(g.points_in_quad(np.asarray(tips, float), inner).sum())


# --------------------------------------------------------------------------- all together
def measure(bgr: np.ndarray, card: Card | None, faces: list[Face], hands: list[Hand],
            pose: Pose | None) -> Measures:
    """All measures of one frame. Faces should already carry on_card (mark_printed_faces)."""
    h, w = bgr.shape[:2]
    return Measures(
        exposure=exposure(bgr, card, faces),
        face_sharpness=face_sharpness(bgr, faces),
        card_sharpness=card_sharpness(bgr, card),
        glare=glare(bgr, card),
        backlight=backlight(bgr, faces, pose),
        card_tilt=card_tilt(card, w, h),
        fingers_on_text=fingers_on_text(card, hands),
    )
