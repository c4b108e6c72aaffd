"""Checklist, hint and status bar: plain widgets that render a SessionState. They re-render only
when what they show changed (the app calls them 30 times a second)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from coach.checks.display import format_limit, format_value
from coach.tui.strings import profile_label, ui


def check_name(check_id: str, lang: str) -> str:
    """The check's display name from coach.checks.messages; its id if that module is not there."""
    try:
        from coach.checks.messages import check_name as name
    except ModuleNotFoundError as e:  # only a missing module falls back, never a broken one
        if e.name not in ("coach.checks", "coach.checks.messages"):
            raise
        return check_id
    try:
        return name(check_id, lang)
    except KeyError:
        return check_id


def profile_check_ids(profile: str) -> list[str]:
    """The ids of a profile's checks before any verdict exists (after P, or before the first frame)."""
    try:
        from coach.checks import load_profile
    except ImportError:
        return []
    try:
        prof = load_profile(profile)
    except Exception:
        return []
    checks = getattr(prof, "checks", None)
    if checks is None:
        return []
    if isinstance(checks, dict):
        return list(checks)
    return [getattr(c, "id", c) for c in checks]


def profile_limits(profile: str) -> dict[str, Any]:
    """check id -> the profile's threshold table ({"min": ..}, {"max": ..}, ...), {} if unknown."""
    if profile not in _LIMITS:
        try:
            from coach.checks import load_profile

            prof = load_profile(profile)
            _LIMITS[profile] = {cid: dict(prof.limit(cid)) for cid in prof.checks}
        except Exception:
            _LIMITS[profile] = {}
    return _LIMITS[profile]


_LIMITS: dict[str, dict[str, Any]] = {}


MARKS = {True: ("✓", "bold green"), False: ("✗", "bold red"), None: ("?", "bold yellow")}


class Checklist(Static):
    """✓/✗/? per check of the active profile, with its name and measured value."""

    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self._key: Any = None

    def show(self, profile: str, lang: str, results: Optional[Sequence[Any]]) -> None:
        key = (profile, lang, None if results is None else tuple(
            (r.id, r.passed, None if r.value is None else round(float(r.value), 3)) for r in results))
        if key == self._key:
            return
        self._key = key
        self.border_title = f"{ui('checklist', lang)} · {profile_label(profile, lang)}"
        # Lines of Text laid out by hand: a Rich Table re-render costs ~30 ms here, this ~1 ms.
        width = max(20, self.content_region.width or 42)
        rows: list[tuple[Text, str, str, str]] = []
        if results is None:
            ids = profile_check_ids(profile)
            rows = [(Text("?", "bold yellow"), check_name(cid, lang), "", "") for cid in ids]
            if not ids:
                rows = [(Text(" "), ui("waiting_checks", lang), "", "")]
        else:
            limits = profile_limits(profile)
            for r in results:
                mark, style = MARKS.get(r.passed, MARKS[None])
                rows.append((Text(mark, style), check_name(r.id, lang), format_value(r),
                             format_limit(r, limits.get(r.id))))
        vw = max([cell_len(v) for _, _, v, _ in rows] + [1])
        lw = max([cell_len(lim) for _, _, _, lim in rows] + [0])
        nw = max(4, width - 2 - vw - (lw + 1 if lw else 0) - 1)
        table = Text(no_wrap=True, overflow="ellipsis")
        for i, (mark, name, value, lim) in enumerate(rows):
            if i:
                table.append("\n")
            table.append_text(mark)
            table.append(" ")
            table.append(set_cell_size(name, nw), "bold" if mark.plain == "✗" else "")
            table.append(" " + value.rjust(vw))
            if lw:
                table.append(" " + lim.rjust(lw), "dim")
        self.update(table, layout=False)  # fixed size: a layout pass would re-render the whole screen


class HintPanel(Vertical):
    """One large line: the single thing to fix next; a progress bar while the window fills;
    'saved: path' after a capture."""

    def compose(self) -> ComposeResult:
        yield Static("", id="hint")
        yield Static("", id="subhint")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, id="progress")

    def on_mount(self) -> None:
        self._key: Any = None

    def show(self, main: str, sub: str, progress: Optional[float], style: str) -> None:
        key = (main, sub, None if progress is None else round(progress, 2), style)
        if key == self._key:
            return
        self._key = key
        hint = self.query_one("#hint", Static)
        hint.update(Text(main, style=style), layout=False)  # fixed heights (app.tcss)
        self.query_one("#subhint", Static).update(Text(sub, style="dim"), layout=False)
        bar = self.query_one("#progress", ProgressBar)
        if bar.display != (progress is not None):
            bar.display = progress is not None
        if progress is not None:
            bar.update(total=1.0, progress=max(0.0, min(1.0, progress)))

    @property
    def text(self) -> str:
        """What the panel says (for tests and the tmux check)."""
        return f"{self.query_one('#hint', Static).content}\n{self.query_one('#subhint', Static).content}"


class StatusBar(Static):
    """source · resolution · analysed fps · preview fps · recording · reconnecting/fault."""

    def show(self, parts: Sequence[tuple[str, str]]) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (s, style) in enumerate(parts):
            if i:
                text.append("  │  ", "dim")
            text.append(s, style)
        self.update(text, layout=False)


class KeyBar(Static):
    """The keys, one line, in the session language. A plain Static instead of Textual's Footer:
    switching the language recomposes Footer's ten widgets (~80 ms on this machine, measured with
    cProfile), this is one re-render (~1 ms). `bindings` is the app's BINDINGS."""

    def show(self, bindings: Sequence[Any], labels: dict[str, str]) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for b in bindings:
            if not b.show:
                continue
            if len(text):
                text.append("  ")
            text.append(f" {b.key_display or b.key} ", "bold reverse")
            text.append(" " + labels.get(b.id or "", b.description))
        self.update(text, layout=False)


def short_path(p: Optional[Path], max_len: int = 60) -> str:
    if p is None:
        return ""
    s = str(p)
    return s if len(s) <= max_len else "…" + s[-(max_len - 1):]
