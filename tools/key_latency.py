"""Key latency of the live screen, end to end: `coach` runs in tmux (160×50) on a replay while the
engine analyses; we press L (language) and time until the key bar on the terminal shows the other
language. Includes tmux's own delay and our polling (capture-pane every few ms), so it is an
upper bound on what a person sees.

    python tools/key_latency.py [--presses 20]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODELS = Path(os.environ.get("COACH_MODELS", REPO.parent / "shared" / "models"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presses", type=int, default=20)
    ap.add_argument("--idle", action="store_true", help="measure after the replay ended (no analysis load)")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux not found")
    sys.path.insert(0, str(REPO / "tools"))
    from screenshot import write_drawn_folder

    tmp = Path(tempfile.mkdtemp(prefix="coach-keys-"))
    folder = write_drawn_folder(tmp / "frames", seconds=1 if args.idle else 60, fps=30)
    sock, name = f"coach-keys-{os.getpid()}", "k"
    cmd = " ".join(shlex.quote(a) for a in [
        "env", "-u", "COLUMNS", "-u", "LINES", f"COACH_MODELS={MODELS}", sys.executable, "-m", "coach",
        "--source", str(folder), "--out", str(tmp / "out"), "--lang", "en"])
    tm = ["tmux", "-L", sock]
    subprocess.run(tm + ["new-session", "-d", "-s", name, "-x", "160", "-y", "50", f"cd {tmp} && {cmd}"], check=True)

    polls: list[float] = []

    def screen() -> str:
        t = time.perf_counter()
        out = subprocess.run(tm + ["capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout
        polls.append((time.perf_counter() - t) * 1000)
        return out

    def footer() -> str:
        lines = screen()
        return lines.rstrip("\n").splitlines()[-1] if lines.strip() else ""

    from coach.checks.messages import check_name

    zh_name = check_name("exposure", "zh")

    try:
        deadline = time.monotonic() + 60
        while "L  中文" not in footer() and time.monotonic() < deadline:
            time.sleep(0.1)
        while "analys" not in subprocess.run(tm + ["capture-pane", "-p", "-t", name], capture_output=True,
                                             text=True).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # the engine is busy analysing now
        while args.idle and "ended" not in screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        ms, ms_footer = [], []
        zh = True
        for _ in range(args.presses):
            want_check = zh_name if zh else "Exposure"
            want_footer = "L  English" if zh else "L  中文"
            t0 = time.perf_counter()
            subprocess.run(tm + ["send-keys", "-t", name, "l"], check=True)
            got_check = None
            while True:
                text = screen()
                now = (time.perf_counter() - t0) * 1000
                if got_check is None and want_check in text:
                    got_check = now
                if got_check is not None and want_footer in text.rstrip("\n").splitlines()[-1]:
                    break
                if now > 5000:
                    sys.exit("no answer to L within 5 s")
            ms.append(got_check)
            ms_footer.append(now)
            zh = not zh
            time.sleep(0.2)

        def stats(v: list[float]) -> str:
            v = sorted(v)
            return f"p50 {statistics.median(v):.0f} ms, p95 {v[int(0.95 * (len(v) - 1))]:.0f} ms, max {v[-1]:.0f} ms"

        print(f"{len(ms)} presses of L {'with the engine idle' if args.idle else 'while analysing'}; times include tmux and polling "
              f"(one capture-pane takes p50 {statistics.median(polls):.0f} ms here)")
        print(f"  checklist in the other language on the terminal: {stats(ms)}")
        print(f"  key bar labels changed too:                      {stats(ms_footer)}")
        subprocess.run(tm + ["send-keys", "-t", name, "q"])
        time.sleep(1.0)
    finally:
        subprocess.run(tm + ["kill-server"], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
