"""From an applied trigger to the notification outbox: the alert document and the outbox entry.

MongoDB `price_alerts`, `_id` = the idempotency key `price_alert:<rule_id>:<seq>`; the outbox entry
(`impressox.events.enqueue_notification`, kind `price_alert`, `chat_id` = the rule's owner) carries the
same key, so a retried run neither stores nor sends an alert twice. Payload fields (all strings):
`rule_id`, `label`, `pair`, `symbol`, `vs_currency`, `kind`, `direction`, `threshold`, `pct`,
`window_s`, `price`, `previous_price`, `change_pct`, `observed_at`, `seq`, `recurring`, `text`. The
document's `provenance` records what made the rule fire: the rule as it was (its Redis hash fields and
`version`, with their sha256) and the engine version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128

from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.market.index import Trigger
from impressox_pipelines.market.rules import Kind, Rule

# Stored with every alert: raise it when the state machine's firing or re-arming conditions change.
ENGINE_VERSION = "2026.12.1"


def alert_provenance(rule: Rule, trigger: Trigger) -> dict[str, Any]:
    """What made this alert fire: `engine_version`, `rule` (the rule's Redis hash fields), `rule_version`
    (the hash's version counter when it fired) and `rule_sha256` (of those fields as sorted JSON)."""
    fields = rule.to_fields()
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return {"engine_version": ENGINE_VERSION, "rule": fields, "rule_version": trigger.version,
            "rule_sha256": digest}


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def alert_text(rule: Rule, trigger: Trigger) -> str:
    """One plain-text line, e.g. `BTC/USD crossed above 100000: now 100012.5 (+0.4%)`."""
    change = f" ({trigger.change_pct.quantize(Decimal('0.01')):+}%)" if trigger.change_pct is not None else ""
    if rule.kind == Kind.PCT_CHANGE:
        moved = {"up": "rose", "down": "fell", "either": "moved"}[str(rule.direction)]
        what = f"{moved} {rule.pct}% within {rule.window_s // 60} min"
    else:
        what = f"crossed {rule.kind} {_fmt(rule.threshold)}"
    return f"{trigger.pair} {what}: now {_fmt(trigger.price)}{change}"


def alert_payload(rule: Rule, trigger: Trigger) -> dict[str, str]:
    return {
        "rule_id": rule.id, "label": rule.label, "pair": trigger.pair, "symbol": rule.pair.base,
        "vs_currency": rule.pair.vs_currency, "kind": str(rule.kind),
        "direction": "" if rule.direction is None else str(rule.direction),
        "threshold": _fmt(rule.threshold), "pct": _fmt(rule.pct),
        "window_s": "" if rule.window_s is None else str(rule.window_s),
        "price": _fmt(trigger.price), "previous_price": _fmt(trigger.previous),
        "change_pct": "" if trigger.change_pct is None else str(trigger.change_pct.quantize(Decimal("0.0001"))),
        "observed_at": trigger.observed_at.isoformat(), "seq": str(trigger.seq),
        "recurring": "1" if rule.recurring else "0", "text": alert_text(rule, trigger),
    }


@dataclass(frozen=True)
class AlertOutcome:
    key: str
    stored: bool  # False when an earlier attempt had stored it
    entry_id: str  # the alert's outbox entry
    enqueued: bool  # False when an earlier attempt had enqueued it


def record_and_enqueue(redis_client: Any, alerts: Any, rule: Rule, trigger: Trigger) -> AlertOutcome:
    """Store the alert (once) and hand it to the notification outbox (once)."""
    key = trigger.idempotency_key
    payload = alert_payload(rule, trigger)
    doc = {
        "rule_id": rule.id, "seq": trigger.seq, "owner_chat_id": rule.owner_chat_id,
        "pair": trigger.pair, "kind": str(rule.kind), "price": Decimal128(trigger.price),
        "previous_price": None if trigger.previous is None else Decimal128(trigger.previous),
        "observed_at": trigger.observed_at, "fired_at": datetime.now(UTC), "payload": payload,
        "notification_entry_id": None, "provenance": alert_provenance(rule, trigger),
    }
    stored = alerts.update_one({"_id": key}, {"$setOnInsert": doc}, upsert=True).upserted_id is not None
    current = alerts.find_one({"_id": key}, {"notification_entry_id": 1})
    if current and current.get("notification_entry_id"):
        return AlertOutcome(key, stored, current["notification_entry_id"], False)
    entry_id = enqueue_notification(
        redis_client, kind="price_alert", idempotency_key=key, chat_id=rule.owner_chat_id, payload=payload
    )
    alerts.update_one({"_id": key}, {"$set": {"notification_entry_id": entry_id, "enqueued_at": datetime.now(UTC)}})
    return AlertOutcome(key, stored, entry_id, True)
