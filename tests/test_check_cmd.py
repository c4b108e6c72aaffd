"""`coach check`: JSON lines on real photos, the readable table, and exit codes 0/1/2 through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.check_cmd import collect_inputs, run_check
from coach.errors import CoachError

REPO = Path(__file__).resolve().parents[1]
HAND_HELD = ["resolution", "exposure", "face_visible", "face_sharp", "backlight", "face_uncovered", "card_present",
             "card_in_frame", "card_size", "card_sharp", "glare", "card_facing", "card_unoccluded", "hands_on_card",
             "arms_visible"]


def coach(args: list[str], tmp_path: Path, models: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # never the developer's own profiles.toml
    env.pop("COACH_PROFILES", None)
    if models is not None:
        env["COACH_MODELS"] = str(models)
    return subprocess.run([sys.executable, "-m", "coach", "check", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_clean_line(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and needle in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch, tmp_path):
    monkeypatch.delenv("COACH_PROFILES", raising=False)
    monkeypatch.setattr("coach.checks.profiles.user_profiles_path", lambda: tmp_path / "absent.toml")


def write_image(path: Path, w: int = 320, h: int = 240) -> Path:
    img = np.full((h, w, 3), 128, np.uint8)
    cv2.rectangle(img, (40, 40), (200, 140), (30, 60, 200), -1)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


# --------------------------------------------------------------------------- bad input: exit 2
def test_missing_file_exits_2(tmp_path):
    assert_one_clean_line(coach([str(tmp_path / "nope.jpg")], tmp_path), "no such file")


def test_text_file_exits_2(tmp_path):
    f = tmp_path / "notes.jpg"  # the extension lies
    f.write_text("not a picture\n", encoding="utf-8")
    assert_one_clean_line(coach([str(f)], tmp_path), "not an image")


def test_empty_folder_exits_2(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    assert_one_clean_line(coach([str(d)], tmp_path), "no images in folder")
    (d / "readme.txt").write_text("hi", encoding="utf-8")
    assert_one_clean_line(coach([str(d)], tmp_path), "no images in folder")


def test_bad_profiles_file_exits_2(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[defaults.limits.glare]\nmaxx = 1\n", encoding="utf-8")
    img = write_image(tmp_path / "a.jpg")
    assert_one_clean_line(coach([str(img), "--profiles-file", str(f)], tmp_path), "unknown key")


def test_damaged_image_is_refused(tmp_path):
    f = tmp_path / "broken.jpg"
    f.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    with pytest.raises(CoachError, match="cannot decode"):
        from coach.check_cmd import read_frame

        read_frame(f, 0)


def test_collect_inputs_sorts_folders_and_counts_skipped(tmp_path):
    d = tmp_path / "shots"
    d.mkdir()
    write_image(d / "b.jpg")
    write_image(d / "a.JPG")
    write_image(d / "no_extension")
    (d / "notes.txt").write_text("x", encoding="utf-8")
    (d / "sub").mkdir()
    single = write_image(tmp_path / "z.jpg")
    got = collect_inputs([single, d])
    assert [p.name for p in got.files] == ["z.jpg", "a.JPG", "b.jpg", "no_extension"]
    assert got.skipped == 1


# --------------------------------------------------------------------------- real photos
def test_hold_id_01_passes_everything_but_resolution(frames_dir, models_dir, tmp_path):
    proc = coach([str(frames_dir / "hold_id_01.jpg"), "--json"], tmp_path, models_dir)
    assert proc.returncode == 1, proc.stderr  # resolution fails: 700x700
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out) == {"file", "width", "height", "profile", "pass", "checks", "card", "faces"}
    assert out["file"].endswith("hold_id_01.jpg")
    assert (out["width"], out["height"], out["profile"], out["pass"]) == (700, 700, "hand-held", False)
    assert list(out["checks"]) == HAND_HELD
    failing = {k: v for k, v in out["checks"].items() if v["pass"] is not True}
    assert list(failing) == ["resolution"], failing
    for v in out["checks"].values():
        assert set(v) == {"pass", "value", "limit"}
    # the card: four corners clockwise from top-left, inside the 700x700 frame, below the face
    quad = out["card"]["quad"]
    assert out["card"]["in_frame"] is True and len(quad) == 4
    assert all(len(p) == 2 and 0 <= p[0] < 700 and 0 <= p[1] < 700 for p in quad)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    assert x1 > x0 and y2 > y1 and x2 > x3 and y3 > y0  # clockwise from top-left
    # one live face (the card's portrait is not listed), above the card
    assert len(out["faces"]) == 1
    fx, fy, fw, fh = out["faces"][0]["box"]
    assert fy + fh < min(p[1] for p in quad) and 0 < out["faces"][0]["score"] <= 1


def test_one_pixel_high_image_is_judged_not_a_traceback(models_dir, tmp_path):
    """A valid image too thin to hold a card (1 x 200 px, a 2 px strip) is judged like any other:
    it fails (exit 1, JSON on stdout), the line detector never sees it."""
    for i, (h, w) in enumerate(((1, 200), (200, 2), (1, 1))):
        f = tmp_path / f"thin{i}.png"
        assert cv2.imwrite(str(f), np.full((h, w, 3), 128, np.uint8))
        proc = coach([str(f), "--json"], tmp_path, models_dir)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        out = json.loads(proc.stdout)
        assert out["card"] is None and out["checks"]["card_present"]["pass"] is False


def test_exit_0_when_everything_passes(frames_dir, models_dir, tmp_path):
    f = tmp_path / "p.toml"  # hand-held without the resolution check: the sample pose passes
    checks = ", ".join(f'"{c}"' for c in HAND_HELD[1:])
    f.write_text(f"[profiles.hand-held]\nchecks = [{checks}]\n", encoding="utf-8")
    proc = coach([str(frames_dir / "hold_id_01.jpg"), "--json", "--profiles-file", str(f)], tmp_path, models_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["pass"] is True


def test_dark_photo_fails_exposure(frames_dir, models_dir, capsys):
    from coach.types import Measures
    from coach.vision import measures

    probe = measures.measure(np.full((8, 8, 3), 100, np.uint8), None, [], [], None)
    if getattr(probe, "scene_light", None) is None:
        pytest.skip("coach.vision.measures does not fill Measures.scene_light yet (the night-time test)")
    assert isinstance(probe, Measures)
    rc = run_check([frames_dir / "neg_dark_01.jpg", frames_dir / "people" / "person_24.jpg"], profile="half-body",
                   as_json=True, models_dir=models_dir)
    dark, daylight = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert rc == 1
    assert dark["checks"]["exposure"]["pass"] is False
    # a dark-skinned face in even light is not "too dark"
    assert daylight["checks"]["exposure"]["pass"] is True


def test_folder_with_unicode_names_table_in_chinese(frames_dir, models_dir, tmp_path, capsys):
    d = tmp_path / "照片"
    d.mkdir()
    write_image(d / "灰色 1.jpg")
    (d / "说明.txt").write_text("x", encoding="utf-8")
    rc = run_check([d, frames_dir / "hold_id_01.jpg"], profile="hand-held", as_json=False, lang="zh",
                   models_dir=models_dir)
    out = capsys.readouterr().out
    assert rc == 1
    assert "灰色 1.jpg" in out and "hold_id_01.jpg" in out
    assert "证件大小" in out and "分辨率" in out  # check names in Chinese
    assert "✓" in out and "✗" in out
    assert "0/2 张照片通过" in out and "跳过了 1 个" in out
    # the synthetic grey picture: no face, no card -> the first framing hint
    assert "下一步" in out


def test_json_lines_for_a_folder(frames_dir, models_dir, tmp_path, capsys):
    d = tmp_path / "two"
    d.mkdir()
    write_image(d / "b.jpg", 640, 360)
    write_image(d / "a.jpg", 360, 640)
    rc = run_check([d], profile="card", as_json=True, models_dir=models_dir)
    lines = capsys.readouterr().out.splitlines()
    assert rc == 1 and len(lines) == 2
    objs = [json.loads(ln) for ln in lines]
    assert [Path(o["file"]).name for o in objs] == ["a.jpg", "b.jpg"]
    assert [(o["width"], o["height"]) for o in objs] == [(360, 640), (640, 360)]
    assert all(o["profile"] == "card" and o["pass"] is False for o in objs)
    assert all(o["checks"]["resolution"]["pass"] is False for o in objs)


def test_exif_orientation_is_applied(tmp_path):
    """Phone photos are stored sideways with an EXIF orientation tag: judge them upright."""
    Image = pytest.importorskip("PIL.Image")
    import io

    from coach.check_cmd import read_frame

    im = Image.fromarray(np.zeros((100, 200, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    f = tmp_path / "sideways.jpg"
    f.write_bytes(buf.getvalue())
    frame = read_frame(f, 0)
    assert (frame.width, frame.height) == (100, 200)
    assert frame.jpeg == buf.getvalue()  # the original bytes are kept untouched


def test_unreadable_folder_is_one_clear_error(tmp_path, monkeypatch):
    d = tmp_path / "locked"
    d.mkdir()
    real_iterdir = Path.iterdir

    def deny(self):
        if self == d:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", deny)  # tests may run as root, where chmod 000 does not lock
    with pytest.raises(CoachError, match="cannot read folder .*locked: Permission denied"):
        collect_inputs([d])
