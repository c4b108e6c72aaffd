"""Auto-capture: fire on stability, not on one good frame, and keep the sharpest frame of the window.

Fed (frame, observation, verdict) in source order; pure apart from holding a reference to the best
frame of the current window (one frame, not the whole window: the pick only needs the best so far).
Field practice: Stripe asks the card box to keep IoU ≥ 0.95 between frames for 500 ms; we take
`stable_seconds` (≈ 0.7 s) and `min_iou` from the profile. Time is the SOURCE clock (frame.t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence


from coach.types import Frame, Observation, Point, Verdict
from coach.vision.geometry import quad_iou

_EPS = 1e-6  # frame times like i/30: a window of exactly stable_seconds must count as full


@dataclass
class Candidate:
    frame: Frame
    observation: Observation
    verdict: Verdict

    @property
    def sharpness(self) -> tuple[float, float]:
        """Sort key: card sharpness first, face sharpness breaks ties (None counts as the worst)."""
        m = self.observation.measures
        return (_num(m.card_sharpness), _num(m.face_sharpness))


def _num(v: Optional[float]) -> float:
    if v is None:
        return -math.inf
    v = float(v)
    return -math.inf if math.isnan(v) else v


def _box_quad(box: tuple[float, float, float, float]) -> list[Point]:
    x, y, w, h = box
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def anchor_quad(obs: Observation) -> Optional[list[Point]]:
    """What must stay still: the card when there is one, else the main live face (half-body profile)."""
    if obs.card is not None and len(obs.card.quad) >= 3:
        return list(obs.card.quad)
    faces = obs.live_faces
    if faces:
        main = max(faces, key=lambda f: f.box[2] * f.box[3])
        return _box_quad(main.box)
    return None


class AutoCapture:
    """Stable-window trigger.

    A window starts at a frame where every check passes and grows while each next frame passes
    and its anchor (card quad, else face box) keeps IoU ≥ min_iou with the previous frame's.
    When the window spans stable_seconds of source time, the sharpest frame seen in it is
    returned (once) and the trigger disarms until rearm().
    """

    def __init__(self, stable_seconds: float = 0.7, min_iou: float = 0.95) -> None:
        self.stable_seconds = float(stable_seconds)
        self.min_iou = float(min_iou)
        self.armed = True
        self._start_t: Optional[float] = None
        self._last_t: Optional[float] = None
        self._prev_quad: Optional[list[Point]] = None
        self._best: Optional[Candidate] = None
        self.frames_in_window = 0

    def configure(self, stable_seconds: float, min_iou: float) -> None:
        self.stable_seconds = float(stable_seconds)
        self.min_iou = float(min_iou)
        self.reset()

    def reset(self) -> None:
        """Forget the current window (profile switch, auto turned off). Does not change `armed`."""
        self._start_t = None
        self._last_t = None
        self._prev_quad = None
        self._best = None
        self.frames_in_window = 0

    def rearm(self) -> None:
        self.armed = True
        self.reset()

    def progress(self) -> float:
        """0..1 fill of the stability window (0 when disarmed or no window)."""
        if not self.armed or self._start_t is None or self._last_t is None:
            return 0.0
        if self.stable_seconds <= 0:
            return 1.0
        return max(0.0, min(1.0, (self._last_t - self._start_t) / self.stable_seconds))

    def feed(self, frame: Frame, observation: Observation, verdict: Verdict) -> Optional[Candidate]:
        if not self.armed:
            return None
        quad = anchor_quad(observation)
        if not verdict.passed or quad is None:
            self.reset()
            return None
        steady = self._prev_quad is not None and quad_iou(self._prev_quad, quad) >= self.min_iou
        if self._start_t is None or not steady:
            # A new window starts at this frame (it passes, but nothing steady before it).
            self.reset()
            self._start_t = frame.t
        self._prev_quad = quad
        self._last_t = frame.t
        self.frames_in_window += 1
        cand = Candidate(frame, observation, verdict)
        if self._best is None or cand.sharpness > self._best.sharpness:
            self._best = cand  # strict: on a full tie the earlier frame stays
        if frame.t - self._start_t >= self.stable_seconds - _EPS:
            best = self._best
            self.armed = False
            self.reset()
            return best
        return None
