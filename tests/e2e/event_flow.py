"""Backend events as a deployment receives them: a mixed stream with poison in it, and the account of
what became of every entry. Used by the restart test and by `bench/event_throughput.py`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from impressox_pipelines.stores import APPLIED_EVENTS_COLLECTION, DEAD_LETTER_STREAM, EVENTS_STREAM

# Entries no backend should send, each of a kind the event layer must dead-letter and pass.
POISON: list[dict[bytes, bytes]] = [
    {b"type": b"preferences.updated", b"data": b'{"chat_id": 1, "timezone": "\xff\xfe"}'},  # not UTF-8
    {b"type": b"notification.send_now", b"data": b"[" * 3000 + b"]" * 3000},  # nested 3,000 deep
    {b"type": b"preferences.updated", b"data": b'{"chat_id": 2, "timezone": "\\ud800x"}'},  # lone surrogate
    {b"type": b"user.deleted", b"data": b"{}"},  # a newer backend's type
    {b"type": b"rule.created"},  # no data
    {b"type": b"rule.created", b"data": json.dumps(json.dumps({"rule_id": "r"})).encode()},  # encoded twice
    {b"type": b"scrape_target.added", b"data": json.dumps({"kind": "user", "value": "x" * 70_000}).encode()},
]


def valid_event(n: int, run: str) -> tuple[str, dict[str, Any]]:
    """The n-th valid event of a run: preferences, scrape targets and rules in turn, all distinct."""
    kind = n % 3
    if kind == 0:
        return "preferences.updated", {"chat_id": 10_000_000 + n, "subscriptions": {"airdrops": n % 2 == 0},
                                       "keywords": [f"{run}-{n}"]}
    if kind == 1:
        return "scrape_target.added", {"kind": "search", "value": f"{run} airdrop {n}"}
    return "rule.created", {"rule_id": f"{run}-rule-{n}"}


@dataclass
class Published:
    valid: list[str] = field(default_factory=list)
    poison: list[str] = field(default_factory=list)


def publish(raw_client: Any, start: int, count: int, run: str, poison_every: int = 100,
            published: Published | None = None) -> Published:
    """Publish `count` entries numbered from `start` (pipelined), every `poison_every`-th one poison."""
    published = published or Published()
    pipe = raw_client.pipeline(transaction=False)
    kinds = []
    for n in range(start, start + count):
        if (n + 1) % poison_every == 0:
            pipe.xadd(EVENTS_STREAM, POISON[(n // poison_every) % len(POISON)])
            kinds.append(published.poison)
        else:
            event_type, data = valid_event(n, run)
            pipe.xadd(EVENTS_STREAM, {b"type": event_type.encode(), b"data": json.dumps(data).encode()})
            kinds.append(published.valid)
    for target, entry_id in zip(kinds, pipe.execute(), strict=True):
        target.append(entry_id.decode())
    return published


def applied_count(db: Any) -> int:
    return db[APPLIED_EVENTS_COLLECTION].count_documents({"status": "applied"})


def outcome(db: Any, client: Any, published: Published) -> dict[str, int]:
    """`applied`, `lost` (valid, not applied), `applied_twice`, `poison_dead_lettered` (with a reason),
    `poison_missing`, `valid_dead_lettered` (never expected)."""
    records = {doc["_id"]: doc for doc in db[APPLIED_EVENTS_COLLECTION].find({}, {"applications": 1, "status": 1})}
    letters = {fields["entry_id"]: fields.get("reason") for _, fields in client.xrange(DEAD_LETTER_STREAM)}
    valid = set(published.valid)
    return {
        "applied": sum(1 for i in valid if records.get(i, {}).get("status") == "applied"),
        "lost": sum(1 for i in valid if records.get(i, {}).get("status") != "applied"),
        "applied_twice": sum(1 for i in valid if records.get(i, {}).get("applications", 0) > 1),
        "poison_dead_lettered": sum(1 for i in published.poison if letters.get(i)),
        "poison_missing": sum(1 for i in published.poison if not letters.get(i)),
        "valid_dead_lettered": sum(1 for i in valid if i in letters),
    }
