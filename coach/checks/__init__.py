"""The rules: profiles of thresholds, one pure function per check id, zh/en messages, verdicts."""

from __future__ import annotations

from coach.checks import messages
from coach.checks.profiles import PROFILE_NAMES, CaptureSettings, Profile, load_profile
from coach.checks.rules import CHECK_IDS, RULES
from coach.checks.verdict import PRIORITY, evaluate

__all__ = ["CHECK_IDS", "PRIORITY", "PROFILE_NAMES", "RULES", "CaptureSettings", "Profile", "evaluate",
           "load_profile", "messages"]
