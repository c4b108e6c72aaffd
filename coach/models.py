"""Where the MediaPipe model files come from, and proof that they are the official ones.

Resolution picks ONE folder, first match wins:
  1. the `--models` folder (argument `models_dir`),
  2. `$COACH_MODELS`,
  3. the user cache (platformdirs user_cache_dir("capture-coach")/models).
An explicit folder (1 or 2) is the user's: a missing or corrupt file there is an error naming
`coach models`, never silently replaced. The cache is ours: missing (or corrupt) files are
downloaded from the official URL into a temporary name, checked, then renamed into place, so a
failed download never leaves a partial file behind.

sha256 results are remembered per (path, size, mtime, inode): in the process for every folder,
and across runs in a small JSON file for the cache's own files, so start-up does not hash 17 MB
every time (see `problem`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from coach.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: int
    sha256: tuple[str, ...]  # every accepted hash of the official file
    url: str


# Pinned from /work/shared/models/MODELS.md (official MediaPipe downloads).
MODELS: dict[str, ModelSpec] = {
    "blaze_face_short_range.tflite": ModelSpec(
        "blaze_face_short_range.tflite",
        229_746,
        ("b4578f35940bf5a1a655214a1cce5cab13eba73c1297cd78e1a04c2380b0152f",),
        "https://storage.googleapis.com/mediapipe-models/face_detector/blaze_face_short_range/float16/1/"
        "blaze_face_short_range.tflite",
    ),
    "hand_landmarker.task": ModelSpec(
        "hand_landmarker.task",
        7_819_105,
        ("fbc2a30080c3c557093b5ddfc334698132eb341044ccee322ccf8bcf3607cde1",),
        "https://storage.googleapis.com/mediapipe-models/hand_landmarker/hand_landmarker/float16/1/"
        "hand_landmarker.task",
    ),
    "pose_landmarker_full.task": ModelSpec(
        "pose_landmarker_full.task",
        9_398_198,
        # Public projects record two hashes for the same-sized official file (see MODELS.md).
        (
            "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad",
            "5134a3aad27a58b93da0088d431f366da362b44e3ccfbe3462b3827a839011b1",
        ),
        "https://storage.googleapis.com/mediapipe-models/pose_landmarker/pose_landmarker_full/float16/1/"
        "pose_landmarker_full.task",
    ),
}

# The engine needs exactly these (face_landmarker.task is not used).
REQUIRED: tuple[str, ...] = tuple(MODELS)

ENV_VAR = "COACH_MODELS"
_CHUNK = 1 << 20
_verify_lock = threading.Lock()


def cache_root() -> Path:
    """The user cache folder of the app (models live in its `models/` subfolder)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("capture-coach"))


def cache_models_dir() -> Path:
    return cache_root() / "models"


def _verify_cache_file() -> Path:
    return cache_root() / "verified.json"


# --------------------------------------------------------------------------- verification
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _load_verified() -> dict:
    try:
        data = json.loads(_verify_cache_file().read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_verified(data: dict) -> None:
    # Best effort: a read-only cache only costs a re-hash next start.
    target = _verify_cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".verified-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, target)
    except OSError:
        pass


_memo: dict[str, tuple[list[int], str]] = {}  # path -> (stamp, sha256) verified in this process


def _in_cache(path: Path) -> bool:
    try:
        return path.parent.resolve() == cache_models_dir().resolve()
    except OSError:
        return False


def problem(spec: ModelSpec, path: Path) -> Optional[str]:
    """None when `path` is the official file, else a short reason ("missing", "sha256 mismatch", ...).

    A hash is reused while the file's size, mtime and inode are unchanged: within the process for
    any folder, and across runs (a small JSON beside the cache) for files in the user cache. Files
    in a folder the user named are hashed once per run (~50 ms for all three): nothing is written
    on their behalf outside that folder's owner's control."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"unreadable: {e.strerror or e}"
    if not path.is_file():
        return "not a file"
    if st.st_size != spec.size:
        return f"size {st.st_size:,} bytes, expected {spec.size:,}"
    key = str(path.resolve())
    stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
    with _verify_lock:
        seen = _memo.get(key)
        if seen is not None and seen[0] == stamp and seen[1] in spec.sha256:
            return None
        persist = _in_cache(path)
        known = _load_verified() if persist else {}
        entry = known.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp and entry.get("sha256") in spec.sha256:
            _memo[key] = (stamp, entry["sha256"])
            return None
        try:
            digest = sha256_of(path)
        except OSError as e:
            return f"unreadable: {e.strerror or e}"
        if digest not in spec.sha256:
            _memo.pop(key, None)
            return "sha256 mismatch"
        _memo[key] = (stamp, digest)
        if persist:
            known[key] = {"stamp": stamp, "sha256": digest}
            _save_verified(known)
    return None


# --------------------------------------------------------------------------- download
ProgressFactory = Callable[[str, Optional[int]], "object"]


def _rich_progress():
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=True)


def download(spec: ModelSpec, dest_dir: Path, *, timeout: float = 30.0, show_progress: bool = True) -> Path:
    """Fetch `spec` into `dest_dir` via a temporary file; only a verified file is renamed into place."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / spec.name
    _remove_stale_parts(dest_dir, spec.name)
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{spec.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        got = 0
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(spec.url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else spec.size
                progress = _rich_progress() if show_progress else None
                ctx = progress if progress is not None else _NullCtx()
                with ctx:
                    task = progress.add_task(f"downloading {spec.name}", total=total) if progress else None
                    while True:
                        block = resp.read(_CHUNK)
                        if not block:
                            break
                        out.write(block)
                        h.update(block)
                        got += len(block)
                        if progress is not None:
                            progress.update(task, completed=got)
        except (urllib.error.URLError, OSError, ValueError) as e:
            # http.client.IncompleteRead (a cut connection) is neither; caught below via its base.
            reason = getattr(e, "reason", None) or e
            raise ModelError(f"could not download model {spec.name} from {spec.url} ({reason}); "
                             f"check the connection and run `coach models` again, or pass --models FOLDER")
        except Exception as e:  # http.client.IncompleteRead and friends
            raise ModelError(f"download of model {spec.name} from {spec.url} broke off after {got:,} bytes "
                             f"({type(e).__name__}); run `coach models` again")
        if got != spec.size:
            raise ModelError(f"download of model {spec.name} is incomplete ({got:,} of {spec.size:,} bytes); "
                             f"run `coach models` again")
        if h.hexdigest() not in spec.sha256:
            raise ModelError(f"downloaded model {spec.name} does not verify (sha256 mismatch); "
                             f"it was discarded; run `coach models` again later")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
    return target


def _remove_stale_parts(folder: Path, name: str, older_than_s: float = 3600.0) -> None:
    """Temporary files of a download that was killed (SIGKILL, power loss) never become models,
    but should not pile up: drop those older than an hour (a younger one may be another
    process downloading right now)."""
    now = time.time()
    for part in folder.glob(f".{name}.*.part"):
        try:
            if now - part.stat().st_mtime > older_than_s:
                part.unlink()
        except OSError:
            pass


class _NullCtx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- resolution
def models_folder(models_dir: Path | None = None) -> tuple[Path, str]:
    """The one folder the models are taken from, and where that choice came from."""
    if models_dir is not None:
        return Path(models_dir).expanduser(), "--models"
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), f"${ENV_VAR}"
    return cache_models_dir(), "cache"


def resolve_models(models_dir: Path | None = None, download: bool = True,
                   names: Iterable[str] = REQUIRED, show_progress: bool = True) -> dict[str, Path]:
    """name -> verified path of every required model; raises ModelError (one line) otherwise."""
    folder, origin = models_folder(models_dir)
    explicit = origin != "cache"
    if explicit and not folder.is_dir():
        raise ModelError(f"models folder {folder} (from {origin}) does not exist; "
                         f"point {origin} at the folder with the model files, or run `coach models`")
    out: dict[str, Path] = {}
    for name in names:
        spec = MODELS[name]
        path = folder / name
        why = problem(spec, path)
        if why is None:
            out[name] = path
            continue
        if explicit:
            if why == "missing":
                raise ModelError(f"model {name} is missing in {folder} (from {origin}); "
                                 f"run `coach models --models {folder}` to download it, or fix {origin}")
            raise ModelError(f"model {name} in {folder} is corrupt ({why}); "
                             f"delete it and run `coach models` to download it again")
        if not download:
            raise ModelError(f"model {name} is not in the cache {folder} ({why}); run `coach models` to download it")
        _download(spec, folder, show_progress=show_progress)
        why = problem(spec, path)
        if why is not None:  # replaced under our feet between rename and check
            raise ModelError(f"model {name} in {folder} does not verify after download ({why}); "
                             f"run `coach models` again")
        out[name] = path
    return out


def _download(spec: ModelSpec, folder: Path, show_progress: bool = True) -> Path:
    # indirection so tests can count calls
    return download(spec, folder, show_progress=show_progress)


# --------------------------------------------------------------------------- `coach models`
def run_models_command(models_dir: Path | None = None, download: bool = True) -> int:
    """Print where each model is and whether it verifies; download missing ones. 0 = all verify."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    folder, origin = models_folder(models_dir)
    rows: list[tuple[str, str, bool]] = []
    notes: list[str] = []
    for name in REQUIRED:
        spec = MODELS[name]
        path = folder / name
        why = problem(spec, path)
        if why is None:
            rows.append((name, "ok", True))
            continue
        if why == "missing" and download:
            try:
                _download(spec, folder, show_progress=True)
            except ModelError as e:
                rows.append((name, "missing, download failed", False))
                notes.append(str(e))
                continue
            why = problem(spec, path)
            if why is None:
                rows.append((name, "ok (downloaded)", True))
                continue
        rows.append((name, why, False))
        if why != "missing":
            notes.append(f"{path} is corrupt ({why}); delete it and run `coach models` again")
        else:
            notes.append(f"{path} is missing; run `coach models` to download it")
    table = Table(title=f"MediaPipe models in {folder} (from {origin})", title_justify="left")
    table.add_column("model")
    table.add_column("status")
    for name, status, ok in rows:
        style = "green" if ok else "red"
        table.add_row(name, f"[{style}]{status}[/{style}]")
    console.print(table)
    for line in dict.fromkeys(notes):  # same failure for every file (no network): say it once per text
        console.print(line, markup=False, highlight=False)
    return 0 if all(ok for _, _, ok in rows) else 1
