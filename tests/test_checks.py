"""Checks on hand-built observations: each rule passes, fails, and (where it applies) cannot judge;
verdict order and hint priority; profiles and user overrides; messages in both languages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from coach.checks import PRIORITY, PROFILE_NAMES, RULES, evaluate, load_profile, messages
from coach.checks import rules as R
from coach.checks.profiles import builtin_table
from coach.errors import CoachError
from coach.types import Card, Face, Hand, Measures, Observation, Pose

W, H = 1920, 1080


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch, tmp_path):
    """Never read the developer's own ~/.config file during tests."""
    monkeypatch.delenv("COACH_PROFILES", raising=False)
    monkeypatch.setattr("coach.checks.profiles.user_profiles_path", lambda: tmp_path / "absent.toml")


@pytest.fixture(scope="module")
def hh():
    return load_profile("hand-held", path=None)


def lim(profile, cid):
    return profile.limit(cid)


# --------------------------------------------------------------------------- a good scene
def rect(x, y, w, h):
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


CARD = rect(760, 560, 400, 252)  # 4.9 % of 1920x1080, below the face


def hand_at(cx, cy, side="Left"):
    """21 landmarks in a small fan around (cx, cy)."""
    return Hand(points=[(cx + (i % 5) * 6 - 12, cy + (i // 5) * 6 - 12) for i in range(21)], handedness=side,
                score=0.95)


def pose_points(**over):
    pts = [(960.0, 250.0, 0.99)] * 33
    pts = list(pts)
    for i in range(11):  # head points around the face
        pts[i] = (900.0 + 12 * i, 230.0 + (i % 3) * 20, 0.99)
    pts[11], pts[12] = (1160.0, 450.0, 0.99), (760.0, 450.0, 0.99)  # shoulders (person's left on image right)
    pts[13], pts[14] = (1250.0, 850.0, 0.95), (670.0, 850.0, 0.95)  # elbows
    pts[15], pts[16] = (1175.0, 700.0, 0.95), (745.0, 700.0, 0.95)  # wrists
    for i in (17, 19, 21):
        pts[i] = (1165.0, 690.0, 0.9)
    for i in (18, 20, 22):
        pts[i] = (755.0, 690.0, 0.9)
    pts[23], pts[24] = (1100.0, 1150.0, 0.3), (820.0, 1150.0, 0.3)  # hips below the frame
    for i, p in over.items():
        pts[int(i.lstrip("p"))] = p
    return Pose(points=pts)


def good(**changes) -> Observation:
    obs = Observation(
        width=W, height=H,
        faces=[Face(box=(860.0, 150.0, 200.0, 200.0), score=0.95)],
        hands=[hand_at(1165, 690, "Left"), hand_at(755, 690, "Right")],
        pose=pose_points(),
        card=Card(quad=list(CARD), in_frame=True, score=0.9),
        measures=Measures(exposure=140.0, face_sharpness=0.3, card_sharpness=0.4, glare=0.0, backlight=0.8,
                          card_tilt=8.0, fingers_on_text=0, scene_light=220.0),
    )
    return dataclasses.replace(obs, **changes)


def with_measures(**m) -> Observation:
    base = good()
    return dataclasses.replace(base, measures=dataclasses.replace(base.measures, **m))


def test_good_scene_passes_everything_of_hand_held(hh):
    v = evaluate(good(), hh)
    assert [r.id for r in v.results] == list(hh.checks)
    assert all(r.passed for r in v.results), [r for r in v.results if not r.passed]
    assert v.passed and v.hint is None


# --------------------------------------------------------------------------- each rule
def test_resolution(hh):
    assert R.resolution(good(), lim(hh, "resolution")).passed is True
    assert R.resolution(good(width=1080, height=1920), lim(hh, "resolution")).passed is True  # portrait
    assert R.resolution(good(width=1280, height=720), lim(hh, "resolution")).passed is True
    r = R.resolution(good(width=700, height=700), lim(hh, "resolution"))
    assert r.passed is False and r.message == "low_resolution" and r.value == pytest.approx(393.8, abs=0.1)
    assert R.resolution(good(width=1000, height=800), lim(hh, "resolution")).passed is False  # long side short
    assert R.resolution(good(width=1600, height=700), lim(hh, "resolution")).passed is False  # short side short


def test_exposure(hh):
    assert R.exposure(good(), lim(hh, "exposure")).passed is True
    r = R.exposure(with_measures(exposure=30.0), lim(hh, "exposure"))
    assert (r.passed, r.message, r.value) == (False, "too_dark", 30.0)
    r = R.exposure(with_measures(exposure=240.0), lim(hh, "exposure"))
    assert (r.passed, r.message) == (False, "too_bright")
    assert R.exposure(with_measures(exposure=None, scene_light=None), lim(hh, "exposure")).passed is None
    # a dark-skinned face in daylight: dim subject, bright scene -> fine
    assert R.exposure(with_measures(exposure=59.0, scene_light=200.0), lim(hh, "exposure")).passed is True
    # a night-time room: the subject's mean alone looks acceptable, the scene has no light
    r = R.exposure(with_measures(exposure=60.0, scene_light=90.0), lim(hh, "exposure"))
    assert (r.passed, r.message, r.value) == (False, "too_dark", 60.0)
    # scene light unknown (older measures): judged on the subject alone
    assert R.exposure(with_measures(exposure=60.0, scene_light=None), lim(hh, "exposure")).passed is True
    assert R.exposure(with_measures(exposure=None, scene_light=90.0), lim(hh, "exposure")).passed is False


def test_face_visible(hh):
    L = lim(hh, "face_visible")
    assert R.face_visible(good(), L).passed is True
    r = R.face_visible(good(faces=[]), L)
    assert (r.passed, r.message, r.value) == (False, "no_face", 0)
    # the card's printed portrait does not count
    printed = Face(box=(1000.0, 600.0, 60.0, 60.0), score=0.9, on_card=True)
    assert R.face_visible(good(faces=[printed]), L).message == "no_face"
    assert R.face_visible(good(faces=good().faces + [printed]), L).passed is True
    # two people
    other = Face(box=(200.0, 200.0, 180.0, 180.0), score=0.9)
    r = R.face_visible(good(faces=good().faces + [other]), L)
    assert (r.passed, r.message) == (False, "one_face_only")
    # a tiny face far behind is ignored
    tiny = Face(box=(100.0, 100.0, 40.0, 40.0), score=0.9)
    assert R.face_visible(good(faces=good().faces + [tiny]), L).passed is True
    # cut by the border
    r = R.face_visible(good(faces=[Face(box=(1800.0, 150.0, 200.0, 200.0), score=0.95)]), L)
    assert (r.passed, r.message) == (False, "face_cut_off")
    r = R.face_visible(good(faces=[Face(box=(860.0, 0.0, 200.0, 200.0), score=0.95)]), L)
    assert r.passed is False
    # not confident enough
    assert R.face_visible(good(faces=[Face(box=(860.0, 150.0, 200.0, 200.0), score=0.2)]), L).passed is False


def test_face_sharp(hh):
    L = lim(hh, "face_sharp")
    assert R.face_sharp(good(), L).passed is True
    r = R.face_sharp(with_measures(face_sharpness=0.05), L)
    assert (r.passed, r.message) == (False, "hold_still")
    r = R.face_sharp(dataclasses.replace(with_measures(face_sharpness=None), faces=[]), L)
    assert (r.passed, r.message) == (None, "no_face")


def test_backlight(hh):
    L = lim(hh, "backlight")
    assert R.backlight(good(), L).passed is True
    r = R.backlight(with_measures(backlight=0.5 * L["min"]), L)
    assert (r.passed, r.message) == (False, "backlit")
    assert R.backlight(with_measures(backlight=None), L).passed is None


def test_face_uncovered(hh):
    L = lim(hh, "face_uncovered")
    r = R.face_uncovered(good(), L)
    assert r.passed is True and r.value == 0.0
    assert R.face_uncovered(good(card=None), L).passed is True  # no card cannot cover
    # card over the lower half of the face box
    over = Card(quad=rect(800, 250, 320, 200), in_frame=True)
    r = R.face_uncovered(good(card=over), L)
    assert r.passed is False and r.message == "card_over_face" and r.value == pytest.approx(0.5)
    # face hidden from the detector: pose head points inside the card
    hidden = Card(quad=rect(850, 180, 300, 200), in_frame=True)
    r = R.face_uncovered(good(card=hidden, faces=[]), L)
    assert r.passed is False and r.value > 0.5
    # no face and no pose: cannot judge
    assert R.face_uncovered(good(card=hidden, faces=[], pose=None), L).passed is None
    # no card and no face: nothing says the face is uncovered either
    assert R.face_uncovered(good(card=None, faces=[]), L).passed is None
    # the pose guessed the head points below a card that hides the face (seen on synthetic
    # scenes): the head located from the shoulders is behind the card
    below = pose_points(**{f"p{i}": (900.0 + 10 * i, 440.0, 0.99) for i in range(11)})
    r = R.face_uncovered(good(card=hidden, faces=[], pose=below), L)
    assert r.passed is False and r.value > 0.5
    # a card at chest height while the face detector missed the face: not over the face
    r = R.face_uncovered(good(faces=[], pose=below), L)
    assert r.passed is True and r.value == 0.0
    # video: no face and no pose now, but the face seen a moment ago is behind the card
    face = good().faces[0]
    r = R.face_uncovered(good(card=hidden, faces=[], pose=None, recent_face=face), L)
    assert r.passed is False and r.message == "card_over_face" and r.value > 0.5
    # ... or the card is at the chest, away from where the face was: not over the face
    r = R.face_uncovered(good(faces=[], pose=None, recent_face=face), L)
    assert r.passed is True and r.value == 0.0
    # the head box from the shoulders lands on the person's face box
    x, y, w, h = R.head_box_from_shoulders(good())
    fx, fy, fw, fh = good().faces[0].box
    assert abs((x + w / 2) - (fx + fw / 2)) < 0.15 * 400 and abs((y + h / 2) - (fy + fh / 2)) < 0.15 * 400


def test_card_present(hh):
    L = lim(hh, "card_present")
    assert R.card_present(good(), L).passed is True
    r = R.card_present(good(card=None), L)
    assert (r.passed, r.message) == (False, "show_card")
    assert R.card_present(good(card=Card(quad=CARD, in_frame=True, score=0.1)), L).passed is False


def test_card_in_frame(hh):
    L = lim(hh, "card_in_frame")
    r = R.card_in_frame(good(), L)
    assert r.passed is True and r.value == pytest.approx(1.0)
    cut = Card(quad=rect(1720, 560, 400, 252), in_frame=False)  # half outside the right border
    r = R.card_in_frame(good(card=cut), L)
    assert (r.passed, r.message) == (False, "card_cut_off") and r.value == pytest.approx(0.5)
    # the detector said in_frame but a corner lies outside: the geometry wins
    lying = Card(quad=rect(1720, 560, 400, 252), in_frame=True)
    assert R.card_in_frame(good(card=lying), L).passed is False
    assert R.card_in_frame(good(card=None), L).passed is None


def test_card_size(hh):
    L = lim(hh, "card_size")
    r = R.card_size(good(), L)
    assert r.passed is True and r.value == pytest.approx(400 * 252 / (W * H))
    big = Card(quad=rect(200, 100, 1400, 880), in_frame=True)  # 59 %
    r = R.card_size(good(card=big), L)
    assert (r.passed, r.message) == (False, "card_too_big")
    small = Card(quad=rect(900, 600, 120, 76), in_frame=True)  # 0.4 %
    r = R.card_size(good(card=small), L)
    assert (r.passed, r.message) == (False, "card_too_small")
    # the part outside the frame does not count: 2/3 of a huge card is clipped away
    clipped = Card(quad=rect(-1920, 0, 2880, 1080), in_frame=False)
    assert R.card_size(good(card=clipped), L).value == pytest.approx(0.5)
    # exactly half fails ("less than 1/2")
    half = Card(quad=rect(0, 0, 960, 1080), in_frame=True)
    assert R.card_size(good(card=half), L).passed is False
    assert R.card_size(good(card=None), L).passed is None


def test_card_fill():
    L = load_profile("card").limit("card_fill")
    filled = Card(quad=rect(100, 60, 1700, 960), in_frame=True)
    assert R.card_fill(good(card=filled), L).passed is True
    r = R.card_fill(good(), L)
    assert (r.passed, r.message) == (False, "card_too_small")
    assert R.card_fill(good(card=None), L).passed is None


def test_card_sharp(hh):
    L = lim(hh, "card_sharp")
    assert R.card_sharp(good(), L).passed is True
    r = R.card_sharp(with_measures(card_sharpness=0.1), L)
    assert (r.passed, r.message) == (False, "card_blurry")
    r = R.card_sharp(good(card=None), L)
    assert (r.passed, r.message) == (None, "show_card")


def test_glare(hh):
    L = lim(hh, "glare")
    assert R.glare(good(), L).passed is True
    r = R.glare(with_measures(glare=0.05), L)
    assert (r.passed, r.message) == (False, "glare")
    assert R.glare(good(card=None), L).passed is None


def test_card_facing(hh):
    L = lim(hh, "card_facing")
    assert R.card_facing(good(), L).passed is True
    r = R.card_facing(with_measures(card_tilt=50.0), L)
    assert (r.passed, r.message) == (False, "card_tilted")
    assert R.card_facing(good(card=None), L).passed is None


def test_card_unoccluded(hh):
    L = lim(hh, "card_unoccluded")
    assert R.card_unoccluded(good(), L).passed is True
    r = R.card_unoccluded(with_measures(fingers_on_text=2), L)
    assert (r.passed, r.message, r.value) == (False, "fingers_on_card", 2)
    assert R.card_unoccluded(good(card=None), L).passed is None


def test_hands_on_card(hh):
    L = lim(hh, "hands_on_card")
    r = R.hands_on_card(good(), L)
    assert (r.passed, r.value) == (True, 2)
    # one hand far away from the card, and pose wrists moved away too
    away = pose_points(p16=(200.0, 1000.0, 0.95), p18=(200.0, 1000.0, 0.9), p20=(200.0, 1000.0, 0.9),
                       p22=(200.0, 1000.0, 0.9))
    r = R.hands_on_card(good(hands=[hand_at(1165, 690), hand_at(200, 1000)], pose=away), L)
    assert (r.passed, r.message, r.value) == (False, "both_hands", 1)
    # the hand landmarker missed a hand: the pose's wrist/finger points on that side count
    r = R.hands_on_card(good(hands=[hand_at(1165, 690)]), L)
    assert (r.passed, r.value) == (True, 2)
    # ... but not when they, and the arm's elbow, are barely visible
    faint = pose_points(p14=(670.0, 850.0, 0.2), **{f"p{i}": (755.0, 690.0, 0.2) for i in (16, 18, 20, 22)})
    assert R.hands_on_card(good(hands=[hand_at(1165, 690)], pose=faint), L).value == 1
    # a seen elbow whose wrist is hidden behind the card (low visibility, on it) holds it ...
    hidden = pose_points(**{f"p{i}": (770.0, 700.0, 0.2) for i in (16, 18, 20, 22)})
    assert R.hands_on_card(good(hands=[hand_at(1165, 690)], pose=hidden), L).value == 2
    # ... a faint wrist away from the card does not, nor one just beside it (within the 15 %
    # that makes a seen hand touch it): an arm hanging past the card's corner
    off = pose_points(**{f"p{i}": (600.0, 950.0, 0.2) for i in (16, 18, 20, 22)})
    assert R.hands_on_card(good(hands=[hand_at(1165, 690)], pose=off), L).value == 1
    beside = pose_points(**{f"p{i}": (900.0, 830.0, 0.2) for i in (16, 18, 20, 22)})
    assert R.hands_on_card(good(hands=[hand_at(1165, 690)], pose=beside), L).value == 1
    # ... nor the wrists of the card's printed portrait
    printed = pose_points()
    printed.on_card = True
    assert R.hands_on_card(good(hands=[hand_at(1165, 690)], pose=printed), L).value == 1
    # a hand the landmarker found away from the card is not replaced by the pose guess
    r = R.hands_on_card(good(hands=[hand_at(1165, 690), hand_at(745, 1000)]), L)
    assert r.value == 1
    # near the edge (within 15 % of the card's size) counts; farther does not
    size = (400 * 252) ** 0.5
    near = hand_at(int(760 - 0.1 * size - 12 - 1), 690)  # its right-most point 0.1 x size left of the card
    assert R.holding_hands(good(hands=[near], pose=None), 0.15, 0.5) == 1
    far = hand_at(int(760 - 0.3 * size - 12 - 1), 690)
    assert R.holding_hands(good(hands=[far], pose=None), 0.15, 0.5) == 0
    assert R.hands_on_card(good(card=None), L).passed is None


def test_hands_on_card_without_a_card(hh):
    """No card found: open while two hands are in the picture, failed when fewer are."""
    L = lim(hh, "hands_on_card")
    assert R.hands_on_card(good(card=None), L).passed is None
    # one landmarker hand; the pose sees the other side's hand points: still two hands
    r = R.hands_on_card(good(card=None, hands=[hand_at(1165, 690)]), L)
    assert (r.passed, r.message) == (None, "show_card")
    # ... or a seen elbow whose wrist is inside the frame (a hand hidden behind something)
    hidden = pose_points(**{f"p{i}": (770.0, 700.0, 0.2) for i in (16, 18, 20, 22)})
    assert R.hands_on_card(good(card=None, hands=[hand_at(1165, 690)], pose=hidden), L).passed is None
    # the other side barely seen, elbow included: one hand, whatever the card
    faint = pose_points(p14=(670.0, 850.0, 0.2), **{f"p{i}": (755.0, 690.0, 0.2) for i in (16, 18, 20, 22)})
    r = R.hands_on_card(good(card=None, hands=[hand_at(1165, 690)], pose=faint), L)
    assert (r.passed, r.value, r.message) == (False, 1, "both_hands")
    # no hand and no body seen at all
    r = R.hands_on_card(good(card=None, hands=[], pose=None), L)
    assert (r.passed, r.value) == (False, 0)


def test_arms_visible(hh):
    L = lim(hh, "arms_visible")
    assert R.arms_visible(good(), L).value == 2
    r = R.arms_visible(good(pose=pose_points(p14=(670.0, 1200.0, 0.95))), L)  # elbow below the frame
    assert (r.passed, r.message, r.value) == (False, "show_arms", 1)
    r = R.arms_visible(good(pose=pose_points(p13=(1250.0, 850.0, 0.1))), L)  # elbow not visible
    assert r.value == 1
    # a wrist hidden behind the card it holds (low visibility, on the card) still counts ...
    assert R.arms_visible(good(pose=pose_points(p16=(770.0, 700.0, 0.3))), L).value == 2
    # ... a wrist with low visibility away from the card does not
    assert R.arms_visible(good(pose=pose_points(p16=(600.0, 950.0, 0.3))), L).value == 1
    assert R.arms_visible(good(card=None, pose=pose_points(p16=(770.0, 700.0, 0.3))), L).value == 1
    # ... unless the hand landmarker found that hand there: its wrist within one palm length of
    # the pose's (hand_at's palm is 24.7 px from wrist to middle knuckle)
    faint = pose_points(p16=(600.0, 950.0, 0.3))
    assert R.arms_visible(good(card=None, pose=faint, hands=[hand_at(1165, 690), hand_at(622, 970)]), L).value == 2
    assert R.arms_visible(good(card=None, pose=faint, hands=[hand_at(1165, 690), hand_at(640, 970)]), L).value == 1
    assert R.arms_visible(good(pose=None), L).passed is False
    # a pose found on the card's printed portrait (a card photographed alone) is no one's arms
    printed = pose_points()
    printed.on_card = True
    assert R.arms_visible(good(pose=printed), L).value == 0


def test_shoulders_visible():
    L = load_profile("half-body").limit("shoulders_visible")
    r = R.shoulders_visible(good(), L)
    assert r.passed is True and r.value == pytest.approx((H - 1 - 450) / 400)
    # only the head: shoulders at the bottom edge
    head_only = pose_points(p11=(1160.0, 1050.0, 0.99), p12=(760.0, 1050.0, 0.99))
    r = R.shoulders_visible(good(pose=head_only), L)
    assert (r.passed, r.message) == (False, "show_shoulders")
    # a shoulder out of the frame
    assert R.shoulders_visible(good(pose=pose_points(p11=(1960.0, 450.0, 0.99))), L).passed is False
    assert R.shoulders_visible(good(pose=None), L).passed is False


def test_no_card():
    L = load_profile("half-body").limit("no_card")
    assert R.no_card(good(card=None), L).passed is True
    r = R.no_card(good(), L)
    assert (r.passed, r.message) == (False, "remove_card")


def test_every_check_has_a_rule_a_priority_and_names():
    assert set(RULES) == set(PRIORITY)
    for cid in RULES:
        for lang in ("zh", "en"):
            assert messages.check_name(cid, lang)


def test_rules_are_pure(hh):
    obs = good()
    before = repr(obs)
    a = evaluate(obs, hh)
    b = evaluate(obs, hh)
    assert repr(obs) == before
    assert [(r.passed, r.value) for r in a.results] == [(r.passed, r.value) for r in b.results]


def test_results_are_json_serialisable():
    for name in PROFILE_NAMES:
        for obs in (good(), good(card=None, faces=[], pose=None, hands=[], measures=Measures())):
            v = evaluate(obs, load_profile(name))
            json.dumps([r.to_json() for r in v.results])
            assert all(r.passed in (True, False, None) for r in v.results)


# --------------------------------------------------------------------------- messages
def test_every_message_key_has_both_languages():
    keys = set()
    for name in PROFILE_NAMES:
        for obs in (good(), good(card=None, faces=[], pose=None, hands=[], measures=Measures()),
                    with_measures(exposure=10.0, face_sharpness=0.0, card_sharpness=0.0, glare=0.5,
                                  backlight=0.1, card_tilt=80.0, fingers_on_text=3),
                    with_measures(exposure=250.0), good(width=640, height=480)):
            keys |= {r.message for r in evaluate(obs, load_profile(name)).results if r.message}
    assert keys, "no failing result"
    for k in keys:
        zh, en = messages.text(k, "zh"), messages.text(k, "en")
        assert zh and en and zh != en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), zh
    assert messages.text("card_too_big", "zh") == "把身份证拿远一点"
    assert messages.text("card_too_big", "en") == "Move the card farther from the camera"
    assert messages.text("", "en") == ""
    with pytest.raises(KeyError):
        messages.text("no_such_key", "en")


# --------------------------------------------------------------------------- verdict
def test_hint_priority_framing_before_light_before_sharpness(hh):
    obs = dataclasses.replace(with_measures(exposure=20.0, card_sharpness=0.05, glare=0.3, fingers_on_text=2),
                              card=Card(quad=rect(200, 100, 1400, 880), in_frame=True))
    v = evaluate(obs, hh)
    assert v.hint.id == "card_size" and v.hint.message == "card_too_big"
    v = evaluate(with_measures(exposure=20.0, card_sharpness=0.05, glare=0.3, fingers_on_text=2), hh)
    assert v.hint.id == "exposure"
    v = evaluate(with_measures(card_sharpness=0.05, glare=0.3, fingers_on_text=2), hh)
    assert v.hint.id == "card_sharp"
    v = evaluate(with_measures(glare=0.3, fingers_on_text=2), hh)
    assert v.hint.id == "glare"
    v = evaluate(with_measures(fingers_on_text=2), hh)
    assert v.hint.id == "card_unoccluded"


def test_in_bad_light_what_is_not_found_asks_for_light(hh):
    """A frame too dark (or washed out) to find the card or the face in: the hint is the light,
    not "show your card" to a person holding it up; a card that is found still comes first."""
    dark = dataclasses.replace(with_measures(exposure=15.0, scene_light=40.0), card=None)
    v = evaluate(dark, hh)
    assert v.result("card_present").passed is False
    assert v.hint.id == "exposure" and v.hint.message == "too_dark"
    v = evaluate(dataclasses.replace(dark, faces=[], pose=None), hh)
    assert v.hint.id == "exposure"
    bright = dataclasses.replace(with_measures(exposure=240.0), card=None)
    assert evaluate(bright, hh).hint.message == "too_bright"
    no_face = evaluate(dataclasses.replace(dark, faces=[]), load_profile("half-body"))
    assert no_face.result("face_visible").passed is False
    assert no_face.hint.id == "exposure"
    # with the light right, the missing card is the hint; a found card too big comes before the light
    assert evaluate(dataclasses.replace(good(), card=None), hh).hint.id == "card_present"
    big = dataclasses.replace(dark, card=Card(quad=rect(200, 100, 1400, 880), in_frame=True))
    assert evaluate(big, hh).hint.id == "card_size"

def test_card_over_the_face_says_lower_the_card(hh):
    """The card hides the face from the detector: the hint is about the card, not 'show your face'."""
    v = evaluate(good(card=Card(quad=rect(850, 120, 300, 220), in_frame=True), faces=[]), hh)
    assert v.result("face_visible").passed is False
    assert v.hint.id == "face_uncovered" and v.hint.message == "card_over_face"


def test_results_keep_profile_order_not_priority_order(hh):
    v = evaluate(with_measures(fingers_on_text=2, exposure=20.0), hh)
    assert [r.id for r in v.results] == list(hh.checks)
    assert v.hint.id == "exposure"


def test_resolution_is_the_hint_only_when_nothing_else_fails(hh):
    v = evaluate(with_measures(glare=0.5), hh)  # 1920x1080: resolution passes, glare is the hint
    assert v.hint.id == "glare"
    small = Observation(width=960, height=540, faces=[Face(box=(430.0, 75.0, 100.0, 100.0), score=0.95)],
                        hands=[hand_at(582, 345), hand_at(378, 345)],
                        pose=Pose(points=[(x / 2, y / 2, v) for x, y, v in pose_points().points]),
                        card=Card(quad=rect(380, 280, 200, 126), in_frame=True), measures=good().measures)
    v = evaluate(small, hh)
    assert [r.id for r in v.results if not r.passed] == ["resolution"]
    assert v.hint.id == "resolution" and v.hint.message == "low_resolution"
    v = evaluate(dataclasses.replace(small, measures=dataclasses.replace(small.measures, glare=0.5)), hh)
    assert v.hint.id == "glare"


def test_cannot_judge_fails_the_frame_and_can_be_the_hint():
    prof = load_profile("card")
    v = evaluate(good(card=None), prof)
    assert not v.passed
    assert v.result("card_sharp").passed is None
    assert v.hint.id == "card_present"


def test_half_body_profile(hh):
    prof = load_profile("half-body")
    v = evaluate(good(card=None, hands=[]), prof)
    assert v.passed, [r for r in v.results if not r.passed]
    v = evaluate(good(), prof)
    assert v.hint.id == "no_card"


# --------------------------------------------------------------------------- profiles
def test_builtin_profiles():
    assert PROFILE_NAMES == ("hand-held", "half-body", "card")
    for name in PROFILE_NAMES:
        p = load_profile(name)
        assert p.name == name and p.source == "built-in"
        assert set(p.checks) <= set(RULES)
        for cid in p.checks:
            assert p.limit(cid), cid
    hh = load_profile()
    assert hh.name == "hand-held"
    assert hh.checks[:3] == ("resolution", "exposure", "face_visible")
    assert hh.capture.stable_seconds == 0.7 and hh.capture.min_iou == 0.95
    assert hh.capture.timeout_seconds == 20 and hh.capture.max_bytes == 5_000_000
    assert hh.capture.jpeg_quality == 95
    assert load_profile("card").capture.max_bytes >= 5_000_000
    assert hh.limit("card_size")["max"] == 0.5
    # every profile of requirements.md has the checks that table gives it
    assert {"shoulders_visible", "no_card"} <= set(load_profile("half-body").checks)
    assert {"card_fill"} <= set(load_profile("card").checks)
    assert "face_visible" not in load_profile("card").checks


def test_override_merges_deeply(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[defaults.limits.glare]\nmax = 0.03\n\n[profiles.hand-held.capture]\ntimeout_seconds = 8\n"
                 "[profiles.card.limits.card_fill]\nmin = 0.6\n", encoding="utf-8")
    hh = load_profile("hand-held", f)
    assert hh.limit("glare")["max"] == 0.03
    assert hh.limit("exposure")["min"] == load_profile("hand-held").limit("exposure")["min"]  # untouched
    assert hh.capture.timeout_seconds == 8 and hh.capture.max_bytes == 5_000_000
    assert hh.source == str(f)
    card = load_profile("card", f)
    assert card.limit("card_fill")["min"] == 0.6 and card.limit("glare")["max"] == 0.03
    assert card.capture.timeout_seconds == 20
    # the looser glare limit changes the verdict
    obs = with_measures(glare=0.02)
    assert evaluate(obs, load_profile("hand-held")).result("glare").passed is False
    assert evaluate(obs, hh).result("glare").passed is True


def test_user_value_beats_builtin_profile_value(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[defaults.capture]\nmax_bytes = 8000000\n", encoding="utf-8")
    assert load_profile("hand-held", f).capture.max_bytes == 8_000_000


def test_override_can_change_the_check_list(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[profiles.hand-held]\nchecks = ["resolution", "card_present"]\n', encoding="utf-8")
    assert load_profile("hand-held", f).checks == ("resolution", "card_present")


@pytest.mark.parametrize("text, needle", [
    ("[defaults.limits.glare]\nmaxx = 0.03\n", "unknown key 'defaults.limits.glare.maxx'"),
    ("[defaults.limits.glaare]\nmax = 0.03\n", "unknown key 'defaults.limits.glaare'"),
    ("[profiles.passport]\nchecks = []\n", "unknown key 'profiles.passport'"),
    ("[defaults.limits.glare]\nmax = 'high'\n", "'defaults.limits.glare.max' must be"),
    ("[defaults.limits]\nglare = 3\n", "must be a table"),
    ("[defaults.limits.glare\nmax = 1\n", "not valid TOML"),
    ('[profiles.card]\nchecks = ["card_present", "selfie"]\n', "unknown check(s) selfie"),
])
def test_bad_override_is_one_clear_line(tmp_path, text, needle):
    f = tmp_path / "p.toml"
    f.write_text(text, encoding="utf-8")
    name = "card" if "profiles.card" in text else "hand-held"
    with pytest.raises(CoachError) as e:
        load_profile(name, f)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg.strip()


def test_override_from_env_and_user_config(tmp_path, monkeypatch):
    env_file = tmp_path / "env.toml"
    env_file.write_text("[defaults.limits.glare]\nmax = 0.04\n", encoding="utf-8")
    monkeypatch.setenv("COACH_PROFILES", str(env_file))
    assert load_profile().limit("glare")["max"] == 0.04
    monkeypatch.setenv("COACH_PROFILES", str(tmp_path / "missing.toml"))
    with pytest.raises(CoachError, match="COACH_PROFILES"):
        load_profile()
    monkeypatch.delenv("COACH_PROFILES")
    user = tmp_path / "user.toml"
    user.write_text("[defaults.limits.glare]\nmax = 0.05\n", encoding="utf-8")
    monkeypatch.setattr("coach.checks.profiles.user_profiles_path", lambda: user)
    assert load_profile().limit("glare")["max"] == 0.05
    # an explicit file wins over the user config
    assert load_profile(path=env_file).limit("glare")["max"] == 0.04


def test_bad_profile_name_and_missing_file(tmp_path):
    with pytest.raises(CoachError, match="unknown profile"):
        load_profile("passport")
    with pytest.raises(CoachError, match="not found"):
        load_profile("hand-held", tmp_path / "nope.toml")


def test_builtin_toml_is_shipped_with_the_package():
    import coach.checks

    assert (Path(coach.checks.__file__).parent / "profiles.toml").is_file()
    t = builtin_table()
    assert set(t["profiles"]) == set(PROFILE_NAMES)
