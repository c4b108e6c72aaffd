"""Card detector: quad geometry helpers, synthetic scenes with known corners (built in memory
from ../shared/frames), and real photos from labels.csv."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from card_scenes import TIGHT_SPECS, card_texture, load, make_scene, order, paste
from coach.types import Card, Face, Hand
from coach.vision import geometry as g
from coach.vision.card import detect_card

DOC01_TRUTH = [[139, 678], [940, 689], [966, 1180], [88, 1167]]  # labels.csv notes (dataset corners)


# --------------------------------------------------------------------------- geometry
def test_order_quad_clockwise_from_top_left():
    q = g.order_quad([[10, 90], [100, 10], [0, 5], [110, 95]])
    assert q.tolist() == [[0, 5], [100, 10], [110, 95], [10, 90]]


def test_quad_iou_and_points_in_quad():
    a = [[0, 0], [100, 0], [100, 50], [0, 50]]
    assert g.quad_iou(a, a) == pytest.approx(1.0)
    assert g.quad_iou(a, [[50, 0], [150, 0], [150, 50], [50, 50]]) == pytest.approx(1 / 3, abs=1e-3)
    inside = g.points_in_quad(np.array([[50, 25], [150, 25], [99, 1]]), a)
    assert inside.tolist() == [True, False, True]


def test_shrink_quad_keeps_the_inner_band():
    inner = g.shrink_quad([[0, 0], [100, 0], [100, 50], [0, 50]], 0.1)
    assert np.allclose(inner, [[10, 5], [90, 5], [90, 45], [10, 45]])


def test_plane_pose_frontal_and_tilted():
    w, h = 1280, 720
    f = g.default_focal(w, h)
    aspect, tilt = g.plane_pose([[400, 200], [856, 200], [856, 488], [400, 488]], w, h)
    assert aspect == pytest.approx(456 / 288, rel=1e-3) and tilt < 0.5
    # a 1.586 card rotated 40 deg about the vertical axis, projected with the same focal length
    c, s = np.cos(np.radians(40)), np.sin(np.radians(40))
    pts = np.array([[-1.586, -1, 0], [1.586, -1, 0], [1.586, 1, 0], [-1.586, 1, 0]]) * 100
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    P = pts @ R.T + [0, 0, 1000]
    q = np.stack([f * P[:, 0] / P[:, 2] + w / 2, f * P[:, 1] / P[:, 2] + h / 2], 1)
    aspect, tilt = g.plane_pose(q, w, h)
    assert tilt == pytest.approx(40, abs=0.5)
    assert aspect == pytest.approx(1.586, rel=0.01)


# --------------------------------------------------------------------------- synthetic scenes
@pytest.fixture(scope="module")
def assets(frames_dir):
    people = [load(p) for p in sorted((frames_dir / "people").glob("person_*.jpg"))
              if p.name not in ("person_19.jpg", "person_20.jpg")]
    specs = [load(frames_dir / n) for n in TIGHT_SPECS]
    return people, specs


def test_synthetic_cards_found_with_precise_corners(assets):
    """Cards pasted with a known homography (tilted, rotated, sometimes portrait, thumbs on the
    lower corners) into real photos at 1280x720. Measured on seed 0: 93 % of 60 scenes found,
    85 % with IoU >= 0.95, median IoU 0.996 (misses: card edges of the same tone as the
    clothes/wall behind; IoU 0.90-0.94: a printed line parallel to a faint edge taken for it).
    These 16: 69 % with IoU >= 0.95, 88 % >= 0.9."""
    people, specs = assets
    rng = np.random.default_rng(0)
    ious = []
    for _ in range(16):
        sc = make_scene(rng, people, specs)
        card = detect_card(sc.image)
        ious.append(g.quad_iou(card.quad, sc.quad) if card else 0.0)
        if card:
            assert card.in_frame
    ious = np.array(ious)
    assert (ious >= 0.95).mean() >= 0.6, ious.round(3)
    assert (ious >= 0.9).mean() >= 0.8, ious.round(3)
    assert np.median(ious[ious > 0]) >= 0.98


def _card_on_plain_clothes(specs):
    """(image, true quad): a card on a dark, plain area below a light wall (like hold_id_01)."""
    bg = np.full((720, 1280, 3), (40, 35, 30), np.uint8)
    bg[:300] = (225, 225, 230)  # wall above
    quad = order(np.array([[520, 380], [800, 392], [792, 566], [512, 552]], float))
    img, _ = paste(bg, card_texture(specs[2]), quad)
    return cv2.GaussianBlur(img, (0, 0), 0.6), quad


def test_synthetic_card_on_plain_clothes_exact(assets):
    """A card on a dark, plain area (like hold_id_01) with both thumbs: corners within ~1 px."""
    people, specs = assets
    img, quad = _card_on_plain_clothes(specs)
    card = detect_card(img)
    assert card is not None and card.in_frame
    assert g.quad_iou(card.quad, quad) >= 0.97
    assert np.abs(np.array(card.quad) - quad).max() < 3.0


def test_portrait_card_found(assets):
    people, specs = assets
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(6):
        sc = make_scene(rng, people, specs, portrait=True, thumbs=0)
        card = detect_card(sc.image)
        found += bool(card and g.quad_iou(card.quad, sc.quad) >= 0.9)
    assert found >= 4


def test_card_cut_off_by_the_frame_is_reported(assets):
    """The right part of the card runs off the frame: found, in_frame False, the missing corners
    inferred beyond the border (IoU of the visible part with the truth stays high)."""
    people, specs = assets
    bg = np.full((720, 1280, 3), (60, 50, 45), np.uint8)
    tex = card_texture(specs[0])
    quad = np.array([[1000, 250], [1460, 250], [1460, 540], [1000, 540]], float)  # 180 px outside
    img, _ = paste(bg, tex, quad)
    card = detect_card(img)
    assert card is not None
    assert card.in_frame is False
    q = np.array(card.quad)
    assert q[:, 0].max() > 1280  # inferred corners beyond the border
    assert g.quad_iou(q, quad) >= 0.8


def test_face_hint_rejects_the_head(assets):
    """A face box given as hint: a quad that is mostly that face is never the card."""
    people, specs = assets
    bg = np.full((720, 1280, 3), (70, 60, 55), np.uint8)
    tex = card_texture(specs[1])
    quad = np.array([[500, 200], [780, 200], [780, 376], [500, 376]], float)
    img, _ = paste(bg, tex, quad)
    assert detect_card(img) is not None
    face = Face(box=(490.0, 190.0, 300.0, 196.0), score=0.9)
    assert detect_card(img, faces=[face]) is None


def test_printed_portrait_box_is_not_the_head(assets):
    """The face detector's box around a card's printed portrait is larger than the photo (here
    40 % of the card) and lies off the card's centre along its long side: the card is kept. The
    same box centred on the quad is still a head's outline."""
    from coach.vision.card import _is_head

    _, specs = assets
    bg = np.full((720, 1280, 3), (70, 60, 55), np.uint8)
    quad = np.array([[400, 300], [800, 300], [800, 552], [400, 552]], float)
    img, _ = paste(bg, card_texture(specs[1]), quad)
    portrait = Face(box=(390.0, 330.0, 200.0, 200.0), score=0.7)  # left third, 200 x 200 px
    card = detect_card(img, faces=[portrait])
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.95
    area = g.quad_area(quad)
    assert not _is_head(quad, area, portrait.box)
    assert _is_head(quad, area, (500.0, 326.0, 200.0, 200.0))  # the same box, centred
    assert _is_head(quad, area, (380.0, 280.0, 440.0, 292.0))  # the quad is the face
    # a large printed portrait (German ID: the box is ~0.7 of the card, a fifth of it outside)
    assert not _is_head(quad, area, (380.0, 318.0, 265.0, 265.0))
    assert _is_head(quad, area, (468.0, 294.0, 265.0, 265.0))  # the same box, centred


def test_card_held_over_the_face_is_a_card(assets):
    """A card held over the face: the face detector still puts a box around the head, centred on
    the card and 0.72 of it (seen with portrait_01 in video). The card is found (then
    face_uncovered can say "lower the card"), though a quad that is the face box is still a head."""
    from coach.vision.card import _is_head, _over_face

    _, specs = assets
    bg = np.full((720, 1280, 3), (70, 60, 55), np.uint8)
    quad = np.array([[400, 300], [800, 300], [800, 552], [400, 552]], float)
    img, _ = paste(bg, card_texture(specs[1]), quad)
    head = Face(box=(465.0, 296.0, 270.0, 270.0), score=0.8)
    card = detect_card(img, faces=[head])
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.95
    area = g.quad_area(quad)
    assert _is_head(quad, area, head.box)  # centred: without _over_face it was taken for the head
    assert _over_face(quad, area, head.box, np.array([0.95, 0.9, 0.95, 0.9]))
    assert not _over_face(quad, area, head.box, np.array([0.95, 0.9, 0.95, 0.6]))  # one weak side
    assert not _over_face(quad, area, (380.0, 250.0, 440.0, 340.0), np.ones(4))  # a quad within the face box


def test_side_against_a_background_that_changes_tone_several_times(assets):
    """A light card before dark and light stripes: each side flips polarity several times, in
    long runs, while the card's own border stays one tone. Stripes inside the quad as well as
    outside (a striped shirt) are no card."""
    from coach.vision.card import _Context, _supports

    _, specs = assets
    bg = np.zeros((720, 1280, 3), np.uint8)
    for x in range(0, 1280, 160):  # stripes 80 px wide: dark, then lighter than the card
        bg[:, x:x + 80] = (40, 40, 40)
        bg[:, x + 80:x + 160] = (250, 250, 250)
    quad = np.array([[420, 220], [860, 220], [860, 497], [420, 497]], float)
    img, _ = paste(bg, card_texture(specs[1]), quad)
    card = detect_card(img)
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.95
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    ctx = _Context(gray, 1280, 720, 1.0, [], [])
    top = (quad[0:1], quad[1:2])
    sup, _, flips = _supports(ctx, *top, np.ones(1, int))
    assert flips[0] and sup[0] > 0.8  # the top side: supported through its flips
    # the same line drawn across the stripes alone (no card): the tone changes on both sides
    ctx_bg = _Context(cv2.cvtColor(bg, cv2.COLOR_BGR2GRAY), 1280, 720, 1.0, [], [])
    sup_bg, _, flips_bg = _supports(ctx_bg, *top, np.ones(1, int))
    assert not flips_bg[0] and sup_bg[0] < 0.3


def test_speed_720p(assets):
    """Budget: the engine targets 30 fps; this only catches gross regressions (the CI box is
    shared, so the bound is loose)."""
    people, specs = assets
    rng = np.random.default_rng(1)
    scenes = [make_scene(rng, people, specs).image for _ in range(4)]
    detect_card(scenes[0])
    t = time.process_time()
    for im in scenes:
        detect_card(im)
    ms = (time.process_time() - t) / len(scenes) * 1000
    assert ms < 200, f"{ms:.0f} ms per 720p frame"


# --------------------------------------------------------------------------- real photos
def test_doc_frame_01_matches_dataset_corners(frames_dir):
    card = detect_card(load(frames_dir / "doc_frame_01.jpg"))
    assert card is not None and card.in_frame and card.kind == "id1"
    assert g.quad_iou(card.quad, DOC01_TRUTH) >= 0.95


def test_hold_id_01_card_found_in_frame(frames_dir):
    im = load(frames_dir / "hold_id_01.jpg")
    card = detect_card(im)
    assert card is not None and card.in_frame
    frac = g.quad_area(card.quad) / (im.shape[0] * im.shape[1])
    assert 0.05 <= frac <= 0.1  # labels.csv: about 7 % of the frame
    # the card sits between the hands, below the face
    cx, cy = np.mean(card.quad, axis=0)
    assert 240 < cx < 480 and 400 < cy < 580


@pytest.mark.parametrize("name", ["doc_frame_02.jpg", "doc_frame_06.jpg", "doc_frame_07.jpg",
                                  "doc_hand_01.jpg", "hold_id_08.jpg", "spec_id_01.jpg",
                                  "spec_id_02.jpg", "spec_id_03.jpg", "spec_id_04.jpg", "spec_id_08.jpg"])
def test_real_cards_found(frames_dir, name):
    im = load(frames_dir / name)
    card = detect_card(im)
    assert card is not None
    assert card.in_frame


def test_passport_page_running_off_the_frame(frames_dir):
    card = detect_card(load(frames_dir / "doc_frame_09.jpg"))
    assert card is not None and card.in_frame is False


@pytest.mark.parametrize("name", ["doc_frame_04.jpg", "doc_frame_05.jpg", "doc_frame_10.jpg"])
def test_cut_off_cards_never_reported_whole(frames_dir, name):
    """Known limit: these cut-off, blurred or tightly cropped cards are often not found at all;
    when one is found it must not be called whole."""
    card = detect_card(load(frames_dir / name))
    assert card is None or card.in_frame is False


NEGATIVES = ([f"portrait_0{i}.jpg" for i in range(1, 10)] + ["webcam_01.jpg", "webcam_02.jpg", "pose_01.jpg",
             "hand_01.jpg", "hand_02.jpg", "hand_03.jpg", "neg_screen_01.jpg", "neg_dark_01.jpg"]
             + [f"people/person_{i:02d}.jpg" for i in range(1, 37) if i not in (19, 20)])
KNOWN_FALSE = {"people/person_09.jpg": "tiled kitchen wall panel", "people/person_13.jpg": "framed painting (1.43)"}


@pytest.mark.parametrize("name", NEGATIVES)
def test_no_card_on_photos_without_cards(frames_dir, name):
    if name in KNOWN_FALSE:
        pytest.xfail(f"known false card: {KNOWN_FALSE[name]}")
    assert detect_card(load(frames_dir / name)) is None


def test_hands_hint_rejects_far_quads(frames_dir):
    """person_13: a framed painting above the head passes as a passport page on its own; a
    raised hand far from it (as the hand landmarker reports) makes it lose."""
    im = load(frames_dir / "people" / "person_13.jpg")
    hand = Hand(points=[(380.0, 330.0)] * 21, handedness="Right", score=0.9)
    card = detect_card(im, hands=[hand])
    assert card is None



def test_clear_card_out_of_reach_of_the_only_hand_seen(assets):
    """The hand holding a card is often hidden behind it while the other hand is seen elsewhere
    (synthetic portrait_01 scenes): a card with four clear sides stays a card (FAR_PENALTY)."""
    people, specs = assets
    img, quad = _card_on_plain_clothes(specs)
    hand = Hand(points=[(80.0 + 3 * i, 640.0 - 2 * i) for i in range(21)], handedness="Left", score=0.9)
    card = detect_card(img, hands=[hand])
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.97


def _rect_card(x0, y0, x1, y1, score):
    """A whole card found as the axis-aligned rectangle (x0, y0)-(x1, y1), with `score`."""
    return Card(quad=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], in_frame=True, score=score)


def test_second_look_at_a_weak_card(monkeypatch):
    """A card found on the working copy scoring below SECOND_LOOK gets a second look on the
    finer copy and the better one is kept, except a quad inside it (its portrait, text block);
    a strong card is not looked at again."""
    import coach.vision.card as C

    card = _rect_card
    answers: dict[int, Card | None] = {}
    sizes: list[int] = []

    def fake(gray_full, hands, faces, size, crop=False, edges=None, alike=False, **_):
        sizes.append(size)
        return answers.get(size)

    monkeypatch.setattr(C, "_full_search_at", fake)
    gray = np.zeros((720, 1280), np.uint8)
    weak, elsewhere = card(100, 100, 420, 300, 0.75), card(700, 300, 1020, 500, 0.9)
    answers.update({C.WORK_SIZE: weak, C.FINE_SIZE: elsewhere})
    assert C._full_search(gray, [], [], fine=True) is elsewhere and sizes == [C.WORK_SIZE, C.FINE_SIZE]
    answers[C.FINE_SIZE] = card(110, 110, 250, 290, 0.95)  # its printed portrait
    assert C._full_search(gray, [], [], fine=True) is weak
    answers[C.FINE_SIZE] = card(700, 300, 1020, 500, 0.7)  # worse
    assert C._full_search(gray, [], [], fine=True) is weak
    sizes.clear()
    answers[C.WORK_SIZE] = strong = card(100, 100, 420, 300, C.SECOND_LOOK + 0.05)
    assert C._full_search(gray, [], [], fine=True) is strong and sizes == [C.WORK_SIZE]
    for kw in ({"fine": False}, {"fine": True, "second_look": False}):
        sizes.clear()
        answers[C.WORK_SIZE] = weak
        assert C._full_search(gray, [], [], **kw) is weak and sizes == [C.WORK_SIZE]


def test_slid_windows_only_in_the_later_looks_of_stills(monkeypatch):
    """The slid windows (_pair_slide_candidates) cost video a fifth of its frames while no card
    is in view: only stills (second_look) ask for them, in the finer and colour looks."""
    import coach.vision.card as C

    asked: list[tuple[int, bool, bool]] = []

    def whole(gray_full, hands, faces, size, crop=False, edges=None, alike=False, far=True, slide=False):
        asked.append((size, edges is not None, slide))
        return None

    monkeypatch.setattr(C, "_full_search_at", whole)
    bgr = np.zeros((720, 1280, 3), np.uint8)
    C._full_search(bgr[..., 0], [], [], bgr=bgr)
    assert asked == [(C.WORK_SIZE, False, False), (C.FINE_SIZE, False, True)] + [(C.WORK_SIZE, True, True)] * 2
    asked.clear()
    C._full_search(bgr[..., 0], [], [], bgr=bgr, second_look=False)  # video
    assert [a[2] for a in asked] == [False] * 4


@pytest.mark.parametrize("look", ["tiles", "colour"])
def test_later_looks_after_a_weak_card(monkeypatch, look):
    """A still whose card scores below SECOND_LOOK after the whole-frame passes (an imprecise
    quad: a side on a neighbouring line; a wrong quad on a plaid shirt that hid the colour
    search) is also searched in colour and in tiles, and their card replaces it when it scores
    higher and is not one of its inner rectangles; a strong card, or a search without the second
    look (video), is not searched again; no card at all is, when the look is asked for."""
    import coach.vision.card as C

    card = _rect_card
    found: dict[str, Card | None] = {"frame": None, "look": None}
    calls: list[str] = []

    def whole(gray_full, hands, faces, size, crop=False, edges=None, alike=False, **_):
        return found["frame"] if size == C.WORK_SIZE else None

    def later(*_, **__):
        calls.append(look)
        return found["look"]

    monkeypatch.setattr(C, "_full_search_at", whole)
    monkeypatch.setattr(C, "_chest_search", lambda *a: None)
    monkeypatch.setattr(C, "_tile_search" if look == "tiles" else "_colour_search", later)
    bgr = np.zeros((720, 1280, 3), np.uint8)
    gray = bgr[..., 0]
    asked = {"tiles": True} if look == "tiles" else {"bgr": bgr}
    weak = card(100, 100, 420, 300, 0.75)
    # the same card better placed (tiles), the real card elsewhere (colour)
    found.update(frame=weak, look=card(90, 95, 430, 310, 0.9) if look == "tiles" else card(500, 200, 820, 400, 0.8))
    assert C._full_search(gray, [], [], **asked) is found["look"]
    found["look"] = card(110, 110, 250, 290, 0.95)  # its printed portrait
    assert C._full_search(gray, [], [], **asked) is weak
    found["look"] = card(90, 95, 430, 310, 0.7)  # worse
    assert C._full_search(gray, [], [], **asked) is weak
    if look == "tiles":
        cut = Card(quad=[(1000, 100), (1400, 100), (1400, 350), (1000, 350)], in_frame=False, score=0.75)
        found.update(frame=cut, look=card(1020, 120, 1270, 330, 0.9))  # its print, seen whole in a tile
        assert C._full_search(gray, [], [], **asked) is cut
        found["frame"] = weak
    calls.clear()
    assert C._full_search(gray, [], [], second_look=False, **asked) is weak and calls == []
    found["frame"] = strong = card(100, 100, 420, 300, C.SECOND_LOOK + 0.05)
    assert C._full_search(gray, [], [], **asked) is strong and calls == []
    found.update(frame=None, look=card(90, 95, 430, 310, 0.9))
    assert C._full_search(gray, [], [], **asked) is found["look"] and calls == [look]
    assert C._full_search(gray, [], []) is None and calls == [look]


def test_tiles_keep_cards_cut_off_by_the_frame_only(monkeypatch):
    """A card found in a tile may run off the tile where the tile's edge is the frame's border
    (a card cut off by the frame), never where it is only the tile's; the chest search (no
    frame given) keeps whole cards only."""
    import coach.vision.card as C

    found: dict[str, Card] = {}

    def whole(gray_full, hands, faces, size, crop=False, edges=None, alike=False, far=True):
        return found["card"]

    monkeypatch.setattr(C, "_full_search_at", whole)
    gray = np.zeros((720, 1280), np.uint8)
    left = Card(quad=[(-60, 100), (200, 100), (200, 260), (-60, 260)], in_frame=False, score=0.9)
    found["card"] = left
    got = C._region_search(gray, [], [], (0, 80, 640, 720), 640, 0.85, far=False, frame=(1280, 720))
    assert got is not None and not got.in_frame and got.quad[0] == (-60.0, 180.0)  # in frame pixels
    assert C._region_search(gray, [], [], (320, 80, 960, 720), 640, 0.85, frame=(1280, 720)) is None
    assert C._region_search(gray, [], [], (0, 80, 640, 720), 640, 0.85) is None  # whole cards only
    right = Card(quad=[(500, 100), (700, 100), (700, 260), (500, 260)], in_frame=False, score=0.9)
    found["card"] = right  # beyond the tile's right edge, inside the frame
    assert C._region_search(gray, [], [], (0, 80, 640, 720), 640, 0.85, frame=(1280, 720)) is None
    # ... and the same card in the frame's right-most tile runs off the frame: kept
    assert C._region_search(gray, [], [], (640, 80, 1280, 720), 640, 0.85, frame=(1280, 720)) is not None
    bottom = Card(quad=[(100, 500), (360, 500), (360, 700), (100, 700)], in_frame=False, score=0.9)
    found["card"] = bottom  # off the bottom of a tile: the frame's bottom, or only the tile's
    assert C._region_search(gray, [], [], (0, 80, 640, 720), 640, 0.85, frame=(1280, 720)) is not None
    assert C._region_search(gray, [], [], (0, 0, 640, 640), 640, 0.85, frame=(1280, 720)) is None


def test_slid_window_finds_short_sides_without_segments():
    """Two long sides whose segments cover different stretches of the card (fingers near
    opposite ends) and short sides with no segment: the window of the ID-1 length slid along
    them lands on the card's short sides; the card's print alone does not make it the card
    around a smaller quad (_pick)."""
    import coach.vision.card as C

    img = np.full((360, 640), 70, np.uint8)
    x0, y0, x1, y1 = 180, 100, 460, 277  # 280 x 177: ID-1
    cv2.rectangle(img, (x0, y0), (x1, y1), 215, -1)
    cv2.rectangle(img, (x0 + 20, y0 + 30), (x0 + 90, y0 + 120), 120, -1)  # a portrait block
    ctx = C._Context(img, 640, 360, 1.0, [], [], alike=True)
    # the top side seen from 30 % to 95 % of its length, the bottom from 5 % to 70 %
    segs = np.array([[x0 + 0.3 * 280, y0, x0 + 0.95 * 280, y0], [x0 + 0.05 * 280, y1, x0 + 0.7 * 280, y1]])
    p0, p1 = segs[:, :2], segs[:, 2:]
    out = C._pair_slide_candidates(ctx, p0, p1, np.array([0]), np.array([1]), np.array([0]))
    true = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    assert out and all(c.slid and c.three for c in out)
    assert max(g.quad_iou(c.quad, true) for c in out) >= 0.97
    # a pair covering too little of a card of its width proposes nothing
    short = np.array([[x0, y0, x0 + 60, y0], [x0, y1, x0 + 60, y1]], float)
    assert C._pair_slide_candidates(ctx, short[:, :2], short[:, 2:], np.array([0]), np.array([1]),
                                    np.array([0])) == []
    # _pick takes a clearly larger quad around the best one for the card around its print frame,
    # but not a slid one (its far short side may be the background's texture)
    inner = C._Cand(np.array(true, float), np.zeros(4, bool), score=0.8)
    around = np.array([(x0 - 40, y0), (x1, y0), (x1, y1), (x0 - 40, y1)], float)
    assert C._pick([inner, C._Cand(around, np.zeros(4, bool), score=0.78)]) is not inner
    assert C._pick([inner, C._Cand(around, np.zeros(4, bool), score=0.78, slid=True)]) is inner


# --------------------------------------------------------------------------- tracking (video)
def _moving_card_frames(people, specs, offsets, size=(1280, 720)):
    """The same photo with the same card pasted at `quad + offset` per frame (a hand-held card
    drifting a few px per frame); frames where offset is None show no card."""
    from card_scenes import fit_background

    bg = fit_background(people[2], size)
    tex = card_texture(specs[0])
    quad0 = order(np.array([[470, 330], [830, 318], [838, 548], [474, 556]], float))
    frames, quads = [], []
    for off in offsets:
        if off is None:
            frames.append(bg.copy())
            quads.append(None)
            continue
        q = quad0 + np.asarray(off, float)
        img, _ = paste(bg, tex, q)
        frames.append(cv2.GaussianBlur(img, (0, 0), 0.6))
        quads.append(q)
    return frames, quads


def test_tracking_matches_the_full_search_on_a_moving_card(assets):
    from coach.vision.card import CardTracker

    people, specs = assets
    offs = [(1.5 * i, -1.0 * i + 0.5 * (i % 2)) for i in range(9)]
    frames, quads = _moving_card_frames(people, specs, offs)
    tr = CardTracker()
    for img, q in zip(frames, quads):
        full = detect_card(img)
        got = tr.update(img)
        assert full is not None and got is not None
        assert g.quad_iou(full.quad, q) >= 0.95
        assert g.quad_iou(got.quad, full.quad) >= 0.98
    assert tr.with_prev >= 6  # all but the first two (full searches that confirm the card) tracked


def test_tracking_recovers_when_the_card_jumps_or_leaves(assets):
    """A tracked card must pass the normal tests: no ghost once the card is gone, and a card that
    jumps elsewhere is found again by the full search."""
    from coach.vision.card import IDLE_EVERY, CardTracker

    people, specs = assets
    offs = [(0, 0), (1, 1), None, None, (2, 1), (2, 1), (2, 1), (-300, -150), (-299, -150)]
    frames, quads = _moving_card_frames(people, specs, offs)
    tr = CardTracker()
    since_gone = 99  # frames since the card was last out of view
    for k, (img, q) in enumerate(zip(frames, quads)):
        got = tr.update(img)
        if q is None:
            assert got is None, f"ghost card at frame {k}"
            since_gone = 0
            continue
        since_gone += 1
        if got is None and since_gone < IDLE_EVERY:
            continue  # while no card was in view the tracker searched on every IDLE_EVERY-th frame only
        assert got is not None and g.quad_iou(got.quad, q) >= 0.95, k
    # detect_card with a stale prev on a frame without the card: nothing
    assert detect_card(frames[2], prev=detect_card(frames[0])) is None


def test_tracked_frame_is_fast(assets):
    """Budget for a tracked frame (target <= 10 ms at 1280x720 on the dev box); loose bound."""
    people, specs = assets
    frames, _ = _moving_card_frames(people, specs, [(0, 0), (1, 1)])
    prev = detect_card(frames[0])
    t = time.perf_counter()
    for _ in range(5):
        got = detect_card(frames[1], prev=prev)
    ms = (time.perf_counter() - t) / 5 * 1000
    assert got is not None and ms < 60, f"{ms:.1f} ms per tracked frame"


# --------------------------------------------------------------------------- printed portrait inside
def _card_with_portrait(people, specs, k):
    """spec_id_01 (portrait on the left, text block on the right) pasted into person photo k:
    (image, true quad, text-block quad, the printed face's box as a face detector reports it)."""
    from card_scenes import fit_background

    tex = card_texture(specs[0])
    th, tw = tex.shape[:2]
    quad = order(np.array([[470, 330], [830, 318], [838, 548], [474, 556]], float))
    img, _ = paste(fit_background(people[k], (1280, 720)), tex, quad)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [tw, 0], [tw, th], [0, th]]), quad.astype(np.float32))

    def to_img(pts):
        return cv2.perspectiveTransform(np.float32(pts)[None], M)[0].astype(float)

    # the text block: right of the portrait, below the title lines: about the ID-1 aspect itself
    block = to_img([[345, 215], [tw, 215], [tw, th], [345, th]])
    fq = to_img([[95, 150], [300, 150], [300, 400], [95, 400]])  # the printed face
    (x0, y0), (x1, y1) = fq.min(0), fq.max(0)
    return img, quad, block, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


@pytest.mark.parametrize("k", [0, 7, 14, 21, 28])
def test_text_block_next_to_its_portrait_grows_to_the_card(assets, k):
    """A quad with a seen face just outside one side (the text block taken for the card) is
    extended to the quad around both; a face elsewhere changes nothing."""
    from coach.vision import card as C

    people, specs = assets
    img, quad, block, box = _card_with_portrait(people, specs, k)
    gray = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (640, 360), interpolation=cv2.INTER_AREA)
    inner = C._Cand(block * 0.5, np.zeros(4, bool))
    ctx = C._Context(gray, 1280, 720, 0.5, [], [Face(box=box, score=0.9)])
    ctx.segs = C._segments(ctx)
    grown = C._around_portrait(ctx, inner)
    assert grown is not None and g.quad_iou(grown.quad / 0.5, quad) >= 0.95
    far = C._Context(gray, 1280, 720, 0.5, [], [Face(box=(60.0, 40.0, box[2], box[3]), score=0.9)])
    far.segs = ctx.segs
    assert C._around_portrait(far, inner) is None


def test_tracker_does_not_hold_a_quad_that_leaves_its_portrait_outside(assets):
    """Tracking the text block (prev) with the printed face seen next to it: the full search runs
    and returns the whole card. Control: without the face the text block itself is tracked."""
    from coach.types import Card
    from coach.vision import card as C

    people, specs = assets
    img, quad, block, box = _card_with_portrait(people, specs, 3)
    prev = Card(quad=[(float(x), float(y)) for x, y in block], in_frame=True, kind="id1", score=0.8)
    card, tracked = C._detect(img, [], [], prev)
    assert tracked and g.quad_iou(card.quad, block) >= 0.9  # the control: the tracker would hold it
    card, tracked = C._detect(img, [], [Face(box=box, score=0.9)], prev)
    assert not tracked and card is not None and g.quad_iou(card.quad, quad) >= 0.95


def test_tracker_searches_every_third_frame_while_no_card_is_in_view():
    """A full search costs tens of ms; with no card in view the tracker looks on every
    IDLE_EVERY-th frame, and as soon as one is found it searches (and then tracks) on every frame
    again."""
    from coach.vision.card import IDLE_EVERY, CardTracker

    calls: list[int] = []
    found = {"card": None}

    def spy(bgr, hands=(), faces=(), prev=None, fine=True, colour=None, second_look=True, tiles=None):
        calls.append(frame_no)
        return found["card"]

    img = np.zeros((72, 128, 3), np.uint8)
    tr = CardTracker()
    for frame_no in range(3 * IDLE_EVERY):
        assert tr.update(img, detect=spy) is None
    assert IDLE_EVERY == 3 and calls == [0, 3, 6]
    found["card"] = Card(quad=[(10, 10), (60, 10), (60, 40), (10, 40)], in_frame=True)
    calls.clear()
    for frame_no in range(9, 13):
        tr.update(img, detect=spy)
    assert calls == [9, 10, 11, 12]


def test_tracker_looks_finer_only_on_every_third_search_while_no_card_is_in_view():
    """detect_card's finer second look doubles a search's cost, and its colour look costs about
    as much again: while no card is in view the tracker asks for each on every FINE_EVERY-th
    search only, never both on one frame; and for both once a card is in view. It never asks for
    the second look at a weak card (SECOND_LOOK: 40-60 ms on most full searches in video). The
    tiles (200-400 ms) only while no card is in view, on every TILES_EVERY-th search, never with
    the finer or the colour look."""
    from coach.vision.card import FINE_EVERY, IDLE_EVERY, TILES_EVERY, CardTracker

    fines: list[bool] = []
    colours: list[bool] = []
    tiles_: list[bool] = []
    found = {"card": None}

    def spy(bgr, hands=(), faces=(), prev=None, fine=True, colour=None, second_look=True, tiles=None):
        assert second_look is False or prev is not None
        if prev is None:
            fines.append(fine)
            colours.append(fine if colour is None else colour)
            tiles_.append(fine if tiles is None else tiles)
        return found["card"]

    img = np.zeros((72, 128, 3), np.uint8)
    tr = CardTracker()
    for _ in range(2 * 3 * TILES_EVERY + 1):  # searches on every third frame
        tr.update(img, detect=spy)
    assert fines[0] is True and colours[0] is True and tiles_[0] is False  # the first search after a card was in view (or at start)
    assert fines[1:] == [i % FINE_EVERY == 0 for i in range(len(fines) - 1)]
    assert colours[1:] == [i % FINE_EVERY == 1 for i in range(len(colours) - 1)]
    assert tiles_[1:] == [i % TILES_EVERY == 2 for i in range(len(tiles_) - 1)] and sum(tiles_) >= 2
    assert not any(t and (f or c) for t, f, c in zip(tiles_, fines, colours))
    found["card"] = Card(quad=[(10, 10), (60, 10), (60, 40), (10, 40)], in_frame=True)
    fines.clear()
    colours.clear()
    tiles_.clear()
    for _ in range(IDLE_EVERY + 2):  # the next search finds it; from then on a card is in view
        tr.update(img, detect=spy)
    assert len(fines) >= 2 and all(fines[1:]) and all(colours[1:]) and not any(tiles_)


def test_long_sides_alone_propose_the_card(monkeypatch):
    """A light card whose right side runs into a light patch of its own tone (taller than the
    card) and whose left side is broken into dashes (fingers): its long sides are segments that
    end at the right corners, no short side is a segment. Two parallel segments that end together
    propose the card, its left side at the ID-1 length (_pair_end_candidates); no other proposal
    (four sides, three sides) has it."""
    import coach.vision.card as C

    img = np.full((360, 640), 50, np.uint8)
    x0, x1, y0, y1 = 240, 399, 150, 250  # an ID-1 card 100 px tall is 159 px long
    img[y0:y1, x0:x1] = 200
    img[y0 - 40:y1 + 40, x1:x1 + 150] = 200  # the patch, taller than the card
    img[y0 - 40:y0, x1:x1 + 3] = 50  # (no vertical edge in line with the card's right side)
    img[y1:y1 + 40, x1:x1 + 3] = 50
    for y in range(y0, y1, 12):  # the left side: dashes 4 px long
        img[y + 4:y + 12, x0 - 3:x0 + 3] = 130
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    seen: dict[str, list] = {}
    real = C._pair_end_candidates
    monkeypatch.setattr(C, "_pair_end_candidates", lambda *a: seen.setdefault("pe", real(*a)))
    ctx = C._Context(img, 640, 360, 1.0, [], [])
    others = [c for c in C._line_candidates(ctx) if not any(c is p for p in seen["pe"])]
    assert max(g.quad_iou(c.quad, quad) for c in seen["pe"]) >= 0.95
    assert not others or max(g.quad_iou(c.quad, quad) for c in others) < 0.9


def test_printed_stock_asks_less_print_of_a_very_even_dim_ground():
    """A blurred card in the shade: its print is soft (ink 0.09) but its ground is one even tone
    (spread 0.04): card stock. The same print on a patchy ground (a cupboard, a shirt) or on a
    bright wall tile (light 0.92, where cards are sharper) is not; a cut-off card needs more."""
    from coach.vision.card import _printed_stock

    assert _printed_stock(ink=0.09, light=0.5, spread=0.04, partial=False)
    assert not _printed_stock(ink=0.09, light=0.5, spread=0.12, partial=False)
    assert not _printed_stock(ink=0.10, light=0.92, spread=0.06, partial=False)
    assert not _printed_stock(ink=0.05, light=0.5, spread=0.04, partial=False)
    assert not _printed_stock(ink=0.09, light=0.5, spread=0.04, partial=True)
    assert _printed_stock(ink=0.2, light=0.5, spread=0.04, partial=True)


def test_printed_stock_of_a_dim_card_running_off_the_frame():
    """A card in the shade running off the frame (light 0.5 of the frame's p98, ground spread
    0.12, clear print) is card stock like the same card wholly seen; a dim ground with little
    print or a patchy one is not, cut off or not; in deep shade (below MIN_LIGHT_DIM) only whole
    cards count."""
    from coach.vision.card import _printed_stock

    assert _printed_stock(ink=0.3, light=0.5, spread=0.12, partial=True)
    assert _printed_stock(ink=0.3, light=0.5, spread=0.12, partial=False)
    assert not _printed_stock(ink=0.13, light=0.5, spread=0.12, partial=True)
    assert not _printed_stock(ink=0.3, light=0.5, spread=0.2, partial=True)
    assert not _printed_stock(ink=0.3, light=0.3, spread=0.05, partial=True)
    assert _printed_stock(ink=0.3, light=0.3, spread=0.05, partial=False)


def test_printed_stock_of_a_card_in_a_backlit_persons_shade():
    """A card in the shade of a person before a bright window (light 0.2-0.27 of the frame's p98)
    is one very even ground whose print is dimmed with it (ink 0.07-0.14): card stock when wholly
    seen; not when patchy, cut off, barely printed or darker still."""
    from coach.vision.card import _printed_stock

    assert _printed_stock(ink=0.1, light=0.25, spread=0.02, partial=False)
    assert not _printed_stock(ink=0.1, light=0.25, spread=0.1, partial=False)
    assert not _printed_stock(ink=0.1, light=0.25, spread=0.02, partial=True)
    assert not _printed_stock(ink=0.05, light=0.25, spread=0.02, partial=False)
    assert not _printed_stock(ink=0.1, light=0.15, spread=0.02, partial=False)


@pytest.mark.parametrize("yaw,pitch", [(55.0, 0.0), (0.0, 52.0)])
def test_card_turned_away_steeply_is_found(assets, yaw, pitch):
    """A card turned 52-55 deg away, seen through a lens of another focal length than the
    default guess (1.2 x the long side): its opposite sides converge by ~20-30 deg and its
    aspect reads off at the default focal. It is still found, so that card_facing can tell the
    person to hold it flat, and its tilt reads steep."""
    from coach.synth.geometry import Pose3D, project_card

    people, specs = assets
    bg = cv2.resize(people[3], (1280, 720))
    quad = order(project_card(Pose3D(cx=640, cy=420, width=420, yaw=yaw, pitch=pitch, focal=1.2 * 1280), 1280, 720))
    img, _ = paste(bg, card_texture(specs[0]), quad)
    card = detect_card(img)
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.9
    assert g.plane_pose(card.quad, 1280, 720)[1] > 40


def _busy_room(seed: int = 3) -> np.ndarray:
    """1280 x 720, grey, with 300 long straight edges of every tone (a busy room's lines)."""
    rng = np.random.default_rng(seed)
    img = np.full((720, 1280, 3), 90, np.uint8)
    for _ in range(300):
        p = rng.uniform([0, 0], [1280, 720])
        a, length = rng.uniform(0, np.pi), rng.uniform(150, 600)
        q = p + length * np.array([np.cos(a), np.sin(a)])
        col = int(rng.integers(20, 235))
        cv2.line(img, tuple(map(int, p)), tuple(map(int, q)), (col, col, col), int(rng.integers(2, 6)))
    return img


def test_small_card_below_the_face_in_a_busy_room(assets, monkeypatch):
    """A card 130 px wide in a 1280 px frame, held at the chest of a person in a busy room (300
    long straight edges around): its 80-130 px sides rank below the room's long lines in the
    whole frame, but not in the region beside and below the face (_chest_search); and its
    opposite sides are the most alike pairs of the finer copy (_pair_order). (The last resort,
    the tiles, would find it too: left out here, see test_small_card_away_from_face_and_hands.)"""
    import coach.vision.card as C

    _, specs = assets
    img = _busy_room()
    cv2.ellipse(img, (640, 230), (75, 90), 0, 0, 360, (150, 170, 200), -1)  # the head
    cv2.rectangle(img, (420, 330), (860, 720), (70, 60, 110), -1)  # the shirt
    face = Face(box=(560.0, 150.0, 160.0, 160.0), score=0.9)
    w, h = 130.0, 130.0 / 1.586
    quad = np.array([[575, 470 - h / 2], [575 + w, 470 - h / 2], [575 + w, 470 + h / 2], [575, 470 + h / 2]])
    img, _ = paste(img, card_texture(specs[2]), quad)
    card = detect_card(img, faces=[face], tiles=False)
    assert card is not None and card.in_frame and g.quad_iou(card.quad, quad) >= 0.95
    assert detect_card(img, faces=[face], fine=False) is None  # the working copy alone misses it
    monkeypatch.setattr(C, "COLOUR_CHANNELS", ())  # (a coloured card in a grey room: found by colour too)
    # the finer whole-frame search finds it only among the most alike parallel pairs (its sides
    # rank far down by length), the search beside the face without them
    monkeypatch.setattr(C, "_chest_search", lambda *a: None)
    card = detect_card(img, faces=[face], tiles=False)
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.95
    monkeypatch.setattr(C, "ALIKE_PAIRS", 0)
    assert detect_card(img, faces=[face], tiles=False) is None
    monkeypatch.undo()
    monkeypatch.setattr(C, "COLOUR_CHANNELS", ())
    monkeypatch.setattr(C, "ALIKE_PAIRS", 0)
    card = detect_card(img, faces=[face], tiles=False)
    assert card is not None and g.quad_iou(card.quad, quad) >= 0.95


def _hand_at(x: float, y: float, size: float = 90.0) -> Hand:
    """21 landmarks of an open hand, fingers up, its wrist at (x, y)."""
    pts = [(x, y)]
    for k, dx in enumerate((-0.45, -0.2, 0.0, 0.2, 0.4)):  # thumb, index ... little finger
        for j in range(1, 5):
            pts.append((x + dx * size * (0.6 + 0.15 * j), y - size * (0.25 + 0.2 * j) * (0.7 if k == 0 else 1.0)))
    return Hand(points=pts, handedness="Right", score=0.9)


def test_small_card_away_from_face_and_hands(assets, monkeypatch):
    """A card 120 px wide held low at the side of a busy 1280 px frame (before a sleeve), no face seen and a hand
    seen elsewhere (the other one): the whole-frame searches miss it (its sides rank below the
    room's long lines; no face to search beside), the tiles at full resolution find it
    (_tile_search), in frame pixels, although no seen hand reaches it."""
    import coach.vision.card as C

    _, specs = assets
    img = _busy_room()
    cv2.rectangle(img, (80, 450), (380, 720), (70, 60, 110), -1)  # the sleeve behind it
    w, h = 120.0, 120.0 / 1.586
    quad = np.array([[170, 560 - h / 2], [170 + w, 560 - h / 2], [170 + w, 560 + h / 2], [170, 560 + h / 2]])
    img, _ = paste(img, card_texture(specs[2]), quad)
    hand = _hand_at(1100.0, 420.0)
    monkeypatch.setattr(C, "COLOUR_CHANNELS", ())  # (a coloured card in a grey room: found by colour too)
    assert detect_card(img, hands=[hand], tiles=False) is None
    card = detect_card(img, hands=[hand])
    assert card is not None and card.in_frame and g.quad_iou(card.quad, quad) >= 0.95
    # in its tile, the card out of the hand's reach would lose FAR_PENALTY, below TILE_ACCEPT
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    tile = (0, 80, 640, 720)
    assert C._region_search(gray, [hand], [], tile, 640, C.TILE_ACCEPT, far=True) is None
    found = C._region_search(gray, [hand], [], tile, 640, C.TILE_ACCEPT, far=False)
    assert found is not None and g.quad_iou(found.quad, quad) >= 0.95


def test_tiles_cover_the_frame_half_a_tile_apart():
    from coach.vision.card import _tile_starts

    assert _tile_starts(1280, 640) == [0, 320, 640]
    assert _tile_starts(720, 640) == [0, 80]
    assert _tile_starts(1920, 960) == [0, 480, 960]
    assert _tile_starts(500, 640) == [0]
    assert _tile_starts(1000, 640) == [0, 320, 360]


def test_steep_card_is_tracked(assets):
    """Once found, a card held at 55 deg is held by the tracker on the next frames (a few ms)
    rather than searched for in full on every frame while the person is told to hold it flat."""
    from coach.synth.geometry import Pose3D, project_card
    from coach.vision import card as C

    people, specs = assets
    bg = cv2.resize(people[3], (1280, 720))
    quad = order(project_card(Pose3D(cx=640, cy=420, width=420, yaw=55.0, focal=1.2 * 1280), 1280, 720))
    img, _ = paste(bg, card_texture(specs[0]), quad)
    card, tracked = C._detect(img, [], [], None)
    assert card is not None and not tracked
    again, tracked = C._detect(img, [], [], card)
    assert tracked and g.quad_iou(again.quad, quad) >= 0.9


def _colour_only_card(shift: tuple[float, float] = (0.0, 0.0)):
    """A pale yellow card before a pale blue wall of the same luma: (BGR image, true quad)."""
    rng = np.random.default_rng(5)
    img = np.empty((720, 1280, 3), np.uint8)
    img[:] = (255, 236, 205)  # luma 229 (BGR weights 0.114, 0.587, 0.299)
    card = np.empty((300, 476, 3), np.uint8)
    card[:] = (170, 235, 240)  # luma 229
    for k in range(11):  # printed lines of text and a portrait block
        cv2.putText(card, "ABCDEF 0123 XYZ"[: 8 + k % 6], (24, 34 + 24 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (60, 60, 60), 2)
    cv2.rectangle(card, (340, 60), (440, 200), (90, 100, 120), -1)
    quad = order(np.array([[430, 240], [906, 252], [900, 552], [424, 540]], float) + np.array(shift))
    # composited by coverage (paste's border value would draw a dark rim around the card)
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [476, 0], [476, 300], [0, 300]]), quad.astype(np.float32))
    layer = cv2.warpPerspective(card, M, (1280, 720), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    a = cv2.warpPerspective(np.ones((300, 476), np.float32), M, (1280, 720))[..., None]
    img = (img * (1 - a) + layer * a).round().astype(np.uint8)
    img = np.clip(img.astype(np.int16) + rng.normal(0, 1.5, img.shape).round().astype(np.int16), 0, 255).astype(np.uint8)
    return img, quad


def test_card_that_differs_from_its_background_in_colour_only(monkeypatch):
    """A pale yellow card before a pale blue wall of the same luma (a pink card on a red plaid
    shirt is the same case, less clean): in grey its sides are not there at all, so only the
    search on the colour channels (_colour_search) finds it; its corners still come out exact."""
    import coach.vision.card as C

    img, quad = _colour_only_card()
    found = C.detect_card(img)
    assert found is not None and found.in_frame and g.quad_iou(found.quad, quad) >= 0.95
    assert C.detect_card(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) is None  # the same frame in grey
    monkeypatch.setattr(C, "COLOUR_CHANNELS", ())
    assert C.detect_card(img) is None  # or without the colour channels: no card


def test_card_found_in_colour_is_tracked_in_colour():
    """On the next frame the tracker follows such a card in the channel it was found in (a few
    ms), instead of a full search with every fallback on every frame."""
    from coach.vision.card import _detect

    img, _ = _colour_only_card()
    card = detect_card(img)
    assert card is not None and card.edges == "b"
    img2, quad2 = _colour_only_card(shift=(3.0, 2.0))
    got, tracked = _detect(img2, (), (), card)
    assert tracked and got.edges == "b" and g.quad_iou(got.quad, quad2) >= 0.95
