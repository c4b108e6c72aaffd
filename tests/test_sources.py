"""File sources (image folders, recordings, videos), cameras, and bad inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.errors import SourceError
from coach.sources import open_source
from coach.sources import camera as camera_mod
from coach.sources.base import NewestSlot, decode_image, jpeg_size
from coach.sources.folder import FileListSource
from coach.sources.recording import RecordingSource
from coach.sources.video import VideoSource

REPO = Path(__file__).resolve().parents[1]


def scene(i: int, w: int = 160, h: int = 120) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = ((i * 40) % 256, 80, 200 - (i * 20) % 200)
    cv2.rectangle(img, (10 + i * 5, 10), (60 + i * 5, 70), (255, 255, 255), -1)
    return img


def jpeg_of(img: np.ndarray, q: int = 90) -> bytes:
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return enc.tobytes()


def one_line(err: BaseException) -> str:
    msg = str(err)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------------------------ image folders
def test_image_folder_sorted_by_name_original_bytes_and_skips(tmp_path: Path):
    d = tmp_path / "shots"
    d.mkdir()
    jpg = {n: jpeg_of(scene(i)) for i, n in enumerate(["b.jpg", "a.JPG", "d.jpeg"])}
    for n, b in jpg.items():
        (d / n).write_bytes(b)
    cv2.imwrite(str(d / "c.png"), scene(9))
    (d / "notes.txt").write_text("not an image")
    (d / "e.jpg").write_bytes(jpg["b.jpg"][: len(jpg["b.jpg"]) // 2])  # truncated
    (d / "f.png").write_bytes(b"\x89PNG garbage")  # corrupt
    (d / ".hidden.jpg").write_bytes(b"ignored")
    (d / "sub").mkdir()  # sub-folders are not entered

    src = open_source(str(d), fps=10)
    assert isinstance(src, FileListSource) and not src.live and not src.mirror_default
    assert "shots" in src.name
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert src.ended and src.read() is None
    assert [f.name for f in frames] == ["a.JPG", "b.jpg", "c.png", "d.jpeg"]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [f.t for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert frames[0].jpeg == jpg["a.JPG"] and frames[1].jpeg == jpg["b.jpg"]
    assert frames[2].jpeg is None  # PNG: no JPEG bytes to keep
    assert np.array_equal(frames[2].image, scene(9))
    assert src.skipped == 3  # notes.txt, e.jpg (cut short), f.png (corrupt)
    assert src.resolution == (160, 120)
    assert not frames[0].image.flags.writeable
    src.close()
    src.close()


def test_single_image_file_is_one_frame(tmp_path: Path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(jpeg_of(scene(1)))
    src = open_source(str(p))
    f = src.read()
    assert f is not None and f.jpeg == p.read_bytes() and f.name == "photo.jpg"
    assert src.read() is None and src.ended


def test_real_photos_folder_replays(frames_dir: Path):
    src = open_source(str(frames_dir))  # the shared photos (read in place, never copied)
    f = src.read()
    assert f is not None and f.jpeg is not None and f.jpeg == (frames_dir / f.name).read_bytes()
    assert f.image.ndim == 3 and f.image.dtype == np.uint8
    src.close()


# ------------------------------------------------------------------------------ recordings
def write_recording(d: Path, n: int, dt: float = 1 / 30) -> list[bytes]:
    d.mkdir()
    data = [jpeg_of(scene(i)) for i in range(n)]
    with open(d / "manifest.jsonl", "w") as m:
        for i, b in enumerate(data):
            (d / f"{i:06d}.jpg").write_bytes(b)
            m.write(f'{{"index": {i}, "t": {i * dt + 5.0}, "file": "{i:06d}.jpg"}}\n')
    return data


def test_recording_replays_with_manifest_times_and_original_bytes(tmp_path: Path):
    data = write_recording(tmp_path / "rec", 5)
    src = open_source(str(tmp_path / "rec"))
    assert isinstance(src, RecordingSource)
    frames = [src.read() for _ in range(5)]
    assert src.read() is None and src.ended
    assert [f.jpeg for f in frames] == data
    assert [f.t for f in frames] == pytest.approx([5.0 + i / 30 for i in range(5)])
    assert [f.name for f in frames] == [f"{i:06d}.jpg" for i in range(5)]


def test_interrupted_recording_replays_what_exists(tmp_path: Path):
    d = tmp_path / "rec"
    data = write_recording(d, 6)
    (d / "000002.jpg").unlink()  # a frame file missing
    (d / "000004.jpg").write_bytes(data[4][:100])  # one cut short
    raw = (d / "manifest.jsonl").read_bytes()
    (d / "manifest.jsonl").write_bytes(raw[:-20])  # the last line cut mid-way
    src = open_source(str(d))
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert [f.name for f in frames] == ["000000.jpg", "000001.jpg", "000003.jpg"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert src.skipped == 3  # missing file, truncated file, truncated manifest line


def test_manifest_cannot_reach_outside_its_folder(tmp_path: Path):
    d = tmp_path / "rec"
    d.mkdir()
    (tmp_path / "secret.jpg").write_bytes(jpeg_of(scene(0)))
    (d / "manifest.jsonl").write_text('{"index": 0, "t": 0, "file": "../secret.jpg"}\n')
    with pytest.raises(SourceError) as err:
        open_source(str(d))
    assert "no frames" in one_line(err.value)


# ------------------------------------------------------------------------------ videos
@pytest.mark.parametrize("ext, fourcc", [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_video_file_frames_and_timestamps(tmp_path: Path, ext: str, fourcc: str):
    p = tmp_path / f"clip{ext}"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*fourcc), 10.0, (160, 120))
    assert w.isOpened()
    for i in range(12):
        w.write(scene(i))
    w.release()
    src = open_source(str(p), fps=30)  # the file's own 10 fps wins over --fps for timestamps
    assert isinstance(src, VideoSource) and not src.live and src.resolution == (160, 120)
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert src.ended and len(frames) == 12
    assert [f.index for f in frames] == list(range(12))
    assert [f.t for f in frames] == pytest.approx([i / 10 for i in range(12)], abs=0.002)
    assert frames[0].jpeg is None and frames[0].image.shape == (120, 160, 3)
    # the pixels are the scene (lossy codec: close, not equal)
    assert np.abs(frames[5].image.astype(int) - scene(5).astype(int)).mean() < 12
    src.close()


# ------------------------------------------------------------------------------ bad inputs
def test_bad_inputs_give_one_clear_line(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is text")
    bad_img = tmp_path / "broken.jpg"
    bad_img.write_bytes(b"\xff\xd8\xff\xe0 nope")
    empty_rec = tmp_path / "rec"
    empty_rec.mkdir()
    (empty_rec / "manifest.jsonl").write_text("")
    cases = {
        str(tmp_path / "missing"): "no such file or folder",
        str(empty): "no images in folder",
        str(not_video): "cannot open",
        str(bad_img): "not an image",
        str(empty_rec): "no frames",
        "": "no source given",
        "99": "no camera 99",
    }
    for spec, words in cases.items():
        with pytest.raises(SourceError) as err:
            open_source(spec)
        assert words in one_line(err.value), spec
    with pytest.raises(SourceError):
        open_source(str(empty), fps=0)


def test_cli_bad_source_exits_2_with_one_line_and_no_traceback(tmp_path: Path):
    env = dict(os.environ, COACH_MODELS=str(tmp_path / "no-models"))
    proc = subprocess.run([sys.executable, "-m", "coach", "replay", str(tmp_path / "missing"), "--headless",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "no such file or folder" in lines[0] or "model" in lines[0]


# ------------------------------------------------------------------------------ JPEG helpers
def test_jpeg_structure_check(tmp_path: Path):
    b = jpeg_of(scene(3))
    assert jpeg_size(b) == (160, 120)
    assert jpeg_size(b[:-2]) is None  # no EOI: cut short
    assert jpeg_size(b[: len(b) // 2]) is None
    assert jpeg_size(b"\x89PNG") is None
    assert jpeg_size(b + b"trailer after EOI, like a motion photo") == (160, 120)
    # progressive JPEG
    ok, enc = cv2.imencode(".jpg", scene(4), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert jpeg_size(enc.tobytes()) == (160, 120)
    assert decode_image(b[: len(b) // 2]) is None and decode_image(b) is not None


def test_newest_slot_drops_old_frames_and_times_strictly_increase():
    slot = NewestSlot()
    for i in range(5):
        slot.put(jpeg=bytes([i]))
    s = slot.take(0.1)
    assert s is not None and s.jpeg == bytes([4]) and s.seq == 4
    assert slot.take(0.05) is None  # nothing newer
    ts = []
    for i in range(200):
        slot.put(jpeg=b"x")
        ts.append(slot.take(0.1).t)
    assert all(b > a for a, b in zip(ts, ts[1:]))
    threading.Timer(0.05, lambda: slot.put(jpeg=b"late")).start()
    assert slot.take(1.0).jpeg == b"late"  # take waits for a new one
    slot.close()
    assert slot.take(0.5) is None


# ------------------------------------------------------------------------------ cameras
class FakeV4L2:
    """Stands in for cv2.VideoCapture on a machine without a camera: accepts only the sizes in
    `modes`, delivers frames at `fps`; `FakeV4L2.plugged = False` pulls the cable (reads fail,
    opens fail) until it is set back."""

    instances: list["FakeV4L2"] = []
    plugged = True

    def __init__(self, index, backend, modes=((1280, 720), (640, 480)), fps=30.0):
        self.index, self.backend, self.modes, self.fps = index, backend, modes, fps
        self.w, self.h = modes[-1]
        self.calls: list[tuple] = []
        self.released = False
        self.n = 0
        FakeV4L2.instances.append(self)

    def isOpened(self):  # noqa: N802
        return FakeV4L2.plugged

    def set(self, prop, value):
        self.calls.append((prop, value))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            self._want_w = int(value)
        if prop == cv2.CAP_PROP_FRAME_HEIGHT and (self._want_w, int(value)) in self.modes:
            self.w, self.h = self._want_w, int(value)
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: self.w, cv2.CAP_PROP_FRAME_HEIGHT: self.h}.get(prop, 0)

    def read(self):
        time.sleep(1.0 / self.fps)
        if not FakeV4L2.plugged or self.released:
            return False, None
        self.n += 1
        return True, np.full((self.h, self.w, 3), self.n % 256, np.uint8)

    def release(self):
        self.released = True


def until(pred, timeout: float) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_camera_negotiates_mjpg_largest_size_and_keeps_newest(monkeypatch):
    FakeV4L2.instances.clear()
    FakeV4L2.plugged = True
    monkeypatch.setattr(camera_mod, "device_exists", lambda i: True)
    src = camera_mod.open_camera(0, capture_factory=FakeV4L2)
    try:
        cap = FakeV4L2.instances[0]
        props = [p for p, _ in cap.calls]
        assert cap.calls[0] == (cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        assert (cv2.CAP_PROP_FRAME_WIDTH, 1920) in cap.calls and (cv2.CAP_PROP_FRAME_WIDTH, 1280) in cap.calls
        assert props.index(cv2.CAP_PROP_FOURCC) < props.index(cv2.CAP_PROP_FRAME_WIDTH)
        assert (cv2.CAP_PROP_BUFFERSIZE, 1) in cap.calls
        assert src.resolution == (1280, 720)  # what the camera gave, not what was asked
        assert src.live and src.mirror_default and src.name == "camera 0"
        f1 = src.read(1.0)
        time.sleep(0.3)  # slow consumer: ~9 frames arrive meanwhile
        f2 = src.read(1.0)
        assert f1 is not None and f2 is not None and f2.jpeg is None
        assert f2.index - f1.index >= 5 and time.monotonic() - f2.t < 0.06

        FakeV4L2.plugged = False  # the USB cable is pulled
        assert until(lambda: src.status == "reconnecting", 2.0)
        assert src.fault == "camera disconnected"
        time.sleep(0.5)
        assert src.status == "reconnecting" and src.fault == "camera disconnected" and src.read(0.1) is None
        FakeV4L2.plugged = True
        t_back = time.monotonic()
        assert until(lambda: src.status == "ok", 3.0)
        f3 = src.read(1.0)
        assert f3 is not None and f3.t > t_back
    finally:
        src.close()
        FakeV4L2.plugged = True
    assert cap.released and FakeV4L2.instances[-1].released


def test_camera_that_gives_full_hd_stays_at_full_hd(monkeypatch):
    monkeypatch.setattr(camera_mod, "device_exists", lambda i: True)
    fac = lambda i, b: FakeV4L2(i, b, modes=((1920, 1080), (1280, 720)))  # noqa: E731
    src = camera_mod.open_camera(2, capture_factory=fac)
    try:
        assert src.resolution == (1920, 1080)
        f = src.read(1.0)
        assert f is not None and (f.width, f.height) == (1920, 1080)
    finally:
        src.close()


@pytest.mark.skipif(any(Path("/dev").glob("video*")), reason="this machine has a camera")
def test_no_camera_here(capsys):
    t0 = time.monotonic()
    assert camera_mod.run_cameras_command(10) == 1
    out = capsys.readouterr().out
    assert "no cameras found" in out and "http://PHONE:8080/video" in out
    assert len(out.strip().splitlines()) == 1 and time.monotonic() - t0 < 2.0
    with pytest.raises(SourceError) as err:
        open_source("0")
    assert "no camera 0" in one_line(err.value) and "PHONE" in str(err.value)
