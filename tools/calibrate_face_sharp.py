"""Where face_sharp's limit and the face crop's size (FACE_MAX) come from: the face sharpness
measure on real faces, as they are and blurred by known amounts, with camera noise.

    COACH_MODELS=../shared/models COACH_FRAMES=../shared/frames \
        python tools/calibrate_face_sharp.py [--face-max 256 128] [--noise 0 2 4]

The faces are the one-person photos of ../shared/frames (people/ with faces = 1, and the portrait,
webcam, pose and hold_id_01 photos with a visible face), fitted to 1280x720 like a webcam frame,
their largest face found by the face detector (60 px wide at least). Each is measured as it is
and blurred: Gaussian sigma 2 % and 3 % of the face's width, motion blur of 6 % and 12 % of it
at a random angle; then camera-like noise (sigma in grey levels) is added to every version.
Printed per FACE_MAX and noise: the originals' 5th percentile and median, and the share of each
version below each candidate limit. Sensor noise is fine detail too: on a face measured at 256 px
it makes blurred faces look sharp; a smaller crop averages it away. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.synth.render import motion_blur  # noqa: E402
from coach.vision import measures  # noqa: E402
from coach.vision.landmarks import Landmarks  # noqa: E402

LIMITS = (0.13, 0.15, 0.16, 0.18)


def _fit(img: np.ndarray, size=(1280, 720)) -> np.ndarray:
    """Scale to cover the frame (portrait photos: the rotated size) and crop the centre."""
    h, w = img.shape[:2]
    W, H = (size[1], size[0]) if h > w else size
    s = max(W / w, H / h)
    big = cv2.resize(img, (int(np.ceil(w * s)), int(np.ceil(h * s))), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - H) // 2, (big.shape[1] - W) // 2
    return np.ascontiguousarray(big[y0:y0 + H, x0:x0 + W])


def faces(frames: Path, models: Path) -> list:
    paths = []
    people = frames / "people" / "labels.csv"
    if people.is_file():
        paths += [frames / "people" / r["file"] for r in csv.DictReader(people.open(encoding="utf-8"))
                  if r["faces"] == "1" and "NEGATIVE" not in r["notes"]]
    main = frames / "labels.csv"
    if main.is_file():
        paths += [frames / r["file"] for r in csv.DictReader(main.open(encoding="utf-8"))
                  if r["face_visible"] == "y" and r["file"].startswith(("portrait", "webcam", "pose", "hold_id_01"))]
    out = []
    with Landmarks(models, mode="image") as lm:
        for p in paths:
            img = cv2.imread(str(p))
            if img is None:
                continue
            img = _fit(img)
            found = lm.faces(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if found:
                f = max(found, key=lambda f: f.box[2] * f.box[3])
                if f.box[2] >= 60:
                    out.append((img, f))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=Path, default=Path(os.environ.get("COACH_FRAMES", "../shared/frames")))
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("COACH_MODELS", "../shared/models")))
    ap.add_argument("--face-max", type=int, nargs="+", default=[256, measures.FACE_MAX])
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0, 4.0])
    args = ap.parse_args()
    data = faces(args.frames, args.models)
    if not data:
        print(f"no faces found under {args.frames}: pass --frames/--models or set COACH_FRAMES/COACH_MODELS",
              file=sys.stderr)
        return 2
    print(f"{len(data)} faces")
    keep = measures.FACE_MAX
    try:
        for face_max in args.face_max:
            measures.FACE_MAX = face_max
            for noise in args.noise:
                rng = np.random.default_rng(0)
                rows: dict[str, list[float]] = {}
                for img, f in data:
                    fw = f.box[2]
                    versions = {"original": img,
                                "gauss 2%": cv2.GaussianBlur(img, (0, 0), 0.02 * fw),
                                "gauss 3%": cv2.GaussianBlur(img, (0, 0), 0.03 * fw)}
                    for pct in (6, 12):
                        versions[f"motion {pct}%"] = motion_blur(img, max(3, round(pct / 100 * fw)), float(rng.uniform(0, 180)))
                    for name, v in versions.items():
                        if noise > 0:
                            v = np.clip(v.astype(np.float32) + rng.normal(0, noise, v.shape), 0, 255).astype(np.uint8)
                        rows.setdefault(name, []).append(measures.face_sharpness(v, [f]))
                orig = np.asarray(rows["original"])
                print(f"FACE_MAX {face_max}, noise sigma {noise:g}: originals p5 {np.percentile(orig, 5):.3f}, "
                      f"median {np.median(orig):.3f}")
                print(f"  {'version':11s} " + "  ".join(f"<{t:.2f}" for t in LIMITS))
                for name, vals in rows.items():
                    a = np.asarray(vals)
                    print(f"  {name:11s} " + "  ".join(f"{(a < t).mean():5.0%}" for t in LIMITS))
    finally:
        measures.FACE_MAX = keep
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
