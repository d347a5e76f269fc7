"""Telegram as a Dagster resource; the bot, the outbox and the limits are `connections.telegram`'s."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource
from pydantic import Field

from impressox_pipelines.connections.telegram import TelegramConnection
from impressox_pipelines.settings import data_dir as default_data_dir

if TYPE_CHECKING:
    from impressox_pipelines.notify.channels import Channel
    from impressox_pipelines.notify.delivery import RateLimits


class TelegramResource(ConfigurableResource):
    """Sends messages to Telegram chats.

    Production: `bot_token` (from `EnvVar("IMPRESSOX_TELEGRAM_BOT_TOKEN")`) and `base_url` (default the
    real Bot API, `https://api.telegram.org/bot`; the local stand-in in the demo). Embedded default when
    no token is set: an outbox channel appending every message to `<data_dir>/telegram_outbox.jsonl`.
    The token is a secret: it is never logged and never part of an error message. Timeouts in seconds;
    the limits are Telegram's broadcast limits (see `TelegramConnection`).
    """

    bot_token: str | None = Field(default=None, description="Bot API token (secret; set through EnvVar).")
    base_url: str = TelegramConnection.base_url
    data_dir: str | None = None
    connect_timeout_s: float = TelegramConnection.connect_timeout_s
    read_timeout_s: float = TelegramConnection.read_timeout_s
    pool_timeout_s: float = TelegramConnection.pool_timeout_s
    connection_pool_size: int = TelegramConnection.connection_pool_size
    max_messages_per_second: float = TelegramConnection.max_messages_per_second
    max_messages_per_second_per_chat: float = TelegramConnection.max_messages_per_second_per_chat
    max_messages_per_minute_per_group: float = TelegramConnection.max_messages_per_minute_per_group

    @property
    def connection(self) -> TelegramConnection:
        """The plain connection with this resource's configuration."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values["data_dir"] = Path(self.data_dir) if self.data_dir else default_data_dir()
        return TelegramConnection(**values)

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    def channel(self) -> Channel:
        """The delivery channel: the Bot API with a token, the JSONL outbox without one."""
        return self.connection.channel()

    def rate_limits(self) -> RateLimits | None:
        """The limits delivery must respect: Telegram's with a token, none for the local outbox file."""
        return self.connection.rate_limits()

    async def check(self) -> dict:
        """Call `getMe`; returns the bot's user as a dict.

        Raises:
            ResourceSetupError: naming the variable and host (never the token) on any failure.
        """
        return await self.connection.check()
