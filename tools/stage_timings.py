"""Per-stage milliseconds of the Analyzer at 1280x720 and 1920x1080 (a measuring aid, not `coach bench`).

    python tools/stage_timings.py [--frames N] [--mode video|image] [--fast] [--workers K]

Test frames: hold_id_01.jpg scaled in memory to each frame height (sides padded), shifted by a few pixels per frame so
VIDEO-mode tracking sees motion like a hand-held phone. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from coach.types import Frame
from coach.vision.analyzer import Analyzer

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def frames_for(src: np.ndarray, size: tuple[int, int], n: int) -> list[np.ndarray]:
    w, h = size
    # Scale to the frame's height and pad the sides (no stretching: a stretched card no longer has
    # the ID-1 aspect and the card detector would rightly reject it).
    s = h / src.shape[0]
    scaled = cv2.resize(src, (max(1, round(src.shape[1] * s)), h), interpolation=cv2.INTER_LINEAR)
    pad = max(0, w - scaled.shape[1])
    base = cv2.copyMakeBorder(scaled, 0, 0, pad // 2, pad - pad // 2, cv2.BORDER_REPLICATE)[:, :w]
    out = []
    for i in range(n):
        dx, dy = 6 * np.sin(i / 5.0), 4 * np.cos(i / 7.0)
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        out.append(cv2.warpAffine(base, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", type=Path,
                    default=Path(os.environ.get("COACH_FRAMES", here.parent / "shared/frames")) / "hold_id_01.jpg")
    ap.add_argument("--models", type=Path,
                    default=Path(os.environ.get("COACH_MODELS", here.parent / "shared/models")))
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--mode", choices=["video", "image"], default="video")
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    src = cv2.imread(str(a.image))
    kwargs = {"fast": True} if a.fast else {}
    report = {}
    for label, size in SIZES.items():
        frames = frames_for(src, size, a.frames)
        with Analyzer(a.models, mode=a.mode, **kwargs) as an:
            # warm-up frames are not counted (first inferences allocate)
            for i in range(5):
                an.analyse(Frame(image=frames[i], index=i, t=i / 30.0))
            per: dict[str, list[float]] = {}
            hands = []
            cards = 0
            load0 = os.getloadavg()[0]
            c0 = time.process_time()
            t0 = time.perf_counter()
            for i, img in enumerate(frames):
                obs = an.analyse(Frame(image=img, index=i, t=(i + 5) / 30.0))
                hands.append(len(obs.hands))
                cards += obs.card is not None
                for k, v in an.last_timings.items():
                    per.setdefault(k, []).append(v)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0
            reused = getattr(an, "pose_reused", 0)
        report[label] = {
            "fps": round(len(frames) / wall, 1),
            # CPU ms per frame over all threads: what the frame costs, whatever else loads the machine
            "cpu_ms_per_frame": round(cpu / len(frames) * 1000, 1),
            "loadavg_1min": round(max(load0, os.getloadavg()[0]), 2),
            "pose_reused": reused,
            "hands_found_2_of": f"{sum(1 for h in hands if h == 2)}/{len(hands)}",
            "card_found_in": f"{cards}/{len(frames)}",
            "stages_ms": {k: {"p50": round(statistics.median(v), 1), "p95": round(pct(v, 0.95), 1)}
                          for k, v in per.items()},
        }
    if a.json:
        print(json.dumps(report))
        return
    for label, r in report.items():
        print(f"{label}: {r['fps']} fps wall, {r['cpu_ms_per_frame']} CPU ms/frame (load {r['loadavg_1min']}), "
              f"both hands in {r['hands_found_2_of']}, card in {r['card_found_in']} frames, pose reused {r['pose_reused']}")
        for k, v in r["stages_ms"].items():
            print(f"  {k:10s} p50 {v['p50']:7.1f}  p95 {v['p95']:7.1f}")


if __name__ == "__main__":
    main()
