"""The live preview: a BGR image drawn with half-block cells (▀: foreground = upper pixel,
background = lower pixel). Works in every terminal, tmux included.

Why it is hand-written instead of textual-image / rich-pixels: at 160×50 cells those reach
3–12 fps, because every frame builds thousands of new Style/Segment objects that Rich then has
to turn into escape codes again. Here colours are quantised (5 bits per channel by default) and
the Style of every (upper, lower) colour pair is made once and kept, so rendering a frame is
mostly dictionary look-ups, and Rich's per-Style cache of escape codes stays warm.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Optional

import cv2
import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

HALF = "▀"


class HalfBlockRenderer:
    """Turns an RGB image of W × 2H pixels into H Strips of W half-block cells.

    `bits` is how many bits per channel survive quantisation: fewer bits, more cache hits,
    coarser colour. 5 bits (32 levels) is indistinguishable from 8 at this resolution.
    """

    def __init__(self, bits: int = 5, max_styles: int = 300_000) -> None:
        if not 1 <= bits <= 8:
            raise ValueError("bits must be 1..8")
        self.bits = bits
        self.max_styles = max_styles
        self._shift = 8 - bits
        # centre of each quantisation bucket, so a quantised colour is the bucket's mean
        self._half = (1 << self._shift) >> 1
        self._styles: dict[int, Style] = {}
        self._colors: dict[int, Color] = {}
        self._seg1: dict[int, Segment] = {}  # one-cell Segment per pair
        self._halves = [HALF * n for n in range(512)]
        self.misses = 0
        self.lookups = 0

    # keys pack a quantised colour as r<<2b | g<<b | b, and a pair as upper<<3b | lower
    def _color(self, key: int) -> Color:
        color = self._colors.get(key)
        if color is None:
            b, s, h = self.bits, self._shift, self._half
            mask = (1 << b) - 1
            r = (((key >> (2 * b)) & mask) << s) | h
            g = (((key >> b) & mask) << s) | h
            bl = ((key & mask) << s) | h
            color = Color.from_rgb(min(r, 255), min(g, 255), min(bl, 255))
            self._colors[key] = color
        return color

    def _style(self, pair: int) -> Style:
        style = self._styles.get(pair)
        if style is None:
            self.misses += 1
            if len(self._styles) >= self.max_styles:
                # a long session through many scenes: start over rather than grow without bound
                self._styles.clear()
                self._seg1.clear()
            b3 = 3 * self.bits
            style = Style.from_color(self._color(pair >> b3), self._color(pair & ((1 << b3) - 1)))
            self._styles[pair] = style
        return style

    def pair_keys(self, rgb: np.ndarray) -> np.ndarray:
        """H × W int64 keys of (upper, lower) quantised colour pairs; rgb must have an even height."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] % 2:
            raise ValueError(f"expected an RGB image with an even height, got {rgb.shape}")
        b = self.bits
        q = (rgb >> self._shift).astype(np.int64)
        packed = (q[:, :, 0] << (2 * b)) | (q[:, :, 1] << b) | q[:, :, 2]
        return (packed[0::2] << (3 * b)) | packed[1::2]

    def strips(self, rgb: np.ndarray) -> list[Strip]:
        keys = self.pair_keys(rgb)
        height, width = keys.shape
        # Runs of equal neighbouring cells share one Segment (letterbox bars, walls, overlays are
        # nearly free for the compositor); run starts are found with numpy so Python only loops
        # over runs. Single cells, the common case on a camera picture, reuse cached Segments.
        change = np.empty(keys.shape, bool)
        change[:, 0] = True
        np.not_equal(keys[:, 1:], keys[:, :-1], out=change[:, 1:])
        styles, style_of, seg1, halves = self._styles, self._style, self._seg1, self._halves
        out: list[Strip] = []
        for y in range(height):
            starts = np.flatnonzero(change[y])
            segments: list[Segment] = []
            append = segments.append
            for key, n in zip(keys[y, starts].tolist(), np.diff(starts, append=width).tolist()):
                if n == 1:
                    seg = seg1.get(key)
                    if seg is None:
                        seg = seg1[key] = Segment(HALF, styles.get(key) or style_of(key))
                    append(seg)
                else:
                    append(Segment(halves[n] if n < len(halves) else HALF * n, styles.get(key) or style_of(key)))
            out.append(Strip(segments, width))
        self.lookups += keys.size
        return out


def fit_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """Largest (x, y, w, h) with the source's aspect ratio centred in dst (pixels are square)."""
    if src_w <= 0 or src_h <= 0 or dst_w <= 0 or dst_h <= 0:
        return 0, 0, 0, 0
    scale = min(dst_w / src_w, dst_h / src_h)
    w = max(1, min(dst_w, int(round(src_w * scale))))
    h = max(1, min(dst_h, int(round(src_h * scale))))
    return (dst_w - w) // 2, (dst_h - h) // 2, w, h


class Preview(Widget):
    """Shows the newest frame. Call `show(rgb_canvas)` with an RGB image of exactly
    `pixel_size()`; the app does the resizing and overlays (see overlays.py)."""

    DEFAULT_CSS = """
    Preview { width: 1fr; height: 1fr; background: black; }
    """

    def __init__(self, *, bits: int = 5, id: Optional[str] = None, classes: Optional[str] = None) -> None:
        super().__init__(id=id, classes=classes)
        self.renderer = HalfBlockRenderer(bits=bits)
        self._strips: list[Strip] = []
        self._generation = 0
        self._painted_generation = 0
        self._paint_times: deque[float] = deque(maxlen=240)
        self.placeholder = ""

    def pixel_size(self) -> tuple[int, int]:
        """(width, height) in pixels: one column per cell, two rows per cell."""
        size = self.content_region.size
        return size.width, size.height * 2

    def show(self, rgb: np.ndarray) -> None:
        self._strips = self.renderer.strips(rgb)
        self._generation += 1
        self.refresh()

    def clear_image(self, placeholder: str = "") -> None:
        self._strips = []
        self.placeholder = placeholder
        self._generation += 1
        self.refresh()

    # Our colours are all truecolor already; Textual's ANSIToTruecolor line filter would still
    # walk every segment of every line through an LRU cache that thrashes with thousands of
    # styles, costing more than the rest of the render. Nothing here needs it.
    def get_line_filters(self):
        return ()

    def render_line(self, y: int) -> Strip:
        if y == 0 and self._painted_generation != self._generation:
            self._painted_generation = self._generation
            self._paint_times.append(time.monotonic())
        width = self.size.width
        if y < len(self._strips):
            return self._strips[y]
        if not self._strips and self.placeholder and y == self.size.height // 2:
            text = self.placeholder[:width]
            pad = max(0, (width - len(text)) // 2)
            return Strip([Segment(" " * pad + text, Style(color="grey70", bgcolor="black"))]).adjust_cell_length(
                width, Style(bgcolor="black"))
        return Strip.blank(width, Style(bgcolor="black"))

    def paint_fps(self, window: float = 2.0) -> float:
        """Frames actually handed to the compositor per second over the last `window` seconds."""
        now = time.monotonic()
        times = [t for t in self._paint_times if now - t <= window]
        if len(times) < 2:
            return 0.0
        span = times[-1] - times[0]
        return (len(times) - 1) / span if span > 0 else 0.0


def to_canvas(bgr: np.ndarray, width: int, height: int, canvas: Optional[np.ndarray] = None
              ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Resize `bgr` (INTER_AREA) into a black BGR canvas of width × height (height even), keeping
    the aspect ratio. Returns the canvas (a new array or the reused one) and the image rectangle
    (x, y, w, h) inside it. The source frame is only read, never written."""
    height -= height % 2
    if canvas is None or canvas.shape[:2] != (height, width):
        canvas = np.zeros((height, width, 3), np.uint8)
    else:
        canvas[:] = 0
    x, y, w, h = fit_rect(bgr.shape[1], bgr.shape[0], width, height)
    if w and h:
        interp = cv2.INTER_AREA if w < bgr.shape[1] else cv2.INTER_LINEAR
        canvas[y:y + h, x:x + w] = cv2.resize(bgr, (w, h), interpolation=interp)
    return canvas, (x, y, w, h)
