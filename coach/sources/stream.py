"""Live network streams: HTTP MJPEG (phone apps) parsed here, anything else through OpenCV's
FFmpeg backend. Both read on their own thread that keeps only the newest frame, notice a stall
within READ_TIMEOUT, and reconnect by themselves with a capped backoff.

Timing (the issue asks: a stall noticed within 3 s, recovery within 3 s of the server returning):
- CONNECT_TIMEOUT 3 s for the TCP/TLS connect and the response headers;
- READ_TIMEOUT 2 s: no byte at all for 2 s on an open connection is a stall. A slow trickle is
  *not* a stall as long as bytes keep coming; but if bytes flow without completing one frame for
  FRAME_TIMEOUT (10 s) the stream is treated as stalled too (a link that slow is unusable, and a
  server sending filler forever must not look healthy);
- reconnect attempts right away, then after 0.1, 0.2, 0.4, 0.8, 1, 1, ... s: a server that comes
  back is found within about 1 s plus the time to its first frame.

Privacy: the only connection ever opened is to the URL the user gave; redirects are not followed.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from coach.errors import SourceError
from coach.sources.base import (BACKOFF_CAP, BACKOFF_START, NewestSlot, Source, StopFlag, decode_image, jpeg_size,
                                peek_slot, quiet_opencv)
from coach.sources.mjpeg import MjpegError, MultipartParser, boundary_from_content_type, looks_like_multipart
from coach.types import Frame

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 2.0
FRAME_TIMEOUT = 10.0
CHUNK = 64 * 1024
URL_EXAMPLE = "e.g. http://192.168.1.5:8080/video (IP Webcam) or http://192.168.1.5:4747/video (DroidCam)"


# --------------------------------------------------------------------------- URLs
@dataclass(frozen=True)
class StreamUrl:
    url: str  # as given
    scheme: str
    host: str
    port: int
    target: str  # path + query sent in the request line
    auth: Optional[str]  # "Basic ..." header value when the URL carries user:password

    @property
    def display(self) -> str:
        """The URL without its password, for the status bar and messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.target}"


def parse_url(url: str) -> StreamUrl:
    bad = f"bad stream URL {url!r}: expected scheme://HOST:PORT/PATH, {URL_EXAMPLE}"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SourceError(bad) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "rtsp", "rtsps") or not parts.hostname or any(c.isspace() for c in url.strip()):
        raise SourceError(bad)
    default = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}[scheme]
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    auth = None
    if parts.username is not None:
        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(cred).decode("ascii")
    return StreamUrl(url.strip(), scheme, parts.hostname, port or default, target, auth)


# --------------------------------------------------------------------------- faults
class StreamFault(Exception):
    """Why a connection attempt or a running stream failed, in a few words (shown while
    reconnecting). `hint` is added when the failure is reported as a SourceError on open."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class NotMjpeg(Exception):
    """The URL answers, but with something other than multipart JPEG: hand it to OpenCV."""


def _describe(err: BaseException) -> str:
    if isinstance(err, StreamFault):
        return err.reason
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, (socket.timeout, TimeoutError)):
        return "connect timed out"
    if isinstance(err, socket.gaierror):
        return "host not found"
    if isinstance(err, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(err, ssl.SSLError):
        return "TLS error"
    if isinstance(err, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return "connection closed by server"
    if isinstance(err, http.client.HTTPException):
        return "not an HTTP video server"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return type(err).__name__


# --------------------------------------------------------------------------- HTTP MJPEG
@dataclass
class _Conn:
    conn: http.client.HTTPConnection
    sock: Optional[socket.socket]  # kept here: http.client forgets it once a response "will close"
    resp: http.client.HTTPResponse
    parser: MultipartParser
    head: bytes  # bytes already read while sniffing the content, fed to the parser first

    def close(self) -> None:
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv on another thread
            except OSError:
                pass
        try:
            self.conn.close()
        except OSError:
            pass


def _sniff(resp: http.client.HTTPResponse, want: int = 256) -> bytes:
    head = b""
    while len(head) < want:
        data = resp.read1(want - len(head))
        if not data:
            break
        head += data
        if looks_like_multipart(head) or b"\n" in head and not head.lstrip(b"\r\n").startswith(b"--"):
            break
    return head


def connect_mjpeg(u: StreamUrl) -> _Conn:
    """One connection attempt. Raises StreamFault (cannot connect / refused by the server) or
    NotMjpeg (the server answers with another kind of media)."""
    if u.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            u.host, u.port, timeout=CONNECT_TIMEOUT, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(u.host, u.port, timeout=CONNECT_TIMEOUT)
    try:
        headers = {"User-Agent": "capture-coach", "Accept": "multipart/x-mixed-replace, */*"}
        if u.auth:
            headers["Authorization"] = u.auth
        conn.request("GET", u.target, headers=headers)
        sock = conn.sock
        resp = conn.getresponse()  # headers within CONNECT_TIMEOUT
        if sock is not None:
            sock.settimeout(READ_TIMEOUT)  # the response reads from this socket from now on
        if resp.status in (401, 403):
            raise StreamFault(f"HTTP {resp.status} {resp.reason}".strip(),
                              "the stream needs a login: put it in the URL, http://USER:PASSWORD@PHONE:8080/video")
        if 300 <= resp.status < 400:
            where = resp.getheader("Location", "?")
            raise StreamFault(f"HTTP {resp.status} redirect to {where}", "use that URL directly")
        if resp.status != 200:
            raise StreamFault(f"HTTP {resp.status} {resp.reason}".strip(),
                              f"check the path: {URL_EXAMPLE}")
        ctype = (resp.getheader("Content-Type") or "").strip()
        low = ctype.lower()
        if low.startswith("multipart/"):
            return _Conn(conn, sock, resp, MultipartParser(boundary_from_content_type(ctype)), b"")
        if low.startswith("text/html"):
            raise StreamFault("the URL is a web page, not a video stream",
                              f"use the app's stream address, {URL_EXAMPLE}")
        if low.startswith("image/"):
            raise StreamFault("the URL gives one picture, not a stream",
                              f"use the app's stream address, {URL_EXAMPLE}")
        head = _sniff(resp)  # ffmpeg's mpjpeg says application/octet-stream
        if looks_like_multipart(head):
            return _Conn(conn, sock, resp, MultipartParser(None), head)
        raise NotMjpeg(ctype or "no content type")
    except BaseException:
        try:
            conn.close()
        except OSError:
            pass
        raise


class MjpegStreamSource(Source):
    """HTTP MJPEG. The reader thread only splits parts and checks each is a complete JPEG
    (cheap, no pixel work); `read` decodes just the parts that are actually consumed."""

    live = True
    mirror_default = False

    def __init__(self, u: StreamUrl, first: _Conn):
        self.name = u.display
        self._u = u
        self.status = "ok"
        self.fault = None
        self.ended = False
        self.resolution = None
        self._skipped = 0
        self._lock = threading.Lock()
        self._slot = NewestSlot()
        self._stop = StopFlag()
        self._conn: Optional[_Conn] = first
        self._thread = threading.Thread(target=self._run, name=f"mjpeg {u.display}", daemon=True)
        self._thread.start()

    # --- counters shared by the reader thread and `read`
    @property
    def skipped(self) -> int:  # type: ignore[override]
        return self._skipped

    def _skip(self) -> None:
        with self._lock:
            self._skipped += 1

    # --- reader thread
    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            c = self._conn
            if c is None:
                try:
                    c = connect_mjpeg(self._u)
                except NotMjpeg:
                    self._lost("not an MJPEG stream any more")
                except Exception as err:  # noqa: BLE001 - every failure is a reason to retry
                    self._lost(_describe(err))
                if c is None:
                    if self._stop.wait(backoff):
                        break
                    backoff = min(BACKOFF_CAP, max(BACKOFF_START, backoff * 2))
                    continue
                self._conn = c
            before = self._slot.count
            try:
                self._pump(c)
            except Exception as err:  # noqa: BLE001
                if not self._stop.is_set():
                    self._lost(_describe(err))
            finally:
                c.close()
                self._conn = None
            if self._slot.count > before:
                backoff = 0.0  # it was working: retry right away, most drops are one-off
            else:  # connected but no frame came: do not hammer a server that accepts and hangs up
                if self._stop.wait(backoff):
                    break
                backoff = min(BACKOFF_CAP, max(BACKOFF_START, backoff * 2))
        self._slot.close()

    def _pump(self, c: _Conn) -> None:
        """Read parts until the connection fails; raises StreamFault with the reason."""
        last_frame = time.monotonic()
        pending = c.head
        while not self._stop.is_set():
            if pending:
                data, pending = pending, b""
            else:
                try:
                    data = c.resp.read1(CHUNK)
                except (socket.timeout, TimeoutError):
                    raise StreamFault(f"stream stalled (no data for {READ_TIMEOUT:g} s)") from None
                except (http.client.IncompleteRead, ValueError):  # cut mid-chunk, or closed under us
                    if self._stop.is_set():
                        return
                    raise StreamFault("connection closed by server") from None
                except (OSError, http.client.HTTPException) as err:
                    if self._stop.is_set():
                        return
                    raise StreamFault(_describe(err)) from None
                if not data:
                    raise StreamFault("connection closed by server")
            try:
                parts = list(c.parser.feed(data))
            except MjpegError as err:
                raise StreamFault(f"corrupt stream ({err})") from None
            for part in parts:
                size = jpeg_size(part)
                if size is None:
                    self._skip()  # cut short or not a JPEG: the stream goes on
                    continue
                if self.resolution is None:
                    self.resolution = size  # known before the first decode; `read` keeps it current
                self._slot.put(jpeg=part)
                last_frame = time.monotonic()
                self._back()  # recovered (if it was reconnecting): frames flow again
            if time.monotonic() - last_frame > FRAME_TIMEOUT:
                raise StreamFault(f"stream stalled (no complete frame for {FRAME_TIMEOUT:g} s)")


    # --- consumer side
    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            slot = self._slot.take(max(0.0, deadline - time.monotonic()))
            if slot is None:
                return None
            assert slot.jpeg is not None
            image = decode_image(slot.jpeg)
            if image is None:
                self._skip()  # complete but undecodable: skip it, wait for the next one
                continue
            image.flags.writeable = False
            self.resolution = (int(image.shape[1]), int(image.shape[0]))
            return Frame(image=image, index=slot.seq, t=slot.t, jpeg=slot.jpeg)

    def peek(self, max_width: int = 640) -> Optional[Frame]:
        return peek_slot(self._slot, max_width, self.resolution[0] if self.resolution else None)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        c = self._conn
        if c is not None:
            c.close()
        self._slot.close()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=READ_TIMEOUT + 1.0)


# --------------------------------------------------------------------------- OpenCV capture
class CaptureSource(Source):
    """A cv2.VideoCapture read on its own thread, keeping the newest frame, reopened with backoff
    when reads fail. Used for RTSP / non-MJPEG URLs (stream.py) and local cameras (camera.py)."""

    live = True
    lost_reason = "stream stalled or closed"  # cv2 does not say which
    reopen_reason = "stream unreachable"

    def __init__(self, name: str, opener: Callable[[], "cv2.VideoCapture"], first: "cv2.VideoCapture",
                 first_image: np.ndarray, mirror_default: bool = False):
        self.name = name
        self.mirror_default = mirror_default
        self.status = "ok"
        self.fault = None
        self.ended = False
        self.skipped = 0
        self.resolution = (int(first_image.shape[1]), int(first_image.shape[0]))
        self._opener = opener
        self._cap: Optional[cv2.VideoCapture] = first
        self._slot = NewestSlot()
        self._slot.put(image=first_image)
        self._stop = StopFlag()
        self._thread = threading.Thread(target=self._run, name=f"capture {name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            cap = self._cap
            if cap is None:
                try:
                    cap = self._opener()
                except Exception:  # noqa: BLE001 - SourceError or cv2.error: retry later
                    self._lost(self.reopen_reason)
                    if self._stop.wait(backoff):
                        break
                    backoff = min(BACKOFF_CAP, max(BACKOFF_START, backoff * 2))
                    continue
                self._cap = cap
            ok, image = cap.read()
            if self._stop.is_set():
                break
            if not ok or image is None or image.size == 0:
                self._lost(self.lost_reason)
                cap.release()
                self._cap = None
                if self._stop.wait(backoff):
                    break
                backoff = min(BACKOFF_CAP, max(BACKOFF_START, backoff * 2))
                continue
            backoff = 0.0
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            image.flags.writeable = False
            self.resolution = (int(image.shape[1]), int(image.shape[0]))
            self._slot.put(image=image)
            self._back()
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._slot.close()

    def read(self, timeout: float = 1.0) -> Optional[Frame]:
        slot = self._slot.take(timeout)
        if slot is None:
            return None
        assert slot.image is not None
        return Frame(image=slot.image, index=slot.seq, t=slot.t)

    def peek(self, max_width: int = 640) -> Optional[Frame]:
        return peek_slot(self._slot, max_width, None)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._slot.close()
        if self._thread is not threading.current_thread():
            # cap.read() returns within the backend's read timeout; the thread then releases it
            self._thread.join(timeout=4.0)


def _open_cv_stream(u: StreamUrl) -> tuple["cv2.VideoCapture", np.ndarray]:
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(CONNECT_TIMEOUT * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(READ_TIMEOUT * 1000)]
    with quiet_opencv():
        cap = cv2.VideoCapture(u.url, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"cannot open stream {u.display}: unreachable or not a video stream ({URL_EXAMPLE})")
    ok, image = cap.read()
    if not ok or image is None or image.size == 0:
        cap.release()
        raise SourceError(f"stream {u.display} opened but sent no frame within {CONNECT_TIMEOUT:g} s")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image.flags.writeable = False
    return cap, image


def open_cv_stream(u: StreamUrl, retry_for: float = 0.0) -> CaptureSource:
    """`retry_for`: after our sniffing connection, a single-client server (ffmpeg -listen 1)
    needs a moment before it accepts OpenCV's connection."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            cap, image = _open_cv_stream(u)
            break
        except SourceError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)

    def reopen() -> "cv2.VideoCapture":
        c, _ = _open_cv_stream(u)  # the first frame of a reconnect is dropped: it is not worth a hiccup
        return c

    return CaptureSource(u.display, reopen, cap, image)


def open_stream(url: str) -> Source:
    """Open a stream URL: HTTP(S) answering multipart JPEG → MjpegStreamSource (original bytes
    kept); RTSP or other media → OpenCV. Raises SourceError within about CONNECT_TIMEOUT."""
    u = parse_url(url)
    if u.scheme in ("http", "https"):
        try:
            first = connect_mjpeg(u)
        except NotMjpeg:
            return open_cv_stream(u, retry_for=CONNECT_TIMEOUT)
        except StreamFault as err:
            hint = f": {err.hint}" if err.hint else ""
            raise SourceError(f"cannot open stream {u.display}: {err.reason}{hint}") from None
        except Exception as err:  # noqa: BLE001 - refused, timed out, not found, TLS ...
            raise SourceError(f"cannot open stream {u.display}: {_describe(err)}: is the phone app running "
                              f"and on the same Wi-Fi? {URL_EXAMPLE}") from None
        return MjpegStreamSource(u, first)
    return open_cv_stream(u)
