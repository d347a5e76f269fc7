"""Failure alerts to operators: a run-failure sensor and the summary sensor that closes a storm.

`run_failure_alert_sensor` sends the operators' Telegram chat (`IMPRESSOX_OPERATOR_CHAT_ID`) one message
per failed run — job, run id (linked to the UI when `IMPRESSOX_DAGSTER_UI_URL` is set), failed assets,
partition and the first line of the root error — within the sliding-window budget of
`operations.alerts.AlertThrottle`. Failures beyond the budget, or whose message could not be sent, are held in
Redis; `operator_alert_summary_sensor` sends them as one summary once the window frees a slot, so a
storm of hundreds of failures reaches operators as a few messages and none is lost. Both sensors read
the time from the `now` they are built with (epoch seconds, `time.time` by default): the window and the
failures' times are measured against it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import dagster as dg

from impressox_pipelines.connections.errors import safe_reason
from impressox_pipelines.operations.alerts import (
    AlertThrottle,
    OperatorAlertSettings,
    RunFailure,
    first_error_line,
    format_failure_alert,
    format_storm_summary,
)
from impressox_pipelines.operations.redaction import Redactor
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource


def _root_error(error: Any) -> Any:
    """Skip Dagster's wrappers (`DagsterExecutionStepExecutionError`, `DagsterResourceFunctionError`,
    …) down to the first error raised by our code or a library, which is the one operators can act on."""
    while error is not None and error.cls_name and error.cls_name.startswith("Dagster") and error.cause:
        error = error.cause
    return error


def describe_failure(context: dg.RunFailureSensorContext, redact: Redactor, failed_at: float) -> RunFailure:
    """The failed run as a `RunFailure` seen at `failed_at` (epoch seconds): failed steps' assets and the
    first root error line, redacted."""
    run = context.dagster_run
    asset_keys: list[str] = []
    errors: list[str] = []
    for event in context.get_step_failure_events():
        if event.step_key:
            # Asset steps are named after their asset key, path parts joined by "__".
            asset_keys.append(event.step_key.replace("__", "/"))
        error = _root_error(event.step_failure_data.error)
        if error is not None:
            errors.append(f"{error.cls_name}: {first_error_line(error.message.removeprefix(error.cls_name + ': '))}")
    if not errors:
        job_error = getattr(context.failure_event.event_specific_data, "error", None)
        root = _root_error(job_error)
        errors.append(first_error_line(root.message if root else context.failure_event.message))
    return RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        error=first_error_line(redact(errors[0])),
        failed_at=failed_at,
        asset_keys=sorted(set(asset_keys)),
        partition=run.tags.get("dagster/partition"),
    )


async def _send(telegram: TelegramResource, chat_id: str, text: str) -> dict:
    channel = telegram.channel()
    try:
        return await channel.send_message(chat_id, text, parse_mode="HTML")
    finally:
        await channel.close()


def build_operator_alert_sensors(
    settings: OperatorAlertSettings, now: Callable[[], float] = time.time
) -> list[dg.SensorDefinition]:
    """The two alert sensors for `settings`, with `now` as their clock (epoch seconds); running by default
    when an operator chat is configured."""
    default_status = dg.DefaultSensorStatus.RUNNING if settings.chat_id else dg.DefaultSensorStatus.STOPPED

    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        minimum_interval_seconds=30,
        default_status=default_status,
        description="Telegram operators about each failed run, within a budget; the rest go to a summary.",
    )
    def run_failure_alert_sensor(
        context: dg.RunFailureSensorContext, telegram: TelegramResource, redis: RedisResource
    ) -> None:
        redact = Redactor.from_environment()
        failure = describe_failure(context, redact, now())
        if settings.chat_id is None:
            context.log.warning(
                f"run {failure.run_id} of {failure.job_name} failed; no alert sent: IMPRESSOX_OPERATOR_CHAT_ID "
                "is unset"
            )
            return
        throttle = AlertThrottle(redis.get_client(), settings.max_alerts, settings.window_s)
        if not throttle.admit_alert(failure.failed_at):
            throttle.hold(failure)
            context.log.info(f"run {failure.run_id} failed; held for the next summary ({throttle.pending()} held)")
            return
        try:
            asyncio.run(_send(telegram, settings.chat_id, format_failure_alert(failure, settings.ui_url)))
        except Exception as exc:  # noqa: BLE001 - the summary retries it; the reason is logged, redacted
            throttle.hold(failure)
            context.log.error(f"alert for run {failure.run_id} not sent, held for the summary: "
                              f"{redact(safe_reason(exc))}")
            return
        context.log.info(f"alerted operators about run {failure.run_id} of {failure.job_name}")

    @dg.sensor(
        name="operator_alert_summary_sensor",
        minimum_interval_seconds=60,
        default_status=default_status,
        description="Send the failures held back by the alert budget as one summary message.",
    )
    def operator_alert_summary_sensor(
        context: dg.SensorEvaluationContext, telegram: TelegramResource, redis: RedisResource
    ) -> dg.SkipReason:
        if settings.chat_id is None:
            return dg.SkipReason("IMPRESSOX_OPERATOR_CHAT_ID is unset: no operator chat to alert")
        throttle = AlertThrottle(redis.get_client(), settings.max_alerts, settings.window_s)
        held = throttle.peek_held()
        if not held:
            return dg.SkipReason("no failures held back")
        if not throttle.try_acquire(now()):
            return dg.SkipReason(f"{len(held)} failures held; the alert window has no free slot yet")
        try:
            asyncio.run(_send(telegram, settings.chat_id, format_storm_summary(held, settings.ui_url)))
        except Exception as exc:  # noqa: BLE001 - kept for the next tick; the reason is logged, redacted
            redact = Redactor.from_environment()
            return dg.SkipReason(f"summary of {len(held)} failures not sent, retried next tick: "
                                 f"{redact(safe_reason(exc))}")
        throttle.release_held(len(held))
        # A sensor that requests no run reports what it did through its skip reason.
        return dg.SkipReason(f"sent a summary of {len(held)} held failures")

    return [run_failure_alert_sensor, operator_alert_summary_sensor]
