"""Bad input: empty, emoji-only, other scripts and odd fields give an assessment, never an exception."""

from __future__ import annotations

import pytest

from tests.helpers.airdrops import tweet


@pytest.mark.parametrize(("text", "skipped"), [
    ("", "empty text"),
    ("   \n\t", "empty text"),
    ("🚀🚀🪂💰🔥", "no letters or digits (emoji/symbols only)"),
    ("!!! ??? ...", "no letters or digits (emoji/symbols only)"),
])
def test_textless_tweets_are_skipped_with_a_reason(detector, text, skipped):
    a = detector.assess(tweet(text))
    assert a.skipped == skipped
    assert not a.is_candidate and a.score == 0 and not a.scam_flag


@pytest.mark.parametrize("text", [
    "Это обычный пост о погоде",
    "هذا منشور عادي عن الطقس",
    "今天天气很好",
    "오늘 날씨가 좋네요",
    "\u202eevil\u202c text with bidi controls",
    "a" * 20_000,
])
def test_other_scripts_and_odd_text_do_not_crash(detector, text):
    a = detector.assess(tweet(text))
    assert a.skipped == "no keyword matched"


def test_other_scripts_match_their_own_keywords(detector):
    a = detector.assess(tweet("新的空投活动开始了"))
    assert a.keywords == ["空投"]
    assert "airdrop_language" in {r.signal for r in a.reasons}


def test_missing_optional_fields_are_tolerated(detector):
    a = detector.assess(tweet("airdrop claim", author_handle="", author_name="", urls=["", "not a url", 5],
                              cashtags=["", "$ARB"], author_followers_count=None, author_created_at=None,
                              like_count=-3))
    assert a.is_candidate and a.cashtags == ["ARB"]
