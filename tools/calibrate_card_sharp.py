"""Where card_sharp's limit comes from: the card sharpness measure on ID specimens blurred by known
amounts, readable and not.

    COACH_FRAMES=../shared/frames python tools/calibrate_card_sharp.py [--noise 0 2]

Each specimen (spec_id_0*.jpg, cropped to the card) is resized to 250, 400 and 600 px wide (a card
at arm's length in a 720p-1080p frame), blurred (Gaussian sigma 1 / 1.5 / 2 px, or motion blur of
4-10 px at a random angle), given camera-like noise (sigma in grey levels) and a JPEG at quality
85, and measured as coach.vision.measures.card_sharpness measures a rectified card (inner 90 %).
Printed: the 5th / 50th / 95th percentile per blur, and the share below each candidate limit.
Small print is still readable at sigma 1 px and 4 px of motion, and no longer at sigma 1.5 px or
8 px of motion. A measurement, not a test: nothing is written.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.synth.cards import load_card  # noqa: E402
from coach.synth.render import motion_blur  # noqa: E402
from coach.vision.measures import reblur_sharpness  # noqa: E402

LIMITS = (0.24, 0.28, 0.30)


def _camera(img: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise > 0:
        img = np.clip(img.astype(np.float32) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def measure(frames: Path, noise: float, seed: int = 0) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    rows: dict[str, list[float]] = {}
    for path in sorted(glob.glob(str(frames / "spec_id_0*.jpg"))):
        card = cv2.cvtColor(load_card(Path(path)), cv2.COLOR_BGR2GRAY)
        for width in (250, 400, 600):
            img = cv2.resize(card, (width, round(width / 1.586)), interpolation=cv2.INTER_AREA)
            variants = {"sharp": img}
            for sigma in (1.0, 1.5, 2.0):
                variants[f"gauss {sigma}"] = cv2.GaussianBlur(img, (0, 0), sigma)
            for length in (4, 6, 8, 10):
                variants[f"motion {length}"] = motion_blur(img, length, float(rng.uniform(0, 180)))
            for name, v in variants.items():
                v = _camera(v, noise, rng)
                m = int(round(0.05 * min(v.shape)))
                rows.setdefault(name, []).append(reblur_sharpness(v[m:-m, m:-m]))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=Path, default=Path(os.environ.get("COACH_FRAMES", "../shared/frames")))
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0])
    args = ap.parse_args()
    if not list(args.frames.glob("spec_id_0*.jpg")):
        print(f"no specimens (spec_id_0*.jpg) in {args.frames}: pass --frames or set COACH_FRAMES", file=sys.stderr)
        return 2
    for noise in args.noise:
        print(f"noise sigma {noise:g}")
        print(f"  {'blur':10s} {'n':>3s}   p5    p50   p95  " + "  ".join(f"<{t:.2f}" for t in LIMITS))
        for name, vals in measure(args.frames, noise).items():
            a = np.asarray(vals)
            p5, p50, p95 = np.percentile(a, [5, 50, 95])
            shares = "  ".join(f"{(a < t).mean():5.0%}" for t in LIMITS)
            print(f"  {name:10s} {len(a):3d} {p5:.3f} {p50:.3f} {p95:.3f}  {shares}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
