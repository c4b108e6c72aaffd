"""Where the card goes: held at the hands or the chest with a small tilt, or placed for a defect."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

import cv2
import numpy as np

from coach.types import Hand
from coach.synth.bases import _Base
from coach.synth.geometry import BORDER_BAND, ID1_ASPECT, Pose3D, _clear_of_face, _fits, _shrink, _visible_area, polygon_area, project_card
from coach.synth.hands import HandCutout, PastedHand, _palm_centre, _palm_len, place_thumb
from coach.synth.render import _Render


def _sample_good_pose(b: _Base, rng: np.random.Generator, area_range=(0.07, 0.2), max_tilt=12.0) -> Pose3D:
    """A card held at the hands (or the chest), facing the camera within a few degrees."""
    H, W = b.image.shape[:2]
    focal = float(rng.uniform(0.8, 1.1) * max(W, H))
    face = b.det.face
    fb = (face[1] + face[3]) if face is not None else 0.3 * H
    fcx = (face[0] + face[2] / 2) if face is not None else W / 2
    hands = [hd for hd in b.det.hands if _palm_centre(hd)[1] > fb]
    for attempt in range(40):
        tilt = rng.uniform(0, max_tilt)
        phi = rng.uniform(0, 2 * math.pi)
        yaw, pitch = tilt * math.cos(phi), tilt * math.sin(phi)
        roll = float(rng.normal(0, 4))
        area = rng.uniform(*area_range)
        width = math.sqrt(area * W * H * ID1_ASPECT)
        if len(hands) >= 2 and attempt < 20:
            a, c = sorted((np.asarray(hd.points)[[5, 9, 13, 17]].mean(0) for hd in hands[:2]), key=lambda p: p[0])
            span = float(np.linalg.norm(c - a))
            wid = span * rng.uniform(0.95, 1.12)
            if 0.04 * W * H <= wid * wid / ID1_ASPECT <= 0.3 * W * H:
                # the knuckles at the card's short edges: held by its two ends
                width = wid
                roll = float(np.clip(math.degrees(math.atan2(c[1] - a[1], c[0] - a[0])), -10, 10))
                cx, cy = (a + c) / 2 + rng.normal(0, 0.02 * width, 2)
            else:
                # hands close together: the card stands on them, fingertips over its bottom border
                tips = np.concatenate([np.asarray(hd.points)[[4, 8, 12, 16, 20]] for hd in hands[:2]])
                width = max(width, 1.15 * float(tips[:, 0].max() - tips[:, 0].min()))
                hgt = width / ID1_ASPECT
                cx = float(tips[:, 0].mean() + rng.normal(0, 0.03 * width))
                cy = float(np.median(tips[:, 1]) + 0.5 * BORDER_BAND * hgt - hgt / 2)
        else:
            cx = fcx + rng.normal(0, 0.05 * W)
            hgt = width / ID1_ASPECT
            cy = fb + 0.25 * (face[3] if face is not None else 0.1 * H) + hgt / 2 + abs(rng.normal(0, 0.05 * H))
        p = Pose3D(float(cx), float(cy), float(width), roll, float(yaw), float(pitch), focal)
        q = project_card(p, W, H)
        if _fits(q, W, H, 0.03 * min(W, H)) and _clear_of_face(q, face):
            return p
        if attempt >= 20:
            area_range = (area_range[0], max(area_range[0] * 1.01, area_range[1] * 0.9))
    # Last resort: a small card low in the frame, centred.
    width = math.sqrt(area_range[0] * W * H * ID1_ASPECT)
    return Pose3D(W / 2, H - 0.05 * H - width / ID1_ASPECT / 2, width, 0, 0, 0, focal)


def _sample_defect_pose(b: _Base, rng: np.random.Generator, defect: str, good: Pose3D) -> Pose3D:
    H, W = b.image.shape[:2]
    face = b.det.face
    if defect == "too_big":
        portrait = H > W
        for _ in range(60):
            area = rng.uniform(0.56, 0.72)
            roll = 90.0 + rng.normal(0, 2) if portrait else rng.normal(0, 2)
            width = math.sqrt(area * W * H * ID1_ASPECT)
            hgt = width / ID1_ASPECT
            extent_y = width if portrait else hgt
            cx = W / 2 + rng.normal(0, 0.02 * W)
            cy = H - extent_y / 2 - rng.uniform(0.01, 0.04) * H
            p = replace(good, cx=float(cx), cy=float(cy), width=float(width), roll=float(roll),
                        yaw=float(rng.uniform(-5, 5)), pitch=float(rng.uniform(-5, 5)))
            q = project_card(p, W, H)
            if _fits(q, W, H, 2.0) and polygon_area(q) > 0.52 * W * H:
                return p
        return p
    if defect == "too_small":
        area = rng.uniform(0.006, 0.016)
        small = replace(good, width=float(math.sqrt(area * W * H * ID1_ASPECT)))
        return _held_small(b, small, rng) or small
    if defect == "cut_off":
        for _ in range(60):
            p = replace(good)
            side = rng.choice(["left", "right", "bottom"])
            q = project_card(p, W, H)
            frac = rng.uniform(0.12, 0.35)
            span_x = q[:, 0].max() - q[:, 0].min()
            span_y = q[:, 1].max() - q[:, 1].min()
            if side == "left":
                p.cx += -q[:, 0].min() - frac * span_x
            elif side == "right":
                p.cx += (W - q[:, 0].max()) + frac * span_x
            else:
                p.cy += (H - q[:, 1].max()) + frac * span_y
            q = project_card(p, W, H)
            out = int(((q[:, 0] < 0) | (q[:, 0] > W) | (q[:, 1] < 0) | (q[:, 1] > H)).sum())
            if 1 <= out <= 2 and _clear_of_face(q, face) and _visible_area(q, W, H) > 0.4 * polygon_area(q):
                return p
        return p
    if defect == "card_over_face" and face is not None:
        x, y, fw, fh = face
        width = max(1.5 * fw, 1.3 * fh * ID1_ASPECT) * rng.uniform(1.05, 1.3)
        return replace(good, cx=float(x + fw / 2 + rng.normal(0, 0.05 * fw)),
                       cy=float(y + 0.55 * fh + rng.normal(0, 0.05 * fh)), width=float(width))
    if defect == "tilted":
        for _ in range(40):
            tilt = rng.uniform(48, 62)
            phi = rng.choice([0.0, math.pi, math.pi / 2, 3 * math.pi / 2]) + rng.normal(0, 0.2)
            p = replace(good, yaw=float(tilt * math.cos(phi)), pitch=float(tilt * math.sin(phi)))
            q = project_card(p, W, H)
            if _fits(q, W, H, 0.02 * min(W, H)) and _clear_of_face(q, face) and p.tilt > 45:
                return p
        return p
    return good


def _held_small(b: _Base, p: Pose3D, rng: np.random.Generator) -> Optional[Pose3D]:
    """A small card is still held: shrunk where the good card was, it would float between hands
    that held a card twice its size. It stands on the fingertips of the seen hand (below the face)
    nearest to where it was, as the good pose's card stands on hands held close together; None
    when no hand is seen or the card would then leave the frame or cover the face."""
    H, W = b.image.shape[:2]
    face = b.det.face
    fb = (face[1] + face[3]) if face is not None else 0.3 * H
    hands = [hd for hd in b.det.hands if _palm_centre(hd)[1] > fb]
    if not hands:
        return None
    hd = min(hands, key=lambda h: float(np.hypot(*(_palm_centre(h) - (p.cx, p.cy)))))
    tips = np.asarray(hd.points)[[4, 8, 12, 16, 20]]
    hgt = p.width / ID1_ASPECT
    held = replace(p, cx=float(tips[:, 0].mean() + rng.normal(0, 0.03 * p.width)),
                   cy=float(np.median(tips[:, 1]) + 0.5 * BORDER_BAND * hgt - hgt / 2))
    q = project_card(held, W, H)
    return held if _fits(q, W, H, 0.03 * min(W, H)) and _clear_of_face(q, face) else None


def _hand_over_text(b: _Base, r: _Render, rng: np.random.Generator) -> Optional[Hand]:
    """Move the card so one of the person's own hands lies in front of it with its fingertips over
    the text area; None when no hand allows it without covering the face or leaving the frame."""
    H, W = b.image.shape[:2]
    for hd in sorted(b.det.hands, key=lambda h: -_palm_len(h)):
        p = np.asarray(hd.points)
        tips = p[[8, 12]].mean(0)
        d = tips - p[0]
        d /= np.linalg.norm(d) + 1e-9
        for _ in range(10):
            off = rng.uniform(0.12, 0.25) * r.pose.width
            c = tips + d * off
            trial = replace(r.pose, cx=float(c[0]), cy=float(c[1]))
            q = project_card(trial, W, H)
            inner = _shrink(q, 0.15, 0.15)
            inside = sum(cv2.pointPolygonTest(inner.astype(np.float32), (float(x), float(y)), False) > 0
                         for x, y in p[[8, 12, 16]])
            if inside >= 2 and _fits(q, W, H, 0.03 * min(W, H)) and _clear_of_face(q, b.det.face):
                r.pose = trial
                return hd
    return None


# Fingertips over the card's text are judged against the detector's quad, shrunk by 12 % per side
# (coach.vision.measures.TEXT_BORDER); the pasted thumb tip goes a margin deeper than that.
_TIP_INNER = 0.17


def _pasted_hand_over_text(b: _Base, quad: np.ndarray, sources: list[HandCutout],
                           rng: np.random.Generator) -> Optional[PastedHand]:
    """A real hand (cut-out) holding the card by its left, right or bottom edge, its thumb over the
    text area, palm and wrist outside the card, the forearm pointing away from the card and not
    upwards, every landmark inside the frame and nothing near the face. None if no try fits."""
    if not sources:
        return None
    H, W = b.image.shape[:2]
    q = np.asarray(quad, np.float64)  # card order: TL, TR, BR, BL of the card itself
    qf = q.astype(np.float32)
    card_w = float(np.linalg.norm(q[1] - q[0]))
    inner = _shrink(q, _TIP_INNER, _TIP_INNER).astype(np.float32)
    centre = q.mean(0)
    margin = 0.02 * min(W, H)
    # edges in card order: 1 right (q1 -> q2), 2 bottom (q2 -> q3), 3 left (q3 -> q0); a hand
    # coming from above the card is rare when showing an ID
    edges, weights = (1, 2, 3), np.array([1.0, 1.0, 1.0]) / 3
    for attempt in range(100):
        src = sources[int(rng.integers(len(sources)))]
        edge = int(rng.choice(edges, p=weights))
        a, c = q[edge], q[(edge + 1) % 4]
        t = rng.uniform(0.3, 0.7)
        on_edge = a + t * (c - a)
        inward = centre - on_edge
        inward /= np.linalg.norm(inward) + 1e-9
        # a palm (wrist to middle knuckle) about 2/3 of the card's width: the thumb then reaches about
        # 40 % across it, as in photos of people holding an ID
        scale = card_w * rng.uniform(0.6, 0.75) / src.palm_len
        if scale > 3.2:
            continue
        depth = rng.uniform(0.22, 0.32) * float(np.linalg.norm(q[edge] - q[(edge + 3) % 4]))
        tip = on_edge + inward * depth
        jitter = rng.uniform(-25, 25)
        first = bool(rng.random() < 0.5)
        for mirror in (first, not first):  # a left or a right hand: one of them has its arm below
            ph = _fits_holding(b, place_thumb(src, tip, inward, scale, jitter, mirror), qf, inner, inward, margin,
                               whole=attempt < 60)
            if ph is not None:
                return ph
    return None


def _fits_holding(b: _Base, ph: PastedHand, qf: np.ndarray, inner: np.ndarray, inward: np.ndarray,
                  margin: float, whole: bool = True) -> Optional[PastedHand]:
    H, W = b.image.shape[:2]
    face = b.det.face
    p = ph.points
    if cv2.pointPolygonTest(inner, (float(p[4][0]), float(p[4][1])), False) <= 0:
        return None
    # palm and wrist outside the card: it is held from its edge, not from the front
    palm = p[[0, 5, 9, 13, 17]].mean(0)
    if any(cv2.pointPolygonTest(qf, (float(x), float(y)), False) >= 0 for x, y in (p[0], palm)):
        return None
    arm = p[0] - p[9]
    arm /= np.linalg.norm(arm) + 1e-9
    if arm[1] < -0.15 or float(np.dot(arm, -inward)) < 0.2:
        return None  # a forearm pointing up, or back over the card
    # the whole hand in the frame if possible (with its wrist outside, the landmarker found the
    # pasted hand with its thumb on the text in 5 of 25 scenes, with it inside in 14 of 27); else
    # the thumb, knuckles and palm, the wrist leaving the frame like an arm reaching in from outside
    inside = (p[:, 0] >= margin) & (p[:, 0] <= W - margin) & (p[:, 1] >= margin) & (p[:, 1] <= H - margin)
    if not inside.all() if whole else (not inside[[2, 3, 4, 5, 9, 13, 17]].all() or inside.sum() < 17):
        return None
    if face is not None:  # nothing of the hand or its forearm near the face
        x, y, fw, fh = face
        pl = float(np.linalg.norm(p[9] - p[0]))
        grown = (x - 0.15 * fw - 0.3 * pl, y - 0.15 * fh - 0.3 * pl, 1.3 * fw + 0.6 * pl, 1.4 * fh + 0.6 * pl)
        hull = cv2.convexHull(np.vstack([p, p[0] + arm * pl]).astype(np.float32))
        box = np.array([[grown[0], grown[1]], [grown[0] + grown[2], grown[1]],
                        [grown[0] + grown[2], grown[1] + grown[3]], [grown[0], grown[1] + grown[3]]], np.float32)
        inter, _ = cv2.intersectConvexConvex(hull, box)
        if inter > 0:
            return None
    return ph
