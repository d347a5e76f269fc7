"""Structured logs carry run id and asset key, and no secret reaches a log line, the event log or an alert.

The secrets test sets fake secrets the way production does (a bot token, a Redis URL with a password on
a real password-protected redis-server, a MongoDB URI with a password, a CoinGecko API key, and an X
accounts file with session cookies and a proxy password), builds the project's own resources from them,
runs a job whose asset uses Redis, Telegram and the X account pool for real and another whose asset
needs the unreachable MongoDB, lets the failure sensor alert the operators, and then searches every
output for the secrets: the JSON log file written by the handler
configured in deploy/dagster.yaml, the process's stdout and stderr, every event of the event log, and
the messages the Telegram stand-in received.
"""

import json
import logging
import os

import dagster as dg
import pytest
import yaml

from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.operations.alerts import OperatorAlertSettings
from impressox_pipelines.operations.logs import JsonFormatter, RedactSecretsFilter, record_fields
from impressox_pipelines.resources import build_resources
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.resources.x_scraper import XScraperResource
from impressox_pipelines.sensors.run_failure import build_operator_alert_sensors
from tests.helpers.processes import free_port
from tests.operations.production import DEPLOY

OPERATORS = "-1009876543210"
log = logging.getLogger("impressox_pipelines.operations.secrets_probe")


@dg.asset
def deliver_probe(context: dg.AssetExecutionContext, redis: RedisResource, telegram: TelegramResource,
                  x_scraper: XScraperResource) -> dg.MaterializeResult:
    import asyncio

    pool = x_scraper.account_pool(MongoResource(data_dir=os.environ["IMPRESSOX_DATA_DIR"]).get_database())
    context.log.info(f"{len(pool.accounts)} X accounts loaded from {x_scraper.accounts_file}")

    entry = enqueue_notification(redis.get_client(), kind="text", idempotency_key="probe:1",
                                 payload={"text": "hello"}, chat_id=42)
    channel = telegram.channel()

    async def send():
        try:
            return await channel.send_message(42, "probe <b>ok</b>")
        finally:
            await channel.close()

    sent = asyncio.run(send())
    context.log.info(f"queued {entry} and sent message {sent['message_id']} through {telegram.endpoint}")
    mongo_endpoint = MongoResource(uri=os.environ["IMPRESSOX_MONGODB_URI"]).endpoint
    log.info("redis at %s, mongo at %s", redis.endpoint, mongo_endpoint)
    return dg.MaterializeResult(metadata={"message_id": sent["message_id"], "redis": redis.endpoint})


@dg.asset(deps=[deliver_probe])
def store_probe(mongo: MongoResource) -> None:
    mongo.collection("probe").insert_one({"ok": True})


# Two jobs: in-process execution initialises every resource of a job up front, and the first must
# succeed with Redis and Telegram while the second fails on MongoDB.
deliver_job = dg.define_asset_job("deliver_probe_job", selection=[deliver_probe])
store_job = dg.define_asset_job("store_probe_job", selection=[store_probe])


@pytest.fixture
def fake_secrets(monkeypatch, redis_server, telegram_standin, tmp_path) -> dict[str, str]:
    cookies = {"auth_token": "FAKEauth" + os.urandom(8).hex(), "ct0": "FAKEct0" + os.urandom(8).hex(),
               "proxy_password": "FAKEproxy" + os.urandom(6).hex()}
    accounts = tmp_path / "x_accounts.json"
    accounts.write_text(json.dumps([{
        "username": "probe_account", "auth_token": cookies["auth_token"], "ct0": cookies["ct0"],
        "proxy": f"http://user:{cookies['proxy_password']}@127.0.0.1:{free_port()}",
    }]))
    monkeypatch.setenv("IMPRESSOX_X_ACCOUNTS_FILE", str(accounts))
    secrets = {
        "IMPRESSOX_TELEGRAM_BOT_TOKEN": "918273:FAKE-bot-token-" + os.urandom(8).hex(),
        "IMPRESSOX_REDIS_URL": redis_server.url,
        "IMPRESSOX_MONGODB_URI": f"mongodb://ops:FAKE-mongo-pw-{os.urandom(6).hex()}@127.0.0.1:{free_port()}/"
                                 "?serverSelectionTimeoutMS=700",
        "IMPRESSOX_COINGECKO_API_KEY": "CG-FAKE-" + os.urandom(8).hex(),
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IMPRESSOX_TELEGRAM_API_URL", telegram_standin.api_url)
    # What must never be written anywhere: each value, and the password inside each URL.
    mongo_password = secrets["IMPRESSOX_MONGODB_URI"].split(":")[2].split("@")[0]
    needles = [*secrets.values(), redis_server.password, mongo_password, *cookies.values()]
    return {"env": secrets, "needles": needles}


def production_logging(log_file) -> dict:
    """deploy/dagster.yaml's python_logs, with its stderr stream handler writing to `log_file` instead."""
    python_logs = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["python_logs"]
    handler = python_logs["dagster_handler_config"]["handlers"]["json"]
    handler.pop("stream")
    handler.update({"class": "logging.FileHandler", "filename": str(log_file)})
    return python_logs


def test_no_secret_reaches_logs_event_log_or_alerts(fake_secrets, telegram_standin, tmp_path, capfd):
    log_file = tmp_path / "dagster.jsonl"
    resources = build_resources()  # the X scraper's accounts file holds the fake cookies
    failure_sensor, _ = build_operator_alert_sensors(OperatorAlertSettings(chat_id=OPERATORS))
    defs = dg.Definitions(assets=[deliver_probe, store_probe], jobs=[deliver_job, store_job],
                          sensors=[failure_sensor], resources=resources)

    with dg.instance_for_test(overrides={"python_logs": production_logging(log_file)}) as instance:
        repo = defs.get_repository_def()
        # The daemon initialises only the resources a sensor asks for (not the unreachable MongoDB).
        sensor_resources = {key: resources[key] for key in ("telegram", "redis")}
        with dg.build_sensor_context(instance=instance, repository_def=repo,
                                     resources=sensor_resources) as context:
            failure_sensor.evaluate_tick(context)
        cursor = context.cursor

        delivered = defs.resolve_job_def("deliver_probe_job").execute_in_process(instance=instance)
        assert delivered.success, "the Redis and Telegram asset ran for real"
        result = defs.resolve_job_def("store_probe_job").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success, "store_probe needs the unreachable MongoDB"

        with dg.build_sensor_context(instance=instance, repository_def=repo, resources=sensor_resources,
                                     cursor=cursor) as context:
            failure_sensor.evaluate_tick(context)

        events = [*instance.all_logs(delivered.run_id), *instance.all_logs(result.run_id)]
        event_log = "\n".join(dg.serialize_value(event) for event in events)

    captured = capfd.readouterr()
    json_lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    received = telegram_standin.received()
    alerts = [m["text"] for m in received if str(m["chat_id"]) == OPERATORS]

    # Everything really happened: a user message, the failure of store_probe, and its alert.
    assert any(m["chat_id"] == 42 for m in received)
    assert len(alerts) == 1 and "store_probe" in alerts[0] and "IMPRESSOX_MONGODB_URI" in alerts[0]
    assert "RESOURCE_INIT_FAILURE" in event_log and len(json_lines) > 10

    outputs = {"json log": log_file.read_text(), "stdout": captured.out, "stderr": captured.err,
               "event log": event_log, "alerts": "\n".join(alerts)}
    for needle in fake_secrets["needles"]:
        for name, text in outputs.items():
            assert needle not in text, f"a secret reached the {name}"

    # The structured lines carry the run and the asset.
    step_lines = [line for line in json_lines if line.get("step_key") == "deliver_probe"]
    assert step_lines and all(line["run_id"] == delivered.run_id for line in step_lines)
    assert {line["asset_key"] for line in step_lines} == {"deliver_probe"}
    assert any(line.get("event") == "ASSET_MATERIALIZATION" for line in step_lines)
    failure = next(line for line in json_lines if line.get("event") == "RESOURCE_INIT_FAILURE")
    assert failure["run_id"] == result.run_id and "IMPRESSOX_MONGODB_URI" in failure["error"]
    managed = [line for line in json_lines if line["logger"].endswith("secrets_probe")]
    assert managed and managed[0]["run_id"] == delivered.run_id, "project loggers are routed through Dagster"


def test_formatter_and_filter_mask_secrets_a_library_might_log(monkeypatch):
    token = "7000001:AAH" + "x" * 32
    monkeypatch.setenv("IMPRESSOX_TELEGRAM_BOT_TOKEN", token)
    monkeypatch.setenv("IMPRESSOX_REDIS_URL", "redis://:hunter2-redis@10.0.0.5:6379/0")
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1,
                               'HTTP Request: POST https://api.telegram.org/bot%s/sendMessage "200 OK" via %s',
                               (token, "redis://:hunter2-redis@10.0.0.5:6379/0"), None)
    line = JsonFormatter().format(record)
    assert token not in line and "hunter2-redis" not in line
    assert json.loads(line)["message"].startswith("HTTP Request: POST https://api.telegram.org/bot***/sendMessage")

    RedactSecretsFilter().filter(record)
    assert token not in record.getMessage() and "hunter2" not in record.getMessage()
    assert record_fields(record)["logger"] == "httpx"
