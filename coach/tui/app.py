"""The live screen: preview with overlays, checklist, one large hint, status bar, keys.

The screen never does vision. A `coach.session.Session` runs on a Textual thread worker; a 30 Hz
timer on the event loop takes the newest `snapshot()` and redraws only what changed. Session
events arrive from the worker thread through `post_message` (thread-safe and non-blocking, so a
worker that emits an event while the app is shutting down can never wait on a dead loop).
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from coach.tui.overlays import prepare_preview
from coach.tui.preview import Preview
from coach.tui.strings import HELP, KEYS, profile_label, ui
from coach.tui.widgets import Checklist, HintPanel, KeyBar, StatusBar, short_path
from coach.types import Event

PROFILES = ("hand-held", "half-body", "card")
REFRESH_HZ = 30.0
SAVED_SHOWN_SECONDS = 6.0


class SessionEvent(Message):
    """A coach.types.Event from the session's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class SessionFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class EventBridge:
    """The Session's `on_event`: forwards each Event to the app once it exists (events that come
    before are kept and delivered on attach)."""

    def __init__(self) -> None:
        self._app: Optional[App] = None
        self._early: list[Event] = []
        self._lock = threading.Lock()

    def attach(self, app: App) -> None:
        with self._lock:
            self._app = app
            early, self._early = self._early, []
        for ev in early:
            app.post_message(SessionEvent(ev))

    def __call__(self, event: Event) -> None:
        with self._lock:
            app = self._app
            if app is None:
                self._early.append(event)
                return
        app.post_message(SessionEvent(event))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", show=False), Binding("question_mark", "close", show=False),
                Binding("q", "close", show=False)]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 96; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }
    """

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP.get(self.lang, HELP["en"]), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = ui("help_title", self.lang)

    def action_close(self) -> None:
        self.dismiss(None)


class CoachApp(App[int]):
    """Renders a Session. `session` needs: run, stop, capture_now, set_auto, set_profile, set_lang,
    toggle_recording, rearm, snapshot (see coach/session.py)."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere find it too
    TITLE = "capture-coach"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("space", "capture", KEYS["en"]["capture"], key_display="Space", id="capture"),
        Binding("a", "auto", KEYS["en"]["auto"], key_display="A", id="auto"),
        Binding("enter", "again", KEYS["en"]["again"], key_display="Enter", id="again"),
        Binding("r", "record", KEYS["en"]["record"], key_display="R", id="record"),
        Binding("m", "mirror", KEYS["en"]["mirror"], key_display="M", id="mirror"),
        Binding("p", "profile", KEYS["en"]["profile"], key_display="P", id="profile"),
        Binding("l", "lang", KEYS["en"]["lang"], key_display="L", id="lang"),
        Binding("o", "overlays", KEYS["en"]["overlays"], key_display="O", id="overlays"),
        Binding("q", "quit", KEYS["en"]["quit"], key_display="Q", id="quit"),
        Binding("question_mark", "help", KEYS["en"]["help"], key_display="?", id="help"),
    ]

    def __init__(self, session: Any, *, mirror: bool = False, overlays: bool = True,
                 refresh_hz: float = REFRESH_HZ, start_session: bool = True) -> None:
        super().__init__()
        self.session = session
        self.mirror = mirror
        self.overlays = overlays
        self.refresh_hz = refresh_hz
        self.start_session = start_session
        self.session_error: Optional[str] = None
        self.session_done = threading.Event()
        self.last_saved: Optional[tuple[Path, float]] = None  # newest capture and when it arrived
        self.lang = "en"
        self._canvas: Optional[np.ndarray] = None
        self._preview_key: Any = None
        self._status_at = 0.0
        self._labels_lang: Optional[str] = None
        self._n_captures = 0

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Preview(id="preview")
                yield HintPanel(id="hintpanel")
            yield Checklist(id="checklist")
        yield StatusBar(id="status")
        yield KeyBar(id="keys")

    @property
    def preview(self) -> Preview:
        return self.query_one(Preview)

    def on_mount(self) -> None:
        state = self.session.snapshot()
        self.lang = state.lang
        self._n_captures = len(state.captures)
        self._set_key_labels(self.lang)
        if self.start_session:
            self.run_worker(self._run_session, thread=True, exit_on_error=False, name="session",
                            group="session")
        else:
            self.session_done.set()
        self.set_interval(1.0 / self.refresh_hz, self._tick)
        self._tick()
        # The screen is built: everything alive now lives for the whole run. Freezing it keeps
        # the cyclic collector from walking it (and the preview's style cache) on every gen-2
        # pass, which otherwise shows as a stutter in the preview.
        gc.freeze()

    # ------------------------------------------------------------------ the session thread
    def _run_session(self) -> None:
        try:
            self.session.run()
        except Exception as e:  # shown on screen and after exit, never a traceback over the UI
            self.post_message(SessionFailed(f"{type(e).__name__}: {e}"))
        finally:
            self.session_done.set()

    def on_session_failed(self, message: SessionFailed) -> None:
        self.session_error = message.error
        self.notify(ui("engine_stopped", self.lang, error=message.error), severity="error", timeout=10)
        self._tick()

    def on_session_event(self, message: SessionEvent) -> None:
        ev = message.event
        if ev.kind == "captured":
            path = Path(ev.data.get("path", ""))
            self.last_saved = (path, time.monotonic())
            self.notify(ui("saved", self.lang, path=short_path(path)), timeout=4)
        elif ev.kind == "fault":
            self.notify(ui("fault", self.lang, fault=ev.data.get("reason", "")), severity="warning", timeout=6)
        elif ev.kind == "error":
            self.notify(ui("error", self.lang, error=ev.data.get("reason", "")), severity="error", timeout=6)
        self._tick()

    # ------------------------------------------------------------------ drawing
    def _tick(self) -> None:
        state = self.session.snapshot()
        if state.lang != self.lang:
            self.lang = state.lang
        if self.lang != self._labels_lang:
            self._set_key_labels(self.lang)
        if len(state.captures) > self._n_captures:
            self._n_captures = len(state.captures)
            if self.last_saved is None or self.last_saved[0] != state.captures[-1]:
                self.last_saved = (state.captures[-1], time.monotonic())
        self._draw_preview(state)
        self.query_one(Checklist).show(state.profile, self.lang, self._results(state))
        self.query_one(HintPanel).show(*self._hint(state))
        now = time.monotonic()
        if now - self._status_at >= 0.5:
            self._status_at = now
            self.query_one(StatusBar).show(self._status(state))

    def _draw_preview(self, state: Any) -> None:
        preview = self.preview
        w, h = preview.pixel_size()
        if w <= 0 or h <= 1:
            return
        # A session that exposes the newest frame read from the source (before analysis) lets the
        # preview run at the camera's pace while overlays follow the last analysed frame.
        frame = getattr(state, "preview_frame", None) or state.frame
        # frame index/time and the analysis count, not id(): ids of freed frames get reused
        key = (None if frame is None else (frame.index, frame.t), getattr(state, "frames", 0), w, h, self.mirror,
               self.overlays, state.profile)
        if key == self._preview_key:
            return
        self._preview_key = key
        if frame is None:
            preview.clear_image(ui("connecting", self.lang) if state.status != "ended" else ui("ended", self.lang))
            return
        rgb, self._canvas = prepare_preview(frame.image, state.observation, w, h, mirror=self.mirror,
                                            overlays=self.overlays, profile=state.profile, canvas=self._canvas)
        preview.show(rgb)

    @staticmethod
    def _results(state: Any) -> Optional[list]:
        v = state.verdict
        if v is None or getattr(v, "profile", state.profile) != state.profile:
            return None
        return list(v.results)

    def _hint(self, state: Any) -> tuple[str, str, Optional[float], str]:
        """(main line, second line, progress or None, style)."""
        lang = self.lang
        if self.session_error:
            return ui("engine_stopped", lang, error=self.session_error), "", None, "bold red"
        if state.status == "reconnecting":
            return ui("reconnecting", lang), state.fault or "", None, "bold yellow"
        ended = ui("ended", lang) if state.status == "ended" else ""
        if state.frame is None:
            return (ended or state.hint_text or ui("connecting", lang)), "", None, "bold"
        recent = self.last_saved is not None and time.monotonic() - self.last_saved[1] < SAVED_SHOWN_SECONDS
        if state.captures and (not state.armed or recent):
            path = state.captures[-1]
            sub = ended or (ui("again", lang) if state.auto and not state.armed else state.hint_text)
            return ui("saved", lang, path=short_path(path, 90)), sub, None, "bold green"
        passed = state.verdict is not None and state.verdict.passed
        if passed and state.auto and state.armed and state.status != "ended":
            return state.hint_text or ui("all_pass", lang), "", float(state.progress), "bold green"
        sub = ended or ("" if state.auto else ui("auto_off", lang))
        return state.hint_text or ui("looking", lang), sub, None, "bold green" if passed else "bold yellow"

    def _status(self, state: Any) -> list[tuple[str, str]]:
        lang = self.lang
        parts: list[tuple[str, str]] = [(state.source_name or "?", "bold")]
        if state.resolution:
            parts.append((f"{state.resolution[0]}×{state.resolution[1]}", ""))
        parts.append((ui("analysed", lang, fps=state.analysed_fps or 0.0), ""))
        parts.append((ui("preview", lang, fps=self.preview.paint_fps()), ""))
        parts.append((ui("auto_on" if state.auto else "auto_off_short", lang), "" if state.auto else "yellow"))
        if self.mirror:
            parts.append((ui("mirror", lang), "dim"))
        if state.captures:
            parts.append((ui("captures", lang, n=len(state.captures)), "green"))
        if state.recording is not None:
            parts.append((ui("rec", lang, path=short_path(state.recording, 40)), "bold red"))
        if state.status == "reconnecting":
            parts.append((ui("reconnecting", lang) + (f" {state.fault}" if state.fault else ""), "bold yellow"))
        elif state.status == "ended":
            parts.append((ui("ended", lang), "yellow"))
        skipped = int(getattr(state, "skipped", 0) or 0)
        if skipped:
            parts.append((ui("skipped", lang, n=skipped), "yellow"))
        if self.session_error:
            parts.append((ui("engine_stopped", lang, error=self.session_error), "bold red"))
        elif state.last_error:
            parts.append((state.last_error, "red"))
        return parts

    def _set_key_labels(self, lang: str) -> None:
        """The key bar in the session language (the keys stay the same)."""
        self.query_one(KeyBar).show(self.BINDINGS, KEYS.get(lang, KEYS["en"]))
        self._labels_lang = lang

    # ------------------------------------------------------------------ keys
    def _after_key(self) -> None:
        self._status_at = 0.0
        self._tick()  # answer the key in this frame, not at the next timer tick

    def action_capture(self) -> None:
        state = self.session.snapshot()
        if state.status == "ended" or self.session_done.is_set():
            self.notify(ui("ended", self.lang), severity="warning", timeout=3)
            return
        self.session.capture_now()
        self._after_key()

    def action_auto(self) -> None:
        self.session.set_auto(not self.session.snapshot().auto)
        self._after_key()

    def action_again(self) -> None:
        self.last_saved = None
        self.session.rearm()
        self._after_key()

    def action_record(self) -> None:
        path = self.session.toggle_recording()
        if path is not None:
            self.notify(ui("rec", self.lang, path=short_path(path)), timeout=3)
        self._after_key()

    def action_mirror(self) -> None:
        self.mirror = not self.mirror
        self._after_key()

    def action_overlays(self) -> None:
        self.overlays = not self.overlays
        self._after_key()

    def action_profile(self) -> None:
        current = self.session.snapshot().profile
        nxt = PROFILES[(PROFILES.index(current) + 1) % len(PROFILES)] if current in PROFILES else PROFILES[0]
        self.session.set_profile(nxt)
        self.notify(profile_label(nxt, self.lang), timeout=2)
        self._after_key()

    def action_lang(self) -> None:
        self.session.set_lang("en" if self.lang == "zh" else "zh")
        self._after_key()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.lang))

    async def action_quit(self) -> None:
        self.session.stop()
        self.exit(0)


# ---------------------------------------------------------------------- wiring
@dataclasses.dataclass
class Built:
    session: Any
    source: Any
    analyzer: Any
    mirror: bool
    bridge: EventBridge

    def close(self, wait: float = 5.0, done: Optional[threading.Event] = None) -> None:
        """Stop the session, wait for its thread, then release the analyser and the source."""
        self.session.stop()
        if done is not None and not done.wait(wait):
            return  # the loop is still inside a read/analyse; closing under it could crash it
        for thing in (self.analyzer, self.source):
            try:
                thing.close()
            except Exception:
                pass


def build_session(source: str, *, profile: str, lang: str, out_dir: Path, fps: float, mirror: Optional[bool],
                  models_dir: Optional[Path], fast: bool = False, max_seconds: Optional[float] = None,
                  recordings_dir: Path = Path("recordings"), profiles_file: Optional[Path] = None) -> Built:
    """Open the source, create the analyser, build the Session. Every user-fixable problem
    (bad source, missing models) raises CoachError here, before any screen is drawn."""
    from coach.session import Session
    from coach.sources import open_source
    from coach.vision.analyzer import Analyzer

    src = open_source(source, fps=fps)
    try:
        analyzer = Analyzer(models_dir, mode="video", fast=True)  # the live engine; quiets MediaPipe's fd-2 lines itself
    except BaseException:
        src.close()
        raise
    bridge = EventBridge()
    try:
        session = Session(src, analyzer, profile=profile, lang=lang, out_dir=Path(out_dir),
                          recordings_dir=Path(recordings_dir), auto=True, fast=fast, max_seconds=max_seconds,
                          on_event=bridge, profiles_file=profiles_file)
    except BaseException:
        analyzer.close()
        src.close()
        raise
    mirror_on = bool(getattr(src, "mirror_default", False)) if mirror is None else bool(mirror)
    return Built(session, src, analyzer, mirror_on, bridge)


def run_app(source: str, profile: str, lang: str, out_dir: Path, fps: float, mirror: Optional[bool],
            models_dir: Optional[Path], fast: bool = False, max_seconds: Optional[float] = None) -> int:
    """`coach` and `coach replay` with a screen. Returns 0 when the person quits with Q."""
    built = build_session(source, profile=profile, lang=lang, out_dir=out_dir, fps=fps, mirror=mirror,
                          models_dir=models_dir, fast=fast, max_seconds=max_seconds)
    app = CoachApp(built.session, mirror=built.mirror)
    built.bridge.attach(app)
    try:
        rc = app.run()
    finally:
        built.close(done=app.session_done)
    if app.session_error:
        print(f"coach: {ui('engine_stopped', 'en', error=app.session_error)}", file=sys.stderr)
        return 1
    return 0 if rc is None else int(rc)
