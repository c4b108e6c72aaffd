"""Profiles: which checks a photo must pass, in which order, and their thresholds.

The built-in values live in `profiles.toml` beside this module. A user file with the same layout
is merged over them key by key (deep merge); a key the built-in file does not have, or a value
of the wrong type, is refused with one clear line (CoachError), so a typo never silently keeps
the default. Where the user file comes from, first found wins:
`path` argument (``coach check --profiles-file``), ``$COACH_PROFILES``, then
``<user config dir>/capture-coach/profiles.toml`` when it exists.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from coach.errors import CoachError

PROFILE_NAMES: tuple[str, ...] = ("hand-held", "half-body", "card")
DEFAULT_PROFILE = "hand-held"
ENV_VAR = "COACH_PROFILES"
APP_NAME = "capture-coach"

Limits = Mapping[str, Any]


@dataclass(frozen=True)
class CaptureSettings:
    """What the auto-capture uses (coach/capture, session)."""

    stable_seconds: float  # the verdict must pass this long before a capture
    min_iou: float  # card box IoU between consecutive frames while stable
    timeout_seconds: float  # offer the manual shutter after this long
    max_bytes: int  # largest saved JPEG
    jpeg_quality: int  # when the frame has to be encoded


@dataclass(frozen=True)
class Profile:
    name: str
    checks: tuple[str, ...]  # check ids in display order
    limits: Mapping[str, Limits]  # check id -> its thresholds (read-only)
    capture: CaptureSettings
    source: str = "built-in"  # where the overrides came from, for messages

    def limit(self, check_id: str) -> Limits:
        return self.limits.get(check_id, MappingProxyType({}))


def builtin_table() -> dict[str, Any]:
    """The parsed built-in profiles.toml (a fresh copy)."""
    text = resources.files("coach.checks").joinpath("profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@functools.lru_cache(maxsize=1)
def builtin_card_size() -> tuple[float, float]:
    """(min, max) of the built-in card_size limits: what the synthetic scenes and the real-photo
    labels are held to."""
    lim = builtin_table()["defaults"]["limits"]["card_size"]
    return float(lim["min"]), float(lim["max"])


def user_profiles_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "profiles.toml"


def override_path(path: Path | str | None = None) -> Optional[Path]:
    """The user file to merge, or None. An explicitly named file must exist."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise CoachError(f"profiles file not found: {p} (give an existing TOML file)")
        return p
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        if not p.is_file():
            raise CoachError(f"${ENV_VAR} names a file that does not exist: {p} (fix or unset it)")
        return p
    p = user_profiles_path()
    return p if p.is_file() else None


def read_override(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CoachError(f"cannot read profiles file {path}: {e}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CoachError(f"profiles file {path} is not valid TOML: {e}") from None


def _same_kind(base: Any, new: Any) -> bool:
    if isinstance(base, bool) or isinstance(new, bool):
        return isinstance(base, bool) and isinstance(new, bool)
    if isinstance(base, (int, float)):
        return isinstance(new, (int, float))
    return isinstance(new, type(base))


def deep_merge(base: dict[str, Any], over: Mapping[str, Any], where: str = "", origin: str = "") -> dict[str, Any]:
    """`over` merged into a copy of `base`; only keys of `base`, each with a value of the same kind."""
    out = copy.deepcopy(base)
    for key, val in over.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in base:
            known = ", ".join(sorted(map(str, base))) or "none"
            raise CoachError(f"{origin}unknown key '{dotted}' (known here: {known})")
        if isinstance(base[key], dict):
            if not isinstance(val, dict):
                raise CoachError(f"{origin}'{dotted}' must be a table")
            out[key] = deep_merge(base[key], val, dotted, origin)
        else:
            if not _same_kind(base[key], val):
                raise CoachError(f"{origin}'{dotted}' must be a {type(base[key]).__name__}, "
                                 f"not {type(val).__name__} ({val!r})")
            out[key] = copy.deepcopy(val)
    return out


def _schema(builtin: Mapping[str, Any]) -> dict[str, Any]:
    """Every key a user file may set: the defaults, and per profile its checks plus any limit or
    capture value (even one the built-in profile leaves to the defaults)."""
    d = builtin["defaults"]
    return {"defaults": copy.deepcopy(d),
            "profiles": {n: {"checks": list(builtin["profiles"][n]["checks"]),
                             "limits": copy.deepcopy(d["limits"]), "capture": copy.deepcopy(d["capture"])}
                         for n in PROFILE_NAMES}}


def _layer(name: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """One file's say on one profile: its defaults with its profile section merged over them."""
    d = table.get("defaults", {})
    p = table.get("profiles", {}).get(name, {})
    out: dict[str, Any] = {"limits": copy.deepcopy(d.get("limits", {})), "capture": dict(d.get("capture", {}))}
    for cid, vals in p.get("limits", {}).items():
        out["limits"].setdefault(cid, {}).update(vals)
    out["capture"].update(p.get("capture", {}))
    if "checks" in p:
        out["checks"] = list(p["checks"])
    return out


def _stack(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for cid, vals in top["limits"].items():
        out["limits"].setdefault(cid, {}).update(vals)
    out["capture"].update(top["capture"])
    if "checks" in top:
        out["checks"] = list(top["checks"])
    return out


def resolved_table(name: str, path: Path | str | None = None) -> tuple[dict[str, Any], str]:
    """{"checks", "limits", "capture"} of one profile and where the overrides came from.

    Precedence, most specific last: built-in defaults, built-in profile, user defaults, user
    profile. A value the user sets therefore always wins, even over a built-in profile value."""
    builtin = builtin_table()
    eff = _layer(name, builtin)
    src = override_path(path)
    if src is None:
        return eff, "built-in"
    over = read_override(src)
    deep_merge(_schema(builtin), over, origin=f"profiles file {src}: ")  # validates keys and types
    return _stack(eff, _layer(name, over)), str(src)


def _build(name: str, eff: Mapping[str, Any], source: str) -> Profile:
    from coach.checks.rules import RULES

    checks = tuple(eff["checks"])
    unknown = [c for c in checks if c not in RULES]
    if unknown:
        raise CoachError(f"profile '{name}' ({source}) lists unknown check(s) {', '.join(map(str, unknown))} "
                         f"(known: {', '.join(RULES)})")
    if len(set(checks)) != len(checks):
        raise CoachError(f"profile '{name}' ({source}) lists a check twice")
    if not checks:
        raise CoachError(f"profile '{name}' ({source}) lists no checks")
    limits = {cid: MappingProxyType(dict(eff["limits"].get(cid, {}))) for cid in RULES}
    cap = eff["capture"]
    try:
        capture = CaptureSettings(
            stable_seconds=float(cap["stable_seconds"]), min_iou=float(cap["min_iou"]),
            timeout_seconds=float(cap["timeout_seconds"]), max_bytes=int(cap["max_bytes"]),
            jpeg_quality=int(cap["jpeg_quality"]))
    except (KeyError, TypeError, ValueError) as e:  # only reachable with a broken built-in file
        raise CoachError(f"profile '{name}' ({source}): bad [capture] table: {e}") from None
    if not (1 <= capture.jpeg_quality <= 100):
        raise CoachError(f"profile '{name}' ({source}): capture.jpeg_quality must be 1..100")
    return Profile(name=name, checks=checks, limits=MappingProxyType(limits), capture=capture, source=source)


def load_profile(name: str = DEFAULT_PROFILE, path: Path | str | None = None) -> Profile:
    """The named profile, with the user's overrides (see the module docstring) merged in."""
    if name not in PROFILE_NAMES:
        raise CoachError(f"unknown profile '{name}' (choose one of: {', '.join(PROFILE_NAMES)})")
    eff, source = resolved_table(name, path)
    return _build(name, eff, source)
