"""`redis_event_sensor`: backend events and new outbox entries from Redis Streams become runs.

The cursor is JSON `{"events": "<last entry id handled>", "outbox": "<last outbox id seen>"}`. Each tick:

- reads up to `MAX_EVENTS_PER_TICK` entries of `impressox:events` after the cursor (XRANGE, exclusive);
  a valid event becomes a `RunRequest` with `run_key` = its entry id (`notification.send_now` runs
  `deliver_notifications_job`, every other type `apply_backend_event_job`); an unknown or malformed
  one is dead-lettered with the reason. The cursor moves past exactly the entries handled this way,
  so a restart, a failed tick or a slow run loses nothing, and a re-read entry yields the same run key,
  which Dagster runs only once.
- when the outbox has entries newer than the cursor, requests one `deliver_notifications_job` run keyed
  by the newest id (the run drains everything up to then and beyond through the consumer group);
- when an outbox entry has sat unacknowledged in the delivery group for `RECLAIM_IDLE_MS` (its run
  crashed), requests a delivery run keyed by that entry and its delivery count, which reclaims it.
"""

from __future__ import annotations

import json

import dagster as dg
import redis as redis_lib

from impressox_pipelines.assets.notify import apply_backend_event_job, deliver_notifications_job
from impressox_pipelines.events import EVENTS_STREAM, NOTIFICATIONS_STREAM, dead_letter
from impressox_pipelines.notify.backend_events import InvalidEvent, parse_event
from impressox_pipelines.notify.outbox import DELIVERY_GROUP
from impressox_pipelines.resources.redis import RedisResource

MAX_EVENTS_PER_TICK = 200
RECLAIM_IDLE_MS = 300_000
START = "0-0"


def _load_cursor(raw: str | None) -> dict[str, str]:
    try:
        cursor = json.loads(raw) if raw else {}
    except ValueError:
        cursor = {}
    if not isinstance(cursor, dict):
        cursor = {}
    return {"events": str(cursor.get("events") or START), "outbox": str(cursor.get("outbox") or START)}


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _stale_pending(client: redis_lib.Redis) -> dict | None:
    try:
        stale = client.xpending_range(NOTIFICATIONS_STREAM, DELIVERY_GROUP, min="-", max="+", count=1,
                                      idle=RECLAIM_IDLE_MS)
    except redis_lib.ResponseError:  # no stream or no group yet: nothing can be pending
        return None
    return stale[0] if stale else None


@dg.sensor(
    jobs=[apply_backend_event_job, deliver_notifications_job],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def redis_event_sensor(context: dg.SensorEvaluationContext, redis: RedisResource) -> dg.SensorResult | dg.SkipReason:
    """Turn backend events and new outbox entries into runs; dead-letter malformed events."""
    client = redis.get_client()
    cursor = _load_cursor(context.cursor)
    requests: list[dg.RunRequest] = []
    dead = 0
    for entry_id, fields in client.xrange(EVENTS_STREAM, min=f"({cursor['events']}", count=MAX_EVENTS_PER_TICK):
        try:
            event = parse_event(entry_id, fields)
        except InvalidEvent as exc:
            dead_letter(client, stream=EVENTS_STREAM, entry_id=entry_id, fields=fields or {}, reason=str(exc))
            context.log.warning(f"event {entry_id} dead-lettered: {exc}")
            dead += 1
        else:
            if event.type == "notification.send_now":
                requests.append(dg.RunRequest(run_key=entry_id, job_name=deliver_notifications_job.name,
                                              tags={"impressox/event": event.type}))
            else:
                requests.append(dg.RunRequest(
                    run_key=entry_id,
                    job_name=apply_backend_event_job.name,
                    run_config={"ops": {"apply_backend_event": {"config": {
                        "entry_id": entry_id, "type": event.type, "data": fields["data"]}}}},
                    tags={"impressox/event": event.type},
                ))
        cursor["events"] = entry_id

    newest = client.xrevrange(NOTIFICATIONS_STREAM, count=1)
    if newest and _id_key(newest[0][0]) > _id_key(cursor["outbox"]):
        cursor["outbox"] = newest[0][0]
        requests.append(dg.RunRequest(run_key=f"outbox:{cursor['outbox']}", job_name=deliver_notifications_job.name,
                                      tags={"impressox/outbox": cursor["outbox"]}))
    stale = _stale_pending(client)
    if stale is not None:
        requests.append(dg.RunRequest(
            run_key=f"reclaim:{stale['message_id']}:{stale['times_delivered']}",
            job_name=deliver_notifications_job.name,
            tags={"impressox/reclaim": stale["message_id"]},
        ))
    new_cursor = json.dumps(cursor, sort_keys=True)
    if not requests:
        reason = f"no new events after {cursor['events']} and no new outbox entries"
        if dead:
            return dg.SensorResult(skip_reason=f"{dead} malformed event(s) dead-lettered; {reason}", cursor=new_cursor)
        return dg.SkipReason(reason)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)
