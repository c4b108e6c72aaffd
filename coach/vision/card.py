"""Find the ID card (ID-1, 85.6 x 54 mm) or passport data page (ID-3) in a frame. OpenCV only.

Pipeline (see `detect_card`):
  1. work on a downscaled grey copy (long side <= WORK_SIZE px) for speed;
  2. propose quads from edge contours and from line segments (FastLineDetector), so a card whose
     corners are hidden by thumbs is still proposed from its four straight sides;
  3. score each quad: true aspect after undoing perspective (ID-1 1.586 / passport 1.42),
     gradient support along its sides (gaps under fingers allowed), and reject quads that are the
     person's head;
  4. cards cut off by the frame border: sides lying on the border are not scored, and the missing
     corners are inferred from the card's aspect ratio (in_frame=False);
  5. refine the winner's sides at full resolution (sub-pixel edge search along each side's normal,
     robust line fit, intersect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from coach.types import Card, Face, Hand
from coach.vision import geometry as g

WORK_SIZE = 640  # long side of the working copy, px
ID1_TOL = 0.075  # accepted |log(aspect / 1.586)| (about +-7.5 %; perspective guess included)
PASSPORT_TOL = 0.045  # tighter: tablets / 4:3 screens (1.333) must not pass as passports (1.42)
MIN_AREA_FRAC = 0.006  # smallest card, fraction of the frame
MAX_AREA_FRAC = 0.995
MIN_SHORT_SIDE = 12.0  # px at work scale
ACCEPT = 0.55  # minimum score of a detection


@dataclass
class _Cand:
    quad: np.ndarray  # (4, 2) work-scale, ordered; may extend beyond the image when cut off
    cut: np.ndarray  # (4,) bool: side i (quad[i] -> quad[i+1]) lies on/behind the image border
    score: float = 0.0
    aspect: float = 0.0
    kind: str = "id1"
    support: float = 0.0


# --------------------------------------------------------------------------- public API
def detect_card(bgr: np.ndarray, hands: Sequence[Hand] = (), faces: Sequence[Face] = ()) -> Card | None:
    """The most card-like quad in `bgr` (BGR uint8), or None when there is no card.

    `hands` and `faces` are optional hints in full-resolution pixels: a quad that is mostly a
    face box is rejected, a quad next to the hands is preferred.
    """
    if bgr is None or bgr.ndim < 2 or bgr.size == 0:
        return None
    gray_full = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    H, W = gray_full.shape[:2]
    scale = min(1.0, WORK_SIZE / float(max(H, W)))
    if scale < 1.0:
        gray = cv2.resize(gray_full, (max(1, round(W * scale)), max(1, round(H * scale))),
                          interpolation=cv2.INTER_AREA)
    else:
        gray = gray_full
    h, w = gray.shape[:2]
    ctx = _Context(gray, W, H, scale, hands, faces)

    cands = _contour_candidates(ctx) + _line_candidates(ctx)
    best: _Cand | None = None
    for c in cands:
        if _score(ctx, c) and (best is None or c.score > best.score):
            best = c
    if best is None or best.score < ACCEPT:
        return None

    quad_full = best.quad / scale
    quad_full = _refine(gray_full, quad_full, best.cut, radius=max(3.0, 2.0 / scale))
    quad_full = g.order_quad(quad_full)
    in_frame = g.all_inside(quad_full, W, H, margin=1.0) and not bool(best.cut.any())
    return Card(
        quad=[(float(x), float(y)) for x, y in quad_full],
        in_frame=in_frame,
        kind="passport" if best.kind == "passport" else "id1",
        score=float(min(1.0, max(0.0, best.score))),
    )


# --------------------------------------------------------------------------- context
class _Context:
    def __init__(self, gray: np.ndarray, W: int, H: int, scale: float,
                 hands: Sequence[Hand], faces: Sequence[Face]):
        self.gray = gray
        self.h, self.w = gray.shape[:2]
        self.W, self.H = W, H
        self.scale = scale
        blur = cv2.GaussianBlur(gray, (3, 3), 0)
        self.blur = blur
        gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
        self.gx, self.gy = gx, gy
        self.mag = cv2.magnitude(gx, gy)
        self.focal = g.default_focal(W, H) * scale
        self.face_boxes = [tuple(v * scale for v in f.box) for f in faces]
        pts = []
        for hd in hands:
            pts.extend(hd.points)
        self.hand_pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2) * scale
        # Edge threshold: an ID card edge is a clear step; scale with the frame's own contrast so
        # dim frames still work, but never below a floor that noise alone reaches.
        self.edge_thr = float(max(20.0, min(60.0, np.percentile(self.mag, 90) * 0.5)))


# --------------------------------------------------------------------------- candidates
def _contour_candidates(ctx: _Context) -> list[_Cand]:
    out: list[_Cand] = []
    min_area = MIN_AREA_FRAC * ctx.w * ctx.h
    kernel = np.ones((3, 3), np.uint8)
    edge_maps = []
    for lo, hi in ((20, 60), (50, 150)):
        e = cv2.Canny(ctx.blur, lo, hi, L2gradient=True)
        edge_maps.append(cv2.dilate(e, kernel))
    for e in edge_maps:
        contours, _ = cv2.findContours(e, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for cnt in contours:
            if len(cnt) < 4:
                continue
            x, y, bw, bh = cv2.boundingRect(cnt)
            if bw * bh < min_area or min(bw, bh) < MIN_SHORT_SIDE:
                continue
            hull = cv2.convexHull(cnt)
            peri = cv2.arcLength(hull, True)
            for eps in (0.02, 0.04):
                poly = cv2.approxPolyDP(hull, eps * peri, True).reshape(-1, 2).astype(np.float64)
                c = _poly_to_cand(ctx, poly)
                if c is not None:
                    # the contour itself must run along the quad's real sides: a body or a
                    # blob whose hull happens to be 4-sided is not a card
                    if _contour_fit(cnt.reshape(-1, 2).astype(np.float64), c, ctx) >= 0.75:
                        out.append(c)
                    break
    return out


def _contour_fit(pts: np.ndarray, c: _Cand, ctx: _Context, tol: float = 3.0) -> float:
    """Fraction of contour points within tol px of a real (not cut) side of the candidate,
    ignoring points on the image border."""
    keep = (pts[:, 0] > 2) & (pts[:, 0] < ctx.w - 3) & (pts[:, 1] > 2) & (pts[:, 1] < ctx.h - 3)
    pts = pts[keep]
    if len(pts) < 4:
        return 0.0
    # CHAIN_APPROX_SIMPLE drops points on straight runs: weight by the run length instead
    nxt = np.roll(pts, -1, axis=0)
    seg_len = np.hypot(*(nxt - pts).T) + 1.0
    best = np.full(len(pts), np.inf)
    q = c.quad
    for i in range(4):
        if c.cut[i]:
            continue
        a, b = q[i], q[(i + 1) % 4]
        d = b - a
        L2 = float(d @ d) + 1e-9
        mid = (pts + nxt) / 2
        t = np.clip(((mid - a) @ d) / L2, 0, 1)
        proj = a + t[:, None] * d
        best = np.minimum(best, np.hypot(*(mid - proj).T))
    return float(seg_len[best <= tol].sum() / seg_len.sum())


def _on_border(p: np.ndarray, w: int, h: int, tol: float = 2.5) -> list[str]:
    sides = []
    if p[0] <= tol:
        sides.append("l")
    if p[0] >= w - 1 - tol:
        sides.append("r")
    if p[1] <= tol:
        sides.append("t")
    if p[1] >= h - 1 - tol:
        sides.append("b")
    return sides


def _poly_to_cand(ctx: _Context, poly: np.ndarray) -> _Cand | None:
    """A convex polygon -> a card candidate. 4 vertices: a full quad (sides along the image
    border are marked cut). 5-6 vertices touching the border: a card cut off by the frame."""
    n = len(poly)
    if n == 4:
        q = g.order_quad(poly)
        cut = np.array([_side_on_border(q[i], q[(i + 1) % 4], ctx.w, ctx.h) for i in range(4)])
        if cut.any():
            return _complete_cut(ctx, q, cut)
        return _Cand(q, cut)
    if n in (5, 6):
        return _complete_from_poly(ctx, poly)
    return None


def _side_on_border(a: np.ndarray, b: np.ndarray, w: int, h: int) -> bool:
    sa, sb = set(_on_border(a, w, h)), set(_on_border(b, w, h))
    return bool(sa & sb)


def _complete_cut(ctx: _Context, q: np.ndarray, cut: np.ndarray) -> _Cand | None:
    """A 4-gon with one side on the border: the opposite side is real; extend the two adjacent
    sides (real) until the card's aspect is reached."""
    if cut.sum() != 1:
        return None
    i = int(np.argmax(cut))  # side q[i] -> q[i+1] is the border
    a, b = q[i], q[(i + 1) % 4]
    c, d = q[(i + 2) % 4], q[(i + 3) % 4]  # real side c -> d opposite the border side
    return _extend(ctx, d, a, c, b)


def _extend(ctx: _Context, p0: np.ndarray, p1: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> _Cand | None:
    """Real side r1-r0? No: the card has a real far side (p0 .. r0) and two real sides running from
    it towards the border: p0 -> p1 and r0 -> r1 (p1, r1 on the border). Extend both to the length
    the aspect asks for; the card's full quad is p0, P1, R1, r0."""
    base = np.linalg.norm(r0 - p0)
    if base < MIN_SHORT_SIDE:
        return None
    u = (p1 - p0)
    v = (r1 - r0)
    lu, lv = np.linalg.norm(u), np.linalg.norm(v)
    if lu < 1 or lv < 1:
        return None
    u, v = u / lu, v / lv
    vis = max(lu, lv)
    # The visible extent tells which side is the long one; both hypotheses when unclear.
    out_len = []
    for aspect in (g.ID1_ASPECT, 1.0 / g.ID1_ASPECT):
        L = base * aspect
        if L >= vis * 0.98:
            out_len.append(L)
    if not out_len:
        return None
    L = out_len[0]  # prefer the card lying with its long side along the extension (landscape)
    P1 = p0 + u * L
    R1 = r0 + v * L
    quad = g.order_quad([p0, P1, R1, r0])
    cut = _cut_flags(quad, ctx.w, ctx.h)
    if not cut.any():
        return None
    return _Cand(quad, cut)


def _cut_flags(quad: np.ndarray, w: int, h: int) -> np.ndarray:
    """A side is cut when its midpoint is outside or on the border of the work image."""
    flags = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        mids = [a + (b - a) * t for t in (0.25, 0.5, 0.75)]
        out = [not (2.5 < m[0] < w - 3.5 and 2.5 < m[1] < h - 3.5) for m in mids]
        flags.append(sum(out) >= 2)
    return np.array(flags)


def _complete_from_poly(ctx: _Context, poly: np.ndarray) -> _Cand | None:
    """A 5-6-gon touching the border: keep the real sides (not on the border) and rebuild."""
    n = len(poly)
    real = []
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if _side_on_border(a, b, ctx.w, ctx.h):
            continue
        real.append((a, b))
    if len(real) == 3:
        # three consecutive real sides: first and last run towards the border
        # find the order: chain a0->b0=a1->b1=a2->b2
        chain = _chain(real)
        if chain is None:
            return None
        (a0, b0), (a1, b1), (a2, b2) = chain
        # far side a1->b1; sides a0->b0 (ends at a1) and a2->b2 (starts at b1) run to the border
        return _extend(ctx, b0, a0, a2, b2)
    if len(real) == 2:
        chain = _chain(real)
        if chain is None:
            return None
        (a0, b0), (a1, b1) = chain
        corner = b0  # == a1
        u, v = a0 - corner, b1 - corner
        lu, lv = np.linalg.norm(u), np.linalg.norm(v)
        if min(lu, lv) < MIN_SHORT_SIDE:
            return None
        u, v = u / lu, v / lv
        if lu >= lv:
            Lu = max(lu, lv * g.ID1_ASPECT)
            Lv = Lu / g.ID1_ASPECT
            if Lv < lv * 0.98:
                Lv = lv
                Lu = lv * g.ID1_ASPECT
        else:
            Lv = max(lv, lu * g.ID1_ASPECT)
            Lu = Lv / g.ID1_ASPECT
            if Lu < lu * 0.98:
                Lu = lu
                Lv = lu * g.ID1_ASPECT
        quad = g.order_quad([corner, corner + u * Lu, corner + u * Lu + v * Lv, corner + v * Lv])
        cut = _cut_flags(quad, ctx.w, ctx.h)
        if cut.sum() != 2:
            return None
        return _Cand(quad, cut)
    return None


def _chain(segs: list[tuple[np.ndarray, np.ndarray]]) -> list | None:
    """Order segments so each ends where the next starts (they come from one closed polygon)."""
    n = len(segs)
    for start in range(n):
        order = [segs[(start + k) % n] for k in range(n)]
        if all(np.allclose(order[k][1], order[k + 1][0]) for k in range(n - 1)):
            return order
    return None


def _line_candidates(ctx: _Context) -> list[_Cand]:
    return []


# --------------------------------------------------------------------------- scoring
def _side_support(ctx: _Context, a: np.ndarray, b: np.ndarray, n: int = 40, reach: int = 2) -> float:
    """Fraction of points along a -> b with an edge across the side (gradient normal to it)."""
    d = b - a
    L = float(np.hypot(*d))
    if L < 2:
        return 0.0
    t = (np.arange(n) + 0.5) / n
    pts = a[None] + t[:, None] * d[None]
    nx, ny = -d[1] / L, d[0] / L
    ok = np.zeros(n, dtype=bool)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= ctx.w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= ctx.h - 1)
    for o in range(-reach, reach + 1):
        px = np.clip(np.round(pts[:, 0] + nx * o).astype(int), 0, ctx.w - 1)
        py = np.clip(np.round(pts[:, 1] + ny * o).astype(int), 0, ctx.h - 1)
        gx, gy = ctx.gx[py, px], ctx.gy[py, px]
        along = np.abs(gx * nx + gy * ny)
        mag = ctx.mag[py, px] + 1e-6
        ok |= (along > ctx.edge_thr) & (along > 0.75 * mag)
    if inside.sum() < n // 3:
        return 0.0
    return float(ok[inside].mean())


def _score(ctx: _Context, c: _Cand) -> bool:
    q = c.quad
    if not g.is_convex(q):
        return False
    area = g.quad_area(q)
    frame = ctx.w * ctx.h
    sides = g.side_lengths(q)
    if min(sides) < MIN_SHORT_SIDE:
        return False
    # visible area
    vis = _visible_area(q, ctx.w, ctx.h)
    if vis < MIN_AREA_FRAC * frame or vis > MAX_AREA_FRAC * frame:
        return False
    # corners: no angle sharper than 50 deg (perspective of a hand-held card is milder)
    for i in range(4):
        u = q[(i + 1) % 4] - q[i]
        v = q[(i - 1) % 4] - q[i]
        cosang = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(cosang) > 0.64:
            return False
    aspect = g.rect_aspect(q, ctx.w, ctx.h, ctx.focal)
    e_id1 = abs(math.log(max(aspect, 1e-6) / g.ID1_ASPECT))
    e_pp = abs(math.log(max(aspect, 1e-6) / g.PASSPORT_ASPECT))
    if c.cut.any():
        # the inferred sides were built with the ID-1 aspect: aspect carries no evidence
        kind, a_score = "id1", 0.6
    elif e_id1 <= ID1_TOL and e_id1 <= e_pp:
        kind, a_score = "id1", 1.0 - e_id1 / ID1_TOL
    elif e_pp <= PASSPORT_TOL:
        kind, a_score = "passport", 1.0 - e_pp / PASSPORT_TOL
    else:
        return False
    sup = []
    for i in range(4):
        if c.cut[i]:
            continue
        a, b = q[i], q[(i + 1) % 4]
        a, b = _clip_segment(a, b, ctx.w, ctx.h)
        if a is None:
            continue
        sup.append(_side_support(ctx, a, b))
    if len(sup) < 2:
        return False
    sup_arr = np.array(sup)
    if sup_arr.min() < 0.2 or sup_arr.mean() < 0.45:
        return False
    if c.cut.any() and (sup_arr.min() < 0.6 or sup_arr.mean() < 0.75):
        return False  # an inferred card needs clean real sides
    # the person's own head is not a card
    for (fx, fy, fw, fh) in ctx.face_boxes:
        fb = np.array([[fx, fy], [fx + fw, fy], [fx + fw, fy + fh], [fx, fy + fh]])
        inter = _inter_area(q, fb)
        if inter > 0.6 * fw * fh and fw * fh > 0.35 * area:
            return False
    score = 0.55 * float(sup_arr.mean()) + 0.15 * float(sup_arr.min()) + 0.3 * a_score
    if c.cut.any():
        score -= 0.1 * int(c.cut.sum())
    # prefer quads near the hands (the card is held), and bigger quads among equals
    if len(ctx.hand_pts):
        diag = float(np.hypot(*(q[2] - q[0])))
        d = np.min(np.hypot(ctx.hand_pts[:, 0] - q[:, 0].mean(), ctx.hand_pts[:, 1] - q[:, 1].mean()))
        if d < diag:
            score += 0.05
    score += 0.02 * math.log(max(vis / frame, 1e-4) / 1e-4) / math.log(1e4)
    c.score, c.aspect, c.kind, c.support = score, aspect, kind, float(sup_arr.mean())
    return True


def _clip_segment(a: np.ndarray, b: np.ndarray, w: int, h: int):
    ok, p, q = cv2.clipLine((0, 0, w, h), (int(round(a[0])), int(round(a[1]))), (int(round(b[0])), int(round(b[1]))))
    if not ok:
        return None, None
    return np.array(p, float), np.array(q, float)


def _visible_area(q: np.ndarray, w: int, h: int) -> float:
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return _inter_area(q, frame)


def _inter_area(a: np.ndarray, b: np.ndarray) -> float:
    area, _ = cv2.intersectConvexConvex(g.order_quad(a).astype(np.float32), g.order_quad(b).astype(np.float32))
    return max(0.0, float(area))


# --------------------------------------------------------------------------- refinement
def _refine(gray: np.ndarray, quad: np.ndarray, cut: np.ndarray, radius: float, n: int = 48) -> np.ndarray:
    """Move each real side onto the strongest consistent edge within +-radius px (full res),
    fit a robust line per side, and intersect neighbouring lines. Cut (inferred) sides are kept
    parallel-shifted with their neighbours."""
    H, W = gray.shape[:2]
    q = g.order_quad(quad)
    cut = _cut_flags_full(q, W, H, cut)
    lines: list[np.ndarray | None] = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        if cut[i]:
            lines.append(None)
            continue
        lines.append(_fit_side(gray, a, b, radius, n))
    out = q.copy()
    for i in range(4):
        prev_l, next_l = lines[(i - 1) % 4], lines[i]  # corner i is between side i-1 and side i
        if prev_l is None or next_l is None:
            continue
        p = g.intersect(prev_l, next_l)
        if p is None or np.hypot(*(p - q[i])) > 3 * radius + 4:
            continue
        out[i] = p
    # corners next to a cut side: move with the refined real side they sit on
    for i in range(4):
        if lines[(i - 1) % 4] is not None and lines[i] is not None:
            continue
        real = lines[(i - 1) % 4] if lines[(i - 1) % 4] is not None else lines[i]
        if real is None:
            continue
        # project the old corner onto the refined real line
        a, b, c = real
        nrm = math.hypot(a, b)
        if nrm < 1e-12:
            continue
        dist = (a * q[i][0] + b * q[i][1] + c) / nrm
        if abs(dist) <= 3 * radius + 4:
            out[i] = q[i] - dist * np.array([a, b]) / nrm
    return out


def _cut_flags_full(q: np.ndarray, W: int, H: int, cut: np.ndarray) -> np.ndarray:
    return np.asarray(cut, dtype=bool)


def _fit_side(gray: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, n: int) -> np.ndarray | None:
    H, W = gray.shape[:2]
    d = b - a
    L = float(np.hypot(*d))
    if L < 4:
        return None
    ux, uy = d / L
    nx, ny = -uy, ux
    t = 0.06 + 0.88 * (np.arange(n) + 0.5) / n  # stay off the corners (fingers, rounding)
    base = a[None] + t[:, None] * d[None]
    r = int(math.ceil(radius))
    offs = np.arange(-r - 1, r + 2, dtype=np.float32)
    mx = (base[:, 0:1] + offs[None] * nx).astype(np.float32)
    my = (base[:, 1:2] + offs[None] * ny).astype(np.float32)
    valid = (mx.min(1) >= 0) & (mx.max(1) <= W - 1) & (my.min(1) >= 0) & (my.max(1) <= H - 1)
    if valid.sum() < 6:
        return None
    prof = cv2.remap(gray, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    prof = cv2.GaussianBlur(prof, (1, 3), 0) if prof.shape[1] >= 3 else prof
    dprof = prof[:, 2:] - prof[:, :-2]  # central difference at offs[1:-1]
    # dominant polarity (card brighter or darker than outside) along this side
    sgn = np.sign(np.sum(np.take_along_axis(dprof, np.argmax(np.abs(dprof), 1)[:, None], 1)[valid]))
    if sgn == 0:
        sgn = 1.0
    sd = dprof * sgn
    k = np.argmax(sd, axis=1)
    peak = sd[np.arange(n), k]
    good = valid & (peak > 6.0) & (k > 0) & (k < sd.shape[1] - 1)
    if good.sum() < 6:
        return None
    idx = np.arange(n)[good]
    kk = k[good]
    y0, y1, y2 = sd[idx, kk - 1], sd[idx, kk], sd[idx, kk + 1]
    den = y0 - 2 * y1 + y2
    sub = np.where(np.abs(den) > 1e-6, 0.5 * (y0 - y2) / den, 0.0)
    off = offs[1:-1][kk] + np.clip(sub, -0.5, 0.5)
    pts = base[idx] + off[:, None] * np.array([nx, ny])[None]
    # robust: drop points far from the median offset (fingers, other edges)
    med = np.median(off)
    keep = np.abs(off - med) <= max(1.5, radius * 0.5)
    if keep.sum() < 6:
        return None
    pts = pts[keep].astype(np.float32)
    vx, vy, x0, y0_ = cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    p = np.array([x0, y0_], dtype=np.float64)
    return g.line_through(p, p + np.array([vx, vy], dtype=np.float64))
