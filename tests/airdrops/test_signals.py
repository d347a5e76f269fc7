"""Opportunity signals: each fires on its own evidence, carries its weight, and adds up to the score."""

from __future__ import annotations

import pytest

from impressox_pipelines.airdrops.signals import (
    W_CASHTAGS,
    W_CLAIM_PAGE,
    W_DEADLINE,
    W_DOCS_PAGE,
    W_QUOTED_ORIGINAL,
    W_TARGET_AUTHOR,
)
from tests.helpers.airdrops import signals, tweet


@pytest.mark.parametrize(("text", "signal"), [
    ("The airdrop is coming", "airdrop_language"),
    ("Air-drop season", "airdrop_language"),
    ("You can claim your tokens", "claim_language"),
    ("Check if you are eligible", "eligibility_language"),
    ("Your allocation is ready", "eligibility_language"),
    ("Snapshot was taken at block 123", "snapshot_language"),
    ("Retroactive rewards for early users", "snapshot_language"),
    ("Our points program starts", "points_language"),
    ("TGE next week", "points_language"),
    ("Claim window closes March 23", "deadline"),
    ("ends on 2026-03-23", "deadline"),
    ("until 14:00 UTC", "deadline"),
    ("deadline is Friday", "deadline"),
    ("$ARB and $OP holders", "cashtags"),
])
def test_each_text_signal_fires(detector, text, signal):
    assert signal in signals(detector.assess(tweet(text)).reasons)


def test_plain_chatter_has_no_signal(detector):
    a = detector.assess(tweet("Nice weather in Lisbon today, 20 degrees"))
    assert a.reasons == [] and a.score == 0 and not a.is_candidate
    assert a.skipped == "no keyword matched"


def test_claim_and_docs_links_weigh_as_pages(detector):
    a = detector.assess(tweet("airdrop details", urls=["https://docs.arbitrum.io/airdrop-faq",
                                                       "https://claim.arbitrum.foundation/"]))
    weights = {r.signal: r.weight for r in a.reasons}
    assert weights["claim_page_link"] == W_CLAIM_PAGE
    assert "docs_page_link" not in weights  # the docs URL names the airdrop, so it counts as a claim page
    b = detector.assess(tweet("airdrop details", urls=["https://docs.zksync.io/guide"]))
    assert {r.signal: r.weight for r in b.reasons}["docs_page_link"] == W_DOCS_PAGE


def test_target_account_author_weighs_most(detector):
    official = detector.assess(tweet("The airdrop is live", author_handle="Arbitrum"))
    fan = detector.assess(tweet("The airdrop is live"))
    assert official.score - fan.score == W_TARGET_AUTHOR
    assert "posted by target account @Arbitrum" in [r.detail for r in official.reasons][-1]


def test_engagement_grows_logarithmically_and_is_capped(detector):
    def weight(**counts):
        return {r.signal: r.weight for r in detector.assess(tweet("airdrop", **counts)).reasons}.get("engagement", 0)

    small, big, huge = weight(like_count=9), weight(like_count=999), weight(like_count=10**9, retweet_count=10**9)
    assert 0 < small < big < huge == 15.0
    assert weight() == 0


def test_quoted_original_text_counts(detector):
    original = tweet("Claim the $ARB airdrop before March 23 at claim.arbitrum.foundation", author_handle="arbitrum")
    quote = tweet("Finally! Go go go", quoted_id=original.id)
    alone = detector.assess(quote)
    read_with_original = detector.assess(quote, original)
    assert not alone.is_candidate
    assert read_with_original.is_candidate
    by_signal = {r.signal: r for r in read_with_original.reasons}
    assert by_signal["quoted_original"].weight == W_QUOTED_ORIGINAL
    assert "(in the quoted original)" in by_signal["airdrop_language"].detail
    assert by_signal["target_account"].detail == "retweets/quotes target account @arbitrum"
    assert {"deadline", "cashtags", "claim_page_link"} <= set(by_signal)
    assert by_signal["deadline"].weight == W_DEADLINE and by_signal["cashtags"].weight == W_CASHTAGS


def test_score_is_the_capped_sum_of_the_reasons(detector):
    a = detector.assess(tweet(
        "The $ARB airdrop claim is live: check if you are eligible. Snapshot was taken; points program next. "
        "Claim before March 23 at claim.arbitrum.foundation", author_handle="arbitrum", like_count=50_000,
    ))
    assert sum(r.weight for r in a.reasons) > 100
    assert a.score == 100
    assert a.is_opportunity and not a.scam_flag
