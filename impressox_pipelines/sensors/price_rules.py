"""`price_rule_sensor` and `price_alert_job`: live price rules, one alert run per trigger.

Each tick reads the latest-price cache, asks the rule index for the rules whose state can change
(`market.ticks.run_tick`), applies re-arm/cooldown/expiry transitions, and requests one
`price_alert_job` run per newly triggered rule with `run_key = "<rule_id>:<seq>"`: a repeated tick or a
slow run yields the same key, which Dagster launches only once. The cursor (JSON: pair → last evaluated
`[epoch ms, price]`) is stored by Dagster, so crossings are measured from the last evaluated price
across daemon restarts.
"""

import json
import os

import dagster as dg

from impressox_pipelines.market.alerts import ALERTS_COLLECTION, record_and_enqueue
from impressox_pipelines.market.index import RuleIndex, Trigger
from impressox_pipelines.market.ticks import run_tick
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource

INTERVAL_VARIABLE = "IMPRESSOX_PRICE_RULE_INTERVAL_S"
DEFAULT_INTERVAL_S = 30


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


@dg.op(description="Apply one trigger atomically in Redis, store the alert in MongoDB and enqueue the message.")
def fire_price_alert(
    context: dg.OpExecutionContext, config: PriceAlertConfig, redis: RedisResource, mongo: MongoResource
) -> str:
    """Move the rule's state (armed → triggered / cooldown / disabled) once, then store and enqueue the
    alert under `price_alert:<rule_id>:<seq>`; a retry of the same run repeats neither."""
    trigger = Trigger.from_config(config.model_dump())
    client = redis.get_client()
    outcome = RuleIndex(client).fire(trigger)
    if outcome.status == "stale":
        context.log.info(f"trigger {trigger.run_key} not applied: {outcome.reason}")
        context.add_output_metadata({"outcome": "stale", "reason": outcome.reason})
        return "stale"
    alert = record_and_enqueue(client, mongo.get_database()[ALERTS_COLLECTION], outcome.rule, trigger)
    context.add_output_metadata({
        "outcome": outcome.status, "rule_status": str(outcome.state.status), "alert_key": alert.key,
        "alert_stored_now": alert.stored, "outbox_entry": alert.entry_id or "(enqueued earlier)",
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
    def price_rule_sensor(context: dg.SensorEvaluationContext, redis: RedisResource) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        seen = {pair: (int(ms), price) for pair, (ms, price) in cursor.get("prices", {}).items()}
        tick = run_tick(redis.get_client(), seen)
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
        summary = (f"{tick.fresh_pairs} pair(s) ticked, {evaluation.in_scope} active rule(s) in scope, "
                   f"{evaluation.candidates} loaded, {len(requests)} triggered, "
                   f"transitions {dict(evaluation.transitions) or '{}'}")
        context.log.info(summary)
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason(f"no rule triggered: {summary}"), cursor=new_cursor)
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)

    return price_rule_sensor


def price_rule_sensor_interval() -> int:
    """`IMPRESSOX_PRICE_RULE_INTERVAL_S` (default 30 s), read when the definitions are built."""
    return int(os.environ.get(INTERVAL_VARIABLE) or DEFAULT_INTERVAL_S)
