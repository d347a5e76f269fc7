"""`price_rule_sensor`: live price rules, one `price_alert_job` run per trigger.

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
delivers that entry itself (`jobs.market`). So an alert waits for one sensor interval and one run,
not for the snapshot and delivery schedules.

The sensor reads the time only from its `now` (epoch seconds, `time.time` unless a test passes a
clock of its own): the staleness of cached prices, the rests after a 429, the exchange info's age and
the rules' cooldowns and expiries are all measured against it.

A cursor that cannot be read (not JSON, another shape, wrong types) is logged as a warning and replaced
by an empty one: the next tick evaluates from the current prices, and the rule index's state (armed,
triggered, sequence numbers) keeps any alert from firing twice.
"""

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from impressox_pipelines.jobs.market import price_alert_job
from impressox_pipelines.market.ticks import refresh_quotes, run_tick, stale_watched_pairs
from impressox_pipelines.resources.price_feed import PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource


def read_cursor(raw: str | None) -> tuple[dict[str, tuple[int, str]], str | None]:
    """(pair → (epoch ms, price), warning): the last evaluated prices, and why the cursor was replaced."""
    if not raw:
        return {}, None
    try:
        prices = json.loads(raw)["prices"]
        seen = {}
        for pair, (ms, price) in prices.items():
            if not isinstance(pair, str) or not isinstance(ms, int) or isinstance(ms, bool) \
                    or not isinstance(price, str):
                raise TypeError("each price must be [epoch ms, decimal string]")
            if not math.isfinite(float(price)):
                raise ValueError("price is not finite")
            seen[pair] = (ms, price)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return {}, f"unreadable cursor {raw[:80]!r} ({type(exc).__name__}: {exc}): evaluating from current prices"
    return seen, None


def build_price_rule_sensor(interval_s: int, now: Callable[[], float] = time.time) -> dg.SensorDefinition:
    """`price_rule_sensor`, ticking every `interval_s` seconds, with `now` as its clock (epoch seconds)."""

    @dg.sensor(
        name="price_rule_sensor",
        job=price_alert_job,
        minimum_interval_seconds=interval_s,
        description="Matches the latest prices against the rule index; one price_alert_job run per trigger.",
    )
    def price_rule_sensor(
        context: dg.SensorEvaluationContext, redis: RedisResource, price_feed: PriceFeedResource
    ) -> dg.SensorResult:
        seen, warning = read_cursor(context.cursor)
        if warning:
            context.log.warning(warning)
        client = redis.get_client()
        tick_at = datetime.fromtimestamp(now(), UTC)
        stale = stale_watched_pairs(client, max_age_s=interval_s / 2, now=tick_at)
        priced = 0
        if stale:
            with price_feed.client(max_attempts=1) as feed:
                polite = refresh_quotes(client, feed, price_feed.coingecko_id_map(), stale, now)
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
        tick = run_tick(client, seen, tick_at)
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
