"""`redis_event_sensor`: the one reader of the backend event stream, and the outbox's watchman.

Each tick (see `events.batches`):
- backend events after the cursor are cut into batches; each batch is one `apply_backend_events_job`
  run (`run_key` = `events:<first>..<last>`) and is recorded until its run applied it. Nothing is
  decoded here, so no entry, however malformed, can stop the sensor: the run dead-letters it.
- a recorded batch whose run failed or never started (the daemon was stopping) is requested again
  after `BatchPolicy.redo_after_s` unless a run of it is still queued or in progress (a run STARTED
  but silent for `STUCK_AFTER_S` counts as dead: its worker was killed);
- when the outbox holds entries its delivery group has not read yet, one `deliver_notifications_job`
  run is requested (keyed by the newest entry); when an entry has sat unacknowledged for
  `RECLAIM_IDLE_MS` (its run crashed), one keyed by that entry and its delivery count, which reclaims it.

The cursor is JSON `{"events": "<id of the last event requested>"}`. A cursor that cannot be read (not
JSON, another shape, an id that is not a stream id) is logged as a warning and replaced by the start
of the stream: batches already applied are then skipped by the applied-events record.
"""


import json
import time
from collections.abc import Callable

import dagster as dg
import redis as redis_lib

from impressox_pipelines.events.batches import Batch, BatchPolicy, EventBatches
from impressox_pipelines.events.streams import START, entry_id_text, last_entry_id, parse_entry_id
from impressox_pipelines.jobs.events import EVENT_BATCH_TAG, apply_backend_events_job
from impressox_pipelines.jobs.notify import deliver_notifications_job
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.stores import DELIVERY_GROUP, NOTIFICATIONS_STREAM

RECLAIM_IDLE_MS = 300_000
STUCK_AFTER_S = 600  # an apply run takes seconds; ten minutes without an event means its worker is gone
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]


def read_cursor(raw: str | None) -> tuple[str, str | None]:
    """(events id, warning): the id to read after, and why the cursor was replaced, if it was."""
    if not raw:
        return START, None
    try:
        cursor = json.loads(raw)
        events = cursor["events"]
        parse_entry_id(events)
    except (ValueError, TypeError, KeyError) as exc:
        return START, f"unreadable cursor {raw[:80]!r} ({type(exc).__name__}): reading the stream from its start"
    return events, None


def _in_progress(instance: dg.DagsterInstance, batch: Batch, now_ms: int) -> bool:
    """Whether a run of `batch` is queued or running. A run STARTED but silent for `STUCK_AFTER_S` is
    taken for dead: its worker was killed with the deployment (local run workers report no health)."""
    for record in instance.get_run_records(dg.RunsFilter(tags={EVENT_BATCH_TAG: batch.key}, statuses=IN_PROGRESS)):
        if record.dagster_run.status != dg.DagsterRunStatus.STARTED:
            return True
        if now_ms - record.update_timestamp.timestamp() * 1000 < STUCK_AFTER_S * 1000:
            return True
    return False


def _batch_request(batch: Batch) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=batch.run_key,
        job_name=apply_backend_events_job.name,
        run_config={"ops": {"apply_backend_events": {"config": {"first": batch.first, "last": batch.last}}}},
        tags={EVENT_BATCH_TAG: batch.key, "impressox/events": str(batch.count or "")},
    )


def _outbox_requests(client: redis_lib.Redis) -> list[dg.RunRequest]:
    """A delivery run when the group has unread entries, and one per reclaimable stale entry."""
    newest = last_entry_id(client, NOTIFICATIONS_STREAM)
    if newest is None:
        return []
    try:
        groups = {entry_id_text(g["name"]): g for g in client.xinfo_groups(NOTIFICATIONS_STREAM)}
        stale = client.xpending_range(NOTIFICATIONS_STREAM, DELIVERY_GROUP, min="-", max="+", count=1,
                                      idle=RECLAIM_IDLE_MS)
    except redis_lib.ResponseError:  # no stream or no group yet
        groups, stale = {}, []
    requests = []
    group = groups.get(DELIVERY_GROUP)
    delivered = entry_id_text(group["last-delivered-id"]) if group else START
    if parse_entry_id(newest) > parse_entry_id(delivered):
        requests.append(dg.RunRequest(run_key=f"outbox:{newest}", job_name=deliver_notifications_job.name,
                                      tags={"impressox/outbox": newest}))
    if stale:
        entry = stale[0]
        requests.append(dg.RunRequest(
            run_key=f"reclaim:{entry['message_id']}:{entry['times_delivered']}",
            job_name=deliver_notifications_job.name,
            tags={"impressox/reclaim": entry_id_text(entry["message_id"])},
        ))
    return requests


def build_redis_event_sensor(interval_s: int, policy: BatchPolicy,
                             now_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> dg.SensorDefinition:
    """The sensor, ticking every `interval_s` seconds; `now_ms` is its clock (epoch milliseconds)."""

    @dg.sensor(
        name="redis_event_sensor",
        jobs=[apply_backend_events_job, deliver_notifications_job],
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One apply run per batch of backend events; delivery runs for new or stale outbox entries.",
    )
    def redis_event_sensor(context: dg.SensorEvaluationContext, redis: RedisResource) -> dg.SensorResult:
        client = redis.get_client()
        after, warning = read_cursor(context.cursor)
        if warning:
            context.log.warning(warning)
        batches = EventBatches(client, redis.get_bytes_client(), policy, now_ms=now_ms)
        redo = [b for b in batches.overdue() if not _in_progress(context.instance, b, now_ms())]
        new, cursor = batches.plan(after)
        batches.record(redo + new)  # before the cursor moves: a lost tick is redone, never skipped
        requests = [_batch_request(b) for b in redo + new] + _outbox_requests(client)
        for batch in redo:
            context.log.warning(f"event batch {batch.key} requested again (attempt {batch.attempt}): "
                                f"its run failed or never started")
        new_cursor = json.dumps({"events": cursor})
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"no new events after {cursor}, outbox read"),
                                   cursor=new_cursor)
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return redis_event_sensor
