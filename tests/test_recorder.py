"""Recorder: round trip through open_source, private permissions, interruption, write failures."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import coach.sources.recorder as recorder_mod
from coach.errors import CoachError
from coach.sources import Recorder, open_source
from coach.types import Frame

REPO = Path(__file__).resolve().parents[1]


def scene(i: int) -> np.ndarray:
    img = np.zeros((90, 120, 3), np.uint8)
    img[:, :, 0] = (i * 30) % 256
    cv2.circle(img, (20 + 5 * i, 45), 15, (255, 255, 255), -1)
    return img


def jpeg_frame(i: int, t: float) -> Frame:
    ok, enc = cv2.imencode(".jpg", scene(i), [cv2.IMWRITE_JPEG_QUALITY, 80])
    b = enc.tobytes()
    return Frame(image=cv2.imdecode(enc, cv2.IMREAD_COLOR), index=i, t=t, jpeg=b)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_round_trip_keeps_bytes_times_and_privacy(tmp_path: Path):
    old_umask = os.umask(0o022)  # a usual umask: permissions must not depend on it
    try:
        rec = Recorder(tmp_path / "recordings")
        folder = rec.start()
        frames = [jpeg_frame(i, 100.0 + i / 30) for i in range(4)]
        raw = Frame(image=scene(9), index=4, t=100.0 + 4 / 30)  # no JPEG bytes: one encode at q95
        for f in frames + [raw]:
            rec.write(f)
        assert rec.stop() == folder and rec.stop() is None
    finally:
        os.umask(old_umask)
    assert re.fullmatch(r"\d{8}-\d{6}", folder.name)
    assert folder.parent == tmp_path / "recordings"
    assert mode(folder) == 0o700 and mode(tmp_path / "recordings") == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    lines = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines()]
    assert [x["file"] for x in lines] == [f"{i:06d}.jpg" for i in range(5)]
    assert [x["index"] for x in lines] == list(range(5))
    assert [x["t"] for x in lines] == pytest.approx([i / 30 for i in range(5)])  # from the first frame

    src = open_source(str(folder))
    back = []
    while (f := src.read()) is not None:
        back.append(f)
    assert [f.jpeg for f in back[:4]] == [f.jpeg for f in frames]  # byte-exact
    assert np.abs(back[4].image.astype(int) - scene(9).astype(int)).mean() < 3  # q95 encode
    assert [f.t for f in back] == pytest.approx([i / 30 for i in range(5)])
    assert src.skipped == 0


def test_two_recordings_in_one_second_get_distinct_folders(tmp_path: Path):
    a, b = Recorder(tmp_path), Recorder(tmp_path)
    pa, pb = a.start(), b.start()
    assert pa != pb and pa.is_dir() and pb.is_dir()
    a.stop(), b.stop()


def test_not_stopped_and_truncated_manifest_still_replays(tmp_path: Path):
    rec = Recorder(tmp_path)
    folder = rec.start()
    for i in range(6):
        rec.write(jpeg_frame(i, i / 30))
    # never stopped (the program died); then the last manifest line is cut mid-way
    m = folder / "manifest.jsonl"
    m.write_bytes(m.read_bytes()[:-15])
    src = open_source(str(folder))
    names = []
    while (f := src.read()) is not None:
        names.append(f.name)
    assert names == [f"{i:06d}.jpg" for i in range(5)]
    assert src.skipped == 1


def test_killed_recording_process_replays(tmp_path: Path):
    """A real process records frames and is killed with SIGKILL: what it wrote replays."""
    code = (
        "import sys, time, cv2, numpy as np\n"
        "from pathlib import Path\n"
        "from coach.sources import Recorder\n"
        "from coach.types import Frame\n"
        "rec = Recorder(Path(sys.argv[1]))\n"
        "print(rec.start(), flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    img = np.full((60, 80, 3), i % 256, np.uint8)\n"
        "    rec.write(Frame(image=img, index=i, t=time.monotonic()))\n"
        "    i += 1\n"
        "    if i == 10: print('ten', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        folder = Path(proc.stdout.readline().strip())
        assert proc.stdout.readline().strip() == "ten"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    src = open_source(str(folder))
    n = 0
    last_t = -1.0
    while (f := src.read()) is not None:
        assert f.t > last_t
        last_t = f.t
        n += 1
    assert n >= 10
    lines = (folder / "manifest.jsonl").read_bytes().splitlines()
    assert n >= len(lines) - 1  # at most the line being written is lost


def test_unwritable_root_raises_one_line(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(CoachError) as err:
        Recorder(blocker / "recordings").start()
    msg = str(err.value)
    assert "\n" not in msg and "cannot record into" in msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_read_only_root_raises_one_line(tmp_path: Path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(CoachError) as err:
            Recorder(ro / "recordings").start()
        assert "permission denied" in str(err.value)
    finally:
        ro.chmod(0o700)


def test_disk_full_mid_frame_leaves_no_partial_file_and_stops(tmp_path: Path, monkeypatch):
    rec = Recorder(tmp_path)
    folder = rec.start()
    rec.write(jpeg_frame(0, 0.0))
    rec.write(jpeg_frame(1, 0.1))
    real_write = recorder_mod._os_write

    def full_disk(fd, data):  # the disk fills up half-way through the next frame file
        n = real_write(fd, bytes(data[: max(1, len(data) // 2)]))
        if n:
            monkeypatch.setattr(recorder_mod, "_os_write", fail)
        return n

    def fail(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recorder_mod, "_os_write", full_disk)
    with pytest.raises(CoachError) as err:
        rec.write(jpeg_frame(2, 0.2))
    assert "disk is full" in str(err.value) and "\n" not in str(err.value)
    assert not rec.active
    assert sorted(p.name for p in folder.iterdir()) == ["000000.jpg", "000001.jpg", "manifest.jsonl"]
    monkeypatch.setattr(recorder_mod, "_os_write", real_write)
    with pytest.raises(CoachError):
        rec.write(jpeg_frame(3, 0.3))  # stopped: says so instead of writing silently nowhere
    src = open_source(str(folder))
    assert src.read() is not None and src.read() is not None and src.read() is None


def test_folder_removed_while_recording(tmp_path: Path):
    rec = Recorder(tmp_path)
    folder = rec.start()
    rec.write(jpeg_frame(0, 0.0))
    import shutil

    shutil.rmtree(folder)
    with pytest.raises(CoachError) as err:
        rec.write(jpeg_frame(1, 0.1))
    assert "recording stopped" in str(err.value)
    assert not rec.active and rec.stop() is None
