"""`airdrop_opportunities` over a partition of tweets stored in MongoDB as the scraper stores them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from typer.testing import CliRunner

from impressox_pipelines.assets.airdrops import airdrop_opportunities, notification_key
from impressox_pipelines.demo.summaries import airdrops_summary
from impressox_pipelines.stores import NOTIFICATIONS_STREAM, OPPORTUNITIES_COLLECTION, TWEETS_COLLECTION
from tests.helpers.airdrops import DAY, tweet

PARTITION = DAY.date().isoformat()


def store(mongo, *tweets, partition_date=None):
    """Upsert tweets by id with `partition_date`, as `raw_tweets` does (`Tweet.to_document()`)."""
    coll = mongo.get_database()[TWEETS_COLLECTION]
    for t in tweets:
        doc = t.to_document()
        doc.pop("_id")
        doc["partition_date"] = partition_date or t.created_at.astimezone(UTC).date().isoformat()
        coll.update_one({"_id": t.id}, {"$set": doc, "$setOnInsert": {"first_seen_at": datetime.now(UTC)}},
                        upsert=True)


@pytest.fixture
def day_of_tweets(mongo):
    """An official announcement with a retweet and a quote, a scam, chatter, junk, and tweets of other days."""
    yesterday = tweet("Snapshot for the $JUP airdrop is done. Claim opens Jan 31 at jup.ag/airdrop",
                      author_handle="JupiterExchange", created_at=DAY - timedelta(days=1), like_count=20_000)
    official = tweet("The $ARB airdrop claim is live for eligible wallets until March 23: "
                     "https://arbitrum.foundation/claim", author_handle="arbitrum", like_count=5000,
                     retweet_count=1200)
    retweet = tweet("RT @arbitrum: The $ARB airdrop claim is live", retweeted_id=official.id)
    quote = tweet("Finally, go check your allocation", quoted_id=official.id)
    scam = tweet("Arbitrum airdrop LIVE 🚨 connect your wallet now, only 2 hours left: arbitrum-claim.xyz",
                 author_handle="arbitrum_airdrops", author_name="Arbitrum",
                 author_created_at=DAY - timedelta(days=2), author_followers_count=8)
    scam_retweet = tweet("RT @arbitrum_airdrops: Arbitrum airdrop LIVE", retweeted_id=scam.id)
    quote_of_yesterday = tweet("Jupuary airdrop is coming, eligible?", quoted_id=yesterday.id)
    chatter = tweet("gm, coffee first")
    emoji = tweet("🪂🪂🪂")
    tomorrow = tweet("another airdrop", created_at=DAY + timedelta(days=1))
    store(mongo, yesterday, official, retweet, quote, scam, scam_retweet, quote_of_yesterday, chatter, emoji,
          tomorrow)
    # A document the parser could never have written: no author, text of the wrong shape.
    mongo.get_database()[TWEETS_COLLECTION].insert_one({"_id": "999", "partition_date": PARTITION, "text": 5})
    return dict(official=official, retweet=retweet, quote=quote, scam=scam, scam_retweet=scam_retweet,
                quote_of_yesterday=quote_of_yesterday, yesterday=yesterday)


def run(mongo, redis_resource, **config):
    return dg.materialize(
        [airdrop_opportunities], partition_key=PARTITION,
        resources={"mongo": mongo, "redis": redis_resource},
        run_config={"ops": {"airdrop_opportunities": {"config": config}}} if config else None,
        raise_on_error=False,
    )


def metadata(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def notifications(redis_resource) -> list[dict]:
    return [fields for _, fields in redis_resource.get_client().xrange(NOTIFICATIONS_STREAM)]


def test_partition_becomes_opportunities_with_reasons_and_sources(mongo, redis_resource, day_of_tweets):
    t = day_of_tweets
    result = run(mongo, redis_resource, notify_min_score=60.0)
    assert result.success
    meta = metadata(result)
    assert meta["tweets_read"] == 8  # yesterday's and tomorrow's tweets belong to other partitions
    assert meta["unreadable_documents"] == 1
    assert meta["skipped"] == {"no keyword matched": 1, "no letters or digits (emoji/symbols only)": 1}
    assert meta["opportunities"] == 2  # $ARB (3 sources) and the quote of yesterday's $JUP post
    assert meta["scam_flagged_opportunities"] == 1 and meta["scam_flagged_tweets"] == 2
    assert "| score (0-100) | opportunity |" in meta["top_opportunities"]
    assert "$ARB airdrop — @arbitrum" in meta["top_opportunities"]

    stored = list(mongo.get_database()[OPPORTUNITIES_COLLECTION].find({"partition_date": PARTITION}))
    docs = {tweet_id: d for d in stored for tweet_id in d["source_tweet_ids"]}
    arb = docs[t["official"].id]
    assert arb["source_tweet_ids"] == sorted([t["official"].id, t["retweet"].id, t["quote"].id])
    assert not arb["scam_flag"] and arb["status"] == "opportunity"
    assert {"airdrop_language", "target_account", "deadline", "cashtags"} <= {r["signal"] for r in arb["reasons"]}
    assert arb["score"] == sum(r["weight"] for r in arb["reasons"]) or arb["score"] == 100
    flagged = docs[t["scam"].id]
    assert flagged["scam_flag"] and flagged["status"] == "scam_risk"
    assert flagged["source_tweet_ids"] == sorted([t["scam"].id, t["scam_retweet"].id])
    assert {"impersonation", "lookalike_link", "new_account"} <= {r["signal"] for r in flagged["scam_reasons"]}
    jup = docs[t["quote_of_yesterday"].id]
    assert any(r["signal"] == "quoted_original" for r in jup["reasons"])  # yesterday's original was read


def test_only_new_clean_opportunities_above_the_score_are_sent_once(mongo, redis_resource, day_of_tweets):
    meta = metadata(run(mongo, redis_resource, notify_min_score=60.0))
    sent = notifications(redis_resource)
    assert len(sent) == 2 == meta["notified"]  # $ARB and the $JUP quote; never the flagged scam
    message = next(m for m in sent if "$ARB" in m["payload"])
    assert message["kind"] == "airdrop_opportunity" and message["audience"] == "airdrops"
    payload = json.loads(message["payload"])
    assert payload["title"] == "$ARB airdrop — @arbitrum"
    assert message["idempotency_key"] == notification_key(payload["opportunity_id"])
    assert day_of_tweets["official"].id in payload["source_tweet_ids"]
    assert payload["deadline"] == "march 23"

    again = run(mongo, redis_resource, notify_min_score=60.0)
    assert metadata(again)["already_notified"] == 2 and metadata(again)["notified"] == 0
    assert len(notifications(redis_resource)) == 2  # a re-run never notifies twice


def test_opportunities_below_the_score_are_not_sent(mongo, redis_resource, day_of_tweets):
    meta = metadata(run(mongo, redis_resource, notify_min_score=101.0))
    assert meta["notified"] == 0 and meta["below_notify_score"] == 2
    assert notifications(redis_resource) == []


def test_rerun_replaces_the_partition(mongo, redis_resource, day_of_tweets):
    run(mongo, redis_resource)
    coll = mongo.get_database()[OPPORTUNITIES_COLLECTION]
    first = sorted(d["_id"] for d in coll.find({"partition_date": PARTITION}))
    mongo.get_database()[TWEETS_COLLECTION].delete_many(
        {"_id": {"$in": [day_of_tweets["scam"].id, day_of_tweets["scam_retweet"].id]}})
    result = run(mongo, redis_resource)
    second = sorted(d["_id"] for d in coll.find({"partition_date": PARTITION}))
    assert len(second) == len(first) - 1 and set(second) < set(first)
    assert metadata(result)["stale_documents_removed"] == 1


def test_a_tweet_that_cannot_be_assessed_does_not_remove_what_is_stored(mongo, redis_resource, day_of_tweets):
    run(mongo, redis_resource)
    coll = mongo.get_database()[OPPORTUNITIES_COLLECTION]
    first = sorted(d["_id"] for d in coll.find({"partition_date": PARTITION}))
    broken = [day_of_tweets["scam"].id, day_of_tweets["scam_retweet"].id]
    mongo.get_database()[TWEETS_COLLECTION].update_many({"_id": {"$in": broken}}, {"$set": {"author_handle": 7}})
    meta = metadata(run(mongo, redis_resource))
    assert sorted(d["_id"] for d in coll.find({"partition_date": PARTITION})) == first
    assert meta["stale_documents_removed"] == 0 and meta["days_kept_stale_documents"] == 1
    assert sum(n for why, n in meta["unreadable_reasons"].items() if why.startswith("assessment failed")) == 2


def test_an_unusable_scam_model_file_fails_with_a_clear_message(mongo, redis_resource, tmp_path, day_of_tweets):
    (tmp_path / "model.json").write_text("{}")
    result = run(mongo, redis_resource, scam_model_file=str(tmp_path / "model.json"))
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "airdrop configuration unusable:" in failure.event_specific_data.error.message
    assert "model.json is not a scam model of format 1" in failure.event_specific_data.error.message


def test_the_rules_alone_when_the_model_is_turned_off(mongo, redis_resource, day_of_tweets):
    result = run(mongo, redis_resource, scam_model_file="none")
    assert result.success and metadata(result)["scam_model"] == "none (rules only)"
    docs = list(mongo.get_database()[OPPORTUNITIES_COLLECTION].find({"partition_date": PARTITION}))
    assert docs and all(d["scam_probability"] is None for d in docs)
    assert not any(r["signal"] == "scam_text_model" for d in docs for r in d["scam_reasons"])


def test_unreadable_keywords_file_fails_with_a_clear_message(mongo, redis_resource, tmp_path, day_of_tweets):
    result = run(mongo, redis_resource, keywords_file=str(tmp_path / "missing.txt"))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "airdrop configuration unusable: cannot read" in failure.event_specific_data.error.message


def test_keywords_file_issues_are_shown_and_the_rest_is_used(mongo, redis_resource, tmp_path, day_of_tweets):
    path = tmp_path / "keywords.txt"
    path.write_text("airdrop\n\nairdrop\nclaim(\n")
    meta = metadata(run(mongo, redis_resource, keywords_file=str(path)))
    assert meta["keyword_terms"] == 2
    assert any("duplicate of line 1" in note for note in meta["config_file_issues"])
    assert any("matched literally" in note for note in meta["config_file_issues"])
    assert meta["opportunities"] == 2


def test_demo_summary_names_the_top_opportunities(mongo, redis_resource, day_of_tweets):
    run(mongo, redis_resource)
    lines = airdrops_summary(dg.Definitions(resources={"mongo": mongo}), PARTITION)
    assert lines[0].startswith(f"airdrop decisions ({PARTITION}), two separate sets of tweet groups: 2 "
                               f"opportunities (clean, may be sent) and 1 scam-flagged (never sent)")
    # the counts, then the two clean opportunities (top three at most) and the riskiest flag, each followed
    # by the command that explains it
    assert len(lines) == 7 and all("airdrops explain" in line for line in lines[2::2])
    arb = next(line for line in lines[1:] if "$ARB airdrop — @arbitrum" in line)
    assert "target_account" in arb and "airdrop_language" in arb and "/100" in arb
    flagged = lines[5]
    assert flagged.startswith("  flagged, e.g. @") and ": risk " in flagged
    assert "impersonation" in flagged and ", text model p=" in flagged


@pytest.mark.skipif(bool(os.environ.get("IMPRESSOX_TEST_MONGODB_URI")),
                    reason="the CLI reads the embedded store of IMPRESSOX_DATA_DIR, not the test server")
def test_explain_reassess_prints_the_score_and_every_reason(mongo, day_of_tweets):
    from impressox_pipelines.cli import app

    runner = CliRunner()
    scam = runner.invoke(app, ["airdrops", "explain", day_of_tweets["scam"].id, "--reassess"])
    assert scam.exit_code == 0, scam.output
    assert "FLAGGED as scam risk" in scam.output and "scam text model probability: " in scam.output
    for signal in ("impersonation", "lookalike_link", "wallet_connect_request", "urgency_bait", "airdrop_language"):
        assert signal in scam.output
    quote = runner.invoke(app, ["airdrops", "explain", day_of_tweets["quote"].id, "--reassess"])
    assert "read with the original tweet" in quote.output and "quoted_original" in quote.output
    missing = runner.invoke(app, ["airdrops", "explain", "12345"])
    assert missing.exit_code == 1 and "not found in MongoDB" in missing.output
    rules_only = runner.invoke(app, ["airdrops", "explain", day_of_tweets["scam"].id, "--scam-model-file", "none"])
    assert "FLAGGED as scam risk" in rules_only.output and "scam text model probability" not in rules_only.output
    assert "scam text model: none (rules only)" in rules_only.output
    bad_model = runner.invoke(app, ["airdrops", "explain", day_of_tweets["scam"].id, "--scam-model-file", "/nope"])
    assert bad_model.exit_code == 2 and "cannot read scam model /nope" in bad_model.output


def test_a_backfill_run_covers_each_day_separately(mongo, redis_resource, day_of_tweets):
    yesterday = (DAY - timedelta(days=1)).date().isoformat()
    result = dg.materialize(
        [airdrop_opportunities], resources={"mongo": mongo, "redis": redis_resource},
        tags={"dagster/asset_partition_range_start": yesterday, "dagster/asset_partition_range_end": PARTITION},
    )
    events = result.get_asset_materialization_events()
    assert sorted(e.partition for e in events) == [yesterday, PARTITION]
    assert events[0].materialization.metadata["tweets_read"].value == 9  # 8 today + yesterday's $JUP post
    assert events[0].materialization.metadata["scam_model"].value.startswith("trained on sample.jsonl (sha256 ")
    coll = mongo.get_database()[OPPORTUNITIES_COLLECTION]
    assert coll.count_documents({"partition_date": yesterday}) == 1
    assert coll.count_documents({"partition_date": PARTITION}) == 3
