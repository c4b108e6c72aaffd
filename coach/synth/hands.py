"""The person's own hands from MediaPipe landmarks: a skin-refined mask, and whether a hand holds the card's edge."""

from __future__ import annotations


import cv2
import numpy as np

from coach.types import Hand


_FINGERS = ((0, 1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))


_PALM = (0, 1, 2, 5, 9, 13, 17)


def _palm_len(hand: Hand) -> float:
    p = np.asarray(hand.points)
    return float(np.linalg.norm(p[9] - p[0]))


def _hand_mask(img: np.ndarray, hand: Hand) -> np.ndarray:
    """Soft mask (0..1) of the hand: thick finger bones + palm polygon from the landmarks, kept
    where the colour is close to the hand's own skin (so background between fingers stays out)."""
    h, w = img.shape[:2]
    p = np.round(np.asarray(hand.points)).astype(np.int32)
    pl = max(6.0, _palm_len(hand))
    m = np.zeros((h, w), np.uint8)
    t = max(3, int(round(0.24 * pl)))
    for chain in _FINGERS:
        cv2.polylines(m, [p[list(chain)]], False, 255, t, cv2.LINE_AA)
    cv2.fillPoly(m, [cv2.convexHull(p[list(_PALM)])], 255)
    ycc = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    pts = np.clip(p, [0, 0], [w - 1, h - 1])
    samples = ycc[pts[:, 1], pts[:, 0], 1:]
    ref = np.median(samples, axis=0)
    dist = np.linalg.norm(ycc[:, :, 1:] - ref, axis=2)
    skin = (dist < 14).astype(np.uint8) * 255
    skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    m = cv2.bitwise_and(m, skin)
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 1.2)


def _hand_on_edge(hand: Hand, quad: np.ndarray) -> bool:
    """The hand visibly holds the card by its edge: several landmarks in a band around the card's
    outline, and the hand sticking out beyond the card (not hidden behind its middle)."""
    q = np.asarray(quad, np.float32)
    side = float(np.linalg.norm(q[1] - q[0]))
    band, outside = 0, 0
    for x, y in hand.points:
        d = cv2.pointPolygonTest(q, (float(x), float(y)), True)  # > 0 inside
        if abs(d) <= 0.12 * side:
            band += 1
        if d < 0:
            outside += 1
    return band >= 5 and outside >= 5


def _palm_centre(hand: Hand) -> np.ndarray:
    return np.asarray(hand.points)[[5, 9, 13, 17]].mean(0)
