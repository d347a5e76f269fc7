"""Market jobs: `price_alert_job` fires one price alert (requested by `price_rule_sensor`);
`price_snapshot_job` takes one snapshot (requested by `price_snapshot_sensor`)."""

import dagster as dg

from impressox_pipelines.assets.market import price_snapshots
from impressox_pipelines.jobs.notify import run_delivery
from impressox_pipelines.market.alerts import record_and_enqueue
from impressox_pipelines.market.index import RuleIndex, Trigger
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.stores import PRICE_ALERTS_COLLECTION


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
    deliver the alert under `price_alert:<rule_id>:<seq>` in this run (no second delivery run: see
    `Deliverer.deliver_entry`); a retry of the same run repeats none of it (the delivery log keys each
    message part)."""
    trigger = Trigger.from_config(config.model_dump())
    client = redis.get_client()
    outcome = RuleIndex(client).fire(trigger)
    if outcome.status == "stale":
        context.log.info(f"trigger {trigger.run_key} not applied: {outcome.reason}")
        context.add_output_metadata({"outcome": "stale", "reason": outcome.reason})
        return "stale"
    alert = record_and_enqueue(client, mongo.get_database()[PRICE_ALERTS_COLLECTION], outcome.rule, trigger)
    delivery = run_delivery(context, redis, mongo, telegram, entry_id=alert.entry_id)
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


price_snapshot_job = dg.define_asset_job(
    "price_snapshot_job", selection=dg.AssetSelection.assets(price_snapshots),
    description="Take one price snapshot (requested by price_snapshot_sensor).",
)
