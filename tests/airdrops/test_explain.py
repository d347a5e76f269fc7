"""`impressox airdrops explain`: the stored decision with what produced it, and `--reassess` against today's
detector, for every opportunity and every scam flag of a run of `airdrop_opportunities`."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
from typer.testing import CliRunner

from impressox_pipelines.airdrops.detector import DETECTOR_VERSION
from impressox_pipelines.airdrops.scam_model import SHIPPED_MODEL
from impressox_pipelines.stores import OPPORTUNITIES_COLLECTION
from tests.airdrops.test_asset import PARTITION, day_of_tweets, run  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(bool(os.environ.get("IMPRESSOX_TEST_MONGODB_URI")),
                                reason="the CLI reads the embedded store of IMPRESSOX_DATA_DIR, not the test server")

# The run's own configuration, unlike the CLI's defaults: only these targets, and a flag threshold of 1.2.
TARGETS = "arbitrum\nJupiterExchange\n"
THRESHOLD = 1.2


def explain(*args: str):
    from impressox_pipelines.cli import app

    return CliRunner().invoke(app, ["airdrops", "explain", *args])


@pytest.fixture
def decided(mongo, redis_resource, day_of_tweets, tmp_path):  # noqa: F811 - the fixture
    """A run of the asset with a target accounts file and threshold of its own; its stored documents."""
    targets = tmp_path / "targets.txt"
    targets.write_text(TARGETS)
    assert run(mongo, redis_resource, target_accounts_file=str(targets), scam_flag_threshold=THRESHOLD).success
    docs = list(mongo.get_database()[OPPORTUNITIES_COLLECTION].find({"partition_date": PARTITION}))
    assert any(d["scam_flag"] for d in docs) and any(not d["scam_flag"] for d in docs)
    return targets, docs


def _number(output: str, label: str) -> str:
    return re.search(rf"^{label}: ([\d.]+)", output, re.M).group(1)


def test_every_stored_decision_records_what_produced_it(decided):
    targets, docs = decided
    for doc in docs:
        p = doc["provenance"]
        assert p["detector_version"] == DETECTOR_VERSION and p["scam_flag_threshold"] == THRESHOLD
        assert p["target_accounts_file"] == str(targets.resolve())
        assert p["target_accounts_sha256"] == hashlib.sha256(TARGETS.encode()).hexdigest()
        assert p["scam_model_sha256"] == hashlib.sha256(SHIPPED_MODEL.read_bytes()).hexdigest()
        assert len(p["keywords_sha256"]) == 64 and p["notify_min_score"] == 60
        assert sorted(d["tweet_id"] for d in doc["source_decisions"]) == sorted(doc["source_tweet_ids"])


def test_explain_shows_the_stored_decision_of_every_tweet_and_reassess_reproduces_it(decided):
    _, docs = decided
    for doc in docs:
        for decision in doc["source_decisions"]:
            result = explain(decision["tweet_id"])
            assert result.exit_code == 0, result.output
            out = result.output
            assert f"_id {doc['_id']}" in out and "provenance missing" not in out
            assert float(_number(out, "score")) == decision["score"]
            assert float(_number(out, "scam risk")) == decision["scam_risk"]
            assert f"(flagged at {THRESHOLD:g})" in out
            if decision["scam_probability"] is not None:
                assert f"scam text model probability: {decision['scam_probability']:.3f}" in out
            assert ("FLAGGED as scam risk" in out) == decision["scam_flag"] == doc["scam_flag"]
            assert "target accounts: " + doc["provenance"]["target_accounts_file"] in out
            again = explain(decision["tweet_id"], "--reassess")
            assert again.exit_code == 0, again.output
            assert again.output.rstrip().endswith("same decision as stored"), again.output


def test_reassess_says_what_changed_and_why(decided):
    targets, docs = decided
    arb = next(d for d in docs if "$ARB" in d["title"])
    targets.write_text("JupiterExchange\n")  # @arbitrum is no longer a target account
    result = explain(arb["primary_tweet_id"], "--reassess")
    assert result.exit_code == 0, result.output
    tail = result.output.split("changed since the stored decision:", 1)[1]
    assert "score: " in tail and "opportunity reason gone: +25 target_account" in tail
    assert "why:\n  target accounts file: sha256 " in tail


def test_an_older_decision_without_provenance_is_explained_with_a_note(decided, mongo):
    _, docs = decided
    flagged = next(d for d in docs if d["scam_flag"])
    mongo.get_database()[OPPORTUNITIES_COLLECTION].update_one(
        {"_id": flagged["_id"]}, {"$unset": {"provenance": "", "source_decisions": ""}})
    result = explain(flagged["primary_tweet_id"])
    assert result.exit_code == 0, result.output
    assert "note: provenance missing" in result.output and "FLAGGED as scam risk" in result.output
    assert float(_number(result.output, "scam risk")) == flagged["scam_risk"]
    reassessed = explain(flagged["primary_tweet_id"], "--reassess")
    assert "today's detector:" in reassessed.output


def test_unknown_and_undecided_tweets(decided, day_of_tweets):  # noqa: F811 - the fixture
    missing = explain("12345")
    assert missing.exit_code == 1 and "not found in MongoDB `airdrop_opportunities` nor `tweets`" in missing.output
    undecided = explain(day_of_tweets["yesterday"].id)  # its day was not assessed
    assert undecided.exit_code == 1 and "no decision stored" in undecided.output
    now = explain(day_of_tweets["yesterday"].id, "--reassess")
    assert now.exit_code == 0 and "today's detector:" in now.output and "no stored decision to compare" in now.output
