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

`impressox:dead_letters` — entries that could not be handled. Fields:
    reason           why (for a failed delivery: the last error)
    stream           the stream the entry came from
    entry_id         its id there
    fields           JSON object: the original fields (for a delivery that failed for one recipient of
                     a fan-out: the original with `chat_id` set to that recipient and `audience` empty)
    dead_lettered_at ISO-8601 UTC

The full formats, with each event type's `data`, are in docs/notify.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

NOTIFICATIONS_STREAM = "impressox:notifications"
EVENTS_STREAM = "impressox:events"
DEAD_LETTER_STREAM = "impressox:dead_letters"

# Dead-lettering is idempotent per `dedup_key`: the marker and the XADD happen in one atomic script, so a
# tick or run that fails after dead-lettering and is retried does not dead-letter the same entry twice.
_DEAD_LETTER_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
end
return false
"""
DEAD_LETTER_DEDUP_TTL_S = 7 * 24 * 3600


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


def dead_letter(
    client: Any,
    *,
    stream: str,
    entry_id: str,
    fields: dict[str, Any],
    reason: str,
    dedup_key: str | None = None,
) -> str | None:
    """Append an unhandled entry to the dead-letter stream; returns the new entry id.

    Returns None when an entry with the same `dedup_key` (default `stream` + `entry_id`) was already
    dead-lettered in the last 7 days.
    """
    marker = f"{DEAD_LETTER_STREAM}:seen:{dedup_key or f'{stream}:{entry_id}'}"
    record = {
        "reason": reason[:2000],
        "stream": stream,
        "entry_id": entry_id,
        "fields": json.dumps(fields, default=str, ensure_ascii=False),
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
    flat = [item for pair in record.items() for item in pair]
    return client.eval(_DEAD_LETTER_SCRIPT, 2, marker, DEAD_LETTER_STREAM, DEAD_LETTER_DEDUP_TTL_S, *flat)
