"""Card detector alone on synthetic scenes and real photos, fast enough to iterate on.

The first run builds the scenes (coach.synth) and runs MediaPipe once per image (IMAGE mode) to
get the hands and faces the detector takes as hints; both are cached under --cache (a temporary
folder of your choice: the scenes are identity-card look-alikes, keep them out of the repo).
Later runs only run the card detector, so a change to coach/vision/card.py is measured in
seconds:

    COACH_MODELS=../shared/models COACH_FRAMES=../shared/frames \
        python tools/card_recall.py --cache /tmp/cardcache --n 312 --seed 1 [--show-misses]

Prints, for synthetic scenes: found / IoU >= 0.95 / median corner error per defect, and the
false cards on the real photos without a card (labels.csv and people/labels.csv).
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.synth import iter_scenes, quad_iou  # noqa: E402
from coach.vision.card import detect_card  # noqa: E402


def _build(cache: Path, frames: Path, models: Path, n: int, seed: int) -> None:
    from coach.types import Frame
    from coach.vision.analyzer import Analyzer

    cache.mkdir(parents=True, exist_ok=True)
    meta_path = cache / f"synth_{seed}_{n}.pkl"
    real_path = cache / "real.pkl"
    with Analyzer(models_dir=models, mode="image") as an:
        if not meta_path.exists():
            meta = []
            for sc in iter_scenes(frames, n, seed=seed, models_dir=models):
                img_path = cache / f"s{seed}_{sc.name}.png"  # names repeat across seeds
                cv2.imwrite(str(img_path), sc.image)
                obs = an.analyse(Frame(image=sc.image, index=0, t=0.0, name=sc.name))
                meta.append({"name": sc.name, "png": img_path.name, "quad": sc.quad, "defects": sc.defects,
                             "hands": obs.hands, "faces": [f for f in obs.faces]})
                print(f"\rscenes {len(meta)}/{n}", end="", file=sys.stderr)
            print(file=sys.stderr)
            meta_path.write_bytes(pickle.dumps(meta))
        if not real_path.exists():
            real = []
            for labels, sub in ((frames / "labels.csv", frames), (frames / "people" / "labels.csv", frames / "people")):
                if not labels.is_file():
                    continue
                with open(labels, newline="", encoding="utf-8") as f:
                    for row in csv.DictReader(f):
                        p = sub / row["file"]
                        img = cv2.imread(str(p))
                        if img is None:
                            continue
                        obs = an.analyse(Frame(image=img, index=0, t=0.0, name=p.name))
                        real.append({"path": str(p), "card": row.get("card_present", "n"),
                                     "in_frame": row.get("card_fully_in_frame", "na"),
                                     "hands": obs.hands, "faces": obs.faces})
            real_path.write_bytes(pickle.dumps(real))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--frames", type=Path, default=Path(os.environ.get("COACH_FRAMES", "../shared/frames")))
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("COACH_MODELS", "../shared/models")))
    ap.add_argument("--n", type=int, default=312)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show-misses", action="store_true", help="print every scene: none, WRONG (IoU < 0.5) or its IoU")
    ap.add_argument("--only", default="", help="only scenes whose name contains this")
    args = ap.parse_args()
    _build(args.cache, args.frames, args.models, args.n, args.seed)
    meta = pickle.loads((args.cache / f"synth_{args.seed}_{args.n}.pkl").read_bytes())
    real = pickle.loads((args.cache / "real.pkl").read_bytes())

    per: dict[str, list] = {}
    errs, times = [], []
    misses = []
    for m in meta:
        if args.only and args.only not in m["name"]:
            continue
        img = cv2.imread(str(args.cache / m["png"]))
        t = time.perf_counter()
        card = detect_card(img, hands=m["hands"], faces=m["faces"])
        times.append((time.perf_counter() - t) * 1000)
        key = m["defects"][0] if m["defects"] else "good"
        d = per.setdefault(key, [0, 0, 0, 0])
        d[0] += 1
        if card is None:
            misses.append((m["name"], "none"))
            continue
        d[1] += 1
        iou = quad_iou(m["quad"], card.quad)
        if iou >= 0.95:
            d[2] += 1
        if iou < 0.5:
            d[3] += 1
        misses.append((m["name"], f"{'WRONG' if iou < 0.5 else 'iou'} {iou:.2f}"))
        tq, fq = np.array(m["quad"]), np.array(card.quad)
        errs.append(float(np.median(np.linalg.norm(tq - fq, axis=1))))
    tot = [sum(v[i] for v in per.values()) for i in range(4)]
    print("defect            scenes found iou>=.95 wrong(iou<.5)")
    for k in sorted(per):
        v = per[k]
        print(f"{k:17s} {v[0]:6d} {v[1]:5d} {v[2]:8d} {v[3]:5d}")
    print(f"{'ALL':17s} {tot[0]:6d} {tot[1]:5d} {tot[2]:8d} {tot[3]:5d}   median corner err {statistics.median(errs) if errs else 0:.2f} px;"
          f" card ms p50 {np.percentile(times, 50):.1f} p95 {np.percentile(times, 95):.1f}")

    fp, fn, tp, neg = [], [], 0, 0
    for r in real:
        img = cv2.imread(r["path"])
        card = detect_card(img, hands=r["hands"], faces=r["faces"])
        name = Path(r["path"]).name
        if r["card"] == "y":
            if card is None:
                fn.append(name)
            else:
                tp += 1
        else:
            neg += 1
            if card is not None:
                fp.append(name)
    print(f"real: cards found {tp}/{tp + len(fn)} (missed: {' '.join(fn)}); false cards {len(fp)}/{neg}: {' '.join(fp)}")
    if args.show_misses:
        for name, why in misses:
            print("  miss", name, why)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
