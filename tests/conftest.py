"""Shared test fixtures: where the real photos and models are (by path, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

FRAMES = Path(os.environ.get("COACH_FRAMES", SHARED / "frames"))
MODELS = Path(os.environ.get("COACH_MODELS", SHARED / "models"))

# The project finds its models through this variable (never a copy in the repo).
if MODELS.is_dir():
    os.environ.setdefault("COACH_MODELS", str(MODELS))


@pytest.fixture(scope="session")
def frames_dir() -> Path:
    if not (FRAMES / "labels.csv").is_file():
        pytest.skip(f"real photos not found at {FRAMES} (set COACH_FRAMES to ../shared/frames)")
    return FRAMES


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS.is_dir():
        pytest.skip(f"MediaPipe models not found at {MODELS} (set COACH_MODELS to ../shared/models)")
    return MODELS
