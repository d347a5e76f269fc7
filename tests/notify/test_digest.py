"""Daily digests at each user's local hour: one per local date, across both daylight-saving changes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from impressox_pipelines.jobs.notify import daily_digest_schedule, send_digests_job
from impressox_pipelines.notify.digest import DigestQueue, day_moves, digest_due, top_opportunities
from impressox_pipelines.notify.preferences import PreferenceStore, apply_changes
from impressox_pipelines.stores import NOTIFICATIONS_STREAM

NEW_YORK = "America/New_York"


def hourly(start: datetime, hours: int):
    return [start + timedelta(hours=h) for h in range(hours)]


@pytest.mark.parametrize("tz", [NEW_YORK, "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])
@pytest.mark.parametrize("digest_hour", [0, 1, 2, 3, 8, 23])
def test_exactly_one_digest_per_local_date_through_both_dst_changes(tz, digest_hour):
    prefs = apply_changes(None, {"chat_id": 1, "timezone": tz, "digest_hour": digest_hour,
                                 "subscriptions": {"digest": True}})
    sent: dict[str, datetime] = {}
    for year_start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)):
        for tick in hourly(year_start, 24 * 45):  # covers the US, EU and Australian changes
            local_date = digest_due(prefs, tick)
            if local_date is not None and local_date not in sent:  # the digest_runs marker
                sent[local_date] = tick
    for local_date, tick in sent.items():
        local = tick.astimezone(ZoneInfo(tz))
        assert local.date().isoformat() == local_date
        # On time, or within the catch-up window when the hour did not exist (spring forward).
        assert digest_hour <= local.hour < digest_hour + 3
    expected_days = {(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=d)).astimezone(ZoneInfo(tz)).date()
                     for d in range(1, 44)}
    assert expected_days <= {date.fromisoformat(d) for d in sent}  # no day skipped


def test_spring_forward_sends_the_2am_digest_at_3am_and_fall_back_does_not_double_1am():
    digest = {"subscriptions": {"digest": True}, "timezone": NEW_YORK}
    spring = apply_changes(None, {"chat_id": 1, "digest_hour": 2, **digest})
    assert digest_due(spring, datetime(2026, 3, 8, 6, tzinfo=UTC)) is None  # 01:00 EST
    assert digest_due(spring, datetime(2026, 3, 8, 7, tzinfo=UTC)) == "2026-03-08"  # 03:00 EDT (02:00 skipped)
    fall = apply_changes(None, {"chat_id": 2, "digest_hour": 1, **digest})
    # 01:00 happens twice; both ticks name the same local date, so the key is the same.
    assert digest_due(fall, datetime(2026, 11, 1, 5, tzinfo=UTC)) == "2026-11-01"  # 01:00 EDT
    assert digest_due(fall, datetime(2026, 11, 1, 6, tzinfo=UTC)) == "2026-11-01"  # 01:00 EST


def test_muted_inactive_or_unsubscribed_users_get_no_digest():
    at = datetime(2026, 1, 1, 8, tzinfo=UTC)
    base = {"chat_id": 1, "digest_hour": 8, "subscriptions": {"digest": True}}
    assert digest_due(apply_changes(None, base), at) == "2026-01-01"
    assert digest_due(apply_changes(None, {**base, "muted": True}), at) is None
    assert digest_due(apply_changes(None, {**base, "active": False}), at) is None
    assert digest_due(apply_changes(None, {**base, "subscriptions": {"digest": False}}), at) is None


def test_day_moves_and_top_opportunities():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    observations = [
        {"symbol": "BTC", "price": "100", "at": t + timedelta(hours=2)},
        {"symbol": "BTC", "price": "90", "at": t},
        {"symbol": "BTC", "price": None, "at": t + timedelta(hours=1)},
        {"symbol": "ETH", "price": "5", "at": t},
        {"symbol": "DOGE", "price": "1", "at": t},
        {"symbol": "DOGE", "price": "2", "at": t + timedelta(hours=1)},
    ]
    assert day_moves(observations, ["btc", "eth"]) == [
        {"symbol": "BTC", "open": "90", "close": "100", "change_pct": "11.11"}]
    opps = [{"title": "Zora", "score": 50}, {"title": "Blast", "score": "90"}, {"title": "Zora 2", "score": 70},
            {"title": "Zora scam", "score": 99, "scam_flag": True}]
    assert [o["title"] for o in top_opportunities(opps, [], 2)] == ["Blast", "Zora 2"]
    assert [o["title"] for o in top_opportunities(opps, ["zora"])] == ["Zora 2", "Zora"]


def run_tick(at: datetime, redis_resource, mongo) -> dict:
    result = send_digests_job.execute_in_process(
        run_config={"ops": {"enqueue_digests": {"config": {"at": at.isoformat()}}}},
        resources={"redis": redis_resource, "mongo": mongo},
    )
    assert result.success
    return result.output_for_node("enqueue_digests")


def test_the_digest_job_enqueues_one_digest_per_user_and_local_date(redis_resource, mongo):
    db = mongo.get_database()
    store = PreferenceStore(db)
    store.update({"chat_id": 1, "timezone": NEW_YORK, "digest_hour": 2, "keywords": ["zora"],
                  "subscriptions": {"digest": True, "airdrops": True}, "watch_symbols": ["BTC"]})
    store.update({"chat_id": 2, "timezone": NEW_YORK, "digest_hour": 2})  # not subscribed to the digest
    db["airdrop_opportunities"].insert_many([
        {"_id": "a", "partition_date": "2026-03-08", "score": 70.0, "text": "Zora <claim> is live", "scam_flag": False,
         "primary_tweet_id": "9", "author_handle": "zora"},
        {"_id": "b", "partition_date": "2026-03-08", "score": 95.0, "text": "Zora doubling", "scam_flag": True},
        {"_id": "c", "partition_date": "2026-03-08", "score": 80.0, "text": "Blast points", "scam_flag": False},
    ])
    DigestQueue(db).defer("q:1:1", 1, "text", {"text": "held back overnight"})
    counts = [run_tick(at, redis_resource, mongo)
              for at in hourly(datetime(2026, 3, 8, 5, tzinfo=UTC), 5)]  # 00:00 EST .. 05:00 EDT
    assert [c["enqueued"] for c in counts] == [0, 0, 1, 0, 0]  # at 07:00Z = 03:00 EDT
    assert [c["already_enqueued"] for c in counts] == [0, 0, 0, 1, 0]  # 05:00 EDT is past the catch-up window
    [(_, fields)] = redis_resource.get_client().xrange(NOTIFICATIONS_STREAM)
    assert fields["kind"] == "digest" and fields["idempotency_key"] == "digest:1:2026-03-08"
    payload = json.loads(fields["payload"])
    assert [a["title"] for a in payload["airdrops"]] == ["Zora <claim> is live"]
    assert payload["deferred"] == [{"kind": "text", "payload": {"text": "held back overnight"}}]
    assert payload["moves"] == []  # no price history recorded in this test


def test_the_schedule_ticks_hourly_with_a_run_key_per_hour():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 8, 7, 0, 3, tzinfo=UTC))
    request = daily_digest_schedule(context)
    assert request.run_key == "digests:2026-03-08T07:00:00+00:00"
    assert request.run_config["ops"]["enqueue_digests"]["config"]["at"] == "2026-03-08T07:00:00+00:00"
    assert daily_digest_schedule.cron_schedule == "0 * * * *"
