"""Session logic with small fakes for the source, the analyser and the checks (no models needed).
The real parts are exercised end to end in tests/test_replay.py."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest

import coach.session as session_mod
from coach.session import Session
from coach.types import Card, CheckResult, Event, Frame, Measures, Observation, Verdict

FPS = 30.0


# ------------------------------------------------------------------------------- fakes
@dataclass(frozen=True)
class FakeCapture:
    stable_seconds: float = 0.7
    min_iou: float = 0.95
    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    jpeg_quality: int = 95


@dataclass(frozen=True)
class FakeProfile:
    name: str
    capture: FakeCapture = FakeCapture()


def fake_load_profile(name, path=None):
    if name not in ("hand-held", "strict"):
        from coach.errors import CoachError

        raise CoachError(f"unknown profile {name}")
    return FakeProfile(name)


def fake_evaluate(obs: Observation, profile) -> Verdict:
    """`card_present` fails without a card, `exposure` when measures.exposure < 50, every check
    fails in the "strict" profile."""
    m = obs.measures
    strict = profile.name == "strict"
    res = [
        CheckResult("card_present", obs.card is not None and not strict, 1.0, None, "need_card"),
        CheckResult("exposure", (m.exposure or 0) >= 50 and not strict, m.exposure, 50, "more_light"),
    ]
    for r in res:
        if r.passed:
            r.message = ""
    return Verdict(profile.name, res, next((r for r in res if not r.passed), None))


@dataclass
class Scene:
    """What the fake analyser 'sees' on frame i."""

    card: bool = True
    exposure: float = 120.0
    x: float = 100.0  # card position
    sharp: float = 10.0


class FakeAnalyzer:
    def __init__(self, scenes: dict[int, Scene] | None = None, default: Scene | None = None, delay: float = 0.0):
        self.scenes = scenes or {}
        self.default = default or Scene()
        self.delay = delay
        self.seen: list[float] = []

    def analyse(self, frame: Frame) -> Observation:
        if self.seen:
            assert frame.t > self.seen[-1], "video mode needs strictly increasing t"
        self.seen.append(frame.t)
        if self.delay:
            time.sleep(self.delay)
        s = self.scenes.get(frame.index, self.default)
        card = Card(quad=[(s.x, 100), (s.x + 300, 100), (s.x + 300, 290), (s.x, 290)], in_frame=True) if s.card else None
        return Observation(frame.width, frame.height, card=card,
                           measures=Measures(exposure=s.exposure, card_sharpness=s.sharp, face_sharpness=1.0))

    def close(self):
        pass


def jpeg_frame(i: int, fps: float = FPS) -> Frame:
    img = np.full((48, 64, 3), i % 256, np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 70])
    data = buf.tobytes() + f"frame-{i}".encode()  # bytes after EOI: kept exactly, proves no re-encode
    return Frame(image=img, index=i, t=i / fps, jpeg=data, name=f"{i:06d}.jpg")


class FakeSource:
    def __init__(self, n: int, fps: float = FPS, live: bool = False, statuses: dict[int, str] | None = None,
                 skipped_at: int | None = None):
        self.frames = [jpeg_frame(i, fps) for i in range(n)]
        self.live = live
        self.name = "fake"
        self.resolution = (64, 48)
        self.ended = False
        self.status = "ok"
        self.fault: Optional[str] = None
        self.skipped = 0
        self.statuses = statuses or {}
        self.skipped_at = skipped_at
        self.pos = 0
        self.closed = False

    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        if self.pos in self.statuses:
            self.status = self.statuses.pop(self.pos)
            self.fault = "stream stalled" if self.status == "reconnecting" else None
            if self.status == "reconnecting":
                return None
        if self.pos == self.skipped_at:
            self.skipped += 1
        if self.pos >= len(self.frames):
            self.ended = True
            return None
        f = self.frames[self.pos]
        self.pos += 1
        return f

    def close(self):
        self.closed = True


class FakeRecorder:
    instances: list["FakeRecorder"] = []

    def __init__(self, root: Path):
        self.root = Path(root)
        self.frames: list[int] = []
        self.stopped = False
        FakeRecorder.instances.append(self)

    def start(self) -> Path:
        p = self.root / f"rec{len(FakeRecorder.instances)}"
        p.mkdir(parents=True)
        return p

    def write(self, frame: Frame) -> None:
        self.frames.append(frame.index)

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture(autouse=True)
def fakes(monkeypatch):
    monkeypatch.setattr(session_mod, "load_profile", fake_load_profile)
    monkeypatch.setattr(session_mod, "evaluate", fake_evaluate)
    monkeypatch.setattr(session_mod, "message_text", lambda key, lang: f"[{lang}] {key}")
    FakeRecorder.instances = []
    monkeypatch.setattr(session_mod, "make_recorder", FakeRecorder)


def run_session(src, analyzer, tmp_path: Path, **kw) -> tuple[Session, list[dict]]:
    events: list[dict] = []
    kw.setdefault("fast", True)
    s = Session(src, analyzer, out_dir=tmp_path / "caps", recordings_dir=tmp_path / "recs", lang="en",
                on_event=lambda e: events.append(e.to_json()), **kw)
    s.run()
    return s, events


def kinds(events):
    return [e["event"] for e in events]


# ------------------------------------------------------------------------------- tests
def becomes_right(n_dark: int = 30) -> dict[int, Scene]:
    scenes = {i: Scene(exposure=20.0) for i in range(n_dark)}
    for i in range(n_dark, 200):
        scenes[i] = Scene(sharp=10.0 + (i % 4))
    scenes[n_dark + 9] = Scene(sharp=50.0)  # the sharpest frame of the first steady window
    return scenes


def test_becomes_right_one_auto_capture_of_the_sharpest_original(tmp_path):
    src = FakeSource(120)
    s, ev = run_session(src, FakeAnalyzer(becomes_right()), tmp_path)
    caps = [e for e in ev if e["event"] == "captured"]
    assert len(caps) == 1
    cap = caps[0]
    assert cap["frame"] == 39 and cap["auto"] is True and cap["failed"] == []
    assert Path(cap["path"]).read_bytes() == src.frames[39].jpeg
    rep = json.loads(Path(cap["report"]).read_text())
    assert rep["frame"]["index"] == 39 and rep["passed"] is True and rep["mode"] == "auto"
    # the hint: "more light" at once, cleared shortly after the light came (no 1.5 s wait for good news)
    hints = [e for e in ev if e["event"] == "hint"]
    assert hints[0] == {"event": "hint", "frame": 0, "check": "exposure", "message": "more_light",
                        "text": "[en] more_light", "offer_manual": False}
    assert hints[1]["check"] is None and 30 <= hints[1]["frame"] <= 40
    assert ev[-1] == {"event": "summary", "frames": 120, "captures": 1}
    st = s.snapshot()
    assert st.status == "ended" and st.frames == 120 and st.captures == [Path(cap["path"])]
    assert st.armed is False and st.hint is None and st.last_error is None


def test_fast_and_paced_replays_decide_the_same(tmp_path):
    fps = 100.0  # a short paced run: 100 frames = 1 s of source time
    scenes = {i: Scene(exposure=20.0 if i < 10 else 120.0, sharp=float(i % 5)) for i in range(100)}

    def decisions(fast: bool, sub: str):
        src = FakeSource(100, fps=fps)
        t0 = time.monotonic()
        _, ev = run_session(src, FakeAnalyzer(scenes), tmp_path / sub, fast=fast)
        wall = time.monotonic() - t0
        out = [(e["event"], e.get("frame"), e.get("check")) for e in ev]
        return out, wall

    fast, wall_fast = decisions(True, "fast")
    paced, wall_paced = decisions(False, "paced")
    assert fast == paced
    assert [d for d in fast if d[0] == "captured"] == [("captured", 14, None)]  # window 10..80, sharpest 14
    assert wall_paced >= 99 / fps - 0.02  # followed the timestamps
    assert wall_fast < wall_paced


def test_max_seconds_counts_source_time(tmp_path):
    src = FakeSource(300)
    s, ev = run_session(src, FakeAnalyzer(), tmp_path, max_seconds=2.0)
    assert s.snapshot().frames == 60 and ev[-1]["frames"] == 60


def test_manual_capture_from_another_thread_lists_failed_checks(tmp_path):
    src = FakeSource(400)
    events: list[dict] = []
    s = Session(src, FakeAnalyzer(default=Scene(exposure=10.0), delay=0.002), out_dir=tmp_path / "caps",
                lang="en", fast=True, on_event=lambda e: events.append(e.to_json()))
    th = threading.Thread(target=s.run)
    th.start()
    while s.snapshot().frames < 20:
        time.sleep(0.005)
    s.capture_now()
    th.join(10)
    caps = [e for e in events if e["event"] == "captured"]
    assert len(caps) == 1 and caps[0]["auto"] is False and caps[0]["failed"] == ["exposure"]
    rep = json.loads(Path(caps[0]["report"]).read_text())
    assert rep["mode"] == "manual" and rep["failed"] == ["exposure"] and rep["checks"]["exposure"]["pass"] is False
    assert Path(caps[0]["path"]).read_bytes() == src.frames[caps[0]["frame"]].jpeg
    assert events[-1]["captures"] == 1


def test_capture_now_before_any_frame_is_an_error_not_a_crash(tmp_path):
    src = FakeSource(0)
    events = []
    s = Session(src, FakeAnalyzer(), out_dir=tmp_path, on_event=lambda e: events.append(e.to_json()))
    s.capture_now()
    s.run()
    assert kinds(events) == ["error", "summary"] and s.snapshot().last_error


def test_unwritable_out_dir_is_a_fault_and_the_session_goes_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    src = FakeSource(200)
    events = []
    s = Session(src, FakeAnalyzer(becomes_right()), out_dir=blocker / "caps", lang="en", fast=True,
                on_event=lambda e: events.append(e.to_json()))
    s.run()
    faults = [e for e in events if e["event"] == "fault"]
    assert faults and all(f["stage"] == "capture" and "\n" not in f["reason"] for f in faults)
    assert events[-1] == {"event": "summary", "frames": 200, "captures": 0}  # it went on to the end
    assert s.snapshot().last_error == faults[0]["reason"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_rearm_allows_another_auto_capture(tmp_path):
    src = FakeSource(300)
    events = []
    s = Session(src, FakeAnalyzer(), out_dir=tmp_path, fast=True, on_event=lambda e: events.append(e.to_json()))

    def on_event(e: Event):
        events.append(e.to_json())
        if e.kind == "captured" and len(s.snapshot().captures) == 1:
            s.rearm()  # the person asks for another

    s.on_event = on_event
    s.run()
    frames = [e["frame"] for e in events if e["event"] == "captured"]
    assert frames == [0, 22]  # equal sharpness: first frame of each window; second window 22..43


def test_auto_off_never_captures_and_says_press_space(tmp_path):
    src = FakeSource(100)
    s, ev = run_session(src, FakeAnalyzer(), tmp_path, auto=False)
    assert "captured" not in kinds(ev)
    st = s.snapshot()
    assert st.progress == 0.0 and "Space" in st.hint_text


def test_timeout_offers_manual_capture_on_source_clock(tmp_path):
    src = FakeSource(int(25 * FPS))
    s, ev = run_session(src, FakeAnalyzer(default=Scene(card=False)), tmp_path)
    hints = [e for e in ev if e["event"] == "hint"]
    assert [h["check"] for h in hints] == ["card_present", "card_present"]
    assert hints[0]["offer_manual"] is False and hints[1]["offer_manual"] is True
    assert hints[1]["frame"] == 600  # 20 s at 30 fps
    assert "Space" in hints[1]["text"] and "need_card" in hints[1]["text"]
    assert s.snapshot().offer_manual is True


def test_source_reconnecting_gives_fault_then_recovered(tmp_path):
    src = FakeSource(60, live=True, statuses={20: "reconnecting", 21: "ok"})
    s, ev = run_session(src, FakeAnalyzer(default=Scene(card=False)), tmp_path, max_seconds=5)
    k = [e for e in ev if e["event"] in ("fault", "recovered")]
    assert k == [{"event": "fault", "reason": "stream stalled", "stage": "source"}, {"event": "recovered"}]


def test_skipped_frames_reported_once(tmp_path):
    src = FakeSource(40, skipped_at=5)
    _, ev = run_session(src, FakeAnalyzer(default=Scene(card=False)), tmp_path)
    assert kinds(ev).count("error") == 1
    assert ev[-1]["skipped"] == 1


def test_recording_toggle_writes_every_frame_read(tmp_path):
    src = FakeSource(200)
    events = []
    s = Session(src, FakeAnalyzer(default=Scene(card=False)), out_dir=tmp_path / "c", recordings_dir=tmp_path / "r",
                fast=True, on_event=lambda e: events.append(e.to_json()))
    path = s.toggle_recording()
    assert path is not None and path.is_dir() and s.snapshot().recording == path
    s.max_seconds = 1.0
    s.run()
    rec = FakeRecorder.instances[0]
    assert rec.frames == list(range(30)) and rec.stopped  # stopped when the session ended
    assert [e for e in events if e["event"] == "recording"] == [
        {"event": "recording", "on": True, "path": str(path)},
        {"event": "recording", "on": False, "path": str(path)}]
    assert s.snapshot().recording is None


def test_set_profile_and_lang_apply_at_once(tmp_path):
    src = FakeSource(90)
    s, _ = run_session(src, FakeAnalyzer(default=Scene(exposure=10.0)), tmp_path)
    assert s.snapshot().verdict.hint.id == "exposure"
    s.set_profile("strict")
    st = s.snapshot()
    assert st.profile == "strict" and st.verdict.result("card_present").passed is False
    s.set_profile("nonexistent")
    assert s.snapshot().profile == "strict" and "unknown profile" in s.snapshot().last_error
    s.set_lang("zh")
    assert s.snapshot().lang == "zh"


def test_stop_from_another_thread_ends_a_paced_run_with_a_summary(tmp_path):
    src = FakeSource(3000)  # 100 s of source time, paced
    events = []
    s = Session(src, FakeAnalyzer(), out_dir=tmp_path, on_event=lambda e: events.append(e.to_json()))
    th = threading.Thread(target=s.run)
    th.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    s.stop()
    th.join(5)
    assert not th.is_alive() and time.monotonic() - t0 < 1.0
    assert events[-1]["event"] == "summary" and 3 <= events[-1]["frames"] <= 15
    assert s.snapshot().status == "ended"


def test_snapshot_is_a_copy(tmp_path):
    src = FakeSource(30)
    s, _ = run_session(src, FakeAnalyzer(), tmp_path)
    snap = s.snapshot()
    snap.captures.append(Path("x"))
    assert Path("x") not in s.snapshot().captures


def test_recording_write_failure_is_a_fault_and_the_session_goes_on(tmp_path, monkeypatch):
    from coach.errors import CoachError

    class FullDisk(FakeRecorder):
        def write(self, frame):
            if frame.index == 10:
                raise CoachError("recording stopped: cannot write to X: the disk is full")
            super().write(frame)

    monkeypatch.setattr(session_mod, "make_recorder", FullDisk)
    src = FakeSource(60)
    events = []
    s = Session(src, FakeAnalyzer(default=Scene(card=False)), out_dir=tmp_path / "c", recordings_dir=tmp_path / "r",
                fast=True, on_event=lambda e: events.append(e.to_json()))
    assert s.toggle_recording() is not None
    s.run()
    assert FakeRecorder.instances[0].frames == list(range(10)) and FakeRecorder.instances[0].stopped
    faults = of_kind(events, "fault")
    assert faults == [{"event": "fault", "reason": "recording stopped: cannot write to X: the disk is full",
                       "stage": "recording"}]
    assert events[-1] == {"event": "summary", "frames": 60, "captures": 0}
    st = s.snapshot()
    assert st.recording is None and st.last_error == faults[0]["reason"]


def test_record_with_the_real_recorder_then_replay_it(tmp_path, monkeypatch):
    from coach.sources import Recorder, open_source

    monkeypatch.setattr(session_mod, "make_recorder", Recorder)
    src = FakeSource(45)
    s = Session(src, FakeAnalyzer(default=Scene(card=False)), out_dir=tmp_path / "c", recordings_dir=tmp_path / "r",
                fast=True)
    rec_dir = s.toggle_recording()
    s.run()
    back = open_source(str(rec_dir))
    got = []
    while (f := back.read()) is not None:
        got.append(f)
    back.close()
    assert [f.jpeg for f in got] == [f.jpeg for f in src.frames]  # raw frames, byte for byte
    assert [round(f.t, 6) for f in got] == [round(f.t, 6) for f in src.frames]


def of_kind(events, kind):
    return [e for e in events if e["event"] == kind]


class DropCountingSource(FakeSource):
    """Like the real live sources: `drops` grows on every ok→reconnecting, `last_fault` keeps the reason."""

    def __init__(self, n, blips: dict[int, str]):
        super().__init__(n, live=True)
        self.drops = 0
        self.last_fault = None
        self.blips = blips  # before read number i: a drop that is already over (status back to "ok")

    def read(self, timeout=1.0):
        if self.pos in self.blips:
            self.drops += 1
            self.last_fault = self.blips.pop(self.pos)
        return super().read(timeout)


def test_a_drop_over_before_the_next_poll_is_still_reported(tmp_path):
    src = DropCountingSource(40, blips={10: "connection closed by server", 20: "stalled 3 s"})
    _, ev = run_session(src, FakeAnalyzer(default=Scene(card=False)), tmp_path)
    k = [e for e in ev if e["event"] in ("fault", "recovered")]
    assert k == [{"event": "fault", "reason": "connection closed by server", "stage": "source"},
                 {"event": "recovered"},
                 {"event": "fault", "reason": "stalled 3 s", "stage": "source"},
                 {"event": "recovered"}]


def test_snapshot_offers_a_newer_live_frame_for_the_preview(tmp_path):
    """While analysis is busy, the screen previews the newest frame the live source holds."""

    class PeekSource(FakeSource):
        def peek(self, max_width: int = 640):
            return self.frames[self.pos] if self.pos < len(self.frames) else None

    src = PeekSource(5, live=True)
    s = Session(src, FakeAnalyzer(), out_dir=tmp_path / "c", recordings_dir=tmp_path / "r", fast=True)
    assert s.snapshot().preview_frame.index == 0  # nothing analysed yet: the waiting frame
    s.run()  # analyses all five; nothing newer waits
    snap = s.snapshot()
    assert snap.frame is not None and snap.frame.index == 4 and snap.preview_frame is None
    src.pos = 3  # pretend an older frame is waiting: never shown over a newer analysed one
    assert s.snapshot().preview_frame is None
