"""Synthetic test scenes: a real ID-card specimen pasted with a known homography into a real photo
of a person, with known corners and known defects; and scenario recordings built from them.

Everything here is generated at test / eval time from the shared photos (../shared/frames) and
never written into the repository: these are identity-document look-alikes.

How a scene is made (make_scene):
  1. the base photo is scaled and cropped to the output size (1280x720, portrait bases 720x1280),
     keeping the face inside; MediaPipe (coach.vision.landmarks) finds the face, hands and pose
     on the base once (cached), or a Haar face detector when the models are not available;
  2. the card (a specimen cropped to the card itself, resampled to the ID-1 aspect, rounded
     corners) is placed where the person's hands are (between the two hands, their knuckles at
     the card's short edges) or at the chest below the face, seen through a pinhole camera with
     a small random 3-D tilt (<= 12 deg), then warped with that homography;
  3. the card's brightness and colour follow the scene (face luma, grey-world tint, a soft light
     gradient), it gets the photo's own noise level and a slight optical blur;
  4. the person's own fingers (hand-landmark mask refined by skin colour) are re-pasted over the
     card's border band only, so the hands hold it by its edges and never cover its text;
  5. at most one defect is applied, each making one named check fail.

`Scene.expected` holds only what the scene determines (check id -> expected pass in the hand-held
profile); a check whose outcome the scene leaves open (e.g. hands_on_card on a base photo where
only one hand is visible, or card_sharp on a frame that is nearly black) is left out.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np

from coach.types import Hand, Pose

ID1_ASPECT = 85.6 / 54.0
CORNER_RADIUS = 3.18 / 85.6  # ISO/IEC 7810 corner radius as a fraction of the card width
BORDER_BAND = 0.08  # fingers may cover this fraction of the card's short side along its edges
MAX_UPSCALE = 2.2  # base photos needing more upscaling are too soft to claim face_sharp

DEFECTS: tuple[str, ...] = (
    "too_big", "too_small", "cut_off", "card_blur", "face_blur", "dark", "overexposed", "glare",
    "backlight", "card_over_face", "tilted", "finger_on_text", "low_res",
)

# Every check of the hand-held profile that a good scene determines.
GOOD_CHECKS = ("resolution", "exposure", "face_visible", "face_sharp", "backlight", "face_uncovered",
               "card_present", "card_in_frame", "card_size", "card_sharp", "glare", "card_facing",
               "card_unoccluded")

# The check each defect makes fail, and the checks it leaves undetermined (dropped from expected).
DEFECT_FAILS: dict[str, tuple[str, ...]] = {
    "too_big": ("card_size",),
    "too_small": ("card_size",),
    "cut_off": ("card_in_frame",),
    "card_blur": ("card_sharp",),
    "face_blur": ("face_sharp",),
    "dark": ("exposure",),
    "overexposed": ("exposure",),
    "glare": ("glare",),
    "backlight": ("backlight",),
    "card_over_face": ("face_uncovered", "face_visible"),
    "tilted": ("card_facing",),
    "finger_on_text": ("card_unoccluded",),
    "low_res": ("resolution",),
}
DEFECT_DROPS: dict[str, tuple[str, ...]] = {
    # a card > 1/2 of the frame hides most of the body: who holds it is no longer judged
    "too_big": ("hands_on_card", "arms_visible"),
    # a card of ~60 px: its text, glare and fingers cannot be judged, only its size
    "too_small": ("card_sharp", "glare", "card_unoccluded", "card_facing", "hands_on_card", "arms_visible"),
    "cut_off": ("hands_on_card", "arms_visible"),
    "card_blur": ("card_unoccluded",),
    "face_blur": (),
    # night-dark / washed-out frames: only the light is determined; whether a face or a card
    # can still be made out at a mean luma of 15 or 240 is left open
    "dark": tuple(c for c in GOOD_CHECKS + ("hands_on_card", "arms_visible") if c not in ("resolution", "exposure")),
    "overexposed": tuple(c for c in GOOD_CHECKS + ("hands_on_card", "arms_visible")
                         if c not in ("resolution", "exposure")),
    "glare": ("card_sharp",),
    "backlight": ("exposure", "face_sharp", "card_sharp", "glare"),
    "card_over_face": ("face_sharp", "backlight", "hands_on_card", "arms_visible"),
    "tilted": ("card_sharp", "card_unoccluded", "glare"),
    "finger_on_text": ("hands_on_card", "card_sharp"),
    # a webcam-like 0.5-0.8x frame: the card has fewer pixels, its legibility is open
    "low_res": ("card_sharp", "card_unoccluded"),
}

# Specimen images with a margin around the card: (left, top, right, bottom) px to cut, measured by
# eye on the shared files (dark sleeve of spec_id_07, white margin + shadow of spec_id_06, dark
# scan border of spec_id_05). Other files are already cropped to the card edge.
CARD_MARGINS: dict[str, tuple[int, int, int, int]] = {
    "spec_id_05": (1, 4, 8, 4),
    "spec_id_06": (1, 2, 25, 27),
    "spec_id_07": (39, 0, 38, 1),
}


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8
    quad: Optional[list[tuple[float, float]]]  # true card corners, clockwise from top-left
    defects: tuple[str, ...]
    expected: dict[str, bool]  # check id -> expected pass (hand-held profile), only determined ones
    name: str
    base: str
    truth: dict = field(default_factory=dict)  # numbers behind the claims (area, tilt, face cover, ...)


# ----------------------------------------------------------------------------- small geometry
def order_quad(pts: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Clockwise (image coordinates, y down) starting at the top-left corner."""
    p = np.asarray(pts, np.float64)
    c = p.mean(0)
    ang = np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0])
    p = p[np.argsort(ang)]  # increasing angle = clockwise on screen
    start = int(np.argmin(p[:, 0] + p[:, 1]))
    p = np.roll(p, -start, axis=0)
    return [(float(x), float(y)) for x, y in p]


def polygon_area(pts: Sequence[Sequence[float]]) -> float:
    p = np.asarray(pts, np.float64)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def quad_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Jaccard index of two convex quads."""
    pa = np.asarray(order_quad(a), np.float32)
    pb = np.asarray(order_quad(b), np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    ua = polygon_area(pa) + polygon_area(pb) - inter
    return float(inter / ua) if ua > 0 else 0.0


def _box_quad(box: Sequence[float]) -> list[tuple[float, float]]:
    x, y, w, h = box
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def _frame_quad(w: int, h: int) -> list[tuple[float, float]]:
    return [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]


def _cover(box: Sequence[float], quad: Sequence[Sequence[float]]) -> float:
    """Fraction of the box covered by the quad."""
    bq = np.asarray(_box_quad(box), np.float32)
    inter, _ = cv2.intersectConvexConvex(bq, np.asarray(order_quad(quad), np.float32))
    return float(inter / max(1e-6, box[2] * box[3]))


def _visible_area(quad: Sequence[Sequence[float]], w: int, h: int) -> float:
    inter, _ = cv2.intersectConvexConvex(np.asarray(_frame_quad(w, h), np.float32),
                                         np.asarray(order_quad(quad), np.float32))
    return float(inter)


def _shrink(quad: Sequence[Sequence[float]], frac_w: float, frac_h: float) -> np.ndarray:
    """The quad's inner rectangle (in card coordinates) shrunk by frac of its width / height."""
    q = np.asarray(quad, np.float32)
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    hm = cv2.getPerspectiveTransform(src, q)
    inner = np.array([[frac_w, frac_h], [1 - frac_w, frac_h], [1 - frac_w, 1 - frac_h], [frac_w, 1 - frac_h]],
                     np.float32)
    return cv2.perspectiveTransform(inner[None], hm)[0]


def _rot(roll: float, yaw: float, pitch: float) -> np.ndarray:
    cr, sr = math.cos(roll), math.sin(roll)
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rz @ ry @ rx


@dataclass
class Pose3D:
    """Where the card is: centre (px), apparent width (px, at zero tilt), rotations (deg), focal (px)."""

    cx: float
    cy: float
    width: float
    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    focal: float = 1200.0

    @property
    def tilt(self) -> float:
        """Angle between the card plane and the sensor plane."""
        n = _rot(math.radians(self.roll), math.radians(self.yaw), math.radians(self.pitch)) @ np.array([0, 0, 1.0])
        return math.degrees(math.acos(min(1.0, abs(float(n[2])))))


def project_card(p: Pose3D, w: int, h: int) -> np.ndarray:
    """The card's 4 corners (card order: its own top-left, top-right, bottom-right, bottom-left)
    through a pinhole camera with the principal point at the image centre."""
    hw, hh = 0.5, 0.5 / ID1_ASPECT
    pts = np.array([[-hw, -hh, 0], [hw, -hh, 0], [hw, hh, 0], [-hw, hh, 0]], np.float64)
    r = _rot(math.radians(p.roll), math.radians(p.yaw), math.radians(p.pitch))
    z = p.focal / p.width  # a card of width 1 at depth z spans p.width px when facing the camera
    c = np.array([(p.cx - w / 2) * z / p.focal, (p.cy - h / 2) * z / p.focal, z])
    q = (r @ pts.T).T + c
    uv = p.focal * q[:, :2] / q[:, 2:3] + np.array([w / 2, h / 2])
    return uv


# ----------------------------------------------------------------------------- card images
def load_card(path: Path) -> np.ndarray:
    """A specimen image cropped to the card and resampled to the ID-1 aspect ratio."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read card image {path}")
    return prepare_card(img, CARD_MARGINS.get(Path(path).stem))


def prepare_card(img: np.ndarray, margins: Optional[tuple[int, int, int, int]] = None) -> np.ndarray:
    if margins:
        l, t, r, b = margins
        img = img[t:img.shape[0] - b, l:img.shape[1] - r]
    h, w = img.shape[:2]
    # Specimen scans are sometimes stretched (spec_id_09 is 1.87:1); real cards are ID-1.
    return cv2.resize(img, (w, int(round(w / ID1_ASPECT))), interpolation=cv2.INTER_AREA)


def _rounded_alpha(w: int, h: int, radius: float) -> np.ndarray:
    """Anti-aliased alpha of a rounded rectangle (4x supersampled)."""
    s = 4
    m = np.zeros((h * s, w * s), np.uint8)
    r = max(1, int(round(radius * s)))
    cv2.rectangle(m, (r, 0), (w * s - 1 - r, h * s - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w * s - 1, h * s - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w * s - 1 - r, r), (r, h * s - 1 - r), (w * s - 1 - r, h * s - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1)
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


# ----------------------------------------------------------------------------- base photos
@dataclass
class _Detections:
    face: Optional[tuple[float, float, float, float]]
    n_faces: int
    hands: list[Hand]
    pose: Optional[Pose]


@dataclass
class _Base:
    image: np.ndarray  # output size
    det: _Detections  # in output pixels
    scale: float  # output px per base px
    labels: dict
    hand_masks: dict = field(default_factory=dict)  # id(hand) -> soft mask, computed once

    def hand_mask(self, hand: Hand) -> np.ndarray:
        key = id(hand)
        if key not in self.hand_masks:
            self.hand_masks[key] = _hand_mask(self.image, hand)
        return self.hand_masks[key]


_LANDMARKS = None
_LANDMARKS_DIR: Optional[Path] = None
_LANDMARKS_TRIED = False
_DET_CACHE: dict[str, _Detections] = {}


def use_models(models_dir: Optional[Path]) -> None:
    """Find faces/hands/pose of the base photos with the models in this folder (default: the
    project's resolution order, --models / $COACH_MODELS / user cache, without downloading)."""
    global _LANDMARKS, _LANDMARKS_DIR, _LANDMARKS_TRIED
    if _LANDMARKS_TRIED and _LANDMARKS_DIR == models_dir:
        return
    if _LANDMARKS is not None:
        _LANDMARKS.close()
    _LANDMARKS, _LANDMARKS_DIR, _LANDMARKS_TRIED = None, models_dir, False
    _DET_CACHE.clear()
    _BASE_CACHE.clear()


def _landmarks():
    """One MediaPipe Landmarks (image mode) for the whole process, or None without models (then
    OpenCV's Haar face cascade stands in and no hands are known: scenes are less realistic)."""
    global _LANDMARKS, _LANDMARKS_TRIED
    if _LANDMARKS_TRIED:
        return _LANDMARKS
    _LANDMARKS_TRIED = True
    try:
        from coach.models import resolve_models
        from coach.vision.landmarks import Landmarks

        paths = resolve_models(_LANDMARKS_DIR, download=False, show_progress=False)
        _LANDMARKS = Landmarks(mode="image", model_paths=paths)
    except Exception:  # no models / no mediapipe
        _LANDMARKS = None
    return _LANDMARKS


def _detect(img: np.ndarray) -> _Detections:
    key = hashlib.blake2b(img.tobytes(), digest_size=16).hexdigest() + str(img.shape)
    if key in _DET_CACHE:
        return _DET_CACHE[key]
    lm = _landmarks()
    if lm is not None:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        faces = lm.faces(rgb)
        hands = lm.hands(rgb)
        pose = lm.pose(rgb)
        boxes = [f.box for f in faces]
    else:
        casc = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        found = casc.detectMultiScale(gray, 1.1, 5, minSize=(24, 24))
        boxes = sorted([tuple(float(v) for v in b) for b in found], key=lambda b: -b[2] * b[3])
        hands, pose = [], None
    det = _Detections(face=tuple(boxes[0]) if boxes else None, n_faces=len(boxes), hands=hands, pose=pose)
    _DET_CACHE[key] = det
    return det


def _out_size(shape: tuple[int, ...], size: tuple[int, int]) -> tuple[int, int]:
    long_, short = max(size), min(size)
    h, w = shape[:2]
    return (short, long_) if h > w else (long_, short)


_BASE_CACHE: dict = {}


def _prepare_base(base_img: np.ndarray, size: tuple[int, int], labels: Optional[dict] = None) -> _Base:
    key = (hashlib.blake2b(base_img.tobytes(), digest_size=16).hexdigest(), base_img.shape, tuple(size),
           tuple(sorted((labels or {}).items())), _LANDMARKS_DIR)
    if key not in _BASE_CACHE:
        if len(_BASE_CACHE) > 64:
            _BASE_CACHE.clear()
        _BASE_CACHE[key] = _prepare_base_uncached(base_img, size, labels)
    return _BASE_CACHE[key]


def _prepare_base_uncached(base_img: np.ndarray, size: tuple[int, int], labels: Optional[dict] = None) -> _Base:
    W, H = _out_size(base_img.shape, size)
    det0 = _detect(base_img)
    h, w = base_img.shape[:2]
    s = max(W / w, H / h)
    rw, rh = int(math.ceil(w * s)), int(math.ceil(h * s))
    if det0.face is not None:
        fx, fy, fw, fh = (v * s for v in det0.face)
        ox = fx + fw / 2 - W / 2
        oy = fy + fh / 2 - 0.3 * H  # face in the upper third, room for the card below
    else:
        ox, oy = (rw - W) / 2, 0.0
    ox = int(round(min(max(ox, 0), rw - W)))
    oy = int(round(min(max(oy, 0), rh - H)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    big = cv2.resize(base_img, (rw, rh), interpolation=interp)
    img = np.ascontiguousarray(big[oy:oy + H, ox:ox + W])

    def tp(x: float, y: float) -> tuple[float, float]:
        return x * s - ox, y * s - oy

    face = None
    if det0.face is not None:
        x, y, bw, bh = det0.face
        face = (x * s - ox, y * s - oy, bw * s, bh * s)
    hands = [Hand(points=[tp(*p) for p in hd.points], handedness=hd.handedness, score=hd.score) for hd in det0.hands]
    pose = None
    if det0.pose is not None:
        pose = Pose(points=[(*tp(x, y), v) for x, y, v in det0.pose.points])
    return _Base(image=img, det=_Detections(face, det0.n_faces, hands, pose), scale=s, labels=labels or {})


# ----------------------------------------------------------------------------- hands
_FINGERS = ((0, 1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
_PALM = (0, 1, 2, 5, 9, 13, 17)


def _palm_len(hand: Hand) -> float:
    p = np.asarray(hand.points)
    return float(np.linalg.norm(p[9] - p[0]))


def _hand_mask(img: np.ndarray, hand: Hand) -> np.ndarray:
    """Soft mask (0..1) of the hand: thick finger bones + palm polygon from the landmarks, kept
    where the colour is close to the hand's own skin (so background between fingers stays out)."""
    h, w = img.shape[:2]
    p = np.round(np.asarray(hand.points)).astype(np.int32)
    pl = max(6.0, _palm_len(hand))
    m = np.zeros((h, w), np.uint8)
    t = max(3, int(round(0.24 * pl)))
    for chain in _FINGERS:
        cv2.polylines(m, [p[list(chain)]], False, 255, t, cv2.LINE_AA)
    cv2.fillPoly(m, [cv2.convexHull(p[list(_PALM)])], 255)
    ycc = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    pts = np.clip(p, [0, 0], [w - 1, h - 1])
    samples = ycc[pts[:, 1], pts[:, 0], 1:]
    ref = np.median(samples, axis=0)
    dist = np.linalg.norm(ycc[:, :, 1:] - ref, axis=2)
    skin = (dist < 14).astype(np.uint8) * 255
    skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    m = cv2.bitwise_and(m, skin)
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 1.2)


def _hand_on_edge(hand: Hand, quad: np.ndarray) -> bool:
    """The hand visibly holds the card by its edge: several landmarks in a band around the card's
    outline, and the hand sticking out beyond the card (not hidden behind its middle)."""
    q = np.asarray(quad, np.float32)
    side = float(np.linalg.norm(q[1] - q[0]))
    band, outside = 0, 0
    for x, y in hand.points:
        d = cv2.pointPolygonTest(q, (float(x), float(y)), True)  # > 0 inside
        if abs(d) <= 0.12 * side:
            band += 1
        if d < 0:
            outside += 1
    return band >= 5 and outside >= 5


# ----------------------------------------------------------------------------- photo statistics
def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _noise_sigma(img: np.ndarray) -> float:
    g = _luma(img).astype(np.float32)
    hp = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    return float(np.clip(1.4826 * np.median(np.abs(hp)) * 1.2, 0.8, 4.0))


def _face_luma(b: _Base) -> float:
    img = b.image
    if b.det.face is not None:
        x, y, w, h = b.det.face
        x0, y0 = int(max(0, x + 0.25 * w)), int(max(0, y + 0.3 * h))
        x1, y1 = int(min(img.shape[1], x + 0.75 * w)), int(min(img.shape[0], y + 0.8 * h))
        if x1 > x0 + 2 and y1 > y0 + 2:
            return float(_luma(img[y0:y1, x0:x1]).mean())
    return float(_luma(img).mean())


def _card_gain(b: _Base, card: np.ndarray) -> float:
    """Light the card like the face next to it, but never burn its white out: a camera exposing
    for the face keeps a matte card's background below clipping (a clipped card would be glare)."""
    g = float(np.clip(_face_luma(b) / 150.0, 0.6, 1.05))
    p99 = float(np.percentile(card.max(axis=2), 99))
    return min(g, 232.0 / max(p99, 1.0))


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cv2.line(k, (int(round(c - dx * c)), int(round(c - dy * c))), (int(round(c + dx * c)), int(round(c + dy * c))),
             1.0, 1, cv2.LINE_AA)
    return k / k.sum()


# ----------------------------------------------------------------------------- placement
def _palm_centre(hand: Hand) -> np.ndarray:
    return np.asarray(hand.points)[[5, 9, 13, 17]].mean(0)


def _fits(quad: np.ndarray, w: int, h: int, margin: float) -> bool:
    return bool((quad[:, 0] >= margin).all() and (quad[:, 0] <= w - margin).all()
                and (quad[:, 1] >= margin).all() and (quad[:, 1] <= h - margin).all())


def _clear_of_face(quad: np.ndarray, face) -> bool:
    if face is None:
        return True
    x, y, w, h = face
    grown = (x - 0.1 * w, y - 0.15 * h, 1.2 * w, 1.35 * h)  # chin below the detector's box
    return _cover(grown, quad) == 0.0


def _sample_good_pose(b: _Base, rng: np.random.Generator, area_range=(0.07, 0.2), max_tilt=12.0) -> Pose3D:
    """A card held at the hands (or the chest), facing the camera within a few degrees."""
    H, W = b.image.shape[:2]
    focal = float(rng.uniform(0.8, 1.1) * max(W, H))
    face = b.det.face
    fb = (face[1] + face[3]) if face is not None else 0.3 * H
    fcx = (face[0] + face[2] / 2) if face is not None else W / 2
    hands = [hd for hd in b.det.hands if _palm_centre(hd)[1] > fb]
    for attempt in range(40):
        tilt = rng.uniform(0, max_tilt)
        phi = rng.uniform(0, 2 * math.pi)
        yaw, pitch = tilt * math.cos(phi), tilt * math.sin(phi)
        roll = float(rng.normal(0, 4))
        area = rng.uniform(*area_range)
        width = math.sqrt(area * W * H * ID1_ASPECT)
        if len(hands) >= 2 and attempt < 20:
            a, c = sorted((np.asarray(hd.points)[[5, 9, 13, 17]].mean(0) for hd in hands[:2]), key=lambda p: p[0])
            span = float(np.linalg.norm(c - a))
            wid = span * rng.uniform(0.95, 1.12)
            if 0.04 * W * H <= wid * wid / ID1_ASPECT <= 0.3 * W * H:
                # the knuckles at the card's short edges: held by its two ends
                width = wid
                roll = float(np.clip(math.degrees(math.atan2(c[1] - a[1], c[0] - a[0])), -10, 10))
                cx, cy = (a + c) / 2 + rng.normal(0, 0.02 * width, 2)
            else:
                # hands close together: the card stands on them, fingertips over its bottom border
                tips = np.concatenate([np.asarray(hd.points)[[4, 8, 12, 16, 20]] for hd in hands[:2]])
                width = max(width, 1.15 * float(tips[:, 0].max() - tips[:, 0].min()))
                hgt = width / ID1_ASPECT
                cx = float(tips[:, 0].mean() + rng.normal(0, 0.03 * width))
                cy = float(np.median(tips[:, 1]) + 0.5 * BORDER_BAND * hgt - hgt / 2)
        else:
            cx = fcx + rng.normal(0, 0.05 * W)
            hgt = width / ID1_ASPECT
            cy = fb + 0.25 * (face[3] if face is not None else 0.1 * H) + hgt / 2 + abs(rng.normal(0, 0.05 * H))
        p = Pose3D(float(cx), float(cy), float(width), roll, float(yaw), float(pitch), focal)
        q = project_card(p, W, H)
        if _fits(q, W, H, 0.03 * min(W, H)) and _clear_of_face(q, face):
            return p
        if attempt >= 20:
            area_range = (area_range[0], max(area_range[0] * 1.01, area_range[1] * 0.9))
    # Last resort: a small card low in the frame, centred.
    width = math.sqrt(area_range[0] * W * H * ID1_ASPECT)
    return Pose3D(W / 2, H - 0.05 * H - width / ID1_ASPECT / 2, width, 0, 0, 0, focal)


def _sample_defect_pose(b: _Base, rng: np.random.Generator, defect: str, good: Pose3D) -> Pose3D:
    H, W = b.image.shape[:2]
    face = b.det.face
    if defect == "too_big":
        portrait = H > W
        for _ in range(60):
            area = rng.uniform(0.56, 0.72)
            roll = 90.0 + rng.normal(0, 2) if portrait else rng.normal(0, 2)
            width = math.sqrt(area * W * H * ID1_ASPECT)
            hgt = width / ID1_ASPECT
            extent_y = width if portrait else hgt
            cx = W / 2 + rng.normal(0, 0.02 * W)
            cy = H - extent_y / 2 - rng.uniform(0.01, 0.04) * H
            p = replace(good, cx=float(cx), cy=float(cy), width=float(width), roll=float(roll),
                        yaw=float(rng.uniform(-5, 5)), pitch=float(rng.uniform(-5, 5)))
            q = project_card(p, W, H)
            if _fits(q, W, H, 2.0) and polygon_area(q) > 0.52 * W * H:
                return p
        return p
    if defect == "too_small":
        area = rng.uniform(0.006, 0.016)
        return replace(good, width=float(math.sqrt(area * W * H * ID1_ASPECT)))
    if defect == "cut_off":
        for _ in range(60):
            p = replace(good)
            side = rng.choice(["left", "right", "bottom"])
            q = project_card(p, W, H)
            frac = rng.uniform(0.12, 0.35)
            span_x = q[:, 0].max() - q[:, 0].min()
            span_y = q[:, 1].max() - q[:, 1].min()
            if side == "left":
                p.cx += -q[:, 0].min() - frac * span_x
            elif side == "right":
                p.cx += (W - q[:, 0].max()) + frac * span_x
            else:
                p.cy += (H - q[:, 1].max()) + frac * span_y
            q = project_card(p, W, H)
            out = int(((q[:, 0] < 0) | (q[:, 0] > W) | (q[:, 1] < 0) | (q[:, 1] > H)).sum())
            if 1 <= out <= 2 and _clear_of_face(q, face) and _visible_area(q, W, H) > 0.4 * polygon_area(q):
                return p
        return p
    if defect == "card_over_face" and face is not None:
        x, y, fw, fh = face
        width = max(1.5 * fw, 1.3 * fh * ID1_ASPECT) * rng.uniform(1.05, 1.3)
        return replace(good, cx=float(x + fw / 2 + rng.normal(0, 0.05 * fw)),
                       cy=float(y + 0.55 * fh + rng.normal(0, 0.05 * fh)), width=float(width))
    if defect == "tilted":
        for _ in range(40):
            tilt = rng.uniform(48, 62)
            phi = rng.choice([0.0, math.pi, math.pi / 2, 3 * math.pi / 2]) + rng.normal(0, 0.2)
            p = replace(good, yaw=float(tilt * math.cos(phi)), pitch=float(tilt * math.sin(phi)))
            q = project_card(p, W, H)
            if _fits(q, W, H, 0.02 * min(W, H)) and _clear_of_face(q, face) and p.tilt > 45:
                return p
        return p
    return good


# ----------------------------------------------------------------------------- rendering
def _card_texture(card: np.ndarray, width_px: float, rng: np.random.Generator, gain: float,
                  tint: np.ndarray, glare: bool) -> tuple[np.ndarray, np.ndarray]:
    """The card image at about 1.5x its on-screen size, lit like the scene; and its alpha."""
    ch, cw = card.shape[:2]
    tw = int(max(32, min(cw, round(1.5 * width_px))))
    th = int(round(tw / ID1_ASPECT))
    tex = cv2.resize(card, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
    # soft light gradient across the card (it is never lit perfectly evenly)
    gx, gy = rng.normal(0, 0.05, 2)
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    grad = 1.0 + gx * (xx / tw - 0.5) + gy * (yy / th - 0.5)
    tex = tex * (gain * grad)[:, :, None] * tint[None, None, :]
    if glare:
        tex = _add_glare(tex, rng)
    alpha = _rounded_alpha(tw, th, CORNER_RADIUS * tw)
    return tex, alpha


def _add_glare(tex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A specular reflection: a bright, desaturated, soft-edged ellipse with a clipped core, over
    the card's text area (1.5-5 % of the card)."""
    th, tw = tex.shape[:2]
    cx = rng.uniform(0.3, 0.75) * tw
    cy = rng.uniform(0.3, 0.7) * th
    frac = rng.uniform(0.03, 0.07)
    ratio = rng.uniform(1.3, 2.5)
    a = math.sqrt(frac * tw * th * ratio / math.pi)
    bb = a / ratio
    ang = rng.uniform(0, 180)
    m = np.zeros((th, tw), np.float32)
    cv2.ellipse(m, (int(cx), int(cy)), (int(a), int(bb)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    # a wide soft falloff (reflections of a lamp or window fade out over their own size) around
    # a burned-out centre
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, 0.45 * bb))
    core = np.clip(m * 1.35, 0, 1) ** 1.3
    white = np.full_like(tex, 255.0 * rng.uniform(1.0, 1.08))
    return tex * (1 - core[:, :, None]) + white * core[:, :, None]


def _warp(tex: np.ndarray, alpha: np.ndarray, quad_card_order: np.ndarray, W: int, H: int):
    """Warp texture + alpha so the card's outline lands exactly on quad (its own corner order).
    Returns (layer, alpha, (x0, y0)) cropped to the quad's bounding box inside the frame."""
    th, tw = tex.shape[:2]
    src = np.array([[-0.5, -0.5], [tw - 0.5, -0.5], [tw - 0.5, th - 0.5], [-0.5, th - 0.5]], np.float32)
    x0 = int(max(0, math.floor(quad_card_order[:, 0].min()) - 2))
    y0 = int(max(0, math.floor(quad_card_order[:, 1].min()) - 2))
    x1 = int(min(W, math.ceil(quad_card_order[:, 0].max()) + 3))
    y1 = int(min(H, math.ceil(quad_card_order[:, 1].max()) + 3))
    if x1 <= x0 or y1 <= y0:
        return None
    dst = (quad_card_order - np.array([x0, y0])).astype(np.float32)
    hm = cv2.getPerspectiveTransform(src, dst)
    # Supersampled alpha edge: sharp but anti-aliased outline.
    lay = cv2.warpPerspective(tex, hm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    al = cv2.warpPerspective(alpha, hm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
    return lay, al, (x0, y0)


def _thumb(img: np.ndarray, quad: np.ndarray, b: _Base, rng: np.random.Generator) -> np.ndarray:
    """A thumb-like shape entering from one of the card's edges and lying over its text: skin
    colour sampled from the face, shaded across its width, a lighter nail at the tip."""
    out = img.copy()
    H, W = img.shape[:2]
    q = np.asarray(quad, np.float64)  # card order
    short = float(np.linalg.norm(q[3] - q[0]))
    edge = int(rng.integers(0, 4))  # 0 top, 1 right, 2 bottom, 3 left
    a, c = q[edge], q[(edge + 1) % 4]
    t = rng.uniform(0.3, 0.7)
    base_pt = a + t * (c - a)
    centre = q.mean(0)
    inward = centre - base_pt
    inward /= np.linalg.norm(inward) + 1e-9
    depth = short * rng.uniform(0.45, 0.65)  # reaches well past the 12 % border band
    tip = base_pt + inward * depth
    start = base_pt - inward * short * 0.5
    width = short * rng.uniform(0.28, 0.36)
    length = float(np.linalg.norm(tip - start))
    ang = math.degrees(math.atan2(inward[1], inward[0]))
    # skin colour
    if b.det.face is not None:
        x, y, fw, fh = b.det.face
        patch = b.image[int(max(0, y + 0.45 * fh)):int(min(H, y + 0.7 * fh)), int(max(0, x + 0.3 * fw)):int(min(W, x + 0.7 * fw))]
        skin = np.median(patch.reshape(-1, 3), 0) if patch.size else np.array([120, 150, 200.0])
    else:
        skin = np.array([120, 150, 200.0])
    mid = (start + tip) / 2
    m = np.zeros((H, W), np.float32)
    cv2.ellipse(m, (int(mid[0]), int(mid[1])), (int(length / 2), int(width / 2)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    m = cv2.GaussianBlur(m, (0, 0), max(0.8, width * 0.04))
    # shading across the thumb's width: darker at its sides
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    nx, ny = -inward[1], inward[0]
    across = ((xx - mid[0]) * nx + (yy - mid[1]) * ny) / (width / 2)
    shade = np.clip(1.05 - 0.35 * across ** 2, 0.55, 1.1)
    col = skin[None, None, :] * shade[:, :, None]
    # nail: a lighter, pinker ellipse near the tip
    nail = np.zeros((H, W), np.float32)
    npt = tip - inward * width * 0.55
    cv2.ellipse(nail, (int(npt[0]), int(npt[1])), (int(width * 0.38), int(width * 0.3)), ang, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    nail = cv2.GaussianBlur(nail, (0, 0), max(0.8, width * 0.05)) * 0.45
    col = col * (1 - nail[:, :, None]) + np.minimum(255, skin * 1.25 + 15)[None, None, :] * nail[:, :, None]
    out = out * (1 - m[:, :, None]) + col * m[:, :, None]
    return out


def _person_mask(b: _Base, quad: Optional[np.ndarray]) -> np.ndarray:
    """A soft mask of the person (head, torso, arms from the pose; else from the face box) and the card."""
    H, W = b.image.shape[:2]
    m = np.zeros((H, W), np.uint8)
    face = b.det.face
    if face is not None:
        x, y, fw, fh = face
        cv2.ellipse(m, (int(x + fw / 2), int(y + 0.38 * fh)), (int(0.58 * fw), int(0.85 * fh)), 0, 0, 360, 255, -1)
    pose = b.det.pose
    if pose is not None:
        pts = np.asarray([(p[0], p[1]) for p in pose.points])
        sh_w = float(np.linalg.norm(pts[11] - pts[12]))
        torso = np.array([pts[11], pts[12], pts[24], pts[23]])
        # hips are often below the frame: extend the torso to the bottom
        torso[2:, 1] = np.maximum(torso[2:, 1], H + 10)
        cv2.fillConvexPoly(m, np.round(cv2.convexHull(torso.astype(np.float32))).astype(np.int32), 255)
        for chain in ((11, 13, 15), (12, 14, 16)):
            cv2.polylines(m, [np.round(pts[list(chain)]).astype(np.int32)], False, 255, max(3, int(0.35 * sh_w)))
        neck = np.array([pts[11], pts[12]]).mean(0)
        if face is not None:
            cv2.line(m, (int(neck[0]), int(neck[1])), (int(face[0] + face[2] / 2), int(face[1] + face[3] / 2)), 255,
                     max(3, int(0.6 * face[2])))
    elif face is not None:
        x, y, fw, fh = face
        cv2.rectangle(m, (int(x - 0.9 * fw), int(y + 1.1 * fh)), (int(x + 1.9 * fw), H), 255, -1)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 255)
    m = _grabcut_refine(b.image, m)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 255)
    if face is not None:  # GrabCut may give a face to a similar-coloured background: never
        x, y, fw, fh = face
        cv2.ellipse(m, (int(x + fw / 2), int(y + 0.45 * fh)), (int(0.5 * fw), int(0.62 * fh)), 0, 0, 360, 255, -1)
    k = max(2, int(0.006 * max(W, H)))
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), k)


def _subject_mask(b: _Base, quad: Optional[np.ndarray]) -> np.ndarray:
    """Face box + card quad: what the exposure of a hand-held ID photo is about."""
    H, W = b.image.shape[:2]
    m = np.zeros((H, W), np.uint8)
    if b.det.face is not None:
        x, y, fw, fh = b.det.face
        cv2.rectangle(m, (int(max(0, x)), int(max(0, y))), (int(min(W - 1, x + fw)), int(min(H - 1, y + fh))), 1, -1)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 1)
    if not m.any():
        m[:] = 1
    return m.astype(bool)


def _grabcut_refine(img: np.ndarray, rough: np.ndarray) -> np.ndarray:
    """Snap the rough person mask (from the pose / face box) to the photo's own edges with
    GrabCut at half resolution: its eroded core is sure foreground, far outside is background."""
    H, W = rough.shape
    s = 320.0 / max(W, H)  # GrabCut is slow: a 320 px image is enough for a soft silhouette
    small = cv2.resize(img, (int(W * s), int(H * s)), interpolation=cv2.INTER_AREA)
    r = cv2.resize(rough, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    k = max(3, int(0.05 * max(small.shape[:2])))
    sure_fg = cv2.erode(r, np.ones((k, k), np.uint8))
    maybe = cv2.dilate(r, np.ones((2 * k, 2 * k), np.uint8))
    gc = np.full(r.shape, cv2.GC_BGD, np.uint8)
    gc[maybe > 0] = cv2.GC_PR_BGD
    gc[r > 0] = cv2.GC_PR_FGD
    gc[sure_fg > 0] = cv2.GC_FGD
    if not (gc == cv2.GC_FGD).any() or not (gc == cv2.GC_BGD).any():
        return rough
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, gc, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return rough
    fg = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    return cv2.resize(fg, (W, H), interpolation=cv2.INTER_LINEAR)


@dataclass
class _Render:
    """Everything random about a scene, fixed up front so scenario frames can re-render it."""

    pose: Pose3D
    gain: float
    tint: np.ndarray
    card_blur: float
    seed: int  # texture / noise randomness


def _render(b: _Base, card: np.ndarray, r: _Render, defect: Optional[str], rng: np.random.Generator,
            dparams: dict) -> tuple[np.ndarray, np.ndarray]:
    """Compose one frame. Returns (BGR uint8, quad in the card's own corner order)."""
    H, W = b.image.shape[:2]
    base = b.image.astype(np.float32)
    out = base.copy()
    quad = project_card(r.pose, W, H)
    trng = np.random.default_rng(r.seed)
    tex, alpha = _card_texture(card, r.pose.width, trng, r.gain, r.tint, glare=(defect == "glare"))
    warped = _warp(tex, alpha, quad, W, H)
    noise_sigma = _noise_sigma(b.image)
    if warped is not None:
        lay, al, (x0, y0) = warped
        blur = r.card_blur
        if defect == "card_blur":
            if dparams.get("motion"):
                k = _motion_kernel(int(dparams["length"]), float(dparams["angle"]))
                lay = cv2.filter2D(lay, -1, k)
                al = cv2.filter2D(al, -1, k)
            else:
                s = float(dparams["sigma"])
                lay = cv2.GaussianBlur(lay, (0, 0), s)
                al = cv2.GaussianBlur(al, (0, 0), s)
        elif blur > 0:
            lay = cv2.GaussianBlur(lay, (0, 0), blur)
        lay = lay + rng.normal(0, noise_sigma, lay.shape[:2])[:, :, None].astype(np.float32)
        hh, ww = lay.shape[:2]
        roi = out[y0:y0 + hh, x0:x0 + ww]
        out[y0:y0 + hh, x0:x0 + ww] = roi * (1 - al[:, :, None]) + lay * al[:, :, None]

    # The person's fingers back over the card's border band (never over its text).
    if defect != "card_over_face":
        inner = _shrink(quad, BORDER_BAND / ID1_ASPECT, BORDER_BAND)
        allowed = np.ones((H, W), np.float32)
        im = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(im, np.round(inner).astype(np.int32), 255)
        allowed -= cv2.GaussianBlur(im.astype(np.float32) / 255.0, (0, 0), 1.0)
        for hd in b.det.hands:
            hm = b.hand_mask(hd)
            if dparams.get("hand_in_front") is hd:
                m = hm  # the whole hand lies in front of the card, fingers over its text
            else:
                m = hm * allowed
            out = out * (1 - m[:, :, None]) + base * m[:, :, None]

    if defect == "finger_on_text" and dparams.get("hand_in_front") is None:
        out = _thumb(out, quad, b, rng)

    if defect == "face_blur" and b.det.face is not None:
        x, y, fw, fh = b.det.face
        m = np.zeros((H, W), np.float32)
        cv2.ellipse(m, (int(x + fw / 2), int(y + fh * 0.45)), (int(0.8 * fw), int(1.0 * fh)), 0, 0, 360, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), 0.08 * fw)
        if dparams.get("motion"):
            blurred = cv2.filter2D(out, -1, _motion_kernel(int(dparams["length"]), float(dparams["angle"])))
        else:
            blurred = cv2.GaussianBlur(out, (0, 0), float(dparams["sigma_rel"]) * fw)
        out = out * (1 - m[:, :, None]) + blurred * m[:, :, None]

    if defect in ("backlight", "dark", "overexposed"):
        subj = _subject_mask(b, quad)
        luma = lambda img: float(_luma(np.clip(img, 0, 255).astype(np.uint8))[subj].mean())  # noqa: E731
        before = max(1.0, luma(out))
    if defect == "backlight":
        pm = _person_mask(b, quad)[:, :, None]
        bright = 255.0 - (255.0 - out) * float(dparams["bg"])  # background pushed toward white
        bgm = pm[:, :, 0] < 0.05
        bg_l = float(_luma(np.clip(bright, 0, 255).astype(np.uint8))[bgm].mean()) if bgm.any() else 230.0
        # the camera exposes for the bright background: the person ends up at `ratio` of its luma
        fg = float(np.clip(dparams["ratio"] * bg_l / before, 0.08, 0.6))
        out = bright * (1 - pm) + out * fg * pm
        out = out + rng.normal(0, noise_sigma * 1.5, out.shape[:2])[:, :, None]
    elif defect == "dark":
        g = float(dparams["gamma"])
        shaped = 255.0 * (np.clip(out, 0, 255) / 255.0) ** g
        out = shaped * (float(dparams["target"]) / max(1.0, luma(shaped)))  # subject ends at the target luma
        out = out + rng.normal(0, dparams["noise"], out.shape[:2])[:, :, None]  # low light: sensor noise
    elif defect == "overexposed":
        off, target = float(dparams["offset"]), float(dparams["target"])
        gain = max(1.3, (target - off) / before)
        sub = np.clip(out[subj], 0, 255)
        for _ in range(30):  # clipping at 255 holds the mean back: raise the gain until it gets there
            y = np.clip(sub * gain + off, 0, 255) @ np.array([0.114, 0.587, 0.299])
            if y.mean() >= target or gain > 8:
                break
            gain *= 1.1
        out = np.clip(out, 0, 255) * gain + off

    return np.clip(out + 0.5, 0, 255).astype(np.uint8), quad


def _defect_params(defect: Optional[str], b: _Base, rng: np.random.Generator, r: _Render) -> dict:
    d: dict = {}
    if defect == "card_blur":
        if rng.random() < 0.5:
            d.update(motion=True, length=int(max(9, r.pose.width * rng.uniform(0.035, 0.06))), angle=rng.uniform(0, 180))
        else:
            d.update(sigma=float(r.pose.width * rng.uniform(0.008, 0.014)))
    elif defect == "face_blur":
        fw = b.det.face[2] if b.det.face is not None else 100
        if rng.random() < 0.5:
            d.update(motion=True, length=int(max(9, fw * rng.uniform(0.12, 0.2))), angle=rng.uniform(0, 180))
        else:
            d.update(sigma_rel=float(rng.uniform(0.035, 0.06)))
    # Light defects are defined on the subject (face + card), where a person judges them:
    # night-dark = mean luma 12-30, washed out = 230-245, backlit = face+card at 20-35 % of the
    # background's luma.
    elif defect == "dark":
        d.update(target=float(rng.uniform(12, 30)), gamma=float(rng.uniform(1.2, 1.5)), noise=float(rng.uniform(2, 4)))
    elif defect == "overexposed":
        d.update(target=float(rng.uniform(230, 245)), offset=float(rng.uniform(30, 60)))
    elif defect == "backlight":
        d.update(bg=float(rng.uniform(0.1, 0.3)), ratio=float(rng.uniform(0.2, 0.35)))
    return d


# ----------------------------------------------------------------------------- claims
def _claims(b: _Base, quad_img: np.ndarray, pose: Pose3D, defect: Optional[str], in_front: bool) -> tuple[dict, dict]:
    H, W = b.image.shape[:2]
    exp: dict[str, bool] = {c: True for c in GOOD_CHECKS}
    truth: dict = {}
    area = polygon_area(quad_img)
    truth["card_area_frac"] = round(area / (W * H), 4)
    truth["card_visible_frac"] = round(_visible_area(quad_img, W, H) / (W * H), 4)
    truth["tilt_deg"] = round(pose.tilt, 2)
    labels = b.labels
    face = b.det.face
    # face: the base must show exactly one person, the whole face inside the frame
    one_face = labels.get("faces", 1 if b.det.n_faces == 1 else None) == 1
    cover = _cover(face, quad_img) if face is not None else 0.0
    truth["face_cover"] = round(cover, 3)
    if face is None:
        for c in ("face_visible", "face_sharp", "backlight", "face_uncovered"):
            exp.pop(c, None)
    else:
        if not one_face:
            exp.pop("face_visible", None)
        x, y, fw, fh = face
        inside = x >= 0.05 * fw and y >= 0 and x + fw <= W - 0.05 * fw and y + fh <= H
        if cover > 0.0:  # a (partly) hidden face: its focus and its light are not judged
            exp.pop("face_sharp", None)
            exp.pop("backlight", None)
        if cover >= 0.6:
            exp["face_uncovered"] = False
            if one_face:
                exp["face_visible"] = False
        elif cover > 0.0:
            exp.pop("face_uncovered", None)
            exp.pop("face_visible", None)
        elif not inside:
            exp.pop("face_visible", None)
    if b.scale > MAX_UPSCALE or labels.get("sharp") is False:
        exp.pop("face_sharp", None)
    if labels.get("lighting") not in (None, "even"):
        exp.pop("exposure", None)
        exp.pop("backlight", None)

    # hands: claim only what the base photo allows
    n_hands_label = labels.get("hands")
    on_edge = [hd for hd in b.det.hands if _hand_on_edge(hd, quad_img)]
    truth["hands_detected"] = len(b.det.hands)
    truth["hands_on_edge"] = len(on_edge)
    n_vis = n_hands_label if n_hands_label is not None else len(b.det.hands)
    if n_vis >= 2 and len(on_edge) >= 2:
        exp["hands_on_card"] = True
        pose_ok = b.det.pose is not None and all(
            0 <= b.det.pose.points[i][0] < W and 0 <= b.det.pose.points[i][1] < H for i in (13, 14, 15, 16))
        if labels.get("forearms") is True and pose_ok:
            exp["arms_visible"] = True
    elif n_vis == 0:
        # nobody's hand is in the picture: the card cannot be held in both hands. Bases with one
        # hand, or hands the landmarker missed, leave hands_on_card open.
        exp["hands_on_card"] = False
    if defect:
        for c in DEFECT_DROPS[defect]:
            exp.pop(c, None)
        for c in DEFECT_FAILS[defect]:
            if defect == "card_over_face" and (cover < 0.6 or (c == "face_visible" and not one_face)):
                continue  # no face found to cover, or other faces in the photo: left open
            exp[c] = False
    if in_front:
        exp.pop("hands_on_card", None)
    return exp, truth


# ----------------------------------------------------------------------------- public API
def make_scene(base_img: np.ndarray, card_img: np.ndarray, rng: np.random.Generator, defect: Optional[str] = None,
               size: tuple[int, int] = (1280, 720), *, base_name: str = "", base_labels: Optional[dict] = None,
               name: str = "") -> Scene:
    """Paste the card into the base photo; `card_img` should come from load_card (cropped to the card)."""
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    b = _prepare_base(base_img, size, base_labels)
    H, W = b.image.shape[:2]
    good = _sample_good_pose(b, rng)
    pose = _sample_defect_pose(b, rng, defect, good) if defect else good
    card = prepare_card(card_img) if abs(card_img.shape[1] / card_img.shape[0] - ID1_ASPECT) > 0.01 else card_img
    gain = _card_gain(b, card) * float(rng.uniform(0.92, 1.0))
    means = b.image.reshape(-1, 3).mean(0)
    tint = 1.0 + 0.4 * (means / means.mean() - 1.0)
    r = _Render(pose=pose, gain=gain, tint=tint.astype(np.float32), card_blur=float(rng.uniform(0.3, 0.6)),
                seed=int(rng.integers(0, 2**31)))
    dparams = _defect_params(defect, b, rng, r)
    in_front = False
    if defect == "finger_on_text":
        hd = _hand_over_text(b, r, rng)
        if hd is not None:
            dparams["hand_in_front"] = hd
            in_front = True
    img, quad_cardorder = _render(b, card, r, defect, rng, dparams)
    quad = order_quad(quad_cardorder)
    expected, truth = _claims(b, np.asarray(quad), r.pose, defect, in_front)
    if defect == "low_res":
        # the same picture from a lower-resolution camera (pixel centres: x' = (x + 0.5) s - 0.5)
        s = float(rng.uniform(0.5, 0.8))
        h, w = img.shape[:2]
        img = cv2.resize(img, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
        sx, sy = img.shape[1] / w, img.shape[0] / h
        quad = [((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5) for x, y in quad]
        truth["low_res_scale"] = round(s, 3)
    truth["finger"] = "own_hand" if in_front else ("thumb" if defect == "finger_on_text" else None)
    truth["upscale"] = round(b.scale, 2)
    return Scene(image=img, quad=quad, defects=(defect,) if defect else (), expected=expected,
                 name=name or f"{base_name or 'base'}_{defect or 'good'}", base=base_name, truth=truth)


def _hand_over_text(b: _Base, r: _Render, rng: np.random.Generator) -> Optional[Hand]:
    """Move the card so one of the person's own hands lies in front of it with its fingertips over
    the text area; None when no hand allows it without covering the face or leaving the frame."""
    H, W = b.image.shape[:2]
    for hd in sorted(b.det.hands, key=lambda h: -_palm_len(h)):
        p = np.asarray(hd.points)
        tips = p[[8, 12]].mean(0)
        d = tips - p[0]
        d /= np.linalg.norm(d) + 1e-9
        for _ in range(10):
            off = rng.uniform(0.12, 0.25) * r.pose.width
            c = tips + d * off
            trial = replace(r.pose, cx=float(c[0]), cy=float(c[1]))
            q = project_card(trial, W, H)
            inner = _shrink(q, 0.15, 0.15)
            inside = sum(cv2.pointPolygonTest(inner.astype(np.float32), (float(x), float(y)), False) > 0
                         for x, y in p[[8, 12, 16]])
            if inside >= 2 and _fits(q, W, H, 0.03 * min(W, H)) and _clear_of_face(q, b.det.face):
                r.pose = trial
                return hd
    return None


# ----------------------------------------------------------------------------- base photo pool
def _yn(v: str) -> Optional[bool]:
    v = (v or "").strip().lower()
    return True if v == "y" else False if v == "n" else None


def base_pool(frames_dir: Path, size: tuple[int, int] = (1280, 720)) -> list[tuple[Path, dict]]:
    """Photos of one person, half-body, evenly lit, sharp, that need at most MAX_UPSCALE to reach
    the output size: (path, labels) with labels faces/hands/forearms/lighting/sharp."""
    frames_dir = Path(frames_dir)
    out: list[tuple[Path, dict]] = []
    people = frames_dir / "people" / "labels.csv"
    if people.is_file():
        with people.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if "NEGATIVE" in row.get("notes", ""):
                    continue
                if row["faces"] != "1" or row["half_body"] != "y" or row["lighting"] != "even":
                    continue
                labels = {"faces": 1, "hands": int(row["hands_visible"]), "forearms": _yn(row["forearms_visible"]),
                          "lighting": "even", "sharp": True}
                out.append((frames_dir / "people" / row["file"], labels))
    main = frames_dir / "labels.csv"
    if main.is_file():
        with main.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if not row["file"].startswith(("portrait_", "webcam_", "pose_")):
                    continue
                notes = row.get("notes", "")
                if "NEGATIVE" in notes or "Two " in notes or "Close-up" in notes or "close-up" in notes:
                    continue
                if row["face_visible"] != "y" or row["well_lit"] != "y" or row["sharp"] != "y":
                    continue
                # "exactly one live face": a photo with other people's faces in the background
                # (webcam_01) leaves face_visible to the profile's notion of background faces
                crowd = "background" in notes and ("people" in notes or "faces" in notes)
                labels = {"faces": None if crowd else 1, "hands": int(row["hands_visible"]),
                          "forearms": _yn(row["arms_visible"]), "lighting": "even", "sharp": True}
                out.append((frames_dir / row["file"], labels))
    long_, short = max(size), min(size)
    keep = []
    for path, labels in out:
        img = cv2.imread(str(path))
        if img is None:
            continue
        h, w = img.shape[:2]
        W, H = (short, long_) if h > w else (long_, short)
        if max(W / w, H / h) <= MAX_UPSCALE:
            keep.append((path, labels))
    return keep


def card_paths(frames_dir: Path) -> list[Path]:
    return sorted(Path(frames_dir).glob("spec_id_*.jpg"))


_IMG_CACHE: dict[str, np.ndarray] = {}


def _read(path: Path, card: bool = False) -> np.ndarray:
    key = f"{path}:{card}"
    if key not in _IMG_CACHE:
        img = load_card(path) if card else cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read {path}")
        _IMG_CACHE[key] = img
    return _IMG_CACHE[key]


def defect_schedule() -> list[Optional[str]]:
    """One cycle: as many good scenes as defects, then every defect once (26 scenes)."""
    return [None] * len(DEFECTS) + list(DEFECTS)


def iter_scenes(frames_dir: Path, n: int, seed: int = 1, size: tuple[int, int] = (1280, 720), *,
                models_dir: Optional[Path] = None) -> Iterator[Scene]:
    """n scenes; scene i depends only on (seed, i) - not on n."""
    if models_dir is not None:
        use_models(models_dir)
    pool = base_pool(frames_dir, size)
    cards = card_paths(frames_dir)
    if not pool or not cards:
        raise FileNotFoundError(f"no base photos or specimen cards under {frames_dir}")
    for i in range(n):
        yield _scene_i(pool, cards, seed, i, size)


def scene_at(frames_dir: Path, i: int, seed: int = 1, size: tuple[int, int] = (1280, 720)) -> Scene:
    """Scene number i of iter_scenes(frames_dir, n > i, seed) alone (to look at one the eval names)."""
    return _scene_i(base_pool(frames_dir, size), card_paths(frames_dir), seed, i, size)


def _scene_i(pool, cards, seed: int, i: int, size: tuple[int, int]) -> Scene:
    sched = defect_schedule()
    rng = np.random.default_rng([seed, i])
    path, labels = pool[int(rng.integers(len(pool)))]
    cpath = cards[int(rng.integers(len(cards)))]
    defect = sched[i % len(sched)]
    return make_scene(_read(path), _read(cpath, card=True), rng, defect, size, base_name=path.stem,
                      base_labels=labels, name=f"{i:04d}_{path.stem}_{cpath.stem}_{defect or 'good'}")


# ----------------------------------------------------------------------------- scenario recordings
SCENARIO_KINDS = ("becomes_right", "never_right", "half_body")
SCENARIO_HALF_BODY = "person_21"  # arms crossed, shoulders and torso in the frame, even light
SCENARIO_CARD = "spec_id_01"
HAND_HELD_CHECKS = GOOD_CHECKS + ("hands_on_card", "arms_visible")


def _scenario_layout(frames_dir: Path, size: tuple[int, int], seed: int,
                     base: Optional[str] = None) -> tuple[_Base, Pose3D, str]:
    """The base photo and card pose of the "right" phase, chosen by construction only: the first
    (base, try) whose good scene determines every hand-held check as passing (both hands on the
    card's edges, forearms in the frame). Never chosen by what the engine says."""
    best = None
    pool = base_pool(frames_dir, size)
    if base is not None:
        pool = [(p, lab) for p, lab in pool if p.stem == base]
        if not pool:
            raise ValueError(f"{base} is not one of the base photos (see base_pool)")
    for path, labels in pool:
        b = _prepare_base(_read(path), size, labels)
        for k in range(8):
            rng = np.random.default_rng([seed, 1_000_003, k])
            pose = _sample_good_pose(b, rng)
            exp, _ = _claims(b, np.asarray(order_quad(project_card(pose, *b.image.shape[1::-1]))), pose, None, False)
            score = sum(exp.get(c) is True for c in HAND_HELD_CHECKS)
            if best is None or score > best[0]:
                best = (score, b, pose, path.stem)
            if score == len(HAND_HELD_CHECKS):
                return b, pose, path.stem
    if best is None:
        raise FileNotFoundError(f"no base photos under {frames_dir}")
    return best[1], best[2], best[3]


def _jitter(img: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """A live camera never delivers the same frame twice: sub-pixel shake + sensor noise."""
    dx, dy = rng.normal(0, 0.4 * amount, 2)
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    out = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    noise = np.empty(img.shape[:2], np.float32)
    cv2.setRNGSeed(int(rng.integers(0, 2**31)))  # OpenCV's generator: ~10x faster than numpy here
    cv2.randn(noise, 0.0, 1.2 * amount)
    out = out.astype(np.int16) + np.rint(noise).astype(np.int16)[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def write_scenario(frames_dir: Path, out_dir: Path, kind: str, seed: int = 1, fps: float = 30, *,
                   models_dir: Optional[Path] = None, base: Optional[str] = None) -> Path:
    """Write a recording folder (000000.jpg ... + manifest.jsonl, recordings/README.md format) to
    out_dir/<kind> and return that folder.

    becomes_right: ~1 s card too big, ~1 s dark, ~1 s card blurred, then 2.5 s right.
    never_right:   5 s cycling through too big, dark, card blurred, glare, cut off (never right).
    half_body:     3 s of a person with shoulders and torso visible, no card.

    The base photo is chosen by construction (every hand-held check determined as passing in
    the right phase; today that is pose_01, the only photo whose two hands can hold the card by
    its edges); `base="person_21"` forces another one from base_pool (its claims may then leave
    hands_on_card open).
    """
    if kind not in SCENARIO_KINDS:
        raise ValueError(f"unknown scenario {kind!r}; known: {', '.join(SCENARIO_KINDS)}")
    if models_dir is not None:
        use_models(models_dir)
    size = (1280, 720)
    frames_dir = Path(frames_dir)
    card = _read(frames_dir / f"{SCENARIO_CARD}.jpg", card=True)
    folder = Path(out_dir) / kind
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    n_sec = 1.0
    if kind == "becomes_right":
        phases = [("too_big", n_sec), ("dark", n_sec), ("card_blur", n_sec), (None, 2.5)]
    elif kind == "never_right":
        phases = [(d, n_sec) for d in ("too_big", "dark", "card_blur", "glare", "cut_off")]
    else:
        phases = [("no_card", 3.0)]
    rng0 = np.random.default_rng([seed, 1_000_004])
    if kind == "half_body":
        pool = dict((p.stem, (p, lab)) for p, lab in base_pool(frames_dir, size))
        path, labels = pool.get(base or SCENARIO_HALF_BODY) or next(iter(pool.values()))
        b = _prepare_base(_read(path), size, labels)
        good = _sample_good_pose(b, rng0)  # unused: no card in this scenario
    else:
        b, good, _ = _scenario_layout(frames_dir, size, seed, base)
    means = b.image.reshape(-1, 3).mean(0)
    r0 = _Render(pose=good, gain=_card_gain(b, card),
                 tint=(1.0 + 0.4 * (means / means.mean() - 1.0)).astype(np.float32), card_blur=0.4,
                 seed=int(rng0.integers(0, 2**31)))
    per_phase: dict = {}
    for d, _ in phases:
        if d in (None, "no_card") or d in per_phase:
            continue
        pose = _sample_defect_pose(b, rng0, d, good)
        r = replace(r0, pose=pose)
        per_phase[d] = (r, _defect_params(d, b, rng0, r))
    # Each phase is rendered once; every frame then gets its own camera shake (sub-pixel shift)
    # and sensor noise, so no two frames are identical but the card stays steady as when held.
    rendered: dict = {}
    for d, _ in phases:
        if d in rendered:
            continue
        if d == "no_card":
            rendered[d] = b.image
        else:
            r, dp = per_phase.get(d, (r0, {}))
            rendered[d], _ = _render(b, card, r, d, np.random.default_rng([seed, 2_000_003]), dp)
    index = 0
    with (folder / "manifest.jsonl").open("w", encoding="utf-8") as man:
        for d, secs in phases:
            for _ in range(int(round(secs * fps))):
                img = _jitter(rendered[d], np.random.default_rng([seed, index]))
                name = f"{index:06d}.jpg"
                ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                if not ok:
                    raise RuntimeError("JPEG encoding failed")
                fp = folder / name
                fp.write_bytes(buf.tobytes())
                os.chmod(fp, 0o600)
                man.write(json.dumps({"index": index, "t": round(index / fps, 6), "file": name}) + "\n")
                man.flush()
                index += 1
    return folder
