"""`coach bench`: how fast the engine keeps up with a 30 fps camera, against the naive pipeline.

For 1280x720 and 1920x1080, in one run:
  live     the engine as the live coach runs it (Analyzer(mode="video", fast=True) + every check of
           the hand-held profile) fed by a simulated 30 fps camera thread through the sources'
           newest-frame slot (coach.sources.base.NewestSlot: old frames are overwritten, never
           queued); analysed fps, arrival-to-verdict latency (arrival = the moment the camera
           thread put the frame in the slot), frames dropped;
  unpaced  the same engine fed back to back: the `fps` figure, per-stage ms, CPU ms per frame;
  naive    all three MediaPipe models in IMAGE mode one after another on every full frame, then
           card + measures + checks; built here from the building blocks (Landmarks, detect_card,
           measure) so that an optimisation of the Analyzer can never speed up the baseline.
Start-up to the first verdict and peak memory are measured in a fresh Python process that only
imports the coach, creates the live engine and analyses (then keeps analysing 1080p frames for
the memory figure), so neither the scene generator nor the naive pipeline inflate them.

Frames: synthetic scenes (coach.synth.iter_scenes, a card in a real photo) from $COACH_FRAMES,
or up to MAX_IMAGES images of --frames cover-cropped to each size. The camera sways each scene by
a few pixels (a hand-held phone never delivers the same frame twice) and cuts to the next scene
every SCENE_SECONDS (the person moves: tracking must re-detect). Nothing is written to the repo;
the start-up process gets its frames through a temporary folder that is removed afterwards.

This is a command, not a timed test: the machine is shared, so the ratio to the naive pipeline in
the same run and CPU ms per frame (load-independent) are the figures to compare.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import cv2
import numpy as np

from coach.errors import CoachError
from coach.types import Frame, Observation

SIZES: dict[str, tuple[int, int]] = {"720p": (1280, 720), "1080p": (1920, 1080)}
CAMERA_FPS = 30.0
SCENES_PER_SIZE = 2  # landscape scenes taken from each size's generator (each ~0.5-1 s to make)
MAX_IMAGES = 8  # images of --frames used (evenly spaced): frames are held in memory
SCENE_SECONDS = 1.0  # the simulated camera cuts to the next scene this often
SWAY_PX = 6  # amplitude of the simulated hand-held sway (integer pixels, cheap to crop)
UNPACED_SCENE_FRAMES = 8  # unpaced runs cut to the next scene after this many frames
WARMUP_FRAMES = 3  # first inferences at a new size allocate: not counted
# Share of --seconds (per resolution) given to each phase.
PHASE_SHARE = {"live": 0.4, "unpaced": 0.3, "naive": 0.3}
MIN_FRAMES = 3  # every phase analyses at least this many frames, however short --seconds is
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


# ----------------------------------------------------------------------------- frames
def cover_crop(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale to cover (w, h) and crop the centre: what a camera at that resolution would frame."""
    w, h = size
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih)
    rw, rh = max(w, int(math.ceil(iw * s))), max(h, int(math.ceil(ih * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    big = cv2.resize(img, (rw, rh), interpolation=interp)
    x0, y0 = (rw - w) // 2, (rh - h) // 2
    return np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w])


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def folder_frames(folder: Path, sizes: dict[str, tuple[int, int]]) -> dict[str, list[np.ndarray]]:
    files = _image_files(folder)
    if len(files) > MAX_IMAGES:  # evenly spaced, so a sorted folder's variety is kept
        step = len(files) / MAX_IMAGES
        files = [files[int(i * step)] for i in range(MAX_IMAGES)]
    imgs = [im for im in (cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files) if im is not None]
    if not imgs:
        raise CoachError(f"no readable images in {folder} (give --frames a folder of .jpg/.png files)")
    return {label: [cover_crop(im, size) for im in imgs] for label, size in sizes.items()}


def synthetic_frames(frames_dir: Path, sizes: dict[str, tuple[int, int]], models_dir: Optional[Path],
                     n: int = SCENES_PER_SIZE) -> dict[str, list[np.ndarray]]:
    """The same scenes at every size: the first n landscape scenes iter_scenes makes at each size
    (its base photos differ by size: it refuses to upscale small photos much), every one resized
    to every size, so that the resolutions differ by pixels only, not by content. Portrait scenes
    (portrait base photos) are skipped: a landscape camera would not deliver them."""
    from coach.synth import iter_scenes

    scenes: list[np.ndarray] = []
    for label, size in sizes.items():
        got = 0
        try:
            for sc in iter_scenes(frames_dir, 6 * n, seed=1, size=size, models_dir=models_dir):
                if sc.image.shape[1] == size[0] and sc.image.shape[0] == size[1]:
                    scenes.append(sc.image)
                    got += 1
                if got == n:
                    break
        except FileNotFoundError as err:
            raise CoachError(f"cannot make synthetic scenes: {err} (point COACH_FRAMES at the shared photos, "
                             f"or give --frames a folder of images)") from None
    if not scenes:
        raise CoachError(f"no landscape scenes from {frames_dir} (give --frames a folder of images)")
    return {label: [cover_crop(im, size) if im.shape[1::-1] != size else im for im in scenes]
            for label, size in sizes.items()}


class Sway:
    """Frames of a hand-held camera: scene k for SCENE_SECONDS, swaying by up to SWAY_PX pixels.
    Cropping a padded copy costs ~1 ms at 1080p (a real camera's decode costs more)."""

    def __init__(self, scenes: list[np.ndarray]) -> None:
        p = SWAY_PX
        self._padded = [cv2.copyMakeBorder(s, p, p, p, p, cv2.BORDER_REFLECT) for s in scenes]
        self._h, self._w = scenes[0].shape[:2]

    def frame(self, t: float, scene: Optional[int] = None) -> np.ndarray:
        """The camera's frame at time t (seconds); `scene` overrides the scene the time selects."""
        k = (int(t / SCENE_SECONDS) if scene is None else scene) % len(self._padded)
        dx = int(round(SWAY_PX * math.sin(2 * math.pi * 0.7 * t)))
        dy = int(round(SWAY_PX * 0.6 * math.cos(2 * math.pi * 0.45 * t)))
        p = SWAY_PX
        return self._padded[k][p + dy:p + dy + self._h, p + dx:p + dx + self._w].copy()


# ----------------------------------------------------------------------------- statistics
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, max(0, int(math.ceil(q * len(s))) - 1))])


def summarise(per_stage: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: {"p50": round(pct(v, 0.5), 1), "p95": round(pct(v, 0.95), 1)} for k, v in per_stage.items()}


# ----------------------------------------------------------------------------- engines
class NaivePipeline:
    """All three models in IMAGE mode, one after another, on every full frame; then card,
    measures and checks on this thread. No tracking, no pool, no reuse, no downscaling."""

    def __init__(self, models_dir: Optional[Path]) -> None:
        from coach.vision.landmarks import Landmarks

        self._lm = Landmarks(models_dir, mode="image")
        self.last_timings: dict[str, float] = {}

    def analyse(self, frame: Frame) -> Observation:
        from coach.vision.card import detect_card
        from coach.vision.measures import mark_printed_faces, measure

        tm: dict[str, float] = {}
        t0 = t = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal t
            now = time.perf_counter()
            tm[name] = (now - t) * 1000.0
            t = now

        bgr = frame.image
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        lap("rgb")
        faces = self._lm.faces(rgb)
        lap("faces")
        hands = self._lm.hands(rgb)
        lap("hands")
        pose = self._lm.pose(rgb)
        lap("pose")
        card = detect_card(bgr, hands=hands, faces=faces)
        lap("card")
        faces = mark_printed_faces(faces, card)
        measures = measure(bgr, card, faces, hands, pose)
        lap("measures")
        tm["total"] = (time.perf_counter() - t0) * 1000.0
        self.last_timings = tm
        return Observation(width=frame.width, height=frame.height, faces=faces, hands=hands, pose=pose,
                           card=card, measures=measures)

    def close(self) -> None:
        self._lm.close()


def live_engine(models_dir: Optional[Path]):
    """The engine exactly as the live coach builds it (fast path when the Analyzer has one)."""
    import inspect

    from coach.vision.analyzer import Analyzer

    kwargs: dict[str, Any] = {}
    if "fast" in inspect.signature(Analyzer.__init__).parameters:
        kwargs["fast"] = True
    return Analyzer(models_dir, mode="video", **kwargs)


# ----------------------------------------------------------------------------- phases
@dataclass
class Clock:
    """Strictly increasing source time for one VIDEO-mode engine across phases."""

    t: float = 0.0

    def tick(self) -> float:
        self.t += 1.0 / CAMERA_FPS
        return self.t


@dataclass
class Unpaced:
    frames: int = 0
    fps: float = 0.0
    cpu_ms_per_frame: float = 0.0
    stages: dict[str, list[float]] = field(default_factory=dict)


def run_unpaced(engine: Any, profile: Any, sway: Sway, seconds: float, clock: Clock,
                progress: Callable[[float], None]) -> Unpaced:
    """Frames back to back as fast as the engine goes. Only the engine's calls are timed (the
    sway crop between them is not), so fps = frames / time spent analysing and judging."""
    from coach.checks import evaluate

    out = Unpaced()
    busy = 0.0
    cpu = 0.0
    i = 0
    while busy < seconds or i < MIN_FRAMES:
        t_src = clock.tick()
        # Scene cuts by frame count here (not source time): a slow engine would otherwise never
        # leave the first scene, and the engine and the naive pipeline see the same sequence.
        img = sway.frame(t_src, scene=i // UNPACED_SCENE_FRAMES)
        frame = Frame(image=img, index=i, t=t_src)
        c0, w0 = time.process_time(), time.perf_counter()
        obs = engine.analyse(frame)
        w1 = time.perf_counter()
        evaluate(obs, profile)
        w2, c2 = time.perf_counter(), time.process_time()
        busy += w2 - w0
        cpu += c2 - c0
        for k, v in engine.last_timings.items():
            out.stages.setdefault(k, []).append(float(v))
        out.stages.setdefault("checks", []).append((w2 - w1) * 1000.0)
        out.stages.setdefault("verdict", []).append((w2 - w0) * 1000.0)
        i += 1
        progress(min(busy, seconds))
    out.frames = i
    out.fps = i / busy if busy > 0 else 0.0
    out.cpu_ms_per_frame = cpu / i * 1000.0
    return out


@dataclass
class Live:
    analysed: int = 0
    fps: float = 0.0
    camera_frames: int = 0
    camera_fps: float = 0.0
    dropped: int = 0
    latency_ms: list[float] = field(default_factory=list)


def run_live(engine: Any, profile: Any, sway: Sway, seconds: float, clock: Clock,
             progress: Callable[[float], None]) -> Live:
    """A camera thread puts a frame into the newest-frame slot every 1/30 s; this thread (the
    worker) takes the newest, analyses and judges it. Latency: slot arrival -> verdict."""
    from coach.checks import evaluate
    from coach.sources.base import NewestSlot

    slot = NewestSlot()
    stop = threading.Event()
    t_base = clock.t  # source time continues from the previous phase (VIDEO mode needs increasing t)
    put_times: list[float] = []

    def camera() -> None:
        start = time.monotonic()
        k = 0
        while not stop.is_set():
            due = start + k / CAMERA_FPS
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            slot.put(image=sway.frame(k / CAMERA_FPS))
            put_times.append(time.monotonic())
            k += 1

    out = Live()
    cam = threading.Thread(target=camera, name="bench-camera", daemon=True)
    cam.start()
    first_seq: Optional[int] = None
    last_seq = -1
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < seconds or out.analysed < MIN_FRAMES:
            s = slot.take(timeout=1.0)
            if s is None:
                continue
            if first_seq is None:
                first_seq = s.seq
            last_seq = s.seq
            t_src = t_base + (s.t - t0) + 1.0 / CAMERA_FPS  # the slot's arrival clock, offset
            frame = Frame(image=s.image, index=s.seq, t=max(t_src, clock.t + 1e-3))
            clock.t = frame.t
            evaluate(engine.analyse(frame), profile)
            out.latency_ms.append((time.monotonic() - s.t) * 1000.0)
            out.analysed += 1
            progress(min(time.monotonic() - t0, seconds))
        wall = time.monotonic() - t0
    finally:
        stop.set()
        cam.join(timeout=2.0)
        slot.close()
    out.fps = out.analysed / wall if wall > 0 else 0.0
    out.dropped = (last_seq - (first_seq or 0) + 1) - out.analysed
    inside = [t for t in put_times if t <= t0 + wall]
    out.camera_frames = len(inside)
    out.camera_fps = (len(inside) - 1) / (inside[-1] - inside[0]) if len(inside) > 1 else 0.0
    return out


# ----------------------------------------------------------------------------- start-up + memory
_CHILD = r"""
import sys, time, json, resource
import numpy as np
from pathlib import Path
models = None if sys.argv[2] == "-" else Path(sys.argv[2])
from coach.types import Frame
from coach.checks import load_profile, evaluate
from coach.bench import live_engine
t_import = time.time()
imgs = [np.load(p) for p in sorted(Path(sys.argv[1]).glob("*.npy"))]
engine = live_engine(models)
t_engine = time.time()
profile = load_profile("hand-held")
verdict = evaluate(engine.analyse(Frame(image=imgs[0], index=0, t=0.0)), profile)
t_verdict = time.time()
print(json.dumps({"t_import": t_import, "t_engine": t_engine, "t_verdict": t_verdict}), flush=True)
seconds = float(sys.argv[3])
t0, i = time.monotonic(), 1
while time.monotonic() - t0 < seconds or i < 10:
    img = imgs[(i // 30) % len(imgs)]
    evaluate(engine.analyse(Frame(image=img, index=i, t=i / 30.0)), profile)
    i += 1
engine.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
try:  # VmHWM: this process's own high-water mark (ru_maxrss may carry the parent's over fork+exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024.0
except OSError:
    pass
print(json.dumps({"frames": i, "peak_rss_mb": peak}), flush=True)
"""


def startup_and_memory(images: list[np.ndarray], models_dir: Optional[Path], seconds: float) -> dict[str, float]:
    """A fresh interpreter: launch -> import -> engine -> first verdict (wall clock), then
    `seconds` of the live engine on these frames for its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        for i, img in enumerate(images):
            np.save(Path(tmp) / f"{i:02d}.npy", img)
        cmd = [sys.executable, "-c", _CHILD, tmp, str(models_dir) if models_dir else "-", f"{seconds:.3f}"]
        t_launch = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300 + seconds)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or len(lines) < 2:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CoachError(f"the start-up measurement process failed: {tail}")
    a, b = json.loads(lines[0]), json.loads(lines[1])
    return {"startup_s": a["t_verdict"] - t_launch, "import_s": a["t_import"] - t_launch,
            "engine_s": a["t_engine"] - a["t_import"], "first_frame_s": a["t_verdict"] - a["t_engine"],
            "peak_rss_mb": float(b["peak_rss_mb"]), "frames": int(b["frames"])}


# ----------------------------------------------------------------------------- progress
class _Progress:
    """A rich progress bar on stderr (nothing with --json)."""

    def __init__(self, enabled: bool, total: float) -> None:
        self._bar = None
        self._done = 0.0
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("bench", total=total)
            self._bar.start()

    def phase(self, name: str, weight: float) -> Callable[[float], None]:
        """Start a phase worth `weight` units; the returned callback reports units done so far."""
        base = self._done
        self._done += weight
        if self._bar is not None:
            self._bar.update(self._task, description=name, completed=base)

        def report(done: float) -> None:
            if self._bar is not None:
                self._bar.update(self._task, completed=base + min(done, weight))

        return report

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# ----------------------------------------------------------------------------- the command
def _resolve_frames(frames_dir: Optional[Path]) -> tuple[str, Path]:
    if frames_dir is not None:
        if not Path(frames_dir).is_dir():
            raise CoachError(f"--frames {frames_dir} is not a folder")
        return "folder", Path(frames_dir)
    env = os.environ.get("COACH_FRAMES")
    if env and Path(env).is_dir():
        return "synthetic", Path(env)
    raise CoachError("no frames to bench: give --frames DIR (a folder of images) or set COACH_FRAMES "
                     "to the shared photos for synthetic scenes")


def measure_all(frames_dir: Optional[Path], seconds: float, models_dir: Optional[Path],
                show_progress: bool) -> dict[str, Any]:
    from coach.checks import load_profile

    if not (seconds > 0):
        raise CoachError(f"--seconds must be positive, not {seconds}")
    kind, folder = _resolve_frames(frames_dir)
    setup = 4.0  # progress units for frame generation and the start-up process
    bar = _Progress(show_progress, total=2 * setup + len(SIZES) * seconds)
    try:
        step = bar.phase("making frames", setup)
        frames = folder_frames(folder, SIZES) if kind == "folder" else synthetic_frames(folder, SIZES, models_dir)
        step(setup)
        profile = load_profile("hand-held")
        load0 = os.getloadavg()[0]
        res: dict[str, Any] = {"frames": {"source": kind, "folder": str(folder),
                                          "scenes_per_size": {k: len(v) for k, v in frames.items()}},
                               "per_res": {}}
        for label, size in SIZES.items():
            sway = Sway(frames[label])
            engine = live_engine(models_dir)
            try:
                clock = Clock()
                for i in range(WARMUP_FRAMES):
                    engine.analyse(Frame(image=sway.frame(i / CAMERA_FPS), index=i, t=clock.tick()))
                reused0 = int(getattr(engine, "pose_reused", 0))  # warm-up frames do not count
                up = run_unpaced(engine, profile, sway, PHASE_SHARE["unpaced"] * seconds, clock,
                                 bar.phase(f"{label} engine, unpaced", PHASE_SHARE["unpaced"] * seconds))
                live = run_live(engine, profile, sway, PHASE_SHARE["live"] * seconds, clock,
                                bar.phase(f"{label} engine, 30 fps camera", PHASE_SHARE["live"] * seconds))
                pose_reused = int(getattr(engine, "pose_reused", 0)) - reused0
            finally:
                engine.close()
            naive_engine = NaivePipeline(models_dir)
            try:
                nclock = Clock()
                for i in range(1):
                    naive_engine.analyse(Frame(image=sway.frame(0.0), index=0, t=nclock.tick()))
                naive = run_unpaced(naive_engine, profile, sway, PHASE_SHARE["naive"] * seconds, nclock,
                                    bar.phase(f"{label} naive pipeline", PHASE_SHARE["naive"] * seconds))
            finally:
                naive_engine.close()
            res["per_res"][label] = {"size": size, "unpaced": up, "live": live, "naive": naive,
                                     "pose_reused": pose_reused}
        step = bar.phase("start-up + memory", setup)
        res["startup"] = startup_and_memory(frames["1080p"], models_dir, max(1.0, 0.2 * seconds))
        step(setup)
        res["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    finally:
        bar.close()
    return res


def to_json(res: dict[str, Any]) -> dict[str, Any]:
    per = res["per_res"]
    lat = {k: {"p50": round(pct(v["live"].latency_ms, 0.5), 1), "p95": round(pct(v["live"].latency_ms, 0.95), 1)}
           for k, v in per.items()}
    st = res["startup"]
    return {
        "fps": {k: round(v["unpaced"].fps, 2) for k, v in per.items()},
        "naive_fps": {k: round(v["naive"].fps, 2) for k, v in per.items()},
        # worst resolution (each percentile the max over resolutions): the figure the target is about
        "latency_ms": {"p50": max(x["p50"] for x in lat.values()), "p95": max(x["p95"] for x in lat.values())},
        "startup_s": round(st["startup_s"], 2),
        "peak_rss_mb": round(st["peak_rss_mb"], 1),
        "stages_ms": {k: summarise(v["unpaced"].stages) for k, v in per.items()},
        "ratio": {k: round(v["unpaced"].fps / v["naive"].fps, 2) if v["naive"].fps > 0 else None
                  for k, v in per.items()},
        "latency_ms_by_res": lat,
        "live_fps": {k: round(v["live"].fps, 1) for k, v in per.items()},
        "camera_fps": {k: round(v["live"].camera_fps, 1) for k, v in per.items()},
        "dropped": {k: v["live"].dropped for k, v in per.items()},
        "camera_frames": {k: v["live"].camera_frames for k, v in per.items()},
        "cpu_ms_per_frame": {k: round(v["unpaced"].cpu_ms_per_frame, 1) for k, v in per.items()},
        "naive_cpu_ms_per_frame": {k: round(v["naive"].cpu_ms_per_frame, 1) for k, v in per.items()},
        "naive_stages_ms": {k: summarise(v["naive"].stages) for k, v in per.items()},
        "pose_reused": {k: v["pose_reused"] for k, v in per.items()},
        "frames_analysed": {k: {"unpaced": v["unpaced"].frames, "live": v["live"].analysed,
                                "naive": v["naive"].frames} for k, v in per.items()},
        "startup_detail_s": {k: round(st[k], 2) for k in ("import_s", "engine_s", "first_frame_s")},
        "bench_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "frames": res["frames"],
        "loadavg_1min": res["loadavg"],
        "cores": os.cpu_count(),
    }


def print_table(j: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(100, Console().width))
    t = Table(title="coach bench (hand-held profile, every check)")
    t.add_column("")
    for label, (w, h) in SIZES.items():
        t.add_column(f"{w}x{h}", justify="right")
    res = list(SIZES)

    def row(name: str, fn: Callable[[str], str]) -> None:
        t.add_row(name, *(fn(k) for k in res))

    row("fps (engine, unpaced)", lambda k: f"{j['fps'][k]:.1f}")
    row("fps (naive pipeline)", lambda k: f"{j['naive_fps'][k]:.1f}")
    row("ratio to naive", lambda k: f"{j['ratio'][k]:.2f}x" if j["ratio"][k] else "-")
    row("CPU ms/frame engine | naive", lambda k: f"{j['cpu_ms_per_frame'][k]:.0f} | {j['naive_cpu_ms_per_frame'][k]:.0f}")
    row("live: analysed fps (camera 30)", lambda k: f"{j['live_fps'][k]:.1f} ({j['camera_fps'][k]:.1f})")
    row("live: latency p50 / p95 ms",
        lambda k: f"{j['latency_ms_by_res'][k]['p50']:.0f} / {j['latency_ms_by_res'][k]['p95']:.0f}")
    row("live: dropped / camera frames", lambda k: f"{j['dropped'][k]} / {j['camera_frames'][k]}")
    stages = [s for s in j["stages_ms"][res[0]]]
    t.add_section()
    for s in stages:
        row(f"stage {s} ms p50 / p95",
            lambda k, s=s: (f"{j['stages_ms'][k][s]['p50']:.1f} / {j['stages_ms'][k][s]['p95']:.1f}"
                            if s in j["stages_ms"][k] else "-"))
    console.print(t)
    d = j["startup_detail_s"]
    console.print(f"start-up to first verdict: {j['startup_s']:.2f} s (import {d['import_s']:.2f}, "
                  f"engine {d['engine_s']:.2f}, first frame {d['first_frame_s']:.2f}); "
                  f"peak memory {j['peak_rss_mb']:.0f} MB (live engine alone, fresh process)")
    reused = ", ".join(f"{k} {v}/{j['frames_analysed'][k]['unpaced'] + j['frames_analysed'][k]['live']}"
                       for k, v in j["pose_reused"].items())
    console.print(f"pose reused on {reused} frames; machine: {j['cores']} cores, "
                  f"load average {j['loadavg_1min'][0]} -> {j['loadavg_1min'][1]} (noisy machines: compare the ratio)")


def run_bench(frames_dir: Optional[Path], seconds: float, as_json: bool, models_dir: Optional[Path]) -> int:
    res = measure_all(frames_dir, seconds, models_dir, show_progress=not as_json and sys.stderr.isatty())
    j = to_json(res)
    if as_json:
        sys.stdout.write(json.dumps(j, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        print_table(j)
    return 0
