"""Specimen card images: cropped to the card itself, resampled to the ID-1 aspect, rounded-corner alpha."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from coach.synth.geometry import ID1_ASPECT


# Specimen images with a margin around the card: (left, top, right, bottom) px to cut, measured by
# eye on the shared files (dark sleeve of spec_id_07, white margin + shadow of spec_id_06, dark
# scan border of spec_id_05). Other files are already cropped to the card edge.
CARD_MARGINS: dict[str, tuple[int, int, int, int]] = {
    "spec_id_05": (1, 4, 8, 4),
    "spec_id_06": (1, 2, 25, 27),
    "spec_id_07": (39, 0, 38, 1),
}


def load_card(path: Path) -> np.ndarray:
    """A specimen image cropped to the card and resampled to the ID-1 aspect ratio."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read card image {path}")
    return prepare_card(img, CARD_MARGINS.get(Path(path).stem))


def prepare_card(img: np.ndarray, margins: Optional[tuple[int, int, int, int]] = None) -> np.ndarray:
    if margins:
        l, t, r, b = margins
        img = img[t:img.shape[0] - b, l:img.shape[1] - r]
    h, w = img.shape[:2]
    # Specimen scans are sometimes stretched (spec_id_09 is 1.87:1); real cards are ID-1.
    return cv2.resize(img, (w, int(round(w / ID1_ASPECT))), interpolation=cv2.INTER_AREA)


def _rounded_alpha(w: int, h: int, radius: float) -> np.ndarray:
    """Anti-aliased alpha of a rounded rectangle (4x supersampled)."""
    s = 4
    m = np.zeros((h * s, w * s), np.uint8)
    r = max(1, int(round(radius * s)))
    cv2.rectangle(m, (r, 0), (w * s - 1 - r, h * s - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w * s - 1, h * s - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w * s - 1 - r, r), (r, h * s - 1 - r), (w * s - 1 - r, h * s - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1)
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def card_paths(frames_dir: Path) -> list[Path]:
    return sorted(Path(frames_dir).glob("spec_id_*.jpg"))
