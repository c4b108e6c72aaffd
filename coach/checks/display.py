"""How a check's measured value and its limit read to a person: one formatter for the
`coach check` table and the live checklist, so both say the same thing the same way."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from coach.types import CheckResult

PERCENT = frozenset({"card_size", "card_fill", "glare", "face_uncovered", "card_in_frame"})
DEGREES = frozenset({"card_facing"})


def format_number(check_id: str, v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return " – ".join(format_number(check_id, x) for x in v)
    if not isinstance(v, (int, float)):
        return str(v)
    if check_id in PERCENT:
        return f"{100 * float(v):.1f}%"
    if check_id in DEGREES:
        return f"{float(v):.0f}°"
    if isinstance(v, int) or abs(float(v)) >= 10:
        return str(int(round(float(v))))
    return f"{float(v):.2f}"


def format_value(r: CheckResult) -> str:
    if r.id == "resolution" and r.value is not None:
        return f"{r.value:.0f}p"  # the frame's effective short side
    return format_number(r.id, r.value)


def format_limit(r: CheckResult, table: Optional[Mapping[str, Any]] = None) -> str:
    """The threshold as the person reads it (≥ min, ≤ max, min – max). The profile's limits table
    (`profile.limit(id)`) says which side a number is on; a CheckResult's bare limit does not."""
    table = table or {}
    if r.id == "resolution" and "min_long" in table:
        return f"≥ {int(table['min_long'])}×{int(table['min_short'])}"
    lo, hi = table.get("min"), table.get("max")
    if lo is not None and hi is not None:
        upper = f"<{format_number(r.id, hi)}" if r.id == "card_size" else format_number(r.id, hi)
        return f"{format_number(r.id, lo)} – {upper}"
    if lo is not None:
        return f"≥ {format_number(r.id, lo)}"
    if hi is not None:
        return f"≤ {format_number(r.id, hi)}"
    if r.id in ("face_visible", "card_in_frame"):
        return f"= {format_number(r.id, r.limit)}"
    if "min_score" in table:
        return f"≥ {format_number(r.id, table['min_score'])}"
    return ""
