"""Observation + Profile -> Verdict: every check of the profile, and the ONE hint to show.

The hint is the first check that does not pass (False or None) in priority order
(design.md, field notes): framing > light > sharpness > glare > occlusion. Fixing the framing
first matters because the later checks are measured on the face and card the framing finds.
`resolution` is the exception: a person cannot fix it by moving, so it is the hint only when
every other check passes. And what cannot be seen cannot be framed: when the frame is too dark
(or washed out) and the framing fault is that the card or the face is not found at all, the light
is the hint ("show your card" would send a person who is holding it up after another fault).
"""

from __future__ import annotations

from coach.checks.profiles import Profile
from coach.checks.rules import RULES
from coach.types import CheckResult, Observation, Verdict

PRIORITY: tuple[str, ...] = (
    # framing
    # face_visible comes after face_uncovered (design.md has it after card_present): a card held
    # over the face also hides the face from the detector, and "lower the card" is what helps
    # then, not "show your face".
    "resolution", "card_present", "card_in_frame", "card_size", "card_fill", "face_uncovered", "face_visible",
    "shoulders_visible", "no_card", "hands_on_card", "arms_visible", "card_facing",
    # light
    "exposure", "backlight",
    # sharpness
    "card_sharp", "face_sharp",
    # glare
    "glare",
    # occlusion
    "card_unoccluded",
)
LAST_RESORT = frozenset({"resolution"})
# framing faults that are "not found at all" (check id -> its message then): bad light explains them
UNSEEN = {"card_present": "show_card", "face_uncovered": "no_face", "face_visible": "no_face"}

assert set(PRIORITY) == set(RULES), "every check needs a place in the hint priority"


def choose_hint(results: list[CheckResult]) -> CheckResult | None:
    failing = {r.id: r for r in results if r.passed is not True}
    light = failing.get("exposure")
    for cid in PRIORITY:
        if cid in failing and cid not in LAST_RESORT:
            if light is not None and light.passed is False and failing[cid].message == UNSEEN.get(cid):
                return light
            return failing[cid]
    for cid in PRIORITY:
        if cid in failing:
            return failing[cid]
    return None


def evaluate(obs: Observation, profile: Profile) -> Verdict:
    """Pure: the same observation and profile always give the same verdict."""
    results = [RULES[cid](obs, profile.limit(cid)) for cid in profile.checks]
    return Verdict(profile=profile.name, results=results, hint=choose_hint(results))
