"""Operator alerts: a deliberately failing asset, the run-failure sensor, the storm budget and summary.

Messages go through python-telegram-bot to the project's Telegram stand-in (which also checks their
HTML), and the throttle's state lives in the embedded real Redis.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest

from impressox_pipelines.operations.alerts import (
    AlertThrottle,
    OperatorAlertSettings,
    RunFailure,
    format_failure_alert,
    format_storm_summary,
)
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.sensors.run_failure import build_operator_alert_sensors

CHAT = "-1001234567890"
TOKEN = "123456:operator-alert-test-token"


@dg.asset
def exploding_asset() -> None:
    raise ValueError("price feed answered HTML instead of JSON\nTraceback detail that must not be sent")


@dg.asset
def healthy_asset() -> int:
    return 1


exploding_job = dg.define_asset_job("exploding_job", selection=[exploding_asset])
healthy_job = dg.define_asset_job("healthy_job", selection=[healthy_asset])


class Harness:
    """The alert sensors over a real instance, with real resources, ticked like the daemon does."""

    def __init__(self, instance, settings, resources):
        self.instance = instance
        self.resources = resources
        self.failure_sensor, self.summary_sensor = build_operator_alert_sensors(settings)
        self.defs = dg.Definitions(
            assets=[exploding_asset, healthy_asset], jobs=[exploding_job, healthy_job],
            sensors=[self.failure_sensor, self.summary_sensor], resources=resources,
        )
        self.repo = self.defs.get_repository_def()
        self.cursor = None
        self.tick_failures()  # the first tick only places the cursor, as in the daemon

    def run(self, job_name: str) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job_name).execute_in_process(instance=self.instance, raise_on_error=False)

    def tick_failures(self) -> None:
        for _ in range(10):
            with dg.build_sensor_context(instance=self.instance, repository_def=self.repo,
                                         resources=self.resources, cursor=self.cursor) as context:
                self.failure_sensor.evaluate_tick(context)
            if context.cursor == self.cursor:
                return
            self.cursor = context.cursor

    def tick_summary(self) -> str:
        with dg.build_sensor_context(instance=self.instance, repository_def=self.repo,
                                     resources=self.resources) as context:
            return self.summary_sensor.evaluate_tick(context).skip_message


@pytest.fixture
def harness_factory(bot_api, data_dir):
    instances = []

    def make(max_alerts=3, window_s=600, chat_id=CHAT, base_url=None):
        instance = dg.DagsterInstance.ephemeral()
        instances.append(instance)
        settings = OperatorAlertSettings(chat_id=chat_id, max_alerts=max_alerts, window_s=window_s,
                                         ui_url="http://dagster.example:3000")
        resources = {
            "telegram": TelegramResource(bot_token=TOKEN, base_url=base_url or bot_api.base_url),
            "redis": RedisResource(data_dir=str(data_dir)),
        }
        return Harness(instance, settings, resources)

    yield make
    for instance in instances:
        instance.dispose()


def test_a_failed_run_alerts_operators_with_run_asset_and_first_error_line(harness_factory, bot_api):
    harness = harness_factory()
    assert harness.run("healthy_job").success
    failed = harness.run("exploding_job")
    assert not failed.success
    harness.tick_failures()

    messages = bot_api.received()
    assert len(messages) == 1, "a successful run alerts nobody; the failed one alerts once"
    text = messages[0]["text"]
    assert messages[0]["chat_id"] == int(CHAT) and messages[0]["parse_mode"] == "HTML"
    assert "exploding_job" in text and "exploding_asset" in text
    assert failed.run_id[:8] in text and f"/runs/{failed.run_id}" in text
    assert "ValueError: price feed answered HTML instead of JSON" in text
    assert "Traceback detail" not in text

    harness.tick_failures()
    assert len(bot_api.received()) == 1, "a second tick does not alert the same run again"


def test_a_failure_storm_sends_a_budget_of_alerts_then_one_summary(harness_factory, bot_api):
    window_s = 8
    harness = harness_factory(max_alerts=2, window_s=window_s)
    runs = [harness.run("exploding_job").run_id for _ in range(6)]
    ticked = time.monotonic()
    harness.tick_failures()
    assert len(bot_api.received()) == 2

    assert "no free slot" in harness.tick_summary(), "the summary waits for the window to free a slot"
    assert len(bot_api.received()) == 2
    time.sleep(max(0.0, ticked + window_s + 0.3 - time.monotonic()))
    assert "sent a summary of 4" in harness.tick_summary()

    messages = bot_api.received()
    assert len(messages) == 3
    summary = messages[-1]["text"]
    assert "4 more failed runs" in summary and "exploding_job" in summary and "× 4" in summary
    assert "ValueError: price feed answered HTML instead of JSON" in summary
    alerted = {run_id[:8] for run_id in runs if any(run_id[:8] in m["text"] for m in messages[:2])}
    assert len(alerted) == 2
    assert harness.tick_summary() == "no failures held back"


def test_an_alert_that_cannot_be_sent_is_held_and_summarised_later(harness_factory, bot_api, data_dir):
    from tests.operations.conftest import free_port

    down = harness_factory(base_url=f"http://127.0.0.1:{free_port()}/bot")
    failed = down.run("exploding_job")
    down.tick_failures()
    assert bot_api.received() == []

    throttle = AlertThrottle(RedisResource(data_dir=str(data_dir)).get_client(), 3, 600)
    assert [f.run_id for f in throttle.peek_held()] == [failed.run_id]

    up = harness_factory()
    assert "sent a summary of 1" in up.tick_summary()
    assert failed.run_id[:8] in bot_api.received()[0]["text"]


def test_without_an_operator_chat_nothing_is_sent_and_the_sensors_stay_stopped(harness_factory, bot_api):
    harness = harness_factory(chat_id=None)
    assert harness.failure_sensor.default_status == dg.DefaultSensorStatus.STOPPED
    harness.run("exploding_job")
    harness.tick_failures()
    assert bot_api.received() == []
    assert "IMPRESSOX_OPERATOR_CHAT_ID is unset" in harness.tick_summary()


def test_alert_text_escapes_hostile_values_and_stays_short():
    failure = RunFailure(
        run_id="0123456789abcdef", job_name="job<&>", error="KeyError: '<b>' & " + "x" * 5000,
        failed_at=time.time(), asset_keys=[f"asset_{i}" for i in range(30)], partition="2026-01-02",
    )
    text = format_failure_alert(failure, ui_url="http://ui")
    assert "job&lt;&amp;&gt;" in text and "&#x27;&lt;b&gt;&#x27; &amp;" in text
    assert "and 22 more" in text
    assert len(text) < 1200
    summary = format_storm_summary([failure] * 500)
    assert "500 more failed runs" in summary and len(summary) < 4096


def test_settings_reject_nonsense_numbers(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_OPERATOR_ALERTS_PER_WINDOW", "0")
    with pytest.raises(ValueError, match="IMPRESSOX_OPERATOR_ALERTS_PER_WINDOW"):
        OperatorAlertSettings.from_environment()
    monkeypatch.setenv("IMPRESSOX_OPERATOR_ALERTS_PER_WINDOW", "five")
    with pytest.raises(ValueError, match="five"):
        OperatorAlertSettings.from_environment()
