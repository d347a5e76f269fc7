"""The Redis Streams that connect producers, the ImpressoX backend and the delivery job.

Streams, not pub/sub: an entry published while nobody listens stays until it is read.

`impressox:notifications` — the outbox. Each entry's fields:
    kind             "price_alert" | "airdrop_opportunity" | "digest" | "text"
    idempotency_key  unique per logical message (e.g. "price_alert:<rule_id>:<seq>"); delivery is
                     recorded in MongoDB under this key, so a message is never sent twice
    chat_id          target Telegram chat (decimal string); empty when `audience` is used
    audience         a subscription topic ("price_alerts", "airdrops", "digest") to fan out to every
                     subscribed user; empty when `chat_id` is used
    payload          JSON object with the template's values
    created_at       ISO-8601 UTC

`impressox:events` — backend events. Fields: `type` (e.g. "rule.created", "scrape_target.added",
"document.added", "preferences.updated", "notification.send_now") and `data` (JSON object).

`impressox:dead_letters` — entries that could not be handled, with `reason`, `stream` and the
original fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

NOTIFICATIONS_STREAM = "impressox:notifications"
EVENTS_STREAM = "impressox:events"
DEAD_LETTER_STREAM = "impressox:dead_letters"


def enqueue_notification(
    client: Any,
    *,
    kind: str,
    idempotency_key: str,
    payload: dict[str, Any],
    chat_id: int | str | None = None,
    audience: str | None = None,
) -> str:
    """Append a message to the notification outbox; returns the stream entry id.

    Exactly one of `chat_id` and `audience` must be given.

    Raises:
        ValueError: when both or neither of `chat_id` and `audience` are given.
    """
    if (chat_id is None) == (audience is None):
        raise ValueError("give exactly one of chat_id and audience")
    fields = {
        "kind": kind,
        "idempotency_key": idempotency_key,
        "chat_id": "" if chat_id is None else str(chat_id),
        "audience": audience or "",
        "payload": json.dumps(payload, default=str, ensure_ascii=False),
        "created_at": datetime.now(UTC).isoformat(),
    }
    return client.xadd(NOTIFICATIONS_STREAM, fields)


def publish_event(client: Any, event_type: str, data: dict[str, Any]) -> str:
    """Append a backend event to the events stream; returns the stream entry id."""
    return client.xadd(EVENTS_STREAM, {"type": event_type, "data": json.dumps(data, default=str)})
