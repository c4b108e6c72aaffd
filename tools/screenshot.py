"""Save an SVG screenshot of the live screen (the README's picture) at 160×50 cells.

    python tools/screenshot.py                      # -> docs/screenshot.svg (drawn scene, real engine)
    python tools/screenshot.py --scenario becomes_right --out /tmp/shot.svg   # a synth scenario

The app runs for real (Textual `run_test`, the real Session and Analyzer on a replay) and the
screenshot is taken once the session shows a settled hint. The default scene is drawn here with
OpenCV (a cartoon person holding a card, no hands): nothing in it comes from ../shared/frames, so
the SVG may be committed. `--scenario` uses coach.synth (built from the shared photos): fine to
look at locally, but its SVG embeds a rendering of those photos and must not be committed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
os.environ.setdefault("COACH_MODELS", str(SHARED / "models"))


def drawn_scene(w: int = 1280, h: int = 720, t: float = 0.0) -> np.ndarray:
    """A cartoon person holding an ID-1 card under the chin; `t` sways it a little."""
    img = np.zeros((h, w, 3), np.uint8)
    for y in range(h):  # a wall, lighter at the top
        img[y, :] = (190 - y // 12, 196 - y // 12, 204 - y // 14)
    dx = int(round(6 * np.sin(t * 2.0)))
    cx = w // 2 + dx
    cv2.ellipse(img, (cx, int(h * 1.05)), (330, 260), 0, 180, 360, (120, 80, 50), -1)  # shoulders
    cv2.rectangle(img, (cx - 40, 330), (cx + 40, 420), (150, 180, 220), -1)  # neck
    cv2.ellipse(img, (cx, 250), (95, 125), 0, 0, 360, (150, 185, 225), -1)  # face
    cv2.ellipse(img, (cx, 190), (105, 85), 0, 180, 360, (40, 40, 50), -1)  # hair
    for ex in (cx - 35, cx + 35):
        cv2.ellipse(img, (ex, 240), (16, 8), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (ex, 240), 6, (40, 30, 20), -1)
        cv2.line(img, (ex - 18, 220), (ex + 18, 218), (40, 40, 50), 3)
    cv2.line(img, (cx, 250), (cx - 8, 290), (120, 150, 200), 3)
    cv2.ellipse(img, (cx, 320), (28, 10), 0, 0, 180, (80, 80, 170), 3)
    cw = 300
    ch = int(cw / 1.586)
    x0, y0 = cx - cw // 2, 520 - ch // 2
    cv2.rectangle(img, (x0, y0), (x0 + cw, y0 + ch), (235, 238, 240), -1)  # the card
    cv2.rectangle(img, (x0 + cw - 100, y0 + 25), (x0 + cw - 25, y0 + 120), (180, 170, 160), -1)  # portrait
    for i in range(6):  # printed lines
        cv2.line(img, (x0 + 20, y0 + 30 + i * 22), (x0 + 150 + (i * 37) % 40, y0 + 30 + i * 22), (60, 60, 60), 3)
    return img


def write_drawn_folder(dest: Path, seconds: float = 4.0, fps: float = 30.0) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(int(seconds * fps)):
        img = drawn_scene(t=i / fps)
        img = cv2.add(img, rng.integers(0, 4, img.shape, dtype=np.uint8))  # sensor noise
        cv2.imwrite(str(dest / f"frame_{i:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return dest


async def shoot(source: str, out: Path, lang: str, settle: float, timeout: float) -> str:
    from coach.tui.app import CoachApp, build_session

    work = Path(tempfile.mkdtemp(prefix="coach-shot-"))
    built = build_session(source, profile="hand-held", lang=lang, out_dir=work / "captures", fps=30.0,
                          mirror=False, models_dir=None, recordings_dir=work / "recordings")
    app = CoachApp(built.session, mirror=built.mirror)
    built.bridge.attach(app)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            end = time.monotonic() + timeout
            first_hint_at = None
            while time.monotonic() < end:
                st = built.session.snapshot()
                if st.verdict is not None and st.hint is not None and first_hint_at is None:
                    first_hint_at = time.monotonic()
                if first_hint_at is not None and time.monotonic() - first_hint_at >= settle:
                    break
                await pilot.pause(0.1)
            await pilot.pause(0.3)  # the status bar's fps figures refresh twice a second
            out.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=out.name, path=str(out.parent))
            hint = built.session.snapshot().hint_text
            await pilot.press("q")
    finally:
        built.close(done=app.session_done)
        shutil.rmtree(work, ignore_errors=True)
    return hint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.svg")
    ap.add_argument("--scenario", default=None, help="a coach.synth scenario kind instead of the drawn scene")
    ap.add_argument("--lang", default="zh", choices=["zh", "en"])
    ap.add_argument("--settle", type=float, default=1.5, help="seconds after the first hint before the shot")
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()

    # a fixed, readable folder name: it shows in the screenshot's status bar
    tmp = Path(tempfile.gettempdir()) / "capture-coach-demo"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if args.scenario:
            from coach.synth import write_scenario

            frames = Path(os.environ.get("COACH_FRAMES", SHARED / "frames"))
            source = write_scenario(frames, tmp, args.scenario)
        else:
            source = write_drawn_folder(tmp / "scene")
        hint = asyncio.run(shoot(str(source), args.out, args.lang, args.settle, args.timeout))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved {args.out} (hint on screen: {hint})")


if __name__ == "__main__":
    main()
