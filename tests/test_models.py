"""Model resolution, sha256 verification and download (only ever from 127.0.0.1)."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from coach import models as M
from coach.errors import ModelError

HAND = "hand_landmarker.task"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own user cache and no $COACH_MODELS unless it sets one."""
    monkeypatch.setattr(M, "cache_root", lambda: tmp_path / "usercache")
    monkeypatch.delenv(M.ENV_VAR, raising=False)
    monkeypatch.setattr(M, "_memo", {})
    return tmp_path / "usercache"


# ------------------------------------------------------------------ small fake models for the logic
def _fake_table(monkeypatch, url_base: str = "http://127.0.0.1:9/") -> dict[str, bytes]:
    """Replace the model table by three tiny files (the logic is the same for 17 MB)."""
    blobs = {name: (name.encode() * 997)[: 5000 + i * 1000] for i, name in enumerate(M.REQUIRED)}
    table = {name: M.ModelSpec(name, len(b), (hashlib.sha256(b).hexdigest(),), url_base + name)
             for name, b in blobs.items()}
    monkeypatch.setattr(M, "MODELS", table)
    return blobs


def _fill(folder: Path, blobs: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, b in blobs.items():
        (folder / name).write_bytes(b)
    return folder


def test_resolution_order_arg_env_cache(tmp_path, monkeypatch, private_cache):
    blobs = _fake_table(monkeypatch)
    arg = _fill(tmp_path / "arg", blobs)
    env = _fill(tmp_path / "env", blobs)
    cache = _fill(private_cache / "models", blobs)

    monkeypatch.setenv(M.ENV_VAR, str(env))
    assert {p.parent for p in M.resolve_models(arg, download=False).values()} == {arg}
    assert {p.parent for p in M.resolve_models(None, download=False).values()} == {env}
    monkeypatch.delenv(M.ENV_VAR)
    assert {p.parent for p in M.resolve_models(None, download=False).values()} == {cache}
    # an empty variable counts as unset
    monkeypatch.setenv(M.ENV_VAR, "")
    assert {p.parent for p in M.resolve_models(None, download=False).values()} == {cache}


def test_explicit_folder_is_not_fallen_through(tmp_path, monkeypatch, private_cache):
    """A file missing in --models must not be taken silently from the cache."""
    blobs = _fake_table(monkeypatch)
    _fill(private_cache / "models", blobs)
    arg = _fill(tmp_path / "arg", {k: v for k, v in blobs.items() if k != HAND})
    with pytest.raises(ModelError) as e:
        M.resolve_models(arg)
    msg = str(e.value)
    assert "\n" not in msg and HAND in msg and "missing" in msg and "coach models" in msg


def test_explicit_folder_that_does_not_exist(tmp_path, monkeypatch):
    _fake_table(monkeypatch)
    monkeypatch.setenv(M.ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(ModelError, match=r"does not exist.*COACH_MODELS"):
        M.resolve_models()


def test_verification_is_cached_until_the_file_changes(tmp_path, monkeypatch):
    blobs = _fake_table(monkeypatch)
    arg = _fill(tmp_path / "arg", blobs)
    M.resolve_models(arg)
    calls = []
    real = M.sha256_of
    monkeypatch.setattr(M, "sha256_of", lambda p: calls.append(p) or real(p))
    M.resolve_models(arg)
    assert calls == [], "unchanged files must not be hashed again"
    # same size, different bytes, new mtime: must be hashed again and refused
    target = arg / HAND
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        M.resolve_models(arg)
    assert calls, "a changed file must be hashed"


def test_cache_verification_survives_a_restart(monkeypatch, private_cache):
    blobs = _fake_table(monkeypatch)
    _fill(private_cache / "models", blobs)
    M.resolve_models(None, download=False)
    assert (private_cache / "verified.json").is_file()
    monkeypatch.setattr(M, "_memo", {})  # a new process
    monkeypatch.setattr(M, "sha256_of", lambda p: pytest.fail(f"re-hashed {p}"))
    assert set(M.resolve_models(None, download=False)) == set(M.REQUIRED)


def test_explicit_folder_writes_nothing_outside_it(tmp_path, monkeypatch, private_cache):
    blobs = _fake_table(monkeypatch)
    arg = _fill(tmp_path / "arg", blobs)
    M.resolve_models(arg)
    assert not private_cache.exists()
    assert sorted(p.name for p in arg.iterdir()) == sorted(M.REQUIRED)


# ------------------------------------------------------------------ the real model files
def test_shared_models_verify(models_dir):
    paths = M.resolve_models(models_dir, download=False)
    assert set(paths) == set(M.REQUIRED)
    assert all(p.parent == models_dir for p in paths.values())


def test_pose_accepts_both_published_hashes():
    assert set(M.MODELS["pose_landmarker_full.task"].sha256) == {
        "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad",
        "5134a3aad27a58b93da0088d431f366da362b44e3ccfbe3462b3827a839011b1",
    }


def _linked_copy(models_dir: Path, dest: Path, skip: str) -> Path:
    """A folder with symlinks to the shared models except `skip` (tmp only, nothing copied into the repo)."""
    dest.mkdir()
    for name in M.REQUIRED:
        if name != skip:
            (dest / name).symlink_to(models_dir / name)
    return dest


def test_truncated_model_is_refused_in_one_line(models_dir, tmp_path):
    folder = _linked_copy(models_dir, tmp_path / "m", HAND)
    data = (models_dir / HAND).read_bytes()
    (folder / HAND).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as e:
        M.resolve_models(folder)
    msg = str(e.value)
    assert "\n" not in msg
    assert f"model {HAND} in {folder} is corrupt" in msg and "coach models" in msg and "size" in msg


def test_wrong_file_of_the_right_size_is_refused(models_dir, tmp_path):
    folder = _linked_copy(models_dir, tmp_path / "m", HAND)
    data = bytearray((models_dir / HAND).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / HAND).write_bytes(bytes(data))
    with pytest.raises(ModelError) as e:
        M.resolve_models(folder)
    assert "\n" not in str(e.value) and "sha256 mismatch" in str(e.value) and "coach models" in str(e.value)


def test_models_command_exit_codes(models_dir, tmp_path, capsys):
    assert M.run_models_command(models_dir, download=False) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in M.REQUIRED) and "ok" in out
    folder = _linked_copy(models_dir, tmp_path / "m", HAND)
    (folder / HAND).write_bytes(b"not a model")
    assert M.run_models_command(folder, download=False) == 1
    assert "size" in capsys.readouterr().out


# ------------------------------------------------------------------ download from a local server
class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()

    def do_GET(self):  # noqa: N802 (http.server API)
        name = self.path.lstrip("/")
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # a truncated download: promise the whole file, send half, hang up
        self.wfile.write(body[: len(body) // 2] if name in self.truncate else body)
        self.wfile.flush()
        if name in self.truncate:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    _Handler.files, _Handler.truncate = {}, set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", _Handler
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in M.REQUIRED) if folder.exists() else []


def test_missing_models_are_downloaded_into_the_cache(server, monkeypatch, private_cache):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = dict(blobs)
    paths = M.resolve_models(None, show_progress=False)
    cache = private_cache / "models"
    for name, b in blobs.items():
        assert paths[name] == cache / name and paths[name].read_bytes() == b
    assert _leftovers(cache) == []


def test_truncated_download_is_refused_and_leaves_nothing(server, monkeypatch, private_cache):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = dict(blobs)
    handler.truncate = {HAND}
    with pytest.raises(ModelError) as e:
        M.resolve_models(None, show_progress=False)
    msg = str(e.value)
    assert "\n" not in msg and HAND in msg and "coach models" in msg
    cache = private_cache / "models"
    assert not (cache / HAND).exists()
    assert _leftovers(cache) == [], "no partial file may be left behind"


def test_download_with_wrong_content_is_refused(server, monkeypatch, private_cache):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = {k: bytes(reversed(v)) for k, v in blobs.items()}  # right size, wrong bytes
    with pytest.raises(ModelError, match="sha256 mismatch"):
        M.resolve_models(None, show_progress=False)
    assert not any((private_cache / "models" / n).exists() for n in M.REQUIRED)
    assert _leftovers(private_cache / "models") == []


def test_unreachable_server_is_one_line(server, monkeypatch, private_cache):
    base, handler = server
    _fake_table(monkeypatch, base)  # server knows no files: 404
    with pytest.raises(ModelError) as e:
        M.resolve_models(None, show_progress=False)
    assert "\n" not in str(e.value) and "could not download" in str(e.value)


def test_no_download_when_disabled(monkeypatch):
    _fake_table(monkeypatch)
    monkeypatch.setattr(M, "download", lambda *a, **k: pytest.fail("must not download"))
    with pytest.raises(ModelError, match="coach models"):
        M.resolve_models(None, download=False)


def test_models_command_downloads_missing(server, monkeypatch, private_cache, capsys):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = dict(blobs)
    assert M.run_models_command(None) == 0
    assert "downloaded" in capsys.readouterr().out
    handler.files = {}
    shutil.rmtree(private_cache / "models")
    assert M.run_models_command(None) == 1


def test_corrupt_file_in_the_cache_is_downloaded_again(server, monkeypatch, private_cache):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = dict(blobs)
    cache = _fill(private_cache / "models", blobs)
    (cache / HAND).write_bytes(b"broken")
    paths = M.resolve_models(None, show_progress=False)
    assert paths[HAND].read_bytes() == blobs[HAND]


def test_stale_partial_downloads_are_cleaned(server, monkeypatch, private_cache):
    base, handler = server
    blobs = _fake_table(monkeypatch, base)
    handler.files = dict(blobs)
    cache = private_cache / "models"
    cache.mkdir(parents=True)
    old, young = cache / f".{HAND}.abc.part", cache / f".{HAND}.def.part"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    os.utime(old, (1, 1))
    M.resolve_models(None, show_progress=False)
    assert not old.exists() and young.exists()
