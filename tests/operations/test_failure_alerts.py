"""Operator alerts: a deliberately failing asset, the run-failure sensor, the storm budget and summary.

Messages go through python-telegram-bot to the project's Telegram stand-in (which also checks their
HTML), and the throttle's state lives in the embedded real Redis. The sensors run on a test clock: the
alert window passes when the test moves it.
"""

from __future__ import annotations

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
from impressox_pipelines.sensors.run_failure import build_operator_alert_sensors
from tests.helpers.processes import free_port

CHAT = "-1001234567890"


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

    def __init__(self, instance, settings, resources, clock):
        self.instance = instance
        self.resources = resources
        self.failure_sensor, self.summary_sensor = build_operator_alert_sensors(settings, now=clock)
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
def harness_factory(telegram, telegram_standin, data_dir, clock):
    instances = []

    def make(max_alerts=3, window_s=600, chat_id=CHAT, base_url=None):
        instance = dg.DagsterInstance.ephemeral()
        instances.append(instance)
        settings = OperatorAlertSettings(chat_id=chat_id, max_alerts=max_alerts, window_s=window_s,
                                         ui_url="http://dagster.example:3000")
        resources = {
            "telegram": telegram if base_url is None else telegram_standin.resource(data_dir, base_url=base_url),
            "redis": RedisResource(data_dir=str(data_dir)),
        }
        return Harness(instance, settings, resources, clock)

    yield make
    for instance in instances:
        instance.dispose()


def test_a_failed_run_alerts_operators_with_run_asset_and_first_error_line(harness_factory, telegram_standin):
    harness = harness_factory()
    assert harness.run("healthy_job").success
    failed = harness.run("exploding_job")
    assert not failed.success
    harness.tick_failures()

    messages = telegram_standin.received()
    assert len(messages) == 1, "a successful run alerts nobody; the failed one alerts once"
    text = messages[0]["text"]
    assert messages[0]["chat_id"] == int(CHAT) and messages[0]["parse_mode"] == "HTML"
    assert "exploding_job" in text and "exploding_asset" in text
    assert failed.run_id[:8] in text and f"/runs/{failed.run_id}" in text
    assert "ValueError: price feed answered HTML instead of JSON" in text
    assert "Traceback detail" not in text

    harness.tick_failures()
    assert len(telegram_standin.received()) == 1, "a second tick does not alert the same run again"


def test_a_failure_storm_sends_a_budget_of_alerts_then_one_summary(harness_factory, telegram_standin, clock):
    window_s = 600  # Redis keeps the window's key this long in real time: far longer than the test runs
    harness = harness_factory(max_alerts=2, window_s=window_s)
    runs = [harness.run("exploding_job").run_id for _ in range(6)]
    harness.tick_failures()
    assert len(telegram_standin.received()) == 2

    assert "no free slot" in harness.tick_summary(), "the summary waits for the window to free a slot"
    clock.advance(window_s - 0.5)
    assert "no free slot" in harness.tick_summary(), "the window has not passed yet"
    assert len(telegram_standin.received()) == 2
    clock.advance(0.8)  # the two alerts are more than a window old
    assert "sent a summary of 4" in harness.tick_summary()

    messages = telegram_standin.received()
    assert len(messages) == 3
    summary = messages[-1]["text"]
    assert "4 more failed runs" in summary and "exploding_job" in summary and "× 4" in summary
    assert "ValueError: price feed answered HTML instead of JSON" in summary
    alerted = {run_id[:8] for run_id in runs if any(run_id[:8] in m["text"] for m in messages[:2])}
    assert len(alerted) == 2
    assert harness.tick_summary() == "no failures held back"


def test_an_alert_that_cannot_be_sent_is_held_and_summarised_later(harness_factory, telegram_standin, data_dir):
    down = harness_factory(base_url=f"http://127.0.0.1:{free_port()}/bot")
    failed = down.run("exploding_job")
    down.tick_failures()
    assert telegram_standin.received() == []

    throttle = AlertThrottle(RedisResource(data_dir=str(data_dir)).get_client(), 3, 600)
    assert [f.run_id for f in throttle.peek_held()] == [failed.run_id]

    up = harness_factory()
    assert "sent a summary of 1" in up.tick_summary()
    assert failed.run_id[:8] in telegram_standin.received()[0]["text"]


def test_without_an_operator_chat_nothing_is_sent_and_the_sensors_stay_stopped(harness_factory,
                                                                                telegram_standin):
    harness = harness_factory(chat_id=None)
    assert harness.failure_sensor.default_status == dg.DefaultSensorStatus.STOPPED
    harness.run("exploding_job")
    harness.tick_failures()
    assert telegram_standin.received() == []
    assert "IMPRESSOX_OPERATOR_CHAT_ID is unset" in harness.tick_summary()


def test_alert_text_escapes_hostile_values_and_stays_short():
    failure = RunFailure(
        run_id="0123456789abcdef", job_name="job<&>", error="KeyError: '<b>' & " + "x" * 5000,
        failed_at=1_767_225_600.0, asset_keys=[f"asset_{i}" for i in range(30)], partition="2026-01-02",
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
