"""The app in a real terminal: `coach --source <image folder>` in tmux at 160×50, read the screen,
press Q, and the process exits cleanly (exit status 0, terminal handed back)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import cv2
import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


def _tmux(sock: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, check=check)


def _pane(sock: str, name: str) -> str:
    return _tmux(sock, "capture-pane", "-p", "-t", name, check=False).stdout


def _all_hint_texts(lang: str) -> list[str]:
    from coach.capture.hint import SESSION_TEXTS
    from coach.checks import messages

    texts = [messages._pick(pair, lang) for pair in messages.MESSAGES.values()]
    texts += [t.get(lang, t["en"]) for t in SESSION_TEXTS.values()]
    return [t for t in texts if t]


def test_coach_runs_in_tmux_shows_checklist_and_hint_and_quits_cleanly(tmp_path, frames_dir, models_dir):
    folder = tmp_path / "frames"
    folder.mkdir()
    photo = sorted(frames_dir.glob("hold_id_*.jpg"))[0]
    img = cv2.resize(cv2.imread(str(photo)), (640, 480))
    for i in range(60):  # 12 s at 5 fps: still running when we read the screen
        cv2.imwrite(str(folder / f"frame_{i:04d}.jpg"), img)
    out, rc_file = tmp_path / "out", tmp_path / "rc"
    cmd = " ".join(shlex.quote(a) for a in [
        # -u: a test runner's process may carry COLUMNS=80/LINES=24 (readline sets them), which Rich
        # would trust over the real 160×50 terminal
        "env", "-u", "COLUMNS", "-u", "LINES", f"COACH_MODELS={models_dir}", "TERM=xterm-256color", sys.executable, "-m", "coach",
        "--source", str(folder), "--out", str(out), "--fps", "5", "--lang", "en"])
    sock, name = f"coach-test-{os.getpid()}", "coach"
    # stderr stays on the terminal: Textual draws there (and a traceback would show on the pane)
    shell = f"cd {shlex.quote(str(tmp_path))} && {cmd}; echo $? > {shlex.quote(str(rc_file))}; sleep 5"
    _tmux(sock, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", shell)
    try:
        hints = _all_hint_texts("en")
        screen = ""
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            screen = _pane(sock, name)
            if "Checks" in screen and "▀" in screen and "640×480" in screen and any(h in screen for h in hints):
                break
            if rc_file.exists():
                break
            time.sleep(0.3)
        assert "Checks" in screen and "hand-held" in screen, f"no checklist on screen:\n{screen}"
        assert "Exposure" in screen and "Face visible" in screen
        assert any(h in screen for h in hints), f"no hint on screen:\n{screen}"
        assert "▀" in screen  # the half-block preview
        assert "Q  Quit" in screen and "Space  Capture" in screen  # the key bar
        assert "640×480" in screen  # the status bar with the negotiated resolution

        _tmux(sock, "send-keys", "-t", name, "q")
        deadline = time.monotonic() + 15
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc_file.exists(), f"coach did not exit after Q:\n{_pane(sock, name)}"
        after = _pane(sock, name)
        assert rc_file.read_text().strip() == "0", after
        assert "Traceback" not in after and "Error" not in after, after
        assert "Checks ·" not in after  # the alternate screen was left: the terminal is back
    finally:
        _tmux(sock, "kill-server", check=False)
