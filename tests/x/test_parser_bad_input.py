"""Bad and unusual inputs: each gives a counted reason, keeps every good tweet, and never raises.

Payloads are built from a real tweet object of raw_search.json, changed the way X's layouts vary.
"""

from __future__ import annotations

import copy
import json

import pytest

from impressox_pipelines.x.parser import parse_body, parse_payload
from tests.helpers.paths import require_fixture


@pytest.fixture(scope="module")
def search_payload() -> dict:
    return json.loads(require_fixture("twscrape", "raw_search.json").read_bytes())


def entries(payload: dict) -> list[dict]:
    return payload["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"][0]["entries"]


def first_tweet_entry(payload: dict) -> dict:
    return next(e for e in entries(payload) if e["entryId"].startswith("tweet-"))


def with_first_result(payload: dict, result: dict | None) -> dict:
    changed = copy.deepcopy(payload)
    entry = first_tweet_entry(changed)
    entry["content"]["itemContent"]["tweet_results"] = {"result": result} if result is not None else {}
    return changed


def test_tombstone_and_unavailable_are_counted_and_skipped(search_payload):
    total = len(parse_payload(search_payload).tweets)
    tombstone = {"__typename": "TweetTombstone", "tombstone": {"__typename": "TextTombstone", "text": {
        "text": "You’re unable to view this Post because this account owner limits who can view their Posts.",
        "entities": []}}}
    result = parse_payload(with_first_result(search_payload, tombstone))
    assert result.skipped["tombstone"] == 1
    assert len(result.tweets) == total - 1
    result = parse_payload(with_first_result(search_payload, {"__typename": "TweetUnavailable", "reason": "Suspended"}))
    assert result.skipped["unavailable"] == 1 and result.failure_count == 0
    result = parse_payload(with_first_result(search_payload, None))
    assert result.skipped["empty_result"] == 1


def test_unknown_typename_is_a_counted_failure(search_payload):
    original = first_tweet_entry(search_payload)["content"]["itemContent"]["tweet_results"]["result"]
    result = parse_payload(with_first_result(search_payload, {**original, "__typename": "TweetWithEditHistory"}))
    assert result.skipped["unknown_typename:TweetWithEditHistory"] == 1
    assert result.failure_count == 1
    assert original["rest_id"] not in {t.id for t in result.tweets}
    assert len(result.tweets) == len(parse_payload(search_payload).tweets) - 1


def test_visibility_wrapper_is_unwrapped_and_promoted_entries_flagged(search_payload):
    changed = copy.deepcopy(search_payload)
    item = first_tweet_entry(changed)["content"]["itemContent"]
    inner = {k: v for k, v in item["tweet_results"]["result"].items() if k != "__typename"}
    item["tweet_results"]["result"] = {"__typename": "TweetWithVisibilityResults", "tweet": inner,
                                       "limitedActionResults": {"limited_actions": [{"action": "Reply"}]}}
    item["promotedMetadata"] = {"advertiser_results": {"result": {"__typename": "User"}}}
    tweets = {t.id: t for t in parse_payload(changed).tweets}
    assert tweets[inner["rest_id"]].is_promoted
    unwrapped = {t.id: t for t in parse_payload(search_payload).tweets}[inner["rest_id"]]
    assert tweets[inner["rest_id"]].text == unwrapped.text
    assert sum(t.is_promoted for t in tweets.values()) == 1


def test_missing_fields_skip_only_that_tweet(search_payload):
    original = first_tweet_entry(search_payload)["content"]["itemContent"]["tweet_results"]["result"]
    no_date = copy.deepcopy(original)
    del no_date["legacy"]["created_at"]
    result = parse_payload(with_first_result(search_payload, no_date))
    assert result.skipped["missing_field:created_at"] == 1
    no_author = copy.deepcopy(original)
    no_author["core"]["user_results"]["result"] = {"__typename": "UserUnavailable"}
    result = parse_payload(with_first_result(search_payload, no_author))
    assert result.skipped["missing_field:author"] == 1
    bad_entities = copy.deepcopy(original)
    bad_entities["legacy"]["entities"]["hashtags"] = ["not-an-object"]
    del bad_entities["note_tweet"]
    result = parse_payload(with_first_result(search_payload, bad_entities))
    assert result.skipped["malformed_tweet:AttributeError"] == 1
    assert len(result.tweets) == len(parse_payload(search_payload).tweets) - 1


def test_fields_moved_out_of_legacy_are_read_top_level(search_payload):
    original = first_tweet_entry(search_payload)["content"]["itemContent"]["tweet_results"]["result"]
    flat = {**{k: v for k, v in original.items() if k != "legacy"}, **original["legacy"], "legacy": None}
    tweets = {t.id: t for t in parse_payload(with_first_result(search_payload, flat)).tweets}
    before = {t.id: t for t in parse_payload(search_payload).tweets}[original["rest_id"]]
    after = tweets[original["rest_id"]]
    assert (after.text, after.like_count, after.created_at) == (before.text, before.like_count, before.created_at)


def test_entities_are_unescaped_exactly_once(search_payload):
    original = first_tweet_entry(search_payload)["content"]["itemContent"]["tweet_results"]["result"]
    tweet = copy.deepcopy(original)
    tweet.pop("note_tweet", None)
    tweet["legacy"]["full_text"] = "GM &amp; WAGMI &lt;3 — the literal text is &amp;amp; here"
    parsed = {t.id: t for t in parse_payload(with_first_result(search_payload, tweet)).tweets}[tweet["rest_id"]]
    assert parsed.text == "GM & WAGMI <3 — the literal text is &amp; here"


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (b"", "empty_body"),
        (b"<!DOCTYPE html><html><body>Something went wrong. Try reloading.</body></html>", "html_page"),
        (b'{"data": {"search_by_raw_query": {"search_timeline": {"timel', "truncated_json"),
        (b'{"errors": [{"message": "Rate limit exceeded", "code": 88}]}', "graphql_error"),
        (b'{"data": {"search_by_raw_query": {}}}', "no_timeline"),
        (b"[1, 2]", "not_a_json_object"),
        (b'{"hello": "world"}', "not_graphql"),
        (b'{"entryId": "who-to-follow-1", "content": {"items": []}}', "not_graphql"),
    ],
)
def test_unusable_responses_give_a_reason_instead_of_raising(body, failure):
    result = parse_body(body, "SearchTimeline")
    assert result.failure is not None and result.failure.startswith(failure)
    assert result.tweets == [] and result.failure_count == 1


def test_a_single_timeline_entry_is_still_parsed(search_payload):
    entries = search_payload["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"][0]["entries"]
    entry = next(e for e in entries if e["entryId"].startswith("tweet-"))
    result = parse_payload(entry, "SearchTimeline")
    assert result.failure is None and len(result.tweets) == 1


def test_truncated_real_capture_is_reported_not_raised():
    body = require_fixture("twscrape", "raw_user_tweets.json").read_bytes()
    result = parse_body(body[: len(body) // 2], "UserTweets")
    assert result.failure.startswith("truncated_json")
