"""`coach bench`: the JSON shape and plausible numbers. Not a timed test: no speed thresholds
(the machine is shared and noisy); only that every figure was really measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.bench import Sway, cover_crop, pct

REPO = Path(__file__).resolve().parents[1]
RES = ("720p", "1080p")


def _run(args: list[str], env_extra: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "coach", "bench", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


@pytest.fixture(scope="module")
def bench_json(frames_dir: Path, models_dir: Path) -> dict:
    proc = _run(["--seconds", "1", "--json"], {"COACH_FRAMES": str(frames_dir), "COACH_MODELS": str(models_dir)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"--json must print exactly one line, got {len(lines)}"
    return json.loads(lines[0])


def test_json_shape_and_plausible_numbers(bench_json: dict) -> None:
    j = bench_json
    for key in ("fps", "naive_fps", "ratio", "live_fps", "cpu_ms_per_frame", "dropped", "stages_ms"):
        assert set(j[key]) == set(RES), key
    for r in RES:
        assert 0 < j["fps"][r] < 1000
        assert 0 < j["naive_fps"][r] < 1000
        assert j["ratio"][r] == pytest.approx(j["fps"][r] / j["naive_fps"][r], rel=0.05)
        assert 0 < j["live_fps"][r] <= 31  # never more verdicts than the 30 fps camera delivers
        assert 25 <= j["camera_fps"][r] <= 35  # the simulated camera really ran at about 30 fps
        assert j["dropped"][r] >= 0
        # one whole verdict costs at least what its stages cost; every stage of the issue is there
        st = j["stages_ms"][r]
        for stage in ("faces", "hands", "pose", "card", "measures", "checks", "total", "verdict"):
            assert stage in st, stage
            assert 0 <= st[stage]["p50"] <= st[stage]["p95"]
        assert st["verdict"]["p50"] >= st["checks"]["p50"]
        assert st["total"]["p50"] > 0 and st["faces"]["p95"] > 0 and st["card"]["p95"] > 0
        # naive: every model runs on every frame
        nst = j["naive_stages_ms"][r]
        assert nst["pose"]["p50"] > 0 and nst["hands"]["p50"] > 0 and nst["faces"]["p50"] > 0
        assert j["cpu_ms_per_frame"][r] > 0
    lat = j["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] < 60_000
    assert lat["p95"] == max(v["p95"] for v in j["latency_ms_by_res"].values())
    assert 0 < j["startup_s"] < 120
    d = j["startup_detail_s"]
    assert d["import_s"] + d["engine_s"] + d["first_frame_s"] == pytest.approx(j["startup_s"], abs=0.05)
    assert 50 < j["peak_rss_mb"] < 16_000  # MediaPipe + three models cannot fit in less than 50 MB


def test_no_frames_is_one_clear_line(tmp_path: Path, models_dir: Path) -> None:
    env = {"COACH_FRAMES": str(tmp_path / "missing"), "COACH_MODELS": str(models_dir)}
    proc = _run(["--seconds", "1", "--json"], env, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coach: ") and "--frames" in lines[0]


def test_folder_without_images_is_one_clear_line(tmp_path: Path, models_dir: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    proc = _run(["--frames", str(tmp_path), "--seconds", "1"], {"COACH_MODELS": str(models_dir)}, timeout=60)
    assert proc.returncode == 2
    assert "no readable images" in proc.stderr and "Traceback" not in proc.stderr


def test_cover_crop_and_sway() -> None:
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 150:] = 255  # right half white
    out = cover_crop(img, (160, 90))
    assert out.shape == (90, 160, 3)
    assert out[:, 0].max() == 0 and out[:, -1].min() == 255  # centre crop keeps both halves
    portrait = cover_crop(np.zeros((400, 200, 3), np.uint8), (1280, 720))
    assert portrait.shape == (720, 1280, 3)
    sway = Sway([np.random.default_rng(0).integers(0, 255, (72, 128, 3), dtype=np.uint8)])
    a, b = sway.frame(0.0), sway.frame(0.3)
    assert a.shape == b.shape == (72, 128, 3)
    assert not np.array_equal(a, b)  # a hand-held camera never repeats a frame exactly


def test_pct_nearest_rank() -> None:
    v = [float(i) for i in range(1, 101)]
    assert pct(v, 0.5) == 50.0 and pct(v, 0.95) == 95.0 and pct([], 0.5) == 0.0
