"""The RAG assets materialized with real resources: the real documents in ../shared/fixtures/rag_docs,
documents added by backend events, tweets of a partition, the golden-question check and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from impressox_pipelines.assets.rag import (
    HIT_RATE_THRESHOLD,
    document_embeddings,
    golden_questions_hit_rate,
    knowledge_documents,
    tweet_embeddings,
)
from impressox_pipelines.events.backend import publish_event
from impressox_pipelines.rag.retrieval import RetrievedChunk, retrieve
from impressox_pipelines.stores import DOCUMENT_VECTORS_COLLECTION, TWEET_VECTORS_COLLECTION
from tests.helpers.events import apply_published_events
from tests.helpers.paths import require_fixture
from tests.helpers.rag import asset_metadata, materialize_documents, tweet_doc


def ask(kb: dict, question: str, k: int = 5, **filters):
    resources = kb["resources"]
    return retrieve(question, k, filters or None, client=resources["chroma"].get_client(),
                    model=resources["embedding_model"].get_model(), redis=resources["redis"].get_client())


def test_real_documents_and_evented_documents_are_ingested(fixture_kb):
    docs = asset_metadata(fixture_kb["first"], "knowledge_documents")
    files = [p for p in fixture_kb["folder"].rglob("*") if p.is_file()]
    assert docs["documents"] == len(files) - 1 + 3  # every real file but LICENSE (no extension) + 3 built-in
    assert docs["skipped"] == 1 and "LICENSE" in docs["skipped_reasons"]
    assert docs["added_by_events"] == 3 and docs["new"] == docs["documents"]
    emb = asset_metadata(fixture_kb["first"], "document_embeddings")
    assert emb["chunks"] == emb["embedded"] == emb["collection_size"] > 300
    assert emb["documents"] == docs["documents"] and emb["skipped_unchanged"] == 0
    assert emb["seconds_per_100_chunks"] > 0
    assert emb["model"] == "all-MiniLM-L6-v2 (384 dimensions)"


def test_rematerializing_unchanged_documents_embeds_nothing(fixture_kb):
    first = asset_metadata(fixture_kb["first"], "document_embeddings")
    second = asset_metadata(fixture_kb["second"], "document_embeddings")
    assert second["embedded"] == 0 and second["deleted"] == 0
    assert second["skipped_unchanged"] == first["chunks"] == second["collection_size"]
    again = asset_metadata(fixture_kb["second"], "knowledge_documents")
    assert again["added_by_events"] == 3 and again["new"] == again["changed"] == 0


@pytest.mark.parametrize(
    ("question", "source", "phrase"),
    [
        ("At which block was the Arbitrum airdrop snapshot taken?", "airdrop-eligibility-distribution.md",
         "58642080"),
        ("How does a timestamp server prove that data existed?", "bitcoin.md", "timestamp server"),
        ("What is Bob's Cafe and how does it accept bitcoin?", "ch02.asciidoc", "Bob's Cafe"),
        ("What are mnemonic code words?", "ch05.asciidoc", "mnemonic"),
        ("How do I avoid a wallet drainer when claiming an airdrop?", "builtin_docs/airdrops-and-scams.md", "drainer"),
    ],
)
def test_specific_questions_return_the_right_passage(fixture_kb, question, source, phrase):
    chunks = ask(fixture_kb, question, k=3)
    assert any(c.source.endswith(source) and phrase.lower() in c.text.lower() for c in chunks), [
        (c.source, c.text[:80]) for c in chunks]
    assert chunks == sorted(chunks, key=lambda c: c.score, reverse=True)
    assert all(c.metadata["kind"] == "document" and c.title and "modified_at_ts" in c.metadata for c in chunks)


def test_filters_restrict_retrieval(fixture_kb):
    only_glossary = ask(fixture_kb, "What is a UTXO?", k=5, file_type="asciidoc", title="Quick Glossary")
    assert only_glossary and all(c.source.endswith("glossary.asciidoc") for c in only_glossary)
    with pytest.raises(ValueError, match="blank"):
        ask(fixture_kb, "   ")


def test_golden_questions_check_passes_on_the_real_documents(fixture_kb):
    result = dg.materialize([document_embeddings, golden_questions_hit_rate], resources=fixture_kb["resources"],
                            selection=dg.AssetSelection.checks(golden_questions_hit_rate))
    [evaluation] = result.get_asset_check_evaluations()
    meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
    assert evaluation.passed, meta["results"]
    assert meta["hit_rate_at_5"] >= HIT_RATE_THRESHOLD and meta["questions"] >= 40 and meta["not_applicable"] == 0
    assert 0 < meta["mrr"] <= meta["hit_rate_at_5"]


def test_every_golden_phrase_is_in_a_passage_of_its_documents(fixture_kb):
    """A phrase that no passage holds (a typo, a chunk-spanning quote) would be a miss whatever retrieval did."""
    from impressox_pipelines.rag.golden import load_golden_questions

    stored = fixture_kb["resources"]["chroma"].get_client().get_collection(DOCUMENT_VECTORS_COLLECTION).get(
        include=["documents", "metadatas"])
    chunks = [RetrievedChunk(id=i, text=t, score=0.0, source=m["source"], title="",
                             collection=DOCUMENT_VECTORS_COLLECTION)
              for i, t, m in zip(stored["ids"], stored["documents"], stored["metadatas"], strict=True)]
    questions = load_golden_questions()
    assert len(questions) >= 40
    unanswerable = [q.question for q in questions if not any(q.answers(chunk) for chunk in chunks)]
    assert unanswerable == []


def test_cli_query_prints_passages_and_json_lines(fixture_kb, monkeypatch):
    from impressox_pipelines.cli import app

    monkeypatch.setenv("IMPRESSOX_DATA_DIR", fixture_kb["resources"]["chroma"].data_dir)
    runner = CliRunner()
    result = runner.invoke(app, ["rag", "query", "What is the initial supply of $ARB?", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 3 and all({"score", "source", "text", "metadata"} <= set(line) for line in lines)
    text = runner.invoke(app, ["rag", "query", "Who created bitcoin?"])
    assert text.exit_code == 0 and text.output.startswith("1. [") and "Satoshi" in text.output


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_embedded(tmp_path, rag_resources):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("# Bridging\n\nWithdrawals from Arbitrum One to Ethereum take about seven days.\n")
    (folder / "empty.md").write_bytes(b"")
    (folder / "junk.md").write_bytes(bytes(range(256)) * 32)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<" + b"\x00\xff" * 100)
    (folder / "one-line.txt").write_bytes(b"token " * 900_000)
    (folder / "legacy.txt").write_bytes("Caf\u00e9 payments settle in \u20ac.".encode("cp1252"))
    result = materialize_documents(rag_resources, folder)
    docs = asset_metadata(result, "knowledge_documents")
    assert (docs["documents"], docs["skipped"]) == (2, 4)
    for name, reason in [("empty.md", "empty file"), ("junk.md", "binary content"),
                         ("broken.pdf", "PDF could not be parsed"), ("one-line.txt", "byte limit")]:
        assert name in docs["skipped_reasons"] and reason in docs["skipped_reasons"]
    assert "Windows-1252" in docs["handled_with_notes"]
    emb = asset_metadata(result, "document_embeddings")
    assert emb["documents"] == 2 and emb["embedded"] == emb["chunks"] >= 2


def test_document_events_add_files_and_bad_events_are_reported(tmp_path, rag_resources):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "base.md").write_text("# Base\n\nThe knowledge base starts with this document.\n")
    fetched = tmp_path / "fetched" / "points.html"
    fetched.parent.mkdir()
    fetched.write_text("<html><head><title>Points program</title></head><body>"
                       "<p>Points convert into tokens at the airdrop, one token per hundred points.</p></body></html>")
    client = rag_resources["redis"].get_client()
    publish_event(client, "document.added", {"path": str(fetched), "url": "https://example.org/points"})
    publish_event(client, "document.added", {"url": "https://example.org/not-fetched"})
    publish_event(client, "document.added", {"path": str(tmp_path / "missing.md")})
    publish_event(client, "rule.created", {"rule_id": "r1"})  # another field's event
    client.xadd("impressox:events", {"type": "document.added", "data": "{not json"})
    report = apply_published_events(rag_resources["redis"], rag_resources["mongo"])
    assert report.by_type == {"document.added": 2, "rule.created": 1}
    reasons = " | ".join(report.dead_letters.values())
    assert len(report.dead_letters) == 2 and "the backend must fetch" in reasons and "not JSON" in reasons
    result = materialize_documents(rag_resources, folder)
    docs = asset_metadata(result, "knowledge_documents")
    assert docs["documents"] == 2 and docs["added_by_events"] == 2 and docs["skipped"] == 1
    assert "cannot read file" in docs["skipped_reasons"]
    [hit] = retrieve("How many points per token?", 1, client=rag_resources["chroma"].get_client(),
                     model=rag_resources["embedding_model"].get_model(), redis=rag_resources["redis"].get_client(),
                     collections=[DOCUMENT_VECTORS_COLLECTION])
    assert hit.source == "https://example.org/points" and hit.title == "Points program"
    assert hit.metadata["url"] == "https://example.org/points"

    fetched.unlink()  # the backend's file is gone: its vectors go too
    again = materialize_documents(rag_resources, folder)
    assert asset_metadata(again, "knowledge_documents")["removed"] == 1
    assert asset_metadata(again, "document_embeddings")["deleted"] >= 1


def test_a_model_mismatch_fails_the_materialization_clearly(tmp_path, rag_resources):
    from impressox_pipelines.rag.store import open_collection

    open_collection(rag_resources["chroma"].get_client(), DOCUMENT_VECTORS_COLLECTION, "all-mpnet-base-v2", 768)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome text about tokens.\n")
    from impressox_pipelines.assets.rag import document_embeddings

    result = dg.materialize([knowledge_documents, document_embeddings], resources=rag_resources,
                            run_config={"ops": {"knowledge_documents": {"config": {"folder": str(folder)}}}},
                            raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.cause.message
    assert "EmbeddingModelMismatch" in message and "re-embed" in message and "all-mpnet-base-v2" in message


JANITR = "janitr_x_posts/sample.jsonl"


def _real_tweets(count: int, day: str) -> list[dict]:
    rows = [json.loads(line) for line in require_fixture(*JANITR.split("/")).read_text().splitlines()[:count]]
    return [tweet_doc(f"9{i:05d}", row["text"], day=day, author_handle="janitr_sample") for i, row in enumerate(rows)]


def test_tweets_of_a_partition_are_embedded_once_and_partitions_do_not_collide(rag_resources):
    tweets = rag_resources["mongo"].get_database()["tweets"]
    day1, day2 = "2024-03-01", "2024-03-02"
    docs = _real_tweets(60, day1) + [
        tweet_doc("5001", "The $ARB airdrop snapshot was taken at block 58642080 on Arbitrum One", day=day1,
                  hashtags=["arbitrum"], like_count=10),
        tweet_doc("5002", "🚀🚀🌕💎", day=day1),
        tweet_doc("5003", "https://t.co/AbCdEf https://t.co/GhIjKl", day=day1),
        tweet_doc("6001", "Optimism governance vote on the new grants program opens today", day=day2),
    ]
    tweets.insert_many(docs)

    def run(day):
        result = dg.materialize([tweet_embeddings], partition_key=day, resources=rag_resources)
        return asset_metadata(result, "tweet_embeddings")

    first = run(day1)
    assert (first["tweets"], first["embedded"]) == (63, first["chunks"])
    assert first["skipped"] >= 2
    assert "only emoji" in first["skipped_reasons"] and "only URLs" in first["skipped_reasons"]
    assert run(day2)["embedded"] == 1
    again = run(day1)  # the other partition's run must not have deleted day 1's tweets, nor this one day 2's
    assert (again["embedded"], again["deleted"], again["skipped_unchanged"]) == (0, 0, first["chunks"])

    tweets.update_one({"_id": "5001"}, {"$set": {"like_count": 999}})  # engagement only: no re-embed
    tweets.update_one({"_id": "6001"}, {"$set": {"text": "Optimism grants vote closes tomorrow"}})
    tweets.delete_one({"_id": "900000"})
    after = run(day1)
    assert (after["embedded"], after["deleted"]) == (0, 1)  # the deleted tweet's vector goes; counts re-embed nothing
    changed = run(day2)
    assert (changed["embedded"], changed["deleted"], changed["skipped_unchanged"]) == (1, 0, 0)
    client, model = rag_resources["chroma"].get_client(), rag_resources["embedding_model"].get_model()
    redis = rag_resources["redis"].get_client()
    assert client.get_collection(TWEET_VECTORS_COLLECTION).get(ids=["900000"])["ids"] == []
    [hit] = retrieve("airdrop snapshot block", 1, {"kind": "tweet"}, client=client, model=model, redis=redis,
                     collections=[TWEET_VECTORS_COLLECTION])
    assert hit.id == "5001" and hit.source == "https://x.com/arbitrum/status/5001"
    assert hit.metadata["like_count"] == 10  # counts as of the last embed
    [vote] = retrieve("grants vote", 1, {"partition_date": day2}, client=client, model=model, redis=redis,
                      collections=[TWEET_VECTORS_COLLECTION])
    assert vote.text == "Optimism grants vote closes tomorrow"


def test_airdrops_mode_embeds_only_tweets_behind_opportunities(rag_resources):
    db = rag_resources["mongo"].get_database()
    day = "2024-04-01"
    db["tweets"].insert_many([
        tweet_doc("7001", "Claim window for the ZK airdrop opens on Monday, check eligibility on the site", day=day),
        tweet_doc("7002", "Send 1 ETH and receive 2 ETH back, airdrop bonus", day=day),
        tweet_doc("7003", "Lovely weather in Lisbon for the conference", day=day),
    ])
    db["airdrop_opportunities"].insert_many([
        {"_id": f"{day}:zk", "partition_date": day, "scam_flag": False, "source_tweet_ids": ["7001"]},
        {"_id": f"{day}:scam", "partition_date": day, "scam_flag": True, "source_tweet_ids": ["7002"]},
    ])
    result = dg.materialize([tweet_embeddings], partition_key=day, resources=rag_resources,
                            run_config={"ops": {"tweet_embeddings": {"config": {"tweets": "airdrops"}}}})
    meta = asset_metadata(result, "tweet_embeddings")
    assert (meta["tweets"], meta["embedded"], meta["selection"]) == (1, 1, "airdrops")
    ids = rag_resources["chroma"].get_client().get_collection(TWEET_VECTORS_COLLECTION).get()["ids"]
    assert ids == ["7001"]


def test_rag_definitions_are_registered(tmp_path):
    from impressox_pipelines.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    for key in ("knowledge_documents", "document_embeddings", "tweet_embeddings"):
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == "rag"
    assert graph.get(dg.AssetKey("tweet_embeddings")).partitions_def is not None
    assert dg.AssetKey("raw_tweets") in graph.get(dg.AssetKey("tweet_embeddings")).parent_keys
    assert "embedding_model" in defs.resources
    assert Path(defs.resources["embedding_model"].get_model().path).is_dir()
