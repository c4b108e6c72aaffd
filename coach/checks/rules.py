"""One pure function per check id (requirements.md): `(obs, limits) -> CheckResult`.

A rule never touches pixels: it reads what vision/ saw (faces, hands, pose, card quad) and what
vision/measures.py measured, compares with the profile's limits, and names the message key
(coach.checks.messages) that tells the person what to do. `passed` is None when the check cannot
be judged on this frame (e.g. card_sharp without a card); its message then says what is missing.

Geometry is plain Python on the frame's pixel coordinates (x right, y down).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

from coach.types import CheckResult, Face, Observation

Point = tuple[float, float]
Limits = Mapping[str, Any]
Rule = Callable[[Observation, Limits], CheckResult]

# MediaPipe pose landmark indices
HEAD_POINTS = tuple(range(0, 11))  # nose, eyes, ears, mouth
L_SHOULDER, R_SHOULDER = 11, 12
L_ELBOW, R_ELBOW = 13, 14
L_WRIST, R_WRIST = 15, 16
# wrist, pinky, index, thumb of each side
POSE_HAND_POINTS = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}
POSE_WRIST = {"left": L_WRIST, "right": R_WRIST}
POSE_ELBOW = {"left": L_ELBOW, "right": R_ELBOW}


# --------------------------------------------------------------------------- geometry
def polygon_area(poly: Sequence[Point]) -> float:
    n = len(poly)
    if n < 3:
        return 0.0
    s = 0.0
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def clip_to_rect(poly: Sequence[Point], x0: float, y0: float, x1: float, y1: float) -> list[Point]:
    """Sutherland-Hodgman: the part of `poly` inside the axis-aligned rectangle."""

    def clip(pts: list[Point], inside: Callable[[Point], bool], cut: Callable[[Point, Point], Point]) -> list[Point]:
        out: list[Point] = []
        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cut(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cut(prev, cur))
        return out

    def at_x(x: float) -> Callable[[Point, Point], Point]:
        return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))

    def at_y(y: float) -> Callable[[Point, Point], Point]:
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)

    pts = [(float(x), float(y)) for x, y in poly]
    for inside, cut in ((lambda p: p[0] >= x0, at_x(x0)), (lambda p: p[0] <= x1, at_x(x1)),
                        (lambda p: p[1] >= y0, at_y(y0)), (lambda p: p[1] <= y1, at_y(y1))):
        if not pts:
            break
        pts = clip(pts, inside, cut)
    return pts


def point_in_polygon(p: Point, poly: Sequence[Point]) -> bool:
    """Even-odd rule (works for any simple polygon, convex or not)."""
    x, y = p
    inside = False
    n = len(poly)
    for i in range(n):
        xa, ya = poly[i]
        xb, yb = poly[(i + 1) % n]
        if (ya > y) != (yb > y):
            xc = xa + (y - ya) * (xb - xa) / (yb - ya)
            if x < xc:
                inside = not inside
    return inside


def distance_to_segment(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / L2))
    return math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))


def near_polygon(p: Point, poly: Sequence[Point], margin: float) -> bool:
    """Inside `poly` or within `margin` px of its outline."""
    if point_in_polygon(p, poly):
        return True
    n = len(poly)
    return any(distance_to_segment(p, poly[i], poly[(i + 1) % n]) <= margin for i in range(n))


def inside_frame(p: Sequence[float], width: int, height: int) -> bool:
    return 0.0 <= p[0] <= width - 1 and 0.0 <= p[1] <= height - 1


def card_area_fraction(obs: Observation) -> Optional[float]:
    """Visible card area / frame area (the quad clipped to the frame), None without a card."""
    if obs.card is None or obs.width <= 0 or obs.height <= 0:
        return None
    part = clip_to_rect(obs.card.quad, 0.0, 0.0, float(obs.width), float(obs.height))
    return polygon_area(part) / float(obs.width * obs.height)


def significant_faces(obs: Observation, min_score: float, min_relative_width: float) -> list[Face]:
    """Live faces that are confident and not tiny background people, largest first."""
    live = [f for f in obs.live_faces if f.score >= min_score]
    if not live:
        return []
    widest = max(f.box[2] for f in live)
    big = [f for f in live if f.box[2] >= min_relative_width * widest]
    return sorted(big, key=lambda f: f.box[2] * f.box[3], reverse=True)


def main_face(obs: Observation) -> Optional[Face]:
    """The person's face: the largest live face (any score), None when there is none."""
    live = obs.live_faces
    return max(live, key=lambda f: f.box[2] * f.box[3]) if live else None


def face_is_whole(face: Face, width: int, height: int, margin_frac: float) -> bool:
    x, y, w, h = face.box
    m = margin_frac * w
    return x >= m and y >= m and x + w <= width - m and y + h <= height - m


def _result(cid: str, passed: Optional[bool], value: Optional[float], limit: Any, message: str) -> CheckResult:
    # counts stay ints (JSON shows 2, not 2.0); measures become plain floats (not numpy scalars)
    if value is not None and not isinstance(value, int):
        value = float(value)
    passed = None if passed is None else bool(passed)  # numpy bools too
    return CheckResult(id=cid, passed=passed, value=value, limit=limit, message="" if passed is True else message)


def _no_card(cid: str, limit: Any) -> CheckResult:
    return _result(cid, None, None, limit, "show_card")


# --------------------------------------------------------------------------- whole frame
def resolution(obs: Observation, limits: Limits) -> CheckResult:
    """Value: the frame's effective short side in "p" (720p = 1280x720), i.e.
    min(short, long x min_short / min_long); passes iff long >= min_long and short >= min_short."""
    min_long, min_short = float(limits["min_long"]), float(limits["min_short"])
    long_side, short_side = max(obs.width, obs.height), min(obs.width, obs.height)
    eff = min(float(short_side), long_side * min_short / min_long)
    return _result("resolution", eff >= min_short, round(eff, 1), [int(min_long), int(min_short)], "low_resolution")


def exposure(obs: Observation, limits: Limits) -> CheckResult:
    """Value: the subject's mean luma (measures.exposure), limit [min, max].

    Too dark when the subject is below `min`, or when the whole scene lacks light (its
    95th-percentile luma, measures.scene_light, below `min_scene`): the subject's mean alone
    cannot tell a night-time room from a dark-skinned face in daylight, the scene's highlights
    can. Too bright when the subject is above `max` (washed out)."""
    lo, hi = float(limits["min"]), float(limits["max"])
    min_scene = float(limits["min_scene"])
    v, scene = obs.measures.exposure, obs.measures.scene_light
    if v is None and scene is None:
        return _result("exposure", None, None, [lo, hi], "retry")
    if (v is not None and v < lo) or (scene is not None and scene < min_scene):
        return _result("exposure", False, v, [lo, hi], "too_dark")
    if v is not None and v > hi:
        return _result("exposure", False, v, [lo, hi], "too_bright")
    return _result("exposure", True, v, [lo, hi], "")


# --------------------------------------------------------------------------- face
def face_visible(obs: Observation, limits: Limits) -> CheckResult:
    """Exactly one live face (printed portraits excluded, tiny background faces ignored), whole
    inside the frame. Value: how many such faces are whole in the frame (1 passes)."""
    faces = significant_faces(obs, float(limits["min_score"]), float(limits["min_relative_width"]))
    margin = float(limits["border_margin"])
    whole = [f for f in faces if face_is_whole(f, obs.width, obs.height, margin)]
    if not faces:
        return _result("face_visible", False, 0, 1, "no_face")
    if len(faces) > 1:
        return _result("face_visible", False, len(whole), 1, "one_face_only")
    if not whole:
        return _result("face_visible", False, 0, 1, "face_cut_off")
    return _result("face_visible", True, 1, 1, "")


def _face_min(cid: str, obs: Observation, value: Optional[float], limits: Limits, message: str) -> CheckResult:
    """A measure taken on the face that must reach limits["min"]: null without a face or value."""
    lo = float(limits["min"])
    if value is None:
        return _result(cid, None, None, lo, "no_face" if main_face(obs) is None else "retry")
    return _result(cid, value >= lo, value, lo, message)


def face_sharp(obs: Observation, limits: Limits) -> CheckResult:
    return _face_min("face_sharp", obs, obs.measures.face_sharpness, limits, "hold_still")


def backlight(obs: Observation, limits: Limits) -> CheckResult:
    return _face_min("backlight", obs, obs.measures.backlight, limits, "backlit")


# Where the head is when the face detector cannot see it (a card held over the face): above the
# shoulder midpoint by ~0.6 shoulder widths, ~0.45 x 0.6 shoulder widths in size (adult
# proportions; matches the detector's face box on hold_id_01 and portrait_01 within ~0.15 sw).
HEAD_ABOVE_SHOULDERS = 0.6
HEAD_WIDTH, HEAD_HEIGHT = 0.45, 0.6


def head_box_from_shoulders(obs: Observation, min_visibility: float = 0.5) -> Optional[tuple[float, float, float, float]]:
    pose = obs.pose
    if pose is None or len(pose.points) < 13:
        return None
    (xl, yl, vl), (xr, yr, vr) = pose.points[L_SHOULDER], pose.points[R_SHOULDER]
    if vl < min_visibility or vr < min_visibility:
        return None
    sw = math.hypot(xl - xr, yl - yr)
    if sw <= 1.0:
        return None
    cx, cy = (xl + xr) / 2.0, (yl + yr) / 2.0 - HEAD_ABOVE_SHOULDERS * sw
    w, h = HEAD_WIDTH * sw, HEAD_HEIGHT * sw
    return cx - w / 2.0, cy - h / 2.0, w, h


def box_covered(quad: Sequence[Point], box: tuple[float, float, float, float]) -> float:
    x, y, w, h = box
    if w <= 0 or h <= 0:
        return 0.0
    return polygon_area(clip_to_rect(quad, x, y, x + w, y + h)) / (w * h)


def face_uncovered(obs: Observation, limits: Limits) -> CheckResult:
    """Fraction of the person's face covered by the card: the face detector's box when a live
    face is seen. A card held over the face hides it from the detector, so without a live face
    the head is located from the pose: the larger of the share of head points 0-10 inside the
    card and the coverage of a head box estimated from the shoulders (pose head points are
    guessed, often below a card that hides the face). A pose found on the card's printed portrait
    (Pose.on_card) still counts here: without a live face that is what a card held over the face
    looks like. In video, the face as last seen a moment ago (Observation.recent_face) counts too,
    as the larger signal with the pose's."""
    hi = float(limits["max"])
    face = main_face(obs)
    if obs.card is None:
        if face is None:
            return _result("face_uncovered", None, None, hi, "no_face")
        return _result("face_uncovered", True, 0.0, hi, "")
    quad = obs.card.quad
    if face is not None:
        covered = box_covered(quad, face.box)
        return _result("face_uncovered", covered <= hi, covered, hi, "card_over_face")
    signals = []
    if obs.recent_face is not None:
        # video: the face as seen a moment ago, before the card came over it
        signals.append(box_covered(quad, obs.recent_face.box))
    if obs.pose is not None:
        head = [obs.pose.points[i][:2] for i in HEAD_POINTS if i < len(obs.pose.points)]
        head = [p for p in head if inside_frame(p, obs.width, obs.height)]
        if head:
            signals.append(sum(point_in_polygon(p, quad) for p in head) / len(head))
        box = head_box_from_shoulders(obs)
        if box is not None:
            signals.append(box_covered(quad, box))
    if not signals:
        return _result("face_uncovered", None, None, hi, "no_face")
    covered = max(signals)
    return _result("face_uncovered", covered <= hi, covered, hi, "card_over_face")


# --------------------------------------------------------------------------- card
def card_present(obs: Observation, limits: Limits) -> CheckResult:
    lo = float(limits["min_score"])
    if obs.card is None:
        return _result("card_present", False, 0.0, lo, "show_card")
    return _result("card_present", obs.card.score >= lo, obs.card.score, lo, "show_card")


def card_in_frame(obs: Observation, limits: Limits) -> CheckResult:
    """All four corners inside the frame. Value: the fraction of the card's area inside."""
    if obs.card is None:
        return _no_card("card_in_frame", 1.0)
    tol = float(limits["tolerance_px"])
    full = polygon_area(obs.card.quad)
    part = polygon_area(clip_to_rect(obs.card.quad, 0.0, 0.0, float(obs.width), float(obs.height)))
    frac = part / full if full > 0 else 0.0
    corners_in = all(-tol <= x <= obs.width - 1 + tol and -tol <= y <= obs.height - 1 + tol
                     for x, y in obs.card.quad)
    return _result("card_in_frame", bool(obs.card.in_frame and corners_in), frac, 1.0, "card_cut_off")


def card_size(obs: Observation, limits: Limits) -> CheckResult:
    """Card area / frame area in [min, max): readable, and less than half the photo."""
    lo, hi = float(limits["min"]), float(limits["max"])
    frac = card_area_fraction(obs)
    if frac is None:
        return _no_card("card_size", [lo, hi])
    if frac >= hi:
        return _result("card_size", False, frac, [lo, hi], "card_too_big")
    if frac < lo:
        return _result("card_size", False, frac, [lo, hi], "card_too_small")
    return _result("card_size", True, frac, [lo, hi], "")


def card_fill(obs: Observation, limits: Limits) -> CheckResult:
    """Card photo: the card covers at least `min` of the frame."""
    lo = float(limits["min"])
    frac = card_area_fraction(obs)
    if frac is None:
        return _no_card("card_fill", lo)
    return _result("card_fill", frac >= lo, frac, lo, "card_too_small")


def _card_measure(cid: str, obs: Observation, value: Optional[float], limit: Any, passed: bool,
                  message: str) -> CheckResult:
    """A measure taken on the card: null without a card ("show the card") or without a value."""
    if obs.card is None:
        return _no_card(cid, limit)
    if value is None:
        return _result(cid, None, None, limit, "retry")
    return _result(cid, passed, value, limit, message)


def card_sharp(obs: Observation, limits: Limits) -> CheckResult:
    lo, v = float(limits["min"]), obs.measures.card_sharpness
    return _card_measure("card_sharp", obs, v, lo, v is not None and v >= lo, "card_blurry")


def glare(obs: Observation, limits: Limits) -> CheckResult:
    hi, v = float(limits["max"]), obs.measures.glare
    return _card_measure("glare", obs, v, hi, v is not None and v <= hi, "glare")


def card_facing(obs: Observation, limits: Limits) -> CheckResult:
    hi, v = float(limits["max"]), obs.measures.card_tilt
    return _card_measure("card_facing", obs, v, hi, v is not None and v <= hi, "card_tilted")


def card_unoccluded(obs: Observation, limits: Limits) -> CheckResult:
    hi, v = int(limits["max"]), obs.measures.fingers_on_text
    return _card_measure("card_unoccluded", obs, v, hi, v is not None and v <= hi, "fingers_on_card")


# --------------------------------------------------------------------------- body
def _card_size_px(quad: Sequence[Point]) -> float:
    """A length for the card: the square root of its area (scale of both of its sides)."""
    return math.sqrt(max(polygon_area(quad), 0.0))


def holding_hands(obs: Observation, expand: float, min_visibility: float) -> int:
    """How many hands hold the card: hand-landmarker hands with a landmark on the card (expanded
    by `expand` x its size); plus, for a side of the body where the hand landmarker found no hand
    (palms seen edge-on behind a card are often missed), the pose wrist/pinky/index/thumb points
    when seen on the card, or a seen elbow whose (hidden) wrist lies behind the card."""
    if obs.card is None:
        return 0
    quad = obs.card.quad
    margin = expand * _card_size_px(quad)
    count = sum(1 for h in obs.hands if any(near_polygon(p, quad, margin) for p in h.points))
    if obs.pose is not None and obs.pose.on_card:
        return count  # the body found is the card's printed portrait
    return count + _pose_hands(obs, min_visibility, quad, margin)


def _pose_hands(obs: Observation, min_visibility: float, quad: Optional[Sequence[Point]] = None,
                margin: float = 0.0) -> int:
    """The body sides without a hand-landmarker hand whose hand the pose shows: its
    wrist/pinky/index/thumb points seen inside the frame (and near `quad`, when given), or a
    seen elbow whose wrist lies inside the frame (and behind `quad`: a hand hidden by it)."""
    pose = obs.pose
    if pose is None or len(pose.points) < 23:
        return 0
    claimed = {side for side, _ in _hand_sides(obs)}
    count = 0
    for side, idx in POSE_HAND_POINTS.items():
        if side in claimed:
            continue
        if any(v >= min_visibility and inside_frame((x, y), obs.width, obs.height)
               and (quad is None or near_polygon((x, y), quad, margin))
               for x, y, v in (pose.points[i] for i in idx)):
            count += 1
            continue
        # a hand holding the card from behind is hidden by it, which lowers its points' visibility:
        # a seen elbow whose wrist lies behind the card is that arm's hand holding it. Inside the
        # card, not near it: a faint wrist just beside the card is the pose guessing where an arm
        # hanging past the card (out of the frame, behind its corner) ends (synthetic seeds 1
        # and 3: 3 false passes of this kind, no card held from behind lost).
        wrist = _forearm_wrist(obs, POSE_ELBOW[side], POSE_WRIST[side], min_visibility)
        if wrist is not None and (quad is None or point_in_polygon(wrist[:2], quad)):
            count += 1
    return count


def _hand_sides(obs: Observation) -> list[tuple[str, float]]:
    """For each landmarker hand, the body side it belongs to (the nearer pose wrist) and how far
    its wrist is from that pose wrist, in its own palm lengths (wrist to middle knuckle)."""
    out = []
    for h in obs.hands:
        if len(h.points) < 10:
            continue
        w, k = h.points[0], h.points[9]
        dist = {side: math.hypot(w[0] - obs.pose.points[i][0], w[1] - obs.pose.points[i][1])
                for side, i in POSE_WRIST.items()}
        side = min(dist, key=dist.get)
        out.append((side, dist[side] / max(math.hypot(w[0] - k[0], w[1] - k[1]), 1.0)))
    return out


def _forearm_wrist(obs: Observation, elbow: int, wrist: int, min_visibility: float) -> Optional[tuple]:
    """The pose's wrist (x, y, visibility) of an arm whose elbow is seen inside the frame and whose
    wrist lies inside it (seen or not), else None."""
    ex, ey, ev = obs.pose.points[elbow]
    w = obs.pose.points[wrist]
    if ev >= min_visibility and inside_frame((ex, ey), obs.width, obs.height) \
            and inside_frame(w[:2], obs.width, obs.height):
        return w
    return None


def seen_hands(obs: Observation, min_visibility: float) -> int:
    """How many hands are in the picture at all: the hand landmarker's, plus a body side it
    missed whose pose hand points are seen inside the frame, or whose seen elbow's wrist lies
    inside it (a hand hidden behind something). No more hands than that can hold a card, found
    or not."""
    return len(obs.hands) + _pose_hands(obs, min_visibility)


def hands_on_card(obs: Observation, limits: Limits) -> CheckResult:
    """Hands holding the card. Without a card found, fails only when fewer hands than needed are
    in the picture at all (whatever the card, it is not held in both hands), else open."""
    need = int(limits["min"])
    if obs.card is None:
        n = seen_hands(obs, float(limits["min_visibility"]))
        if n < need:
            return _result("hands_on_card", False, n, need, "both_hands")
        return _no_card("hands_on_card", need)
    n = holding_hands(obs, float(limits["expand"]), float(limits["min_visibility"]))
    return _result("hands_on_card", n >= need, n, need, "both_hands")


def visible_forearms(obs: Observation, min_visibility: float, card_margin: float = 0.15) -> int:
    """Forearms in the picture: elbow visible and inside the frame, and the wrist inside the frame
    and either visible, or confirmed by a hand the hand landmarker found there (within one palm
    length), or on the card. A wrist holding the card is often half hidden behind it, which lowers
    the pose's visibility score although the arm is plainly there; the hand landmarker, which
    looks at the hand itself, still finds it."""
    if obs.pose is None or len(obs.pose.points) < 17 or obs.pose.on_card:
        return 0  # no body, or the one found is the card's printed portrait
    quad = obs.card.quad if obs.card is not None else None
    margin = card_margin * _card_size_px(quad) if quad is not None else 0.0
    by_hand = {side for side, palms in _hand_sides(obs) if palms <= 1.0}
    n = 0
    for side in ("left", "right"):
        w = _forearm_wrist(obs, POSE_ELBOW[side], POSE_WRIST[side], min_visibility)
        if w is not None and (w[2] >= min_visibility or side in by_hand
                              or (quad is not None and near_polygon(w[:2], quad, margin))):
            n += 1
    return n


def arms_visible(obs: Observation, limits: Limits) -> CheckResult:
    need = int(limits["min"])
    n = visible_forearms(obs, float(limits["min_visibility"]), float(limits["card_margin"]))
    return _result("arms_visible", n >= need, n, need, "show_arms")


def shoulders_visible(obs: Observation, limits: Limits) -> CheckResult:
    """Both shoulders inside the frame and at least `min_torso` shoulder widths of frame below
    the shoulder line (so the chest is in the picture, not only the head). Value: that torso
    length in shoulder widths (0 when a shoulder is not visible)."""
    lo = float(limits["min_torso"])
    vis = float(limits["min_visibility"])
    pose = obs.pose
    if pose is None or len(pose.points) < 13:
        return _result("shoulders_visible", False, None, lo, "show_shoulders")
    sh = [pose.points[L_SHOULDER], pose.points[R_SHOULDER]]
    if not all(v >= vis and inside_frame((x, y), obs.width, obs.height) for x, y, v in sh):
        return _result("shoulders_visible", False, 0.0, lo, "show_shoulders")
    width = math.hypot(sh[0][0] - sh[1][0], sh[0][1] - sh[1][1])
    if width <= 1.0:
        return _result("shoulders_visible", False, 0.0, lo, "show_shoulders")
    below = (obs.height - 1) - max(sh[0][1], sh[1][1])
    torso = max(0.0, below) / width
    return _result("shoulders_visible", torso >= lo, torso, lo, "show_shoulders")


def no_card(obs: Observation, limits: Limits) -> CheckResult:
    hi = int(limits["max"])
    n = 0 if obs.card is None else 1
    return _result("no_card", n <= hi, n, hi, "remove_card")


# --------------------------------------------------------------------------- registry
RULES: dict[str, Rule] = {
    "resolution": resolution,
    "exposure": exposure,
    "face_visible": face_visible,
    "face_sharp": face_sharp,
    "backlight": backlight,
    "face_uncovered": face_uncovered,
    "card_present": card_present,
    "card_in_frame": card_in_frame,
    "card_size": card_size,
    "card_fill": card_fill,
    "card_sharp": card_sharp,
    "glare": glare,
    "card_facing": card_facing,
    "card_unoccluded": card_unoccluded,
    "hands_on_card": hands_on_card,
    "arms_visible": arms_visible,
    "shoulders_visible": shoulders_visible,
    "no_card": no_card,
}

CHECK_IDS: tuple[str, ...] = tuple(RULES)
