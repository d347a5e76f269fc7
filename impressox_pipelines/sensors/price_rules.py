"""`price_rule_sensor` and `price_alert_job`: live price rules, one alert run per trigger.

Each tick first prices the watched pairs whose cached price is older than half the sensor's interval
(`market.ticks.refresh_quotes`: one request to Binance, CoinGecko for the rest, never waiting out a
rate limit; a source resting after a 429, whoever received it, is not asked, and Binance's exchange
info comes from the hour-long cache in Redis — see `market.feed_state`), then reads the latest-price
cache, asks the rule index for the rules whose state can change (`market.ticks.run_tick`), applies
re-arm/cooldown/expiry transitions, and requests one
`price_alert_job` run per newly triggered rule with `run_key = "<rule_id>:<seq>"`: a repeated tick or a
slow run yields the same key, which Dagster launches only once. The cursor (JSON: pair → last evaluated
`[epoch ms, price]`) is stored by Dagster, so crossings are measured from the last evaluated price
across daemon restarts.

The alert run moves the rule's state, stores the alert, enqueues it in the notification outbox and
delivers that entry at once (`deliver_outbox_entry`); the outbox's own delivery run then finds it
sent. So an alert waits for one sensor interval and one run, not for the snapshot and delivery
schedules.
"""

import json
import os

import dagster as dg

from impressox_pipelines.assets.notify import deliver_outbox_entry
from impressox_pipelines.market.alerts import ALERTS_COLLECTION, record_and_enqueue
from impressox_pipelines.market.index import RuleIndex, Trigger
from impressox_pipelines.market.ticks import refresh_quotes, run_tick, stale_watched_pairs
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.price_feed import PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource

INTERVAL_VARIABLE = "IMPRESSOX_PRICE_RULE_INTERVAL_S"
DEFAULT_INTERVAL_S = 10


class PriceAlertConfig(dg.Config):
    """One trigger, as the sensor saw it (all strings; see `market.index.Trigger`)."""

    rule_id: str
    seq: str
    version: str
    owner_chat_id: str
    pair: str
    price: str
    previous: str = ""
    observed_at: str
    change_pct: str = ""


@dg.op(description="Apply one trigger atomically in Redis, store the alert in MongoDB, enqueue and deliver it.")
def fire_price_alert(
    context: dg.OpExecutionContext,
    config: PriceAlertConfig,
    redis: RedisResource,
    mongo: MongoResource,
    telegram: TelegramResource,
) -> str:
    """Move the rule's state (armed → triggered / cooldown / disabled) once, then store, enqueue and
    deliver the alert under `price_alert:<rule_id>:<seq>`; a retry of the same run repeats none of it
    (the delivery log keys each message part)."""
    trigger = Trigger.from_config(config.model_dump())
    client = redis.get_client()
    outcome = RuleIndex(client).fire(trigger)
    if outcome.status == "stale":
        context.log.info(f"trigger {trigger.run_key} not applied: {outcome.reason}")
        context.add_output_metadata({"outcome": "stale", "reason": outcome.reason})
        return "stale"
    alert = record_and_enqueue(client, mongo.get_database()[ALERTS_COLLECTION], outcome.rule, trigger)
    delivery = deliver_outbox_entry(context, alert.entry_id, redis, mongo, telegram)
    context.add_output_metadata({
        "outcome": outcome.status, "rule_status": str(outcome.state.status), "alert_key": alert.key,
        "alert_stored_now": alert.stored, "outbox_entry": alert.entry_id,
        "enqueued_now": alert.enqueued, "delivery": dg.MetadataValue.json(delivery),
    })
    return outcome.status


@dg.job(description="Fire one price alert (requested by price_rule_sensor with run_key rule_id:seq).",
        tags={"impressox/field": "market"})
def price_alert_job() -> None:
    fire_price_alert()


def build_price_rule_sensor(interval_s: int) -> dg.SensorDefinition:
    @dg.sensor(
        name="price_rule_sensor",
        job=price_alert_job,
        minimum_interval_seconds=interval_s,
        description="Matches the latest prices against the rule index; one price_alert_job run per trigger.",
    )
    def price_rule_sensor(
        context: dg.SensorEvaluationContext, redis: RedisResource, price_feed: PriceFeedResource
    ) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        seen = {pair: (int(ms), price) for pair, (ms, price) in cursor.get("prices", {}).items()}
        client = redis.get_client()
        stale = stale_watched_pairs(client, max_age_s=interval_s / 2)
        priced = 0
        if stale:
            with price_feed.client(max_attempts=1) as feed:
                polite = refresh_quotes(client, feed, price_feed.coingecko_id_map(), stale)
            priced = len(polite.snapshot.quotes)
            if polite.exchange_info_note:
                context.log.warning(f"binance {polite.exchange_info_note}")
            for source, report in polite.snapshot.sources.items():
                if report.skipped:
                    context.log.warning(f"{source} skipped this tick: {report.skipped}")
            for rest in polite.rested.values():
                context.log.warning(f"rate limited, for every process: {rest.reason}")
            for name, reason in polite.snapshot.missing.items():
                context.log.warning(f"{name}: not priced this tick: {reason}")
        tick = run_tick(client, seen)
        new_cursor = json.dumps({"prices": {pair: list(v) for pair, v in sorted(tick.seen.items())}})
        if tick.evaluation is None:
            return dg.SensorResult(skip_reason=dg.SkipReason("no price newer than the last tick"), cursor=new_cursor)
        evaluation = tick.evaluation
        for problem in evaluation.problems:
            context.log.warning(f"rule skipped: {problem}")
        requests = [
            dg.RunRequest(
                run_key=trigger.run_key,
                run_config={"ops": {"fire_price_alert": {"config": trigger.to_config()}}},
                tags={"impressox/rule_id": trigger.rule_id, "impressox/pair": trigger.pair},
            )
            for trigger in evaluation.triggers
        ]
        summary = (f"{priced} of {len(stale)} stale pair(s) priced, "
                   f"{tick.fresh_pairs} pair(s) ticked, {evaluation.in_scope} active rule(s) in scope, "
                   f"{evaluation.candidates} loaded, {len(requests)} triggered, "
                   f"transitions {dict(evaluation.transitions) or '{}'}")
        context.log.info(summary)
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"no rule triggered: {summary}"), cursor=new_cursor)
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return price_rule_sensor


def price_rule_sensor_interval() -> int:
    """`IMPRESSOX_PRICE_RULE_INTERVAL_S` (default 10 s), read when the definitions are built."""
    return int(os.environ.get(INTERVAL_VARIABLE) or DEFAULT_INTERVAL_S)
