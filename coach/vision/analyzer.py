"""Frame -> Observation: landmarks (MediaPipe), card (OpenCV), measures on the pixels.

Plain path (`fast=False`): every stage one after another on the caller's thread.

Fast path (`fast=True`, for the live coach), measured with tools/stage_timings.py (see the report
in docs or the coordinator's notes for numbers):
- hands and pose run on a 2-thread pool while the caller's thread does faces and the card
  (MediaPipe's ctypes calls release the GIL, so the three really overlap on two cores);
- VIDEO mode only: the card detector gets the previous frame's hands as its hint (it uses them
  only to prefer a quad within the hands' reach; 33 ms old is close enough), so it does not wait
  for the hand landmarker; measures still get this frame's hands;
- VIDEO mode (both paths): the card detector gets the previous frame's card and searches near it
  first (CardTracker: a few ms instead of a full search, a full search every 10 frames, after a
  miss, or when the tracked score drops); a tracked card passes the same acceptance tests;
- VIDEO mode (both paths): the last live face is remembered for FACE_MEMORY_S once none is seen
  (Observation.recent_face: a card raised over the face hides it from the face detector and the
  pose landmarker alike, and face_uncovered still needs to know where the head is);
- VIDEO mode only: the pose landmarker (the slowest model, used for arms/shoulders) is skipped
  on every other frame while the face has not moved, and its last result is reused;
- the face detector and the pose landmarker get an RGB copy halved (INTER_AREA, once per frame)
  while its long side stays >= MP_LONG_SIDE (720p -> 640x360, 1080p -> 960x540): they see
  128-256 px inputs anyway (the hand landmarker keeps the full frame: it crops each hand, and a
  distant hand cropped from the halved copy was lost),
  so converting and copying the full frame into each task was wasted; landmarks come back in
  full-resolution pixels (Landmarks' `size=`). Exact halving because INTER_AREA is fast only
  for a factor of 2 (0.3 ms at 720p; a 3x reduction of 1080p costs 3.3 ms, more than it saves);
- every measure but fingers_on_text (which needs this frame's hands) runs on the caller's thread
  while the hand and pose landmarkers are still busy, instead of after both.
Card sharpness and every other measure always use the full-resolution original frame.
Both paths: when no face is found, the head the pose landmarker shows is looked at again on a
crop (HEAD_CROP; in fast VIDEO mode the previous frame's pose, as this frame's is still running).
"""

from __future__ import annotations

import time
from dataclasses import replace
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal, Optional

import cv2
import numpy as np

from coach.types import Face, Frame, Hand, Observation, Pose
from coach.vision.card import CardTracker, detect_card
from coach.vision.landmarks import DEFAULT_CONFIDENCES, Confidences, Landmarks
from coach.vision.measures import (fingers_on_text, main_face, mark_hand_faces, mark_printed_faces, measure,
                                   measure_pixels, printed_pose)

# Fast path, VIDEO mode: the pose may be reused for one frame when the main live face moved less
# than this fraction of the frame's long side (and did not change size by more than POSE_REUSE_SCALE).
POSE_REUSE_MOVE = 0.01
POSE_REUSE_SCALE = 0.05
# Fast path: MediaPipe's copy of the frame is halved while its long side stays >= this many px.
MP_LONG_SIDE = 640
# VIDEO mode: how long the last live face is remembered once none is seen (Observation.recent_face):
# long enough for a card raised over the face, short enough that a person who left is forgotten.
FACE_MEMORY_S = 1.0
# The short-range face detector sees a frame shrunk to 128 px: a face under about a tenth of the
# frame's width (a person standing back to show both arms, a dim room, a low angle) is lost,
# while the pose landmarker still finds the body and its head. When no face is found, the head
# the pose shows is looked at again on a crop of HEAD_CROP x the extent of the pose's face points,
# resized to HEAD_CROP_PX. Real photos: people/person_07, 12, 34 (labelled one face) found;
# webcam_02's small background face and spec_id_09's printed portrait found too.
HEAD_CROP = 3.0
HEAD_CROP_PX = 256


def landmark_rgb(bgr: np.ndarray, long_side: Optional[int] = MP_LONG_SIDE) -> np.ndarray:
    """The RGB array MediaPipe gets: `bgr` halved (INTER_AREA) as often as its long side stays
    >= long_side, then converted; just converted when long_side is None or the frame is small.
    Halving first also makes the colour conversion 4x cheaper."""
    small = bgr
    if long_side is not None:
        while max(small.shape[:2]) // 2 >= long_side:
            h, w = small.shape[:2]
            small = cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def head_crop(pose: Optional[Pose], width: int, height: int) -> Optional[tuple[int, int, int, int]]:
    """(x, y, w, h) of the square around the head the pose shows (its 11 face points: nose,
    eyes, ears, mouth), clipped to the frame; None without a pose, with the nose off the frame, or
    when less than 24 px of it is left."""
    if pose is None or pose.on_card or len(pose.points) < 11:
        return None
    pts = np.array([p[:2] for p in pose.points[:11]], np.float64)
    nx, ny = pts[0]
    if not (0 <= nx < width and 0 <= ny < height):
        return None
    cx, cy = pts.mean(axis=0)
    side = HEAD_CROP * max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 8.0)
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    if min(x1 - x0, y1 - y0) < 24:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t) * 1000.0


def _face_anchor(faces: list[Face]) -> Optional[tuple[float, float, float]]:
    if not faces:
        return None
    x, y, w, h = faces[0].box  # Landmarks sorts faces largest first
    return x + w / 2, y + h / 2, max(w, h)


class Analyzer:
    """Runs every vision stage on a frame. `last_timings` holds the ms of each stage of the last
    call ("total" is the wall time of the call; in fast mode stages overlap, so they add up to more)."""

    def __init__(self, models_dir: Path | None = None, mode: Literal["image", "video"] = "image",
                 confidences: Confidences = DEFAULT_CONFIDENCES, fast: bool = False,
                 small_landmarks: Optional[bool] = None) -> None:
        """`small_landmarks`: give MediaPipe the halved copy (landmark_rgb); default: on in the fast
        path, off in the plain one (the plain path is the full-resolution reference)."""
        self.mode = mode
        self.fast = fast
        self._mp_long_side: Optional[int] = MP_LONG_SIDE if (fast if small_landmarks is None else small_landmarks) else None
        self._lm = Landmarks(models_dir, mode=mode, confidences=confidences)
        self._pool: Optional[ThreadPoolExecutor] = (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="coach-vision") if fast else None)
        self.last_timings: dict[str, float] = {}
        self.pose_reused = 0  # frames whose pose was carried over (fast VIDEO mode), for the benchmark
        self._prev_hands: list[Hand] = []
        self._prev_pose: Optional[Pose] = None
        self._pose_anchor: Optional[tuple[float, float, float]] = None
        self._pose_fresh = False  # the previous frame ran the pose landmarker
        self._prev_size: tuple[int, int] = (0, 0)  # carried-over pixels are only valid at the same size
        self._last_face: Optional[tuple[Face, float, tuple[int, int]]] = None  # (face, t, frame size)
        # VIDEO mode: the card is tracked from frame to frame (IMAGE mode: every frame on its own)
        self._card_tracker: Optional[CardTracker] = CardTracker() if mode == "video" else None

    # ------------------------------------------------------------------ public
    def analyse(self, frame: Frame) -> Observation:
        if self._pool is not None:
            return self._analyse_fast(frame)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        bgr = frame.image
        (rgb, rgb_hands), timings["rgb"] = _timed(self._landmark_inputs, bgr)
        t_ms, size = self._t_ms(frame), (frame.width, frame.height)
        faces, timings["faces"] = _timed(self._lm.faces, rgb, t_ms, size)
        hands, timings["hands"] = _timed(self._lm.hands, rgb_hands, t_ms, size)
        pose, timings["pose"] = _timed(self._lm.pose, rgb, t_ms, size)
        if not faces:
            faces, timings["faces_at_head"] = _timed(self._faces_at_head, bgr, pose, t_ms)
        faces = mark_hand_faces(faces, hands)
        card, timings["card"] = _timed(self._card, bgr, hands, faces)
        t = time.perf_counter()
        faces = mark_printed_faces(faces, card)
        measures = measure(bgr, card, faces, hands, pose)
        timings["measures"] = (time.perf_counter() - t) * 1000.0
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        self.last_timings = timings
        if printed_pose(pose, card):
            pose = replace(pose, on_card=True)  # the card's printed portrait, not the person
        return Observation(width=frame.width, height=frame.height, faces=faces, hands=hands, pose=pose,
                           card=card, measures=measures, recent_face=self._recent_face(frame, faces))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._lm.close()

    def __enter__(self) -> "Analyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _card(self, bgr, hands: list[Hand], faces: list[Face]):
        faces = [f for f in faces if not f.on_hand]  # a fist is no hint of where a card is held
        if self._card_tracker is not None:
            return self._card_tracker.update(bgr, hands=hands, faces=faces, detect=detect_card)
        return detect_card(bgr, hands=hands, faces=faces)

    def _faces_at_head(self, bgr: np.ndarray, pose: Optional[Pose], t_ms: Optional[int]) -> list[Face]:
        """Faces found on a crop around the head the pose shows (see HEAD_CROP), in frame pixels."""
        box = head_crop(pose, bgr.shape[1], bgr.shape[0])
        if box is None:
            return []
        x0, y0, w, h = box
        k = HEAD_CROP_PX / float(max(w, h))
        crop = cv2.resize(bgr[y0:y0 + h, x0:x0 + w], (max(1, round(w * k)), max(1, round(h * k))),
                          interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)
        found = self._lm.faces(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), t_ms, (w, h))
        return [Face(box=(f.box[0] + x0, f.box[1] + y0, f.box[2], f.box[3]), score=f.score,
                     keypoints=[(x + x0, y + y0) for x, y in f.keypoints]) for f in found]

    def _landmark_inputs(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(RGB for faces and pose, RGB for hands). The hand landmarker keeps the full frame: it
        crops each hand from its input, and a distant hand cropped from the halved copy was lost
        (the becomes_right scenario: 2 hands per frame at full size, 1 on the halved copy). Faces
        and pose are fine halved."""
        rgb = landmark_rgb(bgr, self._mp_long_side)
        return rgb, (rgb if rgb.shape[:2] == bgr.shape[:2] else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def _recent_face(self, frame: Frame, faces: list[Face]) -> Optional[Face]:
        """VIDEO mode: remember the largest live face; when none is seen, the one seen within
        FACE_MEMORY_S on a frame of the same size (else None). Stills: always None."""
        if self.mode != "video":
            return None
        size = (frame.width, frame.height)
        face = main_face(faces)
        if face is not None:
            self._last_face = (face, frame.t, size)
            return None
        if self._last_face is None:
            return None
        face, t, seen_size = self._last_face
        return face if seen_size == size and 0.0 <= frame.t - t <= FACE_MEMORY_S else None

    def _t_ms(self, frame: Frame) -> Optional[int]:
        return int(round(frame.t * 1000.0)) if self.mode == "video" else None

    def _analyse_fast(self, frame: Frame) -> Observation:
        assert self._pool is not None
        video = self.mode == "video"
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        bgr = frame.image
        (rgb, rgb_hands), timings["rgb"] = _timed(self._landmark_inputs, bgr)
        t_ms, size = self._t_ms(frame), (frame.width, frame.height)
        if size != self._prev_size:  # e.g. the phone was rotated
            self._prev_hands, self._prev_pose, self._pose_fresh = [], None, False
            self._prev_size = size
        hands_f: Future = self._pool.submit(_timed, self._lm.hands, rgb_hands, t_ms, size)
        faces, timings["faces"] = _timed(self._lm.faces, rgb, t_ms, size)

        pose_f: Optional[Future] = None
        anchor = _face_anchor(faces)
        if not (video and self._pose_fresh and self._still(anchor, max(frame.width, frame.height))):
            pose_f = self._pool.submit(_timed, self._lm.pose, rgb, t_ms, size)  # else reuse the last pose

        if not faces:
            # look again where the pose shows a head: in video the last frame's pose (the head
            # hardly moves in 33 ms; this frame's is still running), for a still this frame's
            head_pose = self._prev_pose if video else (pose_f.result()[0] if pose_f is not None else None)
            faces, timings["faces_at_head"] = _timed(self._faces_at_head, bgr, head_pose, t_ms)

        hands: Optional[list[Hand]] = None
        if video:
            # The hint from 33 ms ago: do not wait for this frame's hand landmarks (a fist taken
            # for a face is marked with those too, and again with this frame's below).
            faces = mark_hand_faces(faces, self._prev_hands)
            card, timings["card"] = _timed(self._card, bgr, self._prev_hands, faces)
        else:
            hands, timings["hands"] = hands_f.result()
            faces = mark_hand_faces(faces, hands)
            card, timings["card"] = _timed(self._card, bgr, hands, faces)

        # Every measure but the fingertips needs only the pixels, the card and the faces: measure
        # while the pool still runs the hand (VIDEO) and pose landmarkers, not after them.
        t = time.perf_counter()
        faces = mark_printed_faces(faces, card)
        measures = measure_pixels(bgr, card, faces, hands if hands is not None else self._prev_hands)
        ms = (time.perf_counter() - t) * 1000.0

        if hands is None:
            hands, timings["hands"] = hands_f.result()
        t = time.perf_counter()
        if video:  # the card search had the previous frame's hands; a still's are marked already
            faces = mark_hand_faces(faces, hands)
        measures.fingers_on_text = fingers_on_text(card, hands)
        timings["measures"] = ms + (time.perf_counter() - t) * 1000.0

        if pose_f is not None:
            pose, timings["pose"] = pose_f.result()
            self._prev_pose, self._pose_anchor, self._pose_fresh = pose, anchor, True
        else:
            pose, timings["pose"] = self._prev_pose, 0.0
            self._pose_fresh = False
            self.pose_reused += 1

        timings["total"] = (time.perf_counter() - t0) * 1000.0
        self.last_timings = timings
        self._prev_hands = hands
        if printed_pose(pose, card):
            pose = replace(pose, on_card=True)  # the card's printed portrait, not the person
        return Observation(width=frame.width, height=frame.height, faces=faces, hands=hands, pose=pose,
                           card=card, measures=measures, recent_face=self._recent_face(frame, faces))

    def _still(self, anchor: Optional[tuple[float, float, float]], long_side: int) -> bool:
        """The main face is where it was when the pose last ran (so the body likely is too)."""
        prev = self._pose_anchor
        if anchor is None or prev is None:
            return False
        moved = ((anchor[0] - prev[0]) ** 2 + (anchor[1] - prev[1]) ** 2) ** 0.5
        return moved <= POSE_REUSE_MOVE * long_side and abs(anchor[2] - prev[2]) <= POSE_REUSE_SCALE * max(prev[2], 1.0)
