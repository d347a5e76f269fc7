"""`raw_tweets` end to end: Chromium → X stand-in → MongoDB, per daily partition, with backfills."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from typer.testing import CliRunner

from impressox_pipelines.assets.social import raw_tweets
from impressox_pipelines.events.backend import publish_event
from impressox_pipelines.resources.x_scraper import XScraperResource
from impressox_pipelines.standins.x import StandInAccount
from impressox_pipelines.x.parser import parse_body
from tests.helpers.events import apply_published_events
from tests.helpers.paths import require_fixture
from tests.helpers.x import GOOD, write_accounts

DAYS = ["2026-04-01", "2026-04-02"]


@pytest.fixture
def resources(standin_factory, mongo, redis_resource, tmp_path):
    def make(backend: str = "browser", accounts: list[StandInAccount] | None = None, **standin) -> dict:
        accounts = accounts or [GOOD]
        server = standin_factory(accounts, **standin)
        file = write_accounts(tmp_path / "x-accounts.json", accounts)
        scraper = XScraperResource(backend=backend, base_url=server.url, accounts_file=str(file), idle_timeout_s=4.0)
        return {"mongo": mongo, "redis": redis_resource, "x_scraper": scraper}

    return make


def run(resources: dict, *, partition_key: str | None = None, days: tuple[str, str] | None = None,
        targets: list[str] | None = None):
    tags = None
    if days:
        tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]}
    result = dg.materialize([raw_tweets], resources=resources, partition_key=partition_key, tags=tags,
                            run_config={"ops": {"raw_tweets": {"config": {"targets": targets or ["@arbitrum",
                                                                                                "airdrop"]}}}},
                            raise_on_error=False)
    return result


def metadata(result) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("raw_tweets")[-1].metadata.items()}


def test_two_partitions_through_chromium_then_a_backfill_of_both_adds_no_duplicates(resources, mongo):
    res = resources("browser")
    tweets = mongo.get_database()["tweets"]
    for day in DAYS:
        result = run(res, partition_key=day)
        assert result.success
        meta = metadata(result)
        assert meta["backend"] == "browser" and meta["tweets_new"] > 40 and meta["incomplete_targets"] == []
        assert tweets.count_documents({"partition_date": day}) > 40
    ids_before = {d["_id"] for d in tweets.find({}, {"_id": 1})}
    raw_before = mongo.get_database()["x_raw_responses"].count_documents({})

    backfill = run(res, days=(DAYS[0], DAYS[1]))  # one run for both days, as the backfill policy batches them
    assert backfill.success
    meta = metadata(backfill)
    assert meta["days"] == DAYS and meta["tweets_new"] == 0 and meta["tweets_updated"] > 80
    assert {d["_id"] for d in tweets.find({}, {"_id": 1})} == ids_before
    assert all(c.passed for c in backfill.get_asset_check_evaluations())
    for doc in tweets.find({"partition_date": DAYS[0]}):
        assert doc["created_at"].astimezone(UTC).date().isoformat() == DAYS[0]
    # Raw responses are kept, and re-parsing them gives back exactly the stored tweets.
    raw = mongo.get_database()["x_raw_responses"]
    assert raw.count_documents({}) == 2 * raw_before
    reparsed = {t.id for doc in raw.find({"status": 200}) for t in parse_body(doc["body"], doc["operation"]).tweets}
    assert reparsed == ids_before


def test_interrupted_partition_resumes_from_its_saved_cursor(resources, mongo):
    limited = StandInAccount("only", "tok-only", "ct0-only", rate_limit=1)
    res = resources("api", [limited], window_s=2.0)
    first = run(res, partition_key=DAYS[0], targets=["airdrop"])
    assert first.success
    meta = metadata(first)
    # The first page said `x-rate-limit-remaining: 0`: the account was locked before a 429 could happen.
    assert meta["incomplete_targets"] and meta["reasons"]["rate_limit_exhausted"] == 1
    assert "rate_limited" not in meta["reasons"]
    checks = {c.check_name: c.passed for c in first.get_asset_check_evaluations()}
    assert checks["targets_complete"] is False
    saved = mongo.get_database()["x_scrape_cursors"].find_one({"_id": f"search:airdrop|{DAYS[0]}"})
    assert saved["cursor"] and not saved["complete"]

    time.sleep(2.2)  # X's window (here 2 s) passes: the lock set from x-rate-limit-reset expires by itself
    stored = mongo.get_database()["tweets"].count_documents({})
    second = run(res, partition_key=DAYS[0], targets=["airdrop"])
    meta = metadata(second)
    assert meta["tweets_updated"] == 0 and meta["tweets_new"] > 0  # started where the first run stopped
    resaved = mongo.get_database()["x_scrape_cursors"].find_one({"_id": f"search:airdrop|{DAYS[0]}"})
    assert resaved["cursor"] != saved["cursor"]
    assert mongo.get_database()["tweets"].count_documents({}) == stored + meta["tweets_new"]


def test_a_sudden_drop_against_the_trailing_baseline_fails_the_check(resources, mongo):
    res = resources("api")
    tweets = mongo.get_database()["tweets"]
    day = date.fromisoformat(DAYS[1])
    tweets.insert_many([{"_id": f"old-{n}-{k}", "partition_date": (day - timedelta(days=n)).isoformat()}
                        for n in range(1, 8) for k in range(500)])
    result = run(res, partition_key=DAYS[1], targets=["airdrop"])
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["tweet_count_vs_baseline"].passed is False
    assert checks["tweet_count_vs_baseline"].severity == dg.AssetCheckSeverity.WARN
    assert checks["parse_failure_rate"].passed and checks["duplicate_ratio"].passed


def test_targets_added_through_redis_events_are_scraped(resources, mongo, redis_resource):
    res = resources("api")
    client = redis_resource.get_client()
    publish_event(client, "scrape_target.added", {"kind": "user", "value": "@PixelDAO"})
    publish_event(client, "scrape_target.added", {"kind": "planet", "value": "mars"})
    publish_event(client, "rule.created", {"rule_id": "r1"})
    report = apply_published_events(redis_resource, mongo)
    assert (report.by_type["scrape_target.added"], len(report.dead_letters)) == (1, 1)
    result = run(res, partition_key=DAYS[0], targets=["airdrop"])
    meta = metadata(result)
    assert meta["targets"] == ["search:airdrop", "user:PixelDAO"]
    assert mongo.get_database()["tweets"].count_documents({"author_handle": "PixelDAO"}) > 0


def test_no_usable_account_fails_the_run_and_keeps_what_was_stored(resources, mongo):
    expired = StandInAccount("gone", "tok-gone", "ct0-gone", state="expired")
    res = resources("api", [expired])
    mongo.get_database()["tweets"].insert_one({"_id": "kept", "partition_date": DAYS[0]})
    result = run(res, partition_key=DAYS[0], targets=["airdrop"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "account_expired" in str(failure.event_specific_data.error)
    assert mongo.get_database()["tweets"].find_one({"_id": "kept"}) is not None


def test_definitions_expose_the_asset_with_its_scraper_resource(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_X_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("IMPRESSOX_X_BACKEND", "api")
    from impressox_pipelines.definitions import build_definitions

    defs = build_definitions()
    scraper = defs.resources["x_scraper"]
    assert (scraper.backend, scraper.base_url, scraper.accounts_file) == ("api", "http://127.0.0.1:9", None)
    assert defs.resolve_assets_def("raw_tweets").key == raw_tweets.key
    assert raw_tweets.partitions_def is not None and raw_tweets.backfill_policy.max_partitions_per_run == 7
    assert raw_tweets.group_names_by_key[raw_tweets.key] == "social"
    assert {c.name for c in raw_tweets.check_specs} == {"tweet_count_vs_baseline", "parse_failure_rate",
                                                  "duplicate_ratio", "targets_complete"}


def test_cli_parse_prints_one_json_line_per_tweet():
    from impressox_pipelines.cli import app

    path = require_fixture("twscrape", "raw_search.json")
    result = CliRunner().invoke(app, ["x", "parse", str(path)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{\"id\"")]
    assert len(lines) == 25
    assert {"id", "text", "urls", "view_count", "is_pinned", "is_promoted"} <= set(lines[0])
    assert datetime.fromisoformat(lines[0]["created_at"]).tzinfo is not None


def test_cli_accounts_shows_state_without_cookies(tmp_path, monkeypatch, data_dir):
    from impressox_pipelines.cli import app

    file = write_accounts(tmp_path / "acc.json", [GOOD])
    monkeypatch.setenv("IMPRESSOX_X_ACCOUNTS_FILE", str(file))
    result = CliRunner().invoke(app, ["x", "accounts"])
    assert result.exit_code == 0, result.output
    assert "e_good" in result.stdout and "active" in result.stdout
    assert GOOD.auth_token not in result.output and GOOD.ct0 not in result.output


@pytest.mark.parametrize("name, expected, known_from", [
    ("raw_user_tweets.json", "UserTweets", "file name"),
    ("raw_user_tweets_and_replies.json", "UserTweetsAndReplies", "file name"),
    ("raw_search.json", "SearchTimeline", "payload"),
])
def test_cli_parse_reports_the_operation_it_guessed(name, expected, known_from, tmp_path):
    from impressox_pipelines.cli import app

    path = require_fixture("twscrape", name)
    summary = json.loads(CliRunner().invoke(app, ["x", "parse", str(path)]).stderr.strip().splitlines()[-1])
    assert (summary["operation"], summary["operation_from"]) == (expected, known_from)
    # The same capture under a name that says nothing: the user-timeline shape still names its family.
    if expected.startswith("User"):
        anonymous = tmp_path / "capture.json"
        anonymous.write_bytes(path.read_bytes())
        summary = json.loads(CliRunner().invoke(app, ["x", "parse", str(anonymous)]).stderr.strip().splitlines()[-1])
        assert summary["operation"] == "UserTweets" and "UserTweetsAndReplies" in summary["operation_from"]


def test_cli_targets_write_what_the_scrape_target_event_writes(mongo, redis_resource):
    from impressox_pipelines.cli import app
    from impressox_pipelines.stores import X_TARGETS_COLLECTION
    from impressox_pipelines.x.targets import load_targets

    runner = CliRunner()
    assert runner.invoke(app, ["x", "targets", "add", "@PixelDAO"]).output.strip() == "user:PixelDAO: added"
    assert runner.invoke(app, ["x", "targets", "add", "airdrop season"]).exit_code == 0
    # The backend's event for the same account finds it stored: one document, one shape.
    publish_event(redis_resource.get_client(), "scrape_target.added", {"kind": "user", "value": "@PixelDAO"})
    report = apply_published_events(redis_resource, mongo)
    assert report.by_type["scrape_target.added"] == 1 and not report.dead_letters
    coll = mongo.get_database()[X_TARGETS_COLLECTION]
    assert coll.count_documents({}) == 2
    listed = runner.invoke(app, ["x", "targets", "list"]).output
    assert "user:PixelDAO\tactive" in listed and "search:airdrop season\tactive" in listed

    removed = runner.invoke(app, ["x", "targets", "remove", "@PixelDAO"])
    assert removed.exit_code == 0 and "removed" in removed.output
    targets, _ = load_targets([], coll)
    assert [t.id for t in targets] == ["search:airdrop season"]  # raw_tweets no longer scrapes it
    assert "user:PixelDAO\tinactive" in runner.invoke(app, ["x", "targets", "list"]).output
    again = runner.invoke(app, ["x", "targets", "remove", "@PixelDAO"])
    assert again.exit_code == 1 and "not found among the active targets in MongoDB `x_targets`" in again.output
    assert runner.invoke(app, ["x", "targets", "add", "@"]).exit_code == 2
