"""Micro benchmark: how many frames per second the half-block preview paints at 160×50 cells.

    python tools/bench_preview.py                 # in tmux at 160×50 (a real terminal), 8 s
    python tools/bench_preview.py --analyse       # ... while the real Analyzer runs on a thread
    python tools/bench_preview.py --headless      # no terminal output (compositor only)
    python tools/bench_preview.py --app           # the whole coach screen on an image-folder replay

It is a measurement, not a test: machines are noisy. "paint fps" counts new frames the preview
handed to Textual's compositor; in tmux every one of them is also turned into escape codes and
written to the terminal. Frames are a real photo with camera-like noise and jitter (so the colour
cache sees realistic misses), or synthetic gradients when the shared photos are absent.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FRAMES = Path(os.environ.get("COACH_FRAMES", REPO.parent / "shared" / "frames"))
MODELS = Path(os.environ.get("COACH_MODELS", REPO.parent / "shared" / "models"))


def make_frames(n: int = 48, size=(1280, 720)) -> list[np.ndarray]:
    base = None
    photo = FRAMES / "hold_id_01.jpg"
    if photo.is_file():
        base = cv2.resize(cv2.imread(str(photo)), size)
    else:
        x = np.linspace(0, 255, size[0], dtype=np.float32)
        y = np.linspace(0, 255, size[1], dtype=np.float32)[:, None]
        base = np.dstack([np.broadcast_to(x, (size[1], size[0])), np.broadcast_to(y, (size[1], size[0])),
                          (x + y) / 2]).astype(np.uint8)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        noisy = cv2.add(base, rng.integers(0, 8, base.shape, dtype=np.uint8))
        shift = np.float32([[1, 0, (i % 9) - 4], [0, 1, (i * 3) % 7 - 3]])
        out.append(cv2.warpAffine(noisy, shift, size, borderMode=cv2.BORDER_REFLECT))
    return out


def inner(args) -> None:
    """Runs inside the terminal: a screen that is only the preview, fed as fast as `--rate`."""
    from textual.app import App, ComposeResult

    from coach.tui.overlays import prepare_preview
    from coach.tui.preview import Preview

    frames = make_frames()
    result: dict = {}
    if args.line_filters:  # measure what the bypass of Textual's line filters is worth
        from textual.widget import Widget
        Preview.get_line_filters = Widget.get_line_filters
    stop_load = threading.Event()
    analysed = [0]

    def load() -> None:
        from coach.types import Frame
        from coach.vision.analyzer import Analyzer

        an = Analyzer(MODELS, mode="video")
        i = 0
        while not stop_load.is_set():
            an.analyse(Frame(frames[i % len(frames)], i, i / 30.0))
            i += 1
            analysed[0] = i
        an.close()

    class Bench(App):
        CSS = "Screen { background: black; }"

        def compose(self) -> ComposeResult:
            yield Preview(id="p")

        def on_mount(self) -> None:
            if args.gc:
                gc.freeze()
            self.i = 0
            self.tick_ms: list[float] = []
            self.canvas = None
            self.t0 = time.monotonic()
            self.set_interval(1 / args.rate, self.tick)
            self.set_timer(args.seconds, self.finish)
            if args.analyse:
                threading.Thread(target=load, daemon=True).start()

        def tick(self) -> None:
            t = time.perf_counter()
            p = self.query_one(Preview)
            w, h = p.pixel_size()
            rgb, self.canvas = prepare_preview(frames[self.i % len(frames)], None, w, h, mirror=True,
                                                overlays=False, profile="hand-held", canvas=self.canvas)
            p.show(rgb)
            self.i += 1
            self.tick_ms.append((time.perf_counter() - t) * 1000)

        def finish(self) -> None:
            p = self.query_one(Preview)
            elapsed = time.monotonic() - self.t0
            result.update(
                cells=f"{p.size.width}x{p.size.height}",
                fed=self.i, seconds=round(elapsed, 2),
                paint_fps=round(len(p._paint_times) / elapsed, 1) if len(p._paint_times) < 240 else None,
                paint_fps_window=round(p.paint_fps(window=args.seconds), 1),
                tick_ms_p50=round(statistics.median(self.tick_ms), 2),
                tick_ms_p95=round(sorted(self.tick_ms)[int(len(self.tick_ms) * 0.95)], 2),
                style_cache=len(p.renderer._styles),
                miss_rate=round(p.renderer.misses / max(1, p.renderer.lookups), 4),
                analysed_fps=round(analysed[0] / elapsed, 1) if args.analyse else None,
            )
            stop_load.set()
            self.exit()

    Bench().run(headless=args.headless)
    Path(args.result).write_text(json.dumps(result))


def app_inner(args) -> None:
    """The whole coach screen on an image-folder replay; reports the preview fps it measured."""
    from coach.tui.app import CoachApp, build_session

    folder = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    for i, f in enumerate(make_frames(n=90)):
        cv2.imwrite(str(folder / f"f{i:04d}.jpg"), f)
    built = build_session(str(folder), profile="hand-held", lang="en", out_dir=folder / "out", fps=30.0,
                          mirror=None, models_dir=MODELS, recordings_dir=folder / "recordings")
    result: dict = {}

    class BenchApp(CoachApp):
        def on_ready(self) -> None:  # (on_mount would run CoachApp's too: Textual walks the MRO)
            self.set_timer(args.seconds, self.finish)

        async def finish(self) -> None:
            state = self.session.snapshot()
            result.update(preview_fps=round(self.preview.paint_fps(window=3.0), 1),
                          analysed_fps=round(state.analysed_fps or 0.0, 1), frames=state.frames,
                          cells=f"{self.preview.size.width}x{self.preview.size.height}")
            await self.action_quit()

    app = BenchApp(built.session, mirror=True)
    built.bridge.attach(app)
    try:
        app.run(headless=args.headless)
    finally:
        built.close(done=app.session_done)
    Path(args.result).write_text(json.dumps(result))
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rate", type=float, default=60.0, help="frames fed per second (the cap)")
    ap.add_argument("--analyse", action="store_true", help="run the real Analyzer on a thread meanwhile")
    ap.add_argument("--headless", action="store_true")
    ap.add_argument("--app", action="store_true", help="the whole coach screen instead of the bare preview")
    ap.add_argument("--no-gc-freeze", dest="gc", action="store_false")
    ap.add_argument("--line-filters", action="store_true", help="keep Textual's line filters (for comparison)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.inner or args.headless:
        if not args.result:
            args.result = tempfile.mktemp(suffix=".json")
        (app_inner if args.app else inner)(args)
        if not args.inner:
            print(Path(args.result).read_text())
        return

    if shutil.which("tmux") is None:
        sys.exit("tmux not found: run with --headless, or install tmux")
    result = Path(tempfile.mktemp(suffix=".json"))
    session = f"coach-bench-{os.getpid()}"
    argv = [sys.executable, __file__, "--inner", "--result", str(result), "--seconds", str(args.seconds),
            "--rate", str(args.rate)] + (["--analyse"] if args.analyse else []) + (
            ["--app"] if args.app else []) + ([] if args.gc else ["--no-gc-freeze"]) + (
            ["--line-filters"] if args.line_filters else [])
    cmd = " ".join(shlex.quote(a) for a in argv) + f" 2>{shlex.quote(str(result))}.err"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", cmd], check=True)
    deadline = time.monotonic() + args.seconds + 60
    while not result.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    if not result.exists():
        err = Path(f"{result}.err")
        sys.exit("benchmark did not finish" + (": " + err.read_text()[-2000:] if err.exists() else ""))
    print(result.read_text())


if __name__ == "__main__":
    main()
