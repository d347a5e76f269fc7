"""Telegram: python-telegram-bot's `Bot` when a token is configured, a JSONL outbox otherwise."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from impressox_pipelines.notify.channels import Channel, OutboxChannel, TelegramBotChannel
from impressox_pipelines.notify.delivery import RateLimits
from impressox_pipelines.resources.errors import ResourceSetupError, describe_endpoint, safe_reason
from impressox_pipelines.settings import data_dir as default_data_dir

TOKEN_VARIABLE = "IMPRESSOX_TELEGRAM_BOT_TOKEN"


class TelegramResource(ConfigurableResource):
    """Sends messages to Telegram chats.

    Production: `bot_token` (from `EnvVar("IMPRESSOX_TELEGRAM_BOT_TOKEN")`) and `base_url` (default the
    real Bot API, `https://api.telegram.org/bot`; the local stand-in in the demo). Embedded default when
    no token is set: an outbox channel appending every message to `<data_dir>/telegram_outbox.jsonl`.
    The token is a secret: it is never logged and never part of an error message.
    """

    bot_token: str | None = Field(default=None, description="Bot API token (secret; set through EnvVar).")
    base_url: str = "https://api.telegram.org/bot"
    data_dir: str | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 15.0
    pool_timeout_s: float = 15.0
    connection_pool_size: int = 16
    # Telegram's broadcast limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
    max_messages_per_second: float = 30
    max_messages_per_second_per_chat: float = 1
    max_messages_per_minute_per_group: float = 20

    @property
    def endpoint(self) -> str:
        return describe_endpoint(self.base_url) if self.bot_token else f"outbox://{self.outbox_path()}"

    def outbox_path(self) -> Path:
        base = Path(self.data_dir) if self.data_dir else default_data_dir()
        return base / "telegram_outbox.jsonl"

    def make_bot(self):
        """A `telegram.Bot` for the configured token and base URL (not yet initialised)."""
        from telegram import Bot
        from telegram.request import HTTPXRequest

        request = HTTPXRequest(
            connection_pool_size=self.connection_pool_size,
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            pool_timeout=self.pool_timeout_s,
        )
        return Bot(token=self.bot_token, base_url=self.base_url, request=request)

    def channel(self) -> Channel:
        """The delivery channel: the Bot API with a token, the JSONL outbox without one."""
        if self.bot_token:
            return TelegramBotChannel(self.make_bot())
        return OutboxChannel(self.outbox_path())

    def rate_limits(self) -> RateLimits | None:
        """The limits delivery must respect: Telegram's with a token, none for the local outbox file."""
        if not self.bot_token:
            return None
        return RateLimits(
            overall_per_second=self.max_messages_per_second,
            private_chat_per_second=self.max_messages_per_second_per_chat,
            group_per_minute=self.max_messages_per_minute_per_group,
        )

    async def check(self) -> dict:
        """Call `getMe`; returns the bot's user as a dict.

        Raises:
            ResourceSetupError: naming the variable and host (never the token) on any failure.
        """
        if not self.bot_token:
            return {"username": "outbox", "path": str(self.outbox_path())}
        bot = self.make_bot()
        try:
            async with bot:
                me = await bot.get_me()
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "Telegram", TOKEN_VARIABLE, self.endpoint, safe_reason(exc, self.bot_token)
            ) from None
        return me.to_dict()
