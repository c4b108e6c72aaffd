"""The typed values that flow through the coach, left to right:

    Frame (sources/) -> Observation (vision/) -> Verdict (checks/) -> Event (capture/, session)

No MediaPipe or OpenCV type leaves `vision/`; everything here is plain Python / numpy.
All coordinates are image pixels of the original (unmirrored) frame, x to the right, y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import numpy as np

Point = tuple[float, float]


# --------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Frame:
    """Pixels exactly as the source delivered them."""

    image: np.ndarray  # BGR uint8, H x W x 3, never modified after creation
    index: int  # 0, 1, 2, ... in source order (skipped corrupt frames do not get an index)
    t: float  # seconds on the source's clock, strictly increasing
    jpeg: Optional[bytes] = None  # the original encoded bytes when the source delivered JPEG
    name: str = ""  # file name for folder/recording sources, else ""

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


# --------------------------------------------------------------------------- vision
@dataclass
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    keypoints: list[Point] = field(default_factory=list)  # BlazeFace's 6 points (eyes, nose, mouth, ears)
    on_card: bool = False  # the card's printed portrait, not a live face
    on_hand: bool = False  # a hand (a fist's knuckles) the face detector took for a face


@dataclass
class Hand:
    points: list[Point]  # 21 MediaPipe hand landmarks (0 wrist, 4 thumb tip, 8 index tip, ...)
    handedness: str  # "Left" / "Right" of the person, corrected for an unmirrored image
    score: float


@dataclass
class Pose:
    points: list[tuple[float, float, float]]  # 33 MediaPipe pose landmarks: x, y (px), visibility 0..1
    on_card: bool = False  # the person printed on the card (its portrait's shoulders), not a live body

    def visible(self, i: int, min_visibility: float = 0.5) -> bool:
        return self.points[i][2] >= min_visibility


@dataclass
class Card:
    quad: list[Point]  # 4 corners clockwise from top-left; corners outside the image are inferred
    in_frame: bool  # all four corners inside the image
    kind: Literal["id1", "passport"] = "id1"
    score: float = 1.0  # detector confidence 0..1
    # the image its edges were found in: "grey", or a Lab channel "a"/"b" (a card that differs
    # from its background in colour only); the tracker follows it in the same one
    edges: Literal["grey", "a", "b"] = "grey"


@dataclass
class Measures:
    """Numbers measured on the pixels. None when it cannot be measured (e.g. no card)."""

    exposure: Optional[float] = None  # mean luma 0..255 of the subject (face+card region, else palms, else frame)
    face_sharpness: Optional[float] = None  # focus of the main live face, scale-normalised
    card_sharpness: Optional[float] = None  # focus of the card's text at full resolution, normalised
    glare: Optional[float] = None  # fraction 0..1 of the card area covered by specular blobs
    backlight: Optional[float] = None  # face luma / background luma (low = face much darker)
    card_tilt: Optional[float] = None  # degrees between the card plane and the sensor plane
    fingers_on_text: Optional[int] = None  # fingertips lying over the card's text/portrait area
    # 95th-percentile luma 0..255 of the whole frame: how much light the scene has. Tells night
    # from a dark-skinned face in daylight, which `exposure` (the subject's mean) cannot.
    scene_light: Optional[float] = None


@dataclass
class Observation:
    width: int
    height: int
    faces: list[Face] = field(default_factory=list)  # all faces seen, printed portraits flagged
    hands: list[Hand] = field(default_factory=list)
    pose: Optional[Pose] = None
    card: Optional[Card] = None
    measures: Measures = field(default_factory=Measures)
    # video only: the person's face as last seen, when no live face is seen now and it was seen
    # within the analyser's FACE_MEMORY_S (a card raised over the face hides it from the detector)
    recent_face: Optional[Face] = None

    @property
    def live_faces(self) -> list[Face]:
        return [f for f in self.faces if not f.on_card and not f.on_hand]


# --------------------------------------------------------------------------- checks
@dataclass
class CheckResult:
    id: str  # check id from requirements.md, e.g. "card_size"
    passed: Optional[bool]  # None: cannot be judged on this frame (the frame does not pass)
    value: Optional[float]  # the measured value
    limit: Any  # the threshold(s) from the profile, JSON-serialisable
    message: str  # key into checks.messages: what the person should do ("" when passed)

    def to_json(self) -> dict[str, Any]:
        return {"pass": self.passed, "value": self.value, "limit": self.limit}


@dataclass
class Verdict:
    profile: str
    results: list[CheckResult]  # one per check of the profile, in the profile's order
    hint: Optional[CheckResult] = None  # the one thing to fix next (priority order), None if all pass

    @property
    def passed(self) -> bool:
        return all(r.passed is True for r in self.results)

    def result(self, check_id: str) -> Optional[CheckResult]:
        for r in self.results:
            if r.id == check_id:
                return r
        return None


# --------------------------------------------------------------------------- events
EventKind = Literal["hint", "captured", "fault", "recovered", "recording", "error", "summary"]


@dataclass
class Event:
    kind: EventKind
    frame: Optional[int] = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind}
        if self.frame is not None:
            out["frame"] = self.frame
        out.update(self.data)
        return out
