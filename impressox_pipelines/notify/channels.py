"""Delivery channels: Telegram's Bot API through python-telegram-bot, and a local JSONL outbox.

Both implement `Channel.send_message`, named and shaped after the Bot API's `sendMessage`
(https://core.telegram.org/bots/api#sendmessage): `chat_id` (int or `@channel` string), `text`,
`parse_mode` (`"HTML"`), `disable_notification`. Both return the sent message as a dict with at least
`message_id`, `chat_id`, `date` (epoch seconds) and `text`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    async def send_message(
        self, chat_id: int | str, text: str, *, parse_mode: str | None = "HTML",
        disable_notification: bool = False,
    ) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class OutboxChannel:
    """Appends each message it would send to a JSONL file and logs it.

    Used when no bot token is configured, so a local run shows exactly what users would receive.
    Appends are serialised by a lock and written with one `write` call per line, so concurrent
    processes appending to the same file never interleave within a line.
    """

    name = "outbox"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def send_message(
        self, chat_id: int | str, text: str, *, parse_mode: str | None = "HTML",
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        record = {
            "message_id": time.time_ns(),
            "chat_id": chat_id,
            "date": int(time.time()),
            "text": text,
            "parse_mode": parse_mode,
            "disable_notification": disable_notification,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
        log.info("outbox → chat %s: %s", chat_id, text[:200])
        return record

    async def close(self) -> None:
        return None

    def read(self) -> list[dict[str, Any]]:
        """Every message written so far, oldest first."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class TelegramBotChannel:
    """python-telegram-bot's `Bot`, pointed at `base_url` (the real API or the local stand-in)."""

    name = "telegram"

    def __init__(self, bot: Any):
        self.bot = bot

    async def send_message(
        self, chat_id: int | str, text: str, *, parse_mode: str | None = "HTML",
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        message = await self.bot.send_message(
            chat_id=chat_id, text=text, parse_mode=parse_mode, disable_notification=disable_notification
        )
        return {
            "message_id": message.message_id,
            "chat_id": message.chat.id,
            "date": int(message.date.timestamp()),
            "text": message.text,
        }

    async def close(self) -> None:
        await self.bot.shutdown()
