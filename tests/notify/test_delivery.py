"""Delivery through python-telegram-bot to the stand-in over real HTTP, with real Redis streams and MongoDB."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from impressox_pipelines.events.outbox import DELIVERY_GROUP, enqueue_notification
from impressox_pipelines.notify.delivery import (
    DELIVERIES_COLLECTION,
    ErrorClass,
    RetryPolicy,
    classify,
    redrive,
)
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.stores import DIGEST_QUEUE_COLLECTION, NOTIFICATIONS_STREAM
from tests.helpers.notify import alert, key_of, run_deliverer
from tests.helpers.notify import dead_letters as read_dead_letters
from tests.helpers.paths import REPO_ROOT

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.2, max_retry_after_s=10)


def deliver(redis_resource, mongo, telegram, *, retry=FAST_RETRY, now=None, **options):
    if now is not None:
        options["now"] = lambda: now
    return run_deliverer(redis_resource.get_client(), mongo.get_database(), telegram, retry=retry, **options)


def dead_letters(redis_resource) -> list[dict]:
    return read_dead_letters(redis_resource.get_client())


def test_audience_fan_out_reaches_subscribers_matching_their_keywords(redis_resource, mongo, telegram,
        telegram_standin):
    store = PreferenceStore(mongo.get_database())
    store.update({"chat_id": 1, "subscriptions": {"airdrops": True}, "keywords": ["zora"]})
    store.update({"chat_id": 2, "subscriptions": {"airdrops": True}})
    store.update({"chat_id": 3, "subscriptions": {"airdrops": False}})
    store.update({"chat_id": 4, "subscriptions": {"airdrops": True}, "active": False})
    client = redis_resource.get_client()
    for key, title in (("a:zora", "Zora claim is live"), ("a:blast", "Blast points season 2")):
        enqueue_notification(client, kind="airdrop_opportunity", idempotency_key=key, audience="airdrops",
                             payload={"title": title, "score": 80, "reasons": ["claim language"]})
    report = deliver(redis_resource, mongo, telegram)
    got = Counter((m["chat_id"], "Zora" in m["text"]) for m in telegram_standin.received())
    assert got == Counter({(1, True): 1, (2, True): 1, (2, False): 1})
    assert report.delivered == 3 and report.dead_lettered == 0
    assert report.skipped == {"keywords did not match": 1}
    enqueue_notification(client, kind="digest", idempotency_key="d", audience="digest", payload={})
    assert deliver(redis_resource, mongo, telegram).skipped == {"no subscribers to digest": 1}
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0


def test_a_rerun_or_republished_message_is_never_sent_twice(redis_resource, mongo, telegram, telegram_standin):
    client = redis_resource.get_client()
    for i in range(5):
        alert(client, 100 + i, f"rule-{i}:1")
    first = deliver(redis_resource, mongo, telegram)
    for i in range(5):  # the producer publishes the same logical messages again
        alert(client, 100 + i, f"rule-{i}:1")
    second = deliver(redis_resource, mongo, telegram)
    assert first.delivered == 5
    assert second.delivered == 0 and second.duplicates_suppressed == 5
    assert len(telegram_standin.received()) == 5


def test_events_published_while_no_consumer_runs_are_still_delivered(redis_resource, mongo, telegram, telegram_standin):
    client = redis_resource.get_client()
    alert(client, 11, "before-any-consumer")
    assert client.exists(NOTIFICATIONS_STREAM) and not client.xinfo_groups(NOTIFICATIONS_STREAM)
    deliver(redis_resource, mongo, telegram)
    alert(client, 12, "between-runs")  # the group exists now, but nobody is reading
    deliver(redis_resource, mongo, telegram, consumer="worker-2")
    assert sorted(m["chat_id"] for m in telegram_standin.received()) == [11, 12]


@pytest.mark.parametrize(
    "error,description",
    [
        ("blocked", "Forbidden: bot was blocked by the user"),
        ("deactivated", "Forbidden: user is deactivated"),
        ("chat_not_found", "Chat not found"),
    ],
)
def test_permanent_errors_deactivate_the_chat_and_are_not_retried(redis_resource, mongo, telegram, telegram_standin,
                                                                   error, description):
    store = PreferenceStore(mongo.get_database())
    store.update({"chat_id": 77})
    telegram_standin.fail(77, error)
    client = redis_resource.get_client()
    alert(client, 77, "r:1")
    alert(client, 77, "r:2")
    report = deliver(redis_resource, mongo, telegram)
    assert telegram_standin.stats()["requests"] == 1  # one attempt, no retry, and the second message not tried
    prefs = store.get(77)
    assert prefs.active is False and description in prefs.inactive_reason
    assert report.deactivated == 1 and report.skipped["chat became inactive during this run"] == 1
    assert report.retries == 0 and dead_letters(redis_resource) == []
    # Later messages to the inactive chat are skipped without a request.
    alert(client, 77, "r:3")
    assert deliver(redis_resource, mongo, telegram).skipped["inactive"] == 1
    assert telegram_standin.stats()["requests"] == 1


def test_timeouts_are_retried_with_backoff_until_delivered(redis_resource, mongo, telegram, telegram_standin):
    telegram_standin.fail(31, "timeout", times=2, delay_s=1.5)  # the client's read timeout is 0.5 s
    alert(redis_resource.get_client(), 31, "t:1")
    report = deliver(redis_resource, mongo, telegram)
    assert report.delivered == 1 and report.retries >= 2
    assert [m["chat_id"] for m in telegram_standin.received()] == [31]
    assert telegram_standin.stats()["timeouts"] == 2
    # Two timed-out attempts, then the successful one (a flood-control wait, if any, adds one).
    attempts = mongo.get_database()[DELIVERIES_COLLECTION].find_one({"_id": "t:1:31:1/1"})["attempts"]
    assert attempts == 3 + report.retry_after_waits


def test_exhausted_retries_dead_letter_with_the_last_error_and_redrive_sends_once(redis_resource, mongo, telegram,
                                                                                   telegram_standin):
    telegram_standin.fail(32, "server_error")
    alert(redis_resource.get_client(), 32, "x:1")
    report = deliver(redis_resource, mongo, telegram)
    assert report.dead_lettered == 1 and report.retries - report.retry_after_waits == FAST_RETRY.max_attempts - 1
    [letter] = dead_letters(redis_resource)
    assert letter["stream"] == NOTIFICATIONS_STREAM
    assert "Internal Server Error" in letter["reason"] and "after 3 attempts" in letter["reason"]
    assert json.loads(letter["fields"])["idempotency_key"] == "x:1"

    telegram_standin.state.failures.clear()  # Telegram recovered
    assert redrive(redis_resource.get_client(), mongo.get_database()) == {"redriven": 1, "left": 0, "unreadable": 0}
    assert dead_letters(redis_resource) == []
    assert deliver(redis_resource, mongo, telegram).delivered == 1
    redrive(redis_resource.get_client(), mongo.get_database())  # nothing left to redrive
    deliver(redis_resource, mongo, telegram)
    assert [m["chat_id"] for m in telegram_standin.received()] == [32]


def test_retry_after_waits_the_time_telegram_asks(redis_resource, mongo, telegram, telegram_standin):
    telegram_standin.fail(33, "retry_after", times=1, retry_after=2)
    alert(redis_resource.get_client(), 33, "f:1")
    waits = []

    async def clock(seconds):  # the run's clock: records the wait instead of spending it
        waits.append(seconds)

    report = deliver(redis_resource, mongo, telegram, sleep=clock)
    assert waits == [2.0]
    assert report.delivered == 1 and report.retry_after_waits == 1
    assert telegram_standin.stats()["rate_limited"] == 1


def test_retry_after_beyond_the_runs_budget_is_dead_lettered_for_a_redrive(redis_resource, mongo, telegram,
                                                                           telegram_standin):
    telegram_standin.fail(34, "retry_after", retry_after=60)
    alert(redis_resource.get_client(), 34, "f:2")
    report = deliver(redis_resource, mongo, telegram)
    assert report.dead_lettered == 1
    assert "retry_after 60 s exceeds 10 s" in dead_letters(redis_resource)[0]["reason"]


def test_markup_rejected_by_telegram_is_classified_as_a_rejection_not_a_dead_chat(telegram, telegram_standin):
    channel = telegram.channel()

    async def send(text):
        try:
            await channel.send_message(9, text)
        except Exception as exc:  # noqa: BLE001 - the real exception python-telegram-bot raised
            return exc
        finally:
            await channel.close()

    exc = asyncio.run(send("<b>unclosed"))
    assert "can't find end of the entity" in str(exc).lower()
    assert classify(exc) is ErrorClass.REJECTED


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"kind": "price_alert", "idempotency_key": "k", "chat_id": "not-a-number", "payload": "{}"},
         "chat_id 'not-a-number' is not an integer"),
        ({"kind": "sms", "idempotency_key": "k", "chat_id": "1", "payload": "{}"}, "unknown kind 'sms'"),
        ({"kind": "text", "idempotency_key": "k", "chat_id": "1", "payload": "[1]"},
         "payload is JSON list, not an object"),
        ({"kind": "text", "idempotency_key": "k", "chat_id": "1", "payload": "{", "$where": "1"},
         "unexpected field(s): $where"),
        ({"kind": "text", "idempotency_key": "k", "chat_id": "1", "audience": "airdrops", "payload": "{}"},
         "exactly one of chat_id and audience"),
        ({"kind": "text", "chat_id": "1", "payload": "{}"}, "missing field: idempotency_key"),
    ],
)
def test_malformed_outbox_entries_are_dead_lettered_with_the_reason(redis_resource, mongo, telegram, telegram_standin,
                                                                     fields, reason):
    client = redis_resource.get_client()
    entry_id = client.xadd(NOTIFICATIONS_STREAM, fields)
    alert(client, 5, "good")
    report = deliver(redis_resource, mongo, telegram)
    [letter] = dead_letters(redis_resource)
    assert reason in letter["reason"] and letter["entry_id"] == entry_id
    assert json.loads(letter["fields"]) == fields
    assert report.invalid_entries == 1 and report.delivered == 1
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0


# 2026-03-08 is the US spring-forward day (02:00 EST -> 03:00 EDT); 2026-11-01 the fall-back day.
@pytest.mark.parametrize(
    "now,quiet",
    [
        (datetime(2026, 3, 8, 10, 30, tzinfo=UTC), True),  # 06:30 EDT (05:30 EST)
        (datetime(2026, 3, 8, 11, 30, tzinfo=UTC), False),  # 07:30 EDT: a fixed -05:00 would say 06:30, quiet
        (datetime(2026, 11, 1, 11, 30, tzinfo=UTC), True),  # 06:30 EST: a fixed -04:00 would say 07:30
        (datetime(2026, 11, 1, 12, 30, tzinfo=UTC), False),  # 07:30 EST
    ],
)
def test_quiet_hours_follow_the_users_timezone_across_dst(redis_resource, mongo, telegram, telegram_standin, now,
                                                          quiet):
    store = PreferenceStore(mongo.get_database())
    quiet_hours = {"start": "22:00", "end": "07:00"}
    store.update({"chat_id": 41, "timezone": "America/New_York", "quiet_hours": {**quiet_hours, "mode": "silent"}})
    store.update({"chat_id": 42, "timezone": "America/New_York", "subscriptions": {"digest": True},
                  "quiet_hours": {**quiet_hours, "mode": "defer"}})
    client = redis_resource.get_client()
    alert(client, 41, "q:1")
    alert(client, 42, "q:2")
    report = deliver(redis_resource, mongo, telegram, now=now)
    received = {m["chat_id"]: m for m in telegram_standin.received()}
    assert received[41]["disable_notification"] is quiet
    deferred = list(mongo.get_database()[DIGEST_QUEUE_COLLECTION].find({"chat_id": 42}))
    assert (42 not in received) is quiet and len(deferred) == int(quiet)
    assert report.deferred == int(quiet) and report.silent == int(quiet)


def test_muted_and_unsubscribed_chats_are_skipped_with_a_reason_and_owners_without_preferences_get_alerts(
        redis_resource, mongo, telegram, telegram_standin):
    store = PreferenceStore(mongo.get_database())
    store.update({"chat_id": 51, "muted": True})
    store.update({"chat_id": 52, "subscriptions": {"price_alerts": False}})
    client = redis_resource.get_client()
    for chat in (51, 52, 53):
        alert(client, chat, f"m:{chat}")
    report = deliver(redis_resource, mongo, telegram)
    assert [m["chat_id"] for m in telegram_standin.received()] == [53]
    assert report.skipped == {"muted": 1, "not subscribed to price_alerts": 1}
    statuses = {d["chat_id"]: d["status"] for d in mongo.get_database()[DELIVERIES_COLLECTION].find()}
    assert statuses == {51: "skipped", 52: "skipped", 53: "sent"}


def test_a_crash_mid_batch_neither_loses_nor_duplicates_a_message(redis_resource, mongo, telegram_standin, data_dir):
    client = redis_resource.get_client()
    keys = []
    for i in range(40):  # 4 chats x 10: at 1 message/s per chat this takes about 10 s
        keys.append(f"crash:{i}")
        alert(client, 200 + i % 4, keys[-1])
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.notify.delivery_worker", str(data_dir), telegram_standin.api_url],
        cwd=REPO_ROOT, env={**os.environ, "IMPRESSOX_DATA_DIR": str(data_dir)},
    )
    try:
        deadline = time.monotonic() + 60
        while len(telegram_standin.received()) < 12:
            assert worker.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)  # no cleanup, no XACK: a crashed run
    finally:
        worker.wait(30)
    sent_before = len(telegram_standin.received())
    assert 12 <= sent_before < 40
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 40

    from impressox_pipelines.resources.telegram import TelegramResource
    from tests.helpers.telegram import BOT_TOKEN

    telegram = TelegramResource(bot_token=BOT_TOKEN, base_url=telegram_standin.api_url, data_dir=str(data_dir))
    report = deliver(redis_resource, mongo, telegram, consumer="recovery", min_idle_ms=0)
    assert report.reclaimed == 40

    received = Counter(key_of(m) for m in telegram_standin.received())
    records = {d["idempotency_key"]: d for d in mongo.get_database()[DELIVERIES_COLLECTION].find()}
    assert set(received) == set(keys)  # nothing lost, nothing left for an operator
    assert dead_letters(redis_resource) == []
    # Only a request in flight at the kill (at most one per chat) may have been sent again.
    twice = [key for key, count in received.items() if count > 1]
    assert all(count <= 2 for count in received.values()) and len(twice) <= 4
    assert all(records[key]["ambiguous"] == 1 for key in twice)
    assert report.ambiguous_resent == report.ambiguous <= 4
    assert {d["status"] for d in records.values()} == {"sent"}
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0


def test_group_chats_are_paced_at_20_per_minute_without_a_single_429(redis_resource, mongo, telegram, telegram_standin):
    client = redis_resource.get_client()
    for i in range(22):  # a burst of 20, then one every 3 s
        alert(client, -100123, f"g:{i}")
    started = time.monotonic()
    report = deliver(redis_resource, mongo, telegram)
    assert report.delivered == 22 and time.monotonic() - started >= 5.5
    assert telegram_standin.stats().get("rate_limited", 0) == 0
    assert [m["chat_id"] for m in telegram_standin.received()] == [-100123] * 22
