"""Frame -> Observation: landmarks (MediaPipe), card (OpenCV), measures on the pixels."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import cv2

from coach.types import Frame, Observation
from coach.vision.card import detect_card
from coach.vision.measures import mark_printed_faces, measure
from coach.vision.landmarks import DEFAULT_CONFIDENCES, Confidences, Landmarks


class Analyzer:
    """Runs every vision stage on a frame. `last_timings` holds the ms of each stage of the last call."""

    def __init__(self, models_dir: Path | None = None, mode: Literal["image", "video"] = "image",
                 confidences: Confidences = DEFAULT_CONFIDENCES) -> None:
        self.mode = mode
        self._lm = Landmarks(models_dir, mode=mode, confidences=confidences)
        self.last_timings: dict[str, float] = {}

    def analyse(self, frame: Frame) -> Observation:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        bgr = frame.image
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        t1 = time.perf_counter()
        timings["rgb"] = (t1 - t0) * 1000.0

        t_ms = int(round(frame.t * 1000.0)) if self.mode == "video" else None
        faces = self._lm.faces(rgb, t_ms)
        t2 = time.perf_counter()
        timings["faces"] = (t2 - t1) * 1000.0
        hands = self._lm.hands(rgb, t_ms)
        t3 = time.perf_counter()
        timings["hands"] = (t3 - t2) * 1000.0
        pose = self._lm.pose(rgb, t_ms)
        t4 = time.perf_counter()
        timings["pose"] = (t4 - t3) * 1000.0

        card = detect_card(bgr, hands=hands, faces=faces)
        t5 = time.perf_counter()
        timings["card"] = (t5 - t4) * 1000.0

        faces = mark_printed_faces(faces, card)
        measures = measure(bgr, card, faces, hands, pose)
        t6 = time.perf_counter()
        timings["measures"] = (t6 - t5) * 1000.0
        timings["total"] = (t6 - t0) * 1000.0
        self.last_timings = timings

        return Observation(width=frame.width, height=frame.height, faces=faces, hands=hands, pose=pose,
                           card=card, measures=measures)

    def close(self) -> None:
        self._lm.close()

    def __enter__(self) -> "Analyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
