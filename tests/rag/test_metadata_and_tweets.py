"""Chroma-safe metadata and names, and which tweets carry something to search for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from impressox_pipelines.rag.metadata import (
    InvalidCollectionName,
    check_collection_name,
    replacement,
    sanitize_metadata,
)
from impressox_pipelines.rag.store import open_collection
from impressox_pipelines.rag.tweets import skip_reason, tweet_nodes
from tests.helpers.rag import tweet_doc


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


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("impressox documents!", "contains ' ', '!'"),
        ("..a..b..", "start and end with a letter or digit"),
        ("a..b", "contains '..'"),
        ("x", "has 1 characters"),
        ("", "has no letter or digit"),
        ("!!!", "has no letter or digit"),
        ("n" * 513, "has 513 characters"),
        ("__tweets__", "start and end"),
        ("10.0.0.1", "IPv4"),
        ("ééékb", "contains 'é'"),
    ],
)
def test_invalid_collection_names_are_refused_with_the_rule_they_break(name, problem):
    with pytest.raises(InvalidCollectionName, match="collection name") as excinfo:
        check_collection_name(name)
    assert problem in str(excinfo.value)


def test_valid_collection_names_are_kept_as_they_are_even_at_chromas_limit():
    for name in ("impressox_documents", "kb-1.v2", "abc", "a" * 511 + "b"):
        assert check_collection_name(name) == name


def test_two_long_names_sharing_a_prefix_are_never_cut_into_one(chroma):
    client = chroma.get_client()
    first, second = "k" * 511 + "1", "k" * 511 + "2"
    assert open_collection(client, first, "m", 3).name == first
    assert open_collection(client, second, "m", 3).name == second
    with pytest.raises(InvalidCollectionName):
        open_collection(client, "k" * 600, "m", 3)
    assert len({c.name for c in client.list_collections()}) == 2


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_naming_the_key(value):
    with pytest.raises(ValueError, match="'view_count' is .*only finite numbers"):
        sanitize_metadata({"kind": "tweet", "view_count": value})


def test_a_tweet_with_a_non_finite_count_is_skipped_with_the_reason():
    nodes, _, skipped = tweet_nodes([tweet_doc("1", "Airdrop claim opens Monday", view_count=float("nan")),
                                     tweet_doc("2", "Airdrop claim closes Friday")])
    assert [n.node_id for n in nodes] == ["2"]
    assert "'view_count' is nan" in skipped[0].reason


def test_a_replacement_write_deletes_the_keys_the_new_metadata_lacks():
    assert replacement({"lang": "en", "hashtags": "arb", "kind": "tweet"}, {"kind": "tweet"}) == {
        "lang": None, "hashtags": None, "kind": "tweet"}
    assert replacement(None, {"kind": "tweet"}) == {"kind": "tweet"}


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


def _chunk(source: str, text: str):
    from impressox_pipelines.rag.retrieval import RetrievedChunk

    return RetrievedChunk(id=f"{source}#0", text=text, score=0.0, source=source, title="", collection="c")


def test_the_golden_check_counts_a_hit_only_for_the_answering_passage():
    from impressox_pipelines.rag.golden import GoldenQuestion, evaluate

    question = GoldenQuestion("When was the snapshot?", ("docs/airdrop.md",), "block  58642080")
    ranked = [_chunk("/kb/docs/airdrop.md", "The airdrop rewards early users."),  # right document, wrong passage
              _chunk("/kb/docs/other.md", "Snapshot at block 58642080."),  # right words, wrong document
              _chunk("/kb/docs/airdrop.md", "The snapshot was taken at Block\n58642080 on Arbitrum One.")]
    evaluation = evaluate([question], lambda q, k: ranked[:k], ["/kb/docs/airdrop.md"], k=3)
    assert [(r.hit, r.rank) for r in evaluation.results] == [(True, 3)] and evaluation.mrr == pytest.approx(1 / 3)
    assert evaluate([question], lambda q, k: ranked[:k], ["/kb/docs/airdrop.md"], k=2).hit_rate == 0.0
    assert evaluate([question], lambda q, k: ranked, ["/kb/docs/else.md"]).not_applicable == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- {question: 'Q?', sources: [a.md]}", "needs a question, sources and a phrase"),
        ("- {question: 'Q?', sources: [a.md], phrase: 58642080}", "must be a string"),
        ("- {question: 'Q?', sources: [a.md], phrase: 0x0a4b86}", "must be a string"),
    ],
)
def test_golden_entries_without_a_string_phrase_are_refused(tmp_path, entry, message):
    from impressox_pipelines.rag.golden import load_golden_questions

    path = tmp_path / "golden.yaml"
    path.write_text(entry + "\n")
    with pytest.raises(ValueError, match=message):
        load_golden_questions(path)
