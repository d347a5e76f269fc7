"""The project's Telegram stand-in as the tests see it: its URL, its state, its admin endpoints over HTTP,
and `TelegramResource`s pointed at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.standins.telegram import TelegramStandIn

BOT_TOKEN = "123456:impressox-test-token"


@dataclass
class ServedTelegramStandIn:
    """A Telegram stand-in served on 127.0.0.1 (`url`), with its in-process `state`."""

    url: str
    state: TelegramStandIn

    @property
    def api_url(self) -> str:
        """The Bot API base URL for python-telegram-bot (`base_url`, the token is appended)."""
        return f"{self.url}/bot"

    def received(self) -> list[dict[str, Any]]:
        """Every message accepted so far, in arrival order (the stand-in's `/_standin/received`)."""
        return httpx.get(f"{self.url}/_standin/received", timeout=10).json()["messages"]

    def fail(self, chat_id: int | str, error: str, **options: Any) -> None:
        """Make sends to `chat_id` fail with `error` (see `standins.telegram` for the kinds and options)."""
        httpx.post(f"{self.url}/_standin/fail", json={"chat_id": chat_id, "error": error, **options},
                   timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_standin/stats", timeout=10).json()

    def resource(self, data_dir: Path | str, **overrides: Any) -> TelegramResource:
        """python-telegram-bot against this stand-in, with short timeouts (seconds) so that timeout tests
        stay fast; `overrides` replace any field (e.g. `base_url` of a server that is down)."""
        fields = {"bot_token": BOT_TOKEN, "base_url": self.api_url, "data_dir": str(data_dir),
                  "connect_timeout_s": 2, "read_timeout_s": 0.5, "pool_timeout_s": 2, **overrides}
        return TelegramResource(**fields)
