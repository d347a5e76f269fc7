"""Tweets met first as a bare `{__typename, rest_id}` reference and later in full (or the other way round),
lone surrogates in a string, and quotes of unavailable tweets.

Payloads are derived from real tweet objects of raw_search.json: a tweet A quoting Q, and A's quote given
either as a reference (`quotedRefResult`) or in full (`quoted_status_result`), placed as a timeline entry,
inside a conversation module, or inside a retweet of A — in every pairing and both orders.
"""

from __future__ import annotations

import copy
import itertools
import json

import pytest

from impressox_pipelines.x.parser import parse_body, parse_payload
from tests.helpers.paths import require_fixture

PLACES = ("entry", "module", "retweet")


@pytest.fixture(scope="module")
def search_entries() -> list[dict]:
    payload = json.loads(require_fixture("twscrape", "raw_search.json").read_bytes())
    return payload["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"][0]["entries"]


@pytest.fixture(scope="module")
def quoting(search_entries) -> dict:
    """A real tweet whose `quoted_status_result` holds its quoted tweet in full."""
    return next(e["content"]["itemContent"]["tweet_results"]["result"] for e in search_entries
                if "quoted_status_result" in (e["content"].get("itemContent") or {}).get("tweet_results", {}).get(
                    "result", {}))


def a_copy(quoting: dict, quote_in_full: bool) -> dict:
    tweet = copy.deepcopy(quoting)
    if not quote_in_full:
        quoted = tweet.pop("quoted_status_result")["result"]
        tweet["quotedRefResult"] = {"result": {"__typename": "Tweet", "rest_id": quoted["rest_id"]}}
    return tweet


def item(tweet: dict) -> dict:
    return {"__typename": "TimelineTweet", "itemType": "TimelineTweet", "tweet_results": {"result": tweet}}


def placed(place: str, tweet: dict, n: int) -> dict:
    if place == "entry":
        return {"entryId": f"tweet-{n}", "content": {"__typename": "TimelineTimelineItem", "itemContent": item(tweet)}}
    if place == "module":
        return {"entryId": f"conversationthread-{n}", "content": {
            "__typename": "TimelineTimelineModule",
            "items": [{"entryId": f"conversationthread-{n}-tweet-{tweet['rest_id']}",
                       "item": {"itemContent": item(tweet)}}]}}
    retweet = copy.deepcopy(tweet)
    retweet["rest_id"] = str(int(tweet["rest_id"]) + 1000 + n)
    retweet["legacy"] = {**retweet["legacy"], "full_text": "RT @someone: …",
                         "retweeted_status_result": {"result": tweet}}
    retweet.pop("quoted_status_result", None)
    retweet.pop("quotedRefResult", None)
    return placed("entry", retweet, n)


def payload_of(entries: list[dict]) -> dict:
    return {"data": {"search_by_raw_query": {"search_timeline": {"timeline": {"instructions": [
        {"type": "TimelineAddEntries", "entries": entries}]}}}}}


@pytest.mark.parametrize(("reference_at", "full_at", "reference_first"),
                         list(itertools.product(PLACES, PLACES, (True, False))))
def test_a_quoted_tweet_is_emitted_from_its_full_copy_in_any_place_and_order(quoting, reference_at, full_at,
                                                                            reference_first):
    quoted = quoting["quoted_status_result"]["result"]
    reference = placed(reference_at, a_copy(quoting, quote_in_full=False), 1)
    full = placed(full_at, a_copy(quoting, quote_in_full=True), 2)
    result = parse_payload(payload_of([reference, full] if reference_first else [full, reference]), "SearchTimeline")
    tweets = {t.id: t for t in result.tweets}
    assert quoted["rest_id"] in tweets, result.skipped
    expected = parse_payload(payload_of([placed("entry", quoted, 3)]), "SearchTimeline").tweets[0]
    assert tweets[quoted["rest_id"]].text == expected.text and tweets[quoted["rest_id"]].author_handle
    assert tweets[quoting["rest_id"]].quoted_id == quoted["rest_id"]
    assert result.skipped["reference_only"] == 0 and result.failure_count == 0


def test_a_reference_without_any_full_copy_stays_a_benign_skip(quoting):
    result = parse_payload(payload_of([placed("entry", a_copy(quoting, quote_in_full=False), 1)]), "SearchTimeline")
    assert result.skipped["reference_only"] == 1 and result.failure_count == 0
    assert [t.id for t in result.tweets] == [quoting["rest_id"]]


def test_skips_inside_a_repeated_copy_are_counted_once(quoting):
    tombstoned = copy.deepcopy(quoting)
    tombstoned["quoted_status_result"] = {"result": {"__typename": "TweetTombstone", "tombstone": {}}}
    result = parse_payload(payload_of([placed("entry", tombstoned, 1), placed("module", tombstoned, 2)]),
                           "SearchTimeline")
    assert result.skipped["tombstone"] == 1


@pytest.mark.parametrize("unavailable", [
    {"__typename": "TweetTombstone", "tombstone": {"__typename": "TextTombstone", "text": {
        "text": "This Post was deleted by the Post author. Learn more", "entities": []}}},
    {"__typename": "TweetUnavailable", "reason": "Suspended"},
])
def test_a_quote_of_an_unavailable_tweet_is_flagged(quoting, unavailable):
    tweet = copy.deepcopy(quoting)
    tweet["quoted_status_result"] = {"result": unavailable}
    parsed = {t.id: t for t in parse_payload(payload_of([placed("entry", tweet, 1)]), "SearchTimeline").tweets}
    assert parsed[quoting["rest_id"]].quoted_unavailable is True
    assert parsed[quoting["rest_id"]].quoted_id == quoting["legacy"].get("quoted_status_id_str")
    normal = {t.id: t for t in parse_payload(payload_of([placed("entry", quoting, 1)]), "SearchTimeline").tweets}
    assert not any(t.quoted_unavailable for t in normal.values())


def test_a_lone_surrogate_is_replaced_in_its_string_and_the_page_kept():
    body = require_fixture("twscrape", "raw_search.json").read_bytes()
    whole = parse_body(body, "SearchTimeline")
    target = whole.tweets[0]
    escaped = json.dumps(target.text)[1:-1].encode()  # the text as it sits in the JSON (ASCII escapes)
    raw = json.dumps(json.loads(body))  # ASCII-escaped, so every non-ASCII character is a \\u escape
    assert raw.count(escaped.decode()) >= 1
    broken = raw.replace(escaped.decode(), "GM \\ud83d " + escaped.decode(), 1)
    result = parse_body(broken.encode(), "SearchTimeline")
    assert result.failure is None and len(result.tweets) == len(whole.tweets)
    texts = {t.id: t.text for t in result.tweets}
    assert texts[target.id].startswith("GM \ufffd ")
    assert sum(t != texts[t_id] for t_id, t in ((t.id, t.text) for t in whole.tweets)) == 1
    # A lone low surrogate, and an escaped backslash that only looks like one, in the same body.
    other = broken.replace("GM \\ud83d ", "GM \\ude00 \\\\ud83d ", 1)
    texts = {t.id: t.text for t in parse_body(other.encode(), "SearchTimeline").tweets}
    assert texts[target.id].startswith("GM \ufffd \\ud83d ")


def test_a_truncated_body_with_a_lone_surrogate_is_still_truncated_json():
    result = parse_body(b'{"data": {"text": "a \\ud83d b", "trunc', "SearchTimeline")
    assert result.failure.startswith("truncated_json")
