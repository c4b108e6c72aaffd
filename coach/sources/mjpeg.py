"""An incremental parser for HTTP MJPEG (multipart/x-mixed-replace) that keeps each part's bytes.

Written here rather than left to OpenCV because (1) a capture must be the JPEG the phone sent,
byte for byte, and (2) we need our own socket timeouts (OpenCV's default stall timeout is 30 s).

Phone apps and ffmpeg differ in the details, so the parser is lenient:
- the boundary comes from the Content-Type header, else from the first `--token` line
  (ffmpeg's mpjpeg muxer says `application/octet-stream` and uses `--ffmpeg`);
- a declared boundary may or may not already start with `--`;
- parts with Content-Length are cut at that length; parts without one end at the next boundary;
- anything between a part's end and the next boundary (extra CRLFs, padding) is ignored.
"""

from __future__ import annotations

from typing import Iterator, Optional

MAX_PART = 32 * 1024 * 1024  # no phone sends a 32 MB frame; more means this is not MJPEG
MAX_HEADERS = 16 * 1024


class MjpegError(Exception):
    """The bytes are not a multipart MJPEG stream."""


def boundary_from_content_type(content_type: str) -> Optional[bytes]:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip():
            token = value.strip().strip('"').lstrip("-")
            return token.encode("latin-1") if token else None
    return None


def looks_like_multipart(head: bytes) -> bool:
    """First bytes of a stream whose Content-Type did not say multipart: `--token` then headers."""
    text = head.lstrip(b"\r\n")
    if not text.startswith(b"--"):
        return False
    return b"content-type" in text[:1024].lower() or b"content-length" in text[:1024].lower()


class MultipartParser:
    """Feed bytes as they arrive; get back the body of every complete part, in order."""

    def __init__(self, boundary: Optional[bytes] = None):
        self._token = boundary.lstrip(b"-") if boundary else None
        self._buf = bytearray()
        self._state = "boundary"  # -> "headers" -> "body" -> "boundary" ...
        self._length: Optional[int] = None
        self._scanned = 0  # body bytes already searched for the next delimiter
        self.bytes_in = 0

    def _delimiter(self) -> bytes:
        assert self._token is not None
        return b"--" + self._token

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        self.bytes_in += len(data)
        while True:
            body = self._step()
            if body is None:
                break
            if body:
                yield body

    def _step(self) -> Optional[bytes]:
        """Advance one state; b"" for progress without a part, None when more bytes are needed."""
        buf = self._buf
        if self._state == "boundary":
            if self._token is None:
                start = buf.find(b"--")
                if start < 0:
                    self._trim(keep=1)
                    return None
                eol = buf.find(b"\n", start)
                if eol < 0:
                    self._check_size()
                    return None
                token = bytes(buf[start + 2:eol]).strip().lstrip(b"-")
                if not token:
                    raise MjpegError("no multipart boundary")
                self._token = token
            delim = self._delimiter()
            start = buf.find(delim)
            if start < 0:
                self._trim(keep=len(delim))
                return None
            eol = buf.find(b"\n", start + len(delim))
            if eol < 0:
                self._check_size()
                return None
            del buf[:eol + 1]
            self._state = "headers"
            return b""
        if self._state == "headers":
            # headers end at an empty line; tolerate bare LF line ends
            end, skip = _find_blank_line(buf)
            if end < 0:
                if len(buf) > MAX_HEADERS:
                    raise MjpegError("part headers too long")
                return None
            self._length = None
            for line in bytes(buf[:end]).split(b"\n"):
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    try:
                        n = int(value.strip())
                    except ValueError:
                        n = -1
                    if 0 <= n <= MAX_PART:
                        self._length = n
            del buf[:end + skip]
            self._state = "body"
            return b""
        # body
        if self._length is not None:
            if len(buf) < self._length:
                return None
            body = bytes(buf[:self._length])
            del buf[:self._length]
        else:
            delim = self._delimiter()
            nxt = buf.find(delim, self._scanned)
            if nxt < 0:
                # remember how far we looked so a large part arriving in small pieces is scanned once
                self._scanned = max(0, len(buf) - len(delim))
                self._check_size()
                return None
            self._scanned = 0
            body = bytes(buf[:nxt])
            del buf[:nxt]
            body = body.rstrip(b"\r\n")  # the line end before the delimiter belongs to it
        self._state = "boundary"
        return body if body else b""

    def _trim(self, keep: int) -> None:
        """Drop bytes that cannot start a boundary, keeping a tail that might be its beginning."""
        if len(self._buf) > keep:
            del self._buf[:len(self._buf) - keep]

    def _check_size(self) -> None:
        if len(self._buf) > MAX_PART:
            raise MjpegError("no multipart boundary within 32 MB")


def _find_blank_line(buf: bytearray) -> tuple[int, int]:
    """Index where the headers end and how many bytes the blank line takes, or (-1, 0)."""
    # a part with no headers at all: the delimiter line is followed by an empty line
    if buf.startswith(b"\r\n"):
        return 0, 2
    if buf.startswith(b"\n"):
        return 0, 1
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    if lf >= 0:
        return lf, 2
    return -1, 0
