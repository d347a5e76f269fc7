"""Retrieval the agent can trust: posts the real airdrop detector flags are left out unless asked for (then
marked with the reasons), a changed decision reaches the vector without a re-embed, and a re-ingested
record carries exactly its new metadata."""

from __future__ import annotations

import dagster as dg
import pytest
from typer.testing import CliRunner

from impressox_pipelines.assets.airdrops import airdrop_opportunities
from impressox_pipelines.assets.rag import tweet_embeddings
from impressox_pipelines.rag.retrieval import retrieve
from impressox_pipelines.rag.scam import SCAM_KEYS, scam_decisions
from impressox_pipelines.stores import TWEET_VECTORS_COLLECTION
from tests.helpers.rag import asset_metadata, tweet_doc

DAY = "2024-06-11"
SCAM = ("9101", "$ZK airdrop is live! Claim your tokens now before it ends: https://zksync-claim.xyz connect your "
                "wallet to verify eligibility", "zk_rewards_bot")
ADVICE = ("9102", "How to recognise an airdrop scam: official claims are only announced by the project account, "
                  "never by a reply with a link", "arbitrum")
OTHER = ("9103", "Gas fees on rollups stay low because transactions are posted to Ethereum in batches", "arbitrum")
# No airdrop keyword: the detector flags it, but airdrop_opportunities stores only keyword candidates.
RECOVERY = ("9104", "Lost access to your wallet? DM me your seed phrase and our recovery service will restore it "
                    "in minutes", "helpdesk_web3")
QUESTION = "Where do I claim the ZK airdrop?"


def _materialize(resources: dict, assets: list, **config) -> dict:
    run_config = {"ops": {"airdrop_opportunities": {"config": config}}} if config else None
    result = dg.materialize(assets, partition_key=DAY, resources=resources, run_config=run_config)
    return asset_metadata(result, "tweet_embeddings") if tweet_embeddings in assets else {}


@pytest.fixture
def assessed(rag_resources) -> dict:
    """The day's tweets assessed by the real `airdrop_opportunities` asset, then embedded."""
    rag_resources["mongo"].get_database()["tweets"].insert_many(
        [tweet_doc(i, text, day=DAY, author_handle=handle) for i, text, handle in (SCAM, ADVICE, OTHER, RECOVERY)])
    rag_resources["first"] = _materialize(rag_resources, [airdrop_opportunities, tweet_embeddings])
    return rag_resources


def ask(resources: dict, question: str = QUESTION, **kwargs):
    return retrieve(question, 3, client=resources["chroma"].get_client(), redis=resources["redis"].get_client(),
                    model=resources["embedding_model"].get_model(), collections=[TWEET_VECTORS_COLLECTION], **kwargs)


def stored(resources: dict, tweet_id: str) -> dict:
    collection = resources["chroma"].get_client().get_collection(TWEET_VECTORS_COLLECTION)
    found = collection.get(ids=[tweet_id], include=["metadatas", "embeddings"])
    return {**found["metadatas"][0], "_embedding": list(found["embeddings"][0])}


def test_the_flagged_post_carries_the_detectors_decision(assessed):
    first = assessed["first"]
    assert (first["embedded"], first["scam_flagged"], first["scam_assessed_here"]) == (4, 2, 2)
    meta = stored(assessed, SCAM[0])
    assert meta["scam_flag"] is True and meta["scam_risk"] >= 1.0 and 0.35 <= meta["scam_probability"] <= 1.0
    assert "unofficial_claim_link" in meta["scam_reasons"]
    assert stored(assessed, ADVICE[0])["scam_flag"] is False and stored(assessed, OTHER[0])["scam_flag"] is False
    opportunities = assessed["mongo"].get_database()["airdrop_opportunities"]
    assert opportunities.count_documents({"source_tweet_ids": RECOVERY[0]}) == 0  # stored nowhere…
    recovery = stored(assessed, RECOVERY[0])  # …yet its vector carries the detector's decision
    assert recovery["scam_flag"] is True and "seed_phrase_request" in recovery["scam_reasons"]


def test_a_flagged_post_without_airdrop_words_is_left_out_too(assessed):
    question = "I lost access to my wallet, who can help me recover it?"
    assert RECOVERY[0] not in {hit.id for hit in ask(assessed, question)}
    [hit] = [h for h in ask(assessed, question, include_flagged=True) if h.id == RECOVERY[0]]
    assert hit.flagged and any(reason.startswith("seed_phrase_request: ") for reason in hit.flag_reasons)


def test_a_flagged_post_is_left_out_by_default_and_shown_marked_when_asked_for(assessed):
    default = ask(assessed)
    assert default and SCAM[0] not in {hit.id for hit in default} and not any(hit.flagged for hit in default)
    with_flagged = ask(assessed, include_flagged=True)
    [scam] = [hit for hit in with_flagged if hit.id == SCAM[0]]
    assert with_flagged[0].id == SCAM[0]  # the best match for the question, which is why it must be marked
    assert scam.flagged and any(reason.startswith("lookalike_link: ") for reason in scam.flag_reasons)
    assert scam.to_dict()["flagged"] is True and scam.to_dict()["flag_reasons"] == scam.flag_reasons


def test_the_cli_hides_flagged_posts_and_marks_them_with_include_flagged(assessed, monkeypatch):
    from impressox_pipelines.cli import app

    monkeypatch.setenv("IMPRESSOX_DATA_DIR", assessed["chroma"].data_dir)
    runner = CliRunner()
    hidden = runner.invoke(app, ["rag", "query", QUESTION, "--kind", "tweet"])
    assert hidden.exit_code == 0, hidden.output
    assert f"/status/{SCAM[0]}" not in hidden.output and "FLAGGED" not in hidden.output
    shown = runner.invoke(app, ["rag", "query", QUESTION, "--kind", "tweet", "--include-flagged"])
    assert shown.exit_code == 0, shown.output
    first = shown.output.split("\n2. ")[0]
    assert f"/status/{SCAM[0]}" in first and "⚠ FLAGGED AS A SCAM (risk" in first
    assert "unofficial_claim_link" in first and "model probability" in first


def test_a_changed_decision_reaches_the_vector_without_re_embedding(assessed):
    before = stored(assessed, SCAM[0])
    # Re-assessed with the rules alone and a threshold nothing reaches: the post is no longer flagged.
    rerun = _materialize(assessed, [airdrop_opportunities, tweet_embeddings], scam_model_file="none",
                         scam_flag_threshold=100.0)
    # Both stored posts changed (the advice post lost its model probability): rewritten, not re-embedded.
    # The recovery post is not stored by airdrop_opportunities: tweet_embeddings' own default still flags it.
    assert (rerun["embedded"], rerun["refreshed"], rerun["scam_flagged"]) == (0, 2, 1)
    after = stored(assessed, SCAM[0])
    assert after["scam_flag"] is False and "scam_probability" not in after  # no model: no probability
    assert after["_embedding"] == before["_embedding"]
    assert SCAM[0] in {hit.id for hit in ask(assessed)}

    # The stored decisions gone (e.g. the day re-assessed later), the detector's own decision applies.
    assessed["mongo"].get_database()["airdrop_opportunities"].delete_many({})
    back = _materialize(assessed, [tweet_embeddings])
    assert (back["embedded"], back["refreshed"], back["scam_flagged"]) == (0, 2, 2)  # the scam and the recovery
    assert stored(assessed, SCAM[0])["scam_flag"] is True and set(SCAM_KEYS) <= set(stored(assessed, SCAM[0]))
    assert _materialize(assessed, [tweet_embeddings])["refreshed"] == 0

    # Retrained / re-thresholded for the posts tweet_embeddings assesses itself: its config says how.
    lenient = dg.materialize([tweet_embeddings], partition_key=DAY, resources=assessed, run_config={"ops": {
        "tweet_embeddings": {"config": {"scam_model_file": "none", "scam_flag_threshold": 100.0}}}})
    meta = asset_metadata(lenient, "tweet_embeddings")
    assert (meta["embedded"], meta["refreshed"], meta["scam_flagged"]) == (0, 4, 0)
    assert stored(assessed, RECOVERY[0])["scam_flag"] is False


def test_a_reingested_tweet_carries_exactly_its_new_metadata(rag_resources):
    tweets = rag_resources["mongo"].get_database()["tweets"]
    tweets.insert_one(tweet_doc("9201", "Arbitrum Stylus brings Rust contracts to the chain", day=DAY,
                                hashtags=["arbitrum", "stylus"], lang="en", like_count=3))
    _materialize(rag_resources, [tweet_embeddings])
    assert {"hashtags", "lang", "like_count"} <= set(stored(rag_resources, "9201"))
    tweets.update_one({"_id": "9201"}, {"$set": {"hashtags": [], "lang": None}, "$unset": {"like_count": ""}})
    again = _materialize(rag_resources, [tweet_embeddings])
    assert again["embedded"] == 1
    meta = stored(rag_resources, "9201")
    assert not {"hashtags", "lang", "like_count"} & set(meta)
    assert retrieve("Stylus", 1, {"hashtags": "arbitrum,stylus"}, client=rag_resources["chroma"].get_client(),
                    model=rag_resources["embedding_model"].get_model(), redis=rag_resources["redis"].get_client(),
                    collections=[TWEET_VECTORS_COLLECTION]) == []


def test_decisions_take_the_flagged_document_and_refuse_non_finite_numbers():
    docs = [
        {"_id": "a", "scam_flag": False, "scam_risk": 0.4, "source_tweet_ids": ["1", "2"]},
        {"_id": "b", "scam_flag": True, "scam_risk": 1.2, "scam_probability": 0.8, "source_tweet_ids": ["2"],
         "scam_reasons": [{"signal": "risky_tld", "weight": 0.3, "detail": "x.xyz"},
                          {"signal": "official", "weight": -0.5, "detail": "lowers risk"}]},
    ]
    decisions = scam_decisions(docs)
    assert decisions["1"] == {"scam_flag": False, "scam_risk": 0.4}
    assert decisions["2"] == {"scam_flag": True, "scam_risk": 1.2, "scam_probability": 0.8,
                              "scam_reasons": "risky_tld: x.xyz"}
    with pytest.raises(ValueError, match="airdrop_opportunities 'c'.*'scam_risk' is nan"):
        scam_decisions([{"_id": "c", "scam_flag": True, "scam_risk": float("nan"), "source_tweet_ids": ["3"]}])
