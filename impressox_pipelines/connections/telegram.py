"""Telegram: python-telegram-bot's `Bot` when a token is configured, a JSONL outbox otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from impressox_pipelines.connections.errors import ResourceSetupError, describe_endpoint, safe_reason

if TYPE_CHECKING:
    from impressox_pipelines.notify.channels import Channel
    from impressox_pipelines.notify.delivery import RateLimits

TOKEN_VARIABLE = "IMPRESSOX_TELEGRAM_BOT_TOKEN"
BOT_API_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class TelegramConnection:
    """Where messages go: the Bot API with `bot_token`, else the outbox file `<data_dir>/telegram_outbox.jsonl`.

    `base_url` is the Bot API base (the real one, or the local stand-in). Timeouts are in seconds; the
    rate limits are Telegram's broadcast limits in messages per second (overall, per private chat) and
    per minute (per group). The token is a secret: it is never logged, never part of an error message,
    and left out of this object's repr.
    """

    bot_token: str | None = field(default=None, repr=False)
    data_dir: Path = Path(".impressox")
    base_url: str = BOT_API_URL
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 15.0
    pool_timeout_s: float = 15.0
    connection_pool_size: int = 16
    # https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
    max_messages_per_second: float = 30
    max_messages_per_second_per_chat: float = 1
    max_messages_per_minute_per_group: float = 20

    @property
    def endpoint(self) -> str:
        """The Bot API base without credentials, or `outbox://<file>`."""
        return describe_endpoint(self.base_url) if self.bot_token else f"outbox://{self.outbox_path()}"

    def outbox_path(self) -> Path:
        return Path(self.data_dir) / "telegram_outbox.jsonl"

    def make_bot(self) -> Any:
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
        from impressox_pipelines.notify.channels import OutboxChannel, TelegramBotChannel

        if self.bot_token:
            return TelegramBotChannel(self.make_bot())
        return OutboxChannel(self.outbox_path())

    def rate_limits(self) -> RateLimits | None:
        """The limits delivery must respect: Telegram's with a token, none for the local outbox file."""
        from impressox_pipelines.notify.delivery import RateLimits

        if not self.bot_token:
            return None
        return RateLimits(
            overall_per_second=self.max_messages_per_second,
            private_chat_per_second=self.max_messages_per_second_per_chat,
            group_per_minute=self.max_messages_per_minute_per_group,
        )

    async def check(self) -> dict:
        """Call `getMe`; returns the bot's user as a dict (`{"username": "outbox", "path": …}` without a token).

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
