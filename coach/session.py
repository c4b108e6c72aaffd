"""Session: source → analyser → verdict → hint + auto-capture → events. Draws nothing.

`run()` is a blocking loop meant for a worker thread (the Textual screen) or the main thread
(headless replay). Every decision that depends on time (stability window, hint hold, timeout)
uses the SOURCE clock (frame.t), so a `--fast` replay of a file decides exactly what a real-time
one would. Commands from the UI thread (capture_now, set_profile, toggle_recording, ...) are
thread-safe; the work they cause (writing a capture) and every `on_event` call happen on the
thread that runs `run()`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from coach.capture.autocapture import AutoCapture, Candidate
from coach.capture.hint import HintDebouncer, session_text
from coach.capture.store import CaptureError, save_capture
from coach.errors import CoachError
from coach.types import CheckResult, Event, Frame, Observation, Verdict

READ_TIMEOUT = 0.25  # seconds a read may block: commands (Space, R, ...) are served at least this often


# The judging engine and the recorder live in other packages; imported when first used so that
# this module loads (and its logic can be tested) on its own.
def load_profile(name: str, path: Optional[Path] = None) -> Any:
    from coach.checks import load_profile as _load

    return _load(name, path)


def evaluate(obs: Observation, profile: Any) -> Verdict:
    from coach.checks import evaluate as _evaluate

    return _evaluate(obs, profile)


def message_text(key: str, lang: str) -> str:
    """The checks' own text for a message key; the key itself if the catalogue lacks it."""
    try:
        from coach.checks import messages
    except ImportError:
        return key
    try:
        return messages.text(key, lang)
    except (KeyError, ValueError):
        return key


def make_recorder(root: Path) -> Any:
    from coach.sources import Recorder

    return Recorder(root)


@dataclass
class SessionState:
    frame: Optional[Frame] = None
    observation: Optional[Observation] = None
    verdict: Optional[Verdict] = None
    hint: Optional[CheckResult] = None  # the debounced hint (None when all pass)
    hint_text: str = ""  # in the session language; offers manual capture (Space) after the timeout
    progress: float = 0.0  # 0..1 fill of the stability window while all checks pass
    source_name: str = ""
    resolution: Optional[tuple[int, int]] = None
    analysed_fps: float = 0.0
    status: str = "ok"  # "ok" | "reconnecting" | "ended"
    fault: Optional[str] = None
    recording: Optional[Path] = None
    auto: bool = True
    armed: bool = True
    profile: str = "hand-held"
    lang: str = "zh"
    captures: list[Path] = field(default_factory=list)
    last_error: Optional[str] = None
    frames: int = 0
    # additions (defaults, so older readers are unaffected)
    offer_manual: bool = False  # the timeout passed without a capture: the hint offers Space
    skipped: int = 0  # corrupt frames the source skipped
    live: bool = False
    # live sources: the newest frame that arrived but is not analysed yet (possibly a reduced copy),
    # so the preview runs at the camera's pace; None when the analysed `frame` is the newest
    preview_frame: Optional[Frame] = None


class Session:
    def __init__(self, source: Any, analyzer: Any, *, profile: str = "hand-held", lang: str = "zh",
                 out_dir: Path = Path("captures"), recordings_dir: Path = Path("recordings"), auto: bool = True,
                 fast: bool = False, max_seconds: Optional[float] = None,
                 on_event: Optional[Callable[[Event], None]] = None, profiles_file: Optional[Path] = None) -> None:
        self.source = source
        self.analyzer = analyzer
        self.out_dir = Path(out_dir)
        self.recordings_dir = Path(recordings_dir)
        self.fast = fast
        self.max_seconds = max_seconds
        self.on_event = on_event
        self.profiles_file = profiles_file

        # _lock guards the state the screen reads (snapshot) and is never held during disk I/O;
        # _rec_lock serialises the recorder (toggled from the UI, written from the loop).
        # Order when both are needed: _rec_lock, then _lock.
        self._lock = threading.RLock()
        self._rec_lock = threading.Lock()
        self._stop = threading.Event()
        self._pending_events: list[Event] = []
        self._manual_requests = 0

        self._profile_name = profile
        self._profile = load_profile(profile, profiles_file)  # a bad name/file is the caller's CoachError
        cap = self._profile.capture
        self._auto = AutoCapture(cap.stable_seconds, cap.min_iou)
        self._hint = HintDebouncer()
        self._trying_since: Optional[float] = None  # source time since which no capture was made
        self._offer = False
        self._recorder: Any = None
        self._last: Optional[Candidate] = None  # newest analysed frame (for the manual shutter)
        self._t_first: Optional[float] = None
        self._t_last: Optional[float] = None
        self._fps_times: deque[float] = deque(maxlen=31)
        self._skipped_reported = False
        drops = getattr(source, "drops", 0)
        self._drops_seen = drops if isinstance(drops, int) else 0  # drops before the session are not ours

        self._state = SessionState(source_name=str(getattr(source, "name", "")),
                                   resolution=getattr(source, "resolution", None), auto=auto, profile=profile,
                                   lang=lang, live=bool(getattr(source, "live", False)))
        self._state.hint_text = session_text("waiting", lang)

    # ------------------------------------------------------------------ commands (any thread)
    def stop(self) -> None:
        self._stop.set()

    def capture_now(self) -> None:
        """Manual shutter: the loop saves the newest analysed frame, whatever the checks say."""
        with self._lock:
            self._manual_requests += 1

    def set_auto(self, on: bool) -> None:
        with self._lock:
            self._state.auto = bool(on)
            self._auto.reset()
            self._refresh_text()

    def set_profile(self, name: str) -> None:
        try:
            profile = load_profile(name, self.profiles_file)
        except CoachError as e:
            with self._lock:
                self._error(str(e))
            return
        with self._lock:
            self._profile, self._profile_name = profile, name
            cap = profile.capture
            self._auto.configure(cap.stable_seconds, cap.min_iou)
            self._hint.reset()
            self._trying_since = self._t_last
            self._offer = False
            st = self._state
            st.profile = name
            st.hint = None
            st.progress = 0.0
            if self._last is not None:
                # Judge the frame on screen under the new rules at once (pure and cheap).
                verdict = evaluate(self._last.observation, profile)
                self._last = Candidate(self._last.frame, self._last.observation, verdict)
                st.verdict = verdict
            self._refresh_text()

    def set_lang(self, lang: str) -> None:
        with self._lock:
            self._state.lang = lang
            self._refresh_text()

    def rearm(self) -> None:
        with self._lock:
            self._auto.rearm()
            self._trying_since = self._t_last
            self._offer = False
            self._state.armed = True
            self._state.progress = 0.0
            self._refresh_text()

    def toggle_recording(self) -> Optional[Path]:
        """Start a recording (returns its folder) or stop the running one (returns None)."""
        with self._rec_lock:
            if self._recorder is not None:
                self._stop_recording()
                return None
            rec = make_recorder(self.recordings_dir)
            try:
                path = Path(rec.start())
            except (CoachError, OSError) as e:
                with self._lock:
                    self._fault(f"cannot start a recording in {self.recordings_dir}: {_reason(e)}",
                                stage="recording")
                return None
            self._recorder = rec
            with self._lock:
                self._state.recording = path
                self._queue(Event("recording", data={"on": True, "path": str(path)}))
            return path

    def snapshot(self) -> SessionState:
        with self._lock:
            state = dataclasses.replace(self._state, captures=list(self._state.captures))
        peek = getattr(self.source, "peek", None)
        if state.live and peek is not None and state.status != "ended":
            try:
                newer = peek()
            except Exception:  # a preview nicety must never break the screen
                newer = None
            if newer is not None and (state.frame is None or newer.index > state.frame.index):
                state.preview_frame = newer
        return state

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        wall0 = 0.0
        live = bool(getattr(self.source, "live", False))
        try:
            while not self._stop.is_set():
                self._serve_commands()
                self._poll_source()
                frame = self.source.read(timeout=READ_TIMEOUT)
                self._poll_source()
                if frame is None:
                    if self.source.ended:
                        break
                    continue
                if self._t_first is None:
                    self._t_first, wall0 = frame.t, time.monotonic()
                    with self._lock:
                        self._trying_since = frame.t
                elapsed = frame.t - self._t_first
                if self.max_seconds is not None and elapsed >= self.max_seconds:
                    break
                if not live and not self.fast:
                    # Follow the file's timestamps; the wait is cut short by stop().
                    delay = wall0 + elapsed - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                self._record(frame)
                obs = self.analyzer.analyse(frame)
                with self._lock:
                    profile = self._profile
                verdict = evaluate(obs, profile)
                self._after_analysis(frame, obs, verdict, profile)
            self._serve_commands()  # a Space pressed just before the end still counts
        finally:
            with self._rec_lock:
                self._stop_recording()
            with self._lock:
                self._state.status = "ended"
                self._state.progress = 0.0
                data: dict[str, Any] = {"frames": self._state.frames, "captures": len(self._state.captures)}
                skipped = int(getattr(self.source, "skipped", 0) or 0)
                if skipped:
                    data["skipped"] = skipped
                self._queue(Event("summary", data=data))
            self._flush_events()

    # ------------------------------------------------------------------ loop internals (run thread)
    def _after_analysis(self, frame: Frame, obs: Observation, verdict: Verdict, profile: Any) -> None:
        best: Optional[Candidate] = None
        with self._lock:
            if profile is not self._profile:
                verdict = evaluate(obs, self._profile)  # the profile changed while this frame was analysed
            st = self._state
            st.frames += 1
            st.frame, st.observation, st.verdict = frame, obs, verdict
            st.resolution = (frame.width, frame.height)
            self._t_last = frame.t
            self._last = Candidate(frame, obs, verdict)
            now = time.monotonic()
            self._fps_times.append(now)
            if len(self._fps_times) >= 2 and self._fps_times[-1] > self._fps_times[0]:
                st.analysed_fps = (len(self._fps_times) - 1) / (self._fps_times[-1] - self._fps_times[0])

            change = self._hint.feed(frame.t, verdict)
            st.hint = self._hint.shown
            timeout = float(getattr(self._profile.capture, "timeout_seconds", 20.0))
            trying = self._trying_since if self._trying_since is not None else frame.t
            offer = (st.auto is False or st.armed) and frame.t - trying >= timeout - 1e-9
            offer_changed = offer != self._offer
            self._offer = offer
            self._refresh_text()
            if change is not None or (offer_changed and offer):
                self._queue(self._hint_event(frame.index))

            if st.auto and st.armed:
                best = self._auto.feed(frame, obs, verdict)
                if best is not None:
                    st.armed = False
                st.progress = self._auto.progress()
            else:
                st.progress = 0.0
            self._refresh_text()
        if best is not None and not self._save(best, manual=False):
            with self._lock:
                # Nothing saved: stay armed so that the next steady window tries again.
                self._auto.rearm()
                self._state.armed = True
                self._refresh_text()
        self._flush_events()

    def _serve_commands(self) -> None:
        with self._lock:
            n, self._manual_requests = self._manual_requests, 0
            last = self._last
            if n and last is None:
                self._error("nothing to capture yet: no frame has been analysed")
        if n and last is not None:
            self._save(last, manual=True)
        self._flush_events()

    def _save(self, cand: Candidate, *, manual: bool) -> bool:
        """Write a capture (outside the state lock: the screen keeps drawing during the fsync)."""
        with self._lock:
            cap = self._profile.capture
            profile_name, source_name, resolution = self._profile_name, self._state.source_name, self._state.resolution
        try:
            saved = save_capture(cand.frame, cand.verdict, self.out_dir, manual=manual, profile=profile_name,
                                 source=source_name, resolution=resolution,
                                 jpeg_quality=int(getattr(cap, "jpeg_quality", 95)),
                                 max_bytes=getattr(cap, "max_bytes", None), observation=cand.observation)
        except CaptureError as e:
            with self._lock:
                self._fault(str(e), stage="capture")
            return False
        failed = [r.id for r in cand.verdict.results if r.passed is not True]
        with self._lock:
            self._state.captures.append(saved.image)
            self._trying_since = self._t_last
            self._offer = False
            self._refresh_text()
            self._queue(Event("captured", frame=cand.frame.index,
                              data={"path": str(saved.image), "report": str(saved.report), "auto": not manual,
                                    "t": cand.frame.t, "failed": failed}))
        return True

    def _record(self, frame: Frame) -> None:
        with self._rec_lock:
            rec = self._recorder
            if rec is None:
                return
            try:
                rec.write(frame)
            except (CoachError, OSError) as e:
                msg = str(e) if isinstance(e, CoachError) else f"recording stopped: {_reason(e)}"
                with self._lock:
                    self._fault(msg, stage="recording")
                self._stop_recording()

    def _stop_recording(self) -> None:
        """Close the recorder (caller holds _rec_lock)."""
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        try:
            rec.stop()
        except (CoachError, OSError) as e:
            with self._lock:
                self._fault(f"the recording could not be closed: {_reason(e)}", stage="recording")
        with self._lock:
            path = self._state.recording
            self._state.recording = None
            self._queue(Event("recording", data={"on": False, "path": str(path) if path else None}))

    def _poll_source(self) -> None:
        status = str(getattr(self.source, "status", "ok") or "ok")
        skipped = int(getattr(self.source, "skipped", 0) or 0)
        with self._lock:
            st = self._state
            st.skipped = skipped
            res = getattr(self.source, "resolution", None)
            if res and st.frame is None:
                st.resolution = tuple(res)
            if skipped and not self._skipped_reported:
                # Corrupt frames are skipped by the source; said once, the session goes on.
                self._skipped_reported = True
                self._queue(Event("error", data={"reason": f"skipped corrupt frame(s) in {st.source_name}",
                                                 "stage": "source"}))
            if st.status == "ended":
                return
            drops = getattr(self.source, "drops", None)
            if isinstance(drops, int):
                # Sources count their drops: one that was over before this poll is still reported
                # (fault then recovered), and each drop is reported once.
                new, self._drops_seen = drops - self._drops_seen, drops
                reason = (getattr(self.source, "last_fault", None) or getattr(self.source, "fault", None)
                          or "the source stopped delivering frames")
                for _ in range(min(new, 3)):  # a burst between two polls: a few pairs say enough
                    if st.status == "reconnecting":
                        self._queue(Event("recovered"))
                    st.status, st.fault = "reconnecting", reason
                    self._queue(Event("fault", data={"reason": reason, "stage": "source"}))
            if status == "reconnecting" and st.status != "reconnecting":
                st.status = "reconnecting"  # a source without a drop counter
                st.fault = getattr(self.source, "fault", None) or "the source stopped delivering frames"
                self._queue(Event("fault", data={"reason": st.fault, "stage": "source"}))
            elif status == "ok" and st.status == "reconnecting":
                st.status, st.fault = "ok", None
                self._queue(Event("recovered"))
            elif status == "reconnecting":
                st.fault = getattr(self.source, "fault", None) or st.fault  # the newest reason, for the screen
        self._flush_events()

    # ------------------------------------------------------------------ helpers (lock held)
    def _hint_event(self, frame_index: int) -> Event:
        h = self._state.hint
        return Event("hint", frame=frame_index,
                     data={"check": h.id if h else None, "message": h.message if h else None,
                           "text": self._state.hint_text, "offer_manual": self._offer})

    def _refresh_text(self) -> None:
        st = self._state
        st.offer_manual = self._offer
        lang = st.lang
        if st.frame is None:
            st.hint_text = session_text("waiting", lang)
        elif st.auto and not st.armed:
            st.hint_text = session_text("captured", lang)
        elif st.hint is not None:
            text = message_text(st.hint.message, lang) if st.hint.message else st.hint.id
            st.hint_text = f"{text} · {session_text('offer_manual', lang)}" if self._offer else text
        else:
            st.hint_text = session_text("all_pass" if st.auto else "auto_off", lang)

    def _fault(self, reason: str, *, stage: str) -> None:
        self._state.last_error = reason
        self._queue(Event("fault", data={"reason": reason, "stage": stage}))

    def _error(self, reason: str) -> None:
        self._state.last_error = reason
        self._queue(Event("error", data={"reason": reason}))

    def _queue(self, event: Event) -> None:
        self._pending_events.append(event)

    def _flush_events(self) -> None:
        """Deliver queued events outside the lock. Only the run thread calls this: commands from the
        UI thread queue their events, so `on_event` never runs on the UI thread."""
        with self._lock:
            events, self._pending_events = self._pending_events, []
        if self.on_event is not None:
            for ev in events:
                self.on_event(ev)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror} ({e.filename})" if e.filename else e.strerror
    return str(e)
