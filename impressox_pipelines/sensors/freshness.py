"""`freshness_checks_sensor`: runs each freshness check (`assets.freshness`) when its asset may have
become stale."""


import warnings

import dagster as dg


def build_freshness_checks_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)  # see assets.freshness
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            minimum_interval_seconds=120,
            name="freshness_checks_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
