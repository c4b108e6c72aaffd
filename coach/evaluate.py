"""`coach eval`: how often each check agrees with people's labels (labels.csv) and with synthetic
scenes whose truth is known by construction (coach.synth).

The comparison is deliberately plain: a check agrees when it returns exactly the expected pass
value; `null` (cannot judge) counts as a disagreement and is counted separately. Nothing here is
tuned to the engine: the mapping from labels to expectations is fixed below, from the label
definitions in ../shared/frames/README.md and the check definitions in requirements.md.
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from coach.types import Verdict

# ----------------------------------------------------------------------------- label -> expectation
Row = dict


def _yn(v: Optional[str]) -> Optional[bool]:
    v = (v or "").strip().lower()
    return True if v == "y" else False if v == "n" else None


def _card(row: Row) -> bool:
    return _yn(row.get("card_present")) is True


def _float(v: Optional[str]) -> Optional[float]:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _only_with_card(f: Callable[[Row], Optional[bool]]) -> Callable[[Row], Optional[bool]]:
    """Card checks are judged on images with a card only (without one they report null by design)."""
    return lambda row: f(row) if _card(row) else None


# card_size's limits (profiles.toml: at least 3 % of the frame, its text readable, and less than
# half of it). labels.csv's areas are eyeballed: within a factor of EYEBALLED of the lower limit
# (2-4.5 %) a label cannot say which side a card is on.
EYEBALLED = 1.5


def _card_size(row: Row) -> Optional[bool]:
    from coach.checks.profiles import builtin_card_size

    frac = _float(row.get("card_area_frac"))
    if frac is None:
        return None
    lo, hi = builtin_card_size()
    if lo / EYEBALLED <= frac < lo * EYEBALLED:
        return None
    return lo <= frac < hi


# labels.csv counts visible hands; its notes say where two are visible but the card is held in
# one (the other points at it, or belongs to someone else)
ONE_HAND_NOTES = ("with one hand", "with one raised hand", "other person's", "belongs to that other")


def _hands_on_card(row: Row) -> Optional[bool]:
    n = _float(row.get("hands_visible"))
    if n is None:
        return None
    notes = row.get("notes", "").lower()
    return n >= 2 and not any(k in notes for k in ONE_HAND_NOTES)


def _face_visible(row: Row) -> Optional[bool]:
    # labels.csv's face_visible says a live face is visible; the check asks for exactly one (a
    # second person's face as large is another person in the photo): the notes say "two faces"
    v = _yn(row.get("face_visible"))
    return False if v is True and "two faces" in row.get("notes", "").lower() else v


def _face_sharp(row: Row) -> Optional[bool]:
    # `sharp` describes the card where there is one; it speaks for the face only without a card.
    if _yn(row.get("face_visible")) is not True or _card(row):
        return None
    return _yn(row.get("sharp"))


def _glare(row: Row) -> Optional[bool]:
    g = _yn(row.get("glare_on_card"))
    return None if g is None else not g


def _unoccluded(row: Row) -> Optional[bool]:
    f = _yn(row.get("fingers_over_card_text"))
    return None if f is None else not f


# check id -> (label column(s) it is compared with, function row -> expected pass or None)
REAL_MAP: dict[str, tuple[str, Callable[[Row], Optional[bool]]]] = {
    "face_visible": ("face_visible, not two faces", _face_visible),
    "face_sharp": ("sharp (no card, face visible)", _face_sharp),
    "exposure": ("well_lit", lambda r: _yn(r.get("well_lit"))),
    "card_present": ("card_present", lambda r: _yn(r.get("card_present"))),
    "card_in_frame": ("card_fully_in_frame", _only_with_card(lambda r: _yn(r.get("card_fully_in_frame")))),
    "card_size": ("0.03 <= card_area_frac < 0.5", _only_with_card(_card_size)),
    "card_sharp": ("sharp (card)", _only_with_card(lambda r: _yn(r.get("sharp")))),
    "glare": ("glare_on_card = n", _only_with_card(_glare)),
    "card_unoccluded": ("fingers_over_card_text = n", _only_with_card(_unoccluded)),
    "hands_on_card": ("hands_visible = 2, not one holding (card)", _only_with_card(_hands_on_card)),
    "arms_visible": ("arms_visible (card)", _only_with_card(lambda r: _yn(r.get("arms_visible")))),
}

# people/labels.csv: no card held (except where the notes say HOLDING), one label set per photo.
PEOPLE_MAP: dict[str, tuple[str, Callable[[Row], Optional[bool]]]] = {
    "face_visible": ("faces = 1", lambda r: r.get("faces", "").strip() == "1"),
    "exposure": ("lighting even/dim", lambda r: {"even": True, "dim": False}.get(r.get("lighting", ""))),
    "backlight": ("lighting != backlit", lambda r: None if r.get("lighting") in ("harsh", "", None)
                  else r.get("lighting") != "backlit"),
    "shoulders_visible": ("half_body", lambda r: _yn(r.get("half_body"))),
    "no_card": ("no card (notes)", lambda r: None if "HOLDING" in r.get("notes", "") else True),
}
HALF_BODY_CHECKS = ("shoulders_visible", "no_card")


# ----------------------------------------------------------------------------- aggregation (pure)
@dataclass
class CheckTally:
    n: int = 0
    agree: int = 0
    null: int = 0
    disagree: list[str] = field(default_factory=list)  # "file (got x, want y)"

    @property
    def agreement(self) -> Optional[float]:
        return self.agree / self.n if self.n else None

    def to_json(self) -> dict:
        return {"n": self.n, "agree": self.agree, "null": self.null,
                "agreement": None if self.agreement is None else round(self.agreement, 4),
                "disagree": list(self.disagree)}


def _fmt(v: Optional[bool]) -> str:
    return "null" if v is None else ("pass" if v else "fail")


def tally(pairs: Iterable[tuple[str, str, Optional[bool], bool]]) -> dict[str, CheckTally]:
    """pairs of (item name, check id, got pass/None, expected pass) -> per-check tally."""
    out: dict[str, CheckTally] = {}
    for name, check, got, want in pairs:
        t = out.setdefault(check, CheckTally())
        t.n += 1
        if got is None:
            t.null += 1
        if got is want:
            t.agree += 1
        else:
            t.disagree.append(f"{name} (got {_fmt(got)}, want {_fmt(want)})")
    return out


def compare(name: str, verdict: Verdict, expected: dict[str, bool]) -> list[tuple[str, str, Optional[bool], bool]]:
    """One (name, check, got, want) per expected check that the verdict's profile judges."""
    out = []
    for check, want in expected.items():
        r = verdict.result(check)
        if r is None:
            continue
        out.append((name, check, r.passed, bool(want)))
    return out


def expected_from_row(row: Row, mapping: dict) -> dict[str, bool]:
    exp = {}
    for check, (_, f) in mapping.items():
        v = f(row)
        if v is not None:
            exp[check] = bool(v)
    return exp


def corner_errors(true_quad: Sequence[Sequence[float]], found: Sequence[Sequence[float]]) -> float:
    """Mean distance (px) between corresponding corners, both clockwise from the top-left."""
    from coach.synth import order_quad

    a, b = order_quad(true_quad), order_quad(found)
    return sum(math.dist(p, q) for p, q in zip(a, b)) / 4.0


@dataclass
class CornerStats:
    scenes: int = 0  # scenes with a card
    found: int = 0
    errors: list[float] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)

    def add(self, true_quad, found_quad) -> None:
        from coach.synth import quad_iou

        self.scenes += 1
        if found_quad is None:
            return
        self.found += 1
        self.errors.append(corner_errors(true_quad, found_quad))
        self.ious.append(quad_iou(true_quad, found_quad))

    def to_json(self) -> dict:
        good = sum(1 for v in self.ious if v >= 0.95)
        return {
            "scenes_with_card": self.scenes,
            "found": self.found,
            "mean_corner_error_px": round(statistics.fmean(self.errors), 2) if self.errors else None,
            "median_corner_error_px": round(statistics.median(self.errors), 2) if self.errors else None,
            "within_3px_of_found": round(sum(1 for e in self.errors if e <= 3.0) / self.found, 4)
            if self.found else None,
            "iou_ge_095_of_found": round(good / self.found, 4) if self.found else None,
            "iou_ge_095_of_all": round(good / self.scenes, 4) if self.scenes else None,
        }


# ----------------------------------------------------------------------------- running the engine
def _read_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _frame(path: Path):
    import cv2
    import numpy as np

    from coach.types import Frame

    data = path.read_bytes()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return None
    return Frame(image=img, index=0, t=0.0, jpeg=data, name=path.name)


def eval_real(frames_dir: Path, analyzer, profiles: dict, progress=None) -> dict[str, CheckTally]:
    jobs: list[tuple[Path, dict, str]] = []
    for row in _read_rows(frames_dir / "labels.csv"):
        jobs.append((frames_dir / row["file"], expected_from_row(row, REAL_MAP), row["file"]))
    people = frames_dir / "people" / "labels.csv"
    if people.is_file():
        for row in _read_rows(people):
            jobs.append((frames_dir / "people" / row["file"], expected_from_row(row, PEOPLE_MAP),
                         "people/" + row["file"]))
    from coach.checks import evaluate

    pairs = []
    task = progress.add_task("real photos", total=len(jobs)) if progress else None
    for path, exp, name in jobs:
        fr = _frame(path)
        if fr is not None:
            obs = analyzer.analyse(fr)
            hand = evaluate(obs, profiles["hand-held"])
            half = evaluate(obs, profiles["half-body"])
            for check, want in exp.items():
                v = half if check in HALF_BODY_CHECKS else hand
                pairs.extend(compare(name, v, {check: want}))
        if progress:
            progress.advance(task)
    return tally(pairs)


def eval_synthetic(frames_dir: Path, n: int, seed: int, analyzer, profiles: dict, progress=None,
                   models_dir: Optional[Path] = None):
    from coach.checks import evaluate
    from coach.synth import iter_scenes
    from coach.types import Frame

    pairs = []
    corners = CornerStats()
    by_defect: dict[str, list[int]] = {}  # defect -> [scenes, target check agreed]
    task = progress.add_task("synthetic scenes", total=n) if progress else None
    for sc in iter_scenes(frames_dir, n, seed=seed, models_dir=models_dir):
        obs = analyzer.analyse(Frame(image=sc.image, index=0, t=0.0, name=sc.name))
        v = evaluate(obs, profiles["hand-held"])
        pairs.extend(compare(sc.name, v, sc.expected))
        if sc.quad is not None:
            corners.add(sc.quad, obs.card.quad if obs.card is not None else None)
        key = sc.defects[0] if sc.defects else "good"
        d = by_defect.setdefault(key, [0, 0])
        d[0] += 1
        if sc.defects:
            from coach.synth import DEFECT_FAILS

            targets = [c for c in DEFECT_FAILS[key] if c in sc.expected]
            ok = all((v.result(c) is not None and v.result(c).passed is sc.expected[c]) for c in targets)
        else:
            ok = all(v.result(c) is not None and v.result(c).passed is want for c, want in sc.expected.items())
        d[1] += int(ok)
        if progress:
            progress.advance(task)
    return tally(pairs), corners, by_defect


# ----------------------------------------------------------------------------- output
def _table(title: str, tallies: dict[str, CheckTally], order: Sequence[str], max_files: int = 6,
           against: Optional[dict[str, str]] = None):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    cols = ["check"] + (["compared with"] if against else []) + ["n", "agree", "null", "agreement", "disagreeing"]
    for col in cols:
        t.add_column(col, overflow="fold", justify="right" if col in ("n", "agree", "null", "agreement") else "left")
    for check in [c for c in order if c in tallies] + sorted(set(tallies) - set(order)):
        s = tallies[check]
        dis = s.disagree[:max_files]
        more = f" … +{len(s.disagree) - max_files}" if len(s.disagree) > max_files else ""
        row = [check] + ([against.get(check, "")] if against else [])
        row += [str(s.n), str(s.agree), str(s.null), "-" if s.agreement is None else f"{100 * s.agreement:.1f} %",
                "; ".join(dis) + more]
        t.add_row(*row)
    return t


def run_eval(frames_dir: Optional[Path], n_synthetic: int, seed: int, as_json: bool,
             models_dir: Optional[Path], fast: bool = False) -> int:
    from coach.errors import CoachError

    if frames_dir is None:
        env = os.environ.get("COACH_FRAMES", "").strip()
        if not env:
            raise CoachError("no photos to evaluate: pass --frames DIR (the folder with labels.csv) or set COACH_FRAMES")
        frames_dir = Path(env)
    frames_dir = Path(frames_dir).expanduser()
    if not (frames_dir / "labels.csv").is_file():
        raise CoachError(f"{frames_dir} has no labels.csv; pass --frames DIR with the labelled photos")
    if n_synthetic < 0:
        raise CoachError("--synthetic must be 0 or more")

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from coach.checks import load_profile
    from coach.checks.rules import CHECK_IDS
    from coach.vision.analyzer import Analyzer

    profiles = {name: load_profile(name) for name in ("hand-held", "half-body")}
    progress = None
    if not as_json:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    analyzer = Analyzer(models_dir=models_dir, mode="image", fast=fast)
    try:
        if progress:
            progress.start()
        real = eval_real(frames_dir, analyzer, profiles, progress)
        synth = corners = by_defect = None
        if n_synthetic:
            synth, corners, by_defect = eval_synthetic(frames_dir, n_synthetic, seed, analyzer, profiles, progress,
                                                       models_dir)
    finally:
        if progress:
            progress.stop()
        analyzer.close()

    order = list(CHECK_IDS)
    if as_json:
        out = {"frames": str(frames_dir), "real": {c: t.to_json() for c, t in real.items()}}
        if synth is not None:
            out["synthetic"] = {"n": n_synthetic, "seed": seed, "checks": {c: t.to_json() for c, t in synth.items()},
                                "corners": corners.to_json(),
                                "by_defect": {k: {"scenes": v[0], "target_agree": v[1]} for k, v in by_defect.items()}}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0

    con = Console() if sys.stdout.isatty() else Console(width=200)
    against = {c: v[0] for c, v in REAL_MAP.items()}
    against.update({c: "people/: " + v[0] for c, v in PEOPLE_MAP.items() if c not in against})
    against.update({c: f"{REAL_MAP[c][0]}; people/: {v[0]}" for c, v in PEOPLE_MAP.items() if c in REAL_MAP})
    con.print(_table(f"Real photos ({frames_dir}): agreement with labels", real, order, against=against))
    if synth is not None:
        con.print(_table(f"Synthetic scenes (n={n_synthetic}, seed={seed}): agreement with construction", synth,
                         order, max_files=4))
        cj = corners.to_json()
        con.print(f"Card corners: found {cj['found']}/{cj['scenes_with_card']}; corner error mean "
                  f"{cj['mean_corner_error_px']} px, median {cj['median_corner_error_px']} px, <= 3 px in "
                  f"{_pct(cj['within_3px_of_found'])} of found; IoU >= 0.95 in "
                  f"{_pct(cj['iou_ge_095_of_all'])} of scenes with a card ({_pct(cj['iou_ge_095_of_found'])} of found)")
        parts = [f"{k} {v[1]}/{v[0]}" for k, v in sorted(by_defect.items())]
        con.print("Target check right, per defect (good: every claimed check): " + ", ".join(parts))
    return 0


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"
