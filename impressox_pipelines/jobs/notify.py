"""Notification jobs: `deliver_notifications_job` drains the outbox; `send_digests_job` (requested by
`daily_digest_schedule`) enqueues the digests due this hour. The rules live in `impressox_pipelines.notify`."""


import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import dagster as dg

from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.notify.delivery import Deliverer, RetryPolicy
from impressox_pipelines.notify.digest import DigestQueue, day_moves, digest_due, digest_key, top_opportunities
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.stores import OPPORTUNITIES_COLLECTION

# deploy/dagster.yaml runs one run with this tag at a time: Telegram's limits are per bot, not per run.
TELEGRAM_DELIVERY_TAG = {"impressox/telegram_delivery": "bot"}


class DeliveryConfig(dg.Config):
    max_entries: int = 100_000
    reclaim_idle_seconds: float = 300.0
    max_attempts: int = 5
    max_retry_after_seconds: float = 300.0
    ambiguous: Literal["resend", "skip"] = "resend"  # see impressox_pipelines.notify.delivery


def _deliverer(context: dg.OpExecutionContext, config: DeliveryConfig, redis: RedisResource, mongo: MongoResource,
               channel: Any, telegram: TelegramResource) -> Deliverer:
    return Deliverer(
        redis_client=redis.get_client(),
        raw_client=redis.get_bytes_client(),
        db=mongo.get_database(),
        channel=channel,
        consumer=f"run-{context.run_id[:8]}",
        limits=telegram.rate_limits(),
        retry=RetryPolicy(max_attempts=config.max_attempts, max_retry_after_s=config.max_retry_after_seconds,
                          ambiguous=config.ambiguous),
        min_idle_ms=int(config.reclaim_idle_seconds * 1000),
    )


def run_delivery(context: dg.OpExecutionContext, redis: RedisResource, mongo: MongoResource,
                 telegram: TelegramResource, *, entry_id: str | None = None,
                 config: DeliveryConfig | None = None) -> dict[str, Any]:
    """One delivery pass inside any run: the whole outbox, or only `entry_id` (`Deliverer.deliver_entry`).
    Returns the delivery report as a dict, with the channel's name."""
    config = config or DeliveryConfig()
    channel = telegram.channel()
    deliverer = _deliverer(context, config, redis, mongo, channel, telegram)

    async def run() -> Any:
        try:
            if entry_id is not None:
                return await deliverer.deliver_entry(entry_id)
            return await deliverer.run(config.max_entries)
        finally:
            await channel.close()

    report = asyncio.run(run()).as_dict()
    context.log.info(f"delivery via {channel.name}: {json.dumps(report)}")
    return {"channel": channel.name, **report}


def delivery_metadata(report: dict[str, Any]) -> dict[str, Any]:
    """A delivery report as run metadata: counts as numbers, reasons as JSON."""
    return {key: dg.MetadataValue.json(value) if isinstance(value, dict) else value for key, value in report.items()}


@dg.op(description="Deliver every pending and new outbox entry (see impressox_pipelines.notify.delivery).")
def deliver_notifications(
    context: dg.OpExecutionContext,
    config: DeliveryConfig,
    redis: RedisResource,
    mongo: MongoResource,
    telegram: TelegramResource,
) -> dg.Output[dict]:
    started = datetime.now(UTC)
    report = run_delivery(context, redis, mongo, telegram, config=config)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    return dg.Output(report, metadata={**delivery_metadata(report), "elapsed_s": round(elapsed, 3)})


@dg.job(description="Drain the notification outbox to Telegram (rate-limited, retried, idempotent).",
        tags=TELEGRAM_DELIVERY_TAG)
def deliver_notifications_job() -> None:
    deliver_notifications()


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
        docs = db[OPPORTUNITIES_COLLECTION].find({"partition_date": {"$in": days}, "scam_flag": {"$ne": True}})
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
