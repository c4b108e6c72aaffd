"""Soak: the coach on a live 30 fps MJPEG stream for a long time, watching its memory.

Not a test (it takes as long as you ask). It writes a scenario recording in a temporary folder,
serves it in a loop with ffmpeg as an MJPEG stream on 127.0.0.1 at 30 fps, runs
`coach replay URL --headless --max-seconds S` against it, samples the coach's RSS every few
seconds and prints the growth from the first minute to the end:

    COACH_FRAMES=../shared/frames COACH_MODELS=../shared/models python tools/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--kind", default="becomes_right", help="scenario served in a loop")
    ap.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--json", dest="json_out", type=Path, default=None, help="also write the samples here")
    args = ap.parse_args()
    frames = Path(os.environ.get("COACH_FRAMES", "../shared/frames"))
    if not (frames / "labels.csv").is_file():
        print(f"soak: no photos at {frames}: set COACH_FRAMES", file=sys.stderr)
        return 2
    if shutil.which("ffmpeg") is None:
        print("soak: ffmpeg not found: apt-get install ffmpeg", file=sys.stderr)
        return 2

    from coach.synth import write_scenario

    with tempfile.TemporaryDirectory(prefix="coach-soak-") as tmp:
        tmp_path = Path(tmp)
        rec = write_scenario(frames, tmp_path / "scenario", args.kind)
        port = free_port()
        url = f"http://127.0.0.1:{port}/video"
        server = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-framerate", "30",
             "-i", str(rec / "%06d.jpg"), "-c:v", "copy", "-f", "mpjpeg", "-listen", "1", url],
            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.0)
        seconds = args.minutes * 60
        coach = subprocess.Popen(
            [sys.executable, "-m", "coach", "replay", url, "--headless", "--max-seconds", str(seconds),
             "--out", str(tmp_path / "captures")], stdout=subprocess.PIPE, text=True)
        events: dict[str, int] = {}

        def count_events() -> None:
            assert coach.stdout is not None
            for line in coach.stdout:
                try:
                    kind = json.loads(line).get("event", "?")
                except ValueError:
                    kind = "unparsed"
                events[kind] = events.get(kind, 0) + 1
                if kind == "summary":
                    events["frames"] = json.loads(line).get("frames", 0)

        reader = threading.Thread(target=count_events, daemon=True)
        reader.start()
        proc = psutil.Process(coach.pid)
        samples: list[tuple[float, float]] = []
        t0 = time.monotonic()
        try:
            while coach.poll() is None:
                try:
                    samples.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
                except psutil.Error:
                    break
                time.sleep(args.every)
        finally:
            if coach.poll() is None:
                coach.send_signal(signal.SIGTERM)
            coach.wait(timeout=30)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        reader.join(timeout=5)

    warm = [m for t, m in samples if 55 <= t <= 65] or [samples[min(len(samples) - 1, 2)][1]]
    base, last, peak = sum(warm) / len(warm), samples[-1][1], max(m for _, m in samples)
    growth = 100.0 * (last - base) / base
    print(f"soak: {args.minutes:g} min of a 30 fps MJPEG stream, {events.get('frames', '?')} frames analysed, "
          f"events {dict(sorted(events.items()))}")
    print(f"soak: RSS at 1 min {base:.1f} MB, at the end {last:.1f} MB, peak {peak:.1f} MB, "
          f"growth {growth:+.1f} % (limit 10 %)")
    if args.json_out:
        args.json_out.write_text(json.dumps({"samples": samples, "events": events, "growth_pct": growth}))
    return 0 if growth <= 10.0 and coach.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
