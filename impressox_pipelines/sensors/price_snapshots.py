"""`price_snapshot_sensor`: keeps `price_snapshots` fresh by requesting it every poll interval."""

from __future__ import annotations

import os
import time

import dagster as dg

POLL_VARIABLE = "IMPRESSOX_PRICE_POLL_INTERVAL_S"
DEFAULT_POLL_INTERVAL_S = 60


def price_poll_interval() -> int:
    """`IMPRESSOX_PRICE_POLL_INTERVAL_S` (default 60 s), read when the definitions are built."""
    return int(os.environ.get(POLL_VARIABLE) or DEFAULT_POLL_INTERVAL_S)


def build_price_snapshot_sensor(job: dg.UnresolvedAssetJobDefinition, interval_s: int) -> dg.SensorDefinition:
    @dg.sensor(
        name="price_snapshot_sensor",
        job=job,
        minimum_interval_seconds=interval_s,
        description=f"Requests a price snapshot every {interval_s} s (run key = the interval's number).",
    )
    def price_snapshot_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        # One run per interval: a tick evaluated twice in the same interval reuses the run key.
        bucket = int(time.time() // interval_s)
        return dg.RunRequest(run_key=f"price_snapshots:{interval_s}:{bucket}")

    return price_snapshot_sensor
