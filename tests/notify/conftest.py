"""Notify fixtures: the Telegram stand-in on a real loopback port, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.standins.server import StandInServer
from impressox_pipelines.standins.telegram import TelegramStandIn

TOKEN = "123456:notify-test-token"


@dataclass
class StandIn:
    """The running stand-in: its URL, its in-process state, and its admin endpoints over HTTP."""

    url: str
    state: TelegramStandIn

    @property
    def api_url(self) -> str:
        return f"{self.url}/bot"

    def fail(self, chat_id: int | str, error: str, **options: Any) -> None:
        httpx.post(f"{self.url}/_standin/fail", json={"chat_id": chat_id, "error": error, **options}).raise_for_status()

    def received(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/_standin/received").json()["messages"]

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_standin/stats").json()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    state = TelegramStandIn()
    with StandInServer(state.app) as server:
        yield StandIn(server.url, state)


@pytest.fixture
def telegram(standin: StandIn, data_dir) -> TelegramResource:
    """python-telegram-bot against the stand-in, with short timeouts so timeout tests stay fast."""
    return TelegramResource(bot_token=TOKEN, base_url=standin.api_url, data_dir=str(data_dir),
                            connect_timeout_s=2, read_timeout_s=0.5, pool_timeout_s=2)
