"""The demo's market step: seed demo rules around the current prices, then watch ticks in one process.

Each tick is a snapshot (the asset's code), the rule tick (the sensor's code) and, per trigger, the
alert run's code — the same engine, for demos and daemon-less checks. Not part of the code location:
the demo adds `price_rules_demo_job` to the definitions it runs.
"""

import time

import dagster as dg

from impressox_pipelines.assets.market import DEFAULT_WATCHLIST, PriceSnapshotsConfig, capture_snapshot
from impressox_pipelines.demo.market_rules import DEMO_PAIRS, demo_rule_set
from impressox_pipelines.market.alerts import record_and_enqueue
from impressox_pipelines.market.cache import read_latest
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.market.ticks import run_tick
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.price_feed import PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.stores import PRICE_ALERTS_COLLECTION


class PriceRulesDemoConfig(dg.Config):
    ticks: int = 8
    tick_interval_s: float = 1.0


@dg.op(description="Seed the demo rule set around the current prices, then run watch ticks without the daemon.")
def run_price_rules_demo(
    context: dg.OpExecutionContext,
    config: PriceRulesDemoConfig,
    price_feed: PriceFeedResource,
    mongo: MongoResource,
    redis: RedisResource,
) -> dict:
    """Each tick: a snapshot (the asset's code), the rule tick (the sensor's code) and, per trigger, the
    alert run's code — the same engine, in one process, for demos and daemon-less checks."""
    client = redis.get_client()
    index = RuleIndex(client)
    snap_config = PriceSnapshotsConfig(watchlist=sorted({*DEFAULT_WATCHLIST, *DEMO_PAIRS}))
    capture_snapshot(context.log, snap_config, price_feed, mongo, redis)
    rules = demo_rule_set(read_latest(client))
    for rule in rules:
        index.put(rule)
    seen: dict = {}
    fired = 0
    alerts = mongo.get_database()[PRICE_ALERTS_COLLECTION]
    for number in range(config.ticks):
        if number:
            time.sleep(config.tick_interval_s)
            capture_snapshot(context.log, snap_config, price_feed, mongo, redis)
        tick = run_tick(client, seen)
        seen = tick.seen
        for trigger in tick.evaluation.triggers if tick.evaluation else []:
            outcome = index.fire(trigger)
            if outcome.status != "stale":
                record_and_enqueue(client, alerts, outcome.rule, trigger)
                fired += 1
                context.log.info(f"alert {trigger.idempotency_key}: {trigger.pair} at {trigger.price}")
    summary = {"rules_seeded": len(rules), "ticks": config.ticks, "alerts_fired": fired}
    context.add_output_metadata(summary)
    return summary


@dg.job(description="The demo's market step: seed demo rules, then watch ticks against the price stand-in.",
        tags={"impressox/field": "market"})
def price_rules_demo_job() -> None:
    run_price_rules_demo()
