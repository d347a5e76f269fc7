"""End to end under the daemon: `dagster dev` with its sensors and schedules on, a price change served by
the price stand-in becomes one Telegram message at the Telegram stand-in, and a backend event published
through Redis takes effect — every wait polls the observable result, none is a fixed sleep."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from impressox_pipelines.events.backend import publish_event
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.standins.launcher import running_standins
from tests.e2e.harness import local_deployment, messages_to
from tests.helpers.waiting import wait_for

OWNER = 777001
SENSORS = ("price_snapshot_sensor", "price_rule_sensor", "redis_event_sensor")
SCHEDULES = ("main_schedule", "daily_digest_schedule")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed")
def test_price_change_and_backend_event_reach_users_under_the_daemon(tmp_path: Path):
    intervals = {"IMPRESSOX_PRICE_POLL_INTERVAL_S": "5", "IMPRESSOX_PRICE_RULE_INTERVAL_S": "5"}
    with running_standins(None, set_environ=False) as stand_ins, \
            local_deployment(tmp_path, stand_ins, intervals) as deployment:
        prices_url = stand_ins["IMPRESSOX_BINANCE_URL"]
        telegram_url = stand_ins["IMPRESSOX_TELEGRAM_API_URL"].removesuffix("/bot")
        data_dir = deployment.env["IMPRESSOX_DATA_DIR"]
        for sensor in SENSORS:
            deployment.cli("dagster", "sensor", "start", "-w", "workspace.yaml", sensor)
        for schedule in SCHEDULES:
            deployment.cli("dagster", "schedule", "start", "-w", "workspace.yaml", schedule)

        # The operator adds a rule; the price sits below its line and the rule sensor sees it there.
        httpx.post(f"{prices_url}/_admin/price", json={"pair": "BTC/USD", "price": "90000"}, timeout=10)
        deployment.cli("impressox", "rules", "add", "e2e-btc-100k", "--owner", str(OWNER), "--symbol", "BTC",
                       "--above", "100000")
        created = time.time()
        below_seen = wait_for(lambda: deployment.last_successful_run_end("price_snapshot_job", created),
                              timeout_s=240, what="a price snapshot after the rule was added")
        wait_for(lambda: any(t["timestamp"] > below_seen and t["status"] in ("SKIPPED", "SUCCESS")
                             for t in deployment.sensor_ticks("price_rule_sensor")),
                 timeout_s=120, what="a price_rule_sensor tick over the price below the line")
        assert messages_to(telegram_url, OWNER) == []

        # The backend publishes a preference change while the price crosses the line.
        redis = RedisResource(data_dir=data_dir)
        try:
            entry_id = publish_event(redis.get_client(), "preferences.updated", {
                "chat_id": OWNER, "subscriptions": {"price_alerts": True, "airdrops": True},
                "timezone": "Asia/Singapore"})
        finally:
            redis.close()
        httpx.post(f"{prices_url}/_admin/price", json={"pair": "BTC/USD", "price": "101250.5"}, timeout=10)

        alerts = wait_for(lambda: messages_to(telegram_url, OWNER), timeout_s=300,
                          what="the price alert at the Telegram stand-in")
        assert len(alerts) == 1
        assert "BTC" in alerts[0]["text"] and "101" in alerts[0]["text"]

        mongo = MongoResource(data_dir=data_dir)
        try:
            prefs = wait_for(lambda: mongo.get_database()["user_preferences"].find_one({"_id": OWNER}),
                             timeout_s=120, what="the backend event's preferences in MongoDB")
            assert prefs["subscriptions"]["airdrops"] is True
            assert prefs["timezone"] == "Asia/Singapore"
            applied = mongo.get_database()["backend_events"].find_one({"_id": entry_id})
            assert applied is not None and applied["type"] == "preferences.updated"
        finally:
            mongo.close()

        # The price stays above the line: further ticks must not alert again.
        last_alert = time.time()
        wait_for(lambda: sum(t["timestamp"] > last_alert for t in deployment.sensor_ticks("price_rule_sensor")) >= 2,
                 timeout_s=120, what="two more price_rule_sensor ticks")
        assert len(messages_to(telegram_url, OWNER)) == 1
