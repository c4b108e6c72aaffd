"""Hint debouncing: the one thing to fix next, held long enough to read.

The engine's raw hint (Verdict.hint) can change on every frame when a measure sits near its
limit; a hint that flickers between two messages cannot be read. Field practice (Microblink):
show each error state for at least 1.5 s. This class is pure: it is fed (t, verdict) with t on
the SOURCE clock, so a `--fast` replay decides exactly what a real-time one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from coach.types import CheckResult, Verdict

HOLD_SECONDS = 1.5  # a shown hint stays at least this long before another failing check replaces it
CONFIRM_SECONDS = 0.2  # a new raw hint must persist this long (≈ 6 frames at 30 fps): no one-frame spikes

# Texts the session adds around the checks' own messages (checks.messages owns the per-check texts).
SESSION_TEXTS: dict[str, dict[str, str]] = {
    "offer_manual": {
        "zh": "自动拍摄还没成功：准备好后按空格键手动拍摄",
        "en": "No auto-capture yet: press Space to take the photo yourself",
    },
    "all_pass": {
        "zh": "很好，保持不动……",
        "en": "All good, hold still…",
    },
    "auto_off": {
        "zh": "全部通过：按空格键拍摄",
        "en": "All checks pass: press Space to capture",
    },
    "captured": {
        "zh": "已保存照片。需要再拍一张时请按键重新开始",
        "en": "Photo saved. Ask for another one when you want to capture again",
    },
    "waiting": {
        "zh": "等待画面……",
        "en": "Waiting for the picture…",
    },
}


def session_text(key: str, lang: str) -> str:
    texts = SESSION_TEXTS[key]
    return texts.get(lang) or texts["en"]


def raw_hint(verdict: Verdict) -> Optional[CheckResult]:
    """The engine's choice; if it gave none although a check fails, the first failing one."""
    if verdict.hint is not None:
        return verdict.hint
    if verdict.passed:
        return None
    for r in verdict.results:
        if r.passed is not True:
            return r
    return None


@dataclass
class HintChange:
    """Returned by HintDebouncer.feed when the shown hint changes (hint None: all checks pass)."""

    hint: Optional[CheckResult]
    t: float


class HintDebouncer:
    """Holds the shown hint.

    Rules (all times on the source clock):
    - the first frame shows its hint at once;
    - a different raw hint must persist CONFIRM_SECONDS before it may be shown;
    - a shown failing check (or the "all pass" state) stays at least HOLD_SECONDS before another
      failing check replaces it;
    - clearing (every check passes) needs only the confirmation: good news need not wait.
    The shown CheckResult is refreshed with the newest value while its id stays the same.
    """

    def __init__(self, hold_seconds: float = HOLD_SECONDS, confirm_seconds: float = CONFIRM_SECONDS) -> None:
        self.hold = hold_seconds
        self.confirm = confirm_seconds
        self.reset()

    def reset(self) -> None:
        self._started = False
        self.shown: Optional[CheckResult] = None
        self._shown_since = 0.0
        self._cand_id: Optional[str] = None
        self._cand_since = 0.0

    @property
    def shown_since(self) -> float:
        return self._shown_since

    def feed(self, t: float, verdict: Verdict) -> Optional[HintChange]:
        cand = raw_hint(verdict)
        cand_id = cand.id if cand is not None else None
        if not self._started:
            self._started = True
            self._set(t, cand)
            self._cand_id, self._cand_since = cand_id, t
            return HintChange(cand, t)

        if cand_id != self._cand_id:
            self._cand_id, self._cand_since = cand_id, t

        shown_id = self.shown.id if self.shown is not None else None
        if cand_id == shown_id:
            self.shown = cand  # same check: newest value, no change to announce
            return None

        eps = 1e-9  # frame times like i/30 must not miss a limit by rounding
        confirmed = t - self._cand_since >= self.confirm - eps
        held = t - self._shown_since >= self.hold - eps
        if confirmed and (cand is None or held):
            self._set(t, cand)
            return HintChange(cand, t)
        return None

    def _set(self, t: float, hint: Optional[CheckResult]) -> None:
        self.shown = hint
        self._shown_since = t
