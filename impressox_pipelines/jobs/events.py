"""`apply_backend_events_job`: applies one batch of backend events (requested by `redis_event_sensor`)."""


import time

import dagster as dg

from impressox_pipelines.events.apply import EventApplier
from impressox_pipelines.events.batches import Batch, EventBatches
from impressox_pipelines.events.streams import read_between
from impressox_pipelines.jobs.notify import run_delivery
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.stores import EVENTS_STREAM

EVENT_BATCH_TAG = "impressox/event_batch"


class EventBatchConfig(dg.Config):
    first: str  # entry id of the batch's first event
    last: str  # entry id of its last event (inclusive)


@dg.op(description="Apply one batch of backend events in stream order; dead-letter what cannot be applied.")
def apply_backend_events(
    context: dg.OpExecutionContext,
    config: EventBatchConfig,
    redis: RedisResource,
    mongo: MongoResource,
    telegram: TelegramResource,
) -> dg.Output[dict]:
    """Read the batch's entries again (as bytes), apply each that the applied-events record does not
    hold yet, dead-letter the poison ones with their reason, then forget the batch and trim the stream
    (`events.batches`). A `notification.send_now` event runs one delivery pass here."""
    try:
        batch = Batch.from_key(f"{config.first}..{config.last}")
    except ValueError as exc:  # run config can be edited in the launchpad
        raise dg.Failure(f"not an event batch: {exc}") from None
    started = time.monotonic()
    client = redis.get_client()
    entries = read_between(redis.get_bytes_client(), EVENTS_STREAM, batch.first, batch.last)
    report = EventApplier(mongo.get_database(), client, run_id=context.run_id).apply_batch(entries)
    for entry_id, reason in report.dead_letters.items():
        context.log.warning(f"event {entry_id} dead-lettered: {reason}")
    metadata = {**report.as_metadata(), "batch": batch.key}
    metadata["dead_letter_reasons"] = dg.MetadataValue.json(metadata["dead_letter_reasons"])
    metadata["by_type"] = dg.MetadataValue.json(metadata["by_type"])
    if report.delivery_requested:
        metadata["delivery"] = dg.MetadataValue.json(run_delivery(context, redis, mongo, telegram))
    trimmed = EventBatches(client, redis.get_bytes_client(), now_ms=lambda: int(time.time() * 1000)).done(batch)
    metadata.update(stream_entries_trimmed=trimmed, elapsed_s=round(time.monotonic() - started, 3))
    context.log.info(f"events {batch.key}: {report.applied} applied, {report.already_applied} already applied, "
                     f"{len(report.dead_letters)} dead-lettered")
    return dg.Output({"applied": report.applied, "dead_lettered": len(report.dead_letters)}, metadata=metadata)


@dg.job(description="Apply one batch of backend events from the `impressox:events` stream.")
def apply_backend_events_job() -> None:
    apply_backend_events()
