"""Synthetic scenes: corners where they are said to be, each defect changes what it should,
determinism per seed, scenario recordings. Generated in memory / tmp_path only."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from coach import synth
from coach.synth import DEFECTS, Pose3D, Scene, make_scene, order_quad, project_card, quad_iou
from coach.synth.bases import _prepare_base
from coach.synth.geometry import _shrink


def _flat_card(w: int = 856, h: int = 540) -> np.ndarray:
    card = np.full((h, w, 3), 230, np.uint8)
    cv2.circle(card, (w // 4, h // 4), 12, (0, 0, 0), -1)  # a marker at a known card position
    return card


def test_order_quad_is_clockwise_from_top_left():
    q = [(10, 100), (0, 0), (100, 5), (110, 90)]
    assert order_quad(q) == [(0.0, 0.0), (100.0, 5.0), (110.0, 90.0), (10.0, 100.0)]


def test_projection_without_tilt_is_a_centred_rectangle():
    q = project_card(Pose3D(640, 360, 300, focal=1200), 1280, 720)
    assert np.allclose(q[1, 0] - q[0, 0], 300, atol=1e-6)
    assert np.allclose(q[3, 1] - q[0, 1], 300 / synth.ID1_ASPECT, atol=1e-6)
    assert np.allclose(q.mean(0), [640, 360], atol=1e-6)
    assert Pose3D(0, 0, 1, yaw=30).tilt == pytest.approx(30, abs=1e-6)
    assert Pose3D(0, 0, 1, roll=40).tilt == pytest.approx(0, abs=1e-6)


def test_quad_iou():
    a = [(0, 0), (10, 0), (10, 10), (0, 10)]
    assert quad_iou(a, a) == pytest.approx(1.0)
    assert quad_iou(a, [(5, 0), (15, 0), (15, 10), (5, 10)]) == pytest.approx(1 / 3)


def test_framing_claims_follow_the_true_quad():
    """A card placed over a face near the top of the picture runs off it: its claims must say so,
    whatever the defect meant; a corner on the border itself, or an area at a limit, is left open."""
    from coach.synth.scenes import _framing_from_quad

    def claims(quad):
        exp = {"card_in_frame": True, "card_size": True, "glare": True}
        _framing_from_quad(exp, np.asarray(quad, float), 1280, 720)
        return exp

    inside = [(400, 200), (800, 200), (800, 452), (400, 452)]  # 11 % of the frame
    assert claims(inside) == {"card_in_frame": True, "card_size": True, "glare": True}
    over_top = [(100, -90), (1180, -90), (1180, 560), (100, 560)]  # runs off the top, 66 % visible
    assert claims(over_top) == {"card_in_frame": False, "card_size": False, "glare": True}
    on_border = [(0.5, 200), (400, 200), (400, 452), (0.5, 452)]
    assert "card_in_frame" not in claims(on_border)
    steep = [(600, 300), (700, 300), (700, 325), (600, 325)]  # 0.27 %: too small
    assert claims(steep)["card_size"] is False
    side = (0.5 * 1280 * 720) ** 0.5  # half the frame exactly: a pixel decides, left open
    assert "card_size" not in claims([(10, 10), (10 + side, 10), (10 + side, 10 + side), (10, 10 + side)])


def test_corners_are_where_the_scene_says():
    """On a flat grey base, a flat light card: inside each edge is card, outside is base, and the
    card's own marker lands where the homography from its corners puts it."""
    base = np.full((720, 1280, 3), 60, np.uint8)
    card = _flat_card()
    sc = make_scene(base, card, np.random.default_rng(3))
    assert isinstance(sc, Scene) and sc.image.shape == (720, 1280, 3)
    q = np.asarray(sc.quad)
    c = q.mean(0)
    gray = cv2.cvtColor(sc.image, cv2.COLOR_BGR2GRAY).astype(float)
    for i in range(4):
        mid = (q[i] + q[(i + 1) % 4]) / 2
        n = (mid - c) / np.linalg.norm(mid - c)
        inside, outside = mid - 3 * n, mid + 3 * n
        assert gray[int(round(inside[1])), int(round(inside[0]))] > 110
        assert gray[int(round(outside[1])), int(round(outside[0]))] < 80
    # the marker: card pixel (w/4, h/4) through the homography card corners -> quad
    h, w = card.shape[:2]
    src = np.float32([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    hm = cv2.getPerspectiveTransform(src, q.astype(np.float32))
    mx, my = cv2.perspectiveTransform(np.float32([[[w / 4, h / 4]]]), hm)[0, 0]
    assert gray[int(round(my)), int(round(mx))] < 90
    assert sc.expected["card_present"] is True and sc.expected["card_in_frame"] is True


def test_corners_sub_pixel_against_a_fitted_outline():
    """Straight-edge fit of the pasted card's outline matches the claimed corners within 1 px."""
    base = np.full((720, 1280, 3), 40, np.uint8)
    sc = make_scene(base, np.full((540, 856, 3), 220, np.uint8), np.random.default_rng(11))
    m = (cv2.cvtColor(sc.image, cv2.COLOR_BGR2GRAY) > 86).astype(np.uint8)
    cnt = max(cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=cv2.contourArea)
    area = cv2.contourArea(cnt)
    # the rounded corners cut a tiny area (4 r^2 (1 - pi/4)); allow that plus the AA edge
    assert abs(area - synth.polygon_area(sc.quad)) / synth.polygon_area(sc.quad) < 0.02


@pytest.fixture(scope="module")
def pool(frames_dir, models_dir):
    p = synth.base_pool(frames_dir)
    assert len(p) >= 8
    return p


def _base(frames_dir, pool, stem):
    for path, labels in pool:
        if path.stem == stem:
            return cv2.imread(str(path)), labels
    pytest.skip(f"{stem} not in the base pool")


def _scene(frames_dir, pool, stem, defect, seed=7, card="spec_id_01"):
    img, labels = _base(frames_dir, pool, stem)
    c = synth.load_card(frames_dir / f"{card}.jpg")
    return make_scene(img, c, np.random.default_rng(seed), defect, base_name=stem, base_labels=labels)


def _luma(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _inner_mask(sc, frac=0.15):
    m = np.zeros(sc.image.shape[:2], np.uint8)
    cv2.fillConvexPoly(m, np.round(_shrink(np.asarray(sc.quad), frac, frac)).astype(np.int32), 1)
    return m.astype(bool)


def _lap_var(img, mask):
    return float(cv2.Laplacian(_luma(img), cv2.CV_32F)[mask].var())


def test_good_scene_claims(frames_dir, pool):
    sc = _scene(frames_dir, pool, "person_21", None)
    assert sc.defects == ()
    for c in synth.GOOD_CHECKS:
        assert sc.expected[c] is True, c
    assert 0.03 < sc.truth["card_area_frac"] < 0.5
    assert sc.truth["tilt_deg"] <= 15
    assert sc.truth["face_cover"] == 0
    assert min(sc.image.shape[:2]) >= 720 and max(sc.image.shape[:2]) >= 1280


def test_every_defect_flips_its_check(frames_dir, pool):
    for d in DEFECTS:
        sc = _scene(frames_dir, pool, "person_21", d)
        assert sc.defects == (d,)
        for c in synth.DEFECT_FAILS[d]:
            assert sc.expected.get(c) is False, (d, c)
        assert sc.expected["resolution"] is (d != "low_res")


def test_card_sharpness_is_not_claimed_for_an_upscaled_specimen(frames_dir, pool):
    """A too-big card pasted from a 600 px specimen is 1.5x its own resolution: its print is
    softer than a real card's at that size, so card_sharp is left open; from a large specimen it
    is claimed."""
    img, labels = _base(frames_dir, pool, "person_21")
    for width, claimed in ((600, False), (2400, True)):
        card = cv2.resize(synth.load_card(frames_dir / "spec_id_01.jpg"), (width, round(width / synth.ID1_ASPECT)))
        sc = make_scene(img, card, np.random.default_rng(7), "too_big", base_name="person_21", base_labels=labels)
        assert (sc.truth["card_upscale"] > 1.4) is not claimed
        assert ("card_sharp" in sc.expected) is claimed


def test_defects_change_the_pixels_they_should(frames_dir, pool):
    stem = "person_21"
    good = _scene(frames_dir, pool, stem, None)
    H, W = good.image.shape[:2]
    face_img, _ = _base(frames_dir, pool, stem)
    fb = _prepare_base(face_img, (1280, 720)).det.face
    x, y, fw, fh = (int(v) for v in fb)
    fmask = np.zeros((H, W), bool)
    fmask[y + fh // 4:y + 3 * fh // 4, x + fw // 4:x + 3 * fw // 4] = True

    big = _scene(frames_dir, pool, stem, "too_big")
    assert big.truth["card_area_frac"] > 0.5 and big.expected["card_size"] is False
    assert big.expected["card_in_frame"] is True
    small = _scene(frames_dir, pool, stem, "too_small")
    assert small.truth["card_area_frac"] < 0.03

    cut = _scene(frames_dir, pool, stem, "cut_off")
    q = np.asarray(cut.quad)
    outside = ((q[:, 0] < 0) | (q[:, 0] > W) | (q[:, 1] < 0) | (q[:, 1] > H)).sum()
    assert 1 <= outside <= 2

    blur = _scene(frames_dir, pool, stem, "card_blur")
    assert _lap_var(blur.image, _inner_mask(blur)) < 0.5 * _lap_var(good.image, _inner_mask(good))

    fblur = _scene(frames_dir, pool, stem, "face_blur")
    assert _lap_var(fblur.image, fmask) < 0.4 * _lap_var(good.image, fmask)

    dark = _scene(frames_dir, pool, stem, "dark")
    assert _luma(dark.image)[fmask].mean() < 40 and _luma(dark.image).mean() < 40
    over = _scene(frames_dir, pool, stem, "overexposed")
    assert _luma(over.image)[fmask].mean() > 215

    glare = _scene(frames_dir, pool, stem, "glare")

    def white_frac(sc):
        hsv = cv2.cvtColor(sc.image, cv2.COLOR_BGR2HSV)
        m = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(m, np.round(np.asarray(sc.quad)).astype(np.int32), 1)
        m = m.astype(bool)
        return float(((hsv[..., 2] >= 250) & (hsv[..., 1] <= 40))[m].mean())

    assert white_frac(glare) > 0.015 > white_frac(good)

    back = _scene(frames_dir, pool, stem, "backlight")
    border = np.ones((H, W), bool)
    border[int(0.1 * H):, int(0.15 * W):int(0.85 * W)] = False
    assert _luma(back.image)[fmask].mean() / _luma(back.image)[border].mean() < 0.5

    over_face = _scene(frames_dir, pool, stem, "card_over_face")
    assert over_face.truth["face_cover"] >= 0.6 and over_face.expected["face_visible"] is False

    low = _scene(frames_dir, pool, stem, "low_res")
    assert max(low.image.shape[:2]) < 1280 and low.expected["resolution"] is False
    assert abs(synth.polygon_area(low.quad) / (low.image.shape[0] * low.image.shape[1])
               - low.truth["card_area_frac"]) < 0.003

    tilted = _scene(frames_dir, pool, stem, "tilted")
    assert tilted.truth["tilt_deg"] > 40 and tilted.expected["card_facing"] is False


def test_finger_on_text_covers_the_text_only(frames_dir, pool):
    # person_25 shows no hands: a thumb is painted; everything else is the good scene's pixels
    good = _scene(frames_dir, pool, "person_25", None, seed=4)
    fing = _scene(frames_dir, pool, "person_25", "finger_on_text", seed=4)
    assert fing.truth["finger"] == "thumb" and fing.quad == good.quad
    diff = np.abs(good.image.astype(int) - fing.image.astype(int)).max(2) > 30
    inner = _inner_mask(good, 0.12)
    assert diff[inner].mean() > 0.03  # a real share of the text area is covered
    card = np.zeros(diff.shape, np.uint8)
    cv2.fillConvexPoly(card, np.round(_shrink(np.asarray(good.quad), -0.4, -0.4)).astype(np.int32), 1)
    assert diff[card == 0].mean() < 0.001  # nothing changes away from the card


def test_scenes_are_deterministic_per_seed(frames_dir, models_dir):
    a = list(synth.iter_scenes(frames_dir, 3, seed=5))
    b = list(synth.iter_scenes(frames_dir, 3, seed=5))
    c = list(synth.iter_scenes(frames_dir, 3, seed=6))
    for x, y in zip(a, b):
        assert x.name == y.name and np.array_equal(x.image, y.image) and x.quad == y.quad
        assert x.expected == y.expected
    assert any(not np.array_equal(x.image, z.image) for x, z in zip(a, c))
    # scene i does not depend on n
    assert np.array_equal(next(synth.iter_scenes(frames_dir, 1, seed=5)).image, a[0].image)
    # nor on OpenCV's global generator (GrabCut draws from it for the backlight mask)
    i = synth.defect_schedule().index("backlight")
    cv2.setRNGSeed(1)
    x = synth.scene_at(frames_dir, i, seed=5)
    cv2.setRNGSeed(2)
    y = synth.scene_at(frames_dir, i, seed=5)
    assert x.defects == ("backlight",) and np.array_equal(x.image, y.image)


def test_schedule_covers_every_defect_both_ways():
    s = synth.defect_schedule()
    assert set(d for d in s if d) == set(DEFECTS) and s.count(None) >= len(DEFECTS)


def _read_manifest(folder):
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind,seconds", [("becomes_right", 5.5), ("never_right", 5.0), ("half_body", 3.0)])
def test_write_scenario(frames_dir, models_dir, tmp_path, kind, seconds):
    fps = 4.0
    folder = synth.write_scenario(frames_dir, tmp_path, kind, seed=2, fps=fps)
    assert folder.parent == tmp_path and folder.is_dir()
    man = _read_manifest(folder)
    assert len(man) == int(round(seconds * fps))
    ts = [m["t"] for m in man]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    prev = None
    for i, m in enumerate(man):
        assert m["index"] == i and m["file"] == f"{i:06d}.jpg"
        data = (folder / m["file"]).read_bytes()
        assert data[:2] == b"\xff\xd8"
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (720, 1280, 3)
        if prev is not None:
            assert not np.array_equal(img, prev)  # a camera never repeats a frame exactly
        prev = img
    assert (folder.stat().st_mode & 0o077) == 0


def test_unknown_defect_and_kind_are_refused(frames_dir, tmp_path):
    with pytest.raises(ValueError):
        make_scene(np.zeros((720, 1280, 3), np.uint8), _flat_card(), np.random.default_rng(0), "smudge")
    with pytest.raises(ValueError):
        synth.write_scenario(frames_dir, tmp_path, "sometimes_right")
    with pytest.raises(ValueError, match="base"):
        synth.write_scenario(frames_dir, tmp_path, "becomes_right", base="no_such_photo")


def test_finger_on_text_pastes_a_real_hand_the_landmarker_finds(frames_dir, models_dir, pool):
    """On person_27 the person's own hands cannot be moved in front of the card: a real hand cut
    out of hand_0N.jpg holds the card by an edge, its thumb over the text. The hand landmarker
    must find that hand (its thumb tip where the scene put it), with the tip inside the card's
    text area (the quad shrunk by 12 %) and its wrist off the card; the scene must claim it."""
    from coach.synth.bases import _landmarks
    from coach.synth.hands import hand_sources

    synth.use_models(models_dir)
    hands = hand_sources(frames_dir)
    assert hands and all(h.name.startswith("hand_0") for h in hands)
    img, labels = _base(frames_dir, pool, "person_27")
    c = synth.load_card(frames_dir / "spec_id_01.jpg")
    sc = make_scene(img, c, np.random.default_rng(0), "finger_on_text", base_name="person_27", base_labels=labels,
                    hands=hands)
    assert sc.truth["finger"] == "pasted_hand" and sc.expected["card_unoccluded"] is False
    text = _shrink(np.asarray(sc.quad), 0.12, 0.12).astype(np.float32)
    tip = np.asarray(sc.truth["finger_tip"], np.float32)
    assert cv2.pointPolygonTest(text, (float(tip[0]), float(tip[1])), False) > 0
    found = _landmarks().hands(cv2.cvtColor(sc.image, cv2.COLOR_BGR2RGB))
    card_w = float(np.linalg.norm(np.subtract(sc.quad[1], sc.quad[0])))
    pasted = [h for h in found if np.linalg.norm(np.asarray(h.points[4]) - tip) < 0.1 * card_w]
    assert pasted, f"the landmarker does not find the pasted hand ({len(found)} hands found)"
    h = pasted[0]
    assert any(cv2.pointPolygonTest(text, (float(h.points[i][0]), float(h.points[i][1])), False) > 0
               for i in (4, 8, 12, 16, 20))
    card = np.asarray(sc.quad, np.float32)
    assert cv2.pointPolygonTest(card, (float(h.points[0][0]), float(h.points[0][1])), False) < 0


def _arms_base(pose_pts, labels):
    from coach.synth.bases import _Base, _Detections
    from coach.types import Pose

    pts = [(640.0, 200.0, 0.99)] * 33
    for i, p in pose_pts.items():
        pts[i] = (*p, 0.95)
    return _Base(image=np.zeros((720, 1280, 3), np.uint8), det=_Detections(None, 0, [], Pose(points=pts)),
                 scale=1.0, labels=labels)


def test_arms_claim_follows_labels_and_where_the_pose_puts_the_arms():
    """arms_visible is claimed from the base photo: failing when its labels show no forearm or an
    elbow lies outside the frame, passing only when both hands and forearms are labelled, all four
    points are clearly inside and the card hides no elbow and no wrist; else open."""
    from coach.synth.scenes import _arms_claim

    both = {"hands": 2, "forearms": True}
    arms = {13: (900, 600), 14: (380, 600), 15: (820, 420), 16: (460, 420)}
    away = np.array([[520, 60], [760, 60], [760, 210], [520, 210]], np.float64)  # a card held up high
    assert _arms_claim(_arms_base(arms, both), away) is True
    assert _arms_claim(_arms_base(arms, {"hands": 0, "forearms": False}), away) is False
    assert _arms_claim(_arms_base({**arms, 14: (380, 800)}, both), away) is False  # elbow below the frame
    assert _arms_claim(_arms_base({**arms, 14: (380, 730)}, both), away) is None  # within the margin
    assert _arms_claim(_arms_base({**arms, 16: (460, 800)}, both), away) is None  # a wrist out: open
    assert _arms_claim(_arms_base(arms, {"hands": 1, "forearms": True}), away) is None
    # a card over an elbow hides it; a card just reaching a wrist does not, one deep over it does
    over_elbow = np.array([[300, 500], [700, 500], [700, 760], [300, 760]], np.float64)
    assert _arms_claim(_arms_base(arms, both), over_elbow) is None
    at_wrists = np.array([[470, 300], [810, 300], [810, 430], [470, 430]], np.float64)
    assert _arms_claim(_arms_base(arms, both), at_wrists) is True
    over_wrists = np.array([[400, 300], [880, 300], [880, 560], [400, 560]], np.float64)
    assert _arms_claim(_arms_base(arms, both), over_wrists) is None


def test_hand_sides_say_which_hand_holds_the_card_and_which_cannot():
    """hands_on_card is claimed from where each of the person's hands is: "away" when it is out of
    the picture (its forearm clear of the card) or clearly away from the card; "holds" when it is
    hidden behind the card on an arm whose elbow is seen beside it; else "open" (near the card,
    or out of the picture with its forearm running behind the card, or behind the card together
    with its elbow)."""
    from coach.synth.scenes import _hand_sides

    def with_hands(left, right, elbows=((900, 600), (380, 600))):  # wrist + finger points at one place
        pts = {13: elbows[0], 14: elbows[1]}
        pts.update({i: left for i in (15, 17, 19, 21)})
        pts.update({i: right for i in (16, 18, 20, 22)})
        return _arms_base(pts, {"hands": 2, "forearms": True})

    card = np.array([[450, 300], [850, 300], [850, 550], [450, 550]], np.float64)  # size ~316 px
    assert _hand_sides(with_hands((870, 420), (200, 420)), card) == {"left": "open", "right": "away"}  # 250 px off
    assert _hand_sides(with_hands((870, 420), (340, 420)), card)["right"] == "open"  # 110 px: open
    assert _hand_sides(with_hands((870, 420), (380, 900)), card)["right"] == "away"  # below, arm clear
    # below the frame, but the forearm runs from its elbow behind the card: open
    assert _hand_sides(with_hands((870, 420), (520, 900), ((900, 600), (500, 450))), card)["right"] == "open"
    # hidden behind the card, its elbow seen below it: holds; the elbow behind the card too: open
    assert _hand_sides(with_hands((800, 450), (500, 450)), card) == {"left": "holds", "right": "holds"}
    assert _hand_sides(with_hands((800, 450), (500, 450), ((900, 600), (500, 500))), card)["right"] == "open"


def test_arms_cut_frames_head_and_card_and_the_engine_sees_no_arms(frames_dir, models_dir, pool):
    """arms_cut frames portrait_05 closer, so that both elbows (as the pose found them on the whole
    photo) fall below the frame while the face stays whole: the scene claims arms_visible failing
    and the engine finds fewer than two forearms. The same photo framed as usual, the card clear of
    elbows and wrists, claims it passing and the engine finds both."""
    from coach.checks.profiles import load_profile
    from coach.checks.verdict import evaluate
    from coach.types import Frame
    from coach.vision.analyzer import Analyzer

    synth.use_models(models_dir)
    img, labels = _base(frames_dir, pool, "portrait_05")
    c = synth.load_card(frames_dir / "spec_id_01.jpg")
    cut = make_scene(img, c, np.random.default_rng(0), "arms_cut", base_name="portrait_05", base_labels=labels)
    good = make_scene(img, c, np.random.default_rng(0), None, base_name="portrait_05", base_labels=labels)
    assert cut.expected.get("arms_visible") is False and good.expected.get("arms_visible") is True
    assert cut.truth["upscale"] > 1.3 * good.truth["upscale"]  # framed closer
    hh = load_profile("hand-held")
    with Analyzer(models_dir=models_dir, mode="image") as an:
        found = {}
        for sc in (cut, good):
            obs = an.analyse(Frame(image=sc.image, index=0, t=0.0, name=sc.name))
            found[sc.name] = next(r for r in evaluate(obs, hh).results if r.id == "arms_visible")
    assert found[cut.name].passed is False and found[cut.name].value < 2
    assert found[good.name].passed is True


def test_small_card_stands_on_the_nearest_hand_below_the_face():
    """too_small: the card shrunk where the good card was would float between hands that held a
    card twice its size; it stands on the fingertips of the seen hand below the face nearest to
    where it was (as the good pose's card on hands held close together). A hand raised above the
    face's bottom holds nothing: the card stays where it was; so without any hand."""
    from coach.synth.bases import _Base, _Detections
    from coach.synth.placement import _held_small
    from coach.types import Hand

    def hand(x, y):  # wrist at (x, y), fingertips ~100 px above it
        pts = [(x, y)] + [(x + dx, y - 25.0 * j) for dx in (-40, -20, 0, 20, 40) for j in range(1, 5)]
        return Hand(points=pts, handedness="Right", score=0.9)

    def base(hands):
        return _Base(image=np.zeros((720, 1280, 3), np.uint8), scale=1.0, labels={},
                     det=_Detections(face=(580.0, 100.0, 120.0, 120.0), n_faces=1, hands=hands, pose=None))

    p = Pose3D(640, 450, 120, focal=1200)
    near, far, raised = hand(400, 600), hand(1000, 650), hand(300, 200)
    held = _held_small(base([far, near, raised]), p, np.random.default_rng(0))
    assert held is not None and held.width == p.width
    q = project_card(held, 1280, 720)
    tips = np.asarray(near.points)[[4, 8, 12, 16, 20]]
    assert abs(q[:, 0].mean() - tips[:, 0].mean()) < 0.1 * p.width
    assert q[:, 1].max() - np.median(tips[:, 1]) == pytest.approx(0.5 * synth.geometry.BORDER_BAND * p.width / synth.ID1_ASPECT, abs=1.0)
    assert _held_small(base([raised]), p, np.random.default_rng(0)) is None
    assert _held_small(base([]), p, np.random.default_rng(0)) is None
