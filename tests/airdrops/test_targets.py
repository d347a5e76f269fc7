"""Target accounts: parsing the handles file, and spotting accounts that imitate a target."""

from __future__ import annotations

import pytest

from impressox_pipelines.airdrops.targets import TargetAccounts, TargetAccountsFile, default_targets_path

TARGETS = TargetAccounts.from_handles(["arbitrum", "@JupiterExchange"])


def test_handles_are_case_insensitive_with_or_without_at():
    assert "Arbitrum" in TARGETS and "@jupiterexchange" in TARGETS
    assert "arbitrum_claims" not in TARGETS


def test_invalid_and_duplicate_handles_are_reported():
    t = TargetAccounts.parse(b"arbitrum\nnot a handle\n@ARBITRUM\nway_too_long_handle_name\n")
    assert t.handles == frozenset({"arbitrum"})
    assert [i.line_no for i in t.issues] == [2, 3, 4]
    assert "not an X handle" in str(t.issues[0]) and "duplicate" in str(t.issues[1])


@pytest.mark.parametrize(("handle", "name"), [
    ("arbitrum_claims", "Arbitrum Claims"),  # target + decoration
    ("ArbitrumSupport", "Support"),
    ("arb1trum", "Arb"),  # digit for a letter
    ("arbitrun", "A"),  # one typo
    ("randomguy123", "Arbitrum"),  # display name copied
    ("jupiterexchnage", "Jup"),  # two typos in a long handle
])
def test_imitations_are_recognised(handle, name):
    assert TARGETS.resembles(handle, name) is not None


@pytest.mark.parametrize(("handle", "name"), [
    ("arbitrum", "Arbitrum"),  # the target itself
    ("arbitrumdaily", "Arbitrum Daily News"),  # a fan account, no impersonator's decoration
    ("solanalegend", "Sol"),
])
def test_ordinary_accounts_are_not_imitations(handle, name):
    assert TARGETS.resembles(handle, name) is None


def test_shipped_default_file_loads_cleanly():
    t = TargetAccountsFile(default_targets_path()).current()
    assert not t.issues and "arbitrum" in t
