"""In-memory synthetic scenes for the card detector and measures tests: a flat specimen card
(../shared/frames/spec_id_*.jpg) warped with a known homography into a photo of a person
(../shared/frames/people/*.jpg), optionally with thumbs over its edges, blur, glare, darkness.
Nothing is written to disk; nothing here is committed with images."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# spec images cropped to the card edge (no margin around the card)
TIGHT_SPECS = ("spec_id_01.jpg", "spec_id_02.jpg", "spec_id_03.jpg", "spec_id_04.jpg",
               "spec_id_08.jpg", "spec_id_09.jpg")
ID1 = 85.6 / 53.98


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8
    quad: np.ndarray  # (4, 2) true corners, clockwise from top-left (smallest x+y)
    card_mask: np.ndarray  # uint8 255 inside the card
    fingertips: list  # (x, y) of drawn thumbs


def load(path: Path) -> np.ndarray:
    im = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if im is None:
        raise FileNotFoundError(path)
    return im


def fit_background(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize + centre-crop to (w, h) (upscales small photos, like a webcam frame shown large)."""
    w, h = size
    s = max(w / img.shape[1], h / img.shape[0])
    r = cv2.resize(img, (math.ceil(img.shape[1] * s), math.ceil(img.shape[0] * s)),
                   interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y0 = (r.shape[0] - h) // 2
    x0 = (r.shape[1] - w) // 2
    return r[y0:y0 + h, x0:x0 + w].copy()


def card_texture(spec: np.ndarray, portrait: bool = False) -> np.ndarray:
    """The specimen resized to the exact ID-1 aspect with rounded corners painted transparent
    (returns BGRA)."""
    w = 856
    h = int(round(w / ID1))
    card = cv2.resize(spec, (w, h), interpolation=cv2.INTER_AREA)
    alpha = np.full((h, w), 255, np.uint8)
    r = int(0.037 * w)  # 3.18 mm corner radius
    corner = np.zeros((r, r), np.uint8)
    cv2.circle(corner, (r, r), r, 255, -1, lineType=cv2.LINE_AA)
    alpha[:r, :r] = corner
    alpha[:r, w - r:] = corner[:, ::-1]
    alpha[h - r:, :r] = corner[::-1]
    alpha[h - r:, w - r:] = corner[::-1, ::-1]
    bgra = np.dstack([card, alpha])
    if portrait:
        bgra = cv2.rotate(bgra, cv2.ROTATE_90_CLOCKWISE)
    return bgra


def order(q: np.ndarray) -> np.ndarray:
    c = q.mean(0)
    a = np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0])
    q = q[np.argsort(a)]
    return np.roll(q, -int(np.argmin(q[:, 0] + q[:, 1])), 0)


def random_quad(rng: np.random.Generator, size: tuple[int, int], tex_shape: tuple[int, int],
                width_frac: tuple[float, float] = (0.2, 0.42), max_rot: float = 25.0,
                max_tilt: float = 22.0, centre: tuple[float, float] | None = None) -> np.ndarray:
    """Corners of a card rotated in-plane and tilted out of plane, seen by a pinhole camera
    (focal 0.9 x long side), fully inside the frame."""
    W, H = size
    th, tw = tex_shape
    f = 0.9 * max(W, H)
    for _ in range(100):
        wf = rng.uniform(*width_frac)
        long = min(wf * W, 0.8 * H) if th > tw else wf * W  # portrait cards: same long side
        cw, ch = (long, long * th / tw) if tw >= th else (long * tw / th, long)
        rot = math.radians(rng.uniform(-max_rot, max_rot))
        ax, ay = math.radians(rng.uniform(-max_tilt, max_tilt)), math.radians(rng.uniform(-max_tilt, max_tilt))
        pts = np.array([[-cw / 2, -ch / 2, 0], [cw / 2, -ch / 2, 0], [cw / 2, ch / 2, 0], [-cw / 2, ch / 2, 0]])
        Rz = np.array([[math.cos(rot), -math.sin(rot), 0], [math.sin(rot), math.cos(rot), 0], [0, 0, 1]])
        Rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
        Ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
        P = pts @ (Ry @ Rx @ Rz).T
        if centre is None:
            cx = rng.uniform(0.3, 0.7) * W
            cy = rng.uniform(0.45, 0.75) * H
        else:
            cx, cy = centre
        # place the card so its centre is seen at (cx, cy); principal point at the image centre
        P += np.array([(cx - W / 2) / f * f, (cy - H / 2) / f * f, f])
        q = np.stack([f * P[:, 0] / P[:, 2] + W / 2, f * P[:, 1] / P[:, 2] + H / 2], 1)
        if q[:, 0].min() > 4 and q[:, 1].min() > 4 and q[:, 0].max() < W - 5 and q[:, 1].max() < H - 5:
            return q
    raise RuntimeError("no quad fits")


def paste(bg: np.ndarray, tex_bgra: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    th, tw = tex_bgra.shape[:2]
    src = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]])
    M = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    H, W = bg.shape[:2]
    warped = cv2.warpPerspective(tex_bgra, M, (W, H), flags=cv2.INTER_AREA, borderValue=(0, 0, 0, 0))
    a = warped[:, :, 3:4].astype(np.float32) / 255.0
    out = (bg.astype(np.float32) * (1 - a) + warped[:, :, :3].astype(np.float32) * a).round().astype(np.uint8)
    mask = (warped[:, :, 3] > 127).astype(np.uint8) * 255
    return out, mask


def draw_thumb(img: np.ndarray, at: np.ndarray, toward: np.ndarray, length: float, rng: np.random.Generator) -> tuple:
    """A skin-coloured thumb: an ellipse whose tip lies at `at`, the rest outside the card."""
    d = toward / (np.linalg.norm(toward) + 1e-9)
    centre = at + d * length * 0.45
    ang = math.degrees(math.atan2(d[1], d[0]))
    skin = (int(rng.integers(120, 190)), int(rng.integers(150, 200)), int(rng.integers(190, 240)))
    cv2.ellipse(img, (int(centre[0]), int(centre[1])), (int(length * 0.55), int(length * 0.22)), ang, 0, 360,
                skin, -1, lineType=cv2.LINE_AA)
    return float(at[0]), float(at[1])


def make_scene(rng: np.random.Generator, people: list[np.ndarray], specs: list[np.ndarray],
               size: tuple[int, int] = (1280, 720), thumbs: int | None = None, portrait: bool | None = None,
               **quad_kw) -> Scene:
    bg = fit_background(people[int(rng.integers(len(people)))], size)
    spec = specs[int(rng.integers(len(specs)))]
    if portrait is None:
        portrait = bool(rng.random() < 0.2)
    tex = card_texture(spec, portrait)
    quad = order(random_quad(rng, size, tex.shape[:2], **quad_kw))
    img, mask = paste(bg, tex, quad)
    tips = []
    n = int(rng.integers(0, 3)) if thumbs is None else thumbs
    side = float(np.linalg.norm(quad[1] - quad[0]))
    centre = quad.mean(0)
    # thumbs on the border band at the lower corners, pointing inwards a little
    for k in range(n):
        corner = quad[3] if k == 0 else quad[2]
        nxt = quad[2] if k == 0 else quad[3]
        at = corner + (nxt - corner) * rng.uniform(0.06, 0.15) + (centre - corner) * 0.08
        out = corner - centre
        tips.append(draw_thumb(img, at, out + rng.normal(0, 0.2, 2) * np.linalg.norm(out), side * 0.28, rng))
    return Scene(img, quad, mask, tips)
