"""Shared fixtures: where the reference captures are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO.parent / "shared" / "ami-captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.fail(f"reference captures not found at {CAPTURES}: shared/ must sit beside the repo")
    return CAPTURES
