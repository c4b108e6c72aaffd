"""Base photos of people: the pool chosen from the labels, scaled/cropped to the output size, with their
face, hands and pose found once (MediaPipe through coach.vision.landmarks, cached)."""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from coach.types import Hand, Pose
from coach.synth.cards import load_card
from coach.synth.hands import _hand_mask


MAX_UPSCALE = 2.2  # base photos needing more upscaling are too soft to claim face_sharp


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


def _prepare_base(base_img: np.ndarray, size: tuple[int, int], labels: Optional[dict] = None,
                  zoom: float = 1.0) -> _Base:
    """The base photo scaled to cover the output size (times `zoom`: a closer framing) and cropped
    with the face in the upper third; its detections moved along."""
    key = (hashlib.blake2b(base_img.tobytes(), digest_size=16).hexdigest(), base_img.shape, tuple(size),
           tuple(sorted((labels or {}).items())), _LANDMARKS_DIR, round(zoom, 4))
    if key not in _BASE_CACHE:
        if len(_BASE_CACHE) > 64:
            _BASE_CACHE.clear()
        _BASE_CACHE[key] = _prepare_base_uncached(base_img, size, labels, zoom)
    return _BASE_CACHE[key]


def _prepare_base_uncached(base_img: np.ndarray, size: tuple[int, int], labels: Optional[dict] = None,
                           zoom: float = 1.0) -> _Base:
    W, H = _out_size(base_img.shape, size)
    det0 = _detect(base_img)
    h, w = base_img.shape[:2]
    s = max(W / w, H / h) * zoom
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


_IMG_CACHE: dict[str, np.ndarray] = {}


def _read(path: Path, card: bool = False) -> np.ndarray:
    key = f"{path}:{card}"
    if key not in _IMG_CACHE:
        img = load_card(path) if card else cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read {path}")
        _IMG_CACHE[key] = img
    return _IMG_CACHE[key]


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
