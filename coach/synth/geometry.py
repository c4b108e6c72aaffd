"""Card geometry: ID-1 constants, quads (order, area, IoU, cover), a pinhole projection of a tilted card."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from coach.vision import geometry as _g


ID1_ASPECT = 85.6 / 54.0


CORNER_RADIUS = 3.18 / 85.6  # ISO/IEC 7810 corner radius as a fraction of the card width


BORDER_BAND = 0.08  # fingers may cover this fraction of the card's short side along its edges


def order_quad(pts: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Clockwise (image coordinates, y down) starting at the top-left corner, as the detector orders them."""
    return [(float(x), float(y)) for x, y in _g.order_quad(pts)]


def polygon_area(pts: Sequence[Sequence[float]]) -> float:
    return _g.quad_area(pts) if len(pts) == 4 else float(cv2.contourArea(np.asarray(pts, np.float32)))


quad_iou = _g.quad_iou  # one Jaccard index for the eval, the detector's tests and the auto-capture


def _box_quad(box: Sequence[float]) -> list[tuple[float, float]]:
    x, y, w, h = box
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def _frame_quad(w: int, h: int) -> list[tuple[float, float]]:
    return [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]


def _cover(box: Sequence[float], quad: Sequence[Sequence[float]]) -> float:
    """Fraction of the box covered by the quad."""
    bq = np.asarray(_box_quad(box), np.float32)
    inter, _ = cv2.intersectConvexConvex(bq, np.asarray(order_quad(quad), np.float32))
    return float(inter / max(1e-6, box[2] * box[3]))


def _visible_area(quad: Sequence[Sequence[float]], w: int, h: int) -> float:
    inter, _ = cv2.intersectConvexConvex(np.asarray(_frame_quad(w, h), np.float32),
                                         np.asarray(order_quad(quad), np.float32))
    return float(inter)


def _shrink(quad: Sequence[Sequence[float]], frac_w: float, frac_h: float) -> np.ndarray:
    """The quad's inner rectangle (in card coordinates) shrunk by frac of its width / height."""
    q = np.asarray(quad, np.float32)
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    hm = cv2.getPerspectiveTransform(src, q)
    inner = np.array([[frac_w, frac_h], [1 - frac_w, frac_h], [1 - frac_w, 1 - frac_h], [frac_w, 1 - frac_h]],
                     np.float32)
    return cv2.perspectiveTransform(inner[None], hm)[0]


def _rot(roll: float, yaw: float, pitch: float) -> np.ndarray:
    cr, sr = math.cos(roll), math.sin(roll)
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rz @ ry @ rx


@dataclass
class Pose3D:
    """Where the card is: centre (px), apparent width (px, at zero tilt), rotations (deg), focal (px)."""

    cx: float
    cy: float
    width: float
    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    focal: float = 1200.0

    @property
    def tilt(self) -> float:
        """Angle between the card plane and the sensor plane."""
        n = _rot(math.radians(self.roll), math.radians(self.yaw), math.radians(self.pitch)) @ np.array([0, 0, 1.0])
        return math.degrees(math.acos(min(1.0, abs(float(n[2])))))


def project_card(p: Pose3D, w: int, h: int) -> np.ndarray:
    """The card's 4 corners (card order: its own top-left, top-right, bottom-right, bottom-left)
    through a pinhole camera with the principal point at the image centre."""
    hw, hh = 0.5, 0.5 / ID1_ASPECT
    pts = np.array([[-hw, -hh, 0], [hw, -hh, 0], [hw, hh, 0], [-hw, hh, 0]], np.float64)
    r = _rot(math.radians(p.roll), math.radians(p.yaw), math.radians(p.pitch))
    z = p.focal / p.width  # a card of width 1 at depth z spans p.width px when facing the camera
    c = np.array([(p.cx - w / 2) * z / p.focal, (p.cy - h / 2) * z / p.focal, z])
    q = (r @ pts.T).T + c
    uv = p.focal * q[:, :2] / q[:, 2:3] + np.array([w / 2, h / 2])
    return uv


def _fits(quad: np.ndarray, w: int, h: int, margin: float) -> bool:
    return bool((quad[:, 0] >= margin).all() and (quad[:, 0] <= w - margin).all()
                and (quad[:, 1] >= margin).all() and (quad[:, 1] <= h - margin).all())


def _clear_of_face(quad: np.ndarray, face) -> bool:
    if face is None:
        return True
    x, y, w, h = face
    grown = (x - 0.1 * w, y - 0.15 * h, 1.2 * w, 1.35 * h)  # chin below the detector's box
    return _cover(grown, quad) == 0.0
