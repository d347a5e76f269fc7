"""User notification preferences: the record, its validation, and its MongoDB collection.

One document per Telegram chat in `user_preferences`, `_id` = the chat id (int). Updates come from the
backend (`preferences.updated` events) and from `impressox users …`; both go through `apply_changes`,
which accepts only the documented fields with the documented types, so no key of an update (a `$set`
smuggled in, a dotted path) ever reaches a MongoDB query as an operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo import ReturnDocument

from impressox_pipelines.market.symbols import SymbolError, parse_pair
from impressox_pipelines.stores import PREFERENCES_COLLECTION

TOPICS = ("price_alerts", "airdrops", "digest")
QUIET_MODES = ("silent", "defer")

# Which subscription a message kind needs; "text" messages are operational and need none.
KIND_TOPIC = {"price_alert": "price_alerts", "airdrop_opportunity": "airdrops", "digest": "digest"}

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
MAX_KEYWORDS = 50
MAX_SYMBOLS = 100


class InvalidPreferences(ValueError):
    """A preferences update that does not follow the documented format; the message is the reason."""


@dataclass(frozen=True)
class QuietHours:
    """Local times [start, end) during which messages are sent silently or deferred to the digest.

    `start` > `end` wraps midnight (22:00–07:00); `start` == `end` is an empty window.
    """

    start: str
    end: str
    mode: str = "silent"

    def contains(self, local: time) -> bool:
        start, end = _parse_hhmm(self.start), _parse_hhmm(self.end)
        now = local.replace(second=0, microsecond=0, tzinfo=None)
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end


@dataclass(frozen=True)
class Preferences:
    """A chat's notification preferences (see docs/notify.md for each field)."""

    chat_id: int
    # Opt-in for broadcasts; a user's own price alerts are on by default.
    subscriptions: dict[str, bool] = field(
        default_factory=lambda: {"price_alerts": True, "airdrops": False, "digest": False}
    )
    keywords: tuple[str, ...] = ()
    watch_symbols: tuple[str, ...] = ()
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    muted: bool = False
    digest_hour: int = 8
    active: bool = True
    inactive_reason: str | None = None

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        """`at` (timezone-aware) in the user's timezone."""
        return at.astimezone(self.zone())

    def subscribed(self, topic: str | None) -> bool:
        return topic is None or bool(self.subscriptions.get(topic, False))

    def in_quiet_hours(self, at: datetime) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.contains(self.local(at).time())

    def matches_keywords(self, text: str) -> bool:
        """True when no keywords are set, or one of them occurs in `text` (case-insensitive)."""
        if not self.keywords:
            return True
        folded = text.casefold()
        return any(k.casefold() in folded for k in self.keywords)

    def to_document(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["_id"] = doc.pop("chat_id")
        doc["keywords"] = list(self.keywords)
        doc["watch_symbols"] = list(self.watch_symbols)
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Preferences:
        quiet = doc.get("quiet_hours")
        return cls(
            chat_id=int(doc["_id"]),
            subscriptions={t: bool((doc.get("subscriptions") or {}).get(t, False)) for t in TOPICS},
            keywords=tuple(doc.get("keywords") or ()),
            watch_symbols=tuple(doc.get("watch_symbols") or ()),
            timezone=doc.get("timezone") or "UTC",
            quiet_hours=QuietHours(**quiet) if quiet else None,
            muted=bool(doc.get("muted", False)),
            digest_hour=int(doc.get("digest_hour", 8)),
            active=bool(doc.get("active", True)),
            inactive_reason=doc.get("inactive_reason"),
        )


def _parse_hhmm(value: str) -> time:
    match = _HHMM.fullmatch(value)
    if not match:
        raise InvalidPreferences(f"time {value[:20]!r} is not HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def _check_keys(value: Any, path: str = "") -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                raise InvalidPreferences(f"field name {str(key)[:40]!r} at {path or 'top level'} is not allowed")
            _check_keys(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for inner in value:
            _check_keys(inner, path)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidPreferences(f"{name} must be true or false")
    return value


def _strings(name: str, value: Any, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidPreferences(f"{name} must be a list of strings")
    cleaned = [v.strip() for v in value if v.strip()]
    if len(cleaned) > limit or any(len(v) > 100 for v in cleaned):
        raise InvalidPreferences(f"{name}: at most {limit} entries of at most 100 characters")
    return tuple(dict.fromkeys(cleaned))


def _watch_symbols(value: Any) -> tuple[str, ...]:
    """Watched symbols as the market monitor names pairs: `BTC` for BTC/USD (the default quote), `ETH/BTC`
    otherwise, so `btc`, `BTC/USD` and `btc-usd` are one entry; a malformed one refuses the update."""
    canonical = []
    for text in _strings("watch_symbols", value, MAX_SYMBOLS):
        try:
            pair = parse_pair(text)
        except SymbolError as exc:
            raise InvalidPreferences(f"watch_symbols: {exc}") from None
        canonical.append(pair.base if pair.quote == "USD" else str(pair))
    return tuple(dict.fromkeys(canonical))


def parse_preferences_chat_id(value: Any) -> int:
    """The chat id of a preferences record: an int or a decimal string.

    Raises:
        InvalidPreferences: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidPreferences("chat_id must be an integer")
    text = str(value).strip()
    if not re.fullmatch(r"-?\d{1,20}", text):
        raise InvalidPreferences(f"chat_id {text[:40]!r} is not an integer")
    return int(text)


UPDATE_FIELDS = ("chat_id", "subscriptions", "keywords", "watch_symbols", "timezone", "quiet_hours",
                 "muted", "digest_hour", "active")


def apply_changes(current: Preferences | None, changes: Mapping[str, Any]) -> Preferences:
    """`current` (or the defaults for `changes["chat_id"]`) with `changes` applied.

    `changes` fields (all optional except `chat_id`): `subscriptions` (object topic → bool, topics
    price_alerts/airdrops/digest; `keywords` may also be given inside it), `keywords` (strings),
    `watch_symbols` (symbols or pairs as `market.symbols.parse_pair` reads them, stored upper-case with
    `/USD` dropped: `btc-usd` → `BTC`, `eth/btc` → `ETH/BTC`; `[]` clears), `timezone` (IANA name),
    `quiet_hours` (`{"start": "HH:MM", "end": "HH:MM", "mode": "silent"|"defer"}` or null), `muted`
    (bool), `digest_hour` (0–23), `active` (bool; true again after the user unblocked the bot).

    Raises:
        InvalidPreferences: naming the first field that is unknown, `$`-prefixed or dotted, or of the
            wrong type or range, or the first watched symbol that is not a pair.
    """
    _check_keys(changes)
    unknown = sorted(set(changes) - set(UPDATE_FIELDS))
    if unknown:
        raise InvalidPreferences(f"unexpected field(s): {', '.join(unknown)[:200]}")
    if "chat_id" not in changes:
        raise InvalidPreferences("missing field: chat_id")
    chat_id = parse_preferences_chat_id(changes["chat_id"])
    prefs = current or Preferences(chat_id=chat_id)
    if prefs.chat_id != chat_id:
        raise InvalidPreferences("chat_id does not match the stored record")
    updates: dict[str, Any] = {}
    if "subscriptions" in changes:
        subs = changes["subscriptions"]
        if not isinstance(subs, Mapping):
            raise InvalidPreferences("subscriptions must be an object")
        merged = dict(prefs.subscriptions)
        for topic, value in subs.items():
            if topic == "keywords":
                updates["keywords"] = _strings("keywords", value, MAX_KEYWORDS)
            elif topic in TOPICS:
                merged[topic] = _bool(f"subscriptions.{topic}", value)
            else:
                raise InvalidPreferences(f"unknown subscription {topic[:40]!r} (known: {', '.join(TOPICS)})")
        updates["subscriptions"] = merged
    if "keywords" in changes:
        updates["keywords"] = _strings("keywords", changes["keywords"], MAX_KEYWORDS)
    if "watch_symbols" in changes:
        updates["watch_symbols"] = _watch_symbols(changes["watch_symbols"])
    if "timezone" in changes:
        name = changes["timezone"]
        try:
            if not isinstance(name, str) or not name:
                raise ZoneInfoNotFoundError
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidPreferences(f"timezone {str(name)[:60]!r} is not an IANA time zone") from None
        updates["timezone"] = name
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        if quiet is None:
            updates["quiet_hours"] = None
        elif isinstance(quiet, Mapping) and set(quiet) <= {"start", "end", "mode"} and {"start", "end"} <= set(quiet):
            mode = quiet.get("mode", "silent")
            if mode not in QUIET_MODES:
                raise InvalidPreferences(f"quiet_hours.mode must be one of {', '.join(QUIET_MODES)}")
            for key in ("start", "end"):
                if not isinstance(quiet[key], str):
                    raise InvalidPreferences(f"quiet_hours.{key} must be HH:MM")
                _parse_hhmm(quiet[key])
            updates["quiet_hours"] = QuietHours(quiet["start"], quiet["end"], mode)
        else:
            raise InvalidPreferences('quiet_hours must be {"start": "HH:MM", "end": "HH:MM", "mode": ...} or null')
    if "muted" in changes:
        updates["muted"] = _bool("muted", changes["muted"])
    if "digest_hour" in changes:
        hour = changes["digest_hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise InvalidPreferences("digest_hour must be an integer from 0 to 23")
        updates["digest_hour"] = hour
    if "active" in changes:
        updates["active"] = _bool("active", changes["active"])
        if updates["active"]:
            updates["inactive_reason"] = None
    return replace(prefs, **updates)


class PreferenceStore:
    """`user_preferences` in a pymongo `Database` (MongoDB or litemongo)."""

    def __init__(self, db: Any):
        self.coll = db[PREFERENCES_COLLECTION]

    def get(self, chat_id: int) -> Preferences | None:
        doc = self.coll.find_one({"_id": chat_id})
        return Preferences.from_document(doc) if doc else None

    def get_many(self, chat_ids: list[int]) -> dict[int, Preferences]:
        ids = [c for c in chat_ids if isinstance(c, int)]
        if not ids:
            return {}
        return {doc["_id"]: Preferences.from_document(doc) for doc in self.coll.find({"_id": {"$in": ids}})}

    def save(self, prefs: Preferences) -> None:
        doc = prefs.to_document()
        doc["updated_at"] = datetime.now(UTC)
        self.coll.replace_one({"_id": prefs.chat_id}, doc, upsert=True)

    def update(self, changes: Mapping[str, Any]) -> Preferences:
        """Validate and store `changes` (see `apply_changes`); returns the stored record.

        Raises:
            InvalidPreferences: when `changes` does not follow the format; nothing is stored then.
        """
        chat_id = parse_preferences_chat_id(changes.get("chat_id")) if "chat_id" in changes else None
        current = self.get(chat_id) if chat_id is not None else None
        prefs = apply_changes(current, changes)
        self.save(prefs)
        return prefs

    def subscribers(self, topic: str) -> list[Preferences]:
        """Active chats subscribed to `topic` (one of TOPICS; never user input in the query)."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        cursor = self.coll.find({"active": True, f"subscriptions.{topic}": True}).sort("_id", 1)
        return [Preferences.from_document(doc) for doc in cursor]

    def all(self) -> list[Preferences]:
        return [Preferences.from_document(doc) for doc in self.coll.find({}).sort("_id", 1)]

    def deactivate(self, chat_id: int, reason: str) -> None:
        """Mark a chat inactive (the bot was blocked, the chat is gone); creates a record if there was none."""
        defaults = Preferences(chat_id=chat_id).to_document()
        for name in ("_id", "active", "inactive_reason"):
            defaults.pop(name)
        self.coll.find_one_and_update(
            {"_id": chat_id},
            {
                "$set": {"active": False, "inactive_reason": reason[:300], "inactive_since": datetime.now(UTC)},
                "$setOnInsert": defaults,
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
