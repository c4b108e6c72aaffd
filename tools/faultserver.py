#!/usr/bin/env python3
"""A small HTTP MJPEG server that misbehaves on purpose (stdlib only, 127.0.0.1 by default).

It serves `multipart/x-mixed-replace` like the phone apps (IP Webcam, DroidCam) and can inject
what ffmpeg's server will not: a stall with the connection left open, corrupt or truncated JPEG
parts, a slow trickle of bytes, the server closing the connection, parts without
Content-Length. Every knob is an attribute that can be changed while clients are connected.

Used by tests/test_stream.py, and by hand:

    python tools/faultserver.py --port 8090                  # a healthy 30 fps stream
    python tools/faultserver.py --port 8090 --stall-after 90 # stalls (connection open) after 3 s
    python tools/faultserver.py --measure                    # stall detection / recovery timings
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

BOUNDARY = "coachframe"


def synthetic_jpeg(width: int = 320, height: int = 240, seed: int = 0, quality: int = 90) -> bytes:
    """A JPEG of a coloured gradient with a number-dependent pattern (needs OpenCV)."""
    import cv2
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 255 // max(1, width - 1) + seed * 37) % 256,
                    (yy * 255 // max(1, height - 1) + seed * 91) % 256,
                    ((xx + yy + seed * 13) % 256)], axis=-1).astype(np.uint8)
    cv2.putText(img, str(seed), (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return enc.tobytes()


class FaultServer:
    """Threaded MJPEG server. Knobs (change them any time):

    frames          JPEG bodies sent in turn
    fps             frames per second
    stall           True: connected clients get no byte (connection stays open) until False
    stall_after     stall every connection after this many parts (None: never)
    close_after     close every connection after this many parts (None: never)
    corrupt_every   every k-th part is corrupt (cut short), None: none
    garbage_every   every k-th part is not a JPEG at all, None: none
    trickle         bytes per write while trickling (None: send each part at once)
    trickle_delay   seconds between trickled writes
    content_length  send a Content-Length header with each part
    declare_boundary  put the boundary in the Content-Type header (else application/octet-stream)
    refuse          True: accept and immediately close new connections
    silent          True: accept, read the request and never answer (headers never come)
    """

    def __init__(self, frames: list[bytes], fps: float = 30.0, host: str = "127.0.0.1", port: int = 0):
        self.frames = list(frames)
        self.fps = fps
        self.stall = False
        self.stall_after: Optional[int] = None
        self.close_after: Optional[int] = None
        self.corrupt_every: Optional[int] = None
        self.garbage_every: Optional[int] = None
        self.trickle: Optional[int] = None
        self.trickle_delay = 0.01
        self.content_length = True
        self.declare_boundary = True
        self.refuse = False
        self.silent = False
        self.sent: list[bytes] = []  # bodies of the last parts sent (valid or not), newest last
        self.sent_times: list[float] = []  # time.monotonic() when each part's last byte was written
        self.connections = 0
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer._serve(self)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/video"
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "FaultServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every client connection."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self.drop_clients()

    def drop_clients(self) -> None:
        with self._lock:
            clients = list(self._clients)
        for s in clients:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ serving
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        sock = h.connection
        with self._lock:
            self._clients.add(sock)
            self.connections += 1
        try:
            if self.refuse:
                return
            if self.silent:
                while not self._stopping.is_set() and self.silent:
                    time.sleep(0.05)
                return
            if h.path.startswith("/page"):
                self._simple(h, "text/html", b"<html><body>IP Webcam</body></html>")
                return
            if h.path.startswith("/shot.jpg"):
                self._simple(h, "image/jpeg", self.frames[0])
                return
            if not h.path.startswith("/video"):
                h.send_error(404)
                return
            h.send_response(200)
            ctype = (f"multipart/x-mixed-replace; boundary={BOUNDARY}" if self.declare_boundary
                     else "application/octet-stream")
            h.send_header("Content-Type", ctype)
            h.send_header("Cache-Control", "no-cache")
            h.end_headers()
            h.wfile.flush()
            self._stream(h)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with self._lock:
                self._clients.discard(sock)

    def _simple(self, h: BaseHTTPRequestHandler, ctype: str, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _stream(self, h: BaseHTTPRequestHandler) -> None:
        n = 0
        next_t = time.monotonic()
        while not self._stopping.is_set():
            if self.close_after is not None and n >= self.close_after:
                return
            while (self.stall or (self.stall_after is not None and n >= self.stall_after)) \
                    and not self._stopping.is_set():
                time.sleep(0.02)  # connection open, nothing sent
                next_t = time.monotonic()
            body = self.frames[n % len(self.frames)]
            k = n + 1
            if self.corrupt_every and k % self.corrupt_every == 0:
                body = body[: len(body) // 2]  # cut short, as on a dropping link
            elif self.garbage_every and k % self.garbage_every == 0:
                body = b"this is not a jpeg " * 20
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
            if self.content_length:
                head += f"Content-Length: {len(body)}\r\n"
            part = head.encode() + b"\r\n" + body + b"\r\n"
            if self.trickle:
                for i in range(0, len(part), self.trickle):
                    h.wfile.write(part[i:i + self.trickle])
                    h.wfile.flush()
                    time.sleep(self.trickle_delay)
            else:
                h.wfile.write(part)
                h.wfile.flush()
            with self._lock:
                self.sent.append(body)
                self.sent_times.append(time.monotonic())
                del self.sent[:-300]
                del self.sent_times[:-300]
            n += 1
            next_t += 1.0 / self.fps
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()


# ---------------------------------------------------------------------- measurement
def wait_for(pred, timeout: float, step: float = 0.005) -> Optional[float]:
    """Seconds until pred() was true, or None on timeout (also used by tests/test_stream.py)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def measure(rounds: int = 5) -> dict:
    """Stall detection (server stops sending, connection open) and recovery (server back)."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from coach.sources import open_source

    frames = [synthetic_jpeg(1280, 720, seed=i) for i in range(5)]
    stall_detect, stall_recover, drop_detect, restart_recover = [], [], [], []
    with FaultServer(frames, fps=30) as srv:
        src = open_source(srv.url)
        try:
            for _ in range(rounds):
                while src.read(0.5) is None:
                    pass
                srv.stall = True
                time.sleep(0.05)
                last = srv.sent_times[-1]
                if wait_for(lambda: src.status == "reconnecting", 10) is not None:
                    stall_detect.append(time.monotonic() - last)
                t_back = time.monotonic()
                srv.stall = False
                if wait_for(lambda: src.status == "ok", 10) is not None:
                    stall_recover.append(time.monotonic() - t_back)
        finally:
            src.close()
    # server killed and restarted on the same port
    srv = FaultServer(frames, fps=30).start()
    port = srv.port
    src = open_source(srv.url)
    try:
        for r in range(rounds):
            while src.read(0.5) is None:
                pass
            t_kill = time.monotonic()
            srv.stop()
            if wait_for(lambda: src.status == "reconnecting", 10) is not None:
                drop_detect.append(time.monotonic() - t_kill)
            time.sleep(1.2 + 0.53 * r)  # down for a while (varied): the client is in its backoff
            srv = FaultServer(frames, fps=30, port=port).start()
            t_back = time.monotonic()
            if wait_for(lambda: src.status == "ok", 10) is not None:
                restart_recover.append(time.monotonic() - t_back)
    finally:
        src.close()
        srv.stop()

    ffmpeg_detect, ffmpeg_recover = _measure_ffmpeg(frames[0], rounds)

    def stats(xs: list[float]) -> dict:
        return {"n": len(xs), "min": round(min(xs), 3), "max": round(max(xs), 3),
                "mean": round(sum(xs) / len(xs), 3)} if xs else {"n": 0}

    return {"stall_detected_after_last_byte_s": stats(stall_detect),
            "stall_recovered_after_resume_s": stats(stall_recover),
            "drop_detected_after_kill_s": stats(drop_detect),
            "recovered_after_restart_s": stats(restart_recover),
            "ffmpeg_drop_detected_after_kill_s": stats(ffmpeg_detect),
            "ffmpeg_recovered_after_restart_s": stats(ffmpeg_recover)}


def _measure_ffmpeg(jpeg: bytes, rounds: int) -> tuple[list[float], list[float]]:
    """The issue's server: ffmpeg -re -loop 1 -framerate 30 -i frame.jpg -c:v mjpeg -f mpjpeg
    -listen 1 http://127.0.0.1:PORT/video, killed (SIGKILL) and restarted each round."""
    import shutil
    import subprocess
    import tempfile

    from coach.errors import SourceError
    from coach.sources import open_source

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return [], []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/video"
    detect, recover = [], []
    with tempfile.TemporaryDirectory() as tmp:
        frame = f"{tmp}/frame.jpg"
        with open(frame, "wb") as f:
            f.write(jpeg)
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-loop", "1", "-framerate", "30",
               "-i", frame, "-c:v", "mjpeg", "-f", "mpjpeg", "-listen", "1", url]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        src = None
        try:
            t0 = time.monotonic()
            while src is None:
                try:
                    src = open_source(url)
                except SourceError:
                    if time.monotonic() - t0 > 5:
                        raise
                    time.sleep(0.05)
            for r in range(rounds):
                while src.read(0.5) is None:
                    pass
                t_kill = time.monotonic()
                proc.kill()
                proc.wait()
                if wait_for(lambda: src.status == "reconnecting", 10) is not None:
                    detect.append(time.monotonic() - t_kill)
                time.sleep(1.2 + 0.53 * r)
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                t_back = time.monotonic()
                if wait_for(lambda: src.status == "ok", 10) is not None:
                    recover.append(time.monotonic() - t_back)
        finally:
            if src is not None:
                src.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return detect, recover


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--stall-after", type=int, default=None)
    ap.add_argument("--close-after", type=int, default=None)
    ap.add_argument("--corrupt-every", type=int, default=None)
    ap.add_argument("--trickle", type=int, default=None, help="bytes per write")
    ap.add_argument("--measure", action="store_true", help="print stall/recovery timings as JSON and exit")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.rounds), indent=1))
        return 0
    w, h = (int(v) for v in args.size.lower().split("x"))
    srv = FaultServer([synthetic_jpeg(w, h, seed=i) for i in range(10)], fps=args.fps, host=args.host, port=args.port)
    srv.stall_after, srv.close_after, srv.corrupt_every, srv.trickle = (
        args.stall_after, args.close_after, args.corrupt_every, args.trickle)
    print(f"serving {srv.url} (Ctrl-C to stop)", flush=True)
    srv.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
