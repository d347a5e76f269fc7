"""The notification outbox (`impressox:notifications`): writing entries, reading them through the
delivery consumer group, and parsing them.

Each entry's fields:
    kind             "price_alert" | "airdrop_opportunity" | "digest" | "text"
    idempotency_key  unique per logical message (e.g. "price_alert:<rule_id>:<seq>"); delivery is
                     recorded in MongoDB under this key, so a message is never sent twice
    chat_id          target Telegram chat (decimal string); empty when `audience` is used
    audience         a subscription topic ("price_alerts", "airdrops", "digest") to fan out to every
                     subscribed user; empty when `chat_id` is used
    payload          JSON object with the template's values
    created_at       ISO-8601 UTC

Each delivery run is one consumer of the group `impressox-delivery`. It first takes over entries
that another consumer read but never acknowledged for `min_idle_ms` (a crashed run: XAUTOCLAIM), then
reads new ones (XREADGROUP `>`), and acknowledges an entry (XACK) only once every recipient's outcome
is recorded. The group is created at id `0`, so entries appended before any consumer existed are read.
(https://redis.io/docs/latest/develop/data-types/streams/#consumer-groups)

Entries are read as bytes and decoded field by field (`events.codec`): an entry that cannot be decoded
or parsed is dead-lettered with its reason by the delivery run and acknowledged, and the rest flow. A
pending entry that was deleted from the stream (XAUTOCLAIM hands it back as nil on Redis 6.2 and lists
it apart on 7+) is acknowledged and counted as vanished.

Trimming: a delivery run trims the stream to the entries still pending in the group or newer
(XTRIM MINID, exact), so Redis keeps only what is not yet acknowledged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from impressox_pipelines.events.codec import PoisonEntry, RawFields, decode_fields, load_json_object
from impressox_pipelines.events.streams import entry_id_text
from impressox_pipelines.notify.formatting import TEMPLATES
from impressox_pipelines.stores import DELIVERY_GROUP, NOTIFICATIONS_STREAM

OUTBOX_FIELDS = ("kind", "idempotency_key", "chat_id", "audience", "payload", "created_at")
AUDIENCES = ("price_alerts", "airdrops", "digest")

# Bot API chat_id: an integer (negative for groups), or "@username" of a channel/supergroup.
_CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")


class InvalidEntry(PoisonEntry):
    """An outbox entry that cannot be delivered as written; the message is the reason."""


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
        "payload": json.dumps(payload, default=str),
        "created_at": datetime.now(UTC).isoformat(),
    }
    return entry_id_text(client.xadd(NOTIFICATIONS_STREAM, fields))


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


def parse_entry(entry_id: str, raw: RawFields) -> OutboxMessage:
    """Decode and validate an outbox entry as read from the stream (bytes or text fields).

    Raises:
        PoisonEntry: naming the first problem (no fields, not UTF-8, too large, missing/unknown
            field, unknown kind, bad chat_id, both or neither of chat_id/audience, payload not a JSON
            object, too deep, lone surrogates); `InvalidEntry` for the outbox's own rules.
    """
    fields = decode_fields(raw)
    unknown = sorted(set(fields) - set(OUTBOX_FIELDS))
    if unknown:
        raise InvalidEntry(f"unexpected field(s): {', '.join(unknown)[:200]}")
    for name in ("kind", "idempotency_key", "payload"):
        if not fields.get(name):
            raise InvalidEntry(f"missing field: {name}")
    kind = fields["kind"]
    if kind not in TEMPLATES:
        raise InvalidEntry(f"unknown kind {kind[:40]!r} (known: {', '.join(TEMPLATES)})")
    payload = load_json_object(fields["payload"], "payload")
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
    """One consumer of the delivery group on the outbox stream; `client` must return bytes
    (`events.streams.bytes_client`). Entries come back as `(entry id, raw fields)`."""

    def __init__(self, client: redis.Redis, consumer: str, *, stream: str = NOTIFICATIONS_STREAM,
                 group: str = DELIVERY_GROUP, min_idle_ms: int = 300_000):
        self.client = client
        self.vanished = 0
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

    def reclaim(self, count: int) -> list[tuple[str, RawFields]]:
        """Entries idle for at least `min_idle_ms` in any consumer's pending list, now this consumer's.

        Pending entries deleted from the stream meanwhile are acknowledged and counted in `vanished`.
        """
        if self._claim_from is None:
            return []
        reply = self.client.xautoclaim(
            self.stream, self.group, self.consumer, self.min_idle_ms, start_id=self._claim_from, count=count
        )
        next_id, entries = entry_id_text(reply[0]), reply[1]
        # XAUTOCLAIM walks the pending list with a cursor; "0-0" means the walk is complete.
        self._claim_from = None if next_id == "0-0" else next_id
        claimed = [(entry_id_text(i), f) for i, f in entries if i is not None]
        deleted = [entry_id_text(i) for i in (reply[2] if len(reply) > 2 else [])]
        if deleted:  # Redis 7 removes them from the pending list itself
            self.vanished += len(deleted)
        if len(claimed) < len(entries):  # Redis 6.2: nil entries, ids not given back
            self._ack_vanished({i for i, _ in claimed})
        return claimed

    def _ack_vanished(self, claimed: set[str]) -> None:
        """Acknowledge this consumer's pending entries that no longer exist in the stream."""
        for info in self.client.xpending_range(self.stream, self.group, min="-", max="+", count=10_000,
                                               consumername=self.consumer):
            entry_id = entry_id_text(info["message_id"])
            if entry_id not in claimed and not self.client.xrange(self.stream, min=entry_id, max=entry_id):
                self.client.xack(self.stream, self.group, entry_id)
                self.vanished += 1

    def read_new(self, count: int) -> list[tuple[str, RawFields]]:
        """Entries never delivered to any consumer of the group, oldest first."""
        reply = self.client.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count)
        return [(entry_id_text(i), f) for _, entries in reply or [] for i, f in entries]

    def read_one(self, entry_id: str) -> list[tuple[str, RawFields]]:
        """The entry `entry_id` if it is still in the stream (read outside the group)."""
        return [(entry_id_text(i), f) for i, f in self.client.xrange(self.stream, min=entry_id, max=entry_id)]

    def ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.client.xack(self.stream, self.group, *entry_ids)

    def retire(self) -> None:
        """Remove this consumer from the group when it holds no pending entries."""
        for info in self.client.xinfo_consumers(self.stream, self.group):
            if entry_id_text(info["name"]) == self.consumer and int(info["pending"]) == 0:
                self.client.xgroup_delconsumer(self.stream, self.group, self.consumer)

    def trim(self) -> int:
        """Drop the entries every consumer has acknowledged: all older than the oldest pending entry,
        or than the group's last-delivered id when nothing is pending. Returns how many were removed."""
        summary = self.client.xpending(self.stream, self.group)
        if summary and summary.get("pending"):
            floor = entry_id_text(summary["min"])
        else:
            groups = {entry_id_text(g["name"]): g for g in self.client.xinfo_groups(self.stream)}
            group = groups.get(self.group)
            if group is None:
                return 0
            ms, seq = entry_id_text(group["last-delivered-id"]).split("-")
            floor = f"{ms}-{int(seq) + 1}"
        return int(self.client.xtrim(self.stream, minid=floor, approximate=False))
