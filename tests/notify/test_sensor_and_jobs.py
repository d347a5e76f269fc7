"""`redis_event_sensor` (batches, cursor, outbox runs) and the jobs it requests, run by Dagster."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from impressox_pipelines.events.backend import InvalidEvent, parse_event, publish_event
from impressox_pipelines.events.batches import BatchPolicy, EventBatches
from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.jobs.events import apply_backend_events_job
from impressox_pipelines.jobs.notify import deliver_notifications_job
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.sensors.redis_events import build_redis_event_sensor, read_cursor
from impressox_pipelines.stores import (
    APPLIED_EVENTS_COLLECTION,
    DEAD_LETTER_STREAM,
    DELIVERY_GROUP,
    EVENT_BATCHES_KEY,
    EVENTS_STREAM,
    NOTIFICATIONS_STREAM,
)


class Clock:
    """Epoch milliseconds that move only when a test says so."""

    def __init__(self, ms: int = 4_000_000_000_000):  # far after any entry id the tests create
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tick(redis_resource, instance, clock):
    sensor = build_redis_event_sensor(5, BatchPolicy(max_events=3, max_wait_s=1.0, redo_after_s=60), now_ms=clock)

    def run(cursor=None):
        with dg.build_sensor_context(cursor=cursor, resources={"redis": redis_resource}, instance=instance) as ctx:
            return sensor(ctx)
    return run


def dead_letters(client):
    return [fields for _, fields in client.xrange(DEAD_LETTER_STREAM)]


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"type": "preferences.updated", "data": json.dumps({"chat_id": 1, "$set": {"active": False}})},
         "field name '$set'"),
        ({"type": "rule.created", "data": json.dumps({"rule_id": "r1", "owner": {"$gt": ""}})}, "field name '$gt'"),
        ({"type": "rule.created", "data": json.dumps({"rule_id": "r1", "priority": 1})},
         "unexpected field(s): priority"),
        ({"type": "scrape_target.added", "data": json.dumps({"kind": "user"})}, "missing field(s): value"),
        ({"type": "scrape_target.added", "data": json.dumps({"kind": "feed", "value": "x"})},
         "kind must be user or search"),
        ({"type": "document.added", "data": json.dumps({"title": "t"})}, "give path or url"),
        ({"type": "user.deleted", "data": "{}"}, "unknown event type 'user.deleted'"),
        ({"type": "notification.send_now", "data": "not json"}, "data is not JSON"),
        ({"type": "notification.send_now", "data": "[]"}, "data is JSON list, not an object"),
        ({"type": "notification.send_now", "data": json.dumps(json.dumps({}))}, "JSON string, not an object"),
        ({"type": "notification.send_now", "data": "{}", "extra": "1"}, "unexpected entry field(s): extra"),
        ({"type": "notification.send_now"}, "missing entry field: data"),
        ({"type": "preferences.updated", "data": json.dumps({"chat_id": "abc"})}, "chat_id 'abc' is not an integer"),
        ({b"type": b"notification.send_now", b"data": b"{\"reason\": \"\xff\xfe\"}"}, "field 'data' is not UTF-8"),
        ({b"ty\xffpe": b"notification.send_now"}, "a field name is not UTF-8"),
        ({"type": "notification.send_now", "data": '{"reason": "\\ud800x"}'}, "lone surrogate (U+D800)"),
        ({"type": "notification.send_now", "data": "[" * 5000 + "]" * 5000}, "nested deeper than"),
        ({"type": "notification.send_now", "data": '{"reason": ' + "[" * 40 + "]" * 40 + "}"}, "nested deeper than"),
        ({"type": "notification.send_now", "data": '{"reason": 1e999}'}, "infinite"),
        ({"type": "notification.send_now", "data": '{"reason": NaN}'}, "NaN"),
        ({"type": "notification.send_now", "data": json.dumps({"reason": "x" * 70_000})}, "larger than"),
        ({}, "entry has no fields"),
        (None, "entry has no fields"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(fields, reason):
    with pytest.raises(InvalidEvent) as err:
        parse_event("1-0", fields)
    assert reason in str(err.value)


def test_valid_events_parse_from_bytes_and_text():
    for event_type, data in [
        ("rule.created", {"rule_id": "r1", "symbol": "BTC", "chat_id": 5}),
        ("scrape_target.added", {"kind": "search", "value": "airdrop claim"}),
        ("document.added", {"url": "https://docs.example/x", "title": "X"}),
        ("preferences.updated", {"chat_id": 5, "subscriptions": {"airdrops": True}}),
        ("notification.send_now", {"reason": "über ✓"}),
    ]:
        text = json.dumps(data)
        assert parse_event("1-0", {"type": event_type, "data": text}).data == data
        assert parse_event("1-0", {b"type": event_type.encode(), b"data": text.encode()}).data == data


def test_poison_never_stops_the_sensor_and_a_batch_is_one_run(tick, redis_resource):
    client = redis_resource.get_client()
    raw = redis_resource.get_bytes_client()
    ids = [publish_event(client, "preferences.updated", {"chat_id": 9, "subscriptions": {"airdrops": True}})]
    ids.append(raw.xadd(EVENTS_STREAM, {b"type": b"\xff\xfe", b"data": b"\xc3\x28"}).decode())
    ids.append(raw.xadd(EVENTS_STREAM, {b"type": b"notification.send_now", b"data": b"[" * 10_000}).decode())
    ids.append(publish_event(client, "rule.created", {"rule_id": "r7"}))

    first = tick()
    # max_events=3: two batches; the second (one entry) is older than max_wait_s, so it goes too.
    assert [r.run_key for r in first.run_requests] == [f"events:{ids[0]}..{ids[2]}", f"events:{ids[3]}..{ids[3]}"]
    assert {r.job_name for r in first.run_requests} == {"apply_backend_events_job"}
    assert json.loads(first.cursor) == {"events": ids[3]}
    assert client.hlen(EVENT_BATCHES_KEY) == 2

    # The tick's cursor was never stored (a failed tick): the same run keys, which Dagster launches once.
    assert [r.run_key for r in tick().run_requests] == [r.run_key for r in first.run_requests]
    # A restart resumes from the stored cursor: nothing is requested again.
    assert tick(first.cursor).run_requests == []


def test_a_young_partial_batch_waits_for_more(tick, redis_resource, clock):
    client = redis_resource.get_client()
    entry_id = publish_event(client, "rule.created", {"rule_id": "r1"})
    clock.ms = int(entry_id.split("-")[0]) + 500  # younger than max_wait_s
    assert tick().run_requests == []
    clock.ms += 600
    assert [r.run_key for r in tick().run_requests] == [f"events:{entry_id}..{entry_id}"]


@pytest.mark.parametrize("cursor", ["17", "not json", '{"events": 5}', '{"events": "abc-1"}', '{"other": 1}', "[]",
                                    '{"events": "1-x"}'])
def test_an_unreadable_cursor_is_replaced_by_the_start_with_a_warning(cursor, tick, redis_resource):
    events, warning = read_cursor(cursor)
    assert events == "0-0" and "unreadable cursor" in warning
    entry_id = publish_event(redis_resource.get_client(), "rule.created", {"rule_id": "r1"})
    assert [r.run_key for r in tick(cursor).run_requests] == [f"events:{entry_id}..{entry_id}"]


def run_batch(request, redis_resource, mongo, telegram):
    return apply_backend_events_job.execute_in_process(
        run_config=request.run_config, resources={"redis": redis_resource, "mongo": mongo, "telegram": telegram})


def test_the_apply_run_applies_the_batch_dead_letters_poison_and_trims(tick, redis_resource, mongo, telegram):
    client = redis_resource.get_client()
    raw = redis_resource.get_bytes_client()
    publish_event(client, "preferences.updated", {"chat_id": "42", "timezone": "Europe/Berlin",
                                                   "subscriptions": {"digest": True}, "digest_hour": 7})
    bad = raw.xadd(EVENTS_STREAM, {b"type": b"preferences.updated", b"data": b'{"chat_id": 1, "x": "\\udc00"}'})
    publish_event(client, "scrape_target.added", {"kind": "user", "value": "@PixelDAO"})
    [request] = tick().run_requests
    result = run_batch(request, redis_resource, mongo, telegram)
    assert result.success
    assert result.output_for_node("apply_backend_events") == {"applied": 2, "dead_lettered": 1}
    prefs = PreferenceStore(mongo.get_database()).get(42)
    assert prefs.timezone == "Europe/Berlin" and prefs.digest_hour == 7 and prefs.subscribed("digest")
    assert mongo.get_database()["x_targets"].find_one({"_id": "user:PixelDAO"})["active"] is True
    [letter] = dead_letters(client)
    assert letter["entry_id"] == bad.decode() and "lone surrogate" in letter["reason"]
    assert json.loads(letter["fields"])["data"] == '{"chat_id": 1, "x": "\\udc00"}'
    assert client.hlen(EVENT_BATCHES_KEY) == 0 and client.xlen(EVENTS_STREAM) == 0  # applied, then trimmed

    # The same run again (a retry) applies nothing twice and dead-letters nothing twice.
    again = run_batch(request, redis_resource, mongo, telegram)
    assert again.success and again.output_for_node("apply_backend_events")["applied"] == 0
    records = list(mongo.get_database()[APPLIED_EVENTS_COLLECTION].find({}))
    assert len(records) == 2 and all(r["applications"] == 1 for r in records)
    assert len(dead_letters(client)) == 1


def test_a_batch_whose_run_never_ran_is_requested_again(tick, redis_resource, mongo, telegram, clock, instance):
    client = redis_resource.get_client()
    publish_event(client, "rule.created", {"rule_id": "r1"})
    [lost] = tick().run_requests  # the daemon stopped: this run was never launched
    cursor = tick().cursor
    clock.ms += 59_000
    assert tick(cursor).run_requests == []
    clock.ms += 2_000
    [again] = tick(cursor).run_requests
    assert again.run_key == f"{lost.run_key}:2" and again.run_config == lost.run_config
    assert run_batch(again, redis_resource, mongo, telegram).success
    clock.ms += 120_000
    assert tick(cursor).run_requests == []  # applied: nothing is due any more


def test_a_running_run_of_an_overdue_batch_is_not_doubled(tick, redis_resource, clock, instance):
    client = redis_resource.get_client()
    entry_id = publish_event(client, "rule.created", {"rule_id": "r1"})
    clock.ms = int(entry_id.split("-")[0]) + 1000  # agrees with the run records; past max_wait_s
    [request] = tick().run_requests
    cursor = tick().cursor
    instance.create_run_for_job(apply_backend_events_job, run_config=request.run_config, tags=request.tags,
                                status=dg.DagsterRunStatus.STARTED)
    clock.ms += 120_000
    assert tick(cursor).run_requests == []


def test_outbox_runs_follow_the_delivery_group(tick, redis_resource, monkeypatch):
    import impressox_pipelines.sensors.redis_events as sensor_module

    client = redis_resource.get_client()
    entry_id = enqueue_notification(client, kind="text", idempotency_key="k", payload={"text": "hi"}, chat_id=9)
    assert [r.run_key for r in tick().run_requests] == [f"outbox:{entry_id}"]
    client.xgroup_create(NOTIFICATIONS_STREAM, DELIVERY_GROUP, id="0")
    client.xreadgroup(DELIVERY_GROUP, "crashed-run", {NOTIFICATIONS_STREAM: ">"})
    assert tick().run_requests == []  # read by the group: no new delivery run
    monkeypatch.setattr(sensor_module, "RECLAIM_IDLE_MS", 0)  # instead of waiting five minutes
    assert [r.run_key for r in tick().run_requests] == [f"reclaim:{entry_id}:1"]


def test_batches_trim_only_below_the_oldest_batch_still_due(redis_resource, clock):
    client = redis_resource.get_client()
    ids = [publish_event(client, "rule.created", {"rule_id": f"r{n}"}) for n in range(5)]
    batches = EventBatches(client, redis_resource.get_bytes_client(), BatchPolicy(max_events=2), now_ms=clock)
    planned, _ = batches.plan("0-0")
    batches.record(planned)
    assert [b.key for b in planned] == [f"{ids[0]}..{ids[1]}", f"{ids[2]}..{ids[3]}", f"{ids[4]}..{ids[4]}"]
    assert batches.done(planned[1]) == 0  # the first batch is still due: nothing may go
    assert batches.done(planned[0]) == 4
    assert [i.decode() for i, _ in redis_resource.get_bytes_client().xrange(EVENTS_STREAM)] == [ids[4]]


def test_the_delivery_job_sends_through_the_stand_in_and_reports_counts(redis_resource, mongo, telegram,
        telegram_standin):
    client = redis_resource.get_client()
    enqueue_notification(client, kind="text", idempotency_key="job:1", payload={"text": "a <b> & c"}, chat_id=61)
    enqueue_notification(client, kind="text", idempotency_key="job:2", payload={"text": "x"}, chat_id="oops")
    redis_resource.get_bytes_client().xadd(NOTIFICATIONS_STREAM, {b"kind": b"text\xff", b"payload": b"{}"})
    result = deliver_notifications_job.execute_in_process(
        resources={"redis": redis_resource, "mongo": mongo, "telegram": telegram})
    assert result.success
    report = result.output_for_node("deliver_notifications")
    assert report["delivered"] == 1 and report["invalid_entries"] == 2
    assert [m["text"] for m in telegram_standin.received()] == ["a &lt;b&gt; &amp; c"]
    reasons = [letter["reason"] for letter in dead_letters(client)]
    assert any("chat_id 'oops' is not an integer or @username" in r for r in reasons)
    assert any("field 'kind' is not UTF-8" in r for r in reasons)
    assert client.xlen(NOTIFICATIONS_STREAM) == 0  # every entry acknowledged, so trimmed
    [success] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = success.event_specific_data.metadata
    assert metadata["delivered"].value == 1 and metadata["channel"].value == "telegram"


def test_a_run_silent_for_ten_minutes_is_taken_for_dead(tick, redis_resource, clock, instance):
    client = redis_resource.get_client()
    entry_id = publish_event(client, "rule.created", {"rule_id": "r1"})
    clock.ms = int(entry_id.split("-")[0]) + 1000
    [request] = tick().run_requests
    cursor = tick().cursor
    run = instance.create_run_for_job(apply_backend_events_job, run_config=request.run_config, tags=request.tags,
                                      status=dg.DagsterRunStatus.STARTED)
    started_ms = instance.get_run_record_by_id(run.run_id).update_timestamp.timestamp() * 1000
    clock.ms = int(started_ms) + 120_000
    assert tick(cursor).run_requests == []  # its worker may still be applying
    clock.ms = int(started_ms) + 601_000
    [again] = tick(cursor).run_requests  # killed with the deployment: nobody else will apply it
    assert again.run_key == f"{request.run_key}:2"
