"""`price_snapshot_sensor`: keeps `price_snapshots` fresh by requesting it every poll interval."""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg


def build_price_snapshot_sensor(job: dg.UnresolvedAssetJobDefinition, interval_s: int,
                                now: Callable[[], float] = time.time) -> dg.SensorDefinition:
    """The sensor for `job`, every `interval_s` seconds; `now` is its clock (epoch seconds)."""

    @dg.sensor(
        name="price_snapshot_sensor",
        job=job,
        minimum_interval_seconds=interval_s,
        description=f"Requests a price snapshot every {interval_s} s (run key = the interval's number).",
    )
    def price_snapshot_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        # One run per interval: a tick evaluated twice in the same interval reuses the run key.
        bucket = int(now() // interval_s)
        return dg.RunRequest(run_key=f"price_snapshots:{interval_s}:{bucket}")

    return price_snapshot_sensor
