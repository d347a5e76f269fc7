"""Helpers of the delivery tests: publishing price alerts, running one delivery pass, reading results."""

from __future__ import annotations

import asyncio
from typing import Any

from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.notify.delivery import Deliverer, DeliveryReport
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.stores import DEAD_LETTER_STREAM


def alert(client: Any, chat_id: int | str, key: str, **payload: Any) -> str:
    """Publish a price alert whose text names `key` (as its rule id); returns the entry id."""
    return enqueue_notification(client, kind="price_alert", idempotency_key=key, chat_id=chat_id,
                                payload={"symbol": "BTC", "kind": "above", "price": "100001", "threshold": "100000",
                                         "rule_id": key, **payload})


def key_of(message: dict[str, Any]) -> str:
    """The key `alert` put in a message's text, from the stand-in's received log."""
    return message["text"].split("rule <code>")[1].split("</code>")[0]


def run_deliverer(redis_client: Any, db: Any, telegram: TelegramResource, *, consumer: str = "worker-1",
                  **options: Any) -> DeliveryReport:
    """One `Deliverer.run` through `telegram`'s channel and limits; `options` go to `Deliverer`."""
    channel = telegram.channel()
    deliverer = Deliverer(redis_client=redis_client, db=db, channel=channel, consumer=consumer,
                          limits=telegram.rate_limits(), **options)

    async def run() -> DeliveryReport:
        try:
            return await deliverer.run()
        finally:
            await channel.close()

    return asyncio.run(run())


def dead_letters(client: Any) -> list[dict[str, str]]:
    return [fields for _, fields in client.xrange(DEAD_LETTER_STREAM)]
