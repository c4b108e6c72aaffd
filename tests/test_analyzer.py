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
