"""Saving a capture: the original frame, untouched, plus a JSON report beside it.

- JPEG sources (frame.jpeg set): the original bytes exactly. Otherwise ONE JPEG encode of the
  original pixels (baseline, quality from the profile), lowering the quality only when the file
  would exceed the profile's size limit. Never drawn on, mirrored, cropped or resized.
- Atomic and private: each file is written to a temporary name in the same folder, flushed and
  fsync'ed, made 0600, then renamed; a folder we create is 0700. On any failure the temporary
  files (and a picture whose report could not be written) are removed and CaptureError is raised.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from coach import __version__
from coach.errors import CoachError
from coach.types import Frame, Observation, Verdict

MIN_QUALITY = 40  # below this a JPEG of an ID card loses small print; we stop lowering here
QUALITY_STEP = 5


class CaptureError(CoachError):
    """A capture could not be written (folder not writable, disk full). The session goes on."""


@dataclass
class Saved:
    image: Path
    report: Path
    bytes: int
    quality: Optional[int]  # None: original JPEG bytes kept


def encode_jpeg(image: np.ndarray, quality: int, max_bytes: Optional[int]) -> tuple[bytes, int]:
    """One baseline JPEG encode of the pixels at `quality`; lower it in steps only if over max_bytes."""
    q = int(max(1, min(100, quality)))
    while True:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q, cv2.IMWRITE_JPEG_PROGRESSIVE, 0,
                                                cv2.IMWRITE_JPEG_OPTIMIZE, 1])
        if not ok:
            raise CaptureError("cannot encode the frame as JPEG")
        data = buf.tobytes()
        if not max_bytes or len(data) <= max_bytes or q <= MIN_QUALITY:
            return data, q
        q = max(MIN_QUALITY, q - QUALITY_STEP)


def _jsonable(v: Any) -> Any:
    """Numpy scalars/arrays and NaN/inf → plain JSON values."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def build_report(frame: Frame, verdict: Optional[Verdict], *, manual: bool, profile: str, source: str,
                 resolution: Optional[tuple[int, int]], image_name: str, nbytes: int, quality: Optional[int],
                 max_bytes: Optional[int], observation: Optional[Observation] = None,
                 now: Optional[datetime] = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    results = verdict.results if verdict is not None else []
    failed = [r.id for r in results if r.passed is not True]
    report: dict[str, Any] = {
        "image": image_name,
        "coach_version": __version__,
        "mode": "manual" if manual else "auto",
        "auto": not manual,
        "profile": profile,
        "passed": bool(verdict is not None and verdict.passed),
        "failed": failed,
        "checks": {r.id: r.to_json() for r in results},
        "hint": verdict.hint.id if verdict is not None and verdict.hint is not None else None,
        "source": source,
        "resolution": list(resolution) if resolution else [frame.width, frame.height],
        "frame": {"index": frame.index, "t": frame.t, "name": frame.name or None,
                  "width": frame.width, "height": frame.height},
        "captured_at": now.isoformat(timespec="milliseconds"),
        "file": {"bytes": nbytes, "original_bytes": quality is None, "jpeg_quality": quality,
                 "max_bytes": max_bytes, "within_limit": (not max_bytes) or nbytes <= max_bytes},
    }
    if observation is not None:
        report["measures"] = dataclasses.asdict(observation.measures)
        report["card"] = ({"quad": observation.card.quad, "kind": observation.card.kind,
                           "in_frame": observation.card.in_frame}
                          if observation.card is not None else None)
    return _jsonable(report)


def _ensure_dir(out_dir: Path) -> None:
    try:
        if not out_dir.is_dir():
            out_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
            os.chmod(out_dir, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as e:
        raise CaptureError(f"cannot create the capture folder {out_dir}: {e.strerror or e}; "
                           f"choose another with --out") from e


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the files themselves are synced
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` as `path`: temp file in the same folder, fsync, 0600, rename. Never overwrites."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        # link + unlink instead of rename: refuses to replace an existing capture (a race with another run)
        try:
            os.link(tmp, path)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise
            os.replace(tmp, path)  # filesystems without hard links (FAT, some network mounts)
        else:
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _free_stem(out_dir: Path, stem: str) -> str:
    cand, n = stem, 1
    while (out_dir / f"{cand}.jpg").exists() or (out_dir / f"{cand}.json").exists():
        n += 1
        cand = f"{stem}-{n}"
    return cand


def save_capture(frame: Frame, verdict: Optional[Verdict], out_dir: Path, *, manual: bool, profile: str,
                 source: str, resolution: Optional[tuple[int, int]] = None, jpeg_quality: int = 95,
                 max_bytes: Optional[int] = None, observation: Optional[Observation] = None) -> Saved:
    """Save the frame and its report into out_dir. Raises CaptureError; leaves no partial files."""
    out_dir = Path(out_dir)
    _ensure_dir(out_dir)
    if frame.jpeg is not None:
        data, quality = frame.jpeg, None
    else:
        data, quality = encode_jpeg(frame.image, jpeg_quality, max_bytes)

    now = datetime.now(timezone.utc)
    stem = "capture-{}-f{:06d}{}".format(now.strftime("%Y%m%d-%H%M%S"), frame.index, "-manual" if manual else "")
    image_path: Optional[Path] = None
    try:
        stem = _free_stem(out_dir, stem)
        image_path = out_dir / f"{stem}.jpg"
        report_path = out_dir / f"{stem}.json"
        report = build_report(frame, verdict, manual=manual, profile=profile, source=source, resolution=resolution,
                              image_name=image_path.name, nbytes=len(data), quality=quality, max_bytes=max_bytes,
                              observation=observation, now=now)
        text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
        write_atomic(image_path, data)
        try:
            write_atomic(report_path, text.encode("utf-8"))
        except BaseException:
            image_path.unlink(missing_ok=True)  # a picture without its report is a half-written capture
            raise
        _fsync_dir(out_dir)
    except OSError as e:
        raise CaptureError(f"cannot save the capture in {out_dir}: {e.strerror or e}") from e
    return Saved(image=image_path, report=report_path, bytes=len(data), quality=quality)
