"""Hybrid retrieval over real Chroma, real Redis and the real model: exact crypto terms found by BM25, the
two rankings fused, filters applied alike, and bad queries refused with a reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from impressox_pipelines.assets.rag import tweet_embeddings
from impressox_pipelines.rag.keywords import KeywordIndex, tokenize
from impressox_pipelines.rag.retrieval import (
    MAX_QUERY_CHARS,
    Candidate,
    Fusion,
    fuse,
    retrieve,
)
from impressox_pipelines.stores import TWEET_VECTORS_COLLECTION
from tests.helpers.rag import asset_metadata, tweet_doc

ADDRESS = "0x912CE59144191C1204E64559FE8253a0e49E6548"
DAY = "2024-03-16"
TWEETS = [
    ("8001", f"The ARB token contract on Arbitrum One is {ADDRESS}, verify it before adding it to your wallet"),
    ("8002", "$ARB claims open on 2023-03-23 at block 16890400; unclaimed tokens go to the DAO treasury"),
    ("8003", "$OP second airdrop rewarded delegates and active governance voters"),
    ("8004", "Gas fees on layer 2 rollups stay low because transactions are posted to Ethereum in batches"),
    ("8005", "Follow @OffchainLabs for updates on the Nitro upgrade and Stylus"),
    ("8006", "Token unlock schedules matter: a large cliff can push the price down when insiders sell"),
]


@pytest.fixture
def tweets_kb(rag_resources) -> dict:
    rag_resources["mongo"].get_database()["tweets"].insert_many(
        [tweet_doc(tweet_id, text, day=DAY, author_handle="cryptonews") for tweet_id, text in TWEETS])
    result = dg.materialize([tweet_embeddings], partition_key=DAY, resources=rag_resources)
    assert asset_metadata(result, "tweet_embeddings")["embedded"] == len(TWEETS)
    return rag_resources


def ask(resources: dict, query: str, k: int = 3, filters=None, **kwargs):
    return retrieve(query, k, filters, client=resources["chroma"].get_client(),
                    model=resources["embedding_model"].get_model(), redis=resources["redis"].get_client(),
                    collections=[TWEET_VECTORS_COLLECTION], **kwargs)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("$ARB to the moon", ["$arb", "arb", "moon"]),
        (f"send to {ADDRESS}!", ["send", ADDRESS.lower()]),
        ("thanks @OffchainLabs.", ["thank", "@offchainlabs", "offchainlab"]),
        ("snapshot at block 58,642,080 on 2023-03-23 (23/03/2023)", ["snapshot", "block", "58642080", "2023-03-23",
                                                                       "23/03/2023"]),
        ("inflation capped at 2% and 0.5 ETH fees", ["inflat", "cap", "2%", "0.5", "eth", "fee"]),
        ("mail me@example.com, items 1,2", ["mail", "me", "exampl", "com", "item", "1", "2"]),
        ("the of and 🚀🚀", []),
    ],
)
def test_the_tokenizer_keeps_tickers_addresses_handles_numbers_and_dates_whole(text, tokens):
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ADDRESS, "8001"),  # only an address: no meaning for the embedding, an exact token for BM25
        (ADDRESS.lower(), "8001"),
        ("$ARB", "8002"),  # only a ticker
        ("16890400", "8002"),
        ("2023-03-23", "8002"),
        ("@OffchainLabs", "8005"),
    ],
)
def test_a_query_of_only_an_exact_term_finds_its_post(tweets_kb, query, expected):
    assert ask(tweets_kb, query)[0].id == expected
    assert ask(tweets_kb, query, mode="keyword")[0].id == expected


def test_hybrid_fuses_both_rankings_and_says_which_side_found_each_passage(tweets_kb):
    hits = ask(tweets_kb, "Why are fees cheap on rollups?", k=6)
    assert hits[0].id == "8004" and hits[0].dense_score is not None and hits[0].keyword_score is not None
    assert hits == sorted(hits, key=lambda h: h.score, reverse=True)
    dense = ask(tweets_kb, "Why are fees cheap on rollups?", mode="dense")
    assert dense[0].id == "8004" and dense[0].score == dense[0].dense_score and dense[0].keyword_score is None
    weighted = ask(tweets_kb, "Why are fees cheap on rollups?", fusion=Fusion("weighted", dense_weight=0.7))
    assert weighted[0].id == "8004" and 0 < weighted[0].score <= 1.0


def test_a_query_without_keyword_tokens_falls_back_to_dense(tweets_kb):
    hits = ask(tweets_kb, "the of and 🚀")
    assert hits and all(h.keyword_score is None for h in hits)
    assert ask(tweets_kb, "the of and 🚀", mode="keyword") == []


def test_filters_apply_to_both_retrievers(tweets_kb):
    hits = ask(tweets_kb, "$ARB", k=5, filters={"tweet_id": ["8001", "8003"]})
    assert {h.id for h in hits} <= {"8001", "8003"} and hits
    assert ask(tweets_kb, "$ARB", filters={"partition_date": "2024-01-01"}) == []


@pytest.mark.parametrize(
    ("query", "filters", "message"),
    [
        ("", None, "blank"),
        ("   \n", None, "blank"),
        ("airdrop " * 1250, None, f"at most {MAX_QUERY_CHARS:,}"),
        ("caf\udce9 airdrop", None, "not valid UTF-8"),
        ("airdrop", {"colour": "red"}, "'colour'"),
        ("airdrop", {"$or": [{"kind": "tweet"}, {"nonexistent_field": 1}]}, "'nonexistent_field'"),
    ],
)
def test_bad_queries_and_filters_are_refused_with_a_reason(tweets_kb, query, filters, message):
    with pytest.raises(ValueError, match=message):
        ask(tweets_kb, query, filters=filters)


def test_a_query_of_exactly_the_limit_is_answered(tweets_kb):
    query = ("$ARB claims " * 200)[:MAX_QUERY_CHARS]
    assert ask(tweets_kb, query)[0].id == "8002"


def test_deleted_tweets_leave_the_keyword_index_too(tweets_kb):
    tweets_kb["mongo"].get_database()["tweets"].delete_one({"_id": "8001"})
    again = dg.materialize([tweet_embeddings], partition_key=DAY, resources=tweets_kb)
    assert asset_metadata(again, "tweet_embeddings")["deleted"] == 1
    assert all(h.id != "8001" for h in ask(tweets_kb, ADDRESS, k=5, mode="keyword"))
    assert ADDRESS.lower() not in json.dumps(tweets_kb["redis"].get_client().hgetall(
        f"impressox:rag:{TWEET_VECTORS_COLLECTION}/keyword_tokens"))


def test_reciprocal_rank_fusion_rewards_agreement():
    def dense(*ids):
        return [Candidate("c", i, i, {}, dense_score=0.9 - n / 10) for n, i in enumerate(ids)]

    def keyword(*ids):
        return [Candidate("c", i, i, {}, keyword_score=10.0 - n) for n, i in enumerate(ids)]

    fused = fuse(dense("a", "b", "c"), keyword("d", "b", "e"), Fusion())
    order = [c.id for c, _ in fused]
    assert order == ["b", "a", "d", "c", "e"]  # b, 2nd in both (2/62), beats each list's first (1/61)
    assert fused[0][1] == pytest.approx(2 / 62) and fused[1][1] == pytest.approx(1 / 61)
    weighted = fuse(dense("a", "b", "c"), keyword("d", "b", "e"), Fusion("weighted", dense_weight=1.0))
    assert [c.id for c, _ in weighted][:2] == ["a", "b"]  # all weight on the dense side


def test_an_empty_keyword_index_finds_nothing():
    assert KeywordIndex([], []).search(["arb"], 5) == []


def test_rag_query_on_an_empty_store_answers_without_loading_a_model(tmp_path: Path):
    script = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from impressox_pipelines.cli import app\n"
        "result = CliRunner().invoke(app, ['rag', 'query', 'When is the ARB snapshot?'])\n"
        "print(json.dumps({'code': result.exit_code, 'output': result.output,\n"
        "                  'loaded': sorted(m for m in ('torch', 'sentence_transformers', 'transformers')\n"
        "                                   if m in sys.modules)}))\n"
    )
    env = {**__import__("os").environ, "IMPRESSOX_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0 and "knowledge base is empty" in report["output"]
    assert report["loaded"] == []


def test_documents_of_only_tables_or_only_code_are_ingested_and_found_by_their_exact_terms(tmp_path, rag_resources):
    from impressox_pipelines.stores import DOCUMENT_VECTORS_COLLECTION
    from tests.helpers.rag import materialize_documents

    folder = tmp_path / "docs"
    folder.mkdir()
    rows = "\n".join(f"| ${ticker} | 0x{n:040x} | {n * 1000:,} |" for n, ticker in enumerate(
        ["ARB", "OP", "ZK", "STRK", "BLAST", "ENA"], start=1))
    (folder / "tokens.md").write_text(f"| ticker | contract | supply |\n|---|---|---|\n{rows}\n")
    (folder / "claim.md").write_text("```solidity\nfunction claim(bytes32[] calldata proof) external {\n"
                                     "    require(!claimed[msg.sender], \"already claimed\");\n}\n```\n")
    result = materialize_documents(rag_resources, folder)
    meta = asset_metadata(result, "knowledge_documents")
    assert (meta["documents"], meta["skipped"]) == (2, 0)
    ask_docs = dict(client=rag_resources["chroma"].get_client(), model=rag_resources["embedding_model"].get_model(),
                    redis=rag_resources["redis"].get_client(), collections=[DOCUMENT_VECTORS_COLLECTION])
    [strk] = retrieve(f"0x{4:040x}", 1, **ask_docs)
    assert strk.source.endswith("tokens.md") and "$STRK" in strk.text
    [code] = retrieve("already claimed", 1, **ask_docs)
    assert code.source.endswith("claim.md") and "msg.sender" in code.text


def test_a_collection_built_by_another_model_stops_hybrid_retrieval_with_the_way_out(rag_resources):
    from impressox_pipelines.rag.store import EmbeddingModelMismatch, open_collection

    other = open_collection(rag_resources["chroma"].get_client(), TWEET_VECTORS_COLLECTION, "all-mpnet-base-v2", 3)
    other.add(ids=["1"], embeddings=[[0.1, 0.2, 0.3]], documents=["$ARB"], metadatas=[{"kind": "tweet"}])
    with pytest.raises(EmbeddingModelMismatch, match="impressox rag reset impressox_tweets"):
        ask(rag_resources, "$ARB")


def test_the_cli_refuses_bad_queries_and_names_with_a_reason(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from impressox_pipelines.cli import app

    monkeypatch.setenv("IMPRESSOX_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    blank = runner.invoke(app, ["rag", "query", "  "])
    assert blank.exit_code == 2 and "must not be blank" in blank.output
    long = runner.invoke(app, ["rag", "query", "x" * 10_000])
    assert long.exit_code == 2 and "10,000 characters" in long.output
    bad_name = runner.invoke(app, ["rag", "reset", "n" * 600, "--yes"])
    assert bad_name.exit_code == 2 and "600 characters" in bad_name.output
