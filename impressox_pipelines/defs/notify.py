"""Notifications and backend events: delivery, event batches, digests, and `redis_event_sensor`."""

import dagster as dg

from impressox_pipelines.events.batches import BatchPolicy
from impressox_pipelines.jobs.events import apply_backend_events_job
from impressox_pipelines.jobs.notify import daily_digest_schedule, deliver_notifications_job, send_digests_job
from impressox_pipelines.sensors.redis_events import build_redis_event_sensor
from impressox_pipelines.settings import Settings


def notify_definitions(settings: Settings) -> dg.Definitions:
    policy = BatchPolicy(max_events=settings.event_batch_size, max_wait_s=settings.event_max_wait_s,
                         redo_after_s=settings.event_redo_after_s)
    return dg.Definitions(
        jobs=[deliver_notifications_job, apply_backend_events_job, send_digests_job],
        schedules=[daily_digest_schedule],
        sensors=[build_redis_event_sensor(settings.event_sensor_interval_s, policy)],
    )
