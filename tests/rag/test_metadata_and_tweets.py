"""Chroma-safe metadata and names, and which tweets carry something to search for."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from impressox_pipelines.rag.metadata import sanitize_collection_name, sanitize_metadata
from impressox_pipelines.rag.tweets import skip_reason, tweet_nodes
from tests.rag.conftest import tweet_doc


def test_metadata_has_no_none_flat_lists_and_iso_plus_epoch_times():
    moment = datetime(2024, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    clean = sanitize_metadata({
        "a": None, "tags": ["btc", None, "eth"], "empty": [], "at": moment, "day": date(2024, 3, 1),
        "n": 3, "ok": True, "extra": {"k": 1},
    })
    assert clean == {
        "tags": "btc,eth", "at": "2024-03-01T12:30:00+00:00", "at_ts": int(moment.timestamp()),
        "day": "2024-03-01", "n": 3, "ok": True, "extra": '{"k":1}',
    }


CHROMA_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


@pytest.mark.parametrize(
    "name", ["impressox documents!", "..a..b..", "x", "__tweets__/2024", "10.0.0.1", "é" * 3 + "kb", "n" * 600]
)
def test_collection_names_follow_chromas_rules(name):
    cleaned = sanitize_collection_name(name)
    assert CHROMA_NAME.match(cleaned) and ".." not in cleaned
    assert not re.match(r"^\d{1,3}(\.\d{1,3}){3}$", cleaned)
    assert sanitize_collection_name(cleaned) == cleaned


def test_a_name_without_letters_is_refused():
    with pytest.raises(ValueError):
        sanitize_collection_name("!!!")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("🚀🚀🌕💎🙌", "only emoji or symbols, no words"),
        ("https://t.co/abc123 https://t.co/xyz", "only URLs (and mentions)"),
        ("@arbitrum https://t.co/abc123", "only URLs (and mentions)"),
        ("@arbitrum @OffchainLabs", "only mentions"),
        ("   ", "empty text"),
        ("$ARB airdrop claim is live 🚀 https://t.co/x", None),
        ("空投已经开始", None),
    ],
)
def test_tweets_without_words_are_skipped_with_a_reason(text, reason):
    assert skip_reason(text) == reason


def test_one_node_per_tweet_with_its_id_and_volatile_counts_apart():
    docs = [
        tweet_doc("1001", "Snapshot for the $ARB airdrop was taken at block 58642080", hashtags=["Arbitrum", "airdrop"],
                  like_count=5),
        tweet_doc("1002", "RT @arbitrum: Snapshot for the $ARB airdrop", retweeted_id="1001"),
        tweet_doc("1003", "🚀🚀🚀"),
    ]
    nodes, volatile, skipped = tweet_nodes(docs)
    assert [n.node_id for n in nodes] == ["1001"]
    meta = nodes[0].metadata
    assert meta["hashtags"] == "Arbitrum,airdrop" and meta["partition_date"] == "2024-03-01"
    assert meta["created_at"] == "2024-03-01T12:00:00+00:00" and meta["created_at_ts"] == int(
        datetime(2024, 3, 1, 12, tzinfo=UTC).timestamp())
    assert meta["source"] == "https://x.com/arbitrum/status/1001"
    assert "like_count" not in meta and volatile["1001"]["like_count"] == 5
    assert {s.reason for s in skipped} == {
        "retweet of 1001, whose original is embedded", "only emoji or symbols, no words"}
    # Engagement moves on every re-scrape; the text does not: the hash (what decides a re-embed) ignores counts.
    again, _, _ = tweet_nodes([{**docs[0], "like_count": 500}])
    assert again[0].hash == nodes[0].hash
