"""`coach check PATH...`: judge photo files (or folders of them) against a profile.

Exit 0 when every image passes, 1 when some fail, 2 on bad input (missing file, not an image,
unreadable or empty folder): one clear line via CoachError, no traceback. All inputs are
resolved before the models load, so bad input fails fast.

--json prints one object per image per line (issue 2):
  {"file", "width", "height", "profile", "pass",
   "checks": {id: {"pass", "value", "limit"}}, "card": {"quad", "in_frame"} | null,
   "faces": [{"box": [x, y, w, h], "score"}]}   (faces: live faces, printed portraits excluded)
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from coach.checks import evaluate, load_profile, messages
from coach.checks.display import format_limit, format_value
from coach.checks.profiles import Profile
from coach.errors import CoachError
from coach.types import CheckResult, Frame, Observation, Verdict

# Magic bytes of the formats cv2.imdecode reads; used to tell images from other files in a
# folder without trusting the extension (phone exports often lack one or use .JPG/.jpeg).
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),  # PNG
    (0, b"BM"),  # BMP
    (0, b"II*\x00"), (0, b"MM\x00*"),  # TIFF
    (8, b"WEBP"),  # RIFF....WEBP
)


def looks_like_image(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return any(head[off:off + len(sig)] == sig for off, sig in _MAGIC)


@dataclass
class Inputs:
    files: list[Path]
    skipped: int  # non-image files found inside folders


def collect_inputs(paths: Iterable[Path]) -> Inputs:
    """Image files in command-line order; a folder contributes its images sorted by name
    (not recursive). Raises CoachError on the first bad input."""
    files: list[Path] = []
    skipped = 0
    for p in map(Path, paths):
        if p.is_dir():
            try:
                entries = sorted((e for e in p.iterdir() if e.is_file()), key=lambda e: e.name)
            except OSError as e:
                raise CoachError(f"cannot read folder {p}: {e.strerror or e}") from None
            images = [e for e in entries if looks_like_image(e)]
            skipped += len(entries) - len(images)
            if not images:
                raise CoachError(f"no images in folder {p} (JPEG, PNG, BMP, TIFF or WebP expected)")
            files.extend(images)
        elif p.is_file():
            if not looks_like_image(p):
                raise CoachError(f"not an image: {p} (JPEG, PNG, BMP, TIFF or WebP expected)")
            files.append(p)
        elif p.exists():
            raise CoachError(f"not a file or folder: {p}")
        else:
            raise CoachError(f"no such file or folder: {p}")
    return Inputs(files=files, skipped=skipped)


def read_frame(path: Path, index: int) -> Frame:
    """Decode from bytes (works with any path, unicode included); EXIF orientation applied."""
    import cv2
    import numpy as np

    try:
        data = path.read_bytes()
    except OSError as e:
        raise CoachError(f"cannot read {path}: {e.strerror or e}") from None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise CoachError(f"cannot decode image {path} (damaged or unsupported file)")
    jpeg = data if data[:3] == b"\xff\xd8\xff" else None
    return Frame(image=img, index=index, t=float(index), jpeg=jpeg, name=path.name)


# --------------------------------------------------------------------------- JSON
def _num(v: Any) -> Any:
    """Round for output: integers stay integers, floats keep 4 significant decimals."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return round(v, 4) if abs(v) < 100 else round(v, 1)
    if isinstance(v, (list, tuple)):
        return [_num(x) for x in v]
    return v


def to_json(file: str, obs: Observation, verdict: Verdict) -> dict[str, Any]:
    card = None
    if obs.card is not None:
        card = {"quad": [[round(float(x), 1), round(float(y), 1)] for x, y in obs.card.quad],
                "in_frame": bool(obs.card.in_frame)}
    faces = [{"box": [round(float(c), 1) for c in f.box], "score": round(float(f.score), 3)}
             for f in obs.live_faces]
    return {
        "file": file,
        "width": obs.width,
        "height": obs.height,
        "profile": verdict.profile,
        "pass": verdict.passed,
        "checks": {r.id: {"pass": r.passed, "value": _num(r.value), "limit": _num(r.limit)} for r in verdict.results},
        "card": card,
        "faces": faces,
    }


# --------------------------------------------------------------------------- table
def _mark(passed: Optional[bool]) -> str:
    return {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]?[/]"}[passed]


def print_table(console, file: str, obs: Observation, verdict: Verdict, lang: str, profile: Profile) -> None:
    from rich.table import Table
    from rich.text import Text

    title = Text(f"{file}  {obs.width}×{obs.height}  [{verdict.profile}]", style="bold")
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column(messages.text("col_check", lang), no_wrap=True)
    table.add_column(messages.text("col_value", lang), justify="right", no_wrap=True)
    table.add_column(messages.text("col_limit", lang), no_wrap=True)
    table.add_column("", overflow="fold")
    for r in verdict.results:
        hint = "" if r.passed is True else messages.text(r.message, lang)
        if r.passed is None and r is not verdict.hint:
            hint = messages.text("cannot_judge", lang)  # the reason is named by the check it depends on
        table.add_row(_mark(r.passed), messages.check_name(r.id, lang), format_value(r),
                      format_limit(r, profile.limit(r.id)),
                      Text(hint, style="dim" if r is not verdict.hint else "bold"))
    console.print(table)
    if verdict.passed:
        console.print(f"[bold green]✓ {messages.text('all_pass', lang)}[/]")
    elif verdict.hint is not None:
        console.print(f"[bold red]✗ {messages.text('some_fail', lang)}[/] — {messages.text('next_step', lang)}: "
                      f"[bold]{messages.text(verdict.hint.message, lang)}[/]")
    console.print()


# --------------------------------------------------------------------------- command
def run_check(paths: list[Path], profile: str = "hand-held", profiles_file: Path | None = None,
              as_json: bool = False, lang: str = "en", models_dir: Path | None = None) -> int:
    """Judge every image; exit code 0 all pass, 1 some fail (2 arrives as a CoachError)."""
    prof: Profile = load_profile(profile, profiles_file)
    inputs = collect_inputs(paths)

    from coach.vision.analyzer import Analyzer

    console = None
    if not as_json:
        from rich.console import Console

        console = Console(highlight=False)
        if not console.is_terminal:  # piped: do not squeeze the hints into 80 columns
            console = Console(highlight=False, width=120)
    passed = 0
    with Analyzer(models_dir, mode="image") as analyzer:
        for i, path in enumerate(inputs.files):
            frame = read_frame(path, i)
            obs = analyzer.analyse(frame)
            verdict = evaluate(obs, prof)
            passed += verdict.passed
            if as_json:
                sys.stdout.write(json.dumps(to_json(str(path), obs, verdict), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                print_table(console, str(path), obs, verdict, lang, prof)
    total = len(inputs.files)
    if console is not None:
        line = messages.text("summary", lang, passed=passed, total=total)
        if inputs.skipped:
            line += "; " + messages.text("skipped", lang, n=inputs.skipped)
        console.print(f"[bold]{line}[/]")
    elif inputs.skipped:
        sys.stderr.write(f"coach: {messages.text('skipped', 'en', n=inputs.skipped)}\n")
    return 0 if passed == total else 1
