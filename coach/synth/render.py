"""Compose one frame: the card warped into the photo, lit like it, fingers back over its border, and the
pixel-level defects (blur, glare, a real hand's thumb over the text, light)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from coach.synth.bases import _Base, _luma, _noise_sigma
from coach.synth.cards import _rounded_alpha
from coach.synth.geometry import BORDER_BAND, CORNER_RADIUS, ID1_ASPECT, Pose3D, _shrink, project_card
from coach.synth.hands import PastedHand, thumb_front_mask


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A straight smear of `length` px at `angle` degrees (antialiased), summing to 1."""
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cv2.line(k, (int(round(c - dx * c)), int(round(c - dy * c))), (int(round(c + dx * c)), int(round(c + dy * c))),
             1.0, 1, cv2.LINE_AA)
    return k / k.sum()


def motion_blur(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    """`img` moved by `length` px at `angle` degrees during the exposure."""
    return cv2.filter2D(img, -1, motion_kernel(length, angle))


def _card_texture(card: np.ndarray, width_px: float, rng: np.random.Generator, gain: float,
                  tint: np.ndarray, glare: bool) -> tuple[np.ndarray, np.ndarray]:
    """The card image at about 1.5x its on-screen size, lit like the scene; and its alpha."""
    ch, cw = card.shape[:2]
    tw = int(max(32, min(cw, round(1.5 * width_px))))
    th = int(round(tw / ID1_ASPECT))
    tex = cv2.resize(card, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
    # soft light gradient across the card (it is never lit perfectly evenly)
    gx, gy = rng.normal(0, 0.05, 2)
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    grad = 1.0 + gx * (xx / tw - 0.5) + gy * (yy / th - 0.5)
    tex = tex * (gain * grad)[:, :, None] * tint[None, None, :]
    if glare:
        tex = _add_glare(tex, rng)
    alpha = _rounded_alpha(tw, th, CORNER_RADIUS * tw)
    return tex, alpha


def _add_glare(tex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A specular reflection: a bright, desaturated, soft-edged ellipse with a clipped core, over
    the card's text area (1.5-5 % of the card)."""
    th, tw = tex.shape[:2]
    cx = rng.uniform(0.3, 0.75) * tw
    cy = rng.uniform(0.3, 0.7) * th
    frac = rng.uniform(0.03, 0.07)
    ratio = rng.uniform(1.3, 2.5)
    a = math.sqrt(frac * tw * th * ratio / math.pi)
    bb = a / ratio
    ang = rng.uniform(0, 180)
    m = np.zeros((th, tw), np.float32)
    cv2.ellipse(m, (int(cx), int(cy)), (int(a), int(bb)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    # a wide soft falloff (reflections of a lamp or window fade out over their own size) around
    # a burned-out centre
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, 0.45 * bb))
    core = np.clip(m * 1.35, 0, 1) ** 1.3
    white = np.full_like(tex, 255.0 * rng.uniform(1.0, 1.08))
    return tex * (1 - core[:, :, None]) + white * core[:, :, None]


def _warp(tex: np.ndarray, alpha: np.ndarray, quad_card_order: np.ndarray, W: int, H: int):
    """Warp texture + alpha so the card's outline lands exactly on quad (its own corner order).
    Returns (layer, alpha, (x0, y0)) cropped to the quad's bounding box inside the frame."""
    th, tw = tex.shape[:2]
    src = np.array([[-0.5, -0.5], [tw - 0.5, -0.5], [tw - 0.5, th - 0.5], [-0.5, th - 0.5]], np.float32)
    x0 = int(max(0, math.floor(quad_card_order[:, 0].min()) - 2))
    y0 = int(max(0, math.floor(quad_card_order[:, 1].min()) - 2))
    x1 = int(min(W, math.ceil(quad_card_order[:, 0].max()) + 3))
    y1 = int(min(H, math.ceil(quad_card_order[:, 1].max()) + 3))
    if x1 <= x0 or y1 <= y0:
        return None
    dst = (quad_card_order - np.array([x0, y0])).astype(np.float32)
    hm = cv2.getPerspectiveTransform(src, dst)
    # Supersampled alpha edge: sharp but anti-aliased outline.
    lay = cv2.warpPerspective(tex, hm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    al = cv2.warpPerspective(alpha, hm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
    return lay, al, (x0, y0)


def _thumb(img: np.ndarray, quad: np.ndarray, b: _Base, rng: np.random.Generator) -> np.ndarray:
    """A thumb-like shape entering from one of the card's edges and lying over its text: skin
    colour sampled from the face, shaded across its width, a lighter nail at the tip."""
    out = img.copy()
    H, W = img.shape[:2]
    q = np.asarray(quad, np.float64)  # card order
    short = float(np.linalg.norm(q[3] - q[0]))
    # 1 right, 2 bottom, 3 left: a thumb from the top edge stuck out towards the face (and
    # covered it in 0024 of seed 1)
    edge = int(rng.integers(1, 4))
    a, c = q[edge], q[(edge + 1) % 4]
    t = rng.uniform(0.3, 0.7)
    base_pt = a + t * (c - a)
    centre = q.mean(0)
    inward = centre - base_pt
    inward /= np.linalg.norm(inward) + 1e-9
    depth = short * rng.uniform(0.45, 0.65)  # reaches well past the 12 % border band
    tip = base_pt + inward * depth
    start = base_pt - inward * short * 0.5
    width = short * rng.uniform(0.28, 0.36)
    length = float(np.linalg.norm(tip - start))
    ang = math.degrees(math.atan2(inward[1], inward[0]))
    # skin colour
    if b.det.face is not None:
        x, y, fw, fh = b.det.face
        patch = b.image[int(max(0, y + 0.45 * fh)):int(min(H, y + 0.7 * fh)), int(max(0, x + 0.3 * fw)):int(min(W, x + 0.7 * fw))]
        skin = np.median(patch.reshape(-1, 3), 0) if patch.size else np.array([120, 150, 200.0])
    else:
        skin = np.array([120, 150, 200.0])
    mid = (start + tip) / 2
    m = np.zeros((H, W), np.float32)
    cv2.ellipse(m, (int(mid[0]), int(mid[1])), (int(length / 2), int(width / 2)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    m = cv2.GaussianBlur(m, (0, 0), max(0.8, width * 0.04))
    # shading across the thumb's width: darker at its sides
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    nx, ny = -inward[1], inward[0]
    across = ((xx - mid[0]) * nx + (yy - mid[1]) * ny) / (width / 2)
    shade = np.clip(1.05 - 0.35 * across ** 2, 0.55, 1.1)
    col = skin[None, None, :] * shade[:, :, None]
    # nail: a lighter, pinker ellipse near the tip
    nail = np.zeros((H, W), np.float32)
    npt = tip - inward * width * 0.55
    cv2.ellipse(nail, (int(npt[0]), int(npt[1])), (int(width * 0.38), int(width * 0.3)), ang, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    nail = cv2.GaussianBlur(nail, (0, 0), max(0.8, width * 0.05)) * 0.45
    col = col * (1 - nail[:, :, None]) + np.minimum(255, skin * 1.25 + 15)[None, None, :] * nail[:, :, None]
    out = out * (1 - m[:, :, None]) + col * m[:, :, None]
    return out


def _scene_skin(b: _Base) -> Optional[np.ndarray]:
    """Median BGR of the face's cheeks: the skin colour under this scene's light."""
    if b.det.face is None:
        return None
    H, W = b.image.shape[:2]
    x, y, fw, fh = b.det.face
    patch = b.image[int(max(0, y + 0.45 * fh)):int(min(H, y + 0.7 * fh)), int(max(0, x + 0.3 * fw)):int(min(W, x + 0.7 * fw))]
    return np.median(patch.reshape(-1, 3), 0).astype(np.float32) if patch.size else None


def _paste_hand(img: np.ndarray, quad: np.ndarray, ph: PastedHand, b: _Base, rng: np.random.Generator) -> np.ndarray:
    """Paste a real hand holding the card by its edge: the thumb in front of the card (over its
    text), the curled fingers behind it, palm, wrist and forearm beside it. Its colour is pulled
    towards the face's skin (same light and white balance), it gets the photo's noise, and the
    thumb casts a soft contact shadow on the card."""
    H, W = img.shape[:2]
    src = ph.src
    up = float(np.sqrt(abs(np.linalg.det(ph.M[:, :2]))))
    interp = cv2.INTER_CUBIC if up > 1 else cv2.INTER_AREA
    lay = cv2.warpAffine(src.image, ph.M, (W, H), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    al = cv2.warpAffine(src.alpha, ph.M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
    al = np.clip(al, 0, 1)
    card = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(card, np.round(quad).astype(np.int32), 255)
    card_m = cv2.GaussianBlur(card.astype(np.float32) / 255.0, (0, 0), 1.0)
    pl = float(np.linalg.norm(ph.points[9] - ph.points[0]))
    front = cv2.GaussianBlur(thumb_front_mask(ph, (H, W)), (0, 0), max(1.0, 0.03 * pl))
    vis = al * np.maximum(front, 1.0 - card_m)
    # colour: move the hand's skin most of the way to the face's (light and white balance of the scene)
    target = _scene_skin(b)
    if target is not None:
        ratio = np.clip(target / np.maximum(src.skin, 1.0), 0.45, 1.8) ** 0.75
        lay = lay * ratio[None, None, :]
    lay = lay + rng.normal(0, _noise_sigma(b.image), (H, W))[:, :, None].astype(np.float32)
    # contact shadow: the hand a little above the card, light from the camera side
    off = rng.normal(0, 0.02 * pl, 2) + 0.02 * pl
    sh = cv2.warpAffine(vis, np.float32([[1, 0, off[0]], [0, 1, off[1]]]), (W, H))
    sh = cv2.GaussianBlur(sh, (0, 0), max(1.0, 0.05 * pl)) * 0.35 * card_m * (1.0 - vis)
    out = img * (1.0 - sh[:, :, None])
    return out * (1.0 - vis[:, :, None]) + lay * vis[:, :, None]


def _person_mask(b: _Base, quad: Optional[np.ndarray]) -> np.ndarray:
    """A soft mask of the person (head, torso, arms from the pose; else from the face box) and the card."""
    H, W = b.image.shape[:2]
    m = np.zeros((H, W), np.uint8)
    face = b.det.face
    if face is not None:
        x, y, fw, fh = face
        cv2.ellipse(m, (int(x + fw / 2), int(y + 0.38 * fh)), (int(0.58 * fw), int(0.85 * fh)), 0, 0, 360, 255, -1)
    pose = b.det.pose
    if pose is not None:
        pts = np.asarray([(p[0], p[1]) for p in pose.points])
        sh_w = float(np.linalg.norm(pts[11] - pts[12]))
        torso = np.array([pts[11], pts[12], pts[24], pts[23]])
        # hips are often below the frame: extend the torso to the bottom
        torso[2:, 1] = np.maximum(torso[2:, 1], H + 10)
        cv2.fillConvexPoly(m, np.round(cv2.convexHull(torso.astype(np.float32))).astype(np.int32), 255)
        for chain in ((11, 13, 15), (12, 14, 16)):
            cv2.polylines(m, [np.round(pts[list(chain)]).astype(np.int32)], False, 255, max(3, int(0.35 * sh_w)))
        neck = np.array([pts[11], pts[12]]).mean(0)
        if face is not None:
            cv2.line(m, (int(neck[0]), int(neck[1])), (int(face[0] + face[2] / 2), int(face[1] + face[3] / 2)), 255,
                     max(3, int(0.6 * face[2])))
    elif face is not None:
        x, y, fw, fh = face
        cv2.rectangle(m, (int(x - 0.9 * fw), int(y + 1.1 * fh)), (int(x + 1.9 * fw), H), 255, -1)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 255)
    m = _grabcut_refine(b.image, m)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 255)
    if face is not None:  # GrabCut may give a face to a similar-coloured background: never
        x, y, fw, fh = face
        cv2.ellipse(m, (int(x + fw / 2), int(y + 0.45 * fh)), (int(0.5 * fw), int(0.62 * fh)), 0, 0, 360, 255, -1)
    k = max(2, int(0.006 * max(W, H)))
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), k)


def _subject_mask(b: _Base, quad: Optional[np.ndarray]) -> np.ndarray:
    """Face box + card quad: what the exposure of a hand-held ID photo is about."""
    H, W = b.image.shape[:2]
    m = np.zeros((H, W), np.uint8)
    if b.det.face is not None:
        x, y, fw, fh = b.det.face
        cv2.rectangle(m, (int(max(0, x)), int(max(0, y))), (int(min(W - 1, x + fw)), int(min(H - 1, y + fh))), 1, -1)
    if quad is not None:
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 1)
    if not m.any():
        m[:] = 1
    return m.astype(bool)


def _grabcut_refine(img: np.ndarray, rough: np.ndarray) -> np.ndarray:
    """Snap the rough person mask (from the pose / face box) to the photo's own edges with
    GrabCut at half resolution: its eroded core is sure foreground, far outside is background."""
    H, W = rough.shape
    s = 320.0 / max(W, H)  # GrabCut is slow: a 320 px image is enough for a soft silhouette
    small = cv2.resize(img, (int(W * s), int(H * s)), interpolation=cv2.INTER_AREA)
    r = cv2.resize(rough, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    k = max(3, int(0.05 * max(small.shape[:2])))
    sure_fg = cv2.erode(r, np.ones((k, k), np.uint8))
    maybe = cv2.dilate(r, np.ones((2 * k, 2 * k), np.uint8))
    gc = np.full(r.shape, cv2.GC_BGD, np.uint8)
    gc[maybe > 0] = cv2.GC_PR_BGD
    gc[r > 0] = cv2.GC_PR_FGD
    gc[sure_fg > 0] = cv2.GC_FGD
    if not (gc == cv2.GC_FGD).any() or not (gc == cv2.GC_BGD).any():
        return rough
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(20240917)  # GrabCut's k-means draws from OpenCV's global generator: scenes must repeat
    try:
        cv2.grabCut(small, gc, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return rough
    fg = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    return cv2.resize(fg, (W, H), interpolation=cv2.INTER_LINEAR)


@dataclass
class _Render:
    """Everything random about a scene, fixed up front so scenario frames can re-render it."""

    pose: Pose3D
    gain: float
    tint: np.ndarray
    card_blur: float
    seed: int  # texture / noise randomness


def _render(b: _Base, card: np.ndarray, r: _Render, defect: Optional[str], rng: np.random.Generator,
            dparams: dict) -> tuple[np.ndarray, np.ndarray]:
    """Compose one frame. Returns (BGR uint8, quad in the card's own corner order)."""
    H, W = b.image.shape[:2]
    base = b.image.astype(np.float32)
    out = base.copy()
    quad = project_card(r.pose, W, H)
    trng = np.random.default_rng(r.seed)
    tex, alpha = _card_texture(card, r.pose.width, trng, r.gain, r.tint, glare=(defect == "glare"))
    warped = _warp(tex, alpha, quad, W, H)
    noise_sigma = _noise_sigma(b.image)
    if warped is not None:
        lay, al, (x0, y0) = warped
        blur = r.card_blur
        if defect == "card_blur":
            if dparams.get("motion"):
                k = motion_kernel(int(dparams["length"]), float(dparams["angle"]))
                lay = cv2.filter2D(lay, -1, k)
                al = cv2.filter2D(al, -1, k)
            else:
                s = float(dparams["sigma"])
                lay = cv2.GaussianBlur(lay, (0, 0), s)
                al = cv2.GaussianBlur(al, (0, 0), s)
        elif blur > 0:
            lay = cv2.GaussianBlur(lay, (0, 0), blur)
        lay = lay + rng.normal(0, noise_sigma, lay.shape[:2])[:, :, None].astype(np.float32)
        hh, ww = lay.shape[:2]
        roi = out[y0:y0 + hh, x0:x0 + ww]
        out[y0:y0 + hh, x0:x0 + ww] = roi * (1 - al[:, :, None]) + lay * al[:, :, None]

    # The person's fingers back over the card's border band (never over its text).
    if defect != "card_over_face":
        inner = _shrink(quad, BORDER_BAND / ID1_ASPECT, BORDER_BAND)
        allowed = np.ones((H, W), np.float32)
        im = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(im, np.round(inner).astype(np.int32), 255)
        allowed -= cv2.GaussianBlur(im.astype(np.float32) / 255.0, (0, 0), 1.0)
        for hd in b.det.hands:
            hm = b.hand_mask(hd)
            if dparams.get("hand_in_front") is hd:
                m = hm  # the whole hand lies in front of the card, fingers over its text
            else:
                m = hm * allowed
            out = out * (1 - m[:, :, None]) + base * m[:, :, None]

    if defect == "finger_on_text" and dparams.get("pasted_hand") is not None:
        out = _paste_hand(out, quad, dparams["pasted_hand"], b, rng)
    elif defect == "finger_on_text" and dparams.get("hand_in_front") is None:
        out = _thumb(out, quad, b, rng)

    if defect == "face_blur" and b.det.face is not None:
        x, y, fw, fh = b.det.face
        m = np.zeros((H, W), np.float32)
        cv2.ellipse(m, (int(x + fw / 2), int(y + fh * 0.45)), (int(0.8 * fw), int(1.0 * fh)), 0, 0, 360, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), 0.08 * fw)
        if dparams.get("motion"):
            blurred = motion_blur(out, int(dparams["length"]), float(dparams["angle"]))
        else:
            blurred = cv2.GaussianBlur(out, (0, 0), float(dparams["sigma_rel"]) * fw)
        out = out * (1 - m[:, :, None]) + blurred * m[:, :, None]

    if defect in ("backlight", "dark", "overexposed"):
        subj = _subject_mask(b, quad)
        luma = lambda img: float(_luma(np.clip(img, 0, 255).astype(np.uint8))[subj].mean())  # noqa: E731
        before = max(1.0, luma(out))
    if defect == "backlight":
        pm = _person_mask(b, quad)[:, :, None]
        bright = 255.0 - (255.0 - out) * float(dparams["bg"])  # background pushed toward white
        bgm = pm[:, :, 0] < 0.05
        bg_l = float(_luma(np.clip(bright, 0, 255).astype(np.uint8))[bgm].mean()) if bgm.any() else 230.0
        # the camera exposes for the bright background: the person ends up at `ratio` of its luma
        fg = float(np.clip(dparams["ratio"] * bg_l / before, 0.08, 0.6))
        out = bright * (1 - pm) + out * fg * pm
        out = out + rng.normal(0, noise_sigma * 1.5, out.shape[:2])[:, :, None]
    elif defect == "dark":
        g = float(dparams["gamma"])
        shaped = 255.0 * (np.clip(out, 0, 255) / 255.0) ** g
        out = shaped * (float(dparams["target"]) / max(1.0, luma(shaped)))  # subject ends at the target luma
        out = out + rng.normal(0, dparams["noise"], out.shape[:2])[:, :, None]  # low light: sensor noise
    elif defect == "overexposed":
        off, target = float(dparams["offset"]), float(dparams["target"])
        gain = max(1.3, (target - off) / before)
        sub = np.clip(out[subj], 0, 255)
        for _ in range(30):  # clipping at 255 holds the mean back: raise the gain until it gets there
            y = np.clip(sub * gain + off, 0, 255) @ np.array([0.114, 0.587, 0.299])
            if y.mean() >= target or gain > 8:
                break
            gain *= 1.1
        out = np.clip(out, 0, 255) * gain + off

    return np.clip(out + 0.5, 0, 255).astype(np.uint8), quad


def _defect_params(defect: Optional[str], b: _Base, rng: np.random.Generator, r: _Render) -> dict:
    d: dict = {}
    if defect == "card_blur":
        if rng.random() < 0.5:
            d.update(motion=True, length=int(max(9, r.pose.width * rng.uniform(0.035, 0.06))), angle=rng.uniform(0, 180))
        else:
            d.update(sigma=float(r.pose.width * rng.uniform(0.008, 0.014)))
    elif defect == "face_blur":
        fw = b.det.face[2] if b.det.face is not None else 100
        if rng.random() < 0.5:
            d.update(motion=True, length=int(max(9, fw * rng.uniform(0.12, 0.2))), angle=rng.uniform(0, 180))
        else:
            d.update(sigma_rel=float(rng.uniform(0.035, 0.06)))
    # Light defects are defined on the subject (face + card), where a person judges them:
    # night-dark = mean luma 12-30, washed out = 230-245, backlit = face+card at 20-35 % of the
    # background's luma.
    elif defect == "dark":
        d.update(target=float(rng.uniform(12, 30)), gamma=float(rng.uniform(1.2, 1.5)), noise=float(rng.uniform(2, 4)))
    elif defect == "overexposed":
        d.update(target=float(rng.uniform(230, 245)), offset=float(rng.uniform(30, 60)))
    elif defect == "backlight":
        d.update(bg=float(rng.uniform(0.1, 0.3)), ratio=float(rng.uniform(0.2, 0.35)))
    return d
