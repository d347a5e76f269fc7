"""Reading the notification outbox through a Redis consumer group, and parsing its entries.

Each delivery run is one consumer of the group `impressox-delivery`. It first takes over entries
that another consumer read but never acknowledged for `min_idle_ms` (a crashed run: XAUTOCLAIM), then
reads new ones (XREADGROUP `>`), and acknowledges an entry (XACK) only once every recipient's outcome
is recorded. The group is created at id `0`, so entries appended before any consumer existed are read.
(https://redis.io/docs/latest/develop/data-types/streams/#consumer-groups)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import redis

from impressox_pipelines.events import NOTIFICATIONS_STREAM
from impressox_pipelines.notify.formatting import TEMPLATES

DELIVERY_GROUP = "impressox-delivery"
OUTBOX_FIELDS = ("kind", "idempotency_key", "chat_id", "audience", "payload", "created_at")
AUDIENCES = ("price_alerts", "airdrops", "digest")

# Bot API chat_id: an integer (negative for groups), or "@username" of a channel/supergroup.
_CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")


class InvalidEntry(ValueError):
    """An outbox entry that cannot be delivered as written; the message is the reason."""


@dataclass(frozen=True)
class OutboxMessage:
    """One parsed outbox entry; `chat_id` is an int or "@username", or None with an `audience`."""

    entry_id: str
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    chat_id: int | str | None = None
    audience: str | None = None
    created_at: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def parse_chat_id(value: Any) -> int | str:
    """A Bot API `chat_id` from an int or a string ("-100123", "@channel").

    Raises:
        InvalidEntry: for anything else (booleans, floats, words, empty strings).
    """
    if isinstance(value, bool):
        raise InvalidEntry(f"chat_id {value!r} is not an integer or @username")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not _CHAT_ID.fullmatch(text):
        raise InvalidEntry(f"chat_id {text[:40]!r} is not an integer or @username")
    return text if text.startswith("@") else int(text)


def parse_entry(entry_id: str, fields: dict[str, str] | None) -> OutboxMessage:
    """Validate an outbox entry (format in `impressox_pipelines.events`).

    Raises:
        InvalidEntry: naming the first problem (deleted entry, missing/unknown field, unknown kind,
            bad chat_id, both or neither of chat_id/audience, payload not a JSON object).
    """
    if not fields:
        raise InvalidEntry("entry has no fields (deleted while pending?)")
    unknown = sorted(set(fields) - set(OUTBOX_FIELDS))
    if unknown:
        raise InvalidEntry(f"unexpected field(s): {', '.join(unknown)[:200]}")
    for name in ("kind", "idempotency_key", "payload"):
        if not fields.get(name):
            raise InvalidEntry(f"missing field: {name}")
    kind = fields["kind"]
    if kind not in TEMPLATES:
        raise InvalidEntry(f"unknown kind {kind[:40]!r} (known: {', '.join(TEMPLATES)})")
    try:
        payload = json.loads(fields["payload"])
    except ValueError as exc:
        raise InvalidEntry(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidEntry("payload is not a JSON object")
    chat = fields.get("chat_id") or None
    audience = fields.get("audience") or None
    if (chat is None) == (audience is None):
        raise InvalidEntry("give exactly one of chat_id and audience")
    if audience is not None and audience not in AUDIENCES:
        raise InvalidEntry(f"unknown audience {audience[:40]!r} (known: {', '.join(AUDIENCES)})")
    return OutboxMessage(
        entry_id=entry_id,
        kind=kind,
        idempotency_key=fields["idempotency_key"],
        payload=payload,
        chat_id=parse_chat_id(chat) if chat is not None else None,
        audience=audience,
        created_at=fields.get("created_at", ""),
        fields=dict(fields),
    )


class OutboxReader:
    """One consumer of the delivery group on the outbox stream."""

    def __init__(self, client: redis.Redis, consumer: str, *, stream: str = NOTIFICATIONS_STREAM,
                 group: str = DELIVERY_GROUP, min_idle_ms: int = 300_000):
        self.client = client
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self.min_idle_ms = min_idle_ms
        self._claim_from = "0-0"

    def ensure_group(self) -> None:
        """Create the group at id 0 (and the stream) unless it exists."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def reclaim(self, count: int) -> list[tuple[str, dict[str, str] | None]]:
        """Entries idle for at least `min_idle_ms` in any consumer's pending list, now this consumer's."""
        if self._claim_from is None:
            return []
        reply = self.client.xautoclaim(
            self.stream, self.group, self.consumer, self.min_idle_ms, start_id=self._claim_from, count=count
        )
        next_id, entries = reply[0], reply[1]
        # XAUTOCLAIM walks the pending list with a cursor; "0-0" means the walk is complete.
        self._claim_from = None if next_id in ("0-0", b"0-0") else next_id
        return [(entry_id, fields) for entry_id, fields in entries]

    def read_new(self, count: int) -> list[tuple[str, dict[str, str] | None]]:
        """Entries never delivered to any consumer of the group, oldest first."""
        reply = self.client.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count)
        return [(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]

    def ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.client.xack(self.stream, self.group, *entry_ids)

    def retire(self) -> None:
        """Remove this consumer from the group when it holds no pending entries."""
        for info in self.client.xinfo_consumers(self.stream, self.group):
            if info["name"] == self.consumer and int(info["pending"]) == 0:
                self.client.xgroup_delconsumer(self.stream, self.group, self.consumer)
