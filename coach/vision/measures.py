"""Numbers measured on the pixels of one frame, each a small pure function; `measure` combines them.

Units (also in coach.types.Measures):
  exposure         mean luma (BT.601 Y, 0..255) of the subject: face box(es) + card quad when
                   found, else the palms of the hands seen, else the whole frame.
  face_sharpness   focus of the largest live face, 0..1 unitless: reblur_sharpness (share of the
                   gradient energy a further 1 px Gaussian blur removes, in the worst direction)
                   of the inner face box at 720p scale, at most FACE_MAX (128) px tall. Real
                   faces 0.2-0.6, blurred by 2 % of their width 0.04-0.1.
  card_sharpness   focus of the card's print, 0..1 unitless: reblur_sharpness of the card warped
                   flat at its natural full-resolution size (never upscaled). Sharp cards
                   0.31-0.67, sigma 2 px <= 0.21, sigma 3 px <= 0.11.
  glare            fraction 0..1 of the card area covered by specular blobs (near-white, low
                   saturation, clearly brighter than the card's own background).
  backlight        face mean luma / background mean luma (border band of the frame outside the
                   person); < 1 means the face is darker than the background.
  card_tilt        degrees between the card plane and the sensor plane (pinhole model, focal
                   length 0.9 x the frame's long side).
  scene_light      95th-percentile luma 0..255 of the whole frame (night vs a dark face).
  fingers_on_text  count of fingertips (hand landmarks 4, 8, 12, 16, 20) inside the card's inner
                   text/portrait area (quad shrunk by 12 % of its width/height on every side).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import cv2
import numpy as np

from coach.types import Card, Face, Hand, Measures, Pose
from coach.vision import geometry as g

FINGERTIPS = (4, 8, 12, 16, 20)
TEXT_BORDER = 0.12  # fraction of the card's width/height that counts as border (thumbs may rest there)
FACE_MAX = 128  # px: larger face crops are scaled down to this before measuring focus (see face_sharpness)
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


def _quad_mask_roi(shape: tuple[int, int], quad: Sequence[Sequence[float]]
                   ) -> tuple[np.ndarray, int, int] | None:
    """The quad's mask only over its own bounding box (clipped to the image, 2 px spare): (mask, x0, y0),
    or None when the quad lies wholly outside. Same pixels as _quad_mask (integer vertices rasterise
    the same when shifted by whole pixels) without allocating and scanning a full-frame mask: at
    1080p each full mask cost ~0.5-1 ms per measure."""
    h, w = shape
    pts = np.round(g.order_quad(quad)).astype(np.int32)
    x0, y0 = max(0, int(pts[:, 0].min()) - 2), max(0, int(pts[:, 1].min()) - 2)
    x1, y1 = min(w, int(pts[:, 0].max()) + 3), min(h, int(pts[:, 1].max()) + 3)
    if x1 <= x0 or y1 <= y0:
        return None
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(m, pts - np.array([x0, y0], np.int32), 255)
    return m, x0, y0


def _percentile_u8(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear interpolation) of uint8 values from their histogram: the
    same value, without sorting (np.percentile partitions the whole array: ~2 ms on 200 k values)."""
    flat = values.ravel()
    n = flat.size
    if n == 0:
        raise ValueError("percentile of no values")
    cum = np.cumsum(np.bincount(flat, minlength=256))
    pos = (q / 100.0) * (n - 1)
    k = int(math.floor(pos))
    lo = int(np.searchsorted(cum, k + 1))  # the k-th smallest value (0-based)
    hi = int(np.searchsorted(cum, min(k + 1, n - 1) + 1))
    t = pos - k
    # numpy's own lerp (one form below t = 0.5, the other above), so that the float is the same
    return float(hi - (hi - lo) * (1.0 - t)) if t >= 0.5 else float(lo + (hi - lo) * t)


def live_faces(faces: Sequence[Face]) -> list[Face]:
    return [f for f in faces if not f.on_card and not f.on_hand]


def main_face(faces: Sequence[Face]) -> Face | None:
    live = live_faces(faces)
    if not live:
        return None
    return max(live, key=lambda f: f.box[2] * f.box[3])


# --------------------------------------------------------------------------- printed faces
# A face detection no surer than this whose box centre lies on a hand the hand landmarker found is
# that hand: fists and knuckles held up with a card score 0.51-0.65 as faces (hand_02, hold_id_09,
# 4 synthetic finger_on_text scenes of seed 2), while a real face behind a hand making a phone
# gesture scores 0.83 (portrait_07) and unobstructed faces 0.9+.
HAND_FACE_SCORE = 0.75


def mark_hand_faces(faces: list[Face], hands: Sequence[Hand]) -> list[Face]:
    """Flag faces that are hands (on_hand=True): score below HAND_FACE_SCORE and box centre inside
    the bounding box of a hand's landmarks. Returns the same list (faces are updated in place)."""
    for f in faces:
        if f.score >= HAND_FACE_SCORE:
            continue
        x, y, w, h = f.box
        cx, cy = x + w / 2.0, y + h / 2.0
        for hand in hands:
            if not hand.points:
                continue
            p = np.asarray(hand.points, np.float64)
            (x0, y0), (x1, y1) = p.min(0), p.max(0)
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                f.on_hand = True
                break
    return faces


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


def printed_pose(pose: Pose | None, card: Card | None) -> bool:
    """The pose landmarker found the person printed on the card (a card photographed alone: its
    portrait's head and shoulders), not a live body: both shoulders inside the card quad and
    closer together than half the card's long side (a live person behind a held card has
    shoulders 2-4 card widths apart)."""
    if pose is None or card is None or len(pose.points) < 13:
        return False
    quad = g.order_quad(card.quad)
    sh = np.array([pose.points[11][:2], pose.points[12][:2]], np.float64)
    if not bool(g.points_in_quad(sh, quad).all()):
        return False
    long_side = float(max(g.side_lengths(quad)))
    return float(np.hypot(*(sh[0] - sh[1]))) < 0.5 * long_side


# --------------------------------------------------------------------------- exposure
PALM = (0, 1, 5, 9, 13, 17)  # hand landmarks around the palm: wrist, thumb base, knuckles


def exposure(bgr: np.ndarray, card: Card | None = None, faces: Sequence[Face] = (),
             hands: Sequence[Hand] = ()) -> float:
    """Mean luma 0..255 of the subject: live face boxes + card quad; without either, the palms of
    the hands seen (a hand held up before a white wall is the subject, not the wall); else the
    whole frame."""
    y = _luma(bgr)
    h, w = y.shape[:2]
    # The mask only over the bounding box of the face boxes and the quad (same pixels, same mean).
    boxes = [b for b in (_clip_box(f.box, w, h) for f in live_faces(faces)) if b]
    qm = _quad_mask_roi((h, w), card.quad) if card is not None else None
    rects = list(boxes)
    if qm is not None:
        rects.append((qm[1], qm[2], qm[1] + qm[0].shape[1], qm[2] + qm[0].shape[0]))
    if rects:
        x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
        x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for b in boxes:
            mask[b[1] - y0:b[3] - y0, b[0] - x0:b[2] - x0] = 255
        if qm is not None:
            m, qx, qy = qm
            sub = mask[qy - y0:qy - y0 + m.shape[0], qx - x0:qx - x0 + m.shape[1]]
            np.bitwise_or(sub, m, out=sub)
        if cv2.countNonZero(mask) >= 16:
            return float(cv2.mean(y[y0:y1, x0:x1], mask=mask)[0])
    elif hands:
        palms = [np.round([hand.points[i] for i in PALM]).astype(np.int32) for hand in hands
                 if len(hand.points) > max(PALM)]
        if palms:
            # the mask only over the palms' bounding box (clipped to the frame), as above
            bx, by, bw, bh = cv2.boundingRect(np.concatenate(palms))
            x0, y0, x1, y1 = max(0, bx), max(0, by), min(w, bx + bw), min(h, by + bh)
            if x1 > x0 and y1 > y0:
                mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
                for palm in palms:
                    cv2.fillConvexPoly(mask, cv2.convexHull(palm - (x0, y0)).astype(np.int32), 255)
                if cv2.countNonZero(mask) >= 16:
                    return float(cv2.mean(y[y0:y1, x0:x1], mask=mask)[0])
    return float(cv2.mean(y)[0])  # exact mean of the integers (as y.mean()), ~3x cheaper


def scene_light(bgr: np.ndarray) -> float:
    """95th-percentile luma 0..255 of the whole frame: how much light the scene has (a night
    room stays low even where the subject's own mean cannot tell it from a dark face)."""
    y = _luma(bgr)
    step = max(1, int(min(y.shape[:2]) // 360))  # a subsample is plenty for a percentile
    return _percentile_u8(np.ascontiguousarray(y[::step, ::step]), 95)


# --------------------------------------------------------------------------- sharpness
def reblur_sharpness(gray: np.ndarray) -> float:
    """How much fine detail a grey patch has at pixel level, 0..1 (unitless): the share of its
    gradient energy that a further Gaussian blur (sigma 1 px) removes, 1 - E(blur(I)) / E(I),
    taken in the worst direction so that motion blur in one direction counts ("re-blur"
    no-reference measure, Crete et al. 2007). Independent of contrast and exposure; a sharp
    patch loses much (0.25-0.6), an already blurred one little (< 0.1 at sigma 3)."""
    g32 = gray.astype(np.float32)
    if g32.size < 64 or float(g32.std()) < 2.0:
        return 0.0
    b32 = cv2.GaussianBlur(g32, (0, 0), 1.0)
    gx0, gy0 = cv2.Sobel(g32, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g32, cv2.CV_32F, 0, 1, ksize=3)
    gx1, gy1 = cv2.Sobel(b32, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(b32, cv2.CV_32F, 0, 1, ksize=3)
    # directional energies E(theta) = mean((cos gx + sin gy)^2) from the 3 second moments
    a0, b0, c0 = float(np.mean(gx0 * gx0)), float(np.mean(gy0 * gy0)), float(np.mean(gx0 * gy0))
    a1, b1, c1 = float(np.mean(gx1 * gx1)), float(np.mean(gy1 * gy1)), float(np.mean(gx1 * gy1))
    # The worst direction exactly: the largest e1/e0 over directions t is the largest root of
    # det(M1 - l M0) = 0 (M = [[a, c], [c, b]]). Sampling every 22.5 deg missed motion blur at
    # an angle between two samples: 4 % of the sharp energy across it outweighs what is left
    # along it.
    det0 = a0 * b0 - c0 * c0
    if min(a0, b0) <= 1e-6:
        return 0.0
    if det0 <= 1e-9 * a0 * b0:  # one-dimensional structure (stripes): judge across them
        return float(max(0.0, 1.0 - (a1 + b1) / (a0 + b0)))
    B = a0 * b1 + a1 * b0 - 2.0 * c0 * c1
    det1 = a1 * b1 - c1 * c1
    worst = (B + math.sqrt(max(0.0, B * B - 4.0 * det0 * det1))) / (2.0 * det0)
    return float(max(0.0, 1.0 - worst))


def focus_ratio(gray: np.ndarray) -> float:
    """Tenengrad energy / contrast on a grey patch: sqrt(mean(gx^2+gy^2)) / (8 std). Unitless.
    Kept for comparison; the measures use reblur_sharpness (better separation, see tests)."""
    g32 = gray.astype(np.float32)
    gx = cv2.Sobel(g32, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g32, cv2.CV_32F, 0, 1, ksize=3)
    contrast = float(g32.std())
    if contrast < 1.0:
        return 0.0
    return float(np.sqrt(np.mean(gx * gx + gy * gy))) / (8.0 * contrast)


def face_sharpness(bgr: np.ndarray, faces: Sequence[Face]) -> Optional[float]:
    """Focus of the largest live face: reblur_sharpness of the inner 70 % of its box, seen at
    720p scale (frames with a short side above 720 px are scaled down to it, smaller ones are
    not upscaled) and at most FACE_MAX px tall: a close-up face carries its detail at a coarser
    scale, and the averaging takes out sensor noise, which is fine detail too (measured on a 256 px
    crop, noise sigma 2 made most blurred faces look sharp; see tools/calibrate_face_sharp.py).
    Unitless 0..1; real faces at 720p measured 0.2-0.6 (median 0.32), blurred by 2 % of their
    width 0.04-0.1."""
    f = main_face(faces)
    if f is None:
        return None
    h, w = bgr.shape[:2]
    x, yy, bw, bh = f.box
    inner = (x + 0.15 * bw, yy + 0.15 * bh, 0.7 * bw, 0.7 * bh)
    b = _clip_box(inner, w, h)
    if b is None:
        return None
    crop = _luma(bgr[b[1]:b[3], b[0]:b[2]])  # luma is per pixel: crop first, convert only the crop
    s = min(1.0, 720.0 / min(h, w), FACE_MAX / max(1.0, 0.7 * bh))
    if s < 1.0:
        crop = cv2.resize(crop, (max(8, round(crop.shape[1] * s)), max(8, round(crop.shape[0] * s))),
                          interpolation=cv2.INTER_AREA)
    return reblur_sharpness(crop)


def rectify_card(bgr: np.ndarray, card: Card, max_width: int = 1200) -> np.ndarray:
    """The card warped flat at its natural pixel size (never upscaled), BGR."""
    q = g.order_quad(card.quad)
    sides = g.side_lengths(q)
    wpx = max(sides[0], sides[2])
    hpx = max(sides[1], sides[3])
    s = min(1.0, max_width / max(wpx, 1.0))  # natural size: never upscaled
    W, H = max(8, int(round(wpx * s))), max(8, int(round(hpx * s)))
    dst = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float32)
    M = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(bgr, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def card_sharpness(bgr: np.ndarray, card: Card | None) -> Optional[float]:
    """Focus of the card's print at full resolution: reblur_sharpness of the card warped flat at
    its natural pixel size (never upscaled), inner 90 %. Unitless 0..1; the text's own contrast
    cancels out. Sharp cards measured >= 0.3, blurred (sigma >= 2 px) <= 0.12 (see report)."""
    if card is None:
        return None
    flat = _luma(rectify_card(bgr, card))
    H, W = flat.shape[:2]
    m = int(round(0.05 * min(H, W)))
    inner = flat[m:H - m, m:W - m] if min(H, W) > 4 * m + 8 else flat
    if inner.size < 64:
        return None
    return reblur_sharpness(inner)


# --------------------------------------------------------------------------- glare
def glare(bgr: np.ndarray, card: Card | None) -> Optional[float]:
    """Fraction 0..1 of the card covered by specular blobs: luma >= max(240, min(253, p75 of the
    card's luma + 25)), HSV saturation < 0.25, 8-connected blobs >= 0.15 % of the card area
    (and >= 20 px). Measured on the full-resolution frame inside the card quad only."""
    if card is None:
        return None
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    h, w = bgr.shape[:2]
    qm = _quad_mask_roi((h, w), card.quad)
    if qm is None:
        return None
    mask, qx, qy = qm
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw < 4 or bh < 4:
        return None
    roi = bgr[qy + y:qy + y + bh, qx + x:qx + x + bw]
    m = mask[y:y + bh, x:x + bw] > 0
    area = int(m.sum())
    if area < 16:
        return None
    hsv = cv2.cvtColor(roi, cv2.COLOR_BGR2HSV)
    lum = _luma(roi)
    # the card's own light level (p75: white card stock raises it, so a white card's
    # background is not glare; a highlight must stand clearly above it)
    bg = _percentile_u8(lum[m], 75)
    thr = max(GLARE_LUMA, min(253.0, bg + 25.0))
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
    y = _luma(bgr)
    h, w = y.shape[:2]
    b = _clip_box((f.box[0] + 0.2 * f.box[2], f.box[1] + 0.2 * f.box[3], 0.6 * f.box[2], 0.6 * f.box[3]), w, h)
    if b is None:
        return None
    face_l = float(cv2.mean(y[b[1]:b[3], b[0]:b[2]])[0])
    band = max(2, int(0.08 * min(h, w)))
    fb = _clip_box(f.box, w, h)
    # The background band as three disjoint strips (top; left and right below it), each minus the
    # face box: integer sums over the strips only, instead of a float copy of the whole frame and
    # a full-frame boolean mask (~5 ms at 1080p). Same pixels as the band mask.
    strips = [(0, 0, w, min(band, h))]
    if h > band:
        left_w = min(band, w)
        strips.append((0, band, left_w, h))
        if w - band > left_w:
            strips.append((w - band, band, w, h))
        elif w > left_w:
            strips.append((left_w, band, w, h))
    total = count = 0
    for sx0, sy0, sx1, sy1 in strips:
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        total += int(y[sy0:sy1, sx0:sx1].sum(dtype=np.int64))
        count += (sx1 - sx0) * (sy1 - sy0)
        if fb:
            ix0, iy0, ix1, iy1 = max(sx0, fb[0]), max(sy0, fb[1]), min(sx1, fb[2]), min(sy1, fb[3])
            if ix1 > ix0 and iy1 > iy0:
                total -= int(y[iy0:iy1, ix0:ix1].sum(dtype=np.int64))
                count -= (ix1 - ix0) * (iy1 - iy0)
    bg = total / count if count > 0 else float(cv2.mean(y)[0])
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
def measure_pixels(bgr: np.ndarray, card: Card | None, faces: list[Face], hands: Sequence[Hand] = ()) -> Measures:
    """Every measure that needs no landmarks but the faces (all but fingers_on_text, left None):
    the fast Analyzer runs these while the hand and pose landmarkers are still busy (`hands`, for
    the exposure of a frame with neither face nor card, may then be the previous frame's)."""
    h, w = bgr.shape[:2]
    # One luma image for every measure that needs only luma (each used to convert the whole
    # frame itself: 4 full-frame conversions, ~0.7 ms each at 1080p). Glare and card sharpness
    # need colour / warp the BGR pixels and work on the card's region only.
    y = _luma(bgr)
    return Measures(
        exposure=exposure(y, card, faces, hands),
        face_sharpness=face_sharpness(y, faces),
        card_sharpness=card_sharpness(bgr, card),
        glare=glare(bgr, card),
        backlight=backlight(y, faces),
        card_tilt=card_tilt(card, w, h),
        fingers_on_text=None,
        scene_light=scene_light(y),
    )


def measure(bgr: np.ndarray, card: Card | None, faces: list[Face], hands: list[Hand],
            pose: Pose | None) -> Measures:
    """All measures of one frame. Faces should already carry on_card (mark_printed_faces).
    (`pose` is not used by any measure today; it stays in the signature for the callers.)"""
    m = measure_pixels(bgr, card, faces, hands)
    m.fingers_on_text = fingers_on_text(card, hands)
    return m
