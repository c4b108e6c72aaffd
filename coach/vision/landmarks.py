"""MediaPipe Tasks (face detector, hand landmarker, pose landmarker) behind plain project types.

Input is an RGB uint8 array; every coordinate returned is a pixel of that array, or, when the
caller passes `size=(width, height)`, a pixel of the frame of that size that the array is a resized
copy of (the Analyzer's fast path gives MediaPipe a downscaled copy: the models resize to 128-256 px
anyway, so converting and copying a full 1080p frame for each task is wasted work). No MediaPipe
type leaves this module. IMAGE mode treats each call on its own; VIDEO mode lets MediaPipe track
between calls and needs strictly increasing timestamps per task, which `_Clock` guarantees so that
no caller can make MediaPipe raise.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from coach.quiet import quiet_stderr
from coach.types import Face, Hand, Pose

Mode = Literal["image", "video"]


@dataclass(frozen=True)
class Confidences:
    """Detection thresholds. See tools/tune_hands.py and the report for how they were chosen."""

    face_detection: float = 0.5
    face_suppression: float = 0.3
    # MediaPipe's default 0.5 palm-detection threshold misses one of the two hands holding the
    # card in hold_id_01 (a palm half hidden behind the card scores low). `tools/tune_hands.py`
    # over the 84 photos with a `hands_visible` label (frames/ + frames/people/):
    #   det 0.5 / presence 0.5 (MediaPipe default): 63/84 exact, 0 invented, hold_id_01 1 hand
    #   det 0.3 / presence 0.5 (chosen):            67/84 exact, 0 invented, hold_id_01 2 hands
    #   det 0.1-0.2: 68-71/84 but invents a second hand on person_13.
    # Presence stays at 0.5: it also decides how long VIDEO-mode tracking keeps a hand that left,
    # and a lingering ghost hand would pass `hands_on_card` falsely.
    hand_detection: float = 0.3
    hand_presence: float = 0.5
    hand_tracking: float = 0.5
    pose_detection: float = 0.5
    pose_presence: float = 0.5
    pose_tracking: float = 0.5


DEFAULT_CONFIDENCES = Confidences()


class _Clock:
    """Strictly increasing millisecond timestamps for one VIDEO-mode task."""

    def __init__(self) -> None:
        self.last = -1

    def next(self, t_ms: Optional[int]) -> int:
        t = self.last + 1 if t_ms is None else int(t_ms)
        if t <= self.last:
            t = self.last + 1
        self.last = t
        return t


def _close_all(tasks: list) -> None:
    # Explicit close: otherwise MediaPipe's __del__ runs during interpreter shutdown, after its
    # executor and module globals are gone, and prints "Exception ignored in ..." tracebacks.
    while tasks:
        task = tasks.pop()
        try:
            # Closing logs "DestroyAccelerator" lines on fd 2 (would smear over the TUI).
            with quiet_stderr():
                task.close()
        except Exception:
            # Too late to close cleanly (executor already shut down): drop the handle so that
            # __del__ does nothing; the process is ending and frees the native side anyway.
            try:
                task._handle = None
            except Exception:
                pass


def _close_before_executors_stop(closer: weakref.finalize) -> None:
    """MediaPipe runs its C calls on a concurrent.futures executor that Python stops in
    threading's exit hooks, before `atexit`. Hook in there (LIFO: registered after the executor
    module was imported, so ours runs first) to close tasks the caller forgot to close."""
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        return
    try:
        register(closer)
    except RuntimeError:  # interpreter already shutting down
        pass


class Landmarks:
    """Faces, hands (up to 2) and one pose from an RGB frame."""

    def __init__(self, models_dir: Path | None = None, mode: Mode = "image",
                 confidences: Confidences = DEFAULT_CONFIDENCES, *, tasks: tuple[str, ...] = ("faces", "hands", "pose"),
                 model_paths: dict[str, Path] | None = None) -> None:
        if mode not in ("image", "video"):
            raise ValueError(f"mode must be 'image' or 'video', not {mode!r}")
        from mediapipe.tasks.python import BaseOptions, vision

        from coach.models import resolve_models

        self.mode: Mode = mode
        self.confidences = confidences
        paths = model_paths if model_paths is not None else resolve_models(models_dir)
        running = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        c = confidences
        self._tasks: list = []
        self._closer = weakref.finalize(self, _close_all, self._tasks)
        _close_before_executors_stop(self._closer)
        self._face = self._hand = self._pose = None
        self._clocks = {"faces": _Clock(), "hands": _Clock(), "pose": _Clock()}
        # One lock per task: a task must not be entered from two threads at once, but different
        # tasks may run concurrently (see Analyzer's thread pool).
        self._locks = {k: threading.Lock() for k in self._clocks}

        def base(name: str) -> "BaseOptions":
            return BaseOptions(model_asset_path=str(paths[name]))

        try:
            with quiet_stderr():
                if "faces" in tasks:
                    self._face = vision.FaceDetector.create_from_options(vision.FaceDetectorOptions(
                        base_options=base("blaze_face_short_range.tflite"), running_mode=running,
                        min_detection_confidence=c.face_detection, min_suppression_threshold=c.face_suppression))
                    self._tasks.append(self._face)
                if "hands" in tasks:
                    self._hand = vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
                        base_options=base("hand_landmarker.task"), running_mode=running, num_hands=2,
                        min_hand_detection_confidence=c.hand_detection,
                        min_hand_presence_confidence=c.hand_presence,
                        min_tracking_confidence=c.hand_tracking))
                    self._tasks.append(self._hand)
                if "pose" in tasks:
                    self._pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
                        base_options=base("pose_landmarker_full.task"), running_mode=running, num_poses=1,
                        min_pose_detection_confidence=c.pose_detection,
                        min_pose_presence_confidence=c.pose_presence,
                        min_tracking_confidence=c.pose_tracking))
                    self._tasks.append(self._pose)
                # First inference loads the delegate and logs on fd 2 too: do it here, quietly.
                blank = np.zeros((64, 64, 3), np.uint8)
                if self._face is not None:
                    self.faces(blank)
                if self._hand is not None:
                    self.hands(blank)
                if self._pose is not None:
                    self.pose(blank)
        except Exception:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _image(self, rgb: np.ndarray):
        import mediapipe as mp

        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    def _run(self, key: str, task, rgb: np.ndarray, t_ms: Optional[int]):
        if task is None:
            raise RuntimeError(f"the {key} task was not created (closed, or not requested)")
        image = self._image(rgb)
        with self._locks[key]:
            if self.mode == "video":
                return task.detect_for_video(image, self._clocks[key].next(t_ms))
            return task.detect(image)

    @staticmethod
    def _out_size(rgb: np.ndarray, size: Optional[tuple[int, int]]) -> tuple[int, int]:
        """(width, height) of the pixels the results are given in."""
        if size is None:
            return int(rgb.shape[1]), int(rgb.shape[0])
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"size must be a positive (width, height), not {size!r}")
        return w, h

    # ------------------------------------------------------------------ public
    def faces(self, rgb: np.ndarray, t_ms: Optional[int] = None, size: Optional[tuple[int, int]] = None) -> list[Face]:
        """`size`: (width, height) of the frame `rgb` was resized from; coordinates come out in its pixels."""
        res = self._run("faces", self._face, rgb, t_ms)
        w, h = self._out_size(rgb, size)
        # MediaPipe gives the box in integer pixels of `rgb` (keypoints normalised): scale the box
        # by the resize factor per axis, the keypoints by the output size.
        sx, sy = w / rgb.shape[1], h / rgb.shape[0]
        out: list[Face] = []
        for det in res.detections:
            bb = det.bounding_box
            score = float(det.categories[0].score) if det.categories else 0.0
            kps = [(float(k.x) * w, float(k.y) * h) for k in (det.keypoints or [])]
            out.append(Face(box=(float(bb.origin_x) * sx, float(bb.origin_y) * sy, float(bb.width) * sx,
                                 float(bb.height) * sy), score=score, keypoints=kps))
        out.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return out

    def hands(self, rgb: np.ndarray, t_ms: Optional[int] = None, size: Optional[tuple[int, int]] = None) -> list[Hand]:
        """`size`: as for faces()."""
        res = self._run("hands", self._hand, rgb, t_ms)
        w, h = self._out_size(rgb, size)
        out: list[Hand] = []
        for i, lms in enumerate(res.hand_landmarks):
            cats = res.handedness[i] if i < len(res.handedness) else []
            label, score = ("", 0.0)
            if cats:
                # The old Hands solution labelled as if the image were mirrored; the Tasks hand
                # landmarker (>= 0.10.15, incl. 1.2.3) labels the person's own hand in an unmirrored
                # image (maintainer, google-ai-edge/mediapipe-samples#450). Checked here: on the
                # shared photos the raw label matches the pose landmarker's wrist of that side for
                # 51 of 53 hands (swapped: 2 of 53). So no swap; tests/test_landmarks.py guards it.
                label = cats[0].category_name
                score = float(cats[0].score)
            out.append(Hand(points=[(float(p.x) * w, float(p.y) * h) for p in lms], handedness=label, score=score))
        return out

    def pose(self, rgb: np.ndarray, t_ms: Optional[int] = None, size: Optional[tuple[int, int]] = None) -> Optional[Pose]:
        """`size`: as for faces()."""
        res = self._run("pose", self._pose, rgb, t_ms)
        if not res.pose_landmarks:
            return None
        w, h = self._out_size(rgb, size)
        pts = []
        for p in res.pose_landmarks[0]:
            vis = p.visibility if p.visibility is not None else 0.0
            pts.append((float(p.x) * w, float(p.y) * h, float(vis)))
        return Pose(points=pts)

    def close(self) -> None:
        self._face = self._hand = self._pose = None
        self._closer()

    def __enter__(self) -> "Landmarks":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
