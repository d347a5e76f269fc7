"""Operations: freshness checks with their sensor, and the operators' failure-alert sensors."""

import dagster as dg

from impressox_pipelines.assets.freshness import freshness_checks
from impressox_pipelines.operations.alerts import OperatorAlertSettings
from impressox_pipelines.sensors.freshness import build_freshness_checks_sensor
from impressox_pipelines.sensors.run_failure import build_operator_alert_sensors
from impressox_pipelines.settings import Settings


def operations_definitions(settings: Settings) -> dg.Definitions:
    """Raises ValueError when an `IMPRESSOX_OPERATOR_*` number is not a positive integer."""
    checks = freshness_checks()
    alert_sensors = build_operator_alert_sensors(OperatorAlertSettings.from_environment())
    return dg.Definitions(asset_checks=checks, sensors=[build_freshness_checks_sensor(checks), *alert_sensors])
