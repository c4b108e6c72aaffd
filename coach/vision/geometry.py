"""Small pure helpers for card quadrilaterals (image pixels, x right, y down).

A quad is 4 corners clockwise on screen (y down) starting at the top-left corner, where
"top-left" is the corner with the smallest x + y. Every function accepts any (4, 2) array-like.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import cv2
import numpy as np

_IDX = np.arange(4)
_NEXT = np.array([1, 2, 3, 0])
ID1_ASPECT = 85.60 / 53.98  # 1.586, ISO/IEC 7810 ID-1
PASSPORT_ASPECT = 125.0 / 88.0  # 1.420, ID-3 passport data page


def as_quad(quad: Iterable[Sequence[float]]) -> np.ndarray:
    q = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    if q.shape != (4, 2):
        raise ValueError(f"a quad has 4 corners, got {q.shape[0]}")
    return q


def order_quad(quad: Iterable[Sequence[float]]) -> np.ndarray:
    """Corners clockwise on screen (y down), starting at the corner with the smallest x + y."""
    q = as_quad(quad)
    c = q.mean(axis=0)
    # atan2 with y down: increasing angle runs clockwise on screen.
    ang = np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0])
    q = q[np.argsort(ang)]
    start = int(np.argmin(q[:, 0] + q[:, 1]))
    return q[(_IDX + start) % 4]


def quad_area(quad: Iterable[Sequence[float]]) -> float:
    q = as_quad(quad)
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, y[_NEXT]) - np.dot(y, x[_NEXT])) / 2.0)


def is_convex(quad: Iterable[Sequence[float]]) -> bool:
    q = as_quad(quad)
    d1 = q[_NEXT] - q
    d2 = d1[_NEXT]
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def quad_iou(a: Iterable[Sequence[float]], b: Iterable[Sequence[float]]) -> float:
    """Jaccard index of two convex quads (0 when either is degenerate)."""
    qa = order_quad(a).astype(np.float32)
    qb = order_quad(b).astype(np.float32)
    aa, ab = quad_area(qa), quad_area(qb)
    if aa <= 0 or ab <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(qa, qb)
    inter = max(float(inter), 0.0)
    return inter / (aa + ab - inter)


def side_lengths(quad: Iterable[Sequence[float]]) -> np.ndarray:
    q = as_quad(quad)
    return np.linalg.norm(q[_NEXT] - q, axis=1)


def points_in_quad(points: np.ndarray, quad: Iterable[Sequence[float]]) -> np.ndarray:
    """Boolean mask: which (N, 2) points lie inside the convex quad (edges count as inside)."""
    q = order_quad(quad)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    inside = np.ones(len(p), dtype=bool)
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        cross = (b[0] - a[0]) * (p[:, 1] - a[1]) - (b[1] - a[1]) * (p[:, 0] - a[0])
        inside &= cross >= 0  # clockwise on screen (y down) -> interior on the right = cross >= 0
    return inside


def shrink_quad(quad: Iterable[Sequence[float]], frac: float) -> np.ndarray:
    """The quad's inner region: each side moved inwards by `frac` of the card's width/height,
    measured in the card's own (rectified) coordinates so perspective is respected."""
    q = order_quad(quad)
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    h = cv2.getPerspectiveTransform(src, q.astype(np.float32))
    inner = np.array([[frac, frac], [1 - frac, frac], [1 - frac, 1 - frac], [frac, 1 - frac]], np.float32)
    return cv2.perspectiveTransform(inner[None], h)[0].astype(np.float64)


def default_focal(width: int, height: int) -> float:
    """Focal length guess in pixels for phone and webcam frames (about 60-65 deg horizontal FOV)."""
    return 0.9 * float(max(width, height))


def plane_pose(quad: Iterable[Sequence[float]], width: int, height: int,
               focal: float | None = None) -> tuple[float, float]:
    """(aspect, tilt_deg) of the rectangle seen as `quad` through a pinhole camera with the
    principal point at the image centre and focal length `focal` (default: default_focal).

    aspect: the rectangle's true side ratio (first side / second side, i.e. quad[0]->quad[1]
    over quad[1]->quad[2]), undoing perspective. tilt_deg: angle between the rectangle's plane
    and the sensor plane. Falls back to the side-length ratio and 0 deg when the homography is
    degenerate (nearly affine quads give the same answer either way)."""
    q = order_quad(quad)
    f = focal if focal is not None else default_focal(width, height)
    cx, cy = width / 2.0, height / 2.0
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
    hmat = cv2.getPerspectiveTransform(src.astype(np.float32), q.astype(np.float32)).astype(np.float64)
    kinv = np.array([[1 / f, 0, -cx / f], [0, 1 / f, -cy / f], [0, 0, 1]])
    m = kinv @ hmat  # columns: s_w*r1, s_h*r2, t (up to one common scale)
    n1, n2 = np.linalg.norm(m[:, 0]), np.linalg.norm(m[:, 1])
    sides = side_lengths(q)
    fallback = (float((sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-9)), 0.0)
    if n1 < 1e-12 or n2 < 1e-12 or not np.all(np.isfinite(m)):
        return fallback
    r1, r2 = m[:, 0] / n1, m[:, 1] / n2
    normal = np.cross(r1, r2)
    nn = np.linalg.norm(normal)
    if nn < 1e-9:
        return fallback
    tilt = math.degrees(math.acos(min(1.0, abs(normal[2]) / nn)))
    return float(n1 / n2), float(tilt)


def rect_aspect(quad: Iterable[Sequence[float]], width: int, height: int,
                focal: float | None = None) -> float:
    """Long side / short side of the rectangle behind `quad` (>= 1)."""
    a, _ = plane_pose(quad, width, height, focal)
    if a <= 0:
        return 0.0
    return a if a >= 1 else 1.0 / a


def line_through(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Homogeneous line through two points."""
    return np.cross([p[0], p[1], 1.0], [q[0], q[1], 1.0])


def intersect(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    x = np.cross(l1, l2)
    if abs(x[2]) < 1e-9:
        return None
    return x[:2] / x[2]


def all_inside(quad: Iterable[Sequence[float]], width: int, height: int, margin: float = 0.0) -> bool:
    q = as_quad(quad)
    return bool(np.all(q[:, 0] >= -margin) and np.all(q[:, 1] >= -margin)
                and np.all(q[:, 0] <= width - 1 + margin) and np.all(q[:, 1] <= height - 1 + margin))
