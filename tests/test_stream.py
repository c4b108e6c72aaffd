"""Live streams against real servers on 127.0.0.1: ffmpeg's MJPEG server (as in the issue) and
tools/faultserver.py for the faults ffmpeg will not produce (stall, corrupt parts, trickle)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest

from coach.errors import SourceError
from coach.sources import open_source
from coach.sources.mjpeg import MultipartParser, boundary_from_content_type, looks_like_multipart
from coach.sources.stream import READ_TIMEOUT, CaptureSource, MjpegStreamSource, parse_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from faultserver import FaultServer, synthetic_jpeg, wait_for  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed (apt-get install ffmpeg)")


# ------------------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]




def read_frames(src, n: int, timeout: float = 5.0) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        f = src.read(timeout=0.5)
        if f is not None:
            out.append(f)
    return out


def open_retrying(url: str, timeout: float = 5.0):
    """ffmpeg needs a moment before it listens; a refused open does not use up its one client."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_source(url)
        except SourceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def ffmpeg_server(frame: Path, port: int, codec: str = "mjpeg", fmt: str = "mpjpeg") -> subprocess.Popen:
    """The issue's command: `ffmpeg -re -loop 1 -framerate 30 -i frame.jpg -c:v mjpeg -f mpjpeg
    -listen 1 http://127.0.0.1:PORT/video` (one client, then it exits)."""
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-loop", "1", "-framerate", "30",
           "-i", str(frame), "-c:v", codec, "-f", fmt, "-listen", "1", f"http://127.0.0.1:{port}/video"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)


@pytest.fixture
def frame_jpg(tmp_path: Path) -> Path:
    p = tmp_path / "frame.jpg"
    p.write_bytes(synthetic_jpeg(640, 480, seed=7))
    return p


def one_line(err: BaseException) -> str:
    msg = str(err)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------------------------ ffmpeg's server
@needs_ffmpeg
def test_ffmpeg_stream_frames_arrive_and_recover_after_restart(frame_jpg: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/video"
    proc = ffmpeg_server(frame_jpg, port)
    src = open_retrying(url)
    try:
        assert isinstance(src, MjpegStreamSource) and src.live and not src.mirror_default
        frames = read_frames(src, 10)
        assert len(frames) == 10
        assert all(f.jpeg is not None and f.jpeg[:2] == b"\xff\xd8" for f in frames)
        assert src.resolution == (640, 480) and frames[0].image.shape == (480, 640, 3)
        ts = [f.t for f in frames]
        assert all(b > a for a, b in zip(ts, ts[1:]))
        assert src.status == "ok" and src.fault is None

        t_kill = time.monotonic()
        stop(proc)  # the server dies mid-session
        assert wait_for(lambda: src.status == "reconnecting", 3.0) is not None, "drop not noticed within 3 s"
        assert src.fault
        time.sleep(1.0)  # stays down a while; the source keeps retrying on its own
        assert src.status == "reconnecting"

        proc = ffmpeg_server(frame_jpg, port)
        t_back = time.monotonic()
        took = wait_for(lambda: src.status == "ok", 5.0)
        assert took is not None and took < 3.0, f"recovered after {took} s (want < 3 s of the restart)"
        assert src.fault is None
        after = read_frames(src, 3)
        assert len(after) == 3 and after[0].t > t_back and after[0].index > frames[-1].index
        print(f"drop noticed, recovered {took:.3f} s after the restart ({t_back - t_kill:.1f} s down)")
    finally:
        src.close()
        stop(proc)


@needs_ffmpeg
def test_ffmpeg_stream_frame_bytes_identical_to_what_the_server_sent(frame_jpg: Path):
    # -c:v copy sends frame.jpg itself as every part, so each received `jpeg` must equal the file
    port = free_port()
    proc = ffmpeg_server(frame_jpg, port, codec="copy")
    src = open_retrying(f"http://127.0.0.1:{port}/video")
    try:
        frames = read_frames(src, 5)
        assert len(frames) == 5
        sent = frame_jpg.read_bytes()
        expected_pixels = cv2.imdecode(np.frombuffer(sent, np.uint8), cv2.IMREAD_COLOR)
        for f in frames:
            assert f.jpeg == sent
            assert np.array_equal(f.image, expected_pixels)
        assert src.skipped == 0
    finally:
        src.close()
        stop(proc)


@needs_ffmpeg
def test_non_mjpeg_http_stream_goes_through_opencv(tmp_path: Path, frame_jpg: Path):
    # An MPEG-TS stream over HTTP is not multipart: it is handed to OpenCV's FFmpeg backend.
    # The sniffing connection uses up ffmpeg's single client, so serve in a loop.
    port = free_port()
    script = (f'while :; do "{FFMPEG}" -hide_banner -loglevel quiet -nostdin -re -loop 1 -framerate 15 '
              f'-i "{frame_jpg}" -c:v mpeg2video -q:v 5 -f mpegts -listen 1 http://127.0.0.1:{port}/ts; done')
    loop = subprocess.Popen(["bash", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    src = None
    try:
        src = open_retrying(f"http://127.0.0.1:{port}/ts", timeout=8.0)
        assert isinstance(src, CaptureSource) and src.live
        frames = read_frames(src, 3)
        assert len(frames) == 3 and frames[0].jpeg is None
        assert frames[0].image.shape == (480, 640, 3) and src.resolution == (640, 480)

        # kill the serving ffmpeg (our loop's child): the loop starts a new one, OpenCV reconnects
        children = Path(f"/proc/{loop.pid}/task/{loop.pid}/children").read_text().split()
        assert children
        t_kill = time.monotonic()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        noticed = wait_for(lambda: src.status == "reconnecting", 5.0)
        assert noticed is not None and src.fault
        took = wait_for(lambda: src.status == "ok", 8.0)
        assert took is not None, "OpenCV stream did not recover"
        f = src.read(timeout=2.0)
        assert f is not None and f.t > t_kill
        print(f"OpenCV path: drop noticed {noticed:.2f} s after kill, recovered {took:.2f} s later")
    finally:
        if src is not None:
            src.close()
        os.killpg(loop.pid, signal.SIGKILL)  # the loop and its ffmpeg: our own process group
        loop.wait(timeout=5)


# ------------------------------------------------------------------------------ fault server
@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return [synthetic_jpeg(320, 240, seed=i) for i in range(60)]


def test_stall_with_connection_open_is_noticed_within_3s_and_recovers(jpegs):
    with FaultServer(jpegs[:5], fps=30) as srv:
        src = open_source(srv.url)
        try:
            assert len(read_frames(src, 5)) == 5
            srv.stall = True  # connection stays open, no byte comes
            time.sleep(0.1)
            last_byte = srv.sent_times[-1]
            assert wait_for(lambda: src.status == "reconnecting", 4.0) is not None
            noticed = time.monotonic() - last_byte
            assert noticed <= 3.0, f"stall noticed after {noticed:.2f} s"
            assert noticed >= READ_TIMEOUT - 0.2  # and not a false alarm before the read timeout
            assert "stalled" in src.fault and src.drops == 1 and src.last_fault == src.fault
            assert src.read(timeout=0.2) is None  # nothing new while stalled
            srv.stall = False
            t_back = time.monotonic()
            took = wait_for(lambda: src.status == "ok", 4.0)
            assert took is not None and took < 3.0
            f = src.read(timeout=1.0)
            assert f is not None and f.t > t_back
            assert src.drops == 1 and "stalled" in src.last_fault  # kept after recovery
            print(f"stall noticed {noticed:.3f} s after the last byte; recovered {took:.3f} s after resume")
        finally:
            src.close()


def test_corrupt_and_garbage_parts_are_skipped_and_counted(jpegs):
    with FaultServer(jpegs[:10], fps=60) as srv:
        srv.corrupt_every = 3  # truncated JPEGs
        srv.garbage_every = 5  # parts that are not JPEG at all
        src = open_source(srv.url)
        try:
            got = []
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and (len(got) < 20 or src.skipped < 6):
                f = src.read(timeout=0.5)
                if f is not None:
                    got.append(f)
            good = set(jpegs[:10])
            assert len(got) >= 20, "the stream must go on past corrupt parts"
            assert all(f.jpeg in good for f in got), "a corrupt part was delivered as a frame"
            assert src.skipped >= 6
            assert src.status == "ok" and src.fault is None
        finally:
            src.close()


def test_slow_trickle_still_gives_frames_without_a_stall_alarm(jpegs):
    # ~1.2 s to send one frame, a chunk every 0.25 s (under the 2 s read timeout): slow, not stalled
    body = jpegs[3]
    with FaultServer([body], fps=30) as srv:
        srv.trickle = max(200, len(body) // 5)
        srv.trickle_delay = 0.25
        src = open_source(srv.url)
        try:
            statuses = set()
            got = []
            deadline = time.monotonic() + 4.0
            while time.monotonic() < deadline:
                statuses.add(src.status)
                f = src.read(timeout=0.05)
                if f is not None:
                    got.append(f)
            assert statuses == {"ok"}, "a trickle that keeps flowing is not a stall"
            assert 2 <= len(got) <= 5
            assert all(f.jpeg == body for f in got)
        finally:
            src.close()


def test_bytes_flowing_without_ever_completing_a_frame_count_as_stalled(monkeypatch):
    import coach.sources.stream as stream_mod

    monkeypatch.setattr(stream_mod, "FRAME_TIMEOUT", 1.0)  # 10 s in real use; same code path
    big = synthetic_jpeg(1280, 720, seed=1, quality=95)
    with FaultServer([big], fps=30) as srv:
        srv.trickle, srv.trickle_delay = 500, 0.05  # ~10 KB/s: one frame would take ~10 s
        src = open_source(srv.url)
        try:
            took = wait_for(lambda: src.status == "reconnecting", 3.0)
            assert took is not None and 0.9 <= took <= 2.0
            assert "no complete frame" in src.fault
        finally:
            src.close()


def test_server_closing_the_connection_reconnects_by_itself(jpegs):
    with FaultServer(jpegs[:4], fps=60) as srv:
        srv.close_after = 8  # every connection is closed by the server after 8 parts
        src = open_source(srv.url)
        try:
            got = read_frames(src, 30, timeout=4.0)
            assert len(got) == 30
            assert srv.connections >= 3
            # each drop is over within milliseconds (status may never be seen "reconnecting"),
            # but it is counted, with its reason, for the session to report
            assert src.drops >= 2 and src.last_fault == "connection closed by server"
            idx = [f.index for f in got]
            assert all(b > a for a, b in zip(idx, idx[1:]))
        finally:
            src.close()


def test_server_gone_shows_reconnecting_with_reason_then_recovers(jpegs):
    srv = FaultServer(jpegs[:5], fps=30).start()
    port = srv.port
    src = open_source(srv.url)
    try:
        assert len(read_frames(src, 3)) == 3
        srv.stop()
        assert wait_for(lambda: src.status == "reconnecting", 3.0) is not None
        assert wait_for(lambda: src.fault == "connection refused", 3.0) is not None
        srv = FaultServer(jpegs[:5], fps=30, port=port).start()
        t_back = time.monotonic()
        took = wait_for(lambda: src.status == "ok", 4.0)
        assert took is not None and took < 3.0
        f = src.read(timeout=1.0)
        assert f is not None and f.t > t_back
    finally:
        src.close()
        srv.stop()


def test_slow_reader_gets_the_newest_frame(jpegs):
    fps = 60.0
    with FaultServer(jpegs, fps=fps) as srv:  # 60 distinct frames: an old one would be recognised
        src = open_source(srv.url)
        try:
            assert src.read(timeout=2.0) is not None
            ages, behind, indices = [], [], []
            for _ in range(8):
                time.sleep(0.15)  # a slow consumer (analysis takes longer than a frame interval)
                f = src.read(timeout=1.0)
                now = time.monotonic()
                assert f is not None
                sent = list(srv.sent)
                # how many parts the server sent after the one we got
                behind.append(len(sent) - 1 - max(i for i, b in enumerate(sent) if b == f.jpeg))
                ages.append(now - f.t)
                indices.append(f.index)
            assert max(behind) <= 1, f"got frames {behind} parts old"
            assert max(ages) < 1.0 / fps + 0.03, f"frame ages {ages}"
            assert all(b - a >= 5 for a, b in zip(indices, indices[1:])), "older frames must be dropped"
        finally:
            src.close()


def test_parts_without_content_length_or_declared_boundary(jpegs):
    with FaultServer(jpegs[:6], fps=60) as srv:
        srv.content_length = False
        srv.declare_boundary = False  # like ffmpeg: application/octet-stream, boundary on the first line
        src = open_source(srv.url)
        try:
            got = read_frames(src, 10)
            assert len(got) == 10
            assert all(f.jpeg in set(jpegs[:6]) for f in got)
            assert src.skipped == 0
        finally:
            src.close()


def test_close_is_idempotent_and_stops_the_reader(jpegs):
    with FaultServer(jpegs[:3], fps=30) as srv:
        src = open_source(srv.url)
        assert src.read(timeout=2.0) is not None
        t0 = time.monotonic()
        src.close()
        src.close()
        assert time.monotonic() - t0 < 1.0
        assert not src._thread.is_alive()
        assert src.read(timeout=0.1) is None


# ------------------------------------------------------------------------------ bad URLs
@pytest.mark.parametrize("path, words", [
    ("/page", "web page"),
    ("/shot.jpg", "one picture"),
    ("/nothing", "HTTP 404"),
])
def test_urls_that_are_not_streams_fail_with_one_line(jpegs, path, words):
    with FaultServer(jpegs[:2]) as srv:
        with pytest.raises(SourceError) as err:
            open_source(f"http://127.0.0.1:{srv.port}{path}")
        assert words in one_line(err.value)


def test_refused_and_silent_servers_fail_within_about_3s(jpegs):
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        open_source(f"http://127.0.0.1:{port}/video")
    assert "connection refused" in one_line(err.value) and time.monotonic() - t0 < 1.0
    with FaultServer(jpegs[:2]) as srv:
        srv.silent = True  # accepts, never answers
        t0 = time.monotonic()
        with pytest.raises(SourceError) as err:
            open_source(srv.url)
        took = time.monotonic() - t0
        assert "timed out" in one_line(err.value) and took < 3.6
        srv.silent = False


@pytest.mark.parametrize("url", ["http://", "http://:8080/video", "http://host:99999/", "http://a b/",
                                 "rtsp://", "ftp://phone/video"])
def test_bad_url_syntax(url):
    with pytest.raises(SourceError) as err:
        open_source(url)
    msg = one_line(err.value)
    assert "URL" in msg and "8080/video" in msg  # says what a good one looks like


def test_url_credentials_are_sent_but_not_shown():
    u = parse_url("http://me:s%40cret@127.0.0.1:8080/video?x=1")
    assert u.display == "http://127.0.0.1:8080/video?x=1" and "cret" not in u.display
    import base64

    assert base64.b64decode(u.auth.split()[1]) == b"me:s@cret"


# ------------------------------------------------------------------------------ parser units
def split_parts(stream: bytes, boundary: Optional[bytes], chunk: int) -> list[bytes]:
    p = MultipartParser(boundary)
    out = []
    for i in range(0, len(stream), chunk):
        out += list(p.feed(stream[i:i + chunk]))
    return out


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("declared, used, eol, with_length", [
    (b"frame", b"--frame", b"\r\n", True),
    (b"--frame", b"--frame", b"\r\n", False),  # boundary declared with its dashes
    (None, b"--ffmpeg", b"\r\n", True),  # ffmpeg mpjpeg: no declaration
    (b"frame", b"--frame", b"\n", False),  # bare LF line ends
])
def test_parser_variants_give_back_exact_parts(jpegs, declared, used, eol, with_length, chunk):
    bodies = jpegs[:3]
    stream = b"preamble" + eol
    for b in bodies:
        stream += used + eol + b"Content-Type: image/jpeg" + eol
        if with_length:
            stream += b"Content-Length: " + str(len(b)).encode() + eol
        stream += eol + b + eol
    stream += used + eol  # the next part's delimiter completes the last part without a length
    assert split_parts(stream, declared, chunk) == bodies


def test_content_type_helpers():
    assert boundary_from_content_type('multipart/x-mixed-replace; boundary="--myboundary"') == b"myboundary"
    assert boundary_from_content_type("multipart/x-mixed-replace;boundary=Ba4oTvQMY8ew04N8dcnM") \
        == b"Ba4oTvQMY8ew04N8dcnM"
    assert boundary_from_content_type("image/jpeg") is None
    assert looks_like_multipart(b"--ffmpeg\r\nContent-type: image/jpeg\r\n")
    assert not looks_like_multipart(b"\x00\x00\x01\xba")


def test_peek_gives_the_preview_a_newer_frame_without_consuming_it(jpegs):
    """The screen previews live frames at the stream's pace while analysis is busy; peeking must
    never take the frame away from the analysis, and it may be a reduced decode."""
    big = [synthetic_jpeg(1280, 720, seed=i) for i in range(10)]
    with FaultServer(big, fps=30) as srv:
        src = open_source(srv.url)
        try:
            first = src.read(timeout=2.0)
            assert first is not None
            assert wait_for(lambda: src.peek() is not None, 2.0) is not None
            p = src.peek(max_width=320)
            assert p is not None and p.index > first.index and p.jpeg is None
            assert p.image.shape[1] == 320 and p.image.shape[0] == 180  # 1/4 DCT-scaled decode
            nxt = src.read(timeout=1.0)  # peeking did not consume: the same or a newer frame comes
            assert nxt is not None and nxt.index >= p.index and nxt.image.shape[:2] == (720, 1280)
            assert src.peek() is None or src.peek().index > nxt.index
        finally:
            src.close()
