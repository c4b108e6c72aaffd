"""Synthetic scenes: Scene, the claims a scene determines, make_scene and iter_scenes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np

from coach.checks.profiles import builtin_card_size
from coach.synth.bases import MAX_UPSCALE, _Base, _card_gain, _prepare_base, _read, base_pool, use_models
from coach.synth.cards import card_paths, prepare_card
from coach.synth.geometry import (ID1_ASPECT, Pose3D, _cover, _shrink, _visible_area, order_quad, polygon_area,
                                   project_card)
from coach.synth.hands import HandCutout, _hand_on_edge, hand_sources
from coach.synth.placement import _hand_over_text, _pasted_hand_over_text, _sample_defect_pose, _sample_good_pose
from coach.synth.render import _Render, _defect_params, _render
from coach.types import Hand
from coach.vision.geometry import side_lengths
from coach.vision.measures import TEXT_BORDER


DEFECTS: tuple[str, ...] = (
    "too_big", "too_small", "cut_off", "card_blur", "face_blur", "dark", "overexposed", "glare",
    "backlight", "card_over_face", "tilted", "finger_on_text", "low_res", "arms_cut",
)


# Every check of the hand-held profile that a good scene determines.
GOOD_CHECKS = ("resolution", "exposure", "face_visible", "face_sharp", "backlight", "face_uncovered",
               "card_present", "card_in_frame", "card_size", "card_sharp", "glare", "card_facing",
               "card_unoccluded")


# The check each defect makes fail, and the checks it leaves undetermined (dropped from expected).
DEFECT_FAILS: dict[str, tuple[str, ...]] = {
    "too_big": ("card_size",),
    "too_small": ("card_size",),
    "cut_off": ("card_in_frame",),
    "card_blur": ("card_sharp",),
    "face_blur": ("face_sharp",),
    "dark": ("exposure",),
    "overexposed": ("exposure",),
    "glare": ("glare",),
    "backlight": ("backlight",),
    "card_over_face": ("face_uncovered", "face_visible"),
    "tilted": ("card_facing",),
    "finger_on_text": ("card_unoccluded",),
    "low_res": ("resolution",),
    "arms_cut": ("arms_visible",),  # claimed from where the pose puts the elbows (_arms_claim)
}


DEFECT_DROPS: dict[str, tuple[str, ...]] = {
    # a card > 1/2 of the frame hides most of the body: who holds it is no longer judged
    "too_big": ("hands_on_card", "arms_visible"),
    # a card of ~60 px: its text, glare and fingers cannot be judged, only its size
    "too_small": ("card_sharp", "glare", "card_unoccluded", "card_facing", "hands_on_card", "arms_visible"),
    "cut_off": ("hands_on_card", "arms_visible"),
    "card_blur": ("card_unoccluded",),
    "face_blur": (),
    # night-dark / washed-out frames: only the light is determined; whether a face or a card
    # can still be made out at a mean luma of 15 or 240 is left open
    "dark": tuple(c for c in GOOD_CHECKS + ("hands_on_card", "arms_visible") if c not in ("resolution", "exposure")),
    "overexposed": tuple(c for c in GOOD_CHECKS + ("hands_on_card", "arms_visible")
                         if c not in ("resolution", "exposure")),
    "glare": ("card_sharp",),
    "backlight": ("exposure", "face_sharp", "card_sharp", "glare"),
    "card_over_face": ("face_sharp", "backlight", "hands_on_card", "arms_visible"),
    "tilted": ("card_sharp", "card_unoccluded", "glare"),
    "finger_on_text": ("hands_on_card", "card_sharp"),
    # a webcam-like 0.5-0.8x frame: the card has fewer pixels, its legibility is open
    "low_res": ("card_sharp", "card_unoccluded"),
    # framed closer (head and card): the upscaled face's sharpness follows MAX_UPSCALE as always
    "arms_cut": (),
}


CARD_MAX_UPSCALE = 1.4  # pasted card long side / specimen long side

# a pose point (elbow or wrist of the base photo) this far (of the frame's short side) outside
# the frame is out of the picture, this far inside is in it; between, arms_visible is left open
ARMS_MARGIN = 0.05

# a hand whose every point is this far (of the card's size, the root of its area) from the card
# clearly does not hold it
HAND_AWAY = 0.5
# ... and a hand with this share of its points inside the card is behind it, holding it
HIDDEN = 0.8

# an arms_cut frame ends at least this far (of its height) above both elbows
ARMS_CUT_BELOW = 0.08

# how near the card_size limits (profiles.toml) and the frame's border a claim is left open
FRAMING_OPEN = 0.05  # relative to the limit
FRAMING_OPEN_PX = 1.0  # px either side of the frame's last pixel (the engine allows a corner 1 px out)


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8
    quad: Optional[list[tuple[float, float]]]  # true card corners, clockwise from top-left
    defects: tuple[str, ...]
    expected: dict[str, bool]  # check id -> expected pass (hand-held profile), only determined ones
    name: str
    base: str
    truth: dict = field(default_factory=dict)  # numbers behind the claims (area, tilt, face cover, ...)


def _claims(b: _Base, quad_img: np.ndarray, pose: Pose3D, defect: Optional[str], in_front: bool) -> tuple[dict, dict]:
    H, W = b.image.shape[:2]
    exp: dict[str, bool] = {c: True for c in GOOD_CHECKS}
    truth: dict = {}
    area = polygon_area(quad_img)
    truth["card_area_frac"] = round(area / (W * H), 4)
    truth["card_visible_frac"] = round(_visible_area(quad_img, W, H) / (W * H), 4)
    truth["tilt_deg"] = round(pose.tilt, 2)
    labels = b.labels
    face = b.det.face
    # face: the base must show exactly one person, the whole face inside the frame
    one_face = labels.get("faces", 1 if b.det.n_faces == 1 else None) == 1
    cover = _cover(face, quad_img) if face is not None else 0.0
    truth["face_cover"] = round(cover, 3)
    if face is None:
        for c in ("face_visible", "face_sharp", "backlight", "face_uncovered"):
            exp.pop(c, None)
    else:
        if not one_face:
            exp.pop("face_visible", None)
        x, y, fw, fh = face
        inside = x >= 0.05 * fw and y >= 0 and x + fw <= W - 0.05 * fw and y + fh <= H
        if cover > 0.0:  # a (partly) hidden face: its focus and its light are not judged
            exp.pop("face_sharp", None)
            exp.pop("backlight", None)
        if cover >= 0.6:
            exp["face_uncovered"] = False
            if one_face:
                exp["face_visible"] = False
        elif cover > 0.0:
            exp.pop("face_uncovered", None)
            exp.pop("face_visible", None)
        elif not inside:
            exp.pop("face_visible", None)
    if b.scale > MAX_UPSCALE or labels.get("sharp") is False:
        exp.pop("face_sharp", None)
    if labels.get("lighting") not in (None, "even"):
        exp.pop("exposure", None)
        exp.pop("backlight", None)

    # hands: claim only what the base photo allows
    n_hands_label = labels.get("hands")
    on_edge = [hd for hd in b.det.hands if _hand_on_edge(hd, quad_img)]
    truth["hands_detected"] = len(b.det.hands)
    truth["hands_on_edge"] = len(on_edge)
    n_vis = n_hands_label if n_hands_label is not None else len(b.det.hands)
    sides = _hand_sides(b, quad_img)
    truth["hands"] = sides
    if n_vis == 0 or "away" in sides.values():
        # nobody's hand is in the picture, or one of the two is out of it or clearly away from the
        # card: the card is not held in both hands
        exp["hands_on_card"] = False
    elif n_vis >= 2 and (len(on_edge) >= 2 or all(v == "holds" for v in sides.values())):
        exp["hands_on_card"] = True
    # else (a hand near the card but neither seen holding its edge nor hidden behind it): open
    arms = _arms_claim(b, quad_img)
    truth["arms"] = arms
    if arms:
        exp["arms_visible"] = True
    if defect:
        for c in DEFECT_DROPS[defect]:
            exp.pop(c, None)
        for c in DEFECT_FAILS[defect]:
            if defect == "card_over_face" and (cover < 0.6 or (c == "face_visible" and not one_face)):
                continue  # no face found to cover, or other faces in the photo: left open
            if c == "arms_visible":
                continue  # follows the pose below
            exp[c] = False
    if arms is False:  # a forearm out of the picture stays out whatever the defect
        exp["arms_visible"] = False
    if in_front:
        exp.pop("hands_on_card", None)
    _framing_from_quad(exp, quad_img, W, H)
    return exp, truth


def _off_frame(p, W: int, H: int, m: float) -> bool:
    """Point p lies more than m px outside the W x H frame."""
    return p[0] < -m or p[0] > W - 1 + m or p[1] < -m or p[1] > H - 1 + m


def _well_inside(p, W: int, H: int, m: float) -> bool:
    """Point p lies at least m px inside the W x H frame."""
    return m <= p[0] <= W - 1 - m and m <= p[1] <= H - 1 - m


def _hand_sides(b: _Base, quad_img: np.ndarray) -> dict[str, str]:
    """Where each of the person's hands is with respect to the card, from the base photo: its
    points are the landmarker's hand on that side of the body (the nearer pose wrist), else the
    pose's wrist and finger points (found on the whole original photo).
    - "holds": a landmarker hand holding the card's edge (_hand_on_edge), or a hand hidden behind
      the card (HIDDEN of its points inside it) on an arm whose elbow is in the picture and not
      behind the card too (a card over both forearms hides every sign of a hand);
    - "away": out of the picture (every point ARMS_MARGIN outside the frame) with its forearm clear
      of the card, or every point HAND_AWAY card sizes from it (the engine's "touching" reaches
      0.15). A hand out of the picture whose forearm runs behind the card is neither: the card
      hides where the arm goes, and a hand holding it from behind looks the same;
    - "open": anything else. No pose: no sides."""
    pose = b.det.pose
    if pose is None or len(pose.points) < 23:
        return {}
    H, W = b.image.shape[:2]
    m = ARMS_MARGIN * min(W, H)
    q = np.asarray(quad_img, np.float32)
    far = HAND_AWAY * math.sqrt(max(polygon_area(quad_img), 1.0))
    by_side: dict[int, Hand] = {}
    for hd in b.det.hands:  # each landmarker hand to the nearer pose wrist
        w = hd.points[0]
        by_side[min((15, 16), key=lambda i: math.hypot(w[0] - pose.points[i][0], w[1] - pose.points[i][1]))] = hd
    out = {}
    for name, wrist, idx in (("left", 15, (15, 17, 19, 21)), ("right", 16, (16, 18, 20, 22))):
        hd = by_side.get(wrist)
        pts = list(hd.points) if hd is not None else [pose.points[i][:2] for i in idx]
        d = [cv2.pointPolygonTest(q, (float(x), float(y)), True) for x, y in pts]
        ex, ey = pose.points[wrist - 2][:2]
        if all(_off_frame(p, W, H, m) for p in pts):
            e, w = np.asarray((ex, ey)), np.asarray(pose.points[wrist][:2])
            clear = not any(cv2.pointPolygonTest(q, (float(x), float(y)), True) > -m
                            for x, y in (e + t * (w - e) for t in np.linspace(0, 1, 25)))
            out[name] = "away" if clear else "open"
        elif all(v < -far for v in d):
            out[name] = "away"
        elif (hd is not None and _hand_on_edge(hd, quad_img)) or (
                sum(v > 0 for v in d) >= HIDDEN * len(d) and _well_inside((ex, ey), W, H, m)
                and cv2.pointPolygonTest(q, (float(ex), float(ey)), True) < -m):
            out[name] = "holds"
        else:
            out[name] = "open"
    return out


def _arms_claim(b: _Base, quad_img: np.ndarray) -> Optional[bool]:
    """Whether both forearms (elbow and wrist) are in the picture, as far as the base photo tells:
    False when its labels say no forearm is visible, or when its pose (found on the whole original
    photo, so also beyond this crop) puts an elbow clearly outside the frame; True when the labels
    show both hands and forearms, the pose puts all four points clearly inside and the card hides
    neither an elbow nor a wrist; else None, open. A wrist out of the frame is left open: the card
    pasted over the arm hides where it goes, and the pose then guesses it behind the card, as it
    would for a hand holding it."""
    labelled = b.labels.get("forearms")
    if labelled is False:
        return False
    pose = b.det.pose
    if pose is None or len(pose.points) < 17:
        return None
    H, W = b.image.shape[:2]
    m = ARMS_MARGIN * min(W, H)
    pts = [pose.points[i][:2] for i in (13, 14, 15, 16)]  # elbows, then wrists
    if any(_off_frame(p, W, H, m) for p in pts[:2]):
        return False
    if labelled is not True or b.labels.get("hands") != 2:
        return None
    if not all(_well_inside(p, W, H, m) for p in pts):
        return None
    card = np.asarray(quad_img, np.float32)
    if any(cv2.pointPolygonTest(card, (float(x), float(y)), True) > -m for x, y in pts[:2]):
        return None  # an elbow under (or at the edge of) the card
    if any(cv2.pointPolygonTest(card, (float(x), float(y)), True) > m for x, y in pts[2:]):
        return None  # a wrist deep behind the card, hidden with its hand: nothing to find it by
    return True


def _arms_cut_base(base_img: np.ndarray, size: tuple[int, int], labels: Optional[dict], rng: np.random.Generator) -> _Base:
    """The photo framed closer, head and card only (a phone held too near): the smallest zoom, from
    a random start, that puts both elbows ARMS_CUT_BELOW under the frame while the face stays whole
    in its upper part. Without a pose: a random zoom."""
    b = None
    for z in np.arange(rng.uniform(1.15, 1.3), 2.5, 0.08):
        trial = _prepare_base(base_img, size, labels, zoom=float(z))
        H, W = trial.image.shape[:2]
        face = trial.det.face
        if face is not None and b is not None and (face[1] < 0.02 * H or face[1] + face[3] > 0.6 * H
                                                   or face[0] < 0 or face[0] + face[2] > W):
            break  # closer would cut or fill the face
        b = trial
        pose = b.det.pose
        if pose is None or len(pose.points) < 17:
            break
        if all(pose.points[i][1] > H * (1 + ARMS_CUT_BELOW) for i in (13, 14)):
            break
    return b


def _framing_from_quad(exp: dict[str, bool], quad_img: np.ndarray, W: int, H: int) -> None:
    """The claims on the card's framing follow its true quad, whatever the placement meant: a card
    held over a face near the top of the picture runs off it and may cover more than half of it,
    and a card turned away by 60 deg covers less area than its width suggests. A claim is
    corrected when the truth is clear, and left open within FRAMING_OPEN of the limit (there a
    pixel decides, and the engine's quad is never that exact)."""
    q = np.asarray(quad_img, np.float64)
    if "card_in_frame" in exp:
        m = FRAMING_OPEN_PX
        inside = all(_well_inside(p, W, H, m) for p in q)
        outside = any(_off_frame(p, W, H, m) for p in q)
        if inside or outside:
            exp["card_in_frame"] = inside
        else:
            exp.pop("card_in_frame")
    if "card_size" in exp:
        vis = _visible_area(q, W, H) / float(W * H)
        lo, hi = builtin_card_size()
        near = any(abs(math.log(vis / lim)) < FRAMING_OPEN for lim in (lo, hi)) if vis > 0 else False
        if near:
            exp.pop("card_size")
        else:
            exp["card_size"] = lo <= vis < hi


def make_scene(base_img: np.ndarray, card_img: np.ndarray, rng: np.random.Generator, defect: Optional[str] = None,
               size: tuple[int, int] = (1280, 720), *, base_name: str = "", base_labels: Optional[dict] = None,
               name: str = "", hands: Optional[list[HandCutout]] = None) -> Scene:
    """Paste the card into the base photo; `card_img` should come from load_card (cropped to the card).
    `hands` (from hand_sources) are real hands for finger_on_text when the person's own hand cannot
    be put in front of the card; without them a painted thumb stands in (no hand to detect)."""
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    if defect == "arms_cut":
        b = _arms_cut_base(base_img, size, base_labels, rng)
    else:
        b = _prepare_base(base_img, size, base_labels)
    H, W = b.image.shape[:2]
    good = _sample_good_pose(b, rng)
    pose = _sample_defect_pose(b, rng, defect, good) if defect else good
    card = prepare_card(card_img) if abs(card_img.shape[1] / card_img.shape[0] - ID1_ASPECT) > 0.01 else card_img
    gain = _card_gain(b, card) * float(rng.uniform(0.92, 1.0))
    means = b.image.reshape(-1, 3).mean(0)
    tint = 1.0 + 0.4 * (means / means.mean() - 1.0)
    r = _Render(pose=pose, gain=gain, tint=tint.astype(np.float32), card_blur=float(rng.uniform(0.3, 0.6)),
                seed=int(rng.integers(0, 2**31)))
    dparams = _defect_params(defect, b, rng, r)
    in_front = False
    finger = None
    if defect == "finger_on_text":
        hd = _hand_over_text(b, r, rng)
        if hd is not None:
            dparams["hand_in_front"] = hd
            in_front, finger = True, "own_hand"
        else:
            ph = _pasted_hand_over_text(b, project_card(r.pose, W, H), hands or [], rng)
            if ph is not None:
                dparams["pasted_hand"] = ph
                finger = "pasted_hand"
            else:
                finger = "thumb"
    img, quad_cardorder = _render(b, card, r, defect, rng, dparams)
    quad = order_quad(quad_cardorder)
    expected, truth = _claims(b, np.asarray(quad), r.pose, defect, in_front)
    # a specimen pasted well above its own resolution has softer print than a real card seen at
    # that size (spec_id_05, 600 px wide, measures 0.40 at 1x, 0.26 at 1.5x, 0.18 at 2x): its
    # sharpness is not claimed (as MAX_UPSCALE for faces)
    truth["card_upscale"] = round(float(side_lengths(quad).max()) / max(card.shape[:2]), 2)
    if truth["card_upscale"] > CARD_MAX_UPSCALE and expected.get("card_sharp") is True:
        expected.pop("card_sharp")
    if finger == "pasted_hand":
        # only the thumb lies in front of the card (the curled fingers are behind it): claim the
        # text covered only if its tip is inside the text area the engine judges
        ph = dparams["pasted_hand"]
        text = _shrink(quad_cardorder, TEXT_BORDER, TEXT_BORDER).astype(np.float32)
        tip = ph.points[ph.lead]
        on_text = cv2.pointPolygonTest(text, (float(tip[0]), float(tip[1])), False) > 0
        truth["finger_source"] = ph.src.name
        truth["finger_tip"] = [round(float(tip[0]), 1), round(float(tip[1]), 1)]
        if not on_text:
            expected.pop("card_unoccluded", None)
        # a pasted hand and its wrist are nobody's forearm the base photo's pose knows of
        expected.pop("arms_visible", None)
    if defect == "low_res":
        # the same picture from a lower-resolution camera (pixel centres: x' = (x + 0.5) s - 0.5)
        s = float(rng.uniform(0.5, 0.8))
        h, w = img.shape[:2]
        img = cv2.resize(img, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
        sx, sy = img.shape[1] / w, img.shape[0] / h
        quad = [((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5) for x, y in quad]
        truth["low_res_scale"] = round(s, 3)
    truth["finger"] = finger
    truth["upscale"] = round(b.scale, 2)
    return Scene(image=img, quad=quad, defects=(defect,) if defect else (), expected=expected,
                 name=name or f"{base_name or 'base'}_{defect or 'good'}", base=base_name, truth=truth)


def defect_schedule() -> list[Optional[str]]:
    """One cycle: as many good scenes as defects, then every defect once (26 scenes)."""
    return [None] * len(DEFECTS) + list(DEFECTS)


def iter_scenes(frames_dir: Path, n: int, seed: int = 1, size: tuple[int, int] = (1280, 720), *,
                models_dir: Optional[Path] = None) -> Iterator[Scene]:
    """n scenes; scene i depends only on (seed, i) - not on n."""
    if models_dir is not None:
        use_models(models_dir)
    pool = base_pool(frames_dir, size)
    cards = card_paths(frames_dir)
    if not pool or not cards:
        raise FileNotFoundError(f"no base photos or specimen cards under {frames_dir}")
    hands = hand_sources(frames_dir)
    for i in range(n):
        yield _scene_i(pool, cards, seed, i, size, hands)


def scene_at(frames_dir: Path, i: int, seed: int = 1, size: tuple[int, int] = (1280, 720)) -> Scene:
    """Scene number i of iter_scenes(frames_dir, n > i, seed) alone (to look at one the eval names)."""
    return _scene_i(base_pool(frames_dir, size), card_paths(frames_dir), seed, i, size, hand_sources(frames_dir))


def _scene_i(pool, cards, seed: int, i: int, size: tuple[int, int], hands: Optional[list[HandCutout]] = None) -> Scene:
    sched = defect_schedule()
    rng = np.random.default_rng([seed, i])
    path, labels = pool[int(rng.integers(len(pool)))]
    cpath = cards[int(rng.integers(len(cards)))]
    defect = sched[i % len(sched)]
    return make_scene(_read(path), _read(cpath, card=True), rng, defect, size, base_name=path.stem,
                      base_labels=labels, name=f"{i:04d}_{path.stem}_{cpath.stem}_{defect or 'good'}", hands=hands)
