"""Analyzer: composes landmarks, card detection and measures into an Observation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from coach.types import Card, Frame, Measures, Observation
from coach.vision import analyzer as analyzer_mod
from coach.vision.analyzer import Analyzer

STAGES = {"faces", "hands", "pose", "card", "measures"}


@pytest.fixture(scope="session")
def analyzer(models_dir):
    with Analyzer(models_dir, mode="image") as a:
        yield a


@pytest.fixture(scope="session")
def hold01_bgr(frames_dir):
    img = cv2.imread(str(frames_dir / "hold_id_01.jpg"))
    assert img is not None
    return img


def test_hold_id_01_observation(analyzer, hold01_bgr):
    before = hold01_bgr.copy()
    obs = analyzer.analyse(Frame(image=hold01_bgr, index=0, t=0.0))
    assert isinstance(obs, Observation)
    assert (obs.width, obs.height) == (700, 700)
    assert len(obs.live_faces) == 1
    assert len(obs.hands) == 2 and {h.handedness for h in obs.hands} == {"Left", "Right"}
    assert obs.pose is not None
    assert isinstance(obs.measures, Measures)
    assert np.array_equal(hold01_bgr, before), "the frame's pixels must never be modified"
    assert STAGES <= set(analyzer.last_timings)
    assert all(v >= 0 for v in analyzer.last_timings.values())
    assert analyzer.last_timings["total"] >= analyzer.last_timings["hands"]


def test_landmarks_see_rgb(analyzer, hold01_bgr):
    """The analyzer converts BGR to RGB once: its faces equal the landmarks' on the RGB array."""
    obs = analyzer.analyse(Frame(image=hold01_bgr, index=0, t=0.0))
    rgb = cv2.cvtColor(hold01_bgr, cv2.COLOR_BGR2RGB)
    direct = analyzer._lm.faces(rgb)
    assert [f.box for f in obs.faces] == [f.box for f in direct]


def test_composition_passes_the_right_values(analyzer, hold01_bgr, monkeypatch):
    seen = {}
    fake_card = Card(quad=[(1.0, 1.0), (9.0, 1.0), (9.0, 6.0), (1.0, 6.0)], in_frame=True)

    def detect_card(bgr, hands=(), faces=()):
        seen["card"] = (bgr, list(hands), list(faces))
        return fake_card

    def mark_printed_faces(faces, card):
        seen["mark"] = card
        return [type(f)(box=f.box, score=f.score, keypoints=f.keypoints, on_card=True) for f in faces]

    def measure(bgr, card, faces, hands, pose):
        seen["measure"] = (bgr, card, faces, hands, pose)
        return Measures(exposure=42.0)

    monkeypatch.setattr(analyzer_mod, "detect_card", detect_card)
    monkeypatch.setattr(analyzer_mod, "mark_printed_faces", mark_printed_faces)
    monkeypatch.setattr(analyzer_mod, "measure", measure)
    frame = Frame(image=hold01_bgr, index=3, t=0.1)
    obs = analyzer.analyse(frame)

    bgr, hands, faces = seen["card"]
    assert bgr is frame.image  # card and measures work on the original full-resolution pixels
    assert len(hands) == 2 and len(faces) == 1
    assert seen["mark"] is fake_card
    m_bgr, m_card, m_faces, m_hands, m_pose = seen["measure"]
    assert m_bgr is frame.image and m_card is fake_card and all(f.on_card for f in m_faces)
    assert m_pose is obs.pose and m_hands == obs.hands
    assert obs.card is fake_card and obs.measures.exposure == 42.0
    assert obs.live_faces == []  # the marked faces are what the observation carries


def test_video_mode_tolerates_non_increasing_time(models_dir, hold01_bgr):
    with Analyzer(models_dir, mode="video") as a:
        hands = []
        for i, t in enumerate([0.0, 0.0, 0.033, 0.02, 0.066]):
            obs = a.analyse(Frame(image=hold01_bgr, index=i, t=t))
            hands.append(len(obs.hands))
        assert hands[-1] == 2


def test_bad_mode_is_refused(models_dir):
    with pytest.raises(ValueError):
        Analyzer(models_dir, mode="live")  # type: ignore[arg-type]


# ------------------------------------------------------------------ fast path
@pytest.fixture(scope="session")
def fast_image(models_dir):
    with Analyzer(models_dir, mode="image", fast=True) as a:
        yield a


def test_fast_image_mode_gives_the_same_observation(analyzer, fast_image, hold01_bgr):
    frame = Frame(image=hold01_bgr, index=0, t=0.0)
    plain, fast = analyzer.analyse(frame), fast_image.analyse(frame)
    assert [f.box for f in fast.faces] == [f.box for f in plain.faces]
    assert [h.points for h in fast.hands] == [h.points for h in plain.hands]
    assert fast.pose.points == plain.pose.points
    assert (fast.card is None) == (plain.card is None)
    if plain.card is not None:
        assert fast.card.quad == plain.card.quad
    assert fast.measures == plain.measures
    assert STAGES <= set(fast_image.last_timings)


@pytest.fixture(scope="session")
def portrait_720(frames_dir):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from stage_timings import frames_for

    return frames_for(cv2.imread(str(frames_dir / "portrait_01.jpg")), (1280, 720), 1)[0]


def test_fast_path_order_changes_nothing(analyzer, models_dir, portrait_720):
    """Fast IMAGE mode with full-size landmark input: measures run before the pose is back, but
    the observation is exactly the plain path's (so only the halved input can differ)."""
    frame = Frame(image=portrait_720, index=0, t=0.0)
    plain = analyzer.analyse(frame)
    with Analyzer(models_dir, mode="image", fast=True, small_landmarks=False) as a:
        fast = a.analyse(frame)
    assert [f.box for f in fast.faces] == [f.box for f in plain.faces]
    assert [h.points for h in fast.hands] == [h.points for h in plain.hands]
    assert fast.pose.points == plain.pose.points
    assert (fast.card is None) == (plain.card is None)
    assert fast.measures == plain.measures


def test_fast_path_halves_landmark_input_but_reports_full_pixels(analyzer, fast_image, portrait_720, monkeypatch):
    frame = Frame(image=portrait_720, index=0, t=0.0)
    plain = analyzer.analyse(frame)
    seen = []
    real = analyzer_mod.landmark_rgb

    def spy(bgr, long_side):
        out = real(bgr, long_side)
        seen.append(out.shape)
        return out

    monkeypatch.setattr(analyzer_mod, "landmark_rgb", spy)
    fast = fast_image.analyse(frame)
    assert seen == [(360, 640, 3)]
    assert len(fast.faces) == len(plain.faces) == 1 and len(fast.hands) == len(plain.hands) == 2
    tol = 12.8  # 1 % of the long side; measured <= 7 px
    assert np.abs(np.subtract(fast.faces[0].box, plain.faces[0].box)).max() <= tol
    for a, b in zip(sorted(fast.hands, key=lambda h: h.points[0][0]), sorted(plain.hands, key=lambda h: h.points[0][0])):
        assert np.abs(np.subtract(a.points, b.points)).max(axis=0).max() <= 3 * tol  # fingertips move most
        assert np.abs(np.subtract(a.points[0], b.points[0])).max() <= tol
    assert all(abs(fast.pose.points[i][k] - plain.pose.points[i][k]) <= tol for i in (0, 11, 12) for k in (0, 1))


def test_landmark_rgb_halves_only_while_large():
    img = np.zeros((1080, 1920, 3), np.uint8)
    img[:, :, 0] = 255  # blue in BGR
    out = analyzer_mod.landmark_rgb(img)
    assert out.shape == (540, 960, 3) and out[0, 0].tolist() == [0, 0, 255]  # RGB order
    assert analyzer_mod.landmark_rgb(np.zeros((720, 1280, 3), np.uint8)).shape == (360, 640, 3)
    assert analyzer_mod.landmark_rgb(np.zeros((2160, 3840, 3), np.uint8)).shape == (540, 960, 3)
    assert analyzer_mod.landmark_rgb(np.zeros((700, 700, 3), np.uint8)).shape == (700, 700, 3)
    assert analyzer_mod.landmark_rgb(img, None).shape == (1080, 1920, 3)


def _shifted(img: np.ndarray, dx: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, 0]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def test_fast_video_reuses_pose_only_while_still(models_dir, hold01_bgr):
    with Analyzer(models_dir, mode="video", fast=True) as a:
        for i in range(6):  # a still scene: pose runs every other frame
            obs = a.analyse(Frame(image=hold01_bgr, index=i, t=i / 30))
            assert obs.pose is not None and len(obs.hands) == 2
        assert a.pose_reused == 3
    with Analyzer(models_dir, mode="video", fast=True) as a:
        for i in range(6):  # the person moves 20 px per frame (3% of 700): pose runs every frame
            obs = a.analyse(Frame(image=_shifted(hold01_bgr, 20 * i - 60), index=i, t=i / 30))
            assert obs.pose is not None
        assert a.pose_reused == 0


def _spy_card_hints(monkeypatch) -> list:
    """The hands each detect_card call gets as its hint, in call order."""
    hints: list = []
    real = analyzer_mod.detect_card

    def spy(bgr, hands=(), faces=(), **kw):  # the tracker may pass more options (e.g. fine=)
        hints.append(list(hands))
        return real(bgr, hands=hands, faces=faces, **kw)

    monkeypatch.setattr(analyzer_mod, "detect_card", spy)
    return hints


def test_fast_video_card_hint_is_the_previous_frames_hands(models_dir, hold01_bgr, monkeypatch):
    hints = _spy_card_hints(monkeypatch)
    with Analyzer(models_dir, mode="video", fast=True) as a:
        first = a.analyse(Frame(image=hold01_bgr, index=0, t=0.0))
        a.analyse(Frame(image=hold01_bgr, index=1, t=1 / 30))
    assert hints[0] == [] and hints[1] == first.hands


def test_fast_video_carries_nothing_over_a_size_change(models_dir, hold01_bgr, monkeypatch):
    hints = _spy_card_hints(monkeypatch)
    small = cv2.resize(hold01_bgr, (560, 560))
    with Analyzer(models_dir, mode="video", fast=True) as a:
        a.analyse(Frame(image=hold01_bgr, index=0, t=0.0))
        obs = a.analyse(Frame(image=small, index=1, t=1 / 30))  # same scene, other size: no reuse
        assert a.pose_reused == 0 and hints[1] == []
        assert max(x for x, _, _ in obs.pose.points) <= 560 * 1.5


def test_video_remembers_the_face_for_a_moment(analyzer, models_dir, hold01_bgr):
    """VIDEO mode: once the face is hidden (a card raised over it), the face as last seen is
    reported as recent_face for FACE_MEMORY_S, so face_uncovered can tell where the head is;
    never in IMAGE mode, and never once a live face is seen again."""
    from coach.vision.analyzer import FACE_MEMORY_S

    with Analyzer(models_dir, mode="video", fast=True) as a:
        obs = a.analyse(Frame(image=hold01_bgr, index=0, t=0.0))
        assert obs.live_faces and obs.recent_face is None
        face = max(obs.live_faces, key=lambda f: f.box[2] * f.box[3])
        x, y, w, h = face.box
        hidden = hold01_bgr.copy()
        cv2.rectangle(hidden, (int(x - 0.3 * w), int(y - 0.3 * h)), (int(x + 1.3 * w), int(y + 1.3 * h)), (90, 90, 90), -1)
        obs = a.analyse(Frame(image=hidden, index=1, t=0.5))
        assert not obs.live_faces and obs.recent_face is not None and obs.recent_face.box == face.box
        obs = a.analyse(Frame(image=hidden, index=2, t=0.6 + FACE_MEMORY_S))
        assert obs.recent_face is None  # too long ago
        obs = a.analyse(Frame(image=hold01_bgr, index=3, t=0.7 + FACE_MEMORY_S))
        assert obs.live_faces and obs.recent_face is None
    assert analyzer.analyse(Frame(image=hidden, index=0, t=0.0)).recent_face is None


def test_head_crop_from_the_pose():
    """The square around the pose's face points (nose, eyes, ears, mouth), HEAD_CROP times their
    extent, clipped to the frame; none without a head in the frame or on a printed portrait."""
    from coach.types import Pose
    from coach.vision.analyzer import HEAD_CROP, head_crop

    face_pts = [(300, 200)] + [(300 + dx, 200 + dy) for dx, dy in
                               [(-8, -6), (-12, -6), (-16, -6), (8, -6), (12, -6), (16, -6), (-20, 0), (20, 0), (-6, 12), (6, 12)]]
    pts = [(x, y, 0.9) for x, y in face_pts] + [(300.0, 400.0, 0.9)] * 22
    x, y, w, h = head_crop(Pose(points=pts), 640, 480)
    assert w == h == pytest.approx(HEAD_CROP * 40, abs=1)
    assert x < 280 and x + w > 320 and y < 194 and y + h > 212
    x, y, w, h = head_crop(Pose(points=pts), 310, 480)  # clipped at the right border
    assert x + w == 310
    assert head_crop(Pose(points=pts), 200, 480) is None  # nose outside the frame
    assert head_crop(Pose(points=pts, on_card=True), 640, 480) is None
    assert head_crop(None, 640, 480) is None


def test_small_face_found_where_the_pose_shows_a_head(analyzer, fast_image, models_dir, frames_dir):
    """people/person_07: a dim, small face that the short-range face detector misses on the whole
    frame; the pose landmarker finds the body, and the face is found on a crop around its head
    (plain, fast, and in video from the previous frame's pose)."""
    from coach.vision.analyzer import head_crop

    img = cv2.imread(str(frames_dir / "people" / "person_07.jpg"))
    assert analyzer._lm.faces(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)) == []
    for a in (analyzer, fast_image):
        obs = a.analyse(Frame(image=img, index=0, t=0.0))
        assert len(obs.live_faces) == 1
        x, y, w, h = obs.live_faces[0].box
        cx, cy, cw, ch = head_crop(obs.pose, img.shape[1], img.shape[0])
        assert cx <= x and x + w <= cx + cw and cy <= y and y + h <= cy + ch
    with Analyzer(models_dir, mode="video", fast=True) as a:
        a.analyse(Frame(image=img, index=0, t=0.0))  # no pose yet to look at
        assert len(a.analyse(Frame(image=img, index=1, t=1 / 30)).live_faces) == 1
