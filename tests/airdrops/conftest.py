"""Fixtures of the airdrop tests: detectors on the small lists of `tests.helpers.airdrops`."""

from __future__ import annotations

import pytest

from impressox_pipelines.airdrops.detector import AirdropDetector
from tests.helpers.airdrops import KEYWORDS, TARGETS


@pytest.fixture
def detector() -> AirdropDetector:
    """The rules alone (no scam text model): the rule and signal tests check what each rule does."""
    return AirdropDetector(KEYWORDS, TARGETS, scam_model=None)


@pytest.fixture
def shipped_detector() -> AirdropDetector:
    """Rules plus the shipped scam text model, as the asset and the CLI run them."""
    return AirdropDetector(KEYWORDS, TARGETS)
