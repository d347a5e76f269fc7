"""Promoted tweets (ads): stored and flagged, but left out of airdrop scoring, embeddings and pagination
progress unless a switch includes them; a page of only promoted tweets ends pagination."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from impressox_pipelines.airdrops.detector import AirdropDetector
from impressox_pipelines.rag.tweets import tweet_nodes
from impressox_pipelines.x.models import Tweet
from impressox_pipelines.x.parser import parse_body
from impressox_pipelines.x.scrape import Page, PageRequest, scrape
from tests.helpers.paths import require_fixture
from tests.helpers.x import GOOD

AIRDROP = Tweet(id="1", author_id="9", author_handle="NovaChainHQ", author_name="NovaChain",
                created_at=datetime(2026, 3, 14, 12, tzinfo=UTC),
                text="🪂 The $NOVA airdrop is live! Eligible wallets can claim until March 30 at https://t.co/x "
                     "#airdrop", cashtags=["NOVA"], hashtags=["airdrop"], urls=["https://novachainhq.xyz/airdrop"])


def test_the_detector_skips_promoted_tweets_unless_switched_on():
    organic = AirdropDetector(scam_model=None).assess(AIRDROP)
    assert organic.keywords and organic.skipped is None
    ad = replace(AIRDROP, is_promoted=True)
    skipped = AirdropDetector(scam_model=None).assess(ad)
    assert skipped.score == 0 and not skipped.keywords and skipped.skipped.startswith("promoted tweet")
    included = AirdropDetector(scam_model=None, include_promoted=True).assess(ad)
    assert (included.keywords, included.score) == (organic.keywords, organic.score)


def test_promoted_tweets_are_not_embedded_unless_switched_on():
    docs = [AIRDROP.to_document(), {**replace(AIRDROP, id="2", is_promoted=True).to_document()}]
    nodes, _, skipped = tweet_nodes(docs)
    assert [n.id_ for n in nodes] == ["1"]
    assert [s.reason for s in skipped] == ["promoted tweet (an ad)"]
    nodes, _, skipped = tweet_nodes(docs, include_promoted=True)
    assert [n.id_ for n in nodes] == ["1", "2"] and not skipped


class Scripted:
    name = "scripted"

    def __init__(self, bodies: list[bytes]):
        self.bodies = bodies

    def pages(self, lease, request):
        for body in self.bodies:
            yield Page("SearchTimeline", "http://x/i/api/graphql/q/SearchTimeline", 200, body, {},
                       lease.account.username)

    def close(self):
        pass


@pytest.fixture(scope="module")
def pages() -> list[bytes]:
    """Page 1: raw_search.json as captured. Page 2: new tweet ids, every entry promoted, a new cursor."""
    first = json.loads(require_fixture("twscrape", "raw_search.json").read_bytes())
    second = copy.deepcopy(first)
    entries = second["data"]["search_by_raw_query"]["search_timeline"]["timeline"]["instructions"][0]["entries"]
    for entry in entries:
        item = entry["content"].get("itemContent")
        if item and item.get("__typename") == "TimelineTweet":
            item["promotedMetadata"] = {"advertiser_results": {"result": {"__typename": "User"}},
                                        "disclosureType": "NoDisclosure"}
        elif entry["content"].get("cursorType") == "Bottom":
            entry["content"]["value"] += "-page-2"
    text = json.dumps(second)
    for tweet in parse_body(json.dumps(first)).tweets:  # fresh ids everywhere, so nothing repeats page 1
        text = text.replace(f'"{tweet.id}"', f'"9{tweet.id[1:]}"')
    return [json.dumps(first).encode(), text.encode()]


def test_a_page_of_only_promoted_tweets_ends_pagination(pool_factory, pages):
    got = []
    outcome = scrape(PageRequest("SearchTimeline", raw_query="q"), pool_factory([GOOD]), Scripted(pages),
                     lambda page, result: got.append(result))
    assert outcome.pages == 2 and outcome.complete and outcome.stopped == "page brought no new tweets"
    # Every one of the 20 timeline entries is an ad; the tweets they quote are not ads, but not progress either.
    assert sum(t.is_promoted for t in got[1].tweets) == 20 and len(got[1].tweets) > 20
    assert outcome.reasons["promoted"] == 20  # stored and counted, just not progress


def test_the_switch_counts_promoted_tweets_as_progress(pool_factory, pages):
    outcome = scrape(PageRequest("SearchTimeline", raw_query="q"), pool_factory([GOOD]), Scripted(pages),
                     lambda page, result: None, count_promoted=True)
    assert outcome.pages == 2 and not outcome.complete and outcome.stopped == "no further response"
