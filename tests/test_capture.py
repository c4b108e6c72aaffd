"""capture/: hint debouncing, the auto-capture window, and the atomic private store."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.capture import store as store_mod
from coach.capture.autocapture import AutoCapture, quad_iou
from coach.capture.hint import HintDebouncer
from coach.capture.store import CaptureError, encode_jpeg, save_capture
from coach.types import Card, CheckResult, Face, Frame, Measures, Observation, Verdict

FPS = 30.0


def verdict(*failing: str, checks=("card_present", "exposure", "card_sharp", "glare")) -> Verdict:
    results = [CheckResult(c, c not in failing, 1.0, 2.0, "" if c not in failing else f"msg_{c}") for c in checks]
    hint = next((r for r in results if not r.passed), None)
    return Verdict("hand-held", results, hint)


def shown(d: HintDebouncer):
    return d.shown.id if d.shown else None


# ------------------------------------------------------------------------------- hint
def test_hint_first_frame_shows_at_once_and_holds_before_switching():
    d = HintDebouncer()
    ch = d.feed(0.0, verdict("exposure"))
    assert ch is not None and ch.hint.id == "exposure"
    # another failing check from 0.1 s on: must wait until exposure has been shown 1.5 s
    switched_at = None
    for i in range(3, 90):
        t = i / FPS
        ch = d.feed(t, verdict("card_sharp"))
        if ch is not None:
            switched_at = t
            break
        assert shown(d) == "exposure"
    assert switched_at is not None and abs(switched_at - 1.5) < 1e-6


def test_hint_does_not_flicker_between_alternating_checks():
    d = HintDebouncer()
    changes = []
    for i in range(0, 300):  # 10 s of a raw hint alternating every frame
        ch = d.feed(i / FPS, verdict("exposure" if i % 2 else "glare"))
        if ch is not None:
            changes.append(i / FPS)
    # one-frame spikes are never confirmed: the first hint stays
    assert changes == [0.0]


def test_hint_each_shown_state_lasts_at_least_the_hold():
    d = HintDebouncer()
    rng = np.random.default_rng(3)
    changes = []
    ids = ["exposure", "glare", "card_sharp"]
    i = 0
    while i < 30 * 60:
        c = ids[int(rng.integers(0, 3))]
        for _ in range(int(rng.integers(1, 40))):  # runs of 1..40 frames
            ch = d.feed(i / FPS, verdict(c))
            if ch is not None:
                changes.append(i / FPS)
            i += 1
    gaps = np.diff(changes)
    assert len(changes) > 5
    assert gaps.min() >= 1.5 - 1e-6


def test_hint_clears_quickly_when_all_pass_and_refreshes_value():
    d = HintDebouncer()
    d.feed(0.0, verdict("glare"))
    v = verdict("glare")
    v.hint.value = 7.0
    assert d.feed(1 / FPS, v) is None and d.shown.value == 7.0  # same check: newer value, no event
    cleared = None
    for i in range(2, 30):
        ch = d.feed(i / FPS, verdict())
        if ch is not None:
            cleared = i / FPS
            break
    assert cleared is not None and cleared < 0.5 and d.shown is None


# ------------------------------------------------------------------------------- auto-capture
def quad_at(x: float, y: float = 100.0, w: float = 340.0, h: float = 214.0):
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def make_frame(i: int, fps: float = FPS) -> Frame:
    return Frame(image=np.zeros((4, 4, 3), np.uint8), index=i, t=i / fps)


def obs_with(quad, card_sharp=None, face_sharp=None) -> Observation:
    return Observation(640, 480, card=Card(quad=quad, in_frame=True),
                       measures=Measures(card_sharpness=card_sharp, face_sharpness=face_sharp))


def test_quad_iou():
    assert quad_iou(quad_at(0), quad_at(0)) == pytest.approx(1.0)
    assert quad_iou(quad_at(0, w=100, h=100), quad_at(50, w=100, h=100)) == pytest.approx(1 / 3)
    assert quad_iou(quad_at(0, w=10, h=10), quad_at(100, w=10, h=10)) == 0.0
    assert quad_iou([(0, 0), (1, 0), (2, 0), (3, 0)], quad_at(0)) == 0.0  # degenerate


def test_autocapture_fires_after_stable_window_and_picks_sharpest():
    ac = AutoCapture(stable_seconds=0.7, min_iou=0.95)
    sharp = {i: 10.0 + (i % 5) for i in range(40)}
    sharp[13] = 99.0
    fired = None
    for i in range(40):
        best = ac.feed(make_frame(i), obs_with(quad_at(100 + 0.2 * i), sharp[i]), verdict())
        if best is not None:
            fired = (i, best.frame.index)
            break
        assert 0.0 <= ac.progress() < 1.0
    assert fired == (21, 13)  # window 0..21 spans 0.7 s at 30 fps; frame 13 is the sharpest
    assert not ac.armed
    # disarmed: nothing more until rearm
    assert all(ac.feed(make_frame(i), obs_with(quad_at(100)), verdict()) is None for i in range(40, 100))
    assert ac.progress() == 0.0
    ac.rearm()
    fired2 = [i for i in range(100, 140) if ac.feed(make_frame(i), obs_with(quad_at(100)), verdict())]
    assert fired2 == [121]


def test_autocapture_tie_on_card_sharpness_uses_face_sharpness():
    ac = AutoCapture(stable_seconds=0.1, min_iou=0.9)
    out = None
    for i, (cs, fs) in enumerate([(5.0, 1.0), (5.0, 3.0), (5.0, 2.0), (4.0, 9.0)]):
        out = ac.feed(make_frame(i), obs_with(quad_at(0), cs, fs), verdict()) or out
    assert out is not None and out.frame.index == 1


def test_autocapture_failing_check_or_moving_card_restarts_window():
    ac = AutoCapture(stable_seconds=0.7, min_iou=0.95)
    fired = []
    for i in range(120):
        failing = ("glare",) if i == 15 else ()  # one bad frame restarts the window at 16
        x = 100 + (40 if i >= 40 else 0)  # the card jumps at frame 40: window restarts at 40
        if ac.feed(make_frame(i), obs_with(quad_at(x)), verdict(*failing)) is not None:
            fired.append(i)
    assert fired == [37]
    ac = AutoCapture(stable_seconds=0.7, min_iou=0.95)
    fired = []
    for i in range(120):
        x = 100 + (40 if i >= 15 else 0)  # the card jumps at frame 15 before the window filled
        if ac.feed(make_frame(i), obs_with(quad_at(x)), verdict()) is not None:
            fired.append(i)
    assert fired == [36]


def test_autocapture_slow_drift_below_iou_never_fires():
    ac = AutoCapture(stable_seconds=0.7, min_iou=0.95)
    # 20 px per frame on a 340 px card: IoU ≈ 0.89 < 0.95 between consecutive frames
    assert all(ac.feed(make_frame(i), obs_with(quad_at(20.0 * i)), verdict()) is None for i in range(60))


def test_autocapture_without_card_uses_face_box_and_needs_an_anchor():
    ac = AutoCapture(stable_seconds=0.2, min_iou=0.95)
    face = Face(box=(100.0, 80.0, 120.0, 150.0), score=0.9)
    fired = [i for i in range(20) if ac.feed(make_frame(i), Observation(640, 480, faces=[face]), verdict())]
    assert fired == [6]
    ac = AutoCapture(stable_seconds=0.2, min_iou=0.95)
    assert all(ac.feed(make_frame(i), Observation(640, 480), verdict()) is None for i in range(20))


def test_autocapture_does_not_keep_the_window_in_memory():
    ac = AutoCapture(stable_seconds=100.0, min_iou=0.5)
    for i in range(200):
        ac.feed(make_frame(i), obs_with(quad_at(0), float(i % 7)), verdict())
    held = [v for v in vars(ac).values() if isinstance(v, (list, tuple)) and v and isinstance(v[0], Frame)]
    assert held == []  # only the best candidate (one frame) is held
    assert ac._best is not None and ac._best.frame.index == 6


# ------------------------------------------------------------------------------- store
def noisy_image(h=480, w=640, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_store_keeps_original_jpeg_bytes_exactly(tmp_path: Path):
    img = noisy_image()
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    original = buf.tobytes() + b"trailer-after-EOI"  # whatever the source sent, kept as is
    frame = Frame(image=img, index=42, t=1.4, jpeg=original, name="000042.jpg")
    out = tmp_path / "caps"
    saved = save_capture(frame, verdict("glare"), out, manual=True, profile="hand-held", source="rec",
                         resolution=(640, 480), max_bytes=1000)
    assert saved.image.read_bytes() == original
    rep = json.loads(saved.report.read_text())
    assert rep["mode"] == "manual" and rep["auto"] is False
    assert rep["failed"] == ["glare"] and rep["passed"] is False
    assert rep["checks"]["glare"] == {"pass": False, "value": 1.0, "limit": 2.0}
    assert set(rep["checks"]) == {"card_present", "exposure", "card_sharp", "glare"}
    assert rep["frame"]["index"] == 42 and rep["frame"]["t"] == 1.4 and rep["resolution"] == [640, 480]
    assert rep["source"] == "rec" and rep["profile"] == "hand-held" and rep["coach_version"]
    assert rep["captured_at"] and rep["image"] == saved.image.name
    assert rep["file"]["original_bytes"] is True and rep["file"]["within_limit"] is False
    # private: files 0600, a folder we created 0700, nothing else in it
    assert stat.S_IMODE(os.stat(saved.image).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(saved.report).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    assert sorted(p.name for p in out.iterdir()) == sorted([saved.image.name, saved.report.name])


def test_store_encodes_raw_frames_once_unmodified(tmp_path: Path):
    img = np.zeros((360, 480, 3), np.uint8)
    img[:, :240] = (30, 120, 200)  # asymmetric: a mirror or crop would show
    cv2.putText(img, "ID 1234", (250, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    frame = Frame(image=img, index=3, t=0.1)
    saved = save_capture(frame, verdict(), tmp_path, manual=False, profile="hand-held", source="cam",
                         jpeg_quality=95, max_bytes=5_000_000)
    data = saved.image.read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    assert b"\xff\xc0" in data and b"\xff\xc2" not in data  # baseline, not progressive
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == img.shape
    assert np.abs(back.astype(int) - img.astype(int)).mean() < 3.0
    rep = json.loads(saved.report.read_text())
    assert rep["file"]["jpeg_quality"] == 95 and rep["auto"] is True and rep["failed"] == []


def test_store_lowers_quality_only_over_the_size_limit():
    img = noisy_image(seed=1)
    full, q = encode_jpeg(img, 95, None)
    assert q == 95
    limited, q2 = encode_jpeg(img, 95, len(full) * 2 // 3)
    assert q2 < 95 and len(limited) <= len(full) * 2 // 3
    same, q3 = encode_jpeg(img, 95, len(full) + 10)
    assert q3 == 95 and same == full


def test_store_unwritable_folder_raises_and_leaves_nothing(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    frame = Frame(image=noisy_image(64, 64), index=0, t=0.0)
    try:
        with pytest.raises(CaptureError) as err:
            save_capture(frame, verdict(), ro, manual=True, profile="hand-held", source="x")
        assert str(ro) in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(CaptureError):
            save_capture(frame, verdict(), ro / "sub", manual=True, profile="hand-held", source="x")
        assert list(ro.iterdir()) == []
    finally:
        os.chmod(ro, 0o700)


def test_store_folder_under_a_file_raises_and_leaves_nothing(tmp_path: Path):
    # works as root too: a path below a regular file can never be created
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    frame = Frame(image=noisy_image(64, 64), index=0, t=0.0)
    with pytest.raises(CaptureError) as err:
        save_capture(frame, verdict(), blocker / "caps", manual=True, profile="hand-held", source="x")
    assert "--out" in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_store_disk_full_mid_write_leaves_no_half_file(tmp_path: Path, monkeypatch):
    frame = Frame(image=noisy_image(64, 64), index=5, t=0.0)
    real_write = os.write
    calls = {"n": 0}

    def full_disk(fd, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the report: the picture must then be removed too
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(store_mod.os, "write", full_disk)
    with pytest.raises(CaptureError, match="No space left"):
        save_capture(frame, verdict(), tmp_path, manual=False, profile="hand-held", source="x")
    assert list(tmp_path.iterdir()) == []

    calls["n"] = 0
    monkeypatch.setattr(store_mod.os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(CaptureError):
        save_capture(frame, verdict(), tmp_path, manual=False, profile="hand-held", source="x")
    assert list(tmp_path.iterdir()) == []


def test_store_never_overwrites_an_existing_capture(tmp_path: Path):
    frame = Frame(image=noisy_image(32, 32), index=1, t=0.0, jpeg=b"\xff\xd8\xff fake one")
    a = save_capture(frame, None, tmp_path, manual=True, profile="card", source="x")
    frame2 = Frame(image=noisy_image(32, 32), index=1, t=0.0, jpeg=b"\xff\xd8\xff fake two")
    b = save_capture(frame2, None, tmp_path, manual=True, profile="card", source="x")
    assert a.image != b.image
    assert a.image.read_bytes().endswith(b"one") and b.image.read_bytes().endswith(b"two")
