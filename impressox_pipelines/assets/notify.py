"""Notifications' contribution to the code location: delivery, backend events and daily digests.

No assets: delivering, applying an event and enqueueing digests are actions, so they are op jobs
(kept out of `main_job`, which selects assets). The rules live in `impressox_pipelines.notify`:
- `deliver_notifications_job` — drains the outbox through Telegram (or the local outbox file);
- `apply_backend_event_job` — validates and applies one backend event (requested by `redis_event_sensor`);
- `send_digests_job` — enqueues the digests due this hour (requested by `daily_digest_schedule`).
"""


import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from pymongo.errors import DuplicateKeyError

from impressox_pipelines.events import enqueue_notification
from impressox_pipelines.notify.backend_events import parse_event
from impressox_pipelines.notify.delivery import Deliverer, RetryPolicy
from impressox_pipelines.notify.digest import DigestQueue, day_moves, digest_due, digest_key, top_opportunities
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource

BACKEND_EVENTS_COLLECTION = "backend_events"
AIRDROPS_COLLECTION = "airdrop_opportunities"


class DeliveryConfig(dg.Config):
    max_entries: int = 100_000
    reclaim_idle_seconds: float = 300.0
    max_attempts: int = 5
    max_retry_after_seconds: float = 300.0


def _deliverer(context: dg.OpExecutionContext, config: DeliveryConfig, redis: RedisResource, mongo: MongoResource,
               channel: Any, telegram: TelegramResource) -> Deliverer:
    return Deliverer(
        redis_client=redis.get_client(),
        db=mongo.get_database(),
        channel=channel,
        consumer=f"run-{context.run_id[:8]}",
        limits=telegram.rate_limits(),
        retry=RetryPolicy(max_attempts=config.max_attempts, max_retry_after_s=config.max_retry_after_seconds),
        min_idle_ms=int(config.reclaim_idle_seconds * 1000),
    )


def _run_delivery(context: dg.OpExecutionContext, telegram: TelegramResource, deliver: Any) -> dict[str, Any]:
    """Open the channel, run `deliver(channel)` (a coroutine function) and close it; the report as a dict."""
    channel = telegram.channel()

    async def run() -> Any:
        try:
            return await deliver(channel)
        finally:
            await channel.close()

    report = asyncio.run(run()).as_dict()
    context.log.info(f"delivery via {channel.name}: {json.dumps(report)}")
    return {"channel": channel.name, **report}


@dg.op(description="Deliver every pending and new outbox entry (see impressox_pipelines.notify.delivery).")
def deliver_notifications(
    context: dg.OpExecutionContext,
    config: DeliveryConfig,
    redis: RedisResource,
    mongo: MongoResource,
    telegram: TelegramResource,
) -> dg.Output[dict]:
    started = datetime.now(UTC)
    report = _run_delivery(context, telegram, lambda channel: _deliverer(
        context, config, redis, mongo, channel, telegram).run(config.max_entries))
    elapsed = (datetime.now(UTC) - started).total_seconds()
    metadata = {
        "channel": report["channel"],
        "entries": report["entries"],
        "delivered": report["delivered"],
        "parts_sent": report["parts_sent"],
        "dead_lettered": report["dead_lettered"],
        "deactivated": report["deactivated"],
        "deferred": report["deferred"],
        "duplicates_suppressed": report["duplicates_suppressed"],
        "invalid_entries": report["invalid_entries"],
        "retries": report["retries"],
        "retry_after_waits": report["retry_after_waits"],
        "skipped": dg.MetadataValue.json(report["skipped"]),
        "errors": dg.MetadataValue.json(report["errors"]),
        "elapsed_s": round(elapsed, 3),
    }
    return dg.Output(report, metadata=metadata)


def deliver_outbox_entry(
    context: dg.OpExecutionContext,
    entry_id: str,
    redis: RedisResource,
    mongo: MongoResource,
    telegram: TelegramResource,
) -> dict[str, Any]:
    """Deliver one outbox entry from inside another run, with the delivery rules and default
    `DeliveryConfig` (`Deliverer.deliver_entry`); returns the delivery report as a dict."""
    config = DeliveryConfig()
    return _run_delivery(context, telegram, lambda channel: _deliverer(
        context, config, redis, mongo, channel, telegram).deliver_entry(entry_id))


@dg.job(
    description="Drain the notification outbox to Telegram (rate-limited, retried, idempotent).",
    # deploy/dagster.yaml runs one delivery at a time: Telegram's limits are per bot, not per run.
    tags={"impressox/telegram_delivery": "bot"},
)
def deliver_notifications_job() -> None:
    deliver_notifications()


class BackendEventConfig(dg.Config):
    entry_id: str
    type: str
    data: str  # the entry's `data` field, JSON as published


@dg.op(description="Validate one backend event, apply it, and record it in `backend_events`.")
def apply_backend_event(
    context: dg.OpExecutionContext, config: BackendEventConfig, mongo: MongoResource
) -> dg.Output[dict]:
    # Validated again here: run config can be edited in the launchpad, and the event may predate a change.
    event = parse_event(config.entry_id, {"type": config.type, "data": config.data})
    db = mongo.get_database()
    outcome = "recorded"
    if event.type == "preferences.updated":
        prefs = PreferenceStore(db).update(event.data)
        outcome = f"preferences of chat {prefs.chat_id} updated"
    try:
        db[BACKEND_EVENTS_COLLECTION].insert_one({
            "_id": event.entry_id, "type": event.type, "data": event.data, "outcome": outcome,
            "applied_at": datetime.now(UTC), "run_id": context.run_id,
        })
    except DuplicateKeyError:
        outcome += " (event already recorded)"
    context.log.info(f"{event.type} {event.entry_id}: {outcome}")
    return dg.Output({"type": event.type, "outcome": outcome},
                     metadata={"event_type": event.type, "entry_id": event.entry_id, "outcome": outcome})


@dg.job(description="Apply one backend event from the `impressox:events` stream.")
def apply_backend_event_job() -> None:
    apply_backend_event()


class DigestConfig(dg.Config):
    at: str  # ISO-8601 UTC instant of the hourly tick
    max_airdrops: int = 5


def _digest_moves(redis_client: Any, symbols: tuple[str, ...], start: datetime, end: datetime) -> list:
    """Moves of the watched symbols over [start, end] from the market monitor's price history in Redis."""
    from impressox_pipelines.market.cache import read_history

    observations = []
    since, until = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    for symbol in symbols:
        pair = symbol if "/" in symbol else f"{symbol}/USD"
        for at, price in read_history(redis_client, pair, since, until):
            observations.append({"symbol": symbol, "price": price, "at": at})
    return day_moves(observations, symbols)


def _digest_airdrop(doc: dict[str, Any]) -> dict[str, Any]:
    tweet = doc.get("primary_tweet_id")
    handle = doc.get("author_handle")
    return {
        "title": (doc.get("title") or doc.get("text") or "").strip()[:120] or doc.get("opportunity_id"),
        "score": doc.get("score"),
        "url": f"https://x.com/{handle}/status/{tweet}" if tweet and handle else None,
        "scam_flag": doc.get("scam_flag"),
        "text": doc.get("text"),
    }


@dg.op(description="Enqueue the digest of every subscriber whose local digest hour is now.")
def enqueue_digests(
    context: dg.OpExecutionContext, config: DigestConfig, redis: RedisResource, mongo: MongoResource
) -> dg.Output[dict]:
    at = datetime.fromisoformat(config.at)
    if at.tzinfo is None:
        raise dg.Failure(f"`at` must carry a UTC offset, got {config.at!r}")
    db, client = mongo.get_database(), redis.get_client()
    queue = DigestQueue(db)
    counts = {"subscribers": 0, "due": 0, "enqueued": 0, "already_enqueued": 0}
    for prefs in PreferenceStore(db).subscribers("digest"):
        counts["subscribers"] += 1
        local_date = digest_due(prefs, at)
        if local_date is None:
            continue
        counts["due"] += 1
        key = digest_key(prefs.chat_id, local_date)
        if queue.already_enqueued(key):
            counts["already_enqueued"] += 1
            continue
        # The digest covers the 24 hours before it; airdrop partitions are UTC days, so two of them.
        since = at - timedelta(hours=24)
        days = sorted({since.date().isoformat(), at.date().isoformat()})
        docs = db[AIRDROPS_COLLECTION].find({"partition_date": {"$in": days}, "scam_flag": {"$ne": True}})
        payload = {
            "local_date": local_date,
            "airdrops": top_opportunities([_digest_airdrop(d) for d in docs], prefs.keywords, config.max_airdrops),
            "moves": _digest_moves(client, prefs.watch_symbols, since, at),
            "deferred": queue.take(prefs.chat_id, key),
        }
        entry_id = enqueue_notification(client, kind="digest", idempotency_key=key, payload=payload,
                                        chat_id=prefs.chat_id)
        queue.mark_enqueued(key, prefs.chat_id, entry_id)
        counts["enqueued"] += 1
    context.log.info(f"digests at {at.isoformat()}: {counts}")
    return dg.Output(counts, metadata={**counts, "at": at.isoformat()})


@dg.job(description="Enqueue the daily digests due at one hourly tick.")
def send_digests_job() -> None:
    enqueue_digests()


@dg.schedule(
    cron_schedule="0 * * * *",
    job=send_digests_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_digest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every hour on the hour (UTC): enqueue the digests of the users whose local digest hour it is.

    Hourly rather than daily because every user has their own timezone and hour; each digest is keyed
    by chat and local date, so daylight-saving changes neither skip nor double one.
    """
    at = context.scheduled_execution_time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return dg.RunRequest(
        run_key=f"digests:{at.isoformat()}",
        run_config={"ops": {"enqueue_digests": {"config": {"at": at.isoformat()}}}},
        tags={"impressox/digest_hour": at.isoformat()},
    )


def notify_definitions() -> dg.Definitions:
    """The delivery, event and digest jobs, `redis_event_sensor` and `daily_digest_schedule`."""
    from impressox_pipelines.sensors.redis_events import redis_event_sensor

    return dg.Definitions(
        jobs=[deliver_notifications_job, apply_backend_event_job, send_digests_job],
        schedules=[daily_digest_schedule],
        sensors=[redis_event_sensor],
    )


def delivery_summary(defs: dg.Definitions) -> list[str]:
    """Demo summary: messages delivered (delivery-log records sent) and dead letters waiting."""
    from impressox_pipelines.events import DEAD_LETTER_STREAM
    from impressox_pipelines.notify.delivery import DELIVERIES_COLLECTION

    db = defs.resources["mongo"].get_database()
    sent = db[DELIVERIES_COLLECTION].count_documents({"status": "sent"})
    dead = defs.resources["redis"].get_client().xlen(DEAD_LETTER_STREAM)
    return [f"messages delivered: {sent}, dead-lettered: {dead}"]
