"""`coach replay --headless` end to end: real sources, real models, real checks, on scenario
recordings built at test time from ../shared/frames (coach.synth), never committed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class _Scenarios:
    """Scenario recordings, each written on first use (they take seconds to build) and shared by the module."""

    def __init__(self, frames_dir: Path, root: Path) -> None:
        self.frames_dir, self.root, self.built = frames_dir, root, {}

    def __getitem__(self, kind: str) -> Path:
        if kind not in self.built:
            from coach.synth import write_scenario

            self.built[kind] = write_scenario(self.frames_dir, self.root / kind, kind)
        return self.built[kind]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory, frames_dir, models_dir) -> _Scenarios:
    return _Scenarios(frames_dir, tmp_path_factory.mktemp("scenarios"))


def replay(source: Path | str, out: Path, *extra: str, timeout: float = 300) -> tuple[int, list[dict], str, float]:
    """Run the real CLI in a child process; returns (exit code, events, stderr, seconds)."""
    cmd = [sys.executable, "-m", "coach", "replay", "--headless", "--fast", "--lang", "en", "--out", str(out),
           *extra, str(source)]
    cwd = next(p for p in out.parents if p.is_dir())  # nothing is written relative to it
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.monotonic() - t0
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every stdout line is one JSON event
    return proc.returncode, events, proc.stderr, wall


def of(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["event"] == kind]


def recording_frames(rec: Path) -> list[dict]:
    return [json.loads(line) for line in (rec / "manifest.jsonl").read_text().splitlines() if line.strip()]


def test_becomes_right_exactly_one_auto_capture_byte_identical(scenarios, tmp_path):
    rec = scenarios["becomes_right"]
    out = tmp_path / "caps"
    code, ev, err, wall = replay(rec, out)
    assert code == 0, err
    n = len(recording_frames(rec))
    assert ev[-1]["event"] == "summary" and ev[-1]["frames"] == n
    caps = of(ev, "captured")
    assert len(caps) == 1, ev
    cap = caps[0]
    assert cap["auto"] is True and ev[-1]["captures"] == 1
    saved = Path(cap["path"])
    report = json.loads(Path(cap["report"]).read_text(encoding="utf-8"))
    # the frame the session says it captured is the one in the recording, byte for byte
    name = report["frame"]["name"]
    assert recording_frames(rec)[cap["frame"]]["file"] == name
    assert saved.read_bytes() == (rec / name).read_bytes()
    # every check passed on that frame, and the report says so check by check
    assert report["passed"] is True and report["failed"] == [] and report["mode"] == "auto"
    assert all(c["pass"] is True for c in report["checks"].values()) and len(report["checks"]) >= 10
    assert report["profile"] == "hand-held" and report["frame"]["index"] == cap["frame"]
    # the scene started wrong: the coach said what to fix before it captured
    first = of(ev, "hint")[0]
    assert first["frame"] == 0 and first["check"] is not None and first["text"]
    # private files, nothing else in the folder
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and stat.S_IMODE(out.stat().st_mode) == 0o700
    assert sorted(p.name for p in out.iterdir()) == sorted([saved.name, Path(cap["report"]).name])
    print(f"\nbecomes_right: {n} frames in {wall:.1f} s wall (incl. start-up), captured frame {cap['frame']}")


def test_never_right_no_capture(scenarios, tmp_path):
    out = tmp_path / "caps"
    code, ev, err, _ = replay(scenarios["never_right"], out)
    assert code == 0, err
    assert of(ev, "captured") == [] and ev[-1]["event"] == "summary" and ev[-1]["captures"] == 0
    assert of(ev, "hint") and of(ev, "hint")[0]["check"] is not None
    assert not out.exists() or list(out.iterdir()) == []


def test_half_body_captured_only_in_half_body_profile(scenarios, tmp_path):
    rec = scenarios["half_body"]
    code, ev, err, _ = replay(rec, tmp_path / "held")
    assert code == 0, err
    assert of(ev, "captured") == []
    code, ev, err, _ = replay(rec, tmp_path / "half", "--profile", "half-body")
    assert code == 0, err
    caps = of(ev, "captured")
    assert len(caps) == 1
    report = json.loads(Path(caps[0]["report"]).read_text(encoding="utf-8"))
    assert report["profile"] == "half-body" and report["passed"] is True
    assert Path(caps[0]["path"]).read_bytes() == (rec / report["frame"]["name"]).read_bytes()


def test_unwritable_out_is_a_fault_and_the_replay_goes_on(scenarios, tmp_path):
    rec = scenarios["half_body"]  # the shortest scenario that captures (in the half-body profile)
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")  # a file where the capture folder's parent should be: unwritable even for root
    code, ev, err, _ = replay(rec, blocker / "caps", "--profile", "half-body")
    assert code == 0, err
    faults = of(ev, "fault")
    assert faults and all(f["stage"] == "capture" and str(blocker) in f["reason"] for f in faults)
    assert ev[-1] == {"event": "summary", "frames": len(recording_frames(rec)), "captures": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_out_folder_fault_no_stray_files(scenarios, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    os.chmod(out, 0o500)
    try:
        code, ev, err, _ = replay(scenarios["half_body"], out, "--profile", "half-body")
        assert code == 0, err
        assert of(ev, "fault") and ev[-1]["captures"] == 0
        assert list(out.iterdir()) == []
    finally:
        os.chmod(out, 0o700)


def test_bad_source_one_line_exit_2(tmp_path):
    for bad in (tmp_path / "missing.mp4", tmp_path / "empty-folder"):
        if bad.suffix == "":
            bad.mkdir()
        proc = subprocess.run([sys.executable, "-m", "coach", "replay", "--headless", "--fast", str(bad)],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr and str(bad.name) in lines[0]


def test_run_headless_prints_one_flushed_json_line_per_event_and_closes(tmp_path, monkeypatch):
    """replay.py's own job, without models: wiring, output format, closing the source and analyser."""
    import io

    import coach.replay as replay_mod
    import coach.session as session_mod
    from tests.test_session import FakeAnalyzer, FakeSource, Scene, fake_evaluate, fake_load_profile

    src, an = FakeSource(60), FakeAnalyzer(default=Scene(exposure=10.0))
    closed = []
    an.close = lambda: closed.append("analyzer")
    opened = {}

    def fake_open(spec, fps=30.0):
        opened.update(spec=spec, fps=fps)
        return src

    def fake_analyzer(models_dir):
        opened["models"] = models_dir
        return an

    monkeypatch.setattr(replay_mod, "open_source", fake_open)
    monkeypatch.setattr(replay_mod, "make_analyzer", fake_analyzer)
    monkeypatch.setattr(session_mod, "load_profile", fake_load_profile)
    def evaluate_with_real_keys(obs, profile):
        v = fake_evaluate(obs, profile)
        for r in v.results:
            r.message = {"more_light": "too_dark", "need_card": "show_card"}.get(r.message, r.message)
        return v

    monkeypatch.setattr(session_mod, "evaluate", evaluate_with_real_keys)

    class Counting(io.StringIO):
        flushes = 0

        def flush(self):
            Counting.flushes += 1
            super().flush()

    out = Counting()
    code = replay_mod.run_headless("some/rec", out_dir=tmp_path, fast=True, max_seconds=None, profile="hand-held",
                                   fps=12.0, lang="zh", models_dir=tmp_path / "m", stream=out)
    assert code == 0
    assert opened == {"spec": "some/rec", "fps": 12.0, "models": tmp_path / "m"}
    lines = out.getvalue().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == ["hint", "summary"]
    from coach.checks import messages

    assert events[0]["check"] == "exposure" and events[0]["message"] == "too_dark" and events[0]["frame"] == 0
    assert events[0]["text"] == messages.text("too_dark", "zh") and "\\u" not in lines[0]  # UTF-8, not escapes
    assert events[1] == {"event": "summary", "frames": 60, "captures": 0}
    assert Counting.flushes >= len(lines)
    assert src.closed and closed == ["analyzer"]


FFMPEG = shutil.which("ffmpeg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ffmpeg_copy_server(frame: Path, port: int) -> subprocess.Popen:
    """The issue's ffmpeg MJPEG server; `-c:v copy` sends frame.jpg itself as every part."""
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-loop", "1", "-framerate", "30",
           "-i", str(frame), "-c:v", "copy", "-f", "mpjpeg", "-listen", "1", f"http://127.0.0.1:{port}/video"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed (apt-get install ffmpeg)")
def test_headless_stream_capture_drop_and_recovery(scenarios, tmp_path):
    """A phone-like MJPEG stream: captured bytes identical to what the server sent; the server is
    killed and restarted mid-session: a fault event, then recovered, and the replay goes on."""
    frame = scenarios["half_body"] / "000000.jpg"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/video"
    server = _ffmpeg_copy_server(frame, port)
    time.sleep(0.5)  # let ffmpeg listen (a probe connection would use up its single client)
    out = tmp_path / "caps"
    cmd = [sys.executable, "-m", "coach", "replay", "--headless", "--lang", "en", "--profile", "half-body",
           "--out", str(out), url]
    for attempt in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            proc.wait(timeout=1.5)  # still running after 1.5 s: the stream opened
        except subprocess.TimeoutExpired:
            break
        assert proc.returncode == 2 and attempt < 2, proc.stderr.read()  # refused: ffmpeg was not listening yet
        time.sleep(0.5)
    events: list[dict] = []
    lock = threading.Lock()

    def reader():
        for line in proc.stdout:
            with lock:
                events.append(json.loads(line))

    th = threading.Thread(target=reader, daemon=True)
    th.start()

    def wait_event(kind: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with lock:
                hit = [e for e in events if e["event"] == kind]
            if hit:
                return hit[0]
            if proc.poll() is not None and not th.is_alive():
                return None
            time.sleep(0.05)
        return None

    try:
        cap = wait_event("captured", 90)
        assert cap is not None, (events, proc.stderr.read() if proc.poll() is not None else "")
        assert Path(cap["path"]).read_bytes() == frame.read_bytes()  # byte-identical to what the server sent
        _kill(server)
        t_kill = time.monotonic()
        fault = wait_event("fault", 10)
        assert fault is not None and fault["stage"] == "source" and fault["reason"]
        assert time.monotonic() - t_kill < 6  # noticed (the source's own limit is 3 s; the loop polls often)
        time.sleep(1.0)
        server = _ffmpeg_copy_server(frame, port)
        t_back = time.monotonic()
        assert wait_event("recovered", 10) is not None, events
        took = time.monotonic() - t_back
        proc.send_signal(signal.SIGTERM)  # ends like the end of a source: summary, exit 0
        assert proc.wait(timeout=20) == 0, proc.stderr.read()
        th.join(5)
        kinds = [e["event"] for e in events]
        assert kinds[-1] == "summary" and kinds.index("fault") < kinds.index("recovered")
        assert events[-1]["captures"] == 1  # auto waited (disarmed) after its capture
        print(f"\nstream: recovered {took:.2f} s after the server restart; events {kinds}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        _kill(server)
