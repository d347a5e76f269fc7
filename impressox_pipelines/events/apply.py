"""Applying backend events: one batch of `impressox:events` entries per call, in stream order.

Each event type writes the store its field reads:

    preferences.updated   → MongoDB `user_preferences` (notify.preferences)
    rule.created          → the rule index in Redis syncs the rules written since the last sync
                            (the rule itself is in Redis already; market.index)
    scrape_target.added   → MongoDB `x_targets` (x.targets), which `raw_tweets` reads
    document.added        → the Redis hash of added documents (rag.library), which
                            `knowledge_documents` reads
    notification.send_now → recorded; the caller runs a delivery pass

The applied-events record (MongoDB `backend_events`, `_id` = entry id) is the guard against applying
an event twice: a batch applied again (a retried run, a re-requested batch, a reset sensor cursor)
skips every event already recorded. `applications` counts how often an event was applied; it exceeds
1 only if two runs applied the same event at the same moment.

Poison: an entry that cannot be decoded or validated, or whose application raises anything but an
outage of Redis or MongoDB, is dead-lettered with its reason and raw fields; the rest of the batch is
applied. An outage raises, so the run fails and is retried with nothing lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from pymongo.errors import ConnectionFailure

from impressox_pipelines.events.backend import BackendEvent, InvalidEvent, parse_event
from impressox_pipelines.events.codec import RawFields, raw_fields
from impressox_pipelines.events.dead_letters import dead_letter
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.notify.preferences import PreferenceStore
from impressox_pipelines.rag.library import register_document
from impressox_pipelines.stores import APPLIED_EVENTS_COLLECTION, EVENTS_STREAM, X_TARGETS_COLLECTION
from impressox_pipelines.x.targets import ScrapeTarget, store_target

# Errors of the stores themselves: the run fails and is retried, the batch is not dead-lettered.
OUTAGES = (redis.ConnectionError, redis.TimeoutError, ConnectionFailure)


@dataclass
class BatchReport:
    """What one batch did; `dead_letters` maps entry id → reason."""

    entries: int = 0
    applied: int = 0
    already_applied: int = 0
    by_type: Counter = field(default_factory=Counter)
    dead_letters: dict[str, str] = field(default_factory=dict)
    delivery_requested: bool = False

    def as_metadata(self) -> dict[str, Any]:
        return {"entries": self.entries, "applied": self.applied, "already_applied": self.already_applied,
                "dead_lettered": len(self.dead_letters), "by_type": dict(self.by_type),
                "dead_letter_reasons": dict(list(self.dead_letters.items())[:50])}


class EventApplier:
    """Applies batches of backend events to MongoDB `db` and Redis `client` (a decoding client).

    `now` gives the current UTC time (recorded as `applied_at`).
    """

    def __init__(self, db: Any, client: Any, *, run_id: str = "",
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.db = db
        self.client = client
        self.run_id = run_id
        self.now = now
        self.record = db[APPLIED_EVENTS_COLLECTION]
        self._rules_synced = False

    def apply_batch(self, entries: list[tuple[str, RawFields]]) -> BatchReport:
        """Apply `entries` (as read from the stream, oldest first); returns the report.

        Raises:
            redis.ConnectionError, pymongo.errors.ConnectionFailure, …: a store is unreachable; the
                events applied before it stay recorded.
        """
        report = BatchReport(entries=len(entries))
        done = {doc["_id"] for doc in self.record.find(
            {"_id": {"$in": [entry_id for entry_id, _ in entries]}, "status": "applied"}, {"_id": 1})}
        for entry_id, raw in entries:
            if entry_id in done:
                report.already_applied += 1
                continue
            try:
                event = parse_event(entry_id, raw)
                outcome = self._apply(event, report)
            except OUTAGES:
                raise
            except Exception as exc:  # noqa: BLE001 - poison of any kind goes to the dead letters
                reason = str(exc) if isinstance(exc, InvalidEvent) else f"apply failed: {type(exc).__name__}: {exc}"
                report.dead_letters[entry_id] = reason[:300]
                dead_letter(self.client, stream=EVENTS_STREAM, entry_id=entry_id, fields=raw_fields(raw),
                            reason=reason)
                continue
            self.record.update_one(
                {"_id": entry_id},
                {"$set": {"type": event.type, "data": event.data, "outcome": outcome, "status": "applied",
                          "applied_at": self.now(), "run_id": self.run_id},
                 "$inc": {"applications": 1}},
                upsert=True,
            )
            report.applied += 1
            report.by_type[event.type] += 1
        return report

    def _apply(self, event: BackendEvent, report: BatchReport) -> str:
        data = event.data
        if event.type == "preferences.updated":
            prefs = PreferenceStore(self.db).update(data)
            return f"preferences of chat {prefs.chat_id} updated"
        if event.type == "rule.created":
            if not self._rules_synced:  # one sync takes every rule written so far
                RuleIndex(self.client).sync_pending()
                self._rules_synced = True
            return f"rule {data['rule_id']} indexed"
        if event.type == "scrape_target.added":
            target = ScrapeTarget(data["kind"], data["value"].strip().lstrip("@"))
            if not target.value:
                raise InvalidEvent("value is blank once '@' is removed")
            new = store_target(self.db[X_TARGETS_COLLECTION], target)
            return f"target {target.id} {'added' if new else 'already stored'}"
        if event.type == "document.added":
            try:
                return f"document {register_document(self.client, event.entry_id, data)} registered"
            except ValueError as exc:
                raise InvalidEvent(str(exc)) from None
        if event.type == "notification.send_now":
            report.delivery_requested = True
            return "delivery pass requested"
        raise InvalidEvent(f"no applier for event type {event.type!r}")
