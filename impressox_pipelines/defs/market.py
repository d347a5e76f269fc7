"""The market monitor: price assets and checks, the snapshot and alert jobs, and their sensors."""

import dagster as dg

from impressox_pipelines.assets.market import price_candles, price_snapshots, price_snapshots_fresh
from impressox_pipelines.jobs.market import price_alert_job, price_snapshot_job
from impressox_pipelines.sensors.price_rules import build_price_rule_sensor
from impressox_pipelines.sensors.price_snapshots import build_price_snapshot_sensor
from impressox_pipelines.settings import Settings


def market_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[price_snapshots, price_candles],
        asset_checks=[price_snapshots_fresh],
        jobs=[price_snapshot_job, price_alert_job],
        sensors=[build_price_snapshot_sensor(price_snapshot_job, settings.price_poll_interval_s),
                 build_price_rule_sensor(settings.price_rule_interval_s)],
    )
