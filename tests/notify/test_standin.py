"""The Telegram stand-in answers like the Bot API: envelopes, error bodies, flood control, body encodings."""

from __future__ import annotations

import json

import httpx
import pytest

from impressox_pipelines.standins.server import StandInServer
from impressox_pipelines.standins.telegram import TelegramStandIn, create_app
from tests.helpers.paths import require_fixture
from tests.helpers.telegram import BOT_TOKEN


def test_get_me_returns_a_bot_user_shaped_like_the_spec(telegram_standin):
    spec = json.loads(require_fixture("telegram_bot_api_spec", "api.json").read_text())
    body = httpx.get(f"{telegram_standin.api_url}{BOT_TOKEN}/getMe").json()
    assert body["ok"] is True
    required = {f["name"] for f in spec["types"]["User"]["fields"] if f["required"]}
    assert required <= set(body["result"]) and body["result"]["is_bot"] is True


@pytest.mark.parametrize("encoding", ["form", "json", "query"])
def test_send_message_accepts_each_encoding_the_bot_api_allows(telegram_standin, encoding):
    params = {"chat_id": "42", "text": "<b>hi</b> &amp; bye", "parse_mode": "HTML"}
    url = f"{telegram_standin.api_url}{BOT_TOKEN}/sendMessage"
    if encoding == "form":
        response = httpx.post(url, data=params)
    elif encoding == "json":
        response = httpx.post(url, json={**params, "chat_id": 42})
    else:
        response = httpx.get(url, params=params)
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["result"]["text"] == "hi & bye"
    assert body["result"]["chat"] == {"id": 42, "type": "private", "first_name": "User 42"}
    assert telegram_standin.received()[0]["text"] == params["text"]


def test_flood_control_answers_429_exactly_like_the_real_capture(telegram_standin):
    real = json.loads(require_fixture("issue_snippets", "telegram_429_with_retry_after.json").read_text())
    url = f"{telegram_standin.api_url}{BOT_TOKEN}/sendMessage"
    assert httpx.post(url, data={"chat_id": 7, "text": "one"}).status_code == 200
    response = httpx.post(url, data={"chat_id": 7, "text": "two"})  # 1 msg/s per private chat
    body = response.json()
    assert response.status_code == 429
    assert set(body) == set(real) and set(body["parameters"]) == set(real["parameters"])
    assert body["error_code"] == 429 and body["ok"] is False
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    assert telegram_standin.stats()["rate_limited"] == 1


def test_group_limit_is_20_per_minute_and_overall_30_per_second():
    state = TelegramStandIn(grace_s=0)
    with StandInServer(state.app) as server:
        url = f"{server.url}/bot{BOT_TOKEN}/sendMessage"
        with httpx.Client() as client:
            group = [client.post(url, data={"chat_id": -100, "text": "x"}).status_code for _ in range(21)]
            overall = [client.post(url, data={"chat_id": 1000 + i, "text": "x"}).status_code for i in range(31)]
    assert group.count(200) == 20 and group[-1] == 429
    # 20 group messages already used 20 of the 30 overall burst; the rest refill at 30/s meanwhile.
    assert 429 in overall and overall[0] == 200


@pytest.mark.parametrize(
    "error,code,description",
    [
        ("blocked", 403, "Forbidden: bot was blocked by the user"),
        ("deactivated", 403, "Forbidden: user is deactivated"),
        ("chat_not_found", 400, "Bad Request: chat not found"),
    ],
)
def test_failure_modes_use_telegrams_descriptions(telegram_standin, error, code, description):
    seen = json.loads(require_fixture("issue_snippets", "telegram_error_descriptions_seen_in_issues.json").read_text())
    telegram_standin.fail(5, error)
    response = httpx.post(f"{telegram_standin.api_url}{BOT_TOKEN}/sendMessage", data={"chat_id": 5, "text": "x"})
    assert response.status_code == code
    assert response.json() == {"ok": False, "error_code": code, "description": description}
    if error == "blocked":
        assert {"error_code": code, "description": description} in [
            {"error_code": s["error_code"], "description": s["description"]} for s in seen]


def test_bad_markup_and_bad_chat_ids_are_rejected_as_telegram_does(telegram_standin):
    url = f"{telegram_standin.api_url}{BOT_TOKEN}/sendMessage"
    unclosed = httpx.post(url, data={"chat_id": 1, "text": "a <b>b", "parse_mode": "HTML"}).json()
    assert unclosed["description"] == (
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 2")
    unknown = httpx.post(url, data={"chat_id": 2, "text": "<script>x</script>", "parse_mode": "HTML"}).json()
    assert unknown["description"].startswith('Bad Request: can\'t parse entities: Unsupported start tag "script"')
    assert httpx.post(url, data={"chat_id": "not-a-number", "text": "x"}).json()["description"] == (
        "Bad Request: chat not found")
    assert httpx.post(url, data={"chat_id": 3, "text": "x" * 4097}).json()["description"] == (
        "Bad Request: message is too long")
    assert httpx.post(f"{telegram_standin.api_url}bad-token/getMe").status_code == 404


def test_replay_dir_takes_error_bodies_from_the_captures(tmp_path):
    fixtures = require_fixture()
    state = TelegramStandIn(fixtures)
    real = json.loads((fixtures / "issue_snippets" / "telegram_429_with_retry_after.json").read_text())
    assert state.retry_after_description.format(retry_after=3) == real["description"]
    assert create_app(fixtures).state.telegram.descriptions["blocked"][0] == 403
