"""Daily digests: who is due at a given hour, what goes in, and the queue of messages deferred to them.

A digest is keyed by chat and the user's *local* date (`digest:<chat_id>:<YYYY-MM-DD>`). The hourly
schedule asks `digest_due` for every subscriber; a digest is due in the first hours of the local day at
or after the user's `digest_hour` (a catch-up window, `CATCH_UP_HOURS`). On the spring-forward day the
local hour 02:00 does not exist, so a 02:00 digest goes out at 03:00; on the fall-back day 01:00 occurs
twice and the second is the same key, so nothing is doubled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pymongo.errors import DuplicateKeyError

from impressox_pipelines.notify.preferences import Preferences
from impressox_pipelines.stores import DIGEST_QUEUE_COLLECTION, DIGEST_RUNS_COLLECTION

CATCH_UP_HOURS = 3


def digest_key(chat_id: int, local_date: str) -> str:
    return f"digest:{chat_id}:{local_date}"


def digest_due(prefs: Preferences, at: datetime, catch_up_hours: int = CATCH_UP_HOURS) -> str | None:
    """The local date ("YYYY-MM-DD") whose digest is due for `prefs` at instant `at`, or None.

    Due when the user is active, not muted, subscribed to the digest, and the local hour at `at` lies in
    [digest_hour, digest_hour + catch_up_hours) of the same local day.
    """
    if not (prefs.active and not prefs.muted and prefs.subscribed("digest")):
        return None
    local = prefs.local(at)
    if prefs.digest_hour <= local.hour < prefs.digest_hour + catch_up_hours:
        return local.date().isoformat()
    return None


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def day_moves(observations: Iterable[Mapping[str, Any]], symbols: Iterable[str]) -> list[dict[str, str]]:
    """Open, close and percent change per watched symbol from one day's price observations.

    `observations`: objects with `symbol`, `price` (number or decimal string) and `at` (any sortable
    time), in any order. Symbols without two usable prices are left out. Values are decimal strings.
    """
    wanted = {s.upper() for s in symbols}
    series: dict[str, list[tuple[Any, Decimal]]] = {}
    for obs in observations:
        symbol = str(obs.get("symbol") or "").upper()
        price = _decimal(obs.get("price"))
        if symbol in wanted and price is not None and price > 0 and obs.get("at") is not None:
            series.setdefault(symbol, []).append((obs["at"], price))
    moves = []
    for symbol in sorted(series):
        points = sorted(series[symbol], key=lambda p: p[0])
        if len(points) < 2:
            continue
        first, last = points[0][1], points[-1][1]
        change = ((last - first) / first * 100).quantize(Decimal("0.01"))
        moves.append({"symbol": symbol, "open": str(first), "close": str(last), "change_pct": str(change)})
    return moves


def top_opportunities(opportunities: Iterable[Mapping[str, Any]], keywords: Iterable[str], limit: int = 5,
                      ) -> list[dict[str, Any]]:
    """The best-scored non-scam opportunities matching the user's keywords (all when none are set)."""
    folded = [k.casefold() for k in keywords]
    picked = []
    for opp in opportunities:
        if opp.get("scam") or opp.get("scam_flag") or opp.get("is_scam"):
            continue
        text = " ".join(str(opp.get(k) or "") for k in ("title", "text", "project")).casefold()
        if folded and not any(k in text for k in folded):
            continue
        picked.append(dict(opp))
    picked.sort(key=lambda o: _decimal(o.get("score")) or Decimal(0), reverse=True)
    return picked[:limit]


class DigestQueue:
    """Messages deferred by quiet hours (`digest_queue`) and the digests already enqueued (`digest_runs`)."""

    def __init__(self, db: Any):
        self.queue = db[DIGEST_QUEUE_COLLECTION]
        self.runs = db[DIGEST_RUNS_COLLECTION]

    def defer(self, key: str, chat_id: int, kind: str, payload: Mapping[str, Any]) -> bool:
        """Hold a message for the chat's next digest; False when `key` was already deferred."""
        try:
            self.queue.insert_one({"_id": key, "chat_id": chat_id, "kind": kind, "payload": dict(payload),
                                   "queued_at": datetime.now(UTC), "digest": None})
        except DuplicateKeyError:
            return False
        return True

    def take(self, chat_id: int, key: str) -> list[dict[str, Any]]:
        """The deferred messages for the digest `key`: those not yet in any digest, plus those already
        assigned to `key` (so a retried digest carries the same items). Assigns them to `key`."""
        docs = list(self.queue.find({"chat_id": chat_id, "digest": {"$in": [None, key]}}).sort("queued_at", 1))
        if docs:
            self.queue.update_many({"_id": {"$in": [d["_id"] for d in docs]}}, {"$set": {"digest": key}})
        return [{"kind": d["kind"], "payload": d["payload"]} for d in docs]

    def already_enqueued(self, key: str) -> bool:
        return self.runs.find_one({"_id": key}) is not None

    def mark_enqueued(self, key: str, chat_id: int, entry_id: str) -> None:
        try:
            self.runs.insert_one({"_id": key, "chat_id": chat_id, "entry_id": entry_id,
                                  "enqueued_at": datetime.now(UTC)})
        except DuplicateKeyError:
            pass
