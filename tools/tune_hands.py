"""Hand-count agreement with the human labels for a grid of hand-landmarker confidences.

    python tools/tune_hands.py [--frames ../shared/frames] [--models ../shared/models]

Counts hands found on every labelled photo (frames/labels.csv and frames/people/labels.csv,
`hands_visible`, capped at 2) and prints, per setting: exact agreement, images with more hands
than labelled (invented), with fewer (missed), and whether hold_id_01 gets both hands.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
from dataclasses import replace
from pathlib import Path

import cv2

from coach.models import resolve_models
from coach.vision.landmarks import DEFAULT_CONFIDENCES, Landmarks


def labelled(frames: Path) -> list[tuple[Path, int]]:
    out = []
    for sheet in (frames / "labels.csv", frames / "people" / "labels.csv"):
        if not sheet.is_file():
            continue
        with open(sheet, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                v = (row.get("hands_visible") or "").strip()
                if v.isdigit():
                    out.append((sheet.parent / row["file"], min(2, int(v))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    here = Path(__file__).resolve().parents[1]
    ap.add_argument("--frames", type=Path, default=Path(os.environ.get("COACH_FRAMES", here.parent / "shared/frames")))
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("COACH_MODELS", here.parent / "shared/models")))
    ap.add_argument("--detection", default="0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--presence", default="0.3,0.4,0.5,0.6")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    items = labelled(a.frames)
    images = [(p, n, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)) for p, n in items]
    paths = resolve_models(a.models)
    print(f"{len(images)} labelled images; label histogram:",
          {k: sum(1 for _, n, _ in images if n == k) for k in (0, 1, 2)})
    print("det  pres  agree  invented  missed  hold_id_01")
    for det, pres in itertools.product(map(float, a.detection.split(",")), map(float, a.presence.split(","))):
        conf = replace(DEFAULT_CONFIDENCES, hand_detection=det, hand_presence=pres)
        agree = more = less = 0
        h01 = "-"
        wrong = []
        with Landmarks(mode="image", confidences=conf, tasks=("hands",), model_paths=paths) as lm:
            for p, n, rgb in images:
                got = len(lm.hands(rgb))
                agree += got == n
                more += got > n
                less += got < n
                if got != n:
                    wrong.append(f"{p.name}:{got}/{n}")
                if p.name == "hold_id_01.jpg":
                    h01 = str(got)
        print(f"{det:.2f} {pres:.2f}  {agree:3d}/{len(images)}  {more:3d}  {less:3d}  {h01}")
        if a.verbose:
            print("   ", " ".join(wrong))


if __name__ == "__main__":
    main()
