"""Where the repository and the real captures are: `../shared/fixtures`, read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def fixtures_root() -> Path:
    """`IMPRESSOX_FIXTURES_DIR`, or `../shared/fixtures` beside this checkout."""
    return Path(os.environ.get("IMPRESSOX_FIXTURES_DIR") or REPO_ROOT.parent / "shared" / "fixtures")


def require_fixture(*parts: str) -> Path:
    """The path of a real capture under ../shared/fixtures, or skip the test saying what is missing."""
    path = fixtures_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real capture {path} is absent (../shared/fixtures is not beside this checkout)")
    return path
