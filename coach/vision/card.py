"""Find the ID card (ID-1, 85.6 x 54 mm) or passport data page (ID-3) in a frame. OpenCV only.

Pipeline (see `detect_card`):
  1. work on a downscaled grey copy (long side <= WORK_SIZE px) for speed;
  2. propose quads from line segments (FastLineDetector): pairs of near-parallel segments, and
     two such pairs across each other, so a card whose corners are hidden by thumbs is still
     proposed from its four straight sides (one pair may converge up to PAIR_ANGLE: a card seen
     at 45-60 deg); cards running off the frame from two parallel sides and one across them (the
     fourth side inferred beyond the border from the ID-1 aspect); three sides with the fourth
     searched for; two parallel sides sharing an end, the short sides searched for or placed at
     the ID-1 length (_pair_end_candidates: a finger over one short side, the other against a
     background of the card's tone); in the finer and colour looks also a window of the ID-1
     length slid along a pair whose ends differ (_pair_slide_candidates); a scan cropped to the
     card is the frame itself;
  3. score each quad (vectorised prefilter, then exact): true aspect after undoing perspective
     (ID-1 1.586 / passport 1.42), tilt <= 60 deg, gradient support of one polarity along each
     side (gaps under fingers allowed; polarity may flip where only the background changes
     tone), printed detail inside ("ink") on light card stock, not the person's head (face hint;
     a printed portrait's box is not a head, nor is a card held over the face with the head's
     box around it), within the hands' reach (hand hint); a quad of a
     steep card's shape needs four clear sides and is judged at the focal length that fits it;
  4. prefer the card around a card's own inner rectangles (portrait, text block); an ID card's
     printed portrait lies inside the card: a winner with a seen face just outside one side (the
     text block: an inner print line and the portrait's border as sides) is replaced by the quad
     around both, built from the segments (_around_portrait);
  5. refine the winner's sides at full resolution (sub-pixel edge search along each side's
     normal, robust line fit, intersect); in_frame is False when a corner is off the frame.
When nothing is found, or only a weak card (score < SECOND_LOOK), once more on a finer copy
(FINE_SIZE), the better of the two kept; when still nothing is found, with a face hint, at full
resolution in the region beside and below the face where a small held card is (_chest_search),
then on the working copy with edges taken from colour instead of brightness (_colour_search: a
pink card on a red plaid shirt, a pale blue one before a white wall; whole cards only; also after
a weak card, the better kept unless inside it), last in
overlapping tiles of the frame at full resolution (_tile_search: a small card anywhere, its
holding hand often unseen; a card cut off by the frame's border), also when only a weak card was found (the tiles' card kept when it
scores higher and is not inside it). These later passes also try the most alike parallel pairs, not only
the longest (_pair_order: a small card's sides are short).

Segments: FLD pieces that lie on one line are also merged (a side cut by fingers or noise), and
all are ranked by length x edge strength before the MAX_SEGMENTS cut (busy backgrounds).
Side support: points under a seen hand's fingers are left out; a side may change polarity once
(a light card before a background that is darker on one part, lighter on another).
Card stock: light (>= MIN_LIGHT of the frame's p98), or dimmer but even, printed and with clear
sides (see _printed_stock); below EVEN_LIGHT the stock must be even.

Video (detect_card(prev=...), CardTracker): the previous card's sides are searched for within a
few px at full resolution (no gradients of the whole frame, ~4-10 ms), then the quad must pass
the full search's acceptance tests with a score >= TRACK_ACCEPT (0.05 less with a printed portrait
inside, as in the full search; samples under seen fingers left out of side support, as there);
else the full search runs, also when a face lies just outside the tracked quad (a printed
portrait left out: the quad is the card's text block) and when the moved-card search shrinks
into the old quad (a print frame inside a weak outer edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import cv2
import numpy as np

from coach.types import Card, Face, Hand
from coach.vision import geometry as g

WORK_SIZE = 640  # long side of the working copy, px
# When nothing is found on the working copy: once more at this size (synthetic seed 1: +17 cards
# with corners within IoU 0.95, +1 wrong quad; at 1280: +2 more right but +9 more wrong)
FINE_SIZE = 960
# A card found on the working copy that scores below this gets a second look on the finer copy,
# and the better of the two is kept: the working copy misses small cards (a railing, a speaker
# on cobblestones wins instead) and an inner print frame can win over the faint real edge. Four
# synthetic seeds, IoU >= .95 against the truth: 958 (never) / 976 (0.75) / 989 (0.8) / 993 (0.85)
# / 997 (0.9) / 998 (always); card ms p50 on seed 1 48 / 56 / 71 / 84 / 108 (the finer look
# costs 40-60 ms). True cards score 0.7-0.98, median ~0.88. The finer look often scores a card's
# own portrait or text block higher than the whole card: a whole card keeps its place against
# a quad inside it (_inside). With that, four seeds, found / IoU >= .95 / wrong (IoU < .5):
# 1134 / 958 / 55 -> 1134 / 997 / 48 (INSIDE 0.8-0.95 alike), no new false card on real photos.
SECOND_LOOK = 0.85
INSIDE = 0.9
# When both find nothing: the region beside and below the face, at full resolution (_chest_search)
CHEST_CROP = 2.0  # face widths either side of the face's centre
CHEST_DOWN = 4.0  # face heights below the face's top
CHEST_MAX_FRAC = 0.6  # of the frame: a larger region is not worth a third search
CHEST_ACCEPT = 0.85  # score of a card found there (small true cards: 0.88-0.99; print details, clothes: 0.7-0.85)
CHEST_MIN_SIZE = 0.35  # its long side at least this share of the face's width (ID-1 at the face's distance: ~0.57)
# When still nothing is found: overlapping tiles of the frame at full resolution (_tile_search)
TILE_MIN = 640  # px: a tile is half the frame's long side, at least this
TILE_ACCEPT = 0.85  # synthetic seeds 1 / 2: at 0.8, +1 card found and +1 wrong quad
# _colour_search: Lab's b (yellow-blue) then a (green-red) channel, stretched around neutral (128)
# by COLOUR_GAIN so that a step of colour reaches the edge threshold a brightness step does
COLOUR_CHANNELS = ("b", "a")
COLOUR_GAIN = 2.5
ID1_TOL = 0.075  # accepted |log(aspect / 1.586)| (about +-7.5 %; perspective guess included)
PASSPORT_TOL = 0.045  # tighter: tablets / 4:3 screens (1.333) must not pass as passports (1.42)
MIN_AREA_FRAC = 0.006  # smallest card, fraction of the frame
MAX_AREA_FRAC = 0.995
MIN_SHORT_SIDE = 12.0  # px at work scale
TILT_PENALTY = 0.15
FOCAL_GUESSES = (0.7, 0.85, 1.0, 1.15, 1.3)  # x default_focal (0.9 x the long side), see _steep_id1_errors
STEEP_SIDES = 0.75  # every side of a quad that is ID-1 only at another focal length
APPARENT_RATIO = (1.0, 3.2)  # side ratio in the image of a quad built from four segments (ID-1 1.59; seen at 50-60 deg: 1.0-3.1)
PAIR_ANGLE = 30.0  # deg between a card's opposite sides in the image (frontal: ~0; seen at 50-60 deg: up to 32)
MAX_TILT = 60.0  # degrees: a card seen steeper than this is not readable (and rarely a card)
ACCEPT = 0.69  # minimum score of a detection (synthetic seed 1: true cards mostly 0.7-0.98; wrong quads 0.64-0.8, printed T-shirts and cupboard doors on people photos 0.66-0.68)
MIN_INK = 0.12  # fraction of the card's inner area covered by fine dark print (see _ink)
# Card stock is light: the card's median luma relative to the frame's 98th percentile. Cards
# measured 0.73-0.95, the false quads on people photos (cupboards, windows, clothes) 0.4-0.66.
# Known limit: a dark card (rare for ID cards) is missed.
MIN_LIGHT = 0.62
# A dimmer card (stock at 0.42-0.62 of the frame's p98: a card in the shade of the body, a bright
# window elsewhere) is accepted when its stock is even (p90 - median <= DIM_SPREAD of the p98:
# a printed card is one light ground; the false quads of that light - cupboards, shelves, shirts -
# are patchy: 0.14-0.43 on 312 synthetic scenes and the people photos, true cards 0.02-0.11) and
# clearly printed; also when it runs off the frame (session 4: +2 cut-off cards on seed 3, none
# lost or false elsewhere).
MIN_LIGHT_DIM = 0.42
DIM_SPREAD = 0.12
# Up to EVEN_LIGHT the allowed spread grows linearly from DIM_SPREAD (0.2 at 0.75): cupboards and
# bookshelves at 0.6-0.7 measured 0.2-0.27, true cards there 0.13-0.19 (one at 0.24).
EVEN_LIGHT = 0.75
DIM_INK = 0.15
EVEN_INK = 0.08  # print asked of a very even stock (spread <= SHADE_SPREAD), see _printed_stock
# A card in the shade of a backlit person (a bright window behind it) measures 0.22-0.36 of the
# frame's p98 (synthetic backlight scenes) but is a very even printed ground (spread 0.02-0.06):
# accepted down to MIN_LIGHT_SHADE when spread <= SHADE_SPREAD, printed (DIM_INK) and wholly seen.
# Seed 1: backlight scenes found 1 -> 8 of 12, no new wrong quad, no new false card on people.
# Session 9: such a card is asked only EVEN_INK, as the even stock above MIN_LIGHT_DIM (its print is
# dimmed with it: ink 0.07-0.14): seeds 1 / 2 / 3 / 7 +2 / +1 / +1 / +3 backlit cards, one wrong quad in a
# dark scene (seed 1), no new false card on the real photos.
MIN_LIGHT_SHADE = 0.2
SHADE_SPREAD = 0.07
# ... or 0.7 when its ground is even (spread <= EVEN_SPREAD; hold_id_03's teal T-shirt between the
# flaps of a plaid shirt: light 0.45, spread 0.13, sides 0.755)
DIM_SUPPORT_EVEN = 0.7
EVEN_SPREAD = 0.1
DIM_SUPPORT = 0.8  # ... and has clear sides (mean support; labelled cabinets, shelves score 0.65-0.75)


@dataclass
class _Cand:
    quad: np.ndarray  # (4, 2) work-scale, ordered; may extend beyond the image when cut off
    cut: np.ndarray  # (4,) bool: side i (quad[i] -> quad[i+1]) lies on/behind the image border
    score: float = 0.0
    aspect: float = 0.0
    kind: str = "id1"
    support: float = 0.0
    sides: object = None
    gaps: object = None
    reason: str = ""  # why _score rejected it (debugging)
    pre: object = None  # (support, gaps) of the real sides from _prefilter
    frame: bool = False  # the whole frame is the card (scan cropped to the card)
    coarse: bool = False  # corners only approximate (contour hulls): search edges a bit wider
    three: bool = False  # proposed from three sides, the fourth searched for (_three_side_candidates)
    steep: bool = False  # an ID-1 card only at another focal length (_steep_id1_errors): needs STEEP_SIDES
    inner: bool = False  # built around an accepted inner quad and its adjacent portrait (_around_portrait)
    alike: bool = False  # from the extra, most alike pairs (_pair_order): needs ALIKE_ACCEPT
    slid: bool = False  # short sides found by sliding a window (_pair_slide_candidates): never "the card around"


# --------------------------------------------------------------------------- public API
def detect_card(bgr: np.ndarray, hands: Sequence[Hand] = (), faces: Sequence[Face] = (),
                prev: Card | None = None, fine: bool = True, colour: bool | None = None,
                second_look: bool = True, tiles: bool | None = None) -> Card | None:
    """The most card-like quad in `bgr` (BGR uint8), or None when there is no card.

    `hands` and `faces` are optional hints in full-resolution pixels: a quad that is mostly a
    face box is rejected, a quad next to the hands is preferred.
    `prev` (video): the previous frame's card. Its sides are first searched for near where they
    were (a few ms); that card is returned when it passes the same kind of acceptance tests
    (aspect, tilt, edge support on all four sides, print, light stock, not the face) with a high
    score, else the full search runs. See CardTracker for periodic full searches.
    `fine`: when the search on the working copy finds nothing, search once more on a finer copy
    (FINE_SIZE): small cards (a card at arm's length, a webcam frame) and faint edges; and, with a
    face hint, once more beside and below the face at full resolution (_chest_search).
    `second_look` (with `fine`): also search the finer copy when the working copy found only a
    weak card (SECOND_LOOK), and keep the better. CardTracker leaves it out: in video it would
    cost 40-60 ms on most full searches, and the tracked quad is refined on every frame.
    `colour` (default: as `fine`): when still nothing is found, search the working copy once more
    with edges taken from colour (_colour_search). CardTracker asks for the finer look and the
    colour look on different frames, so that no frame pays for both.
    `tiles` (default: as `fine`): when still nothing or only a weak card is found, search
    overlapping tiles of the frame at full resolution (_tile_search, 200-400 ms); CardTracker asks
    for it rarely (TILES_EVERY), and only while no card is found.
    """
    return _detect(bgr, hands, faces, prev, fine, colour, second_look, tiles)[0]


def _detect(bgr: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face],
            prev: Card | None, fine: bool = True, colour: bool | None = None,
            second_look: bool = True, tiles: bool | None = None) -> tuple[Card | None, bool]:
    """(card, tracked): tracked is True when the card came from the search near `prev`."""
    if bgr is None or bgr.ndim < 2 or min(bgr.shape[:2]) < 2 * MIN_SHORT_SIDE:
        return None, False  # no card fits (and the line detector fails on 1-px-high frames)
    gray_full = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if prev is not None:
        # a card found in a colour channel is followed in that channel, else (or then) in grey
        tries = [("grey", None)]
        if prev.edges != "grey" and bgr.ndim == 3:
            tries.insert(0, (prev.edges, _colour_edges(bgr, prev.edges, around=prev.quad)))
        for name, edges in tries:
            card = _track(gray_full, prev, hands, faces, edges=edges)
            if card is not None:
                return replace(card, edges=name), True
    colour = fine if colour is None else colour
    tiles = fine if tiles is None else tiles
    return _full_search(gray_full, hands, faces, fine, bgr=bgr if bgr.ndim == 3 and colour else None,
                        second_look=second_look, tiles=tiles), False


def _full_search(gray_full: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face],
                 fine: bool = True, bgr: np.ndarray | None = None, second_look: bool = True,
                 tiles: bool = False) -> Card | None:
    """`bgr` (the colour frame): also search with colour edges (_colour_search) when all else
    fails or only a weak card was found (its card kept as the tiles' is: seeds 1 / 2 / 3 / 7,
    IoU >= 0.95 +9 / +5 / +4 / +4, wrong quads -2 / -3 / -2 / -1); `tiles`: then in tiles of the
    frame at full resolution (_tile_search), also after a weak card (with `second_look`: below
    SECOND_LOOK), the tiles' card kept when it scores higher and is not one of the first card's
    inner rectangles (seeds 1 / 2 / 3: IoU >= 0.95 240 -> 243, 254 -> 258, 246 -> 248, nothing
    lost; card ms p95 on stills ~350 -> ~490)."""
    card = _full_search_at(gray_full, hands, faces, WORK_SIZE)

    def again(c: Card | None) -> bool:  # nothing found, or (stills) only a weak card
        return c is None or (second_look and c.score < SECOND_LOOK)

    def better(new: Card | None, old: Card | None, inside_cut: bool = True) -> bool:
        # higher and never one of the old card's inner rectangles (print frame, portrait, text);
        # with inside_cut, not either when the old card runs off the frame
        return new is not None and (old is None or new.score > old.score and not (
            (inside_cut or old.in_frame) and _inside(np.asarray(new.quad), np.asarray(old.quad))))

    if again(card) and fine and max(gray_full.shape[:2]) > WORK_SIZE:
        finer = _full_search_at(gray_full, hands, faces, FINE_SIZE, alike=True, slide=second_look)
        if better(finer, card, inside_cut=False):
            card = finer
    if card is None and fine and faces:
        card = _chest_search(gray_full, hands, faces)
    if bgr is not None and again(card):
        coloured = _colour_search(bgr, gray_full, hands, faces, slide=second_look)
        if better(coloured, card):
            card = coloured
    if tiles and again(card):
        tiled = _tile_search(gray_full, hands, faces)
        if better(tiled, card):
            card = tiled
    return card


def _colour_search(bgr: np.ndarray, gray_full: np.ndarray, hands: Sequence[Hand],
                   faces: Sequence[Face], slide: bool = False) -> Card | None:
    """A card whose sides are steps of colour more than of brightness (a pink card on a red
    plaid shirt, a pale card before a wall of the same luma) gives the line detector and the side
    support nothing to hold on to in grey. Search the working copy again with the edges of Lab's
    colour channels (COLOUR_CHANNELS); print, card stock and the final refinement still use the
    grey image. Only whole cards count here: an inferred corner needs clear grey sides, and the
    cut-off quads found this way were furniture at the frame's edge."""
    H, W = gray_full.shape[:2]
    scale = min(1.0, WORK_SIZE / float(max(H, W)))
    small = bgr if scale >= 1.0 else cv2.resize(bgr, (max(1, round(W * scale)), max(1, round(H * scale))),
                                                 interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    for ch in COLOUR_CHANNELS:
        card = _full_search_at(gray_full, hands, faces, WORK_SIZE, edges=_stretch(lab, ch), alike=True,
                               slide=slide)
        if card is not None and card.in_frame:
            return replace(card, edges=ch)
    return None


def _colour_edges(bgr: np.ndarray, ch: str, around) -> np.ndarray:
    """Lab channel `ch` ("a" or "b") of `bgr`, stretched (see COLOUR_GAIN), for _track: computed
    only within TRACK_MARGIN px of the quad `around` (the tracker looks at most 16 + 3 px off the
    previous sides), neutral elsewhere."""
    H, W = bgr.shape[:2]
    pts = np.asarray(around, np.float64)
    x0, y0 = np.clip(np.floor(pts.min(0)).astype(int) - TRACK_MARGIN, 0, [W, H])
    x1, y1 = np.clip(np.ceil(pts.max(0)).astype(int) + TRACK_MARGIN + 1, 0, [W, H])
    out = np.full((H, W), 128, np.uint8)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = _stretch(cv2.cvtColor(np.ascontiguousarray(bgr[y0:y1, x0:x1]), cv2.COLOR_BGR2LAB), ch)
    return out


def _stretch(lab: np.ndarray, ch: str) -> np.ndarray:
    c = lab[..., 1 if ch == "a" else 2].astype(np.float32)
    return np.clip((c - 128.0) * COLOUR_GAIN + 128.0, 0, 255).astype(np.uint8)


def _chest_search(gray_full: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face]) -> Card | None:
    """A small card (at arm's length, 100-150 px in a 1280 px frame) has sides that rank below the
    long lines of a busy room: search again in the region where a held card is, beside and below
    the person's face (CHEST_CROP face widths either side, down to CHEST_DOWN face heights), at
    full resolution. Only whole cards count there (a quad cut by the crop is not cut by the
    frame)."""
    H, W = gray_full.shape[:2]
    fx, fy, fw, fh = max((f.box for f in faces), key=lambda b: b[2] * b[3])
    cx = fx + fw / 2.0
    x0, x1 = int(max(0, cx - CHEST_CROP * fw)), int(min(W, cx + CHEST_CROP * fw))
    y0, y1 = int(max(0, fy + 0.5 * fh)), int(min(H, fy + CHEST_DOWN * fh))
    if (x1 - x0) * (y1 - y0) > CHEST_MAX_FRAC * W * H or min(x1 - x0, y1 - y0) < 64:
        return None  # no smaller than the frame: the searches above looked there already
    return _region_search(gray_full, hands, faces, (x0, y0, x1, y1), min(FINE_SIZE, max(x1 - x0, y1 - y0)))


def _tile_search(gray_full: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face]) -> Card | None:
    """A small card anywhere in the frame (held low or to the side, the face too big or unseen
    for _chest_search): its short sides rank below the MAX_SEGMENTS cut of the whole frame and
    its pairs below MAX_PAIRS, though it is found in a crop of up to five times its size. Search
    overlapping tiles of half the frame's long side (at least TILE_MIN px), stride half a tile,
    each at up to FINE_SIZE px (full resolution up to 1920 px frames); the best card that scores
    TILE_ACCEPT wins. Whole cards, or cards cut off by the frame's border, never by a tile's (a
    card running off a busy frame: seed 2 +2 cards found, nothing lost on seeds 1, 3, 7)."""
    H, W = gray_full.shape[:2]
    tile = max(TILE_MIN, max(H, W) // 2)
    if max(H, W) <= tile:
        return None  # one tile is the frame: the first searches looked at it
    best: Card | None = None
    for y0 in _tile_starts(H, tile):
        for x0 in _tile_starts(W, tile):
            box = (x0, y0, min(W, x0 + tile), min(H, y0 + tile))
            card = _region_search(gray_full, hands, faces, box, min(FINE_SIZE, tile), TILE_ACCEPT, far=False,
                                  frame=(W, H))
            if card is not None and (best is None or card.score > best.score):
                best = card
    return best


def _tile_starts(n: int, tile: int) -> list[int]:
    """Starts of tiles `tile` long, half a tile apart, covering 0..n (the last one ends at n)."""
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile, tile // 2))
    return starts + [n - tile]


def _region_search(gray_full: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face],
                   box: tuple[int, int, int, int], size: int, accept: float = CHEST_ACCEPT,
                   far: bool = True, frame: tuple[int, int] | None = None) -> Card | None:
    """The card found in `box` (x0, y0, x1, y1) of the frame, worked at `size` px, in frame
    pixels; only a card scoring `accept` that is not smaller than a card held by the largest
    face's person (CHEST_MIN_SIZE: a print detail, a button), and whole, unless `frame` (W, H) is
    given and it runs off the box only where the box's edge is the frame's (a card cut off by
    the frame: in a busy frame its pairs rank below MAX_CUT_PAIRS). `far`: see _Context."""
    x0, y0, x1, y1 = box
    off = np.array([x0, y0], np.float64)

    def moved(pts):
        return [(float(x) - x0, float(y) - y0) for x, y in pts]

    hs = [Hand(points=moved(h.points), handedness=h.handedness, score=h.score) for h in hands]
    fs = [Face(box=(f.box[0] - x0, f.box[1] - y0, f.box[2], f.box[3]), score=f.score) for f in faces]
    card = _full_search_at(np.ascontiguousarray(gray_full[y0:y1, x0:x1]), hs, fs, size, crop=True, alike=True,
                           far=far)
    if card is None or card.score < accept:
        return None
    if not card.in_frame:
        if frame is None:
            return None
        q = np.asarray(card.quad)
        w, h = x1 - x0, y1 - y0
        # every corner beyond an edge of the box that is not the frame's: cut by the tile only
        if ((q[:, 0] < 0) & (x0 > 0)).any() or ((q[:, 0] > w - 1) & (x1 < frame[0])).any() \
                or ((q[:, 1] < 0) & (y0 > 0)).any() or ((q[:, 1] > h - 1) & (y1 < frame[1])).any():
            return None
    q = np.asarray(card.quad) + off
    if faces:
        fw = max((f.box for f in faces), key=lambda b: b[2] * b[3])[2]
        if float(g.side_lengths(g.order_quad(q)).max()) < CHEST_MIN_SIZE * fw:
            return None
    return Card(quad=[(float(x), float(y)) for x, y in q], in_frame=card.in_frame, kind=card.kind, score=card.score)


def _full_search_at(gray_full: np.ndarray, hands: Sequence[Hand], faces: Sequence[Face], size: int,
                    crop: bool = False, edges: np.ndarray | None = None, alike: bool = False,
                    far: bool = True, slide: bool = False) -> Card | None:
    """`edges`: another single-channel image of the working copy's size to take the edges from
    (_colour_search); print and card stock are read from the grey image. `slide`: with `alike`,
    also the slid windows (_pair_slide_candidates: stills only, they cost video ~20 % of its
    frames while no card is in view)."""
    H, W = gray_full.shape[:2]
    scale = min(1.0, size / float(max(H, W)))
    if scale < 1.0:
        gray = cv2.resize(gray_full, (max(1, round(W * scale)), max(1, round(H * scale))),
                          interpolation=cv2.INTER_AREA)
    else:
        gray = gray_full
    ctx = _Context(gray, W, H, scale, hands, faces, crop=crop, edges=edges, alike=alike, far=far, slide=slide)
    best = _search(ctx)
    if best is None:
        return None
    quad_full = best.quad / scale
    if best.frame:
        quad_full = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float64)
    else:
        quad_full = _refine(gray_full, quad_full, best.cut, radius=max(3.0, 2.0 / scale))
    quad_full = g.order_quad(quad_full)
    in_frame = g.all_inside(quad_full, W, H, margin=1.0) and not bool(best.cut.any())
    return Card(
        quad=[(float(x), float(y)) for x, y in quad_full],
        in_frame=in_frame,
        kind="passport" if best.kind == "passport" else "id1",
        score=float(min(1.0, max(0.0, best.score))),
    )


def _search(ctx: _Context) -> _Cand | None:
    """The best accepted candidate on the working copy (work-scale quad), or None."""
    cands = _prefilter(ctx, _line_candidates(ctx)) + (_frame_candidates(ctx) if not ctx.crop else [])
    # best first (by side support), so that hopeless ones skip the costly print test
    cands.sort(key=lambda c: -(float(np.mean(c.pre[0])) if c.pre is not None else 0.0))
    ok: list[_Cand] = []
    floor = ACCEPT
    for c in cands:
        if _score(ctx, c, floor) and c.score >= (ALIKE_ACCEPT if c.alike else ACCEPT):
            ok.append(c)
            floor = max(floor, c.score - 0.15)  # _pick only looks 0.15 below the best
    if not ok:
        return None
    best = _pick(ok)
    return _around_portrait(ctx, best) or best


def _adjacent_face(q: np.ndarray, boxes) -> tuple[int, tuple] | None:
    """(side, face box) of a face lying just outside one short side of ordered quad q (the
    card's printed portrait next to an inner rectangle of the card - its text block - that was
    taken for the card): the face's centre 0.2-1.3 face sizes beyond the side, within the side's
    extent, the face about as big as that side (0.5-1.6x), and at most a third of it inside q.
    Short sides only: ID-1 cards and passport pages print the portrait beside the text along the
    long axis, while the live head above a card held at the chest lies beyond a long side (on
    the synthetic set that is where extending wrongly took in the head)."""
    cen = q.mean(0)
    sl = g.side_lengths(q)
    for box in boxes:
        fx, fy, fw, fh = box
        s = math.sqrt(max(fw * fh, 1e-9))
        c = np.array([fx + fw / 2.0, fy + fh / 2.0])
        fb = _box_quad(box)
        for i in range(4):
            if sl[i] + sl[(i + 2) % 4] > sl[(i + 1) % 4] + sl[(i + 3) % 4]:
                continue  # a long side
            a, b = q[i], q[(i + 1) % 4]
            d = b - a
            L = float(np.hypot(*d)) + 1e-9
            n = np.array([-d[1], d[0]]) / L
            if float(np.dot(n, cen - a)) > 0:
                n = -n
            dist = float(np.dot(n, c - a))
            t = float(np.dot(d, c - a)) / (L * L)
            if 0.2 * s <= dist <= 1.3 * s and -0.2 <= t <= 1.2 and 0.5 * L <= s <= 1.6 * L \
                    and _inter_area(q, fb) < 0.33 * fw * fh:
                return i, box
    return None


MAX_PORTRAIT_LINES = 5  # lines tried per side of the card around an inner rectangle and its portrait


def _around_portrait(ctx: _Context, best: _Cand) -> _Cand | None:
    """An ID card's printed portrait lies inside the card. When the accepted quad has a seen face
    just outside one side (see _adjacent_face), that quad is likely the card's text block (an
    inner print line and the portrait's border as sides, the ID-1 aspect by chance) and the card
    is the larger quad around both: its sides are searched for among the line segments parallel
    to the quad's sides - the far side on or just beyond the quad's, the lateral ones on or
    outside the quad's and the face's, the near one beyond the face - and the best such quad that
    passes the full acceptance tests (_prefilter, _score) and holds most of the face is returned.
    None when there is no adjacent face or no such quad."""
    if not ctx.face_boxes or best.frame or best.cut.any() or len(ctx.segs) == 0:
        return None
    q = g.order_quad(best.quad)
    adj = _adjacent_face(q, ctx.face_boxes)
    if adj is None:
        return None
    k, (fx, fy, fw, fh) = adj
    s = math.sqrt(fw * fh)
    fb = _box_quad((fx, fy, fw, fh))
    cen = q.mean(0)
    segs = ctx.segs
    p0, p1 = segs[:, :2], segs[:, 2:]
    sd = p1 - p0
    sl = np.hypot(sd[:, 0], sd[:, 1]) + 1e-9
    su = sd / sl[:, None]
    mid = (p0 + p1) / 2
    both = np.concatenate([q, fb])
    lines = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        d = b - a
        L = float(np.hypot(*d)) + 1e-9
        u = d / L
        n = np.array([-u[1], u[0]])
        if float(np.dot(n, cen - a)) > 0:
            n = -n
        e_face = float(np.max((fb - a) @ n))
        if i == k:  # near side: beyond the face
            lo, hi = e_face - 0.2 * s, e_face + 1.0 * s
        elif i == (k + 2) % 4:  # far side: the quad's own or a little beyond
            lo, hi = -2.0, 0.5 * s
        else:  # lateral: on or outside the quad, around (most of) the face
            lo, hi = max(-2.0, e_face - 0.25 * s), max(0.0, e_face) + 0.8 * s
        along = (both - a) @ u
        a_lo, a_hi = float(along.min()) - 0.3 * s, float(along.max()) + 0.3 * s
        off = (mid - a) @ n
        ta = (mid - a) @ u
        par = np.abs(su @ u) > math.cos(math.radians(12))
        sel = np.nonzero(par & (off >= lo) & (off <= hi) & (ta >= a_lo) & (ta <= a_hi) & (sl >= 8))[0]
        sel = sel[np.argsort(-sl[sel])][:MAX_PORTRAIT_LINES]
        cand = [np.cross([*p0[j], 1.0], [*p1[j], 1.0]) for j in sel]
        if i != k and lo <= 0.0 <= hi:
            cand.insert(0, np.cross([*a, 1.0], [*b, 1.0]))
        if not cand:
            return None
        lines.append(np.array(cand))
    # every combination: corner i lies between side i - 1 and side i
    idx = np.stack(np.meshgrid(*[np.arange(len(x)) for x in lines], indexing="ij"), -1).reshape(-1, 4)
    Ls = [lines[i][idx[:, i]] for i in range(4)]
    corners = []
    for i in range(4):
        x = np.cross(Ls[(i - 1) % 4], Ls[i])
        w = np.where(np.abs(x[:, 2]) < 1e-9, 1e-9, x[:, 2])
        corners.append(x[:, :2] / w[:, None])
    quads = np.stack(corners, 1)
    x, y = quads[..., 0], quads[..., 1]
    e = np.roll(quads, -1, axis=1) - quads
    cross = e[:, :, 0] * np.roll(e, -1, axis=1)[:, :, 1] - e[:, :, 1] * np.roll(e, -1, axis=1)[:, :, 0]
    ok = (np.all(cross > 0, 1) | np.all(cross < 0, 1)) \
        & np.all((x >= 0) & (x <= ctx.w - 1) & (y >= 0) & (y <= ctx.h - 1), 1)
    if not ok.any():
        return None
    quads = _order_quads(quads[ok])
    nocut = np.zeros(4, bool)
    cands = _prefilter(ctx, [_Cand(qq, nocut.copy(), inner=True) for qq in quads], extra=INNER_RELAX)
    qa, fa = g.quad_area(q), fw * fh
    found = None
    for c in cands:
        if _inter_area(c.quad, q) < 0.9 * qa or _inter_area(c.quad, fb) < 0.75 * fa:
            continue
        if _score(ctx, c, ACCEPT) and c.score >= ACCEPT and (found is None or c.score > found.score):
            found = c
    return found


def _pick(ok: list[_Cand]) -> _Cand:
    """Best score, except that a card's own inner rectangles (portrait, chip, text block) lose to
    the card around them when that one scores nearly as well."""
    ok = sorted(ok, key=lambda c: -c.score)
    best = ok[0]
    for c in ok[1:]:
        if c.score < best.score - 0.15:
            break
        ca, ba = g.quad_area(c.quad), g.quad_area(best.quad)
        # the card around its own print frame (a light card on a light wall shows weaker outer
        # edges than the printed border a few px inside): prefer the outer quad
        if not c.cut.any() and not c.slid and ca > 1.02 * ba and _inter_area(c.quad, best.quad) > 0.97 * ba \
                and (ca > 1.3 * ba or c.score >= best.score - 0.1):
            best = c
    return best


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    """`inner` lies (INSIDE of its area) within `outer`, which is clearly larger: one of the
    card's own inner rectangles (portrait, text block) when `outer` is a card."""
    ia = g.quad_area(inner)
    return g.quad_area(outer) > 1.3 * ia and _inter_area(outer, inner) > INSIDE * ia


# --------------------------------------------------------------------------- context
class _Context:
    def __init__(self, gray: np.ndarray, W: int, H: int, scale: float,
                 hands: Sequence[Hand], faces: Sequence[Face], crop: bool = False,
                 edges: np.ndarray | None = None, alike: bool = False, far: bool = True,
                 slide: bool = False):
        self.gray = gray
        self.h, self.w = gray.shape[:2]
        self.W, self.H = W, H
        self.scale = scale
        blur = cv2.GaussianBlur(gray if edges is None else edges, (3, 3), 0)
        self.blur = blur
        gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
        self.gx, self.gy = gx, gy
        self.mag = cv2.magnitude(gx, gy)
        self.p98 = float(_percentiles(gray[::2, ::2], (98,))[0])
        self.focal = g.default_focal(W, H) * scale
        self.face_boxes = [tuple(v * scale for v in f.box) for f in faces]
        pts = []
        for hd in hands:
            pts.extend(hd.points)
        self.hand_pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2) * scale
        self.bones, self.bone_r = _hand_bones(hands, scale)
        self.segs = np.zeros((0, 4))  # set by _line_candidates
        self.crop = crop  # a crop of the frame (_chest_search, _tile_search): the crop itself is no card
        self.alike = alike  # also try the most alike parallel pairs (_pair_order)
        self.far = far  # a quad out of the seen hands' reach is penalised (FAR_PENALTY)
        self.slide = slide  # also slide ID-1 windows along pairs (stills' later looks, _full_search)
        # Edge threshold: an ID card edge is a clear step; scale with the frame's own contrast so
        # dim frames still work, but never below a floor that noise alone reaches.
        self.edge_thr = float(max(16.0, min(EDGE_CAP, np.percentile(self.mag[::3, ::3], 90) * 0.35)))


# --------------------------------------------------------------------------- candidates
def _cut_flags(quad: np.ndarray, w: int, h: int) -> np.ndarray:
    """A side is cut when 2 of its points at 1/4, 1/2, 3/4 are outside or on the work image's
    border."""
    a = quad
    b = quad[[1, 2, 3, 0]]
    t = np.array([0.25, 0.5, 0.75])[None, :, None]
    m = a[:, None, :] + (b - a)[:, None, :] * t  # (4, 3, 2)
    out = ~((m[..., 0] > 2.5) & (m[..., 0] < w - 3.5) & (m[..., 1] > 2.5) & (m[..., 1] < h - 3.5))
    return out.sum(1) >= 2


def _frame_candidates(ctx: _Context) -> list[_Cand]:
    """A flat scan or photo cropped to the card: the frame itself is the card. Only proposed when
    the frame has the ID-1 aspect (+-2.5 %; 3:2 and 4:3 photos are far from it, passport pages
    at 1.42 are not: too many photos are cropped like that); it must pass the ink test in _score."""
    a = max(ctx.w, ctx.h) / float(min(ctx.w, ctx.h))
    if abs(math.log(a / g.ID1_ASPECT)) > 0.025:
        return []
    q = np.array([[0, 0], [ctx.w - 1, 0], [ctx.w - 1, ctx.h - 1], [0, ctx.h - 1]], np.float64)
    return [_Cand(q, np.zeros(4, bool), frame=True)]


_FLD: dict[int, object] = {}
# FastLineDetector's Canny thresholds (low, high = 2 x low): 40 keeps faint texture out of busy
# frames; a light card on a light desk or wall has edges of a few grey levels that only a lower
# threshold sees, so it follows the frame's own edge threshold down to FLD_LOW_MIN.
FLD_LOW_MAX = 40
FLD_LOW_MIN = 15


def _fld(low: int = FLD_LOW_MAX):
    if low not in _FLD:
        # length >= 12 px, no internal merge (slow)
        _FLD[low] = cv2.ximgproc.createFastLineDetector(12, 1.414, low, 2 * low, 3, False)
    return _FLD[low]


def _fld_low(ctx: "_Context") -> int:
    """The Canny low threshold for this frame, in steps of 5."""
    return int(max(FLD_LOW_MIN, min(FLD_LOW_MAX, 5 * round(ctx.edge_thr / 5))))


MAX_SEGMENTS = 120
# opposite sides seen on different stretches (a thumb over one end of the top, the other hand
# over the far end of the bottom) need not overlap along the side: gap up to this x separation
PAIR_GAP = 0.5
EDGE_CAP = 48.0  # highest edge threshold (busy frames: cobblestones, foliage push the p90 rule up)
RUN_MIN = 4  # ... in runs of this many strong samples on average (2-3: +3-6 cards on the synthetic seeds, but the glazed cupboard of people/person_10.jpg passes without hints)
BAND_OFFSET = 3  # px (work scale) inside / outside a side where its border tone is read
EVEN_BORDER = 0.5  # inner tone spread (p90 - p10) at most this share of the outer one
MAX_FLIPS = 1  # polarity changes allowed along one card side (see _supports)
MERGE_POOL = 300  # longest FLD segments considered for collinear merging
MERGE_GAP = 40.0  # px at work scale: a finger or two across a card side
# parallel pairs kept, longest first: a small card's pairs rank past 1500 on busy frames (1500 ->
# 3000: +1 card with IoU >= 0.95 on seed 1, none lost, card ms p50 unchanged)
MAX_PAIRS = 3000
MAX_QUADS = 150
MAX_CUT_PAIRS = 80
PORTRAIT_OFFSET = 0.18  # a printed portrait's centre lies this share of the long side off the card's centre (ID cards: 0.25-0.3)
PORTRAIT_BOX = 0.8  # ... and its face box is at most this share of the quad (German ID: 0.72; the box is larger than the printed photo)
OVER_FACE_SIDES = 0.85  # every side of a card held over the face (_over_face)
OVER_FACE_AREA = 1.2  # ... which is this much larger than the face box at least
PORTRAIT_RELAX = 0.05  # side support asked less of a quad around a printed portrait (_has_portrait)
# a quad around an accepted inner quad (the text block) and the face next to it: the inner quad
# passed every test itself and the portrait is seen, so the card's own sides may be weaker still
# (mean support 0.55: a top edge against skin, fingers over a short side)
INNER_RELAX = 0.05
# score taken from a quad out of reach of every hand seen (_score). The hand holding a card is
# often hidden behind it while the other hand is seen elsewhere (portrait_01 scenes): a clear card
# must survive that. Four synthetic seeds, found / IoU >= .95, and false cards on real photos:
# 0.4 (sessions 1-4) 1127 / 951; 0.25-0.15: +6-8 / +6-8, same false cards; 0.1: person_09 false.
FAR_PENALTY = 0.2
THREE_PENALTY = 0.05  # a quad with a searched-for side needs a bit more evidence elsewhere
MAX_END_PAIRS = 40  # longest parallel pairs tried as a card's long sides, their ends the short sides
END_ALIGN = 0.15  # the two segments' ends agree within this share of their length
END_SEARCH = (-0.1, 0.08)  # each short side searched for from this share of the length inside the segments' ends to this share outside
SLIDE_SCALE = (0.9, 1.0, 1.1)  # the slid window's length, x the ID-1 length from the pair's distance
SLIDE_STEPS = 10  # window positions tried over the pair's seen stretch
# after the first pass, the two proposals above also try this many more pairs: the most alike of
# the rest (_pair_order); a card found from those must score ALIKE_ACCEPT (small held cards
# 0.83-0.94; a cupboard door, a wall tile, a window pane 0.73-0.77). In the first pass too: +20 ms
# per search and the wall tiles of person_09 again, for +1 card on seed 1.
ALIKE_PAIRS = 40
ALIKE_ACCEPT = 0.8
MAX_THREE_PAIRS = 40  # longest parallel pairs tried with a fourth side searched for (fingers over it)


def _segments(ctx: _Context) -> np.ndarray:
    """(N, 4) line segments x0, y0, x1, y1 at work scale, longest first."""
    segs = _fld(_fld_low(ctx)).detect(ctx.blur)
    if segs is None or len(segs) == 0:
        return np.zeros((0, 4), np.float64)
    segs = segs.reshape(-1, 4).astype(np.float64)
    lens = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    segs = segs[np.argsort(-lens)]
    merged = _merge_collinear(segs[:MERGE_POOL])
    if len(merged):
        segs = np.concatenate([merged, segs])
    return segs[np.argsort(-_rank(ctx, segs), kind="stable")][:MAX_SEGMENTS]


def _rank(ctx: _Context, segs: np.ndarray) -> np.ndarray:
    """Length weighted by edge strength (mean gradient magnitude at 8 points, relative to the
    edge threshold, capped): a card's side is a strong step along its whole length, while on
    busy backgrounds (cobblestones, shelves, foliage) many segments of the same length are
    faint texture."""
    t = (np.arange(8) + 0.5) / 8
    px = np.clip(np.rint(segs[:, 0:1] + t[None] * (segs[:, 2:3] - segs[:, 0:1])).astype(int), 0, ctx.w - 1)
    py = np.clip(np.rint(segs[:, 1:2] + t[None] * (segs[:, 3:4] - segs[:, 1:2])).astype(int), 0, ctx.h - 1)
    strength = np.clip(ctx.mag[py, px].mean(1) / (2.0 * ctx.edge_thr), 0.25, 1.0)
    return np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]) * strength


def _merge_collinear(segs: np.ndarray) -> np.ndarray:
    """Segments joining collinear pieces (same line within ~1.5 px and 2.5 deg, gaps up to
    MERGE_GAP px): a card side cut by fingers, noise or print touching it comes out of the line
    detector as several short pieces that lose the longest-first ranking to background clutter.
    The pieces are kept as well (a merge that runs past the card's corner fails the extent test
    in _line_candidates; its pieces do not)."""
    n = len(segs)
    if n < 2:
        return np.zeros((0, 4))
    p0, p1 = segs[:, :2], segs[:, 2:]
    d = p1 - p0
    L = np.hypot(d[:, 0], d[:, 1]) + 1e-9
    u = d / L[:, None]
    nrm = np.stack([-u[:, 1], u[:, 0]], 1)
    c = np.sum(nrm * p0, 1)
    dth = np.abs(np.arctan2(u[:, 1], u[:, 0])[:, None] % np.pi - np.arctan2(u[:, 1], u[:, 0])[None, :] % np.pi)
    dth = np.minimum(dth, np.pi - dth)
    perp = np.maximum(np.abs(p0 @ nrm.T - c[None]), np.abs(p1 @ nrm.T - c[None]))  # [j, i]: j's ends to line i
    # judged on the longer segment's line (a 12 px piece's own direction is only good to a few deg)
    perp = np.where(L[None, :] >= L[:, None], perp, perp.T)
    perp = np.minimum(perp, perp.T)
    lshort = np.minimum(L[:, None], L[None, :])
    t0, t1 = p0 @ u.T, p1 @ u.T  # [j, i] along i
    lo_j, hi_j = np.minimum(t0, t1), np.maximum(t0, t1)
    ti0, ti1 = np.diag(lo_j), np.diag(hi_j)
    gap = np.maximum(lo_j - ti1[None], ti0[None] - hi_j)  # [j, i]
    link = (dth < np.maximum(np.radians(2.5), 1.5 / lshort)) & (perp < 1.6) & (gap < MERGE_GAP)
    link = np.triu(link & link.T, 1)
    a, b = np.nonzero(link)
    if len(a) == 0:
        return np.zeros((0, 4))
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in zip(a.tolist(), b.tolist()):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    # groups and their members in the order the per-group loop this replaced visited them
    members = list(set(a.tolist()) | set(b.tolist()))
    first: dict[int, int] = {}
    grp = np.array([first.setdefault(find(i), len(first)) for i in members])
    order = np.argsort(grp, kind="stable")
    members, grp = np.array(members)[order], grp[order]
    ng = len(first)
    # each group's weighted principal axis through its segments' end points (vectorised over
    # groups: the 2x2 weighted covariance's major axis in closed form). The weights are those of
    # the per-group loop this replaced, kept so that results do not change: the group's 2k end
    # points (all start points, then all end points) weighted by the
    # lengths np.repeat(L[members], 2), i.e. end point j by the length of member j // 2.
    k = np.bincount(grp)
    start = np.r_[0, np.cumsum(k)[:-1]]
    rank = np.arange(len(members)) - start[grp]
    gi = np.r_[grp, grp]
    pts = np.concatenate([p0[members], p1[members]])
    w = np.r_[L[members[start[grp] + rank // 2]], L[members[start[grp] + (k[grp] + rank) // 2]]]
    sw = np.bincount(gi, w, ng)
    m = np.stack([np.bincount(gi, w * pts[:, 0], ng), np.bincount(gi, w * pts[:, 1], ng)], 1) / sw[:, None]
    dx, dy = pts[:, 0] - m[gi, 0], pts[:, 1] - m[gi, 1]
    sxx, syy, sxy = np.bincount(gi, w * dx * dx, ng), np.bincount(gi, w * dy * dy, ng), np.bincount(gi, w * dx * dy, ng)
    ang = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    dirv = np.stack([np.cos(ang), np.sin(ang)], 1)
    proj = dx * dirv[gi, 0] + dy * dirv[gi, 1]
    lo = np.full(ng, np.inf)
    hi = np.full(ng, -np.inf)
    np.minimum.at(lo, gi, proj)
    np.maximum.at(hi, gi, proj)
    return np.concatenate([m + lo[:, None] * dirv, m + hi[:, None] * dirv], 1)


def _line_candidates(ctx: _Context) -> list[_Cand]:
    """Quads whose four sides each carry a straight segment: works when thumbs hide corners."""
    segs = _segments(ctx)
    ctx.segs = segs  # reused by _around_portrait
    n = len(segs)
    if n < 3:
        return []
    p0, p1 = segs[:, :2], segs[:, 2:]
    d = p1 - p0
    L = np.hypot(d[:, 0], d[:, 1]) + 1e-9
    u = d / L[:, None]
    nrm = np.stack([-u[:, 1], u[:, 0]], 1)
    mid = (p0 + p1) / 2
    rho = np.sum(nrm * mid, 1)
    theta = np.arctan2(u[:, 1], u[:, 0]) % np.pi

    dth = np.abs(theta[:, None] - theta[None, :])
    dth = np.minimum(dth, np.pi - dth)
    # distance of segment j's midpoint from segment i's line
    dist = np.abs(mid @ nrm.T - rho[None, :]).T  # [i, j] = |n_i . mid_j - rho_i|
    sep = np.minimum(dist, dist.T)
    maxlen = np.maximum(L[:, None], L[None, :])
    # intervals along i's direction
    t_i0 = np.sum(u * p0, 1)
    t_i1 = np.sum(u * p1, 1)
    lo_i, hi_i = np.minimum(t_i0, t_i1), np.maximum(t_i0, t_i1)
    pj0 = p0 @ u.T  # [j, i] = u_i . p0_j
    pj1 = p1 @ u.T
    lo_j, hi_j = np.minimum(pj0, pj1).T, np.maximum(pj0, pj1).T  # [i, j]
    gap = np.maximum(lo_j - hi_i[:, None], lo_i[:, None] - hi_j)  # < 0 when overlapping
    par = (dth < np.radians(PAIR_ANGLE)) & (sep >= MIN_SHORT_SIDE * 0.8) & (sep <= 3.2 * maxlen) \
        & (sep >= 0.25 * maxlen) & (gap < PAIR_GAP * sep)
    par = np.triu(par, 1)
    pi, pj = np.nonzero(par)
    if len(pi) == 0:
        return []
    if len(pi) > MAX_PAIRS:
        keep = np.argsort(-(L[pi] + L[pj]))[:MAX_PAIRS]
        pi, pj = pi[keep], pj[keep]
    # direction of each pair (mean of the two, sign-aligned)
    ua = u[pi]
    ub = u[pj] * np.sign(np.sum(u[pi] * u[pj], 1))[:, None]
    pdir = ua + ub
    pdir /= np.linalg.norm(pdir, axis=1)[:, None] + 1e-9
    pn = np.stack([-pdir[:, 1], pdir[:, 0]], 1)
    # band of each pair along its normal (between its two lines, 15 % slack)
    ca = np.sum(pn * mid[pi], 1)
    cb = np.sum(pn * mid[pj], 1)
    blo, bhi = np.minimum(ca, cb), np.maximum(ca, cb)
    slack = 0.15 * (bhi - blo)
    # along the pair's direction: the span of its segments, 60 % slack (partly hidden sides)
    along0 = np.minimum(np.minimum(np.sum(pdir * p0[pi], 1), np.sum(pdir * p1[pi], 1)),
                        np.minimum(np.sum(pdir * p0[pj], 1), np.sum(pdir * p1[pj], 1)))
    along1 = np.maximum(np.maximum(np.sum(pdir * p0[pi], 1), np.sum(pdir * p1[pi], 1)),
                        np.maximum(np.sum(pdir * p0[pj], 1), np.sum(pdir * p1[pj], 1)))
    aslack = 0.6 * (along1 - along0) + 0.3 * (bhi - blo)
    seg_n = mid @ pn.T  # [s, p]
    seg_a = mid @ pdir.T
    sang = np.abs(u @ pdir.T)  # |cos| between seg s and pair p
    A = ((seg_n >= (blo - slack)[None]) & (seg_n <= (bhi + slack)[None])
         & (seg_a >= (along0 - aslack)[None]) & (seg_a <= (along1 + aslack)[None])
         & (sang < np.cos(np.radians(50)))).T  # [p, s]
    cut_out = _cut_line_candidates(ctx, p0, p1, pi, pj, pdir, A)
    # after the 4-sided ones: duplicates keep those
    longest, alike = _pair_order(p0, p1, pi, pj, max(MAX_THREE_PAIRS, MAX_END_PAIRS), ctx.alike)
    three = _three_side_candidates(ctx, p0, p1, pi, pj, A, longest[:MAX_THREE_PAIRS])
    three += _pair_end_candidates(ctx, p0, p1, pi, pj, longest[:MAX_END_PAIRS])
    if ctx.slide:  # stills' finer and colour looks only (see _pair_slide_candidates)
        three += _pair_slide_candidates(ctx, p0, p1, pi, pj, longest[:MAX_END_PAIRS])
    if len(alike):
        three += _three_side_candidates(ctx, p0, p1, pi, pj, A, alike, alike=True)
        three += _pair_end_candidates(ctx, p0, p1, pi, pj, alike, alike=True)
        if ctx.slide:
            three += _pair_slide_candidates(ctx, p0, p1, pi, pj, alike, alike=True)
    ok1 = A[:, pi] & A[:, pj]  # [P, Q]: Q's segments sit inside P's band
    ok = np.triu(ok1 & ok1.T, 1)
    P, Q = np.nonzero(ok)
    if len(P) == 0:
        return cut_out + three
    # homogeneous lines of the four segments
    hl = np.cross(np.c_[p0, np.ones(n)], np.c_[p1, np.ones(n)])
    la, lb, lc, ld = hl[pi[P]], hl[pj[P]], hl[pi[Q]], hl[pj[Q]]

    def inter(l1, l2):
        x = np.cross(l1, l2)
        w = np.where(np.abs(x[:, 2]) < 1e-9, 1e-9, x[:, 2])
        return x[:, :2] / w[:, None]

    c1, c2, c3, c4 = inter(la, lc), inter(lc, lb), inter(lb, ld), inter(ld, la)
    quads = np.stack([c1, c2, c3, c4], 1)  # around the quad: a-c, c-b, b-d, d-a
    # convex, plausible area, sides of plausible ratio (loose; exact test in _score)
    e = np.roll(quads, -1, axis=1) - quads
    cross = e[:, :, 0] * np.roll(e, -1, axis=1)[:, :, 1] - e[:, :, 1] * np.roll(e, -1, axis=1)[:, :, 0]
    convex = np.all(cross > 0, 1) | np.all(cross < 0, 1)
    x, y = quads[:, :, 0], quads[:, :, 1]
    area = np.abs(np.sum(x * np.roll(y, -1, 1) - y * np.roll(x, -1, 1), 1)) / 2
    sl = np.hypot(e[:, :, 0], e[:, :, 1])
    r = (sl[:, 0] + sl[:, 2]) / (sl[:, 1] + sl[:, 3] + 1e-9)
    r = np.maximum(r, 1 / np.maximum(r, 1e-9))
    frame = ctx.w * ctx.h
    margin = 0.02 * max(ctx.w, ctx.h)
    inside = np.all((x >= -margin) & (x <= ctx.w + margin) & (y >= -margin) & (y <= ctx.h + margin), 1)
    good = convex & inside & (area >= MIN_AREA_FRAC * frame) & (area <= MAX_AREA_FRAC * frame) \
        & (r > APPARENT_RATIO[0]) & (r < APPARENT_RATIO[1]) & (sl.min(1) >= MIN_SHORT_SIDE)
    # each segment must lie on its side: endpoints within the side's extent (+-12 %)
    # side 0: c1->c2 lies on line c (pi[Q]); side 1: c2->c3 on b (pj[P]); side 2: c3->c4 on d (pj[Q]);
    # side 3: c4->c1 on a (pi[P])
    side_of = [pi[Q], pj[P], pj[Q], pi[P]]
    cov = np.zeros(len(P))
    for k in range(4):
        a_ = quads[:, k]
        b_ = quads[:, (k + 1) % 4]
        dv = b_ - a_
        l2 = np.sum(dv * dv, 1) + 1e-9
        s = side_of[k]
        t0 = np.sum((p0[s] - a_) * dv, 1) / l2
        t1 = np.sum((p1[s] - a_) * dv, 1) / l2
        good &= (np.minimum(t0, t1) >= -0.12) & (np.maximum(t0, t1) <= 1.12)
        cov += np.clip(np.abs(t1 - t0), 0, 1)
    idx = np.nonzero(good)[0]
    if len(idx) == 0:
        return cut_out + three
    idx = idx[np.argsort(-cov[idx])][:MAX_QUADS]
    qs = _order_quads(quads[idx])
    cuts = _cut_flags_many(qs, ctx.w, ctx.h)
    out = cut_out
    nocut = np.zeros(4, bool)
    for k in np.nonzero(~cuts.any(1))[0]:
        out.append(_Cand(qs[k], nocut.copy()))
    return out + three


def _order_quads(quads: np.ndarray) -> np.ndarray:
    """geometry.order_quad for (N, 4, 2) convex quads whose corners already run around the quad:
    clockwise on screen, starting at the corner with the smallest x + y."""
    x, y = quads[..., 0], quads[..., 1]
    area2 = np.sum(x * np.roll(y, -1, 1) - y * np.roll(x, -1, 1), 1)
    q = np.where((area2 < 0)[:, None, None], quads[:, ::-1], quads)  # y down: positive = clockwise
    start = np.argmin(q[..., 0] + q[..., 1], 1)
    ring = (start[:, None] + np.arange(4)[None]) % 4
    return np.take_along_axis(q, ring[..., None], 1)


def _cut_flags_many(quads: np.ndarray, w: int, h: int) -> np.ndarray:
    """_cut_flags for (N, 4, 2) quads: (N, 4) bool."""
    a = quads
    b = np.roll(quads, -1, 1)
    t = np.array([0.25, 0.5, 0.75])[None, None, :, None]
    m = a[:, :, None, :] + (b - a)[:, :, None, :] * t  # (N, 4, 3, 2)
    out = ~((m[..., 0] > 2.5) & (m[..., 0] < w - 3.5) & (m[..., 1] > 2.5) & (m[..., 1] < h - 3.5))
    return out.sum(2) >= 2


def _line_intersections(l1: np.ndarray, l2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise intersections of homogeneous lines, and which rows are not parallel."""
    x = np.cross(l1, l2)
    ok = np.abs(x[:, 2]) >= 1e-9
    return x[:, :2] / np.where(ok, x[:, 2], 1.0)[:, None], ok


def _across_pair(hl, p0, p1, a, b, cs):
    """For parallel segments a, b and a segment c across them (`cs`): the corners where c meets
    a and b, the short side's width, the far end of a and of b seen from c, the vectors to them
    and their lengths, and the longer visible length."""
    ca, oka = _line_intersections(hl[cs], hl[a])
    cb, okb = _line_intersections(hl[cs], hl[b])
    width = np.hypot(*(cb - ca).T)
    fa = np.where((np.hypot(*(p0[a] - ca).T) > np.hypot(*(p1[a] - ca).T))[:, None], p0[a], p1[a])
    fb = np.where((np.hypot(*(p0[b] - cb).T) > np.hypot(*(p1[b] - cb).T))[:, None], p0[b], p1[b])
    da, db = fa - ca, fb - cb
    la, lb = np.hypot(*da.T), np.hypot(*db.T)
    return ca, cb, oka, okb, width, fa, fb, da, db, la, lb, np.maximum(la, lb)


def _pair_order(p0: np.ndarray, p1: np.ndarray, pi: np.ndarray, pj: np.ndarray, k: int,
                alike: bool) -> tuple[np.ndarray, np.ndarray]:
    """(longest, alike): indices of the parallel pairs to try as a card's opposite sides, the k
    longest; and with `alike`, ALIKE_PAIRS more: the most alike of the rest (the same stretch
    covered by both, as a card's opposite sides seen whole are; a small card's pairs are short
    and rank far down by length alone)."""
    seg_len = np.hypot(*(p1 - p0).T)
    by_len = np.argsort(-(seg_len[pi] + seg_len[pj]), kind="stable")
    if len(by_len) <= k or not alike or ALIKE_PAIRS == 0:
        return by_len[:k], by_len[:0]
    rest = by_len[k:]
    _, ta, tb = _pair_spans(p0, p1, pi[rest], pj[rest], seg_len)
    inter = np.minimum(ta[:, 1], tb[:, 1]) - np.maximum(ta[:, 0], tb[:, 0])
    union = np.maximum(ta[:, 1], tb[:, 1]) - np.minimum(ta[:, 0], tb[:, 0])
    overlap = np.clip(inter, 0, None) / (union + 1e-9)
    return by_len[:k], rest[np.argsort(-overlap, kind="stable")[:ALIKE_PAIRS]]


def _pair_spans(p0: np.ndarray, p1: np.ndarray, a: np.ndarray, b: np.ndarray, seg_len: np.ndarray):
    """(u, ta, tb): segment a's unit direction and the (start, end) of segments a and b
    projected on it, sorted."""
    u = (p1[a] - p0[a]) / (seg_len[a][:, None] + 1e-9)
    ta = np.sort(np.stack([np.sum(u * p0[a], 1), np.sum(u * p1[a], 1)], 1), 1)
    tb = np.sort(np.stack([np.sum(u * p0[b], 1), np.sum(u * p1[b], 1)], 1), 1)
    return u, ta, tb


def _three_side_candidates(ctx: _Context, p0: np.ndarray, p1: np.ndarray, pi: np.ndarray, pj: np.ndarray,
                           A: np.ndarray, order: np.ndarray, alike: bool = False) -> list[_Cand]:
    """Cards inside the frame with one side without a straight segment (both hands' fingers over
    a short side, a side against a background of the same tone): two parallel sides (a, b) and
    one across them (c) give three corners' lines; the fourth side is placed at the ID-1 length
    (+-10 %) from c and moved to where the gradient supports it best. _score judges the result
    like any other quad (the searched side still needs some support)."""
    out: list[_Cand] = []
    if len(pi) == 0:
        return out
    seg_len = np.hypot(*(p1 - p0).T)
    # per pair, its 3 longest crossing segments, longest first (pairs in `order`)
    lens = np.where(A[order], seg_len[None], -np.inf)
    top = np.argsort(-lens, axis=1, kind="stable")[:, :3]
    has = np.isfinite(np.take_along_axis(lens, top, 1))
    ks, cs = np.repeat(order, 3).reshape(-1, 3)[has], top[has]
    if len(ks) == 0:
        return out
    a, b = pi[ks], pj[ks]
    hl = np.cross(np.c_[p0, np.ones(len(p0))], np.c_[p1, np.ones(len(p0))])

    ca, cb, oka, okb, width, fa, fb, da, db, la, lb, vis = _across_pair(hl, p0, p1, a, b, cs)
    ua = da / (la[:, None] + 1e-9)
    ub = db / (lb[:, None] + 1e-9)
    base_ok = oka & okb & (width >= MIN_SHORT_SIDE) & (np.sum(da * db, 1) > 0)
    quads = []
    steps = np.linspace(0.9, 1.1, 11)
    for length in (width * g.ID1_ASPECT, width / g.ID1_ASPECT):
        ok = base_ok & (length * 1.1 >= vis * 0.95)
        idx = np.nonzero(ok)[0]
        if len(idx) == 0:
            continue
        Lm = length[idx][:, None] * steps[None]  # (M, 11)
        A4 = ca[idx][:, None] + ua[idx][:, None] * Lm[..., None]
        B4 = cb[idx][:, None] + ub[idx][:, None] * Lm[..., None]
        sup = _supports(ctx, A4.reshape(-1, 2), B4.reshape(-1, 2), np.ones(A4.shape[0] * A4.shape[1], int), n=20)[0]
        sup = sup.reshape(len(idx), len(steps))
        best = np.argmax(sup, 1)
        r = np.arange(len(idx))
        keep = sup[r, best] >= 0.3
        q = np.stack([ca[idx], A4[r, best], B4[r, best], cb[idx]], 1)[keep]
        quads.append(q)
    if not quads:
        return out
    quads = np.concatenate(quads)
    if len(quads) == 0:
        return out
    quads = _order_quads(quads)
    margin = 0.02 * max(ctx.w, ctx.h)
    x, y = quads[..., 0], quads[..., 1]
    inside = np.all((x >= -margin) & (x <= ctx.w + margin) & (y >= -margin) & (y <= ctx.h + margin), 1)
    cuts = _cut_flags_many(quads, ctx.w, ctx.h)
    nocut = np.zeros(4, bool)
    for q in quads[inside & ~cuts.any(1)]:
        out.append(_Cand(q, nocut.copy(), three=True, alike=alike))
    return out


def _pair_lines(p0: np.ndarray, p1: np.ndarray, pi: np.ndarray, pj: np.ndarray, order: np.ndarray):
    """For the parallel pairs `order` (segments a = pi, b = pj): a, b, every segment's length, a's
    unit direction u, the (start, end) of a and b projected on it, b's direction sign-aligned with
    u, and the pair's distance across u."""
    seg_len = np.hypot(*(p1 - p0).T)
    a, b = pi[order], pj[order]
    u, ta, tb = _pair_spans(p0, p1, a, b, seg_len)
    ub = (p1[b] - p0[b]) / (seg_len[b][:, None] + 1e-9)
    ub *= np.sign(np.sum(ub * u, 1))[:, None]
    width = np.abs(np.sum(np.stack([-u[:, 1], u[:, 0]], 1) * (p0[b] - p0[a]), 1))
    return a, b, seg_len, u, ta, tb, ub, width


def _on_lines(line_p: np.ndarray, line_u: np.ndarray, t: np.ndarray, uu: np.ndarray) -> np.ndarray:
    """The point of each line (point line_p, direction line_u; (M, 2) each) whose projection on
    uu (M, 2) is t: t is (M,) or (M, ...), the points (M, ..., 2)."""
    shape = (-1,) + (1,) * (np.ndim(t) - 1)
    k = (t - np.sum(uu * line_p, 1).reshape(shape)) / (np.sum(uu * line_u, 1) + 1e-9).reshape(shape)
    return line_p.reshape(shape + (2,)) + line_u.reshape(shape + (2,)) * k[..., None]


def _pair_end_candidates(ctx: _Context, p0: np.ndarray, p1: np.ndarray, pi: np.ndarray,
                         pj: np.ndarray, order: np.ndarray, alike: bool = False) -> list[_Cand]:
    """Cards with neither short side on a segment (fingers over one, the other against a
    background of the same tone): two parallel segments sharing at least one end (a finger over
    a corner cuts the other short) are the long sides. Each short side is searched for around
    the segments' ends (END_SEARCH: rounded corners end them a little early) by side support,
    or placed at the ID-1 length from the other (its edge unseen)."""
    out: list[_Cand] = []
    if len(pi) == 0:
        return out
    a, b, seg_len, u, ta, tb, ub, width = _pair_lines(p0, p1, pi, pj, order)
    L = 0.5 * (ta[:, 1] - ta[:, 0] + tb[:, 1] - tb[:, 0])
    # one end shared (the other may be cut short by a finger over a corner)
    ok = (np.abs(ta - tb).min(1) <= END_ALIGN * L) & (np.minimum(seg_len[a], seg_len[b]) >= 0.4 * np.maximum(seg_len[a], seg_len[b]))
    if not ok.any():
        return out
    a, b, u, ta, tb, L, ub, width = a[ok], b[ok], u[ok], ta[ok], tb[ok], L[ok], ub[ok], width[ok]

    # each end on its own: the crossing side (n=20 samples) with the most support over the range
    ext = np.linspace(END_SEARCH[0], END_SEARCH[1], 10)
    best_t = []
    for t_end, sgn in ((np.minimum(ta[:, 0], tb[:, 0]), -1.0), (np.maximum(ta[:, 1], tb[:, 1]), 1.0)):
        tt = t_end[:, None] + sgn * ext[None] * L[:, None]  # (M, E)
        M, E = tt.shape
        ur = np.repeat(u, E, 0)
        A4 = _on_lines(np.repeat(p0[a], E, 0), ur, tt.ravel(), ur)
        B4 = _on_lines(np.repeat(p0[b], E, 0), np.repeat(ub, E, 0), tt.ravel(), ur)
        sup = _supports(ctx, A4, B4, np.ones(M * E, int), n=20)[0].reshape(M, E)
        best_t.append(tt[np.arange(M), np.argmax(sup, 1)])
    s0, s1 = best_t
    # or one end where it is seen and the other at the ID-1 length from it (its edge unseen)
    length = width * g.ID1_ASPECT
    for e0, e1 in ((s0, s1), (s0, s0 + length), (s1 - length, s1)):
        q = np.stack([_on_lines(p0[a], u, e0, u), _on_lines(p0[a], u, e1, u),
                      _on_lines(p0[b], ub, e1, u), _on_lines(p0[b], ub, e0, u)], 1)
        q = _order_quads(q)
        cuts = _cut_flags_many(q, ctx.w, ctx.h)
        for k in np.nonzero(~cuts.any(1))[0]:
            out.append(_Cand(q[k], np.zeros(4, bool), three=True, alike=alike))
    return out


def _pair_slide_candidates(ctx: _Context, p0: np.ndarray, p1: np.ndarray, pi: np.ndarray,
                           pj: np.ndarray, order: np.ndarray, alike: bool = False) -> list[_Cand]:
    """Cards whose short sides are only short pieces (a pink card's ends on a red plaid shirt, print
    touching them) and whose long sides' segments cover different stretches of the card (ends
    not shared: _pair_end_candidates skips them): two parallel segments are the long sides, the
    card is the ID-1 length from their distance (+-SLIDE_SCALE), and that window is slid over the
    stretch the two cover together to where its two short sides find the most support.
    Used in the finer and colour looks of stills only (ctx.slide, not a crop): seeds 1 / 2 / 3 / 7
    IoU >= 0.95 +3 / 0 / 0 / +4 cards, card ms p95 ~515 -> ~630; in the tiles too p95 ~850 for
    nothing more; in video's finer look 20 % fewer frames analysed while no card is in view."""
    out: list[_Cand] = []
    if len(order) == 0:
        return out
    a, b, _, u, ta, tb, ub, width = _pair_lines(p0, p1, pi, pj, order)
    lo, hi = np.minimum(ta[:, 0], tb[:, 0]), np.maximum(ta[:, 1], tb[:, 1])
    M = len(order)
    K, E = len(SLIDE_SCALE), SLIDE_STEPS
    length = (width * g.ID1_ASPECT)[:, None] * np.asarray(SLIDE_SCALE)[None]  # (M, K)
    span = (hi - lo)[:, None]
    ok = (span <= 1.05 * length) & (span >= 0.5 * length) & (width[:, None] >= MIN_SHORT_SIDE)
    if not ok.any():
        return out
    f = np.linspace(0.0, 1.0, E)
    # start positions from (hi - length) to lo: every window covering the seen stretch
    s0 = (hi[:, None, None] - length[..., None]) + f[None, None] * (lo[:, None, None] - hi[:, None, None]
                                                                    + length[..., None])  # (M, K, E)
    s1 = s0 + length[..., None]

    # coarse: each window's short sides with a reach of half a step (a side between two
    # positions is still seen), then each short side on its own around the best
    step = np.abs(lo - hi + length.max(1)) / (E - 1)  # (M,)
    reach = np.clip(np.ceil(step / 2), 1, 4).astype(int)
    A0, A1 = _on_lines(p0[a], u, s0, u), _on_lines(p0[a], u, s1, u)
    B0, B1 = _on_lines(p0[b], ub, s0, u), _on_lines(p0[b], ub, s1, u)
    rr = np.repeat(reach, K * E)
    sup0 = _supports(ctx, A0.reshape(-1, 2), B0.reshape(-1, 2), rr, n=20)[0]
    sup1 = _supports(ctx, A1.reshape(-1, 2), B1.reshape(-1, 2), rr, n=20)[0]
    # the best window of each length (one card each: print inside the card makes the shorter
    # windows' sides look supported too; _score tells them apart)
    tot = np.where(ok[..., None], np.minimum(sup0, sup1).reshape(M, K, E), -1.0)
    best = np.argmax(tot, 2)  # (M, K)
    mi, ki = np.nonzero(np.take_along_axis(tot, best[..., None], 2)[..., 0] >= 0.3)
    if len(mi) == 0:
        return out
    bi = best[mi, ki]
    fine = np.arange(-4, 5)[None] * np.maximum(step[mi] / 8, 0.5)[:, None]  # (N, 9): half a step each way
    la, lb, ua_, ub_ = p0[a][mi], p0[b][mi], u[mi], ub[mi]
    ends = []
    for t in (s0[mi, ki, bi], s1[mi, ki, bi]):
        tt = t[:, None] + fine
        pa = _on_lines(la, ua_, tt[:, None, :], ua_)
        pb = _on_lines(lb, ub_, tt[:, None, :], ua_)
        sup = _supports(ctx, pa.reshape(-1, 2), pb.reshape(-1, 2), np.ones(pa.size // 2, int), n=20)[0]
        ends.append(tt[np.arange(len(tt)), np.argmax(sup.reshape(len(tt), -1), 1)][:, None, None])
    e0, e1 = ends
    q = np.stack([_on_lines(la, ua_, e0, ua_), _on_lines(la, ua_, e1, ua_), _on_lines(lb, ub_, e1, ua_),
                  _on_lines(lb, ub_, e0, ua_)], 1).reshape(-1, 4, 2)
    q = _order_quads(q)
    cuts = _cut_flags_many(q, ctx.w, ctx.h)
    for k in np.nonzero(~cuts.any(1))[0]:
        out.append(_Cand(q[k], np.zeros(4, bool), three=True, alike=alike, slid=True))
    return out


def _cut_line_candidates(ctx: _Context, p0: np.ndarray, p1: np.ndarray, pi: np.ndarray, pj: np.ndarray,
                         pdir: np.ndarray, A: np.ndarray) -> list[_Cand]:
    """Cards running off the frame: two parallel sides (a, b) that reach the image border and
    one side (c) across them; the fourth side is inferred beyond the border from the ID-1
    aspect (sides a, b long when their visible part is already longer than the card is wide)."""
    out: list[_Cand] = []
    tol = 0.03 * max(ctx.w, ctx.h)

    def nb_vec(p):
        return (p[:, 0] < tol) | (p[:, 1] < tol) | (p[:, 0] > ctx.w - 1 - tol) | (p[:, 1] > ctx.h - 1 - tol)

    seg_nb = nb_vec(p0) | nb_vec(p1)
    cand_pairs = np.nonzero(seg_nb[pi] & seg_nb[pj])[0]
    if len(cand_pairs) == 0:
        return out
    seg_len = np.hypot(*(p1 - p0).T)
    cand_pairs = cand_pairs[np.argsort(-(seg_len[pi[cand_pairs]] + seg_len[pj[cand_pairs]]))][:MAX_CUT_PAIRS]
    hl = np.cross(np.c_[p0, np.ones(len(p0))], np.c_[p1, np.ones(len(p0))])
    # every (pair k, crossing segment c) combination, at most 6 crossings per pair
    sub = A[cand_pairs]
    rows, cs = np.nonzero(sub & (np.cumsum(sub, 1) <= 6))  # row by row, first 6 of each
    ks = cand_pairs[rows]
    if len(ks) == 0:
        return out
    a, b = pi[ks], pj[ks]

    ca, cb, oka, okb, width, fa, fb, da, db, la, lb, vis = _across_pair(hl, p0, p1, a, b, cs)
    length = np.where(vis > 0.7 * width, width * g.ID1_ASPECT, width / g.ID1_ASPECT)
    length = np.where(length < vis * 0.95, width * g.ID1_ASPECT, length)
    good = oka & okb & (width >= MIN_SHORT_SIDE) & nb_vec(fa) & nb_vec(fb) & (np.sum(da * db, 1) > 0) \
        & (length >= vis * 0.95)
    if not good.any():
        return out
    ua = da / (la[:, None] + 1e-9)
    ub = db / (lb[:, None] + 1e-9)
    quads = np.stack([ca, ca + ua * length[:, None], cb + ub * length[:, None], cb], 1)[good]
    quads = _order_quads(quads)
    cuts = _cut_flags_many(quads, ctx.w, ctx.h)
    for q, cf in zip(quads, cuts):
        if cf.sum() == 1:
            out.append(_Cand(q, cf))
    return out


# --------------------------------------------------------------------------- scoring
def _square_homographies(quads: np.ndarray) -> np.ndarray:
    """(N, 3, 3) homographies mapping the unit square (0,0),(1,0),(1,1),(0,1) to each quad
    (closed form, Heckbert 1989)."""
    x0, y0 = quads[:, 0, 0], quads[:, 0, 1]
    x1, y1 = quads[:, 1, 0], quads[:, 1, 1]
    x2, y2 = quads[:, 2, 0], quads[:, 2, 1]
    x3, y3 = quads[:, 3, 0], quads[:, 3, 1]
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    gg = (dx3 * dy2 - dx2 * dy3) / den
    hh = (dx1 * dy3 - dx3 * dy1) / den
    Hm = np.empty((len(quads), 3, 3))
    Hm[:, 0, 0], Hm[:, 0, 1], Hm[:, 0, 2] = x1 - x0 + gg * x1, x3 - x0 + hh * x3, x0
    Hm[:, 1, 0], Hm[:, 1, 1], Hm[:, 1, 2] = y1 - y0 + gg * y1, y3 - y0 + hh * y3, y0
    Hm[:, 2, 0], Hm[:, 2, 1], Hm[:, 2, 2] = gg, hh, 1.0
    return Hm


def _aspects(ctx: _Context, quads: np.ndarray) -> np.ndarray:
    """Long/short side ratio of the rectangles behind (N, 4, 2) ordered quads on the working
    copy (focal ctx.focal)."""
    return _aspects_at(quads, ctx.w, ctx.h, ctx.focal)


def _aspects_at(quads: np.ndarray, w: int, h: int, f: float) -> np.ndarray:
    """Long/short side ratio of the rectangles behind (N, 4, 2) ordered quads in a w x h image
    (pinhole camera, principal point at the centre, focal f): vectorised geometry.plane_pose."""
    Hm = _square_homographies(quads)
    kinv = np.array([[1 / f, 0, -w / 2.0 / f], [0, 1 / f, -h / 2.0 / f], [0, 0, 1]])
    m = kinv[None] @ Hm
    n1 = np.linalg.norm(m[:, :, 0], axis=1)
    n2 = np.linalg.norm(m[:, :, 1], axis=1)
    a = n1 / np.maximum(n2, 1e-12)
    return np.maximum(a, 1 / np.maximum(a, 1e-12))


def _steep_shape(q: np.ndarray) -> bool:
    """A quad shaped like a card seen at 45 deg or more: opposite sides converging by more than
    15 deg, or a side ratio in the image outside 1.15-2.1. Such quads (proposed for steep cards,
    see PAIR_ANGLE, APPARENT_RATIO) are also what a doorway or a shelf seen in depth makes."""
    e = np.roll(q, -1, axis=0) - q
    ang = np.degrees(np.arctan2(e[:, 1], e[:, 0]))
    conv = [abs((ang[i] - ang[i + 2]) % 180.0) for i in (0, 1)]
    conv = [min(a, 180.0 - a) for a in conv]
    sl = np.hypot(e[:, 0], e[:, 1])
    r = (sl[0] + sl[2]) / max(sl[1] + sl[3], 1e-9)
    r = max(r, 1.0 / max(r, 1e-9))
    return max(conv) > 15.0 or not (1.15 < r < 2.1)


def _steep_id1_errors(quads: np.ndarray, w: int, h: int, focal: float) -> np.ndarray:
    """|log(aspect / ID-1)| at the focal length of FOCAL_GUESSES that fits each quad best. The
    camera's focal length is unknown (phones, webcams: about 0.6-1.2 x the long side): a card
    turned away by 50 deg reads 1.25-1.75 at the default guess alone, a frontal one the same at
    any guess."""
    return np.min([np.abs(np.log(_aspects_at(quads, w, h, focal * k) / g.ID1_ASPECT)) for k in FOCAL_GUESSES], axis=0)


# MediaPipe hand landmarks joined by bones (fingers and palm): what lies over a held card's edge
_BONES = np.array([(1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12), (13, 14), (14, 15),
                   (15, 16), (17, 18), (18, 19), (19, 20), (0, 1), (0, 5), (5, 9), (9, 13), (13, 17), (0, 17)])


def _hand_bones(hands: Sequence[Hand], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(B, 2, 2) bone segments and (B,) radii (half a finger's width: 12 % of the palm length,
    wrist to middle knuckle, + 1.5 px) at work scale."""
    segs, radii = [], []
    for hd in hands:
        p = np.asarray(hd.points, np.float64).reshape(-1, 2) * scale
        if len(p) < 21:
            continue
        palm = float(np.hypot(*(p[9] - p[0])))
        segs.append(np.stack([p[_BONES[:, 0]], p[_BONES[:, 1]]], 1))
        radii.append(np.full(len(_BONES), 0.12 * palm + 1.5))
    if not segs:
        return np.zeros((0, 2, 2)), np.zeros(0)
    return np.concatenate(segs), np.concatenate(radii)


def _under_hands(ctx: _Context, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Which points (any shape) lie under a seen finger or palm (within a bone's radius)."""
    return _under_bones(ctx.bones, ctx.bone_r, px, py)


def _under_bones(bones: np.ndarray, bone_r: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    out = np.zeros(px.shape, bool)
    if len(bones) == 0:
        return out
    lo = bones.reshape(-1, 2).min(0) - bone_r.max()
    hi = bones.reshape(-1, 2).max(0) + bone_r.max()
    near = (px >= lo[0]) & (px <= hi[0]) & (py >= lo[1]) & (py <= hi[1])
    if not near.any():
        return out
    P = np.stack([px[near], py[near]], 1)  # (M, 2)
    a, b = bones[:, 0], bones[:, 1]  # (B, 2)
    ab = b - a
    l2 = np.sum(ab * ab, 1) + 1e-9
    tt = np.clip(((P[:, None, :] - a[None]) * ab[None]).sum(2) / l2[None], 0, 1)  # (M, B)
    proj = a[None] + tt[..., None] * ab[None]
    d2 = np.sum((P[:, None, :] - proj) ** 2, 2)
    out[near] = np.any(d2 <= (bone_r ** 2)[None], 1)
    return out


def _supports(ctx: _Context, A: np.ndarray, B: np.ndarray, reach: np.ndarray, n: int = 40):
    """Vectorised _side_support for sides A[k] -> B[k]: (support, longest gap) arrays. Points
    under a seen hand (the fingers holding the card over its edge) are left out, like points
    off the image: they neither support a side nor break it."""
    K = len(A)
    d = B - A
    L = np.hypot(d[:, 0], d[:, 1]) + 1e-9
    nx, ny = -d[:, 1] / L, d[:, 0] / L
    t = (np.arange(n) + 0.5) / n
    px0 = A[:, 0:1] + t[None] * d[:, 0:1]
    py0 = A[:, 1:2] + t[None] * d[:, 1:2]
    inside = (px0 >= 0) & (px0 <= ctx.w - 1) & (py0 >= 0) & (py0 <= ctx.h - 1)
    inside &= ~_under_hands(ctx, px0, py0)
    best = np.zeros((K, n), np.float32)
    rmax = int(reach.max()) if K else 1
    for o in range(-rmax, rmax + 1):
        use = (np.abs(o) <= reach)[:, None]
        px = np.clip(np.round(px0 + nx[:, None] * o).astype(np.int32), 0, ctx.w - 1)
        py = np.clip(np.round(py0 + ny[:, None] * o).astype(np.int32), 0, ctx.h - 1)
        i = py * ctx.w + px  # flat indices: np.take is ~3x faster than 2-D fancy indexing
        gx, gy = np.take(ctx.gx.ravel(), i), np.take(ctx.gy.ravel(), i)
        along = gx * nx[:, None] + gy * ny[:, None]
        mag = np.take(ctx.mag.ravel(), i) + 1e-6
        along = np.where((np.abs(along) > 0.8 * mag) & use, along, 0.0)
        best = np.where(np.abs(along) > np.abs(best), along, best)
    strong = (np.abs(best) > ctx.edge_thr) & inside
    pos = (strong & (best > 0)).sum(1)
    neg = (strong & (best < 0)).sum(1)
    sign = np.where(pos >= neg, 1.0, -1.0)[:, None]
    ok = strong & (best * sign > 0)
    # A light card in front of a background that is darker on one part of a side and lighter on
    # another (a dark bag, then a white shirt) flips polarity once or twice along that side;
    # texture flips all the time. Both polarities count when the strong samples form at most
    # MAX_FLIPS + 1 runs of one sign each, and the minority is itself one solid run.
    sg = np.where(strong, np.sign(best), 0.0)
    # sign changes between consecutive strong samples: carry the last strong sign forward
    pos_idx = np.where(sg != 0, np.arange(n)[None], -1)
    last = np.maximum.accumulate(pos_idx, axis=1)
    prev_sign = np.where(last[:, :-1] >= 0, np.take_along_axis(sg, np.maximum(last[:, :-1], 0), 1), 0.0)
    flips = ((sg[:, 1:] != 0) & (prev_sign != 0) & (sg[:, 1:] != prev_sign)).sum(1)
    both = (flips >= 1) & (flips <= MAX_FLIPS) & (np.minimum(pos, neg) >= 4)
    # More flips, in long runs, when only the outside changes: a card's own border is one even
    # tone, whatever lies behind it (a shirt, then skin, then a wall); a quad drawn on a plaid
    # shirt or a glazed cupboard changes tone on both sides of its lines.
    more = ~both & (flips > MAX_FLIPS) & (flips <= (pos + neg) // RUN_MIN - 1) & (np.minimum(pos, neg) >= 4)
    if more.any():
        k = np.nonzero(more)[0]
        use_k = inside[k]
        def band(o):
            x = np.clip(np.round(px0[k] + nx[k, None] * o).astype(np.int32), 0, ctx.w - 1)
            y = np.clip(np.round(py0[k] + ny[k, None] * o).astype(np.int32), 0, ctx.h - 1)
            v = np.take(ctx.blur.ravel(), y * ctx.w + x).astype(np.float32)
            return np.where(use_k, v, np.nan)
        # clockwise quads: the normal (-dy, dx) points into the quad
        sp_in, sp_out = _spread_rows(band(BAND_OFFSET)), _spread_rows(band(-BAND_OFFSET))
        both[k] = sp_in <= EVEN_BORDER * sp_out
    ok = np.where(both[:, None], strong, ok)
    cnt = np.maximum(inside.sum(1), 1)
    sup = ok.sum(1) / cnt
    # longest run of unsupported samples; samples off the image or under a hand neither count nor
    # break the run: bad samples so far minus their count at the last supported sample
    bad = np.cumsum(inside & ~ok, axis=1)
    at_good = np.maximum.accumulate(np.where(inside & ok, bad, 0), axis=1)
    gap = (bad - at_good).max(1)
    sup = np.where(inside.sum(1) >= n // 3, sup, 0.0)
    return sup, gap / cnt, more & both


def _spread_rows(v: np.ndarray) -> np.ndarray:
    """p90 - p10 of each row of v, NaNs left out (nearest-rank; np.nanpercentile per row is
    ten times slower)."""
    k = np.sum(~np.isnan(v), axis=1)
    srt = np.sort(v, axis=1)  # NaNs last
    r = np.arange(len(v))
    lo = srt[r, np.floor(0.1 * np.maximum(k - 1, 0)).astype(int)]
    hi = srt[r, np.floor(0.9 * np.maximum(k - 1, 0)).astype(int)]
    return np.where(k > 0, hi - lo, 0.0)


def _prefilter(ctx: _Context, cands: list[_Cand], extra: float = 0.0) -> list[_Cand]:
    """Drop most candidates with vectorised geometry, aspect and side-support tests before the
    per-candidate _score (same thresholds, so nothing _score would accept is lost), and merge
    duplicates (the same card proposed from several segment pieces)."""
    if not cands:
        return []
    seen = set()
    uniq = []
    for c in cands:
        key = tuple(np.round(c.quad.ravel() / 3.0).astype(int)) + (bool(c.cut.any()),)
        if key not in seen:
            seen.add(key)
            uniq.append(c)
    cands = uniq
    Q = np.stack([c.quad for c in cands])
    cut = np.stack([c.cut for c in cands])
    anycut = cut.any(1)
    asp = _aspects(ctx, Q)
    e1 = np.abs(np.log(asp / g.ID1_ASPECT))
    e2 = np.abs(np.log(asp / g.PASSPORT_ASPECT))
    keep = (e1 <= ID1_TOL * np.where(anycut, 1.6, 1.0)) | ((e2 <= PASSPORT_TOL) & ~anycut)
    # whole quads that are an ID-1 card only at another focal length: steep cards (see _score)
    steep = ~keep & ~anycut
    if steep.any():
        e_steep = _steep_id1_errors(Q[steep], ctx.w, ctx.h, ctx.focal)
        st = np.nonzero(steep)[0]
        steep[st] = e_steep <= ID1_TOL
        e1[st] = np.where(steep[st], e_steep, e1[st])
        keep |= steep
    idx = np.nonzero(keep)[0]
    if len(idx) == 0:
        return []
    A = Q[idx].reshape(-1, 2)
    B = np.roll(Q[idx], -1, axis=1).reshape(-1, 2)
    reach = np.repeat(np.array([2 if cands[i].coarse else 1 for i in idx]), 4)
    sup, gap, flips = _supports(ctx, A, B, reach)
    sup = sup.reshape(-1, 4)
    gap = gap.reshape(-1, 4)
    real = ~cut[idx]
    # _score's side-support tests, exactly (it reuses these supports): one side may be half hidden
    # by a hand, the others nearly whole; partial (cut-off) cards and passport pages ask more
    inf_sup = np.where(real, sup, np.inf)
    inf_gap = np.where(real, gap, -np.inf)
    s_srt = np.sort(inf_sup, 1)
    g_srt = -np.sort(-inf_gap, 1)
    nreal = real.sum(1)
    mean = np.where(real, sup, 0).sum(1) / np.maximum(nreal, 1)
    # with faces seen, a quad around a printed portrait may have weaker sides (see _score)
    relax = PORTRAIT_RELAX if ctx.face_boxes else 0.0
    keep = (nreal >= 2) & (g_srt[:, 0] <= 0.6) & (g_srt[:, 1] <= 0.4) & (s_srt[:, 0] >= 0.3) \
        & (s_srt[:, 1] >= 0.5 - 2 * relax) & (mean >= 0.65 - relax - extra)
    inside = np.all((Q[idx, :, 0] >= -1) & (Q[idx, :, 0] <= ctx.w) & (Q[idx, :, 1] >= -1) & (Q[idx, :, 1] <= ctx.h), 1)
    partial = anycut[idx] | ~inside
    keep &= ~partial | ((s_srt[:, 0] >= 0.7) & (mean >= 0.8))
    i1, i2 = e1[idx], e2[idx]
    id1 = (i1 <= ID1_TOL * np.where(anycut[idx], 1.6, 1.0)) & ((i1 <= i2) | anycut[idx])
    flips = flips.reshape(-1, 4)
    # passport pages: 4:3 screens sit close; and no side of one may rely on MAX_FLIPS+ flips
    keep &= id1 | ((s_srt[:, 0] >= 0.55) & (mean >= 0.85) & ~(flips & real).any(1))
    keep &= ~steep[idx] | (s_srt[:, 0] >= STEEP_SIDES)
    out = []
    for k in np.nonzero(keep)[0]:
        i = idx[k]
        r = real[k]
        cands[i].pre = (sup[k][r], gap[k][r], flips[k][r])
        cands[i].steep = bool(steep[i])
        out.append(cands[i])
    return out


def _side_support(ctx: _Context, a: np.ndarray, b: np.ndarray, n: int = 40, reach: int = 1) -> tuple[float, float]:
    """(support, longest gap) along a -> b: support is the fraction of points with an edge across
    the side (gradient normal to it, above the edge threshold, all with the side's dominant
    polarity: a card is consistently brighter or darker than what is behind it); the longest gap
    is the longest unsupported run as a fraction of the side (a finger makes one short gap)."""
    d = b - a
    L = float(np.hypot(*d))
    if L < 2:
        return 0.0, 1.0
    t = (np.arange(n) + 0.5) / n
    pts = a[None] + t[:, None] * d[None]
    nx, ny = -d[1] / L, d[0] / L
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= ctx.w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= ctx.h - 1)
    if inside.sum() < n // 3:
        return 0.0, 1.0
    best = np.zeros(n, np.float32)  # signed normal gradient with the largest magnitude
    for o in range(-reach, reach + 1):
        px = np.clip(np.round(pts[:, 0] + nx * o).astype(int), 0, ctx.w - 1)
        py = np.clip(np.round(pts[:, 1] + ny * o).astype(int), 0, ctx.h - 1)
        gx, gy = ctx.gx[py, px], ctx.gy[py, px]
        along = gx * nx + gy * ny
        mag = ctx.mag[py, px] + 1e-6
        along = np.where(np.abs(along) > 0.8 * mag, along, 0.0)
        best = np.where(np.abs(along) > np.abs(best), along, best)
    strong = np.abs(best) > ctx.edge_thr
    pos, neg = int((strong & (best > 0) & inside).sum()), int((strong & (best < 0) & inside).sum())
    sign = 1.0 if pos >= neg else -1.0
    ok = strong & (best * sign > 0) & inside
    sup = float(ok.sum() / inside.sum())
    return sup, _longest_false_run(ok[inside]) / float(inside.sum())


def _longest_false_run(ok: np.ndarray) -> int:
    bad = np.concatenate([[0], (~ok).astype(np.int8), [0]])
    dd = np.diff(bad)
    starts, ends = np.nonzero(dd == 1)[0], np.nonzero(dd == -1)[0]
    return int((ends - starts).max()) if len(starts) else 0


def _score(ctx: _Context, c: _Cand, floor: float = -1.0) -> bool:
    q = c.quad
    if c.frame:
        # no edges to see: only the print inside and the absence of a big live face speak for it
        for (fx, fy, fw, fh) in ctx.face_boxes:
            if fw * fh > 0.1 * ctx.w * ctx.h:
                c.reason = "line 6"
                return False
        ink = _ink(ctx, q)[0]
        if ink < 1.5 * MIN_INK:
            c.reason = "line 10"
            return False
        a = ctx.w / float(ctx.h)
        c.aspect = max(a, 1 / a)
        c.kind = "id1" if abs(math.log(c.aspect / g.ID1_ASPECT)) <= abs(math.log(c.aspect / g.PASSPORT_ASPECT)) else "passport"
        c.score, c.sides, c.gaps = ACCEPT + 0.01, np.zeros(4), np.zeros(4)
        return True
    if not g.is_convex(q):
        c.reason = "line 18"
        return False
    area = g.quad_area(q)
    frame = ctx.w * ctx.h
    sides = g.side_lengths(q)
    if min(sides) < MIN_SHORT_SIDE:
        c.reason = "line 24"
        return False
    # visible area
    vis = _visible_area(q, ctx.w, ctx.h)
    if vis < MIN_AREA_FRAC * frame or vis > MAX_AREA_FRAC * frame:
        c.reason = "line 29"
        return False
    # corners: no angle sharper than 50 deg (perspective of a hand-held card is milder)
    for i in range(4):
        u = q[(i + 1) % 4] - q[i]
        v = q[(i - 1) % 4] - q[i]
        cosang = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(cosang) > 0.64:
            c.reason = "line 37"
            return False
    a_raw, tilt = g.plane_pose(q, ctx.w, ctx.h, ctx.focal)
    if tilt > MAX_TILT:
        c.reason = "tilt"
        return False
    aspect = a_raw if a_raw >= 1 else 1.0 / max(a_raw, 1e-9)
    e_id1 = abs(math.log(max(aspect, 1e-6) / g.ID1_ASPECT))
    steep = c.steep or _steep_shape(q)
    strong = c.pre is not None and len(c.pre[0]) == 4 and float(np.min(c.pre[0])) >= STEEP_SIDES
    if steep and (c.steep or strong):
        # the focal length is unknown: a steep card with four clear sides is judged at the one
        # that fits it best (the tilt penalty stays: of two readings, the flatter wins)
        e_id1 = min(e_id1, float(_steep_id1_errors(q[None], ctx.w, ctx.h, ctx.focal)[0]))
    e_pp = abs(math.log(max(aspect, 1e-6) / g.PASSPORT_ASPECT))
    if e_id1 <= ID1_TOL * (1.6 if c.cut.any() else 1.0) and (e_id1 <= e_pp or c.cut.any()):
        kind, a_score = "id1", 1.0 - e_id1 / (ID1_TOL * (1.6 if c.cut.any() else 1.0))
    elif e_pp <= PASSPORT_TOL and not c.cut.any():
        kind, a_score = "passport", 1.0 - e_pp / PASSPORT_TOL
    else:
        c.reason = "line 47"
        return False
    sup = []
    if c.pre is not None:
        sup = list(zip(*c.pre))
    else:
        for i in range(4):
            if c.cut[i]:
                continue
            a, b = q[i], q[(i + 1) % 4]
            a, b = _clip_segment(a, b, ctx.w, ctx.h)
            if a is None:
                continue
            sup.append(_side_support(ctx, a, b, reach=2 if c.coarse else 1))
    if len(sup) < 2:
        c.reason = "line 59"
        return False
    sup_arr = np.array([v[0] for v in sup])
    gaps = np.array([v[1] for v in sup])
    # One side may be half hidden by a hand; the others must be nearly whole. Calibrated on
    # real frames: true cards have mean support >= 0.85 (fingers included), random quads built
    # from background lines (shelves, windows, clothes) rarely have all four sides.
    srt = np.sort(sup_arr)
    gsrt = np.sort(gaps)[::-1]
    c.sides, c.gaps = sup_arr, gaps
    if gsrt[0] > 0.6 or (len(gsrt) > 1 and gsrt[1] > 0.4):
        c.reason = "line 69"
        return False
    # An ID card carries its holder's portrait: a quad with a seen face inside it, of a portrait's
    # share of the card (6-35 % of its area), may have weaker sides (fingers over both short
    # sides, a top edge against skin) than a bare quad.
    portrait = _has_portrait(ctx, q, area)
    relax = PORTRAIT_RELAX if portrait else 0.0
    extra = INNER_RELAX if (c.inner and portrait) else 0.0
    if srt[0] < 0.3 or (len(srt) > 1 and srt[1] < 0.5 - 2 * relax) or sup_arr.mean() < 0.65 - relax - extra:
        c.reason = "line 72"
        return False
    flipped = any(len(v) > 2 and v[2] for v in sup)
    if steep and (kind != "id1" or srt[0] < STEEP_SIDES):
        c.reason = "steep, weak sides"
        return False
    if kind == "passport" and (srt[0] < 0.55 or sup_arr.mean() < 0.85 or flipped):
        return False  # 4:3 things (screens, pictures) sit close to the passport aspect: ask more
    partial = c.cut.any() or not g.all_inside(q, ctx.w, ctx.h, margin=1.0)
    if partial and (srt[0] < 0.7 or sup_arr.mean() < 0.8):
        return False  # an inferred card needs clean real sides
    # the person's own head is not a card
    if any(_is_head(q, area, box) and not _over_face(q, area, box, sup_arr) for box in ctx.face_boxes):
        c.reason = "head"
        return False
    score = 0.55 * float(sup_arr.mean()) + 0.15 * float(sup_arr.min()) + 0.3 * a_score - _tilt_penalty(tilt)
    if score + 0.07 < floor:  # cannot reach the floor even with every bonus below
        c.reason = "below floor"
        return False
    # ID documents are printed: text, a portrait, guilloches. Cupboard doors, windows, blank
    # boxes have almost no dark fine detail (ink < 0.06 on such false quads, >= 0.13 on cards).
    ink, light, spread = _ink(ctx, q)
    if not _printed_stock(ink, light, spread, partial=partial):
        c.reason = "no print"
        return False
    if light < MIN_LIGHT and sup_arr.mean() < _dim_support(spread):
        c.reason = "dim, weak sides"
        return False
    if c.cut.any():
        score -= 0.1 * int(c.cut.sum())
    if c.three:
        score -= THREE_PENALTY
    # The card is held: when hands were seen, a quad out of their reach is unlikely the card
    # (pictures on the wall, cupboards, windows): only a clear card survives FAR_PENALTY.
    # Near a hand: a small bonus.
    if len(ctx.hand_pts):
        diag = float(np.hypot(*(q[2] - q[0])))
        centre = q.mean(axis=0)
        d = float(np.min(np.hypot(ctx.hand_pts[:, 0] - centre[0], ctx.hand_pts[:, 1] - centre[1])))
        # a hand holding the card has landmarks within about half a diagonal of its centre
        # a card running off the frame may be held by a hand that is off the frame too: only
        # two hands seen elsewhere speak against it
        far = ctx.far and d > diag and (not partial or len(ctx.hand_pts) >= 42)
        score += 0.05 if d < 0.75 * diag else (-FAR_PENALTY if far else 0.0)
    score += 0.02 * math.log(max(vis / frame, 1e-4) / 1e-4) / math.log(1e4)
    c.score, c.aspect, c.kind, c.support = score, aspect, kind, float(sup_arr.mean())
    c.sides = sup_arr
    c.gaps = gaps
    return True


def _printed_stock(ink: float, light: float, spread: float, partial: bool) -> bool:
    """The print and card-stock test on _ink's numbers (see MIN_INK, MIN_LIGHT, MIN_LIGHT_DIM)."""
    if spread <= SHADE_SPREAD and light < EVEN_LIGHT and (light >= MIN_LIGHT_DIM
                                                          or (light >= MIN_LIGHT_SHADE and not partial)):
        # a very even ground of card stock (the false quads of that light, cupboards, shelves,
        # shirts, are patchy): less print asked, as a blurred card or a thin print shows; also
        # a whole card in the shade of a backlit person, whose dim print is fainter still
        return ink >= EVEN_INK and (not partial or ink >= DIM_INK)
    if ink < MIN_INK:
        return False
    if light >= EVEN_LIGHT:
        return True
    # below EVEN_LIGHT the stock must also be even, the more so the dimmer it is
    if spread > DIM_SPREAD + 0.25 * (light - MIN_LIGHT_DIM):
        return False
    if light >= MIN_LIGHT:
        return True
    if ink < DIM_INK:
        return False
    if light >= MIN_LIGHT_DIM:
        return True  # also cut off: a dim card running off the frame (its real sides clear, see _score)
    # a card in the shade of a backlit person (a bright window behind): dim next to the window
    # but a very even, printed ground (see MIN_LIGHT_SHADE)
    return not partial and light >= MIN_LIGHT_SHADE and spread <= SHADE_SPREAD


def _dim_support(spread: float) -> float:
    """Mean side support a dim card (light < MIN_LIGHT) needs: less on an even ground."""
    return DIM_SUPPORT_EVEN if spread <= EVEN_SPREAD else DIM_SUPPORT


def _is_head(q: np.ndarray, area: float, box) -> bool:
    """The quad is mostly the face box (a head's outline), or a rectangle within it (its
    features, or the inner print of a card held over it: the card around it was rejected
    already). A face box of up to half the quad that sits off-centre along the quad's long side
    is the card's printed portrait (the face detector's box around a printed photo is larger
    than the photo), not a head."""
    fx, fy, fw, fh = box
    inter = _inter_area(q, _box_quad(box))
    if inter > 0.8 * area and area < fw * fh:
        return True
    if not (inter > 0.6 * fw * fh and fw * fh > 0.35 * area):
        return False
    sides = g.side_lengths(q)
    i = int(np.argmax(sides[:2] + sides[2:]))  # 0: sides 0 and 2 are the long ones
    long_dir = (q[1] - q[0] + q[2] - q[3]) if i == 0 else (q[2] - q[1] + q[3] - q[0])
    long_len = float(np.hypot(*long_dir)) / 2.0
    off = abs(float(np.dot(np.array([fx + fw / 2, fy + fh / 2]) - q.mean(0), long_dir / (2 * long_len + 1e-9))))
    portrait = fw * fh <= PORTRAIT_BOX * area and inter > 0.7 * fw * fh and off > PORTRAIT_OFFSET * long_len
    return not portrait


def _box_quad(box) -> np.ndarray:
    """An (x, y, w, h) box as a clockwise (4, 2) polygon."""
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)


def _over_face(q: np.ndarray, area: float, box, sides: np.ndarray) -> bool:
    """A card held over the face: the face box (the detector still finds the head around the
    card) lies inside a quad larger than it, whose four sides are all clear straight edges. A
    head's outline or features, which _is_head keeps out, are not four clear straight sides."""
    fw, fh = box[2], box[3]
    return (len(sides) == 4 and float(np.min(sides)) >= OVER_FACE_SIDES and area >= OVER_FACE_AREA * fw * fh
            and _inter_area(q, _box_quad(box)) >= 0.85 * fw * fh)


def _has_portrait_full(q: np.ndarray, faces: Sequence[Face]) -> bool:
    """_has_portrait for a full-resolution quad and Face hints."""
    return _has_portrait_boxes([f.box for f in faces], q, g.quad_area(q))


def _has_portrait(ctx: _Context, q: np.ndarray, area: float) -> bool:
    return _has_portrait_boxes(ctx.face_boxes, q, area)


def _has_portrait_boxes(boxes, q: np.ndarray, area: float) -> bool:
    """A seen face of a portrait's share of the quad (6-35 % of its area) lies inside it."""
    for (fx, fy, fw, fh) in boxes:
        fa = fw * fh
        if not (0.06 * area <= fa <= 0.35 * area):
            continue
        if _inter_area(q, _box_quad((fx, fy, fw, fh))) >= 0.85 * fa:
            return True
    return False


def _tilt_penalty(tilt: float) -> float:
    """Hand-held cards face the camera within ~20 deg; a steeper reading usually means one side
    was taken from something behind the card (a jacket's edge, a shelf) that happens to keep the
    rectified aspect. Up to -TILT_PENALTY at MAX_TILT."""
    return TILT_PENALTY * max(0.0, tilt - 20.0) / (MAX_TILT - 20.0)


def _ink(ctx: _Context, q: np.ndarray) -> tuple[float, float, float]:
    """(ink, light) of the quad's inner area (6 % margin), on a flat copy at most 128 px wide.
    ink: fraction covered by fine dark detail: black-hat (closing - image) with a kernel of 1/8 of
    the card height, above max(12, 20 % of the card's p5-p95 contrast).
    light: the inner median luma / the frame's 98th-percentile luma."""
    return _ink_img(ctx.gray, q, ctx.p98)


def _ink_img(gray: np.ndarray, q: np.ndarray, p98: float) -> tuple[float, float, float]:
    sl = g.side_lengths(q)
    W, H = max(sl[0], sl[2]), max(sl[1], sl[3])
    s = min(1.0, 128.0 / max(W, H, 1.0))
    W2, H2 = max(8, int(W * s)), max(8, int(H * s))
    M = cv2.getPerspectiveTransform(q.astype(np.float32),
                                    np.float32([[0, 0], [W2, 0], [W2, H2], [0, H2]]))
    r = cv2.warpPerspective(gray, M, (W2, H2), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    m = int(0.06 * min(W2, H2))
    r = r[m:H2 - m, m:W2 - m]
    if r.size < 16:
        return 0.0, 0.0
    k = max(3, int(min(r.shape) / 8) | 1)
    bh = cv2.morphologyEx(r, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    lo, med, p90, hi = _percentiles(r, (5, 50, 90, 95))
    ink = float((bh > max(12.0, 0.2 * float(hi - lo))).mean())
    return ink, float(med) / max(1.0, p98), float(p90 - med) / max(1.0, p98)


def _percentiles(img: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """np.percentile(img, qs) (linear interpolation), exact, from a histogram for uint8 images
    (a quarter of the cost or less: np.percentile partitions a float copy)."""
    if img.dtype != np.uint8:
        return np.percentile(img, qs)
    c = np.cumsum(np.bincount(img.ravel(), minlength=256))
    pos = (c[-1] - 1) * np.asarray(qs, np.float64) / 100.0
    i0 = np.floor(pos)
    v0 = np.searchsorted(c, i0, side="right")  # the i-th smallest value: the first v with c[v] > i
    v1 = np.searchsorted(c, np.minimum(i0 + 1, c[-1] - 1), side="right")
    return v0 + (v1 - v0) * (pos - i0)


def _clip_segment(a: np.ndarray, b: np.ndarray, w: int, h: int):
    ok, p, q = cv2.clipLine((0, 0, w, h), (int(round(a[0])), int(round(a[1]))), (int(round(b[0])), int(round(b[1]))))
    if not ok:
        return None, None
    return np.array(p, float), np.array(q, float)


def _visible_area(q: np.ndarray, w: int, h: int) -> float:
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return _inter_area(q, frame)


def _inter_area(a: np.ndarray, b: np.ndarray) -> float:
    area, _ = cv2.intersectConvexConvex(g.order_quad(a).astype(np.float32), g.order_quad(b).astype(np.float32))
    return max(0.0, float(area))


# --------------------------------------------------------------------------- refinement
def _refine(gray: np.ndarray, quad: np.ndarray, cut: np.ndarray, radius: float, n: int = 48) -> np.ndarray:
    """Move each real side onto the strongest consistent edge within +-radius px (full res),
    fit a robust line per side, and intersect neighbouring lines. Cut (inferred) sides are kept
    parallel-shifted with their neighbours."""
    H, W = gray.shape[:2]
    q = g.order_quad(quad)
    cut = np.asarray(cut, dtype=bool)
    lines: list[np.ndarray | None] = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        if cut[i]:
            lines.append(None)
            continue
        lines.append(_fit_side(gray, a, b, radius, n))
    out = q.copy()
    for i in range(4):
        prev_l, next_l = lines[(i - 1) % 4], lines[i]  # corner i is between side i-1 and side i
        if prev_l is None or next_l is None:
            continue
        p = g.intersect(prev_l, next_l)
        if p is None or np.hypot(*(p - q[i])) > 3 * radius + 4:
            continue
        out[i] = p
    # corners next to a cut side: move with the refined real side they sit on
    for i in range(4):
        if lines[(i - 1) % 4] is not None and lines[i] is not None:
            continue
        real = lines[(i - 1) % 4] if lines[(i - 1) % 4] is not None else lines[i]
        if real is None:
            continue
        # project the old corner onto the refined real line
        a, b, c = real
        nrm = math.hypot(a, b)
        if nrm < 1e-12:
            continue
        dist = (a * q[i][0] + b * q[i][1] + c) / nrm
        if abs(dist) <= 3 * radius + 4:
            out[i] = q[i] - dist * np.array([a, b]) / nrm
    return out


@dataclass
class _SideProfiles:
    """Grey profiles across one side a -> b (full resolution), for the side fits."""

    base: np.ndarray  # (n, 2) sample points on the side, off its last 6 % at each end
    normal: np.ndarray  # (2,) unit normal
    offs: np.ndarray  # (m,) offsets along the normal, px
    valid: np.ndarray  # (n,) the whole profile lies inside the image
    dprof: np.ndarray  # (n, m - 2) central differences of the profiles, at offs[1:-1]


def _side_profiles(gray: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, n: int) -> _SideProfiles | None:
    H, W = gray.shape[:2]
    d = b - a
    L = float(np.hypot(*d))
    if L < 4:
        return None
    ux, uy = d / L
    nx, ny = -uy, ux
    t = 0.06 + 0.88 * (np.arange(n) + 0.5) / n  # stay off the corners (fingers, rounding)
    base = a[None] + t[:, None] * d[None]
    r = int(math.ceil(radius))
    offs = np.arange(-r - 1, r + 2, dtype=np.float32)
    mx = (base[:, 0:1] + offs[None] * nx).astype(np.float32)
    my = (base[:, 1:2] + offs[None] * ny).astype(np.float32)
    valid = (mx.min(1) >= 0) & (mx.max(1) <= W - 1) & (my.min(1) >= 0) & (my.max(1) <= H - 1)
    prof = cv2.remap(gray, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    prof = cv2.GaussianBlur(prof, (1, 3), 0)
    return _SideProfiles(base, np.array([nx, ny]), offs, valid, prof[:, 2:] - prof[:, :-2])


def _dominant_polarity(sp: _SideProfiles, valid: np.ndarray) -> float:
    """+1 / -1: whether the card is brighter or darker than what lies outside, along this side."""
    d = sp.dprof
    return float(np.sign(np.sum(np.take_along_axis(d, np.argmax(np.abs(d), 1)[:, None], 1)[valid]))) or 1.0


def _peak_offsets(sd: np.ndarray, offs: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-pixel offset of each row's edge peak at column k (parabola through its neighbours)."""
    kk = np.clip(k, 1, sd.shape[1] - 2)
    ar = np.arange(len(sd))
    y0, y1, y2 = sd[ar, kk - 1], sd[ar, kk], sd[ar, kk + 1]
    den = y0 - 2 * y1 + y2
    sub = 0.5 * (y0 - y2) / np.where(np.abs(den) > 1e-6, den, 1.0)
    sub = np.where(np.abs(den) > 1e-6, sub, 0.0)
    return offs[1:-1][kk] + np.clip(sub, -0.5, 0.5)


def _fit_line(pts: np.ndarray) -> np.ndarray:
    vx, vy, x0, y0 = cv2.fitLine(pts.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    p = np.array([x0, y0], dtype=np.float64)
    return g.line_through(p, p + np.array([vx, vy], dtype=np.float64))


def _fit_side(gray: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, n: int) -> np.ndarray | None:
    sp = _side_profiles(gray, a, b, radius, n)
    if sp is None or sp.valid.sum() < 6:
        return None
    sd = sp.dprof * _dominant_polarity(sp, sp.valid)
    k = np.argmax(sd, axis=1)
    peak = sd[np.arange(n), k]
    good = sp.valid & (peak > 6.0) & (k > 0) & (k < sd.shape[1] - 1)
    if good.sum() < 6:
        return None
    off = _peak_offsets(sd, sp.offs, k)[good]
    pts = sp.base[good] + off[:, None] * sp.normal[None]
    # robust: drop points far from the median offset (fingers, other edges)
    keep = np.abs(off - np.median(off)) <= max(1.5, radius * 0.5)
    if keep.sum() < 6:
        return None
    return _fit_line(pts[keep])


# --------------------------------------------------------------------------- tracking (video)
TRACK_ACCEPT = 0.75  # a tracked card must score this well (full-search cards: 0.6-0.98, median ~0.88)
TRACK_MIN_SIDE = 24.0  # px at full resolution: smaller cards are searched for in full
TRACK_MARGIN = 40  # px around the previous quad where a colour-found card is looked for (_colour_edges)
TRACK_EDGE = 6.0  # grey levels over 2 px: a sample supports a side when its edge peak is above this
FULL_EVERY = 10  # CardTracker: a full search at least every this many frames
# CardTracker, while no card is in view: a full search on every IDLE_EVERY-th frame only (a card
# that appears is found within 100 ms at 30 fps). Headless replay of a 30 fps MJPEG stream,
# python tools/soak.py --minutes 0.5: 2 -> 3 took 594-661 -> 684 frames analysed in 30 s.
IDLE_EVERY = 3
FINE_EVERY = 3  # CardTracker: while no card is in view, the finer second look on every this many searches
# ... and the tiles (_tile_search) on every this many (about every 3 s at 30 fps). Headless replay
# of the half_body scenario (no card in view), tools/soak.py --minutes 0.5: frames analysed in
# 30 s 467 / 463 without tiles, 367 at every 9th search, 436 / 448 at every 30th. In video a card
# too small to be found is soon brought closer anyway ("show your card").
TILES_EVERY = 30


def _fit_side_stats(gray: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, n: int = 48,
                    polarity: float = 0.0, bones=None):
    """_fit_side with evidence: (line, support, longest gap, polarity) or None. Support is the
    fraction of samples along the side whose edge peak (one polarity, above TRACK_EDGE) lies on
    the fitted straight line (within 1.5 px of the samples' median offset): fingers make gaps,
    a side that is no longer there (card gone) has scattered peaks and low support.
    `bones` ((B, 2, 2) segments, (B,) radii at full resolution, see _hand_bones): samples under a
    seen hand's fingers neither support the side nor break it, as in the full search (_supports)."""
    sp = _side_profiles(gray, a, b, radius, n)
    if sp is None or sp.valid.sum() < n // 2:
        return None
    valid = sp.valid
    if bones is not None and len(bones[0]):
        free = valid & ~_under_bones(bones[0], bones[1], sp.base[:, 0], sp.base[:, 1])
        if free.sum() >= n // 3:
            valid = free
    if polarity == 0.0:
        polarity = _dominant_polarity(sp, valid)
    sd = sp.dprof * polarity
    k = np.argmax(sd, axis=1)
    peak = sd[np.arange(n), k]
    good = valid & (peak > TRACK_EDGE) & (k > 0) & (k < sd.shape[1] - 1)
    if good.sum() < 6:
        return None
    off = _peak_offsets(sd, sp.offs, k)
    med = float(np.median(off[good]))
    on = good & (np.abs(off - med) <= 2.0)
    if on.sum() < 6:
        return None
    line = _fit_line(sp.base[on] + off[on, None] * sp.normal[None])
    nv = int(valid.sum())
    return line, float(on.sum() / nv), _longest_false_run(on[valid]) / float(nv), polarity


def _track(gray: np.ndarray, prev: Card, hands: Sequence[Hand], faces: Sequence[Face],
           edges: np.ndarray | None = None) -> Card | None:
    """The card near `prev` in full-resolution `gray`, or None (then the caller searches in full).

    Each side is searched for along its normal within a radius that covers hand motion between
    two frames (8 % of the card's short side, at least 6 px), then once more within 3 px of the
    new quad; the result must pass the acceptance tests of the full search (see _score) with a
    score of at least TRACK_ACCEPT, so a card that left the frame is never carried over.
    `edges`: the image to find the sides in, when not `gray` (a card found in a colour channel);
    print and card stock are read from `gray`."""
    H, W = gray.shape[:2]
    ed = gray if edges is None else edges
    try:
        q = g.order_quad(prev.quad)
    except ValueError:
        return None
    if not prev.in_frame or not g.all_inside(q, W, H, margin=1.0):
        return None  # cut-off cards (inferred corners) go through the full search
    sides = g.side_lengths(q)
    if sides.min() < TRACK_MIN_SIDE:
        return None
    q0 = q
    bones = _hand_bones(hands, 1.0)  # full resolution
    best: tuple[float, str, np.ndarray] | None = None
    # a still card first (small radius, no print lines within reach), then one that moved
    for moved in (False, True):
        start = q0
        if moved:
            start = _track_shift(ed, q0, int(max(6.0, min(16.0, 0.08 * float(sides.min())))))
            if start is None:
                break
        got = _track_fit(ed, start, (3.0, 3.0), bones)
        if got is None:
            continue
        q, sup, gaps = got
        if moved and g.quad_area(q) < 0.97 * g.quad_area(q0) and _inter_area(q, q0) > 0.97 * g.quad_area(q):
            # shrunk into the old quad: the card's print frame or text block a few px inside a
            # weak outer edge (skin behind the card, fingers), not the card moving; the full
            # search prefers the card around its own inner rectangles (_pick)
            break
        score, kind = _track_score(gray, q, sup, gaps, hands, faces)
        if best is None or score > best[0]:
            best = (score, kind, q)
        if score >= TRACK_ACCEPT - (PORTRAIT_RELAX if _has_portrait_full(q, faces) else 0.0):
            break
    if best is None:
        return None
    score, kind, q = best
    if score < TRACK_ACCEPT - (PORTRAIT_RELAX if _has_portrait_full(q, faces) else 0.0):
        return None
    if faces and _adjacent_face(g.order_quad(q), [f.box for f in faces]) is not None:
        return None  # a printed portrait left outside: likely the text block; the full search extends it
    return Card(quad=[(float(x), float(y)) for x, y in q], in_frame=True, kind=kind,
                score=float(min(1.0, max(0.0, score))))


def _shift_side(gray: np.ndarray, a: np.ndarray, b: np.ndarray, radius: int, n: int = 48):
    """The straight edge within +-radius px of side a -> b that the most samples support (an
    edge peak of one polarity above TRACK_EDGE within 1 px of the line): an exhaustive search over
    the line's offsets at both ends, so a finger or a print line crossing part of the window does
    not pull the side away the way a per-sample argmax does. (a', b') or None."""
    H, W = gray.shape[:2]
    d = b - a
    L = float(np.hypot(*d))
    if L < 4:
        return None
    nx, ny = -d[1] / L, d[0] / L
    t = 0.06 + 0.88 * (np.arange(n) + 0.5) / n
    base = a[None] + t[:, None] * d[None]
    offs = np.arange(-radius - 1, radius + 2, dtype=np.float32)
    mx = np.clip(base[:, 0:1] + offs[None] * nx, 0, W - 1).astype(np.float32)
    my = np.clip(base[:, 1:2] + offs[None] * ny, 0, H - 1).astype(np.float32)
    prof = cv2.remap(gray, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    prof = cv2.GaussianBlur(prof, (1, 3), 0)
    dprof = prof[:, 2:] - prof[:, :-2]  # at offsets -radius..radius
    K = dprof.shape[1]
    o = np.arange(K)
    oa, ob = np.meshgrid(o, o, indexing="ij")
    oa, ob = oa.ravel(), ob.ravel()
    idx = np.rint(oa[:, None] + (ob - oa)[:, None] * ((t - t[0]) / (t[-1] - t[0]))[None]).astype(int)  # (K*K, n)
    ar = np.arange(n)[None]
    best = None
    for sgn in (1.0, -1.0):
        S = dprof * sgn > TRACK_EDGE
        Sd = S.copy()
        Sd[:, 1:] |= S[:, :-1]
        Sd[:, :-1] |= S[:, 1:]
        votes = Sd[ar, idx].sum(1)
        # nearly as well supported but closer to where the side was: the card's own edge, not
        # the print frame or a finger next to it
        pref = votes - 0.25 * (np.abs(oa - radius) + np.abs(ob - radius))
        k = int(np.argmax(pref))
        if best is None or votes[k] > best[0]:
            best = (int(votes[k]), k)
    if best[0] < n // 4:
        return None
    k = best[1]
    off_a, off_b = float(oa[k] - radius), float(ob[k] - radius)
    # offsets were measured at t[0] and t[-1]; extend the line to the side's ends
    slope = (off_b - off_a) / (t[-1] - t[0])
    o0 = off_a - slope * t[0]
    o1 = o0 + slope
    nv = np.array([nx, ny])
    return a + o0 * nv, b + o1 * nv


def _track_shift(gray: np.ndarray, q: np.ndarray, radius: int) -> np.ndarray | None:
    """Each side of q moved onto its best-supported edge within radius; the new corners."""
    lines = []
    for i in range(4):
        r = _shift_side(gray, q[i], q[(i + 1) % 4], radius)
        if r is None:
            return None
        lines.append(g.line_through(r[0], r[1]))
    new = np.empty((4, 2))
    for i in range(4):
        p = g.intersect(lines[(i - 1) % 4], lines[i])
        if p is None or np.hypot(*(p - q[i])) > 3 * radius + 4:
            return None
        new[i] = p
    return g.order_quad(new)


def _track_fit(gray: np.ndarray, q: np.ndarray, radii: tuple[float, ...], bones=None):
    """Move each side of `q` onto the straight edge within each radius in turn; (quad, support,
    gaps) or None when a side has no straight edge or a corner jumps."""
    H, W = gray.shape[:2]
    pol = [0.0] * 4
    fits = []
    for radius in radii:
        fits = []
        for i in range(4):
            f = _fit_side_stats(gray, q[i], q[(i + 1) % 4], radius, polarity=pol[i], bones=bones)
            if f is None:
                return None
            fits.append(f)
            pol[i] = f[3]
        new = np.empty((4, 2))
        for i in range(4):
            p = g.intersect(fits[(i - 1) % 4][0], fits[i][0])
            if p is None or np.hypot(*(p - q[i])) > 2 * radius + 4:
                return None
            new[i] = p
        q = g.order_quad(new)
    if not g.is_convex(q) or not g.all_inside(q, W, H, margin=1.0):
        return None
    return q, np.array([f[1] for f in fits]), np.array([f[2] for f in fits])


def _track_score(gray: np.ndarray, q: np.ndarray, sup: np.ndarray, gaps: np.ndarray,
                 hands: Sequence[Hand], faces: Sequence[Face]) -> tuple[float, str]:
    """The full search's acceptance tests and score (_score) on a full-resolution quad; (-1, "")
    when a test fails."""
    H, W = gray.shape[:2]
    area = g.quad_area(q)
    if area < MIN_AREA_FRAC * W * H or area > MAX_AREA_FRAC * W * H or g.side_lengths(q).min() < TRACK_MIN_SIDE:
        return -1.0, ""
    for i in range(4):
        u = q[(i + 1) % 4] - q[i]
        v = q[(i - 1) % 4] - q[i]
        if abs(float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))) > 0.64:
            return -1.0, ""
    a_raw, tilt = g.plane_pose(q, W, H)
    if tilt > MAX_TILT:
        return -1.0, ""
    aspect = a_raw if a_raw >= 1 else 1.0 / max(a_raw, 1e-9)
    e_id1 = abs(math.log(max(aspect, 1e-6) / g.ID1_ASPECT))
    steep = _steep_shape(q)
    if steep:
        # as in the full search: four clear sides, judged at the focal length that fits best
        if float(np.min(sup)) < STEEP_SIDES:
            return -1.0, ""
        e_id1 = min(e_id1, float(_steep_id1_errors(q[None], W, H, g.default_focal(W, H))[0]))
    e_pp = abs(math.log(max(aspect, 1e-6) / g.PASSPORT_ASPECT))
    if e_id1 <= ID1_TOL and e_id1 <= e_pp:
        kind, a_score = "id1", 1.0 - e_id1 / ID1_TOL
    elif e_pp <= PASSPORT_TOL and not steep:
        kind, a_score = "passport", 1.0 - e_pp / PASSPORT_TOL
    else:
        return -1.0, ""
    srt, gsrt = np.sort(sup), np.sort(gaps)[::-1]
    # with a printed portrait inside, sides may be a bit weaker, as in the full search (_score)
    relax = PORTRAIT_RELAX if _has_portrait_full(q, faces) else 0.0
    if gsrt[0] > 0.6 or gsrt[1] > 0.4 or srt[0] < 0.3 or srt[1] < 0.5 - 2 * relax or sup.mean() < 0.65 - relax:
        return -1.0, ""
    if kind == "passport" and (srt[0] < 0.55 or sup.mean() < 0.85):
        return -1.0, ""
    if any(_is_head(q, area, f.box) and not _over_face(q, area, f.box, sup) for f in faces):
        return -1.0, ""
    # print and light stock, measured like the full search: on the card's box downscaled to the
    # work scale (INTER_AREA), light relative to the whole frame's 98th percentile
    s = min(1.0, WORK_SIZE / float(max(H, W)))
    x0, y0 = np.maximum(np.floor(q.min(0)) - 2, 0).astype(int)
    x1, y1 = np.minimum(np.ceil(q.max(0)) + 3, [W, H]).astype(int)
    box = gray[y0:y1, x0:x1]
    if s < 1.0:
        box = cv2.resize(box, (max(1, round(box.shape[1] * s)), max(1, round(box.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    p98 = float(_percentiles(gray[::8, ::8], (98,))[0])
    ink, light, spread = _ink_img(box, (q - [x0, y0]) * s, p98)
    if not _printed_stock(ink, light, spread, partial=False) or (light < MIN_LIGHT and sup.mean() < _dim_support(spread)):
        return -1.0, ""
    score = 0.55 * float(sup.mean()) + 0.15 * float(sup.min()) + 0.3 * a_score - _tilt_penalty(tilt)
    pts = [p for hd in hands for p in hd.points]
    if pts:
        hp = np.asarray(pts, np.float64).reshape(-1, 2)
        diag = float(np.hypot(*(q[2] - q[0])))
        c = q.mean(axis=0)
        dmin = float(np.min(np.hypot(hp[:, 0] - c[0], hp[:, 1] - c[1])))
        score += 0.05 if dmin < 0.75 * diag else (-0.4 if dmin > diag else 0.0)
    score += 0.02 * math.log(max(area / (W * H), 1e-4) / 1e-4) / math.log(1e4)
    return score, kind


class CardTracker:
    """Video: the policy around detect_card(prev=...): the previous frame's card is passed (so its
    sides are searched for near where they were), except every FULL_EVERY-th frame, right after a
    frame without a card (while no card is in view, on every IDLE_EVERY-th frame only), and on the frame after the score fell by more than 0.1 below the last
    full search's (the card may be turning into something else): then prev=None, a full search.
    Tracking starts only once two consecutive full searches agree on the card (IoU >= 0.9), so a
    quad found once by chance is not carried along.
    One per video stream; a frame size change starts over. `detect` is the detector to call (the
    Analyzer passes its own reference so tests can observe the calls)."""

    def __init__(self, full_every: int = FULL_EVERY) -> None:
        self.full_every = int(full_every)
        self.card: Card | None = None
        self.since_full = 0  # frames since the last full search
        self.ref_score = 0.0  # score of the card at the last full search
        self.force_full = False
        self.confirmed = False  # the last two full searches found the same card
        self.size: tuple[int, int] = (0, 0)
        self.with_prev = 0  # frames detected with prev given (for the benchmark)
        self.missed_last = False  # the last search found no card
        self.idle_skip = False  # this frame's search was skipped (no card in view)
        self.idle_skipped = 0  # frames skipped in a row
        self.idle_searches = 0  # searches since the card was lost

    def reset(self) -> None:
        self.card, self.since_full, self.force_full, self.confirmed = None, 0, False, False
        self.missed_last = self.idle_skip = False
        self.idle_searches = self.idle_skipped = 0

    def update(self, bgr: np.ndarray, hands: Sequence[Hand] = (), faces: Sequence[Face] = (),
               detect=None) -> Card | None:
        detect = detect or detect_card
        size = (int(bgr.shape[1]), int(bgr.shape[0]))
        if size != self.size:
            self.reset()
            self.size = size
        if self.card is None and self.missed_last and self.idle_skipped < IDLE_EVERY - 1:
            # Nothing was found last time: a full search costs 30-60 ms, so while no card is in view
            # look on every IDLE_EVERY-th frame only (a card that appears is seen 1-2 frames later).
            self.idle_skipped += 1
            self.idle_skip = True
            return None
        self.idle_skip = False
        self.idle_skipped = 0
        # the finer second look (detect_card's `fine`) costs as much again: while no card is in
        # view, only on every FINE_EVERY-th search
        fine = not self.missed_last or self.idle_searches % FINE_EVERY == 0
        # the colour look (another 60-80 ms) on the search after, never on the same frame
        colour = not self.missed_last or self.idle_searches % FINE_EVERY == 1 % FINE_EVERY
        # the tiles (200-400 ms: 6-12 frames) only while no card is in view, on every
        # TILES_EVERY-th search, never with the finer or the colour look
        tiles = self.missed_last and self.idle_searches % TILES_EVERY == 2
        self.idle_searches = self.idle_searches + 1 if self.missed_last else 0
        full = (self.card is None or not self.confirmed or self.force_full
                or self.since_full + 1 >= self.full_every)
        if full:
            card = detect(bgr, hands=hands, faces=faces, fine=fine, colour=colour, second_look=False, tiles=tiles)
            self.confirmed = (card is not None and self.card is not None
                              and g.quad_iou(card.quad, self.card.quad) >= 0.9)
            self.since_full = 0
            self.ref_score = card.score if card is not None else 0.0
            self.force_full = False
        else:
            card = detect(bgr, hands=hands, faces=faces, prev=self.card)
            self.since_full += 1
            self.with_prev += 1
            self.force_full = card is None or card.score < self.ref_score - 0.1
        self.card = card
        self.missed_last = card is None
        return card
