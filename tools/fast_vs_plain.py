"""Does the fast path change what the checks see? Plain vs fast Analyzer, VIDEO mode, same frames.

    python tools/fast_vs_plain.py [--frames 30]

For each photo, a 1280x720 sequence (the photo resized, shifted a few px per frame) goes through
both analyzers; a frame differs when the live-face count, hand count, card presence or the pose
visibility (>= 0.5) of shoulders, elbows and wrists differ.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stage_timings import frames_for  # noqa: E402

from coach.types import Frame  # noqa: E402
from coach.vision.analyzer import Analyzer  # noqa: E402

NAMES = ["hold_id_01", "hold_id_08", "portrait_01", "pose_01", "doc_hand_01",
         "people/person_02", "people/person_29", "people/person_36"]


def summary(obs):
    p = obs.pose
    vis = tuple(p.visible(i) for i in (11, 12, 13, 14, 15, 16)) if p else None
    return len(obs.live_faces), len(obs.hands), obs.card is not None, vis


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames-dir", type=Path, default=Path(os.environ.get("COACH_FRAMES", here.parent / "shared/frames")))
    ap.add_argument("--models", type=Path,
                    default=Path(os.environ.get("COACH_MODELS", here.parent / "shared/models")))
    ap.add_argument("--frames", type=int, default=30)
    a = ap.parse_args()
    total = same = core_same = 0
    for name in NAMES:
        src = cv2.imread(str(a.frames_dir / f"{name}.jpg"))
        if src is None:
            continue
        seq = frames_for(src, (1280, 720), a.frames)
        res = {}
        for fast in (False, True):
            with Analyzer(a.models, mode="video", fast=fast) as an:
                res[fast] = [summary(an.analyse(Frame(image=f, index=i, t=i / 30))) for i, f in enumerate(seq)]
        diff = sum(1 for x, y in zip(res[False], res[True]) if x != y)
        core = sum(1 for x, y in zip(res[False], res[True]) if x[:3] != y[:3])
        total += len(seq)
        same += len(seq) - diff
        core_same += len(seq) - core
        print(f"{name:18s} differing frames {diff:2d}/{len(seq)} (faces/hands/card differ: {core})")
    print(f"identical: {same}/{total}; faces, hands and card identical: {core_same}/{total}")


if __name__ == "__main__":
    main()
