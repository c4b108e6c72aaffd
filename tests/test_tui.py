"""The live screen: half-block preview, overlays, and the app driven by keys (Textual Pilot).

Two kinds of app tests: against a small fake Session (fast, checks that every key reaches the
session and that the screen shows the session's state), and against the real Session + Analyzer
on an image-folder replay (files written, recording replayable), skipped without the models.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest

from coach.tui.app import CoachApp, build_session
from coach.tui.overlays import guide_rect, prepare_preview
from coach.tui.preview import HALF, HalfBlockRenderer, fit_rect, to_canvas
from coach.tui.widgets import Checklist, HintPanel, StatusBar
from coach.types import Card, CheckResult, Face, Frame, Observation, Verdict

SIZE = (160, 50)


# ---------------------------------------------------------------------- half-block preview
def _colors(seg):
    st = seg.style
    return st.color.triplet, st.bgcolor.triplet


def test_half_block_top_pixel_is_foreground_bottom_is_background():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [10, 20, 30]],
                    [[0, 0, 255], [255, 255, 255], [10, 20, 30]]], np.uint8)
    strips = HalfBlockRenderer(bits=8).strips(rgb)
    assert len(strips) == 1
    cells = [(seg.text, _colors(seg)) for seg in strips[0]]
    # one cell per column; the third column has the same colour above and below
    assert "".join(t for t, _ in cells) == HALF * 3
    assert cells[0][1] == ((255, 0, 0), (0, 0, 255))
    assert cells[1][1] == ((0, 255, 0), (255, 255, 255))
    assert cells[2][1] == ((10, 20, 30), (10, 20, 30))
    assert strips[0].cell_length == 3


def test_half_block_runs_share_one_segment_and_quantisation_keeps_colours_close():
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0:2, :] = (200, 100, 50)  # first cell row: one colour pair across the row
    rgb[2, :3], rgb[3, :3] = (13, 77, 250), (250, 250, 0)
    r = HalfBlockRenderer(bits=5)
    strips = r.strips(rgb)
    assert len(strips[0]._segments) == 1 and strips[0]._segments[0].text == HALF * 6
    fg, bg = _colors(strips[1]._segments[0])
    assert max(abs(a - b) for a, b in zip(fg, (13, 77, 250))) <= 4
    assert max(abs(a - b) for a, b in zip(bg, (250, 250, 0))) <= 4
    # the same pair is served from the cache the second time
    misses = r.misses
    r.strips(rgb)
    assert r.misses == misses


def test_half_block_rejects_odd_height():
    with pytest.raises(ValueError):
        HalfBlockRenderer().strips(np.zeros((3, 4, 3), np.uint8))


def test_fit_rect_keeps_aspect_and_centres():
    assert fit_rect(1280, 720, 160, 100) == (0, 5, 160, 90)
    assert fit_rect(720, 1280, 160, 100) == (52, 0, 56, 100)


def test_preview_never_touches_the_frame_and_mirrors_overlays_with_the_picture():
    img = np.zeros((200, 320, 3), np.uint8)
    img[:, :160] = (0, 0, 255)  # left half red (BGR)
    img.setflags(write=False)  # a write into the frame would raise
    face = Face(box=(20.0, 20.0, 60.0, 60.0), score=0.9)
    obs = Observation(width=320, height=200, faces=[face])
    plain, _ = prepare_preview(img, obs, 32, 20, mirror=False, overlays=True, profile="hand-held")
    mirrored, _ = prepare_preview(img, obs, 32, 20, mirror=True, overlays=True, profile="hand-held")
    assert plain.shape == (20, 32, 3)
    assert np.array_equal(mirrored, plain[:, ::-1])
    # the face box is drawn (cyan-ish in RGB) at the scaled position, on the left when not mirrored
    assert tuple(plain[2, 4]) != (255, 0, 0)
    bare, _ = prepare_preview(img, None, 32, 20, mirror=False, overlays=False, profile="hand-held")
    assert tuple(bare[2, 4]) == (255, 0, 0) and tuple(bare[2, 28]) == (0, 0, 0)


def test_guide_follows_the_face_for_hand_held_and_is_centred_for_card():
    obs = Observation(width=1280, height=720, faces=[Face(box=(600, 100, 120, 150), score=0.9)])
    kind, (x, y, w, h) = guide_rect("hand-held", 1280, 720, obs)
    assert kind == "rect" and y > 100 + 150 and abs((x + w / 2) - 660) < 1
    kind, (x, y, w, h) = guide_rect("card", 1280, 720, None)
    assert abs(x + w / 2 - 640) < 1 and abs(y + h / 2 - 360) < 1
    assert guide_rect("half-body", 1280, 720, None)[0] == "ellipse"


def test_checklist_values_and_limits_read_as_thresholds():
    from coach.checks.display import format_limit, format_value
    from coach.types import CheckResult

    def r(cid, value, limit=None):
        return CheckResult(cid, True, value, limit, "")

    assert format_value(r("face_sharp", None)) == "—" and format_value(r("face_visible", 1)) == "1"
    assert format_value(r("exposure", 104.4)) == "104" and format_value(r("card_size", 0.0621)) == "6.2%"
    assert format_value(r("card_facing", 6.4)) == "6°" and format_value(r("resolution", 720.0)) == "720p"
    assert format_limit(r("face_sharp", 0.3, 0.13), {"min": 0.13}) == "≥ 0.13"
    assert format_limit(r("glare", 0.0, 0.015), {"max": 0.015}) == "≤ 1.5%"
    assert format_limit(r("exposure", 99, [40.0, 215.0]), {"min": 40.0, "max": 215.0}) == "40 – 215"
    assert format_limit(r("card_size", 0.1, [0.03, 0.5]), {"min": 0.03, "max": 0.5}) == "3.0% – <50.0%"
    assert format_limit(r("resolution", 720, [1280, 720]), {"min_long": 1280, "min_short": 720}) == "≥ 1280×720"
    assert format_limit(r("face_visible", 1, 1), {"min_score": 0.5}) == "= 1"


def test_to_canvas_reuses_the_buffer():
    img = np.full((90, 160, 3), 77, np.uint8)
    c1, rect = to_canvas(img, 40, 30)
    c2, _ = to_canvas(img, 40, 30, c1)
    assert c2 is c1 and rect == (0, 4, 40, 22)


# ---------------------------------------------------------------------- a fake Session
@dataclass
class FakeState:
    frame: Optional[Frame] = None
    observation: Optional[Observation] = None
    verdict: Optional[Verdict] = None
    hint: Optional[CheckResult] = None
    hint_text: str = ""
    progress: float = 0.0
    source_name: str = "fake"
    resolution: Optional[tuple[int, int]] = (320, 180)
    analysed_fps: float = 0.0
    status: str = "ok"
    fault: Optional[str] = None
    recording: Optional[Path] = None
    auto: bool = True
    armed: bool = True
    profile: str = "hand-held"
    lang: str = "en"
    captures: list = field(default_factory=list)
    last_error: Optional[str] = None
    frames: int = 0


CHECKS = {"hand-held": ["card_present", "face_visible", "card_size"], "half-body": ["face_visible", "no_card"],
          "card": ["card_present", "glare"]}


class FakeSession:
    """Just enough Session for the screen: records the commands it receives."""

    def __init__(self, out_dir: Path, lang: str = "en") -> None:
        self.state = FakeState(lang=lang)
        self.out_dir = out_dir
        self.calls: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        img = np.zeros((180, 320, 3), np.uint8)
        img[:90] = (40, 160, 40)
        self.image = img

    def _verdict(self) -> Verdict:
        ids = CHECKS[self.state.profile]
        results = [CheckResult(i, i != "card_size", 0.31 if i == "card_size" else 1.0, [0.4, 0.9],
                               "" if i != "card_size" else "card_too_small") for i in ids]
        return Verdict(self.state.profile, results, hint=next((r for r in results if not r.passed), None))

    def run(self) -> None:
        i = 0
        while not self._stop.wait(0.02):
            with self._lock:
                v = self._verdict()
                self.state.frame = Frame(self.image, i, i / 30)
                self.state.observation = Observation(320, 180, faces=[Face((100, 20, 60, 70), 0.9)],
                                                     card=Card([(50, 100), (150, 100), (150, 160), (50, 160)],
                                                               True))
                self.state.verdict = v
                self.state.hint_text = "Bring the card closer" if self.state.lang == "en" else "把证件拿近一些"
                self.state.frames = i + 1
                self.state.analysed_fps = 30.0
            i += 1
        with self._lock:
            self.state.status = "ended"

    def stop(self) -> None:
        self.calls.append("stop")
        self._stop.set()

    def capture_now(self) -> None:
        self.calls.append("capture")
        with self._lock:
            p = self.out_dir / f"capture_{len(self.state.captures)}.jpg"
            p.write_bytes(b"x")
            self.state.captures.append(p)

    def set_auto(self, on: bool) -> None:
        self.calls.append(f"auto:{on}")
        with self._lock:
            self.state.auto = on

    def set_profile(self, name: str) -> None:
        self.calls.append(f"profile:{name}")
        with self._lock:
            self.state.profile = name
            self.state.verdict = self._verdict()

    def set_lang(self, lang: str) -> None:
        self.calls.append(f"lang:{lang}")
        with self._lock:
            self.state.lang = lang

    def toggle_recording(self):
        self.calls.append("record")
        with self._lock:
            self.state.recording = None if self.state.recording else self.out_dir / "rec"
            return self.state.recording

    def rearm(self) -> None:
        self.calls.append("rearm")
        with self._lock:
            self.state.armed = True

    def snapshot(self):
        with self._lock:
            return replace(self.state, captures=list(self.state.captures))


async def _until(pilot, cond, timeout: float = 10.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        await pilot.pause(step)
    return cond()


def _text(widget) -> str:  # noqa: D401
    """What a Static-based widget shows, as plain text."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(widget.content if not isinstance(widget, HintPanel) else widget.text)
    return console.export_text()


async def test_keys_reach_the_session_and_the_screen_shows_its_state(tmp_path):
    fake = FakeSession(tmp_path)
    app = CoachApp(fake, mirror=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: app.preview.paint_fps() > 0 or fake.state.frames > 5)
        await pilot.pause(0.2)
        checklist = app.query_one(Checklist)
        assert "card_size" not in _text(checklist)  # display names, not ids
        text = _text(checklist)
        assert "Card size" in text or "card size" in text.lower(), text
        assert "✗" in text and "✓" in text and "31.0%" in text  # card size as a share of the frame
        assert "Bring the card closer" in _text(app.query_one(HintPanel))

        await pilot.press("space")
        assert fake.calls[-1] == "capture" and (tmp_path / "capture_0.jpg").exists()
        await pilot.pause(0.1)
        assert "saved" in _text(app.query_one(HintPanel))

        await pilot.press("p")
        assert fake.calls[-1] == "profile:half-body"
        await pilot.pause(0.1)
        assert "No card" in _text(checklist) or "no card" in _text(checklist).lower()

        await pilot.press("l")
        assert fake.calls[-1] == "lang:zh"
        await pilot.pause(0.1)
        assert "人脸" in _text(checklist) or "脸" in _text(checklist), _text(checklist)
        assert "把证件拿近一些" in _text(app.query_one(HintPanel))
        keys = _text(app.query_one("#keys"))
        assert "Space  拍照" in keys and "L  English" in keys and "Capture" not in keys

        await pilot.press("a")
        assert fake.calls[-1] == "auto:False"
        await pilot.press("enter")
        assert fake.calls[-1] == "rearm"
        await pilot.press("r")
        assert fake.calls[-1] == "record"
        await pilot.pause(0.6)
        assert "rec" in _text(app.query_one(StatusBar))

        before = app.mirror
        await pilot.press("m")
        assert app.mirror is (not before)
        await pilot.press("o")
        assert app.overlays is False

        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert app.screen.__class__.__name__ == "HelpScreen"
        help_text = _text(app.screen.query_one("#help-text"))
        assert "空格" in help_text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen.__class__.__name__ != "HelpScreen"

        await pilot.press("q")
        await pilot.pause(0.2)
    assert "stop" in fake.calls
    assert app.return_code == 0
    assert app.session_done.wait(2)


async def test_after_an_auto_capture_the_hint_says_where_and_enter_rearms(tmp_path):
    fake = FakeSession(tmp_path)
    app = CoachApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: fake.state.frames > 2)
        with fake._lock:  # what the session does after an auto-capture
            p = tmp_path / "2026-11-27_0244_auto.jpg"
            p.write_bytes(b"x")
            fake.state.captures.append(p)
            fake.state.armed = False
        await pilot.pause(0.2)
        shown = _text(app.query_one(HintPanel))
        assert "saved" in shown and p.name in shown and "Enter" in shown
        await pilot.press("enter")
        assert fake.calls[-1] == "rearm" and fake.state.armed
        await pilot.pause(0.1)
        assert "Enter for another" not in _text(app.query_one(HintPanel))
        await pilot.press("q")


async def test_preview_paints_the_newest_frame(tmp_path):
    fake = FakeSession(tmp_path)
    app = CoachApp(fake, mirror=False, overlays=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: fake.state.frames > 3)
        await pilot.pause(0.2)
        p = app.preview
        w, h = p.pixel_size()
        assert w > 80 and h > 40
        # the fake's frame: green on top, black below; the preview's upper rows show green
        strip = p.render_line(h // 4 // 2 + 2)
        seg = next(s for s in strip if s.text.strip())
        assert seg.style.color.triplet[1] > 120
        await pilot.press("q")


async def test_reconnecting_source_is_shown_on_screen(tmp_path):
    fake = FakeSession(tmp_path)
    app = CoachApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: fake.state.frames > 2)
        with fake._lock:
            fake.state.status, fake.state.fault = "reconnecting", "no frame from http://phone:8080/video for 2 s"
        await pilot.pause(0.7)  # the status bar refreshes twice a second
        assert "reconnecting" in _text(app.query_one(HintPanel))
        assert "phone:8080" in _text(app.query_one(StatusBar))
        with fake._lock:
            fake.state.status, fake.state.fault = "ok", None
        await pilot.pause(0.7)
        assert "reconnecting" not in _text(app.query_one(HintPanel))
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_failing_session_is_shown_not_raised(tmp_path):
    fake = FakeSession(tmp_path)

    def boom():
        raise RuntimeError("camera exploded")

    fake.run = boom
    app = CoachApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: app.session_error is not None)
        await pilot.pause(0.1)
        assert "camera exploded" in _text(app.query_one(HintPanel))
        await pilot.press("q")
    assert app.return_code == 0


# ---------------------------------------------------------------------- the real engine
def _folder_of_frames(frames_dir: Path, dest: Path, n: int = 40) -> Path:
    """An image folder replay made at test time from the shared photos (written to tmp only)."""
    dest.mkdir(parents=True, exist_ok=True)
    photos = sorted(frames_dir.glob("hold_id_*.jpg"))[:3] or sorted(frames_dir.glob("*.jpg"))[:3]
    for i in range(n):
        img = cv2.imread(str(photos[(i // 14) % len(photos)]))
        img = cv2.resize(img, (640, 480))
        cv2.imwrite(str(dest / f"frame_{i:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return dest


def _need_engine():
    try:
        from coach.session import Session  # noqa: F401
        from coach.sources import open_source  # noqa: F401
    except ImportError as e:
        pytest.skip(f"session/sources not available yet: {e}")


async def test_real_session_capture_profile_language_record_and_replay(tmp_path, frames_dir, models_dir):
    _need_engine()
    from coach.sources import open_source

    folder = _folder_of_frames(frames_dir, tmp_path / "frames")
    out, recs = tmp_path / "out", tmp_path / "recordings"
    built = build_session(str(folder), profile="hand-held", lang="en", out_dir=out, fps=5.0, mirror=None,
                          models_dir=models_dir, recordings_dir=recs)
    app = CoachApp(built.session, mirror=built.mirror)
    built.bridge.attach(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            session = built.session
            assert await _until(pilot, lambda: session.snapshot().verdict is not None, timeout=30)
            assert built.mirror is False  # files are never mirrored by default
            await pilot.pause(0.1)
            checklist = app.query_one(Checklist)
            shown = _text(checklist)
            hand_held = [r.id for r in session.snapshot().verdict.results]
            assert "hands_on_card" in hand_held and ("Hands on card" in shown or "hands" in shown.lower())

            await pilot.press("r")  # start recording while frames flow
            assert await _until(pilot, lambda: session.snapshot().recording is not None)
            rec_dir = session.snapshot().recording

            await pilot.press("space")
            assert await _until(pilot, lambda: any(out.glob("*.jpg")), timeout=10)
            assert len(session.snapshot().captures) == 1
            assert await _until(pilot, lambda: "saved" in _text(app.query_one(HintPanel)))

            await pilot.press("p")
            assert await _until(pilot, lambda: session.snapshot().profile == "half-body")
            assert await _until(pilot, lambda: (v := session.snapshot().verdict) is not None
                                and v.profile == "half-body")
            await pilot.pause(0.1)
            half_ids = [r.id for r in session.snapshot().verdict.results]
            assert half_ids != hand_held
            assert "half-body" in str(checklist.border_title)
            assert "hands_on_card" not in half_ids or _text(checklist) != shown

            await pilot.press("l")
            assert await _until(pilot, lambda: session.snapshot().lang == "zh")
            await pilot.pause(0.1)
            from coach.checks.messages import check_name

            assert check_name(half_ids[0], "zh") in _text(checklist)

            await pilot.pause(1.0)  # a few more recorded frames
            await pilot.press("r")
            assert await _until(pilot, lambda: session.snapshot().recording is None)
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        built.close(done=app.session_done)
    assert app.session_done.is_set()

    assert rec_dir is not None and rec_dir.is_dir() and rec_dir.parent == recs
    src = open_source(str(rec_dir))
    try:
        got = []
        while len(got) < 3:
            f = src.read(timeout=1.0)
            if f is None:
                if src.ended:
                    break
                continue
            got.append(f)
    finally:
        src.close()
    assert len(got) >= 3 and got[0].image.shape == (480, 640, 3)


# ---------------------------------------------------------------------- run_app errors
def test_bad_source_is_one_line_and_exit_2_before_the_screen(tmp_path, capsys):
    from coach.cli import main

    rc = main(["--source", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("coach: ") and "\n" not in err and "missing" in err
    assert not (tmp_path / "out").exists()


def test_missing_models_are_one_line_and_exit_2_before_the_screen(tmp_path, capsys):
    from coach.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), np.full((48, 64, 3), 128, np.uint8))
    empty = tmp_path / "models"
    empty.mkdir()
    rc = main(["--source", str(folder), "--models", str(empty), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("coach: ") and "\n" not in err and "model" in err


async def test_preview_uses_a_newer_unanalysed_frame_when_the_session_offers_one(tmp_path):
    fake = FakeSession(tmp_path)
    newer = np.zeros((180, 320, 3), np.uint8)
    newer[:] = (0, 0, 250)  # red (BGR)

    class WithPreviewFrame(FakeSession):
        def snapshot(self):
            st = super().snapshot()
            st.preview_frame = Frame(newer, 999, 99.0)
            return st

    fake.__class__ = WithPreviewFrame
    app = CoachApp(fake, overlays=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await _until(pilot, lambda: fake.state.frames > 2)
        await pilot.pause(0.2)
        p = app.preview
        strip = p.render_line(p.size.height // 2)
        seg = next(s for s in strip if s.text.strip())
        assert seg.style.color.triplet[0] > 200 and seg.style.color.triplet[1] < 40
        await pilot.press("q")


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("COACH_SLOW_TESTS"),
                    reason="writes and replays a whole scenario (~1 min on 2 cores): set COACH_SLOW_TESTS=1")
async def test_auto_capture_on_a_scenario_shows_saved_then_enter_rearms(tmp_path, frames_dir, models_dir):
    """H3's becomes_right scenario through the real engine: the screen says where the photo went
    and how to take another; Enter re-arms auto-capture."""
    _need_engine()
    try:
        from coach.synth import write_scenario
    except ImportError as e:
        pytest.skip(f"coach.synth not available: {e}")
    rec = write_scenario(frames_dir, tmp_path, "becomes_right")
    out = tmp_path / "out"
    built = build_session(str(rec), profile="hand-held", lang="en", out_dir=out, fps=30.0, mirror=None,
                          models_dir=models_dir, recordings_dir=tmp_path / "recordings", fast=True)
    app = CoachApp(built.session, mirror=built.mirror)
    built.bridge.attach(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            session = built.session
            await _until(pilot, lambda: bool(session.snapshot().captures) or session.snapshot().status == "ended",
                         timeout=120)
            if not session.snapshot().captures:
                pytest.skip("the engine made no auto-capture on this scenario (an engine matter, not the screen's)")
            state = session.snapshot()
            assert state.armed is False and state.captures[0].parent == out
            await pilot.pause(0.2)
            shown = _text(app.query_one(HintPanel))
            assert "saved" in shown and state.captures[0].name in shown
            assert "Enter" in shown
            await pilot.press("enter")
            assert session.snapshot().armed is True
            await pilot.press("q")
    finally:
        built.close(done=app.session_done)
