"""`redis_event_sensor` (cursor, run keys, dead letters) and the jobs it requests, run by Dagster."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from impressox_pipelines.assets.notify import apply_backend_event_job, deliver_notifications_job

from impressox_pipelines.events.backend import InvalidEvent, parse_event, publish_event
from impressox_pipelines.events.outbox import DELIVERY_GROUP, enqueue_notification
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.sensors.redis_events import redis_event_sensor
from impressox_pipelines.stores import DEAD_LETTER_STREAM, EVENTS_STREAM, NOTIFICATIONS_STREAM


def tick(redis_resource, cursor=None):
    with dg.build_sensor_context(cursor=cursor, resources={"redis": redis_resource}) as context:
        return redis_event_sensor(context)


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
        ({"type": "notification.send_now", "data": "[]"}, "data is not a JSON object"),
        ({"type": "notification.send_now", "data": "{}", "extra": "1"}, "unexpected entry field(s): extra"),
        ({"type": "notification.send_now"}, "missing entry field: data"),
        ({"type": "preferences.updated", "data": json.dumps({"chat_id": "abc"})}, "chat_id 'abc' is not an integer"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(fields, reason):
    with pytest.raises(InvalidEvent) as err:
        parse_event("1-0", fields)
    assert reason in str(err.value)


def test_valid_events_parse():
    for event_type, data in [
        ("rule.created", {"rule_id": "r1", "symbol": "BTC", "chat_id": 5}),
        ("scrape_target.added", {"kind": "search", "value": "airdrop claim"}),
        ("document.added", {"url": "https://docs.example/x", "title": "X"}),
        ("preferences.updated", {"chat_id": 5, "subscriptions": {"airdrops": True}}),
        ("notification.send_now", {}),
    ]:
        assert parse_event("1-0", {"type": event_type, "data": json.dumps(data)}).data == data


def test_sensor_run_keys_and_cursor_survive_a_failed_tick_and_a_restart(redis_resource):
    client = redis_resource.get_client()
    prefs_id = publish_event(client, "preferences.updated", {"chat_id": 9, "subscriptions": {"airdrops": True}})
    bad_id = publish_event(client, "preferences.updated", {"chat_id": 9, "$where": "sleep(1000)"})
    send_id = publish_event(client, "notification.send_now", {"reason": "operator"})
    outbox_id = enqueue_notification(client, kind="text", idempotency_key="k", payload={"text": "hi"}, chat_id=9)

    first = tick(redis_resource)
    keys = [r.run_key for r in first.run_requests]
    assert keys == [prefs_id, send_id, f"outbox:{outbox_id}"]
    jobs = [r.job_name for r in first.run_requests]
    assert jobs == ["apply_backend_event_job", "deliver_notifications_job", "deliver_notifications_job"]
    [letter] = dead_letters(client)
    assert letter["entry_id"] == bad_id and "field name '$where'" in letter["reason"]
    assert letter["stream"] == EVENTS_STREAM

    # The tick failed after evaluating (its cursor was never stored): the retry yields the same run keys,
    # which Dagster launches once, and the malformed event is not dead-lettered twice.
    retry = tick(redis_resource)
    assert [r.run_key for r in retry.run_requests] == keys and retry.cursor == first.cursor
    assert len(dead_letters(client)) == 1

    # A daemon restart resumes from the stored cursor: nothing is requested again.
    restarted = tick(redis_resource, first.cursor)
    assert isinstance(restarted, dg.SkipReason)

    later = publish_event(client, "rule.created", {"rule_id": "r7"})
    assert [r.run_key for r in tick(redis_resource, first.cursor).run_requests] == [later]


def test_a_crashed_delivery_runs_pending_entry_triggers_a_reclaiming_run(redis_resource, monkeypatch):
    import impressox_pipelines.sensors.redis_events as sensor_module

    client = redis_resource.get_client()
    enqueue_notification(client, kind="text", idempotency_key="k", payload={"text": "hi"}, chat_id=9)
    client.xgroup_create(NOTIFICATIONS_STREAM, DELIVERY_GROUP, id="0")
    entry_id = client.xreadgroup(DELIVERY_GROUP, "crashed-run", {NOTIFICATIONS_STREAM: ">"})[0][1][0][0]
    first = tick(redis_resource)
    monkeypatch.setattr(sensor_module, "RECLAIM_IDLE_MS", 0)  # instead of waiting five minutes
    result = tick(redis_resource, first.cursor)
    assert [r.run_key for r in result.run_requests] == [f"reclaim:{entry_id}:1"]


def test_the_run_requested_for_preferences_updated_applies_them(redis_resource, mongo):
    client = redis_resource.get_client()
    publish_event(client, "preferences.updated", {"chat_id": "42", "timezone": "Europe/Berlin",
                                                   "subscriptions": {"digest": True}, "digest_hour": 7})
    [request] = tick(redis_resource).run_requests
    result = apply_backend_event_job.execute_in_process(run_config=request.run_config, resources={"mongo": mongo})
    assert result.success
    prefs = PreferenceStore(mongo.get_database()).get(42)
    assert prefs.timezone == "Europe/Berlin" and prefs.digest_hour == 7 and prefs.subscribed("digest")
    # Re-running the same run (a retry) records the event once.
    apply_backend_event_job.execute_in_process(run_config=request.run_config, resources={"mongo": mongo})
    assert mongo.get_database()["backend_events"].count_documents({"type": "preferences.updated"}) == 1


def test_the_delivery_job_sends_through_the_stand_in_and_reports_counts(redis_resource, mongo, telegram, standin):
    client = redis_resource.get_client()
    enqueue_notification(client, kind="text", idempotency_key="job:1", payload={"text": "a <b> & c"}, chat_id=61)
    enqueue_notification(client, kind="text", idempotency_key="job:2", payload={"text": "x"}, chat_id="oops")
    result = deliver_notifications_job.execute_in_process(
        resources={"redis": redis_resource, "mongo": mongo, "telegram": telegram})
    assert result.success
    report = result.output_for_node("deliver_notifications")
    assert report["delivered"] == 1 and report["invalid_entries"] == 1
    assert [m["text"] for m in standin.received()] == ["a &lt;b&gt; &amp; c"]
    [letter] = dead_letters(client)
    assert "chat_id 'oops' is not an integer or @username" in letter["reason"]
    [success] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = success.event_specific_data.metadata
    assert metadata["delivered"].value == 1 and metadata["channel"].value == "telegram"
